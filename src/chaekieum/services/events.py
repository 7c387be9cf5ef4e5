"""Per-library change feed (transactional outbox).

Writers insert events with no position inside their own transaction. The sequencer
gives positions to committed events, one sequencer at a time, in the order it sees
them; readers page by position. An event that commits late simply gets a later
position, so a reader that has passed position N never misses it, and no event gets
two positions, so none is repeated.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, bindparam, func, insert, select, text, update

from ..store.db import Database
from ..store.tables import events

SEQUENCER_LOCK = 7_270_001  # PostgreSQL advisory-lock key for the sequencer
BATCH = 5000


class Kind:
    MEMBER_SUSPENDED = "member.suspended"
    MEMBER_WITHDRAWN = "member.withdrawn"
    MEMBER_JOINED = "member.joined"
    CARD_LOST = "member.card_lost"
    MEMBER_EXPELLED = "member.expelled"  # 제적, to every library the member joined
    MEMBER_EXPULSION_LIFTED = "member.expulsion_lifted"
    MEMBER_BARRED = "member.barred"  # to the barring library only (its own status)
    MEMBER_BAR_LIFTED = "member.bar_lifted"
    TRANSIT_ADDRESSED = "transit.addressed"  # a copy of yours was returned elsewhere
    TRANSIT_SENT = "transit.sent"
    TRANSIT_ARRIVED = "transit.arrived"
    LOAN_ELSEWHERE = "loan.elsewhere"  # a copy of yours was lent by another library
    RETURN_ELSEWHERE = "return.elsewhere"
    # 예약, to the owning (pickup) library
    RESERVATION_PLACED = "reservation.placed"
    RESERVATION_READY = "reservation.ready"  # set aside on the holds shelf
    RESERVATION_FULFILLED = "reservation.fulfilled"
    RESERVATION_EXPIRED = "reservation.expired"
    RESERVATION_CANCELLED = "reservation.cancelled"
    # a library moved to another onboarding stage: to that library and to every
    # participating (live or pilot) library of its region, whose regional center follows
    ONBOARDING_STAGE = "onboarding.stage"


_INSERT = insert(events)


def row(library_code: str, kind: str, payload: dict[str, Any], at) -> dict[str, Any]:  # noqa: ANN001
    return {"library_code": library_code, "kind": kind, "payload": payload, "created_at": at}


def emit(
    conn: Connection, library_code: str, kind: str, payload: dict[str, Any], at
) -> None:  # noqa: ANN001
    conn.execute(_INSERT, row(library_code, kind, payload, at))


def emit_many(conn: Connection, library_codes, kind: str, payload: dict[str, Any], at) -> None:  # noqa: ANN001
    rows = [row(code, kind, payload, at) for code in sorted(set(library_codes))]
    if rows:
        conn.execute(insert(events), rows)


class ChangeFeed:
    def __init__(self, db: Database):
        self.db = db

    def sequence(self) -> int:
        """Assign positions to every committed, unpositioned event. Returns how many."""
        total = 0
        while True:
            with self.db.write() as conn:
                if not self.db.is_sqlite:  # SQLite's BEGIN IMMEDIATE already serializes
                    conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": SEQUENCER_LOCK})
                ids = conn.scalars(
                    select(events.c.id).where(events.c.position.is_(None))
                    .order_by(events.c.id).limit(BATCH)
                ).all()
                if not ids:
                    return total
                start = conn.scalar(select(func.coalesce(func.max(events.c.position), 0)))
                conn.execute(
                    update(events).where(events.c.id == bindparam("eid"))
                    .values(position=bindparam("pos")),
                    [{"eid": i, "pos": start + n} for n, i in enumerate(ids, start=1)],
                )
                total += len(ids)
            if len(ids) < BATCH:
                return total

    def read(self, library_code: str, after: int, limit: int = 100) -> dict[str, Any]:
        self.sequence()
        with self.db.read() as conn:
            rows = conn.execute(
                select(events.c.position, events.c.kind, events.c.payload, events.c.created_at)
                .where(events.c.library_code == library_code, events.c.position > after)
                .order_by(events.c.position)
                .limit(limit)
            ).all()
        items = [
            {
                "position": r.position,
                "kind": r.kind,
                "payload": r.payload,
                "created_at": r.created_at.isoformat() + "Z",
            }
            for r in rows
        ]
        next_after = items[-1]["position"] if items else after
        return {"events": items, "next_after": next_after, "has_more": len(items) == limit}
