"""The writes that finish a checkout or a checkin, in as few round trips as the database
allows.

A checkout ends with the loan row, the daily counter, the audit row and, on a first use
at this library (책이음회원자동가입), a membership row, its audit row and a change-feed
event. A checkin ends with the loan marked returned, the daily counter and the audit row.
On PostgreSQL each set is one statement (data-modifying CTEs run once each, in the
caller's transaction and snapshot): every statement costs a network round trip plus
driver and executor overhead, which was a third of the CPU of a circulation
transaction. When the write is the last of a transaction the caller opened itself
(`commit`), the COMMIT goes in the same round trip. SQLite runs in-process, where a
statement is a function call, and has no data-modifying CTEs: there the same rows are
written with as few statements as its API allows (both audit rows of a checkout with an
automatic join in one executemany).

Every statement here is `Prepared` (store/prepared.py): compiled once per dialect and
run without `Connection.execute`'s per-call work.

The callers decide everything first (rules, due date, audit details); this module only
writes, and both paths write the same rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, String, bindparam, cast, insert, select, update

from ..store.prepared import Prepared
from ..store.tables import audit_log, events, loans, memberships
from . import daily

LOAN_COLUMNS = ("copy_id", "member_id", "library_code", "owner_library", "state", "loaned_at",
                "loaned_on", "due_on", "renewals", "channel", "actor", "client_txn_id",
                "offline", "history_hidden")
AUDIT_COLUMNS = ("at", "actor", "library_code", "action", "entity", "entity_id", "details")
MEMBERSHIP_COLUMNS = ("member_id", "library_code", "joined_at", "how", "actor")
EVENT_COLUMNS = ("library_code", "kind", "payload", "created_at")


@dataclass(frozen=True)
class Join:
    """The rows of an automatic join: membership, its audit row, the event."""

    membership: dict[str, Any]
    audit: dict[str, Any]
    event: dict[str, Any]


_MARK_RETURNED = update(loans).where(loans.c.id == bindparam("loan_id")).values(
    state="returned", returned_at=bindparam("at"), return_library=bindparam("library"),
    return_txn_id=bindparam("txn"))


# -- PostgreSQL: one statement each -----------------------------------------------------
# One statement may carry two rows of a table (two audit rows), so each row's parameters
# get a prefix of their own; the loan's and the counter's keep their plain names.
def _typed(table, prefix: str, column: str):  # noqa: ANN001, ANN202
    return bindparam(prefix + column, type_=table.c[column].type)


def _values(table, prefix: str, columns: tuple[str, ...]):  # noqa: ANN001, ANN202
    return insert(table).values({c: _typed(table, prefix, c) for c in columns})


def _pg_checkout(with_join: bool):  # noqa: ANN202
    new_loan = insert(loans).values(
        {c: _typed(loans, "", c) for c in LOAN_COLUMNS}).returning(loans.c.id).cte("new_loan")
    # the audit row names the new loan, so it is selected from the loan's CTE
    loan_audit = insert(audit_log).from_select(list(AUDIT_COLUMNS), select(
        *(cast(new_loan.c.id, String) if c == "entity_id" else _typed(audit_log, "a_", c)
          for c in AUDIT_COLUMNS)).select_from(new_loan)).cte("loan_audit")
    ctes = [daily.UPSERT["postgresql"].cte("counter"), loan_audit]
    if with_join:
        ctes += [_values(memberships, "m_", MEMBERSHIP_COLUMNS).cte("membership"),
                 _values(audit_log, "ja_", AUDIT_COLUMNS).cte("join_audit"),
                 _values(events, "je_", EVENT_COLUMNS).cte("join_event")]
    return select(new_loan.c.id).add_cte(*ctes)


_PG_CHECKOUT = {False: Prepared(_pg_checkout(False)), True: Prepared(_pg_checkout(True))}
_PG_CHECKIN = Prepared(_MARK_RETURNED.add_cte(
    daily.UPSERT["postgresql"].cte("counter"),
    _values(audit_log, "a_", AUDIT_COLUMNS).cte("checkin_audit")))

# -- SQLite: a statement per table ---------------------------------------------------------
_SQLITE_LOAN = Prepared(_values(loans, "", LOAN_COLUMNS).returning(loans.c.id))
_SQLITE_AUDIT = Prepared(_values(audit_log, "", AUDIT_COLUMNS))
_SQLITE_MEMBERSHIP = Prepared(_values(memberships, "", MEMBERSHIP_COLUMNS))
_SQLITE_EVENT = Prepared(_values(events, "", EVENT_COLUMNS))
_SQLITE_COUNTER = Prepared(daily.UPSERT["sqlite"])
_SQLITE_RETURNED = Prepared(_MARK_RETURNED)


def _prefixed(prefix: str, row: dict[str, Any]) -> dict[str, Any]:
    return {prefix + k: v for k, v in row.items()}


# -- the two writes ------------------------------------------------------------------------
def record_checkout(conn: Connection, loan: dict[str, Any], counter: daily.Counter,
                    audit_row: dict[str, Any], join: Join | None, *, commit: bool = False
                    ) -> int:
    """Insert the loan and its companions; return the loan id. `audit_row` has no
    entity_id: it is the new loan's. `commit`: nothing follows in this transaction,
    which the caller opened (services/tx.py `owns`)."""
    if conn.dialect.name == "postgresql":
        named = {k: v for k, v in audit_row.items() if k != "entity_id"}
        params = {**loan, **counter.params(), **_prefixed("a_", named)}
        if join is not None:
            params |= (_prefixed("m_", join.membership) | _prefixed("ja_", join.audit)
                       | _prefixed("je_", join.event))
        return _PG_CHECKOUT[join is not None].scalar(conn, params, commit=commit)
    loan_id = _SQLITE_LOAN.scalar(conn, loan)
    audit_rows = [{**audit_row, "entity_id": str(loan_id)}]
    if join is not None:
        _SQLITE_MEMBERSHIP.rows(conn, join.membership)
        _SQLITE_EVENT.rows(conn, join.event)
        audit_rows.insert(0, join.audit)
    _SQLITE_COUNTER.rows(conn, counter.params())
    _SQLITE_AUDIT.many(conn, audit_rows)
    return loan_id


def record_checkin(conn: Connection, loan_id: int, at: datetime, library_code: str,
                   txn: str | None, counter: daily.Counter, audit_row: dict[str, Any], *,
                   commit: bool = False) -> None:
    """Mark the loan returned, bump the counter, write the audit row. `commit`: as for
    `record_checkout`."""
    returned = {"loan_id": loan_id, "at": at, "library": library_code, "txn": txn}
    if conn.dialect.name == "postgresql":
        _PG_CHECKIN.rows(conn, {**returned, **counter.params(), **_prefixed("a_", audit_row)},
                         commit=commit)
        return
    _SQLITE_RETURNED.rows(conn, returned)
    _SQLITE_COUNTER.rows(conn, counter.params())
    _SQLITE_AUDIT.rows(conn, audit_row)
