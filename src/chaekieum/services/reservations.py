"""예약 (reservations): place, cancel, set aside on return, fulfil at checkout, expire.
One transaction each; the rules and the state machine are in domain/reservations.py.

A queue per copy: a reservation names one copy, and its owning library is where it is
picked up. Locks: the member row, then the copy row (the order every write uses), so a
placement, a return and a checkout of one copy never interleave.

Who may place:
- the desk (a librarian, card in hand) and a SIP2 kiosk (15 Hold, card in hand): for
  any member, on a copy of the acting library;
- a library system over the API: on its own copies, for a member registered at that
  library (an API call proves no card was shown, so it reaches only its own members);
- the member in the portal: for themselves, on copies of libraries they joined.
Who may cancel: the member (portal), or the owning library (desk, API, the reserver's
kiosk session); national admins anywhere.

Change-feed events (reservation.placed / .ready / .fulfilled / .expired / .cancelled)
go to the owning library only: a reservation is between the member and that library,
and spreading it to the member's other libraries would spread reading data.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, insert, select, update

from ..domain import reservations as rules
from ..domain.errors import Code, DomainError
from ..domain.numbering import mask_member_number
from ..domain.reservations import ReservationState as S
from ..domain.transit import TransitState
from ..store.db import Database
from ..store.tables import copies, libraries, loans, members, memberships, reservations, transits
from . import audit
from . import reach as reach_
from .context import Actor, Clock, Role, local_date
from .events import Kind, emit
from .lookup import barred_at, find_copy, item_key, require_member
from .registry import Registry
from .tx import transactional

log = logging.getLogger("chaekieum.services.reservations")

ACTIVE = (S.WAITING, S.READY)
SWEEP_BATCH = 500


def head_reserver_query(copy_id):  # noqa: ANN001, ANN201
    """The member at the head of a copy's queue (a scalar subquery for checkout): the
    set-aside reservation, else the first waiting one, each the lowest id of its state in
    the (copy_id, state) index. One ORDER BY over both states would sort on every checkout
    (on SQLite a temporary b-tree, about 10 µs, even for an empty queue)."""
    def first(state: S):  # noqa: ANN202
        queued = reservations.alias(f"{state.value}_head")
        return (select(func.min(queued.c.id))
                .where(queued.c.copy_id == copy_id, queued.c.state == state)
                .correlate_except(queued).scalar_subquery())

    head = func.coalesce(first(S.READY), first(S.WAITING))
    return select(reservations.c.member_id).where(reservations.c.id == head).scalar_subquery()


def queue(conn: Connection, copy_id: int) -> list[rules.QueueEntry]:
    rows = conn.execute(select(reservations.c.id, reservations.c.member_id,
                               reservations.c.state)
                        .where(reservations.c.copy_id == copy_id,
                               reservations.c.state.in_(ACTIVE))).all()
    return rules.queue_order([rules.QueueEntry(r.id, r.member_id, r.state) for r in rows])


def active_count(conn: Connection, member_id: int, library_code: str | None = None) -> int:
    q = select(func.count()).select_from(reservations).where(
        reservations.c.member_id == member_id, reservations.c.state.in_(ACTIVE))
    if library_code is not None:
        q = q.where(reservations.c.library_code == library_code)
    return conn.scalar(q) or 0


def others_waiting(conn: Connection, copy_id: int, member_id: int) -> bool:
    """Renewal: does anyone else wait for this copy?"""
    return rules.renewal_blocked(queue(conn, copy_id), member_id)


_VIEW = (select(reservations, copies.c.reg_no, copies.c.title, members.c.number,
                libraries.c.name.label("library_name"))
         .join(copies, copies.c.id == reservations.c.copy_id)
         .outerjoin(members, members.c.id == reservations.c.member_id)  # none: withdrawn
         .join(libraries, libraries.c.code == reservations.c.library_code))


def _view(conn: Connection, row) -> dict[str, Any]:  # noqa: ANN001
    position = None
    if row.state in ACTIVE:
        ids = [e.id for e in queue(conn, row.copy_id)]
        position = ids.index(row.id) + 1 if row.id in ids else None
    return {
        "id": row.id,
        "item": f"${row.library_code}{row.reg_no}",
        "registration_number": row.reg_no,
        "title": row.title,
        "library_code": row.library_code,
        "library_name": row.library_name,
        "member_number": row.number,
        "member_number_masked": mask_member_number(row.number) if row.number else None,
        "state": row.state,
        "state_label": rules.LABELS[row.state],
        "position": position,
        "channel": row.channel,
        "placed_at": row.placed_at.isoformat() + "Z",
        "ready_at": row.ready_at.isoformat() + "Z" if row.ready_at else None,
        "pickup_by": row.pickup_by.isoformat() if row.pickup_by else None,
        "closed_at": row.closed_at.isoformat() + "Z" if row.closed_at else None,
        "loan_id": row.loan_id,
    }


def view(conn: Connection, reservation_id: int) -> dict[str, Any]:
    return _view(conn, conn.execute(_VIEW.where(reservations.c.id == reservation_id)).one())


def _event_payload(row, number: str, **extra: Any) -> dict[str, Any]:  # noqa: ANN001
    return {"reservation_id": row.id, "item": f"${row.library_code}{row.reg_no}",
            "member": number, **extra}


def _move(conn: Connection, actor: Actor, row, action: str, at: datetime,  # noqa: ANN001
          kind: str | None, **values: Any) -> None:
    """One transition of one reservation: the state machine, the row, the audit record and
    the owning library's event."""
    state = rules.next_state(row.state, action)
    closing = state not in ACTIVE
    if closing:
        values.update(closed_at=at, closed_by=actor.label)
    conn.execute(update(reservations).where(reservations.c.id == row.id)
                 .values(state=state, **values))
    number = conn.scalar(select(members.c.number).where(members.c.id == row.member_id))
    audit.record(conn, actor, f"reservation.{action}", "reservation", row.id, at,
                 {"item": f"${row.library_code}{row.reg_no}",
                  "member": mask_member_number(number), "state": str(state),
                  **{k: (v.isoformat() if hasattr(v, "isoformat") else v)
                     for k, v in values.items() if k in ("pickup_by", "loan_id")}},
                 row.library_code)
    if kind is not None:
        extra = {}
        if "pickup_by" in values:
            extra["pickup_by"] = values["pickup_by"].isoformat()
        if "loan_id" in values:
            extra["loan_id"] = values["loan_id"]
        emit(conn, row.library_code, kind, _event_payload(row, number, **extra), at)


_ROW = (select(reservations, copies.c.reg_no)
        .join(copies, copies.c.id == reservations.c.copy_id))


def set_aside_next(conn: Connection, actor: Actor, registry: Registry, copy_id: int,
                   at: datetime) -> dict[str, Any] | None:
    """The copy is back on its own library's shelf: set it aside for the head of its
    queue (ready, with a pickup deadline). None when nobody waits (or it is already set
    aside). The caller holds the loan or transit; the copy row is locked here."""
    conn.execute(select(copies.c.id).where(copies.c.id == copy_id).with_for_update())
    line = queue(conn, copy_id)
    if not line or line[0].state != S.WAITING or conn.scalar(
            select(loans.c.id).where(loans.c.copy_id == copy_id, loans.c.state == "active")):
        return None
    row = conn.execute(_ROW.where(reservations.c.id == line[0].id)
                       .with_for_update(of=reservations)).one()
    member_class = conn.scalar(select(members.c.member_class)
                               .where(members.c.id == row.member_id))
    lib = registry.library(row.library_code, conn)
    policy = registry.policy(row.library_code, member_class, conn=conn)
    pickup_by = rules.pickup_deadline(local_date(at), policy.reservation_pickup_days,
                                      lib.calendar)
    _move(conn, actor, row, "set_aside", at, Kind.RESERVATION_READY, ready_at=at,
          pickup_by=pickup_by)
    return view(conn, row.id)


def on_checkout(conn: Connection, actor: Actor, copy_id: int, member_id: int, loan_id: int,
                at: datetime) -> dict[str, Any] | None:
    """A copy with a queue was lent (the copy row is locked by the checkout). The
    borrower's own reservation is fulfilled; a copy set aside for someone else (lent
    anyway by an offline replay) puts that reservation back to the head of the queue."""
    fulfilled = None
    for entry in queue(conn, copy_id):
        row = conn.execute(_ROW.where(reservations.c.id == entry.id)).one()
        if entry.member_id == member_id:
            _move(conn, actor, row, "fulfil", at, Kind.RESERVATION_FULFILLED, loan_id=loan_id)
            fulfilled = view(conn, row.id)
        elif entry.state == S.READY:
            _move(conn, actor, row, "requeue", at, None, ready_at=None, pickup_by=None)
    return fulfilled


def on_undo_checkout(conn: Connection, actor: Actor, registry: Registry, copy_id: int,
                     loan_id: int, at: datetime) -> dict[str, Any] | None:
    """A loan that fulfilled a reservation was undone: the copy is back at the desk, so the
    reservation reopens and the copy is set aside for the reserver again."""
    row = conn.execute(_ROW.where(reservations.c.loan_id == loan_id,
                                  reservations.c.state == S.FULFILLED)).first()
    if row is None:
        return None
    _move(conn, actor, row, "reopen", at, None, loan_id=None, closed_at=None, closed_by=None,
          ready_at=None, pickup_by=None)
    return set_aside_next(conn, actor, registry, copy_id, at)


def on_undo_checkin(conn: Connection, actor: Actor, copy_id: int, at: datetime) -> None:
    """A return that set the copy aside was undone: the copy is on loan again, so the
    reservation goes back to the head of the queue (set aside at the next return)."""
    line = queue(conn, copy_id)
    if line and line[0].state == S.READY:
        row = conn.execute(_ROW.where(reservations.c.id == line[0].id)).one()
        _move(conn, actor, row, "requeue", at, None, ready_at=None, pickup_by=None)


class Reservations:
    def __init__(self, db: Database, registry: Registry, clock: Clock):
        self.db = db
        self.registry = registry
        self.clock = clock

    # -- place ---------------------------------------------------------------------
    @transactional
    def place(self, conn: Connection, actor: Actor, member_ref: str, item: str,
              owner_hint: str | None = None) -> dict[str, Any]:
        at, today = self.clock.now(), self.clock.today()
        owner, reg_no = item_key(item, actor.library_code or "", owner_hint)
        member = require_member(conn, member_ref, lock=True)
        reach = reach_.of(self.registry, actor, conn)
        reach_.require(reach, actor, member, "member")
        self._may_place(conn, actor, member, owner)
        copy = find_copy(conn, owner, reg_no, lock=True)
        reach_.require(reach, actor, copy, "copy")
        policy = self.registry.policy(owner, member.member_class, conn=conn)
        facts = rules.PlacementFacts(
            member_status=member.status, card_lost=member.card_lost,
            suspended_until=member.suspended_until, can_borrow=policy.can_borrow,
            copy_known=copy is not None, copy_loanable=bool(copy and copy.loanable),
            copy_on_loan=False, copy_in_transit=False, copy_queued=False,
            borrower_is_member=False, already_reserved=False,
            active_reservations=active_count(conn, member.id, owner),
            limit=policy.reservation_limit, barred=barred_at(conn, member.id, owner))
        if copy is not None:
            borrower = conn.scalar(select(loans.c.member_id).where(
                loans.c.copy_id == copy.id, loans.c.state == "active"))
            in_transit = conn.scalar(select(func.count()).select_from(transits).where(
                transits.c.copy_id == copy.id, transits.c.state != TransitState.HOME))
            line = queue(conn, copy.id)
            facts = replace(
                facts, copy_on_loan=borrower is not None, copy_in_transit=bool(in_transit),
                copy_queued=bool(line), borrower_is_member=borrower == member.id,
                already_reserved=any(e.member_id == member.id for e in line))
        decision = rules.decide_placement(facts, today)
        if not decision.allowed:
            raise DomainError(decision.reasons)
        rid = conn.execute(insert(reservations).values(
            copy_id=copy.id, member_id=member.id, library_code=owner, state=S.WAITING,
            channel=actor.channel, placed_at=at, placed_by=actor.label,
        ).returning(reservations.c.id)).scalar_one()
        audit.record(conn, actor, "reservation.place", "reservation", rid, at,
                     {"item": f"${owner}{reg_no}", "member": mask_member_number(member.number)},
                     owner)
        out = view(conn, rid)
        emit(conn, owner, Kind.RESERVATION_PLACED,
             {"reservation_id": rid, "item": out["item"], "member": member.number,
              "position": out["position"]}, at)
        return out

    def _may_place(self, conn: Connection, actor: Actor, member, owner: str) -> None:  # noqa: ANN001
        if actor.role == Role.SYSTEM:
            return
        if actor.role == Role.MEMBER:
            if actor.ident != f"member:{member.number}":
                raise DomainError(Code.FORBIDDEN)
            if not self._joined(conn, member.id, owner):
                raise DomainError(Code.RESERVATION_NOT_JOINED, library=owner)
            return
        if actor.role != Role.NATIONAL_ADMIN and actor.require_library() != owner:
            raise DomainError(Code.RESERVATION_OTHER_LIBRARY, owner=owner)
        if actor.role == Role.LIBRARY_SYSTEM and not self._joined(conn, member.id, owner):
            raise DomainError(Code.RESERVATION_NOT_JOINED, library=owner)

    @staticmethod
    def _joined(conn: Connection, member_id: int, library_code: str) -> bool:
        return bool(conn.scalar(select(func.count()).select_from(memberships).where(
            memberships.c.member_id == member_id, memberships.c.library_code == library_code,
            memberships.c.status == "active")))

    # -- cancel --------------------------------------------------------------------
    @transactional
    def cancel(self, conn: Connection, actor: Actor, reservation_id: int,
               member_ref: str | None = None) -> dict[str, Any]:
        """Cancel by the member or by staff of the owning library. `member_ref` (a
        kiosk's patron) must be the reserver. A set-aside copy goes to the next in line."""
        found = conn.execute(select(reservations.c.member_id, reservations.c.library_code)
                             .where(reservations.c.id == reservation_id)).first()
        if found is None or not self._may_cancel(conn, actor, found, member_ref):
            raise DomainError(Code.RESERVATION_UNKNOWN, reservation_id=reservation_id)
        conn.execute(select(members.c.id).where(members.c.id == found.member_id)
                     .with_for_update())
        row = conn.execute(_ROW.where(reservations.c.id == reservation_id)).one()
        conn.execute(select(copies.c.id).where(copies.c.id == row.copy_id).with_for_update())
        row = conn.execute(_ROW.where(reservations.c.id == reservation_id)
                           .with_for_update(of=reservations)).one()
        at = self.clock.now()
        was_ready = row.state == S.READY
        _move(conn, actor, row, "cancel", at, Kind.RESERVATION_CANCELLED)
        out = view(conn, row.id)
        out["next"] = set_aside_next(conn, actor, self.registry, row.copy_id, at) if was_ready \
            else None
        out["copy_to_shelf"] = was_ready and out["next"] is None
        return out

    @transactional
    def cancel_for_item(self, conn: Connection, actor: Actor, member_ref: str, item: str,
                        owner_hint: str | None = None) -> dict[str, Any]:
        """Cancel the member's active reservation of one copy (SIP2 15 with mode '-')."""
        owner, reg_no = item_key(item, actor.library_code or "", owner_hint)
        member = require_member(conn, member_ref)
        rid = conn.scalar(select(reservations.c.id).join(
            copies, copies.c.id == reservations.c.copy_id).where(
            copies.c.library_code == owner, copies.c.reg_no == reg_no,
            reservations.c.member_id == member.id, reservations.c.state.in_(ACTIVE)))
        if rid is None:
            raise DomainError(Code.RESERVATION_UNKNOWN, item=f"${owner}{reg_no}")
        return self.cancel(actor, rid, member_ref, conn=conn)

    def _may_cancel(self, conn: Connection, actor: Actor, found, member_ref: str | None  # noqa: ANN001
                    ) -> bool:
        reserver = conn.execute(select(members.c.number, members.c.sandbox_of).where(
            members.c.id == found.member_id)).first()  # none once the member withdrew
        number, sandbox_of = reserver if reserver is not None else (None, None)
        if reach_.of(self.registry, actor, conn) is reach_.Reach.SANDBOX \
                and sandbox_of != actor.library_code:
            return False  # a real reservation is not in this caller's reach: unknown
        if member_ref is not None:
            ref = require_member(conn, member_ref)
            if ref.id != found.member_id:
                return False
        if actor.role == Role.MEMBER:
            return actor.ident == f"member:{number}"
        if actor.role in (Role.SYSTEM, Role.NATIONAL_ADMIN):
            return True
        return actor.library_code == found.library_code

    # -- expire --------------------------------------------------------------------
    def expire_due(self, actor: Actor) -> dict[str, int]:
        """Expire every set-aside reservation whose pickup deadline has passed, and set
        each copy aside for the next in line. One transaction per reservation."""
        expired = set_aside = 0
        while True:
            today = self.clock.today()
            with self.db.read() as conn:
                ids = conn.scalars(select(reservations.c.id).where(
                    reservations.c.state == S.READY, reservations.c.pickup_by < today)
                    .order_by(reservations.c.id).limit(SWEEP_BATCH)).all()
            for rid in ids:
                done, nxt = self._expire_one(actor, rid)
                expired += done
                set_aside += nxt
            if len(ids) < SWEEP_BATCH:
                break
        if expired:
            log.info("reservations: %d expired, %d set aside for the next in line",
                     expired, set_aside)
        return {"expired": expired, "set_aside": set_aside}

    @transactional
    def _expire_one(self, conn: Connection, actor: Actor, reservation_id: int
                    ) -> tuple[int, int]:
        row = conn.execute(_ROW.where(reservations.c.id == reservation_id)).one()
        conn.execute(select(members.c.id).where(members.c.id == row.member_id)
                     .with_for_update())
        conn.execute(select(copies.c.id).where(copies.c.id == row.copy_id).with_for_update())
        row = conn.execute(_ROW.where(reservations.c.id == reservation_id)
                           .with_for_update(of=reservations)).one()
        at, today = self.clock.now(), self.clock.today()
        if row.state != S.READY or not rules.is_expired(row.pickup_by, today):
            return 0, 0  # collected or cancelled meanwhile
        _move(conn, actor, row, "expire", at, Kind.RESERVATION_EXPIRED)
        nxt = set_aside_next(conn, actor, self.registry, row.copy_id, at)
        return 1, int(nxt is not None)

    # -- lists ---------------------------------------------------------------------
    def for_member(self, actor: Actor, member_ref: str, include_closed: bool = False
                   ) -> list[dict[str, Any]]:
        """The member's reservations: all of them for the member and national admins; a
        library sees only those at itself."""
        with self.db.read() as conn:
            member = require_member(conn, member_ref)
            reach_.require(reach_.of(self.registry, actor, conn), actor, member, "member")
            q = _VIEW.where(reservations.c.member_id == member.id)
            if actor.role == Role.MEMBER:
                if actor.ident != f"member:{member.number}":
                    raise DomainError(Code.FORBIDDEN)
            elif actor.role not in (Role.SYSTEM, Role.NATIONAL_ADMIN):
                q = q.where(reservations.c.library_code == actor.require_library())
            if not include_closed:
                q = q.where(reservations.c.state.in_(ACTIVE))
            rows = conn.execute(q.order_by(reservations.c.id.desc()).limit(200)).all()
            return [_view(conn, r) for r in rows]

    def for_library(self, actor: Actor, library_code: str | None = None,
                    state: str | None = None, limit: int = 200) -> list[dict[str, Any]]:
        """A library's reservations; state 'ready' is its holds (pickup) shelf, soonest
        deadline first. Default: the active ones (waiting and ready)."""
        code = library_code or actor.require_library()
        if actor.role not in (Role.SYSTEM, Role.NATIONAL_ADMIN) and actor.library_code != code:
            raise DomainError(Code.FORBIDDEN, library=code)
        q = _VIEW.where(reservations.c.library_code == code)
        if state is None or state == "active":
            q = q.where(reservations.c.state.in_(ACTIVE))
        elif state != "all":
            try:
                q = q.where(reservations.c.state == S(state))
            except ValueError:
                raise DomainError(Code.VALIDATION_ERROR, field="state",
                                  allowed=["active", "all", *[str(s) for s in S]]) from None
        order = ((reservations.c.pickup_by, reservations.c.id) if state == "ready"
                 else (reservations.c.id.desc(),))
        with self.db.read() as conn:
            if reach_.of(self.registry, actor, conn) is reach_.Reach.SANDBOX:
                q = q.where(reservations.c.member_id.in_(
                    select(members.c.id).where(members.c.sandbox_of == actor.library_code)))
            rows = conn.execute(q.order_by(*order).limit(limit)).all()
            return [_view(conn, r) for r in rows]

    def get(self, actor: Actor, reservation_id: int) -> dict[str, Any]:
        with self.db.read() as conn:
            found = conn.execute(select(reservations.c.member_id, reservations.c.library_code)
                                 .where(reservations.c.id == reservation_id)).first()
            if found is None or not self._may_cancel(conn, actor, found, None):
                raise DomainError(Code.RESERVATION_UNKNOWN, reservation_id=reservation_id)
            return view(conn, reservation_id)
