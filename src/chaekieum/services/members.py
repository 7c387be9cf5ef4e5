"""Member registry use cases: register, look up, update, cards, join, withdraw, portal."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import Connection, case, exists, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from ..domain import members as rules
from ..domain import online
from ..domain.errors import Code, DomainError
from ..domain.numbering import make_member_number, mask_member_number, member_number_prefix
from ..domain.onboarding import can_circulate
from ..domain.online import OnlineApplication
from ..domain.policy import MEMBER_CLASSES, MemberClass
from ..store.db import Database
from ..store.tables import (
    libraries,
    loans,
    member_number_counters,
    members,
    memberships,
    suspensions,
    withdrawal_stats,
)
from . import access, audit, oidc, sessions, throttle
from . import reach as reach_
from .access import Op
from .context import Actor, Clock, Role
from .credentials import dummy_hash, hash_secret, verify_secret
from .erasure import erase_reading_links
from .events import Kind, emit, emit_many
from .identity import Proof
from .lookup import require_member
from .registry import Registry
from .reservations import active_count as active_reservations
from .tx import transactional

UPDATABLE = {"name", "phone", "email", "guardian_name", "guardian_phone", "member_class",
             "consents", "birth_year"}


@dataclass(frozen=True)
class Registration:
    name: str
    birth_year: int
    phone: str | None = None
    email: str | None = None
    ci: str | None = None  # identity-verification CI; only its keyed hash is kept
    guardian_name: str | None = None
    guardian_phone: str | None = None
    member_class: str = MemberClass.FULL
    consents: dict[str, Any] = field(default_factory=dict)
    password: str | None = None  # for the member portal
    card_uid: str | None = None


def _iso(at) -> str | None:  # noqa: ANN001
    return at.isoformat() + "Z" if at is not None else None


class Members:
    def __init__(self, db: Database, registry: Registry, clock: Clock, ci_pepper: bytes):
        self.db = db
        self.registry = registry
        self.clock = clock
        self.pepper = ci_pepper

    # -- registration --------------------------------------------------------------
    @transactional
    def register(self, conn: Connection, actor: Actor, reg: Registration,
                 sandbox_of: str | None = None) -> dict[str, Any]:
        """`sandbox_of`: a sandbox (test) member of that library (services/sandbox.py);
        in sandbox reach (before pilot, sandbox-only credentials) the only kind."""
        library_code = actor.require_library()
        self.registry.library(library_code, conn)
        if sandbox_of is None and reach_.of(self.registry, actor, conn) is reach_.Reach.SANDBOX:
            raise DomainError(Code.SANDBOX_ONLY, library_code=library_code, target="register")
        rules.check_registration(reg.birth_year, bool(reg.guardian_name), self.clock.today())
        if reg.member_class not in MEMBER_CLASSES:
            raise DomainError(Code.VALIDATION_ERROR, field="member_class")
        ci_hash = rules.hash_ci(reg.ci, self.pepper) if reg.ci else None
        member_id, number = self._insert(conn, actor, library_code, reg, ci_hash, "direct",
                                         reveal_duplicate=True, sandbox_of=sandbox_of)
        audit.record(conn, actor, "member.register", "member", number, self.clock.now(),
                     {"library": library_code, "class": reg.member_class})
        return self._view(conn, actor, member_id)

    def _insert(self, conn: Connection, actor: Actor, library_code: str, reg: Registration,
                ci_hash: str | None, how: str, reveal_duplicate: bool,
                sandbox_of: str | None = None) -> tuple[int, str]:
        """The member row and its registration at `library_code`: (id, number). A CI
        already registered is DUPLICATE_MEMBER (the desk is told which member, masked;
        `reveal_duplicate=False`: nothing, as online)."""
        today, at = self.clock.today(), self.clock.now()
        if ci_hash:
            existing = conn.scalar(select(members.c.number).where(members.c.ci_hash == ci_hash))
            if existing:
                raise DomainError(Code.DUPLICATE_MEMBER, **(
                    {"member": mask_member_number(existing)} if reveal_duplicate else {}))
        serial = self._next_serial(conn, member_number_prefix(library_code, today.year))
        number = make_member_number(library_code, today.year, serial)
        try:
            with conn.begin_nested():
                member_id = conn.execute(insert(members).values(
                    number=number, name=reg.name.strip(), birth_year=reg.birth_year,
                    phone=reg.phone, email=reg.email, ci_hash=ci_hash,
                    issuing_library=library_code, joined_at=at, status=rules.MemberStatus.ACTIVE,
                    member_class=reg.member_class, card_uid=reg.card_uid,
                    guardian_name=reg.guardian_name, guardian_phone=reg.guardian_phone,
                    consents=reg.consents,
                    password_hash=hash_secret(reg.password) if reg.password else None,
                    updated_at=at, sandbox_of=sandbox_of,
                ).returning(members.c.id)).scalar_one()
        except IntegrityError:
            raise DomainError(Code.DUPLICATE_MEMBER) from None
        conn.execute(insert(memberships).values(
            member_id=member_id, library_code=library_code, joined_at=at, how=how,
            actor=actor.label))
        return member_id, number

    # -- online registration (온라인 회원가입) ------------------------------------------
    @transactional
    def count_signup_attempt(self, conn: Connection, budget: throttle.Budget, account: str,
                             source: str) -> None:
        """RATE_LIMITED once `source` spent its budget; else the attempt is counted (in
        its own transaction: a refused attempt counts too)."""
        throttle.attempt(conn, budget, account, source, self.clock.now())

    @transactional
    def register_online(self, conn: Connection, actor: Actor, app: OnlineApplication,
                        identity: Proof | None, guardian: Proof | None) -> dict[str, Any]:
        """An associate member (준회원) under the library the person chose
        (`actor.library_code`), registered there (how "online"); their first ID check at
        a desk (`join`) makes them a full member. `identity`: the applicant's own
        verification (required from 14), `guardian`: the guardian's (required under 14).
        Refusals carry no personal data: only codes and field names."""
        library_code = actor.require_library()
        if not can_circulate(self.registry.library(library_code, conn).status):
            raise DomainError(Code.LIBRARY_NOT_LIVE, library_code=library_code)
        if (identity and identity.purpose != "self") or (
                guardian and guardian.purpose != "guardian"):
            raise DomainError(Code.IDENTITY_VERIFICATION_FAILED, problem="purpose")
        online.check_application(app, identity, guardian, self.clock.today())
        reg = Registration(
            name=" ".join(app.name.split()), birth_year=app.birth_year,
            phone=app.phone or None, email=app.email or None,
            guardian_name=app.guardian_name or None,
            guardian_phone=app.guardian_phone or None, member_class=MemberClass.ASSOCIATE,
            consents={"privacy": True, "online": True}, password=app.password)
        member_id, number = self._insert(conn, actor, library_code, reg,
                                         identity.ci_hash if identity else None, "online",
                                         reveal_duplicate=False)
        audit.record(conn, actor, "member.register_online", "member", number,
                     self.clock.now(),
                     {"library": library_code, "class": reg.member_class,
                      "provider": (identity or guardian).provider,
                      "guardian_verified": guardian is not None}, library_code)
        return self._view(conn, Actor(Role.MEMBER, f"member:{number}", actor.channel),
                          member_id)

    def _next_serial(self, conn: Connection, prefix: str) -> int:
        return self.allocate_serials(conn, prefix, 1)

    def allocate_serials(self, conn: Connection, prefix: str, count: int) -> int:
        """Reserve `count` serials under a prefix; returns the last (the first is
        last - count + 1)."""
        dialect = postgresql if not self.db.is_sqlite else sqlite
        stmt = dialect.insert(member_number_counters).values(prefix=prefix, last_serial=count)
        stmt = stmt.on_conflict_do_update(
            index_elements=["prefix"],
            set_={"last_serial": member_number_counters.c.last_serial + count},
        ).returning(member_number_counters.c.last_serial)
        return conn.execute(stmt).scalar_one()

    # -- access (the rule: services/access.py) -------------------------------------
    @staticmethod
    def _joined(conn: Connection, member_id: int) -> list:
        return conn.execute(
            select(memberships, libraries.c.name, libraries.c.region_code).join(
                libraries, libraries.c.code == memberships.c.library_code)
            .where(memberships.c.member_id == member_id).order_by(memberships.c.joined_at)
        ).all()

    def _subject(self, conn: Connection, member, joined: list) -> access.Subject:  # noqa: ANN001
        issuing = self.registry.library(member.issuing_library, conn)
        return access.Subject.of(member.number, ((j.library_code, j.region_code) for j in joined),
                                 (issuing.code, issuing.region_code))

    def _authorize(self, conn: Connection, actor: Actor, op: Op, member) -> access.Standing:  # noqa: ANN001
        self._in_reach(conn, actor, member)
        return access.check(actor, op, self._subject(conn, member, self._joined(conn, member.id)))

    def _in_reach(self, conn: Connection, actor: Actor, member) -> None:  # noqa: ANN001
        """Before pilot (and with sandbox-only credentials) only the library's own
        sandbox members: domain/sandbox.py."""
        reach_.require(reach_.of(self.registry, actor, conn), actor, member, "member")

    def authorize(self, actor: Actor, ref: str, op: Op) -> None:
        """Refuse now what the rule would refuse (e.g. before a confirmation step)."""
        with self.db.read() as conn:
            self._authorize(conn, actor, op, require_member(conn, ref))

    def may(self, actor: Actor, ref: str, op: Op) -> bool:
        """Whether the rule lets the actor do `op` (e.g. to offer a button or not)."""
        try:
            self.authorize(actor, ref, op)
        except DomainError:
            return False
        return True

    # -- reading -------------------------------------------------------------------
    def get(self, actor: Actor, ref: str, op: Op = Op.LOOKUP) -> dict[str, Any]:
        """The member by number or card UID. `op`: LOOKUP (any participating library;
        personal data masked unless the actor may READ) or READ (refused unless the
        actor may see personal data)."""
        if op not in (Op.LOOKUP, Op.READ):
            raise ValueError(op)
        with self.db.read() as conn:
            member = require_member(conn, ref)
            return self._view(conn, actor, member.id, op)

    def _view(self, conn: Connection, actor: Actor, member_id: int,
              op: Op | None = None) -> dict[str, Any]:
        """The member as `actor` may see it; `op`: first check the actor may do that."""
        m = conn.execute(select(members).where(members.c.id == member_id)).one()
        self._in_reach(conn, actor, m)
        joined = self._joined(conn, member_id)
        subject = self._subject(conn, m, joined)
        where = (access.check(actor, op, subject) if op is not None
                 else access.standing(actor, subject))
        full = access.personal_data_visible(where)
        today = self.clock.today()
        status = rules.display_status(m.status, m.suspended_until, today)
        counts = conn.execute(
            select(func.count(),
                   func.coalesce(func.sum(case((loans.c.due_on < today, 1), else_=0)), 0))
            .where(loans.c.member_id == member_id, loans.c.state == "active")
        ).one()
        view = {
            "number": m.number if full or actor.role in (Role.LIBRARY_SYSTEM, Role.TERMINAL,
                                                           Role.LIBRARIAN) else
            mask_member_number(m.number),
            "number_masked": mask_member_number(m.number),
            "name": m.name if full else rules.mask_name(m.name),
            "birth_year": m.birth_year if full else None,
            "phone": m.phone if full else rules.mask_phone(m.phone),
            "email": m.email if full else rules.mask_email(m.email),
            "issuing_library": m.issuing_library,
            "joined_at": m.joined_at.isoformat() + "Z",
            "status": status,
            "status_label": rules.STATUS_LABELS[status],
            "member_class": m.member_class,
            "card_lost": m.card_lost,
            "card_uid_linked": m.card_uid is not None,
            "suspended_until": m.suspended_until.isoformat()
            if rules.is_suspended(m.suspended_until, today) else None,
            "guardian": ({"name": m.guardian_name, "phone": m.guardian_phone} if full else
                         {"name": rules.mask_name(m.guardian_name), "phone": ""})
            if m.guardian_name else None,
            "loans_active": counts[0],
            "loans_overdue": int(counts[1]),
            # where a member uses libraries is theirs: only for those who may READ
            "libraries": [
                {"library_code": j.library_code, "library_name": j.name, "how": j.how,
                 "joined_at": j.joined_at.isoformat() + "Z", "by": j.actor,
                 "status": j.status, "status_reason": j.status_reason,
                 "status_changed_at": _iso(j.status_changed_at), "status_by": j.status_by}
                for j in joined
            ] if full else [],
            "joined_here": bool(actor.library_code) and actor.library_code in subject.libraries,
            # the acting library's own bar (circulation needs it, so it is never masked)
            "barred_here": any(j.library_code == actor.library_code
                               and j.status == rules.LibraryStatus.BARRED for j in joined),
            "personal_data_visible": full,
            # signed up online: their first ID check at a desk makes them a full member
            "id_check_pending": m.member_class == MemberClass.ASSOCIATE
            and any(j.how == online.HOW for j in joined),
        }
        if full:
            view["consents"] = m.consents
            if m.status_changed_at is not None:  # the last expulsion or its lifting
                view["status_change"] = {"reason": m.status_reason, "by": m.status_by,
                                         "at": _iso(m.status_changed_at)}
        return view

    def search(self, actor: Actor, query: str, limit: int = 50) -> list[dict[str, Any]]:
        """Staff search by member number or name prefix, within the actor's scope."""
        query = query.strip()
        if not query:
            return []
        if actor.role == Role.MEMBER:
            raise DomainError(Code.FORBIDDEN, operation="search")
        with self.db.read() as conn:
            # a prefix as a range, so the index on the column serves it (LIKE 'x%' does
            # not use it on SQLite, nor on PostgreSQL without text_pattern_ops); the
            # startswith keeps the answer exact under any collation
            column = members.c.number if query.isdigit() else members.c.name
            upper = query[:-1] + chr(ord(query[-1]) + 1)
            q = select(members.c.id).where(column >= query, column < upper,
                                           column.startswith(query))
            # only members the actor may READ (services/access.py): a library's own
            # members, a region's, everyone for a national admin
            if actor.role in access.LIBRARY_ROLES:
                q = q.join(memberships, memberships.c.member_id == members.c.id).where(
                    memberships.c.library_code == actor.library_code)
            if reach_.of(self.registry, actor, conn) is reach_.Reach.SANDBOX:
                q = q.where(members.c.sandbox_of == actor.library_code)
            elif actor.role == Role.REGIONAL_ADMIN:
                # probed per candidate (memberships is keyed by member first), so the
                # search walks the name index and stops at `limit`, instead of first
                # collecting every member of a region of hundreds of thousands
                q = q.where(exists().where(
                    memberships.c.member_id == members.c.id,
                    memberships.c.library_code == libraries.c.code,
                    libraries.c.region_code == actor.region_code))
            ids = conn.scalars(q.order_by(column, members.c.number).limit(limit)).all()
            return [self._view(conn, actor, i) for i in ids]

    def loans(self, actor: Actor, ref: str, include_returned: bool = False) -> list[dict[str, Any]]:
        """A member's loans at every library, with titles (Op.LOANS: the member and the
        libraries they joined)."""
        from .circulation import loan_view  # shared rendering of a loan

        with self.db.read() as conn:
            member = require_member(conn, ref)
            self._authorize(conn, actor, Op.LOANS, member)
            q = select(loans.c.id).where(loans.c.member_id == member.id)
            if include_returned:
                q = q.where(loans.c.state != "undone", loans.c.history_hidden.is_(False))
            else:
                q = q.where(loans.c.state == "active")
            ids = conn.scalars(q.order_by(loans.c.loaned_at.desc()).limit(500)).all()
            names = dict(conn.execute(select(libraries.c.code, libraries.c.name)).all())
            today = self.clock.today()
            out = []
            for i in ids:
                view = loan_view(conn, i)
                view["owner_library_name"] = names.get(view["owner_library"])
                view["library_name"] = names.get(view["library_code"])
                view["overdue"] = (view["state"] == "active"
                                   and date.fromisoformat(view["due_on"]) < today)
                out.append(view)
            return out

    def suspension_history(self, actor: Actor, ref: str) -> list[dict[str, Any]]:
        with self.db.read() as conn:
            member = require_member(conn, ref)
            self._authorize(conn, actor, Op.SUSPENSIONS, member)
            rows = conn.execute(select(suspensions, libraries.c.name).join(
                libraries, libraries.c.code == suspensions.c.library_code)
                .where(suspensions.c.member_id == member.id)
                .order_by(suspensions.c.created_at.desc())).all()
        return [{"library_code": r.library_code, "library_name": r.name,
                 "days_late": r.days_late, "days": r.days, "ends_on": r.ends_on.isoformat(),
                 "created_at": r.created_at.isoformat() + "Z",
                 "lifted": r.lifted_at is not None} for r in rows]

    # -- changes -------------------------------------------------------------------
    def _locked(self, conn: Connection, actor: Actor, ref: str, op: Op):  # noqa: ANN202
        member = require_member(conn, ref, lock=True)
        self._authorize(conn, actor, op, member)
        if member.status == rules.MemberStatus.WITHDRAWN:
            raise DomainError(Code.MEMBER_WITHDRAWN)
        return member

    @transactional
    def update(self, conn: Connection, actor: Actor, ref: str, changes: dict[str, Any]) -> dict:
        member = self._locked(conn, actor, ref, Op.UPDATE)
        unknown = set(changes) - UPDATABLE
        if unknown:
            raise DomainError(Code.VALIDATION_ERROR, unknown_fields=sorted(unknown))
        if "member_class" in changes and changes["member_class"] not in MEMBER_CLASSES:
            raise DomainError(Code.VALIDATION_ERROR, field="member_class")
        birth_year = changes.get("birth_year", member.birth_year)
        guardian = changes.get("guardian_name", member.guardian_name)
        rules.check_registration(birth_year, bool(guardian), self.clock.today())
        at = self.clock.now()
        conn.execute(update(members).where(members.c.id == member.id).values(
            updated_at=at, **changes))
        audit.record(conn, actor, "member.update", "member", member.number, at,
                     {"fields": sorted(changes)})
        return self._view(conn, actor, member.id)

    @transactional
    def report_card_lost(self, conn: Connection, actor: Actor, ref: str) -> dict[str, Any]:
        """Block the card network-wide and unlink its UID (a found card stays blocked
        until `lift_card_lost`)."""
        member = self._locked(conn, actor, ref, Op.CARD_LOST)
        at = self.clock.now()
        conn.execute(update(members).where(members.c.id == member.id).values(
            card_lost=True, card_uid=None, updated_at=at))
        audit.record(conn, actor, "member.card_lost", "member", member.number, at, {})
        libs = conn.scalars(select(memberships.c.library_code).where(
            memberships.c.member_id == member.id)).all()
        emit_many(conn, libs, Kind.CARD_LOST, {"member": member.number}, at)
        return self._view(conn, actor, member.id)

    @transactional
    def link_card(self, conn: Connection, actor: Actor, ref: str, uid: str) -> dict[str, Any]:
        """Link a (new) RFID card UID. A lost-card block stays: lifting it is its own
        audited action (`lift_card_lost`)."""
        member = self._locked(conn, actor, ref, Op.LINK_CARD)
        uid = uid.strip()
        if not uid or len(uid) > 64 or (len(uid) == 14 and uid.isdigit()):
            raise DomainError(Code.VALIDATION_ERROR, field="card_uid")
        owner = conn.scalar(select(members.c.id).where(members.c.card_uid == uid))
        if owner is not None and owner != member.id:
            raise DomainError(Code.CARD_UID_IN_USE)
        at = self.clock.now()
        conn.execute(update(members).where(members.c.id == member.id).values(
            card_uid=uid, updated_at=at))
        audit.record(conn, actor, "member.link_card", "member", member.number, at,
                     {"card_lost": member.card_lost})
        return self._view(conn, actor, member.id)

    @transactional
    def lift_card_lost(self, conn: Connection, actor: Actor, ref: str) -> dict[str, Any]:
        """End a lost-card block (the card was found, or a new one was issued).
        Idempotent: lifting where no block is in force changes and records nothing."""
        member = self._locked(conn, actor, ref, Op.LIFT_CARD_LOST)
        if member.card_lost:
            at = self.clock.now()
            conn.execute(update(members).where(members.c.id == member.id).values(
                card_lost=False, updated_at=at))
            audit.record(conn, actor, "member.lift_card_lost", "member", member.number, at,
                         {"card_uid_linked": member.card_uid is not None})
        return self._view(conn, actor, member.id)

    # -- expulsion (제적) and a library's own bar ----------------------------------------
    @transactional
    def expel(self, conn: Connection, actor: Actor, ref: str, reason: str) -> dict[str, Any]:
        """제적: refused loans at every library (MEMBER_EXPELLED) until lifted. The issuing
        library (its staff or system, its regional admin) or a national admin."""
        return self._set_expelled(conn, actor, ref, reason, expel=True)

    @transactional
    def lift_expulsion(self, conn: Connection, actor: Actor, ref: str,
                       reason: str | None = None) -> dict[str, Any]:
        return self._set_expelled(conn, actor, ref, reason, expel=False)

    def _set_expelled(self, conn: Connection, actor: Actor, ref: str, reason: str | None,
                      expel: bool) -> dict[str, Any]:
        member = require_member(conn, ref, lock=True)
        self._authorize(conn, actor, Op.EXPEL if expel else Op.LIFT_EXPULSION, member)
        target = rules.expulsion_change(member.status, expel)
        text = rules.status_reason(reason, required=expel)
        at = self.clock.now()
        conn.execute(update(members).where(members.c.id == member.id).values(
            status=target, status_reason=text or None, status_changed_at=at,
            status_by=actor.label, updated_at=at))
        if expel:
            audit.record(conn, actor, "member.expel", "member", member.number, at,
                         {"reason": text})
        else:
            audit.record(conn, actor, "member.lift_expulsion", "member", member.number, at,
                         {"reason": text})
        libs = conn.scalars(select(memberships.c.library_code).where(
            memberships.c.member_id == member.id)).all()
        emit_many(conn, libs, Kind.MEMBER_EXPELLED if expel else Kind.MEMBER_EXPULSION_LIFTED,
                  {"member": member.number}, at)
        return self._view(conn, actor, member.id)

    @transactional
    def bar(self, conn: Connection, actor: Actor, ref: str, reason: str) -> dict[str, Any]:
        """The acting library's own status of the member: no loans there
        (MEMBER_BARRED_HERE) until lifted; other libraries are not affected."""
        return self._set_barred(conn, actor, ref, reason, bar=True)

    @transactional
    def lift_bar(self, conn: Connection, actor: Actor, ref: str,
                 reason: str | None = None) -> dict[str, Any]:
        return self._set_barred(conn, actor, ref, reason, bar=False)

    def _set_barred(self, conn: Connection, actor: Actor, ref: str, reason: str | None,
                    bar: bool) -> dict[str, Any]:
        library_code = actor.require_library()
        member = require_member(conn, ref, lock=True)
        self._authorize(conn, actor, Op.BAR if bar else Op.LIFT_BAR, member)
        here = conn.execute(select(memberships.c.status).where(
            memberships.c.member_id == member.id,
            memberships.c.library_code == library_code)).first()
        if here is None:  # the status is part of the registration at this library
            raise DomainError(Code.MEMBER_NOT_JOINED_HERE, operation=str(Op.BAR),
                              library_code=library_code)
        target = rules.bar_change(here.status, bar)
        text = rules.status_reason(reason, required=bar)
        at = self.clock.now()
        conn.execute(update(memberships).where(
            memberships.c.member_id == member.id, memberships.c.library_code == library_code
        ).values(status=target, status_reason=text or None, status_changed_at=at,
                 status_by=actor.label))
        # a change of the member: library connectors pick it up in their next delta
        conn.execute(update(members).where(members.c.id == member.id).values(updated_at=at))
        details = {"reason": text, "library": library_code}
        if bar:
            audit.record(conn, actor, "member.bar", "member", member.number, at, details,
                         library_code)
        else:
            audit.record(conn, actor, "member.lift_bar", "member", member.number, at, details,
                         library_code)
        emit(conn, library_code, Kind.MEMBER_BARRED if bar else Kind.MEMBER_BAR_LIFTED,
             {"member": member.number, "library": library_code}, at)
        return self._view(conn, actor, member.id)

    @transactional
    def join(self, conn: Connection, actor: Actor, ref: str) -> dict[str, Any]:
        """The desk's ID check (the same check as auto-join's): registers the member at the
        acting library if they had not joined it, and makes a member who signed up online
        (준회원, awaiting this check) a full member (정회원). Both are audited."""
        library_code = actor.require_library()
        member = self._locked(conn, actor, ref, Op.JOIN)
        at = self.clock.now()
        joined = self._joined(conn, member.id)
        if not any(j.library_code == library_code for j in joined):
            conn.execute(insert(memberships).values(
                member_id=member.id, library_code=library_code, joined_at=at, how="direct",
                actor=actor.label))
            audit.record(conn, actor, "member.join", "member", member.number, at,
                         {"library": library_code})
            emit(conn, member.issuing_library, Kind.MEMBER_JOINED,
                 {"member": member.number, "library": library_code, "how": "direct"}, at)
        if member.member_class == MemberClass.ASSOCIATE and any(
                j.how == online.HOW for j in joined):
            conn.execute(update(members).where(members.c.id == member.id).values(
                member_class=MemberClass.FULL, updated_at=at))
            audit.record(conn, actor, "member.id_check", "member", member.number, at,
                         {"library": library_code, "channel": actor.channel,
                          "class": str(MemberClass.FULL)},
                         library_code)
        return self._view(conn, actor, member.id)

    @transactional
    def withdraw(self, conn: Connection, actor: Actor, ref: str) -> dict[str, Any]:
        member = self._locked(conn, actor, ref, Op.WITHDRAW)
        today, at = self.clock.today(), self.clock.now()
        active = conn.scalar(select(func.count()).select_from(loans).where(
            loans.c.member_id == member.id, loans.c.state == "active"))
        reserved = active_reservations(conn, member.id)
        blockers = rules.withdrawal_blockers(active, reserved, member.suspended_until, today)
        if blockers:
            raise DomainError(blockers)
        total = conn.scalar(select(func.count()).select_from(loans).where(
            loans.c.member_id == member.id, loans.c.state == "returned"))
        conn.execute(insert(withdrawal_stats).values(
            withdrawn_on=today, issuing_library=member.issuing_library,
            birth_decade=(member.birth_year // 10 * 10) if member.birth_year else None,
            member_class=member.member_class, total_loans=total))
        # Erase personal data and the links to what the member read; keep the number
        # (never reused, it keeps nothing) and the loans, anonymous, for the statistics.
        erased = erase_reading_links(conn, member.id, member.number, at)
        conn.execute(update(members).where(members.c.id == member.id).values(
            status=rules.MemberStatus.WITHDRAWN, withdrawn_at=at, updated_at=at,
            name=None, birth_year=None, phone=None, email=None, ci_hash=None, card_uid=None,
            guardian_name=None, guardian_phone=None, consents={}, password_hash=None,
            status_reason=None))
        conn.execute(update(memberships).where(memberships.c.member_id == member.id).values(
            status="withdrawn", actor="erased", status_reason=None))
        libs = conn.scalars(select(memberships.c.library_code).where(
            memberships.c.member_id == member.id)).all()
        emit_many(conn, libs, Kind.MEMBER_WITHDRAWN, {"member": member.number}, at)
        sessions.end_all(conn, sessions.MEMBER, member.number)
        oidc.end_member(conn, member.number)  # homepages and apps lose access too
        audit.record(conn, actor, "member.withdraw", "member", member.number, at,
                     {f"erased_{what}": n for what, n in erased.items()})
        return {"number": member.number, "status": rules.MemberStatus.WITHDRAWN,
                "personal_data_erased": True}

    @transactional
    def hide_history(self, conn: Connection, actor: Actor, ref: str,
                     loan_ids: list[int] | None = None) -> int:
        """Hide returned loans from the member's history (the member, or a library
        they joined, at their request)."""
        member = require_member(conn, ref, lock=True)
        self._authorize(conn, actor, Op.HIDE_HISTORY, member)
        q = update(loans).where(loans.c.member_id == member.id, loans.c.state == "returned")
        if loan_ids is not None:
            q = q.where(loans.c.id.in_(loan_ids))
        count = conn.execute(q.values(history_hidden=True)).rowcount
        audit.record(conn, actor, "member.hide_history", "member", member.number,
                     self.clock.now(), {"loans": count})
        return count

    # -- member portal authentication -------------------------------------------------
    def authenticate(self, number: str, password: str, source: str) -> str:
        """The member number on success. AUTH_INVALID for a wrong password, an unknown or
        withdrawn member or one without a portal password alike (one argon2 check each);
        RATE_LIMITED once `source` (a client address) spent its budget for this number,
        or the number its larger budget. Nobody can lock a member out."""
        result = self._check_login(number, password, source, throttle.MEMBER)
        if not result:
            raise DomainError(Code.AUTH_INVALID)
        return result

    def check_password_at_kiosk(self, number: str, password: str, terminal: str) -> bool:
        """A patron password (SIP2 AD) typed at a kiosk: counted per terminal in its own
        budget (RATE_LIMITED when spent), never against the member's portal sign-in."""
        return bool(self._check_login(number, password, terminal, throttle.PATRON_AT_KIOSK))

    @transactional
    def _check_login(self, conn: Connection, number: str, password: str, source: str,
                     budget: throttle.Budget) -> str:
        now = self.clock.now()
        throttle.check(conn, budget, number, source, now)
        try:
            member = require_member(conn, number)
        except DomainError:
            member = None
        stored = member.password_hash if member is not None else None
        ok = verify_secret(stored or dummy_hash(), password)
        if not (ok and stored and member.status != rules.MemberStatus.WITHDRAWN):
            throttle.failed(conn, budget, number, source, now)
            return ""  # the failure is committed; the caller raises
        throttle.succeeded(conn, budget, number, source)
        return member.number

    @transactional
    def set_password(self, conn: Connection, actor: Actor, ref: str, password: str) -> None:
        if len(password) < 8:
            raise DomainError(Code.VALIDATION_ERROR, field="password", problem="min 8 characters")
        member = self._locked(conn, actor, ref, Op.SET_PASSWORD)
        at = self.clock.now()
        conn.execute(update(members).where(members.c.id == member.id).values(
            password_hash=hash_secret(password), updated_at=at))
        ended = sessions.end_all(conn, sessions.MEMBER, member.number)  # every device
        audit.record(conn, actor, "member.set_password", "member", member.number, at,
                     {"sessions_ended": ended})
