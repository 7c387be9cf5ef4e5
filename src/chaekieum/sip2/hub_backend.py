"""The SIP2 backend at the hub: the hub services, plus the read-only facts the SIP2
replies need that no use case returns as such (a patron's status flags for 24/64, an
item's circulation status for 17/18). Writes always go through the services; the reads
reuse the domain rules so a kiosk shows the same decision the checkout would make.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select

from ..domain.actors import Actor
from ..domain.errors import Code, DomainError
from ..domain.reservations import ACTIVE_STATES
from ..domain.sandbox import may_circulate
from ..domain.transactions import CheckinRequest, CheckoutRequest, Outcome
from ..domain.transit import TransitState
from ..services import audit, reach
from ..services.lookup import find_copy, item_key
from ..services.reservations import queue as reservation_queue
from ..store.tables import copies, loans, members, reservations, suspensions, transits
from .backend import ItemFacts, LibraryInfo, PatronFacts, build_patron_facts

if TYPE_CHECKING:
    from ..services.hub import Hub


class HubBackend:
    def __init__(self, hub: Hub) -> None:
        self.hub = hub

    def max_workers(self) -> int:
        """Half as many threads as the database pool holds (pool + overflow).

        A use case can hold two pooled connections at once: its write transaction, and a
        short read when the registry's policy/library cache is cold.  With as many threads
        as connections, every thread can hold one connection while waiting for a second:
        the pool deadlocks until its timeout.  Half keeps that impossible; more threads
        would only queue inside SQLAlchemy anyway."""
        pool = self.hub.db.engine.pool
        size = getattr(pool, "size", lambda: 5)()
        overflow = max(getattr(pool, "_max_overflow", 0), 0)
        return max(2, min(64, (size + overflow) // 2))

    def now(self) -> datetime:
        return self.hub.clock.now()

    def today(self) -> date:
        return self.hub.clock.today()

    # -- terminals ---------------------------------------------------------------------
    def verify_terminal(self, login: str, password: str, source: str,
                        cached: bool = False) -> dict[str, Any] | None:
        return self.hub.credentials.verify_terminal(login, password, source, cached)

    def terminal_revoked(self, login: str) -> bool:
        return self.hub.credentials.terminal_revoked(login)

    def library(self, code: str) -> LibraryInfo | None:
        try:
            lib = self.hub.registry.library(code)
        except DomainError:
            return None
        # before pilot a library lends too, on its sandbox data only (domain/sandbox.py)
        return LibraryInfo(code, lib.name, may_circulate(lib.status))

    # -- circulation -------------------------------------------------------------------
    def checkout(self, actor: Actor, request: CheckoutRequest) -> Outcome:
        return self.hub.circulation.checkout(actor, request)

    def checkin(self, actor: Actor, request: CheckinRequest) -> Outcome:
        return self.hub.circulation.checkin(actor, request)

    def renew(self, actor: Actor, item: str, member: str | None, *, offline: bool = False,
              due_on: date | None = None) -> Outcome:
        return self.hub.circulation.renew(actor, item, member, offline=offline, due_on=due_on)

    # -- patrons and items -------------------------------------------------------------
    def member_loans(self, actor: Actor, ref: str) -> list[dict[str, Any]]:
        return self.hub.members.loans(actor, ref)

    def check_member_password(self, number: str, password: str, terminal: str) -> bool:
        return self.hub.members.check_password_at_kiosk(number, password, terminal)

    def block_patron(self, actor: Actor, ref: str, *, card_retained: bool, message: str,
                     terminal: str) -> None:
        hub = self.hub

        def work(conn):  # noqa: ANN001, ANN202
            view = hub.members.report_card_lost(actor, ref, conn=conn)
            audit.record(conn, actor, "sip2.block_patron", "member", view["number"],
                         hub.clock.now(),
                         {"card_retained": card_retained, "message": message[:255],
                          "terminal": terminal})
            return view

        hub.db.run_write(work)

    def place_hold(self, actor: Actor, patron: str, item: str) -> dict[str, Any]:
        reservations = self.hub.reservations
        try:
            return reservations.place(actor, patron, item)
        except DomainError as exc:
            if exc.code != Code.RESERVATION_DUPLICATE:
                raise
        owner, reg_no = item_key(item, actor.library_code or "")
        return next(v for v in reservations.for_member(actor, patron)
                    if v["item"] == f"${owner}{reg_no}")

    def cancel_hold(self, actor: Actor, patron: str, item: str) -> dict[str, Any]:
        return self.hub.reservations.cancel_for_item(actor, patron, item)

    def patron_facts(self, actor: Actor, library_code: str, ref: str) -> PatronFacts:
        """Raises DomainError (MEMBER_UNKNOWN, INVALID_MEMBER_NUMBER) like the services.

        At a library the member never joined, the kiosk learns what circulation needs
        (masked name, status, counts) and no titles: the member-data rule."""
        hub, lib = self.hub, library_code
        view = hub.members.get(actor, ref)
        visible = view["personal_data_visible"]
        active = hub.members.loans(actor, ref) if visible else []
        today = self.today()
        policy = hub.registry.policy(lib, view["member_class"])
        suspended_until = (date.fromisoformat(view["suspended_until"])
                           if view.get("suspended_until") else None)
        with hub.db.read() as conn:
            member_id = conn.scalar(select(members.c.id)
                                    .where(members.c.number == view["number"]))
            held_q = (
                select(copies.c.library_code, copies.c.reg_no, reservations.c.state)
                .join(copies, copies.c.id == reservations.c.copy_id)
                .where(reservations.c.member_id == member_id,
                       reservations.c.state.in_(ACTIVE_STATES)))
            if not visible:
                held_q = held_q.where(copies.c.library_code == lib)  # only this library's own
            held = conn.execute(held_q.order_by(reservations.c.id)).all()
            holds = [f"${r.library_code}{r.reg_no}" for r in held if r.state == "ready"]
            waiting = [f"${r.library_code}{r.reg_no}" for r in held if r.state == "waiting"]
            suspended_here = bool(suspended_until) and conn.scalar(
                select(func.count()).select_from(suspensions).where(
                    suspensions.c.member_id == member_id, suspensions.c.library_code == lib,
                    suspensions.c.ends_on >= today, suspensions.c.lifted_at.is_(None))) > 0
        return build_patron_facts(view, active, holds, policy, today, lib, suspended_here,
                                  waiting)

    def item_facts(self, actor: Actor, library_code: str, scanned: str) -> ItemFacts | None:
        """The copy as the kiosk's credentials reach it (domain/sandbox.py): before pilot,
        or for a sandbox-only login, a real copy is no copy at all (None, as unknown)."""
        try:
            owner, reg_no = item_key(scanned, library_code)
        except DomainError:
            return None
        with self.hub.db.read() as conn:
            copy = find_copy(conn, owner, reg_no)
            if copy is None:
                return None
            try:
                reach.require(reach.of(self.hub.registry, actor, conn), actor, copy, "copy")
            except DomainError:  # SANDBOX_ONLY: outside the kiosk's reach, so unknown to it
                return None
            line = reservation_queue(conn, copy.id)
            facts = ItemFacts(f"${owner}{reg_no}", owner, reg_no, copy.title, copy.loanable,
                              any(e.state == "ready" for e in line), len(line))
            loan = conn.execute(
                select(loans.c.due_on, loans.c.library_code, members.c.number)
                .join(members, members.c.id == loans.c.member_id)
                .where(loans.c.copy_id == copy.id, loans.c.state == "active")).first()
            if loan is not None:
                facts.due_on, facts.loan_library, facts.member_number = loan
            transit = conn.execute(
                select(transits.c.state, transits.c.from_library, transits.c.to_library)
                .where(transits.c.copy_id == copy.id, transits.c.state != TransitState.HOME)
                .order_by(transits.c.id.desc())).first()
            if transit is not None:
                facts.transit_state, facts.transit_from, facts.transit_to = transit
        return facts
