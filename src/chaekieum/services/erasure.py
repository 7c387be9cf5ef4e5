"""Withdrawal erases the link between a member and what they read (domain.md section 4:
personal data is erased and only anonymous statistics remain; the number is never
reused and keeps nothing).

The loans, suspensions and reservations stay, without a member (the daily counters and
the dashboards count them as before). Everything else that tied the number to copies
goes too: a kiosk's checkout id (derived from the patron number), the masked number and
loan ids in the audit trail, the member as the actor of their own portal actions, the
member in the change feed's events, and stored idempotent responses that carried the
number. Exact times link as well as ids do (an auto-join, a suspension and the loan or
return that caused it share one timestamp), so the audit rows about the member no longer
name them and their library memberships keep no join time. The audit trail keeps that
the member withdrew (``member.withdraw``, written after this), never what they read.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Text, bindparam, case, cast, delete, or_, select, update

from ..store.tables import (
    audit_log,
    events,
    idempotency_keys,
    loans,
    members,
    memberships,
    reservations,
    suspensions,
)
from .notices import erase_member as erase_notices

ERASED = "erased"  # stands for the member wherever their number was
CHUNK = 500


def _chunks(values: list[Any]) -> Iterable[list[Any]]:
    for start in range(0, len(values), CHUNK):
        yield values[start:start + CHUNK]


def _without(details: dict[str, Any] | None, *keys: str) -> dict[str, Any]:
    return {k: v for k, v in (details or {}).items() if k not in keys}


def _scrub_audit(conn: Connection, rows, *keys: str) -> int:  # noqa: ANN001
    changed = [{"aid": r.id, "details": _without(r.details, *keys)} for r in rows
               if any(k in (r.details or {}) for k in keys)]
    if changed:
        conn.execute(update(audit_log).where(audit_log.c.id == bindparam("aid"))
                     .values(details=bindparam("details")), changed)
    return len(changed)


def erase_reading_links(conn: Connection, member_id: int, number: str,
                        at: datetime) -> dict[str, int]:
    """Unlink the member from their loans, suspensions and reservations and erase what
    else tied the number to copies. The caller holds the member's row lock and has
    checked that nothing is open (no active loan, reservation or suspension)."""
    label = f"member:{number}"
    # the libraries whose feeds carried events about the member
    feeds = set(conn.scalars(select(memberships.c.library_code).where(
        memberships.c.member_id == member_id)))
    feeds |= set(conn.scalars(select(reservations.c.library_code).where(
        reservations.c.member_id == member_id)))
    feeds.add(conn.scalar(select(members.c.issuing_library).where(members.c.id == member_id)))
    loan_ids = [str(i) for i in conn.scalars(
        select(loans.c.id).where(loans.c.member_id == member_id))]
    reservation_ids = [str(i) for i in conn.scalars(
        select(reservations.c.id).where(reservations.c.member_id == member_id))]
    erased = {
        "loans": conn.execute(update(loans).where(loans.c.member_id == member_id)
                              .values(member_id=None, client_txn_id=None)).rowcount,
        "suspensions": conn.execute(update(suspensions).where(
            suspensions.c.member_id == member_id).values(member_id=None)).rowcount,
        "reservations": conn.execute(update(reservations).where(
            reservations.c.member_id == member_id).values(
                member_id=None,
                placed_by=case((reservations.c.placed_by == label, ERASED),
                               else_=reservations.c.placed_by),
                closed_by=case((reservations.c.closed_by == label, ERASED),
                               else_=reservations.c.closed_by))).rowcount,
    }
    # the audit trail: which loans and reservations were the member's goes
    audited = 0
    for entity, ids in (("loan", loan_ids), ("reservation", reservation_ids)):
        for chunk in _chunks(ids):
            these = (audit_log.c.entity == entity) & audit_log.c.entity_id.in_(chunk)
            rows = conn.execute(select(audit_log.c.id, audit_log.c.details).where(these)).all()
            audited += _scrub_audit(conn, rows, "member")
            # the member's own portal actions (renewals, reservations)
            conn.execute(update(audit_log).where(these, audit_log.c.actor == label)
                         .values(actor=ERASED))
    rows = conn.execute(select(audit_log.c.id, audit_log.c.details).where(
        audit_log.c.entity == "member", audit_log.c.entity_id == number)).all()
    _scrub_audit(conn, rows, "loan_id")  # member.suspend named the loan
    # what happened to the member (an auto-join or a suspension at the instant of a loan
    # or a return) no longer says who
    audited += conn.execute(update(audit_log).where(
        audit_log.c.entity == "member", audit_log.c.entity_id == number).values(
            entity_id=ERASED, actor=case((audit_log.c.actor == label, ERASED),
                                         else_=audit_log.c.actor))).rowcount
    erased["audit_rows"] = audited
    # an automatic join happened at the instant of the first loan there
    conn.execute(update(memberships).where(memberships.c.member_id == member_id).values(
        joined_at=at))
    # the change feed: events that named the member (joins, suspensions, reservations
    # of a copy) no longer do
    rows = conn.execute(select(events.c.id, events.c.payload).where(
        events.c.library_code.in_(sorted(feeds)),
        events.c.payload["member"].as_string() == number)).all()
    if rows:
        conn.execute(update(events).where(events.c.id == bindparam("eid"))
                     .values(payload=bindparam("payload")),
                     [{"eid": r.id, "payload": _without(r.payload, "member")} for r in rows])
    erased["events"] = len(rows)
    # notices about loans and reservations (titles), and the member's channel choices
    erased["notices"] = erase_notices(conn, member_id)
    # stored answers to retried API writes (loans and reservations with their titles)
    erased["idempotent_responses"] = conn.execute(delete(idempotency_keys).where(or_(
        idempotency_keys.c.principal == label,
        cast(idempotency_keys.c.response, Text).contains(number)))).rowcount
    return erased
