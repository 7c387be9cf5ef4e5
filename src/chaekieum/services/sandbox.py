"""Sandbox fixtures for the conformance kit (docs/conformance.md).

A library running the kit asks for test members and copies. They are ordinary rows
marked `sandbox_of` = the calling library, so every rule runs on them exactly as on
real ones, with three differences that keep them apart from real data:
- a sandbox's members borrow only that sandbox's copies and its copies go only to its
  members (`SANDBOX_MIXED`): a run can never hold a real copy or touch a real record;
- their loans and returns never count in the daily statistics (`daily_circulation`);
- `clean` deletes them with every loan, return, transit, suspension, reservation and
  exception that hangs off them (the audit trail keeps its rows: it records what
  happened, with masked numbers).

What needs a second library (auto-join, 타관반납, a suspension earned elsewhere, the
shared limit) uses the sandbox *peer*: another circulating library of the same region.
`foreign` members are issued there, and `peer` performs a checkout, checkin or transit
step there, on the caller's sandbox data only. Events those steps address to the peer
go to its feed (items with the `ZS` 등록구분, members named 시험회원).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, delete, func, or_, select

from ..domain.errors import Code, DomainError
from ..domain.onboarding import CIRCULATING
from ..domain.transactions import CheckinRequest, CheckoutRequest
from ..store.db import Database
from ..store.tables import (
    circulation_exceptions,
    copies,
    libraries,
    loans,
    members,
    memberships,
    reservations,
    suspensions,
    transits,
)
from . import audit
from .circulation import Circulation
from .context import Actor, Clock, Role
from .lookup import find_copy, item_key, require_member
from .members import Members, Registration
from .registry import Registry
from .transits import Transits
from .tx import transactional

REG_PREFIX = "ZS"  # 등록구분 code of sandbox copies: ZS0000000001 ...
MAX_MEMBERS = 50  # per library at any time
MAX_COPIES = 200
SERIAL_MAX = 9_999_999_999  # ZS + 10 digits
BIRTH_YEAR = 1990


class Sandbox:
    def __init__(self, db: Database, registry: Registry, clock: Clock, members_: Members,
                 circulation: Circulation, transits_: Transits):
        self.db = db
        self.registry = registry
        self.clock = clock
        self.members = members_
        self.circulation = circulation
        self.transits = transits_

    @staticmethod
    def _ids(conn: Connection, library_code: str) -> tuple[list[int], list[int]]:
        mids = conn.scalars(select(members.c.id).where(members.c.sandbox_of == library_code)
                            .order_by(members.c.id)).all()
        cids = conn.scalars(select(copies.c.id).where(copies.c.sandbox_of == library_code)
                            .order_by(copies.c.id)).all()
        return list(mids), list(cids)

    def _peer(self, conn: Connection, library_code: str) -> str:
        """Another circulating library of the caller's region (the lowest code)."""
        region = self.registry.library(library_code, conn).region_code
        peer = conn.scalar(select(libraries.c.code).where(
            libraries.c.region_code == region, libraries.c.code != library_code,
            libraries.c.status.in_(CIRCULATING)).order_by(libraries.c.code).limit(1))
        if peer is None:
            raise DomainError(Code.SANDBOX_NO_PEER, library_code=library_code, region=region)
        return peer

    @staticmethod
    def _peer_actor(actor: Actor, peer: str) -> Actor:
        return Actor(Role.SYSTEM, f"sandbox:{actor.label}"[:80], "api", peer)

    @transactional
    def create(self, conn: Connection, actor: Actor, n_members: int, n_copies: int,
               n_foreign: int = 0) -> dict[str, Any]:
        """Register `n_members` sandbox members at the acting library, `n_foreign` at its
        sandbox peer (they never joined the acting library: a first checkout there
        auto-joins them), and `n_copies` sandbox copies owned by the acting library."""
        library = actor.require_library()
        self.registry.library(library, conn)
        mids, cids = self._ids(conn, library)
        if (len(mids) + n_members + n_foreign > MAX_MEMBERS
                or len(cids) + n_copies > MAX_COPIES):
            raise DomainError(Code.VALIDATION_ERROR, field="sandbox",
                              problem=f"at most {MAX_MEMBERS} members and {MAX_COPIES} copies",
                              members=len(mids), copies=len(cids))
        at = self.clock.now()
        try:
            peer: str | None = self._peer(conn, library)
        except DomainError:
            if n_foreign:
                raise
            peer = None  # the answer says so: the kit skips what needs a peer
        made: dict[str, list] = {"members": [], "foreign_members": []}
        for i in range(n_members + n_foreign):
            foreign = i >= n_members
            registrar = self._peer_actor(actor, peer) if foreign else actor
            name = f"시험회원{len(mids) + i + 1}"
            view = self.members.register(registrar, Registration(
                name=name, birth_year=BIRTH_YEAR), sandbox_of=library, conn=conn)
            made["foreign_members" if foreign else "members"].append(
                {"number": view["number"], "name": name, "issuing_library": view.get(
                    "issuing_library", peer if foreign else library)})
        made_copies = []
        for serial in self._free_serials(conn, library, n_copies):
            reg_no = f"{REG_PREFIX}{serial:010d}"
            title = f"적합성 검사 자료 {serial}"
            conn.execute(copies.insert().values(library_code=library, reg_no=reg_no,
                                                title=title, loanable=True,
                                                sandbox_of=library,
                                                updated_at=at))
            made_copies.append({"item": f"${library}{reg_no}", "reg_no": reg_no,
                                "title": title})
        audit.record(conn, actor, "sandbox.create", "library", library, at,
                     {"members": n_members, "foreign_members": n_foreign,
                      "copies": n_copies}, library)
        # as_of: the hub's clock, for offline replays dated relative to it
        return {"library": library, "peer": peer, **made, "copies": made_copies,
                "as_of": at.isoformat() + "Z"}

    @staticmethod
    def _free_serials(conn: Connection, library: str, n: int) -> list[int]:
        """`n` serials for ZS + 10 digits that no copy of the library uses. A library may
        hold real ZS copies, also with a third letter (ZSA…) or at ZS9999999999: they are
        skipped, never parsed as serials or overflowed."""
        taken = {int(r[2:]) for r in conn.scalars(select(copies.c.reg_no).where(
            copies.c.library_code == library, copies.c.reg_no.like(f"{REG_PREFIX}%")))
            if len(r) == 12 and r[2:].isdigit()}
        start = max(taken, default=0)
        if start + n <= SERIAL_MAX:
            return list(range(start + 1, start + 1 + n))
        free = (s for s in range(1, SERIAL_MAX + 1) if s not in taken)
        return [next(free) for _ in range(n)]

    def list(self, actor: Actor) -> dict[str, Any]:
        library = actor.require_library()
        with self.db.read() as conn:
            numbers = conn.scalars(select(members.c.number).where(
                members.c.sandbox_of == library).order_by(members.c.id)).all()
            items = conn.execute(select(copies.c.library_code, copies.c.reg_no).where(
                copies.c.sandbox_of == library).order_by(copies.c.id)).all()
            mids, cids = self._ids(conn, library)
            active = conn.scalar(select(func.count()).select_from(loans).where(
                loans.c.state == "active",
                or_(loans.c.member_id.in_(mids), loans.c.copy_id.in_(cids))))
        return {"library": library, "members": list(numbers),
                "copies": [f"${c.library_code}{c.reg_no}" for c in items],
                "active_loans": active}

    @transactional
    def clean(self, conn: Connection, actor: Actor) -> dict[str, Any]:
        """Delete the acting library's sandbox members and copies and everything that
        hangs off them. Idempotent: a second call finds nothing."""
        library = actor.require_library()
        mids, cids = self._ids(conn, library)
        loan_ids = list(conn.scalars(select(loans.c.id).where(
            or_(loans.c.member_id.in_(mids), loans.c.copy_id.in_(cids)))).all())
        removed = {
            "exceptions": conn.execute(delete(circulation_exceptions).where(
                circulation_exceptions.c.loan_id.in_(loan_ids))).rowcount,
            "reservations": conn.execute(delete(reservations).where(or_(
                reservations.c.member_id.in_(mids), reservations.c.copy_id.in_(cids),
                reservations.c.loan_id.in_(loan_ids)))).rowcount,
            "transits": conn.execute(delete(transits).where(or_(
                transits.c.loan_id.in_(loan_ids), transits.c.copy_id.in_(cids)))).rowcount,
            "suspensions": conn.execute(delete(suspensions).where(or_(
                suspensions.c.member_id.in_(mids),
                suspensions.c.loan_id.in_(loan_ids)))).rowcount,  # also once withdrawn
            "loans": conn.execute(delete(loans).where(loans.c.id.in_(loan_ids))).rowcount,
        }
        conn.execute(delete(memberships).where(memberships.c.member_id.in_(mids)))
        removed["members"] = conn.execute(delete(members).where(members.c.id.in_(mids))).rowcount
        removed["copies"] = conn.execute(delete(copies).where(copies.c.id.in_(cids))).rowcount
        if any(removed.values()):
            audit.record(conn, actor, "sandbox.clean", "library", library, self.clock.now(),
                         removed, library)
        return {"library": library, "removed": removed}

    # -- the sandbox peer ----------------------------------------------------------
    def _own(self, conn: Connection, library: str, member: str | None = None,
             item: str | None = None, peer: str = "") -> None:
        if member is not None and require_member(conn, member).sandbox_of != library:
            raise DomainError(Code.FORBIDDEN, problem="not a sandbox member of yours")
        if item is not None:
            copy = find_copy(conn, *item_key(item, peer))
            if copy is None or copy.sandbox_of != library:
                raise DomainError(Code.FORBIDDEN, problem="not a sandbox copy of yours")

    @transactional
    def peer(self, conn: Connection, actor: Actor, action: str,
             body: dict[str, Any]) -> dict[str, Any]:
        """Do one step at the sandbox peer, on the acting library's sandbox data:
        `checkout` / `checkin` (bodies as the circulation endpoints; offline replays
        with `occurred_at` and `due_on` too), `send` / `arrive` (`transit_id`)."""
        library = actor.require_library()
        peer = self._peer(conn, library)
        as_peer = self._peer_actor(actor, peer)
        if action == "checkout":
            self._own(conn, library, body["member"], body["item"], peer)
            out = self.circulation.checkout(as_peer, CheckoutRequest(
                member=body["member"], item=body["item"],
                client_txn_id=body.get("client_txn_id"),
                occurred_at=body.get("occurred_at"), offline=bool(body.get("offline")),
                due_on=body.get("due_on")), conn=conn).as_dict()
        elif action == "checkin":
            self._own(conn, library, item=body["item"], peer=peer)
            out = self.circulation.checkin(as_peer, CheckinRequest(
                item=body["item"], client_txn_id=body.get("client_txn_id"),
                occurred_at=body.get("occurred_at"), offline=bool(body.get("offline"))),
                conn=conn).as_dict()
        elif action in ("send", "arrive"):
            transit = conn.execute(select(transits.c.copy_id).where(
                transits.c.id == body["transit_id"])).first()
            sandbox = transit and conn.scalar(select(copies.c.sandbox_of).where(
                copies.c.id == transit.copy_id))
            if sandbox != library:
                raise DomainError(Code.FORBIDDEN, problem="not a sandbox transit of yours")
            out = self.transits.move(as_peer, body["transit_id"], action, conn=conn)
        else:
            raise DomainError(Code.VALIDATION_ERROR, field="action")
        return {"peer": peer, "result": out}
