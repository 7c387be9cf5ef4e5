"""타관반납 logistics: the queues each library works through, and the state changes."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, select, update

from ..domain.errors import Code, DomainError
from ..domain.transit import LABELS, TransitState, next_state
from ..store.db import Database
from ..store.tables import copies, libraries, transits
from . import audit
from . import reach as reach_
from .context import Actor, Clock, Role
from .events import Kind, emit
from .registry import Registry
from .reservations import set_aside_next
from .tx import transactional


def transit_view(row) -> dict[str, Any]:  # noqa: ANN001
    return {
        "id": row.id,
        "item": f"${row.to_library}{row.reg_no}" if hasattr(row, "reg_no") else None,
        "title": getattr(row, "title", None),
        "from_library": row.from_library,
        "to_library": row.to_library,
        "state": row.state,
        "state_label": LABELS[row.state],
        "courier_fee": row.courier_fee,
        "received_at": row.received_at.isoformat() + "Z",
        "sent_at": row.sent_at.isoformat() + "Z" if row.sent_at else None,
        "arrived_at": row.arrived_at.isoformat() + "Z" if row.arrived_at else None,
    }


def _load(conn: Connection, transit_id: int, lock: bool = False):  # noqa: ANN202
    q = (select(transits, copies.c.reg_no, copies.c.title)
         .join(copies, copies.c.id == transits.c.copy_id).where(transits.c.id == transit_id))
    row = conn.execute(q.with_for_update(of=transits) if lock else q).first()
    if row is None:
        raise DomainError(Code.NOT_FOUND, transit_id=transit_id)
    return row


def send(conn: Connection, actor: Actor, row, at) -> dict[str, Any]:  # noqa: ANN001
    state = next_state(row.state, "send")
    conn.execute(update(transits).where(transits.c.id == row.id).values(state=state, sent_at=at))
    emit(conn, row.to_library, Kind.TRANSIT_SENT, {"transit_id": row.id}, at)
    audit.record(conn, actor, "transit.send", "transit", row.id, at, {})
    return transit_view(_load(conn, row.id))


def arrive(conn: Connection, actor: Actor, row, at, registry: Registry  # noqa: ANN001
           ) -> dict[str, Any]:
    """Home again: a copy someone reserved is set aside for them on arrival."""
    state = next_state(row.state, "arrive")
    conn.execute(update(transits).where(transits.c.id == row.id).values(
        state=state, arrived_at=at))
    emit(conn, row.from_library, Kind.TRANSIT_ARRIVED, {"transit_id": row.id}, at)
    audit.record(conn, actor, "transit.arrive", "transit", row.id, at, {})
    out = transit_view(_load(conn, row.id))
    out["reservation"] = set_aside_next(conn, actor, registry, row.copy_id, at)
    return out


class Transits:
    def __init__(self, db: Database, registry: Registry, clock: Clock):
        self.db = db
        self.registry = registry
        self.clock = clock

    def queue(self, library_code: str | None, direction: str, include_done: bool = False,
              limit: int = 200, region: str | None = None,
              sandbox_only: bool = False) -> list[dict[str, Any]]:
        """outgoing: received here, to send home; incoming: on their way to us. "Here" is
        one library, or (`region`, no library) every library of a region. `sandbox_only`:
        only the library's sandbox copies (a caller in sandbox reach)."""
        column = transits.c.from_library if direction == "outgoing" else transits.c.to_library
        if library_code:
            where = column == library_code
        else:
            where = column.in_(select(libraries.c.code).where(libraries.c.region_code == region))
        q = (select(transits, copies.c.reg_no, copies.c.title)
             .join(copies, copies.c.id == transits.c.copy_id).where(where))
        if not include_done:
            q = q.where(transits.c.state != TransitState.HOME)
        if sandbox_only:
            q = q.where(copies.c.sandbox_of == library_code)
        with self.db.read() as conn:
            rows = conn.execute(q.order_by(transits.c.id.desc()).limit(limit)).all()
        return [transit_view(r) for r in rows]

    @transactional
    def move(self, conn: Connection, actor: Actor, transit_id: int, action: str
             ) -> dict[str, Any]:
        row = _load(conn, transit_id, lock=True)
        # the receiving library sends; the home library confirms arrival
        allowed = row.from_library if action == "send" else row.to_library
        if actor.role not in (Role.NATIONAL_ADMIN, Role.SYSTEM) and (
                actor.library_code != allowed):
            raise DomainError(Code.FORBIDDEN, transit_id=transit_id, action=action)
        reach_.require_copy_id(conn, reach_.of(self.registry, actor, conn), actor, row.copy_id)
        if action == "send":
            return send(conn, actor, row, self.clock.now())
        if action == "arrive":
            return arrive(conn, actor, row, self.clock.now(), self.registry)
        raise DomainError(Code.TRANSIT_BAD_STATE, action=action)
