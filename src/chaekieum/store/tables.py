"""The hub's schema as SQLAlchemy Core tables (the Alembic migrations create it).

Timestamps are naive UTC; calendar dates (due dates, suspensions) are local dates in
Asia/Seoul, where every participating library is.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

Id = BigInteger().with_variant(Integer, "sqlite")  # SQLite autoincrement needs INTEGER

regions = Table(
    "regions", metadata,
    Column("code", String(16), primary_key=True),
    Column("name", String(40), nullable=False),
    Column("name_en", String(40), nullable=False),
)

# Vendors (사업자), by 사업자등록번호 (domain/vendors.py); registered by national admins.
vendors = Table(
    "vendors", metadata,
    Column("brn", String(10), primary_key=True),
    Column("name", String(100), nullable=False),
    Column("contact_name", String(100), nullable=False, server_default=""),
    Column("contact_email", String(200), nullable=False, server_default=""),
    Column("contact_phone", String(20), nullable=False, server_default=""),
    Column("created_at", DateTime, nullable=False),
)

regional_centers = Table(
    "regional_centers", metadata,
    Column("id", Integer, primary_key=True),
    Column("region_code", String(16), ForeignKey("regions.code"), nullable=False),
    Column("name", String(60), nullable=False, unique=True),
    Column("host_library", String(60), nullable=False),
    Column("phone", String(20), nullable=False),
)

libraries = Table(
    "libraries", metadata,
    Column("code", String(6), primary_key=True),
    Column("name", String(100), nullable=False),
    Column("region_code", String(16), ForeignKey("regions.code"), nullable=False),
    Column("center_id", Integer, ForeignKey("regional_centers.id")),
    Column("status", String(24), nullable=False),
    Column("closed_weekdays", String(20), nullable=False, server_default=""),
    Column("ils", String(40), nullable=False, server_default=""),
    Column("created_at", DateTime, nullable=False),
    Column("live_since", Date),
    # onboarding (services/onboarding.py): the announced 서비스 개시일 and when it was announced
    Column("launch_date", Date),
    Column("launch_announced_on", Date),
    # the vendor (사업자) the library selected: a vendors.brn, checked by services/vendors.py
    # (no foreign key: SQLite cannot add one to an existing table in place)
    Column("vendor_brn", String(10)),
    Index("ix_libraries_region", "region_code"),
    Index("ix_libraries_vendor", "vendor_brn"),
)

library_closed_dates = Table(
    "library_closed_dates", metadata,
    Column("library_code", String(6), ForeignKey("libraries.code"), primary_key=True),
    Column("day", Date, primary_key=True),
    Column("reason", String(100), nullable=False, server_default=""),
)

library_stage_log = Table(
    "library_stage_log", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("library_code", String(6), ForeignKey("libraries.code"), nullable=False),
    Column("stage", String(24), nullable=False),
    Column("at", DateTime, nullable=False),
    Column("actor", String(80), nullable=False),
    Column("note", Text, nullable=False, server_default=""),
)

# Onboarding checklists (domain/onboarding.py CHECKLISTS): one row per ticked item.
onboarding_checks = Table(
    "onboarding_checks", metadata,
    Column("library_code", String(6), ForeignKey("libraries.code"), primary_key=True),
    Column("item", String(40), primary_key=True),
    Column("done", Boolean, nullable=False),
    Column("note", Text, nullable=False, server_default=""),
    Column("at", DateTime, nullable=False),
    Column("actor", String(80), nullable=False),
)

# Inventory of the library's linked systems (ILS, RFID pads, kiosks ...), each ticked
# integrated and tested.
onboarding_systems = Table(
    "onboarding_systems", metadata,
    Column("library_code", String(6), ForeignKey("libraries.code"), primary_key=True),
    Column("name", String(60), primary_key=True),
    Column("kind", String(16), nullable=False),
    Column("integrated", Boolean, nullable=False),
    Column("tested", Boolean, nullable=False),
    Column("at", DateTime, nullable=False),
    Column("actor", String(80), nullable=False),
)

# Conformance kit reports (conformance/report.py JSON, validated) stored for a library.
onboarding_reports = Table(
    "onboarding_reports", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("library_code", String(6), ForeignKey("libraries.code"), nullable=False),
    Column("schema", String(40), nullable=False),
    Column("result", String(12), nullable=False),  # pass | fail | incomplete
    Column("finished_at", DateTime, nullable=False),  # when the run ended (UTC)
    Column("passed", Integer, nullable=False),
    Column("failed", Integer, nullable=False),
    Column("skipped", Integer, nullable=False),
    # scenarios that do not apply to this library (schema chaekieum-conformance/2)
    Column("not_applicable", Integer, nullable=False, server_default="0"),
    Column("report", Text, nullable=False),  # the JSON as uploaded
    Column("uploaded_at", DateTime, nullable=False),
    Column("actor", String(80), nullable=False),
    Index("ix_onboarding_reports_library", "library_code", "finished_at"),
)

# Documents a joining library uploads (참여신청서, 수요조사서, 공문, 세부일정 ...): the file
# lives under the documents directory as `stored_as` (a server-made name, never the
# uploaded one); `filename` is the sanitized original name, shown and offered on download.
onboarding_documents = Table(
    "onboarding_documents", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("library_code", String(6), ForeignKey("libraries.code"), nullable=False),
    Column("kind", String(16), nullable=False),  # services/onboarding_docs.py KINDS
    Column("item", String(40)),  # the checklist item it satisfies, if any
    Column("filename", String(200), nullable=False),
    Column("file_type", String(8), nullable=False),  # pdf | hwp | hwpx | png | jpeg | xlsx
    Column("media_type", String(100), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("stored_as", String(80), nullable=False, unique=True),
    Column("note", Text, nullable=False, server_default=""),
    Column("uploaded_at", DateTime, nullable=False),
    Column("actor", String(80), nullable=False),
    Index("ix_onboarding_documents_library", "library_code", "uploaded_at"),
)

# Planned date per stage (세부일정).
onboarding_plan = Table(
    "onboarding_plan", metadata,
    Column("library_code", String(6), ForeignKey("libraries.code"), primary_key=True),
    Column("stage", String(24), primary_key=True),
    Column("planned_on", Date, nullable=False),
)

policies = Table(
    "policies", metadata,
    Column("id", Integer, primary_key=True),
    Column("level", String(10), nullable=False),  # national | region | library
    Column("scope", String(16), nullable=False, server_default=""),  # '' for national
    Column("member_class", String(10), nullable=False, server_default=""),  # '' = any class
    Column("settings", JSON, nullable=False),
    Column("updated_at", DateTime, nullable=False),
    UniqueConstraint("level", "scope", "member_class", name="uq_policies_scope"),
)

members = Table(
    "members", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("number", String(14), nullable=False, unique=True),
    Column("name", String(100)),
    Column("birth_year", Integer),
    Column("phone", String(30)),
    Column("email", String(200)),
    Column("ci_hash", String(64), unique=True),
    Column("issuing_library", String(6), ForeignKey("libraries.code"), nullable=False),
    Column("joined_at", DateTime, nullable=False),
    Column("status", String(12), nullable=False),
    Column("member_class", String(10), nullable=False),
    Column("card_lost", Boolean, nullable=False, server_default=text("false")),
    Column("card_uid", String(64), unique=True),
    Column("suspended_until", Date),
    Column("guardian_name", String(100)),
    Column("guardian_phone", String(30)),
    Column("consents", JSON, nullable=False),
    Column("password_hash", String(200)),
    Column("withdrawn_at", DateTime),
    Column("updated_at", DateTime, nullable=False),
    # conformance-kit test data (services/sandbox.py): the library whose sandbox it is
    Column("sandbox_of", String(6)),
    # the last expulsion (제적) or its lifting: why, when and by whom (audited as well)
    Column("status_reason", String(500)),
    Column("status_changed_at", DateTime),
    Column("status_by", String(80)),
    Index("ix_members_name", "name"),
    Index("ix_members_updated_at", "updated_at"),
    Index("ix_members_sandbox_of", "sandbox_of",
          postgresql_where=text("sandbox_of IS NOT NULL"),
          sqlite_where=text("sandbox_of IS NOT NULL")),
)

member_number_counters = Table(
    "member_number_counters", metadata,
    Column("prefix", String(8), primary_key=True),  # 도서관부호 + 2-digit year
    Column("last_serial", Integer, nullable=False),
)

memberships = Table(
    "memberships", metadata,
    Column("member_id", Id, ForeignKey("members.id"), primary_key=True),
    Column("library_code", String(6), ForeignKey("libraries.code"), primary_key=True),
    Column("joined_at", DateTime, nullable=False),
    Column("how", String(10), nullable=False),  # direct | auto
    Column("actor", String(80), nullable=False),  # staff, device or key that did it
    # the library's own status of the member: active | barred | withdrawn
    Column("status", String(12), nullable=False, server_default="active"),
    # the last bar or its lifting at this library: why, when and by whom (audited as well)
    Column("status_reason", String(500)),
    Column("status_changed_at", DateTime),
    Column("status_by", String(80)),
    Index("ix_memberships_library", "library_code"),
)

suspensions = Table(
    "suspensions", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("member_id", Id, ForeignKey("members.id")),  # NULL: erased at withdrawal
    Column("library_code", String(6), ForeignKey("libraries.code"), nullable=False),
    Column("loan_id", Id),
    Column("days_late", Integer, nullable=False),
    Column("days", Integer, nullable=False),
    # the member's end after this suspension, folded with the others in force in the
    # order of the returns (recomputed when one of them is undone)
    Column("ends_on", Date, nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("lifted_at", DateTime),
    Index("ix_suspensions_member", "member_id"),
)

copies = Table(
    "copies", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("library_code", String(6), ForeignKey("libraries.code"), nullable=False),
    Column("reg_no", String(12), nullable=False),
    Column("title", String(300), nullable=False, server_default=""),
    Column("loanable", Boolean, nullable=False, server_default=text("true")),
    Column("updated_at", DateTime, nullable=False),
    Column("sandbox_of", String(6)),  # as members.sandbox_of
    # catalogue data from a holdings import (docs/import.md)
    Column("author", String(300), nullable=False, server_default=""),
    Column("call_number", String(100), nullable=False, server_default=""),
    Column("shelf_mark", String(20), nullable=False, server_default=""),  # 별치기호
    Column("bib_id", String(40), nullable=False, server_default=""),  # MARC 001
    Column("import_batch_id", Id),  # the import that last carried this copy
    Column("import_record", Integer),  # ... and its record number in that file
    UniqueConstraint("library_code", "reg_no", name="uq_copies_library_reg_no"),
    Index("ix_copies_sandbox_of", "sandbox_of",
          postgresql_where=text("sandbox_of IS NOT NULL"),
          sqlite_where=text("sandbox_of IS NOT NULL")),
    Index("ix_copies_import_batch_id", "import_batch_id"),
)

import_batches = Table(
    "import_batches", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("kind", String(10), nullable=False),  # holdings | members
    Column("library_code", String(6), ForeignKey("libraries.code"), nullable=False),
    Column("filename", String(300), nullable=False),
    Column("file_sha256", String(64), nullable=False),
    Column("file_size", BigInteger, nullable=False),
    Column("format", String(10), nullable=False),
    Column("options", JSON, nullable=False),
    # queued | running | interrupted | done | failed
    Column("status", String(12), nullable=False),
    Column("position", Integer, nullable=False, server_default="0"),  # records committed
    Column("done_bytes", BigInteger, nullable=False, server_default="0"),
    Column("created", Integer, nullable=False, server_default="0"),
    Column("updated", Integer, nullable=False, server_default="0"),
    Column("unchanged", Integer, nullable=False, server_default="0"),
    Column("skipped", Integer, nullable=False, server_default="0"),
    Column("actor", String(80), nullable=False),
    Column("error", Text, nullable=False, server_default=""),
    Column("created_at", DateTime, nullable=False),
    Column("heartbeat_at", DateTime),  # last checkpoint: a running batch that stopped
    Column("finished_at", DateTime),   # beating was left by a dead worker
    Index("ix_import_batches_library", "library_code", "kind", "file_sha256"),
)

import_problems = Table(
    "import_problems", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("batch_id", Id, ForeignKey("import_batches.id"), nullable=False),
    Column("record_no", Integer, nullable=False),
    Column("key", String(40), nullable=False, server_default=""),
    Column("code", String(30), nullable=False),
    Column("detail", String(200), nullable=False, server_default=""),
    Index("ix_import_problems_batch", "batch_id", "record_no"),
)

member_imports = Table(
    "member_imports", metadata,
    Column("library_code", String(6), ForeignKey("libraries.code"), primary_key=True),
    Column("local_number", String(40), primary_key=True),  # the number in the old system
    Column("member_id", Id, ForeignKey("members.id"), nullable=False, unique=True),
    Column("batch_id", Id, ForeignKey("import_batches.id"), nullable=False),
    Column("record_no", Integer, nullable=False),
    Index("ix_member_imports_batch", "batch_id"),
)

loans = Table(
    "loans", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("copy_id", Id, ForeignKey("copies.id"), nullable=False),
    # NULL once the member withdrew: the loan stays, anonymous, for the statistics
    Column("member_id", Id, ForeignKey("members.id")),
    Column("library_code", String(6), ForeignKey("libraries.code"), nullable=False),
    Column("owner_library", String(6), nullable=False),
    Column("state", String(10), nullable=False),  # active | returned | undone
    Column("loaned_at", DateTime, nullable=False),
    Column("loaned_on", Date, nullable=False),
    Column("due_on", Date, nullable=False),
    Column("renewals", Integer, nullable=False, server_default="0"),
    Column("returned_at", DateTime),
    Column("return_library", String(6)),
    Column("return_txn_id", String(64)),  # client id of the return, for replays
    Column("channel", String(12), nullable=False),
    Column("actor", String(80), nullable=False),
    Column("client_txn_id", String(64)),
    Column("offline", Boolean, nullable=False, server_default=text("false")),
    Column("history_hidden", Boolean, nullable=False, server_default=text("false")),
    Index("ix_loans_member_state", "member_id", "state"),
    Index("ix_loans_library_loaned", "library_code", "loaned_on"),
    Index("ix_loans_state_due", "state", "due_on"),  # the notice scheduler's due dates
    # one active loan per copy: the database itself refuses a double loan
    Index(
        "uq_loans_active_copy", "copy_id", unique=True,
        postgresql_where=text("state = 'active'"), sqlite_where=text("state = 'active'"),
    ),
    UniqueConstraint("library_code", "client_txn_id", name="uq_loans_client_txn"),
    UniqueConstraint("return_library", "return_txn_id", name="uq_loans_return_txn"),
)

transits = Table(
    "transits", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("copy_id", Id, ForeignKey("copies.id"), nullable=False),
    Column("loan_id", Id, ForeignKey("loans.id"), nullable=False),
    Column("from_library", String(6), nullable=False),
    Column("to_library", String(6), nullable=False),
    Column("state", String(10), nullable=False),
    Column("courier_fee", Boolean, nullable=False, server_default=text("false")),
    Column("received_at", DateTime, nullable=False),
    Column("sent_at", DateTime),
    Column("arrived_at", DateTime),
    Index("ix_transits_from_state", "from_library", "state"),
    Index("ix_transits_to_state", "to_library", "state"),
    Index(
        "uq_transits_open_copy", "copy_id", unique=True,
        postgresql_where=text("state <> 'home'"), sqlite_where=text("state <> 'home'"),
    ),
)

# 예약: a queue per copy (domain/reservations.py). The copy's owning library is the
# pickup library. At most one active reservation per member and copy, and at most one
# copy set aside (ready) per copy: the database refuses a second either way.
reservations = Table(
    "reservations", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("copy_id", Id, ForeignKey("copies.id"), nullable=False),
    Column("member_id", Id, ForeignKey("members.id")),  # NULL: erased at withdrawal
    Column("library_code", String(6), ForeignKey("libraries.code"), nullable=False),
    Column("state", String(10), nullable=False),  # waiting|ready|fulfilled|expired|cancelled
    Column("channel", String(12), nullable=False),
    Column("placed_at", DateTime, nullable=False),
    Column("placed_by", String(80), nullable=False),
    Column("ready_at", DateTime),
    Column("pickup_by", Date),  # last day on the holds shelf (a Seoul date)
    Column("closed_at", DateTime),
    Column("closed_by", String(80)),
    Column("loan_id", Id, ForeignKey("loans.id")),  # the loan that fulfilled it
    Index("ix_reservations_copy_state", "copy_id", "state"),
    Index("ix_reservations_member_state", "member_id", "state"),
    Index("ix_reservations_library_state", "library_code", "state"),
    Index(
        "uq_reservations_active_member_copy", "copy_id", "member_id", unique=True,
        postgresql_where=text("state IN ('waiting', 'ready')"),
        sqlite_where=text("state IN ('waiting', 'ready')"),
    ),
    Index(
        "uq_reservations_ready_copy", "copy_id", unique=True,
        postgresql_where=text("state = 'ready'"), sqlite_where=text("state = 'ready'"),
    ),
)

circulation_exceptions = Table(
    "circulation_exceptions", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("library_code", String(6), nullable=False),
    Column("loan_id", Id, ForeignKey("loans.id")),
    Column("action", String(12), nullable=False),
    Column("reasons", JSON, nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("resolved_at", DateTime),
    Column("resolved_by", String(80)),
    Index("ix_circulation_exceptions_library", "library_code", "resolved_at"),
)

# Change feed (outbox). `position` is assigned after commit by the sequencer, in
# commit-visibility order, so readers never skip an event that committed late.
events = Table(
    "events", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("position", BigInteger, unique=True),
    Column("library_code", String(6), nullable=False),
    Column("kind", String(40), nullable=False),
    Column("payload", JSON, nullable=False),
    Column("created_at", DateTime, nullable=False),
    Index("ix_events_library_position", "library_code", "position"),
    implicit_returning=False,  # append-only: no writer needs the new id back
)

audit_log = Table(
    "audit_log", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("at", DateTime, nullable=False),
    Column("actor", String(80), nullable=False),
    Column("library_code", String(6)),
    Column("action", String(40), nullable=False),
    Column("entity", String(20), nullable=False),
    Column("entity_id", String(40), nullable=False),
    Column("details", JSON, nullable=False),
    Index("ix_audit_entity", "entity", "entity_id"),
    Index("ix_audit_at", "at"),
    Index("ix_audit_library_id", "library_code", "id"),  # a library's latest rows
    implicit_returning=False,  # append-only: no writer needs the new id back
)

idempotency_keys = Table(
    "idempotency_keys", metadata,
    Column("principal", String(80), primary_key=True),
    Column("key", String(200), primary_key=True),
    Column("request_hash", String(64), nullable=False),
    Column("status_code", Integer, nullable=False),
    Column("response", JSON, nullable=False),
    Column("created_at", DateTime, nullable=False),
)

api_keys = Table(
    "api_keys", metadata,
    Column("id", Integer, primary_key=True),
    Column("key_id", String(24), nullable=False, unique=True),  # public half of the key
    Column("secret_hash", String(200), nullable=False),  # argon2
    Column("scope", String(10), nullable=False),  # library | region | national | vendor
    Column("scope_code", String(16), nullable=False, server_default=""),
    Column("environment", String(8), nullable=False, server_default="live"),  # live | sandbox
    Column("label", String(100), nullable=False, server_default=""),
    Column("created_at", DateTime, nullable=False),
    Column("revoked_at", DateTime),
)

staff_accounts = Table(
    "staff_accounts", metadata,
    Column("id", Integer, primary_key=True),
    Column("username", String(60), nullable=False, unique=True),
    Column("password_hash", String(200), nullable=False),
    Column("display_name", String(100), nullable=False),
    # national_admin | regional_admin | librarian | vendor (scope_code: its 사업자등록번호)
    Column("role", String(20), nullable=False),
    Column("scope_code", String(16), nullable=False, server_default=""),
    Column("disabled", Boolean, nullable=False, server_default=text("false")),
    Column("created_at", DateTime, nullable=False),
)

sip2_terminals = Table(
    "sip2_terminals", metadata,
    Column("id", Integer, primary_key=True),
    Column("login", String(60), nullable=False, unique=True),
    Column("password_hash", String(200), nullable=False),
    Column("library_code", String(6), ForeignKey("libraries.code"), nullable=False),
    Column("label", String(100), nullable=False, server_default=""),
    Column("encoding", String(12), nullable=False, server_default="utf-8"),
    Column("terminator", String(4), nullable=False, server_default="CR"),  # CR | CRLF
    Column("error_detection", Boolean, nullable=False, server_default=text("true")),
    Column("created_at", DateTime, nullable=False),
    Column("revoked_at", DateTime),
    Column("locked_until", DateTime),  # after repeated failed logins (93), across connections
    Column("environment", String(8), nullable=False, server_default="live"),  # live | sandbox
)

# Signed-in web sessions (staff console/desk, member portal). The cookie carries a random
# token, the row its SHA-256: ending a session (logout, password change, a disabled
# account, idle or absolute expiry) is deleting its row, and a replayed cookie finds none.
web_sessions = Table(
    "web_sessions", metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("kind", String(8), nullable=False),  # staff | member
    Column("account", String(60), nullable=False),  # username | member number
    Column("created_at", DateTime, nullable=False),
    Column("seen_at", DateTime, nullable=False),
    Index("ix_web_sessions_account", "kind", "account"),
)

# Failed sign-ins in a sliding window, per account and per source (client address or
# kiosk), for staff, members, kiosks and patron passwords checked at kiosks.
login_failures = Table(
    "login_failures", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("kind", String(12), nullable=False),  # staff | member | terminal | patron
    Column("account", String(64), nullable=False),
    Column("source", String(64), nullable=False),
    Column("at", DateTime, nullable=False),
    Index("ix_login_failures_account", "kind", "account", "at"),
    Index("ix_login_failures_source", "kind", "source", "at"),
    Index("ix_login_failures_at", "at"),
)

# Per-library daily counters, kept in the same transaction as each loan and return so
# dashboards over 2,700 libraries read a few thousand rows instead of the loan ledger.
daily_circulation = Table(
    "daily_circulation", metadata,
    # day first: dashboards read date ranges; WITHOUT ROWID on SQLite keeps each day's
    # rows together in the primary key's b-tree instead of one table fetch per row
    Column("day", Date, primary_key=True),
    Column("library_code", String(6), primary_key=True),
    Column("loans", Integer, nullable=False, server_default="0"),
    Column("returns", Integer, nullable=False, server_default="0"),
    Column("loans_elsewhere", Integer, nullable=False, server_default="0"),  # members from
    # another issuing library
    sqlite_with_rowid=False,
)

# Anonymous counters kept when a member's personal data is erased (withdrawal).
withdrawal_stats = Table(
    "withdrawal_stats", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("withdrawn_on", Date, nullable=False),
    Column("issuing_library", String(6), nullable=False),
    Column("birth_decade", Integer),
    Column("member_class", String(10), nullable=False),
    Column("total_loans", Integer, nullable=False),
)

# -- notices (domain/notices.py, services/notices.py, docs/notices.md) ------------------
# The e-mail contacts of a joining library: its own, its vendor's (사업자) and its
# regional center's; each gets the e-mail of every onboarding stage transition.
onboarding_contacts = Table(
    "onboarding_contacts", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("library_code", String(6), ForeignKey("libraries.code"), nullable=False),
    Column("party", String(20), nullable=False),  # library | vendor | regional_center
    Column("name", String(100), nullable=False, server_default=""),
    Column("email", String(200), nullable=False),
    Column("at", DateTime, nullable=False),
    Column("actor", String(80), nullable=False),
    UniqueConstraint("library_code", "party", "email", name="uq_onboarding_contacts_email"),
)

# A member's channels (no row: the defaults in domain/notices.Preferences).
member_notice_prefs = Table(
    "member_notice_prefs", metadata,
    Column("member_id", Id, ForeignKey("members.id"), primary_key=True),
    Column("email", Boolean, nullable=False),
    Column("sms", Boolean, nullable=False),
    Column("kakao", Boolean, nullable=False),
    Column("updated_at", DateTime, nullable=False),
)

# The outbox: every notice is a row, written in the transaction of its cause (a stage
# transition) or by the scheduler, and delivered afterwards by the job worker. `key` is
# unique (member/loan/kind/date/channel, or transition/address), so nothing is queued
# twice; a row is claimed (pending -> sending) before it is sent, so nothing is sent twice.
notices = Table(
    "notices", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("key", String(200), nullable=False, unique=True),
    Column("kind", String(24), nullable=False),
    Column("channel", String(8), nullable=False),  # email | sms | kakao
    # a member notice names the member (address read at delivery, so an opt-out or a
    # withdrawal in between is respected); an onboarding e-mail names the address
    Column("member_id", Id, ForeignKey("members.id")),
    Column("recipient", String(200)),
    Column("library_code", String(6)),
    Column("subject", String(300), nullable=False),
    Column("body", Text, nullable=False),
    Column("params", JSON, nullable=False),
    # pending | sending | sent | failed | cancelled | uncertain
    Column("status", String(10), nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("not_before", DateTime, nullable=False),  # quiet hours and retries
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("claimed_at", DateTime),
    Column("sent_at", DateTime),
    Column("error", String(300), nullable=False, server_default=""),
    Index("ix_notices_status_due", "status", "not_before"),
    Index("ix_notices_member", "member_id"),
    Index("ix_notices_library", "library_code", "created_at"),
)

# -- OpenID Connect provider (docs/oidc.md) -------------------------------------------------
# A homepage or an app that signs members in: a library's own client or a national one
# (library_code NULL). Public clients (apps) have no secret and use PKCE alone.
oauth_clients = Table(
    "oauth_clients", metadata,
    Column("client_id", String(40), primary_key=True),
    Column("name", String(100), nullable=False),
    Column("library_code", String(6), ForeignKey("libraries.code"), nullable=True),
    Column("public", Boolean, nullable=False),
    Column("secret_hash", String(200), nullable=True),  # argon2; shown once when issued
    Column("redirect_uris", JSON, nullable=False),  # exact match, no wildcards
    Column("scopes", String(200), nullable=False),  # what the client may ask for
    Column("created_at", DateTime, nullable=False),
    Column("created_by", String(80), nullable=False),
    Column("disabled_at", DateTime, nullable=True),
    Index("ix_oauth_clients_library", "library_code"),
)

# A member's consent to one client: what the client may see and do. Revoking it (portal)
# ends every token issued under it.
oauth_grants = Table(
    "oauth_grants", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("client_id", String(40), ForeignKey("oauth_clients.client_id"), nullable=False),
    Column("member_number", String(14), nullable=False),
    Column("scope", String(200), nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("updated_at", DateTime, nullable=False),
    Column("revoked_at", DateTime, nullable=True),
    Index("ix_oauth_grants_member", "member_number", "client_id"),
)

# Authorization codes (10 minutes, one use), by SHA-256; bound to client, redirect URI
# and PKCE challenge.
oauth_codes = Table(
    "oauth_codes", metadata,
    Column("code_hash", String(64), primary_key=True),
    Column("grant_id", Id, ForeignKey("oauth_grants.id"), nullable=False),
    Column("client_id", String(40), nullable=False),
    Column("member_number", String(14), nullable=False),
    Column("redirect_uri", String(500), nullable=False),
    Column("scope", String(200), nullable=False),
    Column("nonce", String(200), nullable=True),
    Column("code_challenge", String(128), nullable=False),
    Column("code_challenge_method", String(10), nullable=False),
    Column("auth_time", DateTime, nullable=False),
    Column("expires_at", DateTime, nullable=False),
    Column("used_at", DateTime, nullable=True),
    Index("ix_oauth_codes_grant", "grant_id"),
)

# Issued tokens, by SHA-256: a short-lived access token and its refresh token (rotated on
# use). A revoked row refuses both.
oauth_tokens = Table(
    "oauth_tokens", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("grant_id", Id, ForeignKey("oauth_grants.id"), nullable=False),
    Column("client_id", String(40), nullable=False),
    Column("member_number", String(14), nullable=False),
    Column("scope", String(200), nullable=False),
    Column("access_hash", String(64), nullable=False, unique=True),
    Column("refresh_hash", String(64), nullable=True, unique=True),
    Column("code_hash", String(64), nullable=True),  # the code it was issued for
    Column("issued_at", DateTime, nullable=False),
    Column("access_expires_at", DateTime, nullable=False),
    Column("refresh_expires_at", DateTime, nullable=True),
    Column("revoked_at", DateTime, nullable=True),
    Index("ix_oauth_tokens_grant", "grant_id"),
    Index("ix_oauth_tokens_code", "code_hash"),
)

# The provider's signing keys (JWK with the private part); the newest signs, the others
# stay in the JWKS until retired (docs/oidc.md, key rotation).
oidc_keys = Table(
    "oidc_keys", metadata,
    Column("kid", String(64), primary_key=True),
    Column("private_jwk", Text, nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("retired_at", DateTime, nullable=True),
)
