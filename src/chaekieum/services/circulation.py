"""Circulation use cases: checkout, checkin, renew, undo. One transaction each.

Lock order is always member row, then copy row, so two libraries lending to one member
at the same instant serialize on the member and the shared limit stays exact; the
partial unique index on active loans is the last line against a double loan of a copy.

Round trips on the hot path (tests/integration/test_circulation_statements.py holds them
to it): a checkout locks the member and the copy in one statement (`FOR UPDATE OF
members, copies`: row marks are taken in that order), then reads its facts, then writes
in one statement; a checkin locks member, loan and copy in one statement, reads whether
anyone waits for the copy, then writes in one statement. On PostgreSQL the facts must be
a statement of their own after the locks: under READ COMMITTED a statement sees the
snapshot taken when it started, so counts read in the locking statement would miss a
loan another library committed while this one waited for the member's row (the shared
limit). The facts statement finds the member and the copy by the same keys as the lock,
so both go to the server in one round trip with the transaction's BEGIN (the server runs
them one after the other), and the write goes with the COMMIT when nothing follows it:
two round trips per checkout or checkin (store/prepared.py). SQLite has one writer at a
time (BEGIN IMMEDIATE), so there the facts come with the locking read.
"""

from __future__ import annotations

from collections import namedtuple
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import (
    Connection,
    bindparam,
    case,
    func,
    insert,
    select,
    true,
    update,
)
from sqlalchemy.exc import IntegrityError

from ..domain import circulation as rules
from ..domain import reservations as reservation_rules
from ..domain import sandbox as sandbox_rules
from ..domain import suspension as suspension_rules
from ..domain.errors import Code, Decision, DomainError, Reason
from ..domain.numbering import mask_member_number
from ..domain.sandbox import Reach
from ..domain.transactions import CheckinRequest, CheckoutRequest, Outcome  # noqa: F401
from ..domain.transit import TransitState
from ..store.db import Database
from ..store.prepared import Prepared, together
from ..store.tables import (
    circulation_exceptions,
    copies,
    loans,
    members,
    memberships,
    reservations,
    suspensions,
    transits,
)
from . import audit, daily, ledger
from . import reach as reach_
from . import reservations as holds
from .context import Actor, Clock, local_date, to_utc_naive
from .events import Kind, emit, emit_many
from .events import row as events_row
from .lookup import (
    CIRCULATION_MEMBER_COLUMNS,
    barred_at,
    barred_count,
    check_sandbox,
    find_copy,
    find_member,
    item_key,
    member_key,
    require_member,
    upsert_own_copy,
)
from .registry import Registry
from .tx import owns, transactional

FUTURE_SLACK = timedelta(minutes=5)


@dataclass(frozen=True)
class CheckoutCheck:
    """`check_checkout`'s answer: what a checkout would do, and whether it would be
    allowed (`decision`) and would auto-join the member at the acting library (`joins`)."""

    action: str  # "checkout", or "renew" when the member already holds the copy
    decision: Decision
    joins: bool


def loan_view(conn: Connection, loan_id: int) -> dict[str, Any]:
    row = conn.execute(
        select(loans, copies.c.reg_no, copies.c.title, members.c.number)
        .join(copies, copies.c.id == loans.c.copy_id)
        .outerjoin(members, members.c.id == loans.c.member_id)  # none once withdrawn
        .where(loans.c.id == loan_id)
    ).one()
    return _loan_dict(row.id, row.number, row.owner_library, row.reg_no, row.title,
                      row.library_code, row.state, row.loaned_at, row.due_on, row.renewals,
                      row.channel, row.offline, row.returned_at, row.return_library)


def _loan_dict(loan_id: int, number: str | None, owner: str, reg_no: str, title: str, library: str,
               state: str, loaned_at: datetime, due_on: date, renewals: int, channel: str,
               offline: bool, returned_at: datetime | None = None,
               return_library: str | None = None) -> dict[str, Any]:
    return {
        "id": loan_id,
        "member_number": number,
        "member_number_masked": mask_member_number(number) if number else None,
        "item": f"${owner}{reg_no}",
        "registration_number": reg_no,
        "title": title,
        "owner_library": owner,
        "library_code": library,
        "state": state,
        "loaned_at": loaned_at.isoformat() + "Z",
        "due_on": due_on.isoformat(),
        "renewals": renewals,
        "returned_at": returned_at.isoformat() + "Z" if returned_at else None,
        "return_library": return_library,
        "channel": channel,
        "offline": offline,
    }


def _scalar(query):  # noqa: ANN001, ANN202
    return query.scalar_subquery()


# The hot path's statements, built once: building Core statements and their cache keys
# on every call cost more CPU than running them. The states the partial unique indexes
# name (one active loan, one open transit per copy) reach the SQL as literals, as every
# constant of a Prepared statement does (store/prepared.py).
ACTIVE_LOAN = loans.c.state == "active"
OPEN_TRANSIT = transits.c.state != TransitState.HOME


def _facts_columns(member_id, copy_id):  # noqa: ANN001, ANN202 - bind parameters or columns
    """Everything a checkout decides on about a member and a copy at the acting library
    (bind parameters `library`, `today`)."""
    library, today = bindparam("library"), bindparam("today")
    mine = select(func.count()).select_from(loans).where(loans.c.member_id == member_id,
                                                         ACTIVE_LOAN)
    # the member's active loans, counted through the (member_id, state) index only
    return (
        _scalar(mine).label("total"),
        _scalar(mine.with_only_columns(func.count(case((loans.c.library_code == library, 1))))
                ).label("here"),
        _scalar(mine.with_only_columns(func.count(case((loans.c.due_on < today, 1))))
                ).label("overdue"),
        _scalar(select(loans.c.id).where(loans.c.copy_id == copy_id, ACTIVE_LOAN)
                ).label("active_loan_id"),
        _scalar(select(func.count()).select_from(transits).where(
            transits.c.copy_id == copy_id, OPEN_TRANSIT)).label("open_transits"),
        _scalar(select(func.count()).select_from(transits).where(
            transits.c.copy_id == copy_id, transits.c.state == TransitState.RECEIVED,
            transits.c.from_library == library)).label("received_here"),
        _scalar(select(func.count()).select_from(memberships).where(
            memberships.c.member_id == member_id,
            memberships.c.library_code == library)).label("joined"),
        _scalar(barred_count(member_id, library)).label("barred"),
        holds.head_reserver_query(copy_id).label("head_reserver"),
    )


_CHECKOUT_FACTS = Prepared(select(*_facts_columns(bindparam("member_id"),
                                                   bindparam("copy_id"))))

# The circulation columns of a member and of a copy, as the rows the rules read.
MemberRow = namedtuple("MemberRow", [c.name for c in CIRCULATION_MEMBER_COLUMNS])
CopyRow = namedtuple("CopyRow", ["id", "title", "loanable", "sandbox_of"])
LoanRow = namedtuple("LoanRow", ["id", "copy_id", "library_code", "loaned_at", "due_on",
                                 "renewals", "channel", "offline", "title"])
_COPY_COLUMNS = (copies.c.id.label("c_id"), copies.c.title.label("c_title"),
                 copies.c.loanable.label("c_loanable"),
                 copies.c.sandbox_of.label("c_sandbox_of"))
_MEMBER_WIDTH, _COPY_WIDTH = len(CIRCULATION_MEMBER_COLUMNS), len(_COPY_COLUMNS)


def _member_and_copy(columns, by_card: bool):  # noqa: ANN001, ANN202
    """`columns` of the member (by number or card UID: `ref`) and the copy (`owner`,
    `reg_no`)."""
    key = members.c.card_uid if by_card else members.c.number
    return (select(*columns).select_from(members.join(copies, true()))
            .where(key == bindparam("ref"), copies.c.library_code == bindparam("owner"),
                   copies.c.reg_no == bindparam("reg_no")))


def _checkout_lock(by_card: bool, with_facts: bool):  # noqa: ANN202
    """The member and the copy, locked member first; `with_facts` (SQLite, one writer):
    the checkout's facts with them."""
    columns = [*CIRCULATION_MEMBER_COLUMNS, *_COPY_COLUMNS]
    if with_facts:
        columns += _facts_columns(members.c.id, copies.c.id)
    return Prepared(_member_and_copy(columns, by_card).with_for_update(of=[members, copies]))


_CHECKOUT_LOCK = {(card, facts): _checkout_lock(card, facts)
                  for card in (False, True) for facts in (False, True)}
# PostgreSQL: the facts by the lock's keys, sent with the lock and run right after it
_FACTS_BY_KEYS = {card: Prepared(_member_and_copy(_facts_columns(members.c.id, copies.c.id),
                                                  card))
                  for card in (False, True)}
_LOAN_BY_CLIENT_TXN = select(loans.c.id, loans.c.state).where(
    loans.c.library_code == bindparam("library"), loans.c.client_txn_id == bindparam("txn"))
_LATER = loans.alias("later")
_LOAN_BY_RETURN_TXN = select(
    loans.c.id,
    # the copy is out again on a later loan: that return is no longer its latest
    # transaction (the partial unique index on active loans finds it)
    _scalar(select(func.count()).select_from(_LATER).where(
        _LATER.c.copy_id == loans.c.copy_id, _LATER.c.state == "active",
        _LATER.c.id > loans.c.id)).label("lent_again"),
).where(loans.c.return_library == bindparam("library"),
        loans.c.return_txn_id == bindparam("txn"))
_THIS_COPY = ((copies.c.library_code == bindparam("owner"))
              & (copies.c.reg_no == bindparam("reg_no")))
# does anyone wait for the copy (a reservation waiting or ready)?
_WAITING = select(reservations.c.id).where(
    reservations.c.copy_id == copies.c.id,
    reservations.c.state.in_(holds.ACTIVE)).exists().label("waiting")


def _checkin_lock(with_waiting: bool):  # noqa: ANN202
    """Checkin locks the borrower, the loan and the copy, in that order (the order every
    write uses; the copy's lock keeps a reservation placed meanwhile out until this
    ends). `with_waiting` (SQLite, one writer): whether anyone waits, with them."""
    columns = [*CIRCULATION_MEMBER_COLUMNS, loans.c.id.label("l_id"), loans.c.copy_id,
               loans.c.library_code.label("l_library_code"), loans.c.loaned_at,
               loans.c.due_on, loans.c.renewals, loans.c.channel, loans.c.offline,
               copies.c.title]
    return Prepared(
        select(*columns, *([_WAITING] if with_waiting else []))
        .select_from(loans.join(copies, copies.c.id == loans.c.copy_id)
                     .join(members, members.c.id == loans.c.member_id))
        .where(_THIS_COPY, ACTIVE_LOAN)
        .with_for_update(of=[members, loans, copies]))


_CHECKIN_LOCK = {waiting: _checkin_lock(waiting) for waiting in (False, True)}
# PostgreSQL: whether anyone waits, sent with the lock and run right after it, so a
# reservation committed while the copy's lock was awaited is seen
_WAITING_BY_KEYS = Prepared(select(_WAITING).where(_THIS_COPY))


def _copy_as_told(copy: CopyRow, info: dict[str, Any] | None) -> bool:
    """Whether the copy already holds what its owner tells with the checkout (the
    `upsert_own_copy` test), so nothing needs recording."""
    return info is None or all(getattr(copy, k) == info[k] for k in ("title", "loanable")
                               if info.get(k) is not None)


class Circulation:
    def __init__(self, db: Database, registry: Registry, clock: Clock):
        self.db = db
        self.registry = registry
        self.clock = clock

    # -- helpers -----------------------------------------------------------------
    def _acting_library(self, actor: Actor, conn: Connection):  # noqa: ANN202
        """The acting library, if it lends at all: live and pilot libraries, and those
        registered but before pilot (on their sandbox data only: `_reach`)."""
        code = actor.require_library()
        lib = self.registry.library(code, conn)
        if not sandbox_rules.may_circulate(lib.status):
            raise DomainError(Code.LIBRARY_NOT_LIVE, library_code=code, status=lib.status)
        return lib

    @staticmethod
    def _reach(actor: Actor, lib) -> Reach:  # noqa: ANN001
        """What the actor's credentials reach here (domain/sandbox.py)."""
        return sandbox_rules.reach(actor.environment, lib.status)

    @staticmethod
    def _require_loan(conn: Connection, reach: Reach, actor: Actor, loan_id: int) -> None:
        """In sandbox reach, a loan (replayed, undone) must be of an own sandbox copy (an
        unknown loan is left to the caller's NOT_FOUND)."""
        if reach is Reach.SANDBOX:
            copy_id = conn.scalar(select(loans.c.copy_id).where(loans.c.id == loan_id))
            if copy_id is not None:
                reach_.require_copy_id(conn, reach, actor, copy_id)

    @staticmethod
    def _require_scan(conn: Connection, reach: Reach, actor: Actor, owner: str, reg_no: str,
                      member_ref: str | None = None) -> None:
        """In sandbox reach, refuse a scanned real copy (or named real member) before
        anything else is looked at; unknown ones are left to the usual refusals."""
        if reach is Reach.SANDBOX:
            reach_.require(reach, actor, find_copy(conn, owner, reg_no), "copy")
            if member_ref:
                reach_.require(reach, actor, find_member(conn, member_ref, brief=True),
                               "member")

    def _when(self, occurred_at: datetime | None) -> datetime:
        now = self.clock.now()
        if occurred_at is None:
            return now
        at = to_utc_naive(occurred_at)
        if at > now + FUTURE_SLACK:
            raise DomainError(Code.VALIDATION_ERROR, field="occurred_at", problem="in the future")
        return at

    @staticmethod
    def _counts(conn: Connection, member_id: int, library_code: str, today: date):
        row = conn.execute(
            select(
                func.count(),
                func.coalesce(func.sum(case((loans.c.library_code == library_code, 1), else_=0)), 0),
                func.coalesce(func.sum(case((loans.c.due_on < today, 1), else_=0)), 0),
            ).where(loans.c.member_id == member_id, loans.c.state == "active")
        ).one()
        return rules.LoanCounts(total=row[0], here=int(row[1]), overdue=int(row[2]))

    @staticmethod
    def _suspended_here(conn: Connection, member_id: int, library_code: str, today: date) -> bool:
        return conn.scalar(
            select(func.count()).select_from(suspensions).where(
                suspensions.c.member_id == member_id,
                suspensions.c.library_code == library_code,
                suspensions.c.ends_on >= today,
                suspensions.c.lifted_at.is_(None),
            )
        ) > 0

    def _member_facts(self, conn, member, library_code: str, today: date,  # noqa: ANN001
                      barred: bool | None = None) -> rules.MemberFacts:
        here = False
        if suspension_rules.is_suspended(member.suspended_until, today):
            here = self._suspended_here(conn, member.id, library_code, today)
        if barred is None:
            barred = barred_at(conn, member.id, library_code)
        return rules.MemberFacts(member.status, member.card_lost, member.suspended_until, here,
                                 barred)

    @staticmethod
    def _record_exception(conn, library_code, loan_id, action, reasons, at) -> list[dict]:  # noqa: ANN001
        payload = [r.as_dict() for r in reasons]
        conn.execute(
            insert(circulation_exceptions).values(
                library_code=library_code, loan_id=loan_id, action=action,
                reasons=payload, created_at=at,
            )
        )
        return payload

    @staticmethod
    def _checkout_facts(conn: Connection, member_id: int, library_code: str, copy, today: date):  # noqa: ANN001, ANN205
        """Everything a checkout decides on, in one round trip (after the row locks)."""
        return _CHECKOUT_FACTS.first(conn, {
            "member_id": member_id, "library": library_code, "today": today,
            "copy_id": copy.id if copy is not None else -1})

    @staticmethod
    def _join_rows(actor: Actor, member, library_code: str, at) -> ledger.Join:  # noqa: ANN001
        """책이음회원자동가입: first use at a library registers the member there."""
        return ledger.Join(
            membership={"member_id": member.id, "library_code": library_code, "joined_at": at,
                        "how": "auto", "actor": actor.label},
            audit=audit.row(actor, "member.auto_join", "member", member.number, at,
                            {"library": library_code, "channel": actor.channel}, library_code),
            event=events_row(member.issuing_library, Kind.MEMBER_JOINED,
                             {"member": member.number, "library": library_code, "how": "auto"},
                             at),
        )

    # -- checkout ----------------------------------------------------------------
    @staticmethod
    def _lock_member_and_copy(conn: Connection, member_ref: str, owner: str, reg_no: str,
                              library_code: str, today: date):  # noqa: ANN205
        """(member, copy, facts), both rows locked in one statement (member first) and
        the checkout's facts read after the locks. None when either is unknown."""
        by_card, ref = member_key(member_ref)
        keys = {"ref": ref, "owner": owner, "reg_no": reg_no, "library": library_code,
                "today": today}
        if conn.dialect.name == "sqlite":
            row = facts = _CHECKOUT_LOCK[by_card, True].first(conn, keys)
        else:
            locked, read = together(conn, (_CHECKOUT_LOCK[by_card, False], keys),
                                    (_FACTS_BY_KEYS[by_card], keys))
            row, facts = (locked[0], read[0]) if locked else (None, None)
        if row is None:
            return None
        return (MemberRow(*row[:_MEMBER_WIDTH]),
                CopyRow(*row[_MEMBER_WIDTH:_MEMBER_WIDTH + _COPY_WIDTH]), facts)

    def _decide_checkout(self, conn: Connection, library_code: str, member, owner: str,  # noqa: ANN001
                         copy, today: date, facts=None):  # noqa: ANN001, ANN205
        """(facts, the copy's active loan or None, policy, Decision): what checkout and its
        dry run both decide on, so the two can never disagree. An unknown member (None)
        is refused with the copy's reasons too: everything that can be known is said.
        `facts`: already read with the row locks (checkout), else read here (the dry
        run)."""
        member_id = member.id if member is not None else -1
        if facts is None:
            facts = self._checkout_facts(conn, member_id, library_code, copy, today)
        active = None
        if facts.active_loan_id is not None:
            active = conn.execute(select(loans).where(loans.c.id == facts.active_loan_id)).one()
        policy = self.registry.policy(library_code, member.member_class if member else "",
                                      conn=conn)
        counts = rules.LoanCounts(facts.total, facts.here, facts.overdue)
        copy_facts = None if copy is None else rules.CopyFacts(
            loanable=copy.loanable,
            on_loan=active is not None,
            in_transit=bool(facts.open_transits) and owner != library_code,
            reserved_for_other=reservation_rules.reserved_for_other(
                facts.head_reserver, member_id, on_loan=active is not None),
            here=rules.copy_is_here(owner, library_code, bool(facts.received_here)),
            owner=owner,
        )
        member_facts = (None if member is None else self._member_facts(
            conn, member, library_code, today, barred=bool(facts.barred)))
        decision = rules.decide_checkout(member_facts, copy_facts, counts, policy, today)
        return facts, active, policy, decision

    def check_checkout(self, actor: Actor, req: CheckoutRequest) -> CheckoutCheck:
        """A dry run of `checkout`: the same decision and reasons, nothing written and no
        locks taken. The desk asks it before the ID check, so a loan that would be
        refused never joins the member (the join happens only inside `checkout`)."""
        with self.db.read() as conn:
            lib = self._acting_library(actor, conn)
            today = self.clock.today()
            owner, reg_no = item_key(req.item, lib.code, req.owner_hint)
            member = find_member(conn, req.member, brief=True)
            copy = find_copy(conn, owner, reg_no)
            reach = self._reach(actor, lib)
            reach_.require(reach, actor, member, "member")
            reach_.require(reach, actor, copy, "copy")
            check_sandbox(member, copy)
            facts, active, _, decision = self._decide_checkout(conn, lib.code, member, owner,
                                                               copy, today)
            if member is None:
                return CheckoutCheck("checkout", decision, joins=False)
            if active is not None and active.member_id == member.id:
                decision = self._renewal_decision(conn, lib, member, copy, active, today)
                return CheckoutCheck("renew", decision, joins=False)
            return CheckoutCheck("checkout", decision, joins=not facts.joined)

    @transactional
    def checkout(self, conn: Connection, actor: Actor, req: CheckoutRequest) -> Outcome:
        lib = self._acting_library(actor, conn)
        reach = self._reach(actor, lib)
        if req.client_txn_id:
            done = conn.execute(_LOAN_BY_CLIENT_TXN, {"library": lib.code,
                                                      "txn": req.client_txn_id}).first()
            if done is not None:
                self._require_loan(conn, reach, actor, done.id)
                if done.state == "active" or not req.txn_id_recurs:
                    return Outcome("checkout", loan_view(conn, done.id), replayed=True)
                # a kiosk clock gave a new checkout the id of a loan since returned
                # (or undone): that id now names this transaction
                conn.execute(update(loans).where(loans.c.id == done.id).values(
                    client_txn_id=None))
        at = self._when(req.occurred_at)
        today = self.clock.today()
        loan_day = local_date(at)
        owner, reg_no = item_key(req.item, lib.code, req.owner_hint)
        # in sandbox reach a copy is never recorded from a checkout (it would be real)
        own_copy_info = req.copy if owner == lib.code and reach is Reach.LIVE else None
        locked = self._lock_member_and_copy(conn, req.member, owner, reg_no, lib.code, today)
        if locked is not None and _copy_as_told(locked[1], own_copy_info):
            member, copy, facts = locked
            reach_.require(reach, actor, member, "member")
        else:  # an unknown member or copy, or a copy to record or refresh
            member = find_member(conn, req.member, lock=True, brief=True)
            reach_.require(reach, actor, member, "member")
            copy = upsert_own_copy(conn, owner, reg_no, own_copy_info, at)
            facts = None
        reach_.require(reach, actor, copy, "copy")
        check_sandbox(member, copy)

        facts, active, policy, decision = self._decide_checkout(conn, lib.code, member, owner,
                                                                copy, today, facts)
        if member is None:  # MEMBER_UNKNOWN, with the copy's reasons (never offline-accepted)
            raise DomainError(decision.reasons)
        if active is not None and active.member_id == member.id and not req.offline:
            # Checking out what the member already holds is a renewal (kiosks do this).
            return self._renew_loan(conn, actor, lib, member, copy, active, at, today)
        open_transit = bool(facts.open_transits)
        if not decision.allowed and not (req.offline and copy is not None):
            raise DomainError(decision.reasons)
        if active is not None:
            # An offline replay of a loan of a copy the hub still thinks is out: the
            # earlier return has not reached us yet. Close that loan here; the
            # exception record below flags it for follow-up.
            conn.execute(update(loans).where(loans.c.id == active.id).values(
                state="returned", returned_at=at, return_library=lib.code))
            daily.bump(conn, lib.code, loan_day, returns=int(member.sandbox_of is None))

        join = None if facts.joined else self._join_rows(actor, member, lib.code, at)
        due = req.due_on if (req.offline and req.due_on) else rules.due_date(
            loan_day, policy.loan_period_days, lib.calendar
        )
        flagged = [] if decision.allowed else [str(r.code) for r in decision.reasons]
        # nothing is written after the loan: its COMMIT may go with it
        last = (owns(conn) and facts.head_reserver is None and not open_transit
                and decision.allowed and owner == lib.code)
        # The member and copy rows are locked, so the partial unique index on active
        # loans cannot fire here; if it ever did, the API answers CONFLICT.
        loan_id = ledger.record_checkout(
            conn,
            {"copy_id": copy.id, "member_id": member.id, "library_code": lib.code,
             "owner_library": owner, "state": "active", "loaned_at": at, "loaned_on": loan_day,
             "due_on": due, "renewals": 0, "channel": actor.channel, "actor": actor.label,
             "client_txn_id": req.client_txn_id, "offline": req.offline,
             "history_hidden": False},
            daily.Counter(lib.code, loan_day, loans=1,
                          elsewhere=int(member.issuing_library != lib.code))
            if member.sandbox_of is None else daily.Counter(lib.code, loan_day),  # not statistics
            audit.row(actor, "loan.checkout", "loan", None, at,
                      {"item": f"${owner}{reg_no}", "member": mask_member_number(member.number),
                       "offline": req.offline, "exceptions": flagged}),
            join, commit=last,
        )
        reservation = None
        if facts.head_reserver is not None:
            reservation = holds.on_checkout(conn, actor, copy.id, member.id, loan_id, at)
        if open_transit:
            # lent at the library that received it: the transit ends there
            conn.execute(update(transits).where(
                transits.c.copy_id == copy.id, transits.c.state != TransitState.HOME
            ).values(state=TransitState.HOME, arrived_at=at))
        exceptions = []
        if not decision.allowed:
            exceptions = self._record_exception(conn, lib.code, loan_id, "checkout",
                                                decision.reasons, at)
        if owner != lib.code:
            emit(conn, owner, Kind.LOAN_ELSEWHERE,
                 {"item": f"${owner}{reg_no}", "library": lib.code, "loan_id": loan_id,
                  "due_on": due.isoformat()}, at)
        view = _loan_dict(loan_id, member.number, owner, reg_no, copy.title, lib.code, "active",
                          at, due, 0, actor.channel, req.offline)
        return Outcome(
            "checkout", view,
            warnings=[w.as_dict() for w in decision.warnings],
            exceptions=exceptions,
            extra={"auto_joined": join is not None, "reservation": reservation},
        )

    # -- renew -------------------------------------------------------------------
    @transactional
    def renew(self, conn: Connection, actor: Actor, item: str, member_ref: str | None = None,
              owner_hint: str | None = None, offline: bool = False,
              due_on: date | None = None) -> Outcome:
        """반납연기. An offline replay (`offline`, with the due date the kiosk printed) is
        recorded even when it breaks a rule, and flagged for follow-up."""
        lib = self._acting_library(actor, conn)
        at, today = self.clock.now(), self.clock.today()
        owner, reg_no = item_key(item, lib.code, owner_hint)
        reach = self._reach(actor, lib)
        self._require_scan(conn, reach, actor, owner, reg_no, member_ref)
        if member_ref:
            self._require_renewer(conn, member_ref, item, lib.code, owner_hint)
        loan = self._active_loan(conn, owner, reg_no)
        member = conn.execute(
            select(members).where(members.c.id == loan.member_id).with_for_update()
        ).one()
        reach_.require(reach, actor, member, "member")
        loan = conn.execute(select(loans).where(loans.c.id == loan.id).with_for_update()).one()
        if loan.state != "active":
            raise DomainError(Code.CONFLICT)
        if member_ref and member_ref.strip() not in (member.number, member.card_uid):
            raise DomainError(Code.NOT_ON_LOAN, item=item, problem="lent to another member")
        copy = conn.execute(select(copies).where(copies.c.id == loan.copy_id)
                            .with_for_update()).one()
        return self._renew_loan(conn, actor, lib, member, copy, loan, at, today, offline, due_on)

    def _require_renewer(self, conn: Connection, member_ref: str, item: str, library: str,
                         owner_hint: str | None) -> None:
        """A renewal naming no known member is refused for that first (with the item's
        own reason, if it has one), not only for the item."""
        try:
            require_member(conn, member_ref, brief=True)
            return
        except DomainError as exc:
            reasons = list(exc.reasons)
        try:
            self._active_loan(conn, *item_key(item, library, owner_hint))
        except DomainError as exc:
            reasons.extend(exc.reasons)
        raise DomainError(reasons)

    def _renew_loan(self, conn, actor, lib, member, copy, loan, at, today,  # noqa: ANN001
                    offline: bool = False, due_on: date | None = None) -> Outcome:
        decision = self._renewal_decision(conn, lib, member, copy, loan, today)
        if not decision.allowed and not offline:
            raise DomainError(decision.reasons)
        policy = self.registry.policy(loan.owner_library, member.member_class, conn=conn)
        facts = rules.LoanFacts(loan.owner_library, loan.loaned_on, loan.due_on, loan.renewals)
        owner_lib = self.registry.library(loan.owner_library, conn)
        due = due_on if (offline and due_on) else rules.renewed_due_date(
            facts, policy, owner_lib.calendar)
        exceptions = [] if decision.allowed else self._record_exception(
            conn, lib.code, loan.id, "renew", decision.reasons, at)
        conn.execute(update(loans).where(loans.c.id == loan.id).values(
            due_on=due, renewals=loan.renewals + 1))
        audit.record(conn, actor, "loan.renew", "loan", loan.id, at,
                     {"due_on": due.isoformat(), "previous_due_on": loan.due_on.isoformat(),
                      "offline": offline})
        return Outcome("renew", loan_view(conn, loan.id), exceptions=exceptions)

    def _renewal_decision(self, conn, lib, member, copy, loan, today: date):  # noqa: ANN001, ANN202
        policy = self.registry.policy(loan.owner_library, member.member_class, conn=conn)
        counts = self._counts(conn, member.id, lib.code, today)
        facts = rules.LoanFacts(loan.owner_library, loan.loaned_on, loan.due_on, loan.renewals)
        return rules.decide_renewal(
            self._member_facts(conn, member, lib.code, today), facts, lib.code, counts.overdue,
            holds.others_waiting(conn, copy.id, member.id), policy, today,
        )

    def _active_loan(self, conn: Connection, owner: str, reg_no: str):  # noqa: ANN202
        loan = conn.execute(
            select(loans).join(copies, copies.c.id == loans.c.copy_id).where(
                copies.c.library_code == owner, copies.c.reg_no == reg_no,
                loans.c.state == "active",
            )
        ).first()
        if loan is None:
            raise DomainError(Code.NOT_ON_LOAN, item=f"${owner}{reg_no}")
        return loan

    # -- checkin -----------------------------------------------------------------
    @transactional
    def checkin(self, conn: Connection, actor: Actor, req: CheckinRequest) -> Outcome:
        lib = self._acting_library(actor, conn)
        at = self._when(req.occurred_at)
        return_day = local_date(at)
        owner, reg_no = item_key(req.item, lib.code, req.owner_hint)
        reach = self._reach(actor, lib)
        self._require_scan(conn, reach, actor, owner, reg_no)
        if req.client_txn_id:
            done = conn.execute(_LOAN_BY_RETURN_TXN, {"library": lib.code,
                                                      "txn": req.client_txn_id}).first()
            if done is not None:
                self._require_loan(conn, reach, actor, done.id)
                if not (done.lent_again and req.txn_id_recurs):
                    return Outcome("checkin", loan_view(conn, done.id), replayed=True)
                # the copy is out again since that return: a new return that a kiosk
                # clock gave the same id (it now names this one)
                conn.execute(update(loans).where(loans.c.id == done.id).values(
                    return_txn_id=None))
        keys = {"owner": owner, "reg_no": reg_no}
        if conn.dialect.name == "sqlite":
            locked = _CHECKIN_LOCK[True].first(conn, keys)
            waiting = locked is not None and locked.waiting
        else:
            found, read = together(conn, (_CHECKIN_LOCK[False], keys), (_WAITING_BY_KEYS, keys))
            locked, waiting = (found[0], read[0].waiting) if found else (None, False)
        if locked is None:
            return self._checkin_not_on_loan(conn, actor, lib, owner, reg_no, at)
        member = MemberRow(*locked[:_MEMBER_WIDTH])
        loan = LoanRow(*locked[_MEMBER_WIDTH:_MEMBER_WIDTH + len(LoanRow._fields)])
        owner_info = self.registry.library(owner, conn)
        policy_here = self.registry.policy(lib.code, member.member_class, conn=conn)
        route = rules.route_return(owner, owner_info.region_code, lib.code, lib.region_code,
                                   policy_here)
        exceptions: list[dict] = []
        if isinstance(route, Reason):
            if not req.offline:
                raise DomainError(route)
            exceptions = self._record_exception(conn, lib.code, loan.id, "checkin", [route], at)
            route = rules.ReturnRoute.TRANSIT
        suspension = self._apply_late_return(conn, actor, member, loan, return_day, at)
        transit_id = None
        if route is rules.ReturnRoute.TRANSIT:
            transit_id = conn.execute(insert(transits).values(
                copy_id=loan.copy_id, loan_id=loan.id, from_library=lib.code, to_library=owner,
                state=TransitState.RECEIVED, courier_fee=policy_here.courier_fee, received_at=at,
            ).returning(transits.c.id)).scalar_one()
            emit(conn, owner, Kind.TRANSIT_ADDRESSED,
                 {"transit_id": transit_id, "item": f"${owner}{reg_no}", "from_library": lib.code},
                 at)
        elif loan.library_code != lib.code:
            emit(conn, loan.library_code, Kind.RETURN_ELSEWHERE,
                 {"item": f"${owner}{reg_no}", "loan_id": loan.id, "library": lib.code}, at)
        # back on its own library's shelf: set aside for the next reserver, if any (a
        # copy going home in transit is set aside when it arrives)
        set_aside = waiting and route is rules.ReturnRoute.HOME
        # the loan row is locked since the start, so marking it returned last changes
        # nothing the steps above read, and lets the three writes go in one round trip
        # (with the COMMIT, when nothing follows)
        ledger.record_checkin(
            conn, loan.id, at, lib.code, req.client_txn_id,
            daily.Counter(lib.code, return_day, returns=int(member.sandbox_of is None)),
            audit.row(actor, "loan.checkin", "loan", loan.id, at,
                      {"item": f"${owner}{reg_no}", "route": str(route),
                       "late_days": suspension["days_late"] if suspension else 0}),
            commit=owns(conn) and not set_aside)
        held = (holds.set_aside_next(conn, actor, self.registry, loan.copy_id, at)
                if set_aside else None)
        view = _loan_dict(loan.id, member.number, owner, reg_no, loan.title, loan.library_code,
                          "returned", loan.loaned_at, loan.due_on, loan.renewals, loan.channel,
                          loan.offline, at, lib.code)
        return Outcome(
            "checkin", view, exceptions=exceptions,
            extra={"route": str(route), "transit_id": transit_id,
                   "home_library": owner, "home_library_name": owner_info.name,
                   "suspension": suspension, "reservation": held},
        )

    def _checkin_not_on_loan(self, conn, actor, lib, owner, reg_no, at) -> Outcome:  # noqa: ANN001
        """A scan of a copy with no loan: finish a transit at home, else refuse."""
        if owner == lib.code:
            transit = conn.execute(
                select(transits).join(copies, copies.c.id == transits.c.copy_id).where(
                    copies.c.library_code == owner, copies.c.reg_no == reg_no,
                    transits.c.state != TransitState.HOME,
                ).with_for_update()
            ).first()
            if transit is not None:
                from .transits import arrive  # one transition function for every channel

                view = arrive(conn, actor, transit, at, self.registry)
                return Outcome("transit_arrived", None, extra={"transit": view})
        raise DomainError(Code.NOT_ON_LOAN, item=f"${owner}{reg_no}")

    def _apply_late_return(self, conn, actor, member, loan, return_day: date, at):  # noqa: ANN001
        lending = self.registry.library(loan.library_code, conn)
        policy = self.registry.policy(loan.library_code, member.member_class, conn=conn)
        late = suspension_rules.days_late(loan.due_on, return_day, lending.calendar, policy)
        days = suspension_rules.suspension_days(late, policy)
        if days <= 0:
            return None
        conn.execute(insert(suspensions).values(
            member_id=member.id, library_code=loan.library_code, loan_id=loan.id,
            days_late=late, days=days, ends_on=return_day + timedelta(days=days - 1),
            created_at=at))
        ends = self._recompute_suspension(conn, member.id, member.member_class, at)
        libs = conn.scalars(select(memberships.c.library_code).where(
            memberships.c.member_id == member.id)).all()
        emit_many(conn, libs, Kind.MEMBER_SUSPENDED,
                  {"member": member.number, "until": ends.isoformat(), "days": days,
                   "earned_at": loan.library_code}, at)
        audit.record(conn, actor, "member.suspend", "member", member.number, at,
                     {"days_late": late, "days": days, "until": ends.isoformat(),
                      "loan_id": loan.id})
        return {"days_late": late, "days": days, "until": ends.isoformat()}

    # -- corrections -------------------------------------------------------------
    @transactional
    def undo_checkout(self, conn: Connection, actor: Actor, loan_id: int) -> Outcome:
        lib = self._acting_library(actor, conn)
        self._require_loan(conn, self._reach(actor, lib), actor, loan_id)
        loan = self._loan_for_undo(conn, loan_id, lib.code, "lending")
        if loan.state != "active":
            raise DomainError(Code.UNDO_NOT_POSSIBLE, state=loan.state)
        self._same_day(loan.loaned_at)
        at = self.clock.now()
        conn.execute(update(loans).where(loans.c.id == loan.id).values(
            state="undone", returned_at=at, return_library=lib.code))
        borrower = conn.execute(select(members.c.issuing_library, members.c.sandbox_of).where(
            members.c.id == loan.member_id)).one()
        if borrower.sandbox_of is None:
            daily.bump(conn, loan.library_code, loan.loaned_on, loans=-1,
                       elsewhere=-int(borrower.issuing_library != loan.library_code))
        audit.record(conn, actor, "loan.undo_checkout", "loan", loan.id, at, {})
        held = holds.on_undo_checkout(conn, actor, self.registry, loan.copy_id, loan.id, at)
        return Outcome("undo_checkout", loan_view(conn, loan.id), extra={"reservation": held})

    @transactional
    def undo_checkin(self, conn: Connection, actor: Actor, loan_id: int) -> Outcome:
        lib = self._acting_library(actor, conn)
        self._require_loan(conn, self._reach(actor, lib), actor, loan_id)
        loan = self._loan_for_undo(conn, loan_id, lib.code, "return")
        if loan.state != "returned" or loan.return_library != lib.code:
            raise DomainError(Code.UNDO_NOT_POSSIBLE, state=loan.state)
        self._same_day(loan.returned_at)
        at = self.clock.now()
        transit = conn.execute(select(transits).where(transits.c.loan_id == loan.id)).first()
        if transit is not None and transit.state != TransitState.RECEIVED:
            raise DomainError(Code.UNDO_NOT_POSSIBLE, transit=transit.state)
        if transit is not None:
            conn.execute(transits.delete().where(transits.c.id == transit.id))
        suspension = self._undo_suspension(conn, loan, at)
        if conn.scalar(select(members.c.sandbox_of).where(members.c.id == loan.member_id)) is None:
            daily.bump(conn, lib.code, local_date(loan.returned_at), returns=-1)
        try:
            with conn.begin_nested():
                conn.execute(update(loans).where(loans.c.id == loan.id).values(
                    state="active", returned_at=None, return_library=None,
                    return_txn_id=None))
        except IntegrityError:
            raise DomainError(Code.UNDO_NOT_POSSIBLE, problem="copy lent again") from None
        audit.record(conn, actor, "loan.undo_checkin", "loan", loan.id, at, suspension or {})
        holds.on_undo_checkin(conn, actor, loan.copy_id, at)
        return Outcome("undo_checkin", loan_view(conn, loan.id))

    def _loan_for_undo(self, conn, loan_id: int, library_code: str, side: str):  # noqa: ANN001
        loan = conn.execute(select(loans).where(loans.c.id == loan_id)).first()
        if loan is None:
            raise DomainError(Code.NOT_FOUND, loan_id=loan_id)
        conn.execute(select(members.c.id).where(members.c.id == loan.member_id).with_for_update())
        loan = conn.execute(select(loans).where(loans.c.id == loan_id).with_for_update()).one()
        if loan.member_id is None:  # the member withdrew: the loan is anonymous now
            raise DomainError(Code.UNDO_NOT_POSSIBLE, problem="member withdrawn")
        if side == "lending" and loan.library_code != library_code:
            raise DomainError(Code.FORBIDDEN, problem="only the lending library can undo")
        return loan

    def _same_day(self, moment: datetime | None) -> None:
        if moment is None:
            raise DomainError(Code.UNDO_NOT_POSSIBLE)
        reason = rules.can_undo(local_date(moment), self.clock.today())
        if reason:
            raise DomainError(reason)

    def _undo_suspension(self, conn: Connection, loan, at) -> dict[str, Any] | None:  # noqa: ANN001
        """Lift the suspension the undone return earned and recompute the member's end
        from the suspensions still in force."""
        lifted = conn.execute(update(suspensions).where(
            suspensions.c.loan_id == loan.id, suspensions.c.lifted_at.is_(None)
        ).values(lifted_at=at)).rowcount
        if not lifted:
            return None
        member_class = conn.scalar(select(members.c.member_class).where(
            members.c.id == loan.member_id))
        ends = self._recompute_suspension(conn, loan.member_id, member_class, at)
        return {"suspension_lifted": True, "suspended_until": ends.isoformat() if ends else None}

    def _recompute_suspension(self, conn: Connection, member_id: int, member_class: str,
                              at: datetime) -> date | None:
        """The member's suspension end (and each record's end after it), folded from the
        suspensions still in force in the order of their returns, each under the mode
        of the library that lent the copy. The caller holds the member's row lock."""
        rows = conn.execute(
            select(suspensions.c.id, suspensions.c.library_code, suspensions.c.days,
                   suspensions.c.created_at, suspensions.c.ends_on)
            .where(suspensions.c.member_id == member_id, suspensions.c.lifted_at.is_(None))
            .order_by(suspensions.c.created_at, suspensions.c.id)).all()
        ends = suspension_rules.ends_after(
            suspension_rules.Earned(
                local_date(r.created_at), r.days,
                self.registry.policy(r.library_code, member_class, conn=conn))
            for r in rows)
        changed = [{"sid": r.id, "ends": end} for r, end in zip(rows, ends, strict=True)
                   if r.ends_on != end]
        if changed:
            conn.execute(update(suspensions).where(suspensions.c.id == bindparam("sid"))
                         .values(ends_on=bindparam("ends")), changed)
        end = ends[-1] if ends else None
        conn.execute(update(members).where(members.c.id == member_id).values(
            suspended_until=end, updated_at=at))
        return end
