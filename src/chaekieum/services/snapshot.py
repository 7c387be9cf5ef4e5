"""What a library connector needs to decide a checkout while the hub is unreachable.

One page at a time, for the key's library:
- every member blocked network-wide (withdrawn, expelled, card lost, suspended with the
  end date), by member number, and the library's own members it barred;
- the library's own members (joined there) with their network-wide active-loan counts;
- on the first page, the library's policies per member class and its calendar (closed
  weekdays, and every closed date and public holiday of the next 400 days).

A full pass (no `since`) walks members by id; with `own_only` it holds only the library's
own members (the blocked members of other libraries are the same for every connector
and most of the rows: a connector downloads them once, then keeps them by deltas). A delta (`since` = the `as_of` of an
earlier pass) returns only members changed since then (index on members.updated_at), so
the thousands of connectors polling every 30 s cost the hub an index range scan each.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, func, or_, select

from ..domain.members import MemberStatus
from ..domain.policy import MEMBER_CLASSES
from ..domain.suspension import is_suspended
from ..store.db import Database
from ..store.tables import loans, members, memberships
from . import reach as reach_
from .context import Actor, Clock, to_utc_naive
from .lookup import barred_count
from .registry import Registry

# A delta re-reads this much before its `since`: a member row committed a little after
# its updated_at was taken is still seen (the connector applies rows idempotently).
OVERLAP = timedelta(minutes=2)
CALENDAR_DAYS = 400
MAX_PAGE = 5000


def blocked_code(status: str, card_lost: bool, suspended_until, today,  # noqa: ANN001
                 barred_here: bool = False) -> str | None:
    if status == MemberStatus.WITHDRAWN:
        return "MEMBER_WITHDRAWN"
    if status == MemberStatus.EXPELLED:
        return "MEMBER_EXPELLED"
    if barred_here:
        return "MEMBER_BARRED_HERE"
    if card_lost:
        return "CARD_LOST"
    if is_suspended(suspended_until, today):
        return "MEMBER_SUSPENDED"
    return None


class ConnectorSnapshot:
    def __init__(self, db: Database, registry: Registry, clock: Clock):
        self.db = db
        self.registry = registry
        self.clock = clock

    def page(self, actor: Actor, since: datetime | None, after: int, limit: int,
             own_only: bool = False) -> dict[str, Any]:
        code = actor.require_library()
        lib = self.registry.library(code)
        today, now = self.clock.today(), self.clock.now()
        limit = max(1, min(limit, MAX_PAGE))
        own = select(memberships.c.member_id).where(memberships.c.library_code == code)
        active = and_(loans.c.member_id == members.c.id, loans.c.state == "active")
        on_loan = select(func.count()).where(active).scalar_subquery()
        overdue = select(func.count()).where(active, loans.c.due_on < today).scalar_subquery()
        here = select(func.count()).where(active, loans.c.library_code == code).scalar_subquery()
        joined = members.c.id.in_(own)
        barred = barred_count(members.c.id, code).scalar_subquery()
        # loan counts (and the library's own bar) only for own members: a blocked member
        # of another library costs no lookups (the database evaluates a CASE branch only
        # when it is taken)
        on_loan, here, overdue, barred = (case((joined, q))
                                          for q in (on_loan, here, overdue, barred))
        if since is None and own_only:
            wanted = joined
        elif since is None:
            blocked = or_(members.c.status != MemberStatus.ACTIVE, members.c.card_lost,
                          members.c.suspended_until >= today)
            wanted = or_(blocked, joined)
        else:
            wanted = members.c.updated_at > to_utc_naive(since) - OVERLAP
        if reach_.of(self.registry, actor) is reach_.Reach.SANDBOX:
            # before pilot (or sandbox-only credentials): the library's sandbox members only
            wanted = and_(wanted, members.c.sandbox_of == code)
        with self.db.read() as conn:
            rows = conn.execute(
                select(members.c.id, members.c.number, members.c.status, members.c.card_lost,
                       members.c.suspended_until, members.c.member_class,
                       joined.label("own"), on_loan.label("on_loan"),
                       here.label("here"), overdue.label("overdue"), barred.label("barred"))
                .where(wanted, members.c.id > after).order_by(members.c.id).limit(limit)
            ).all()
        items = [{
            "number": r.number,
            "blocked": blocked_code(r.status, r.card_lost, r.suspended_until, today,
                                    bool(r.barred)),
            "until": r.suspended_until.isoformat() if r.suspended_until else None,
            "member_class": r.member_class,
            "own": bool(r.own),
            "on_loan": int(r.on_loan) if r.own else None,
            "here": int(r.here) if r.own else None,
            "overdue": int(r.overdue) if r.own else None,
        } for r in rows]
        out: dict[str, Any] = {
            "library_code": code,
            "as_of": now.isoformat() + "Z",
            "today": today.isoformat(),
            "full": since is None,
            "scope": "own" if since is None and own_only else "all",
            "members": items,
            "next_after": rows[-1].id if rows else after,
            "has_more": len(rows) == limit,
        }
        if after == 0:
            out["library"] = self._library(code, lib, today)
        return out

    def _library(self, code: str, lib, today) -> dict[str, Any]:  # noqa: ANN001
        cal = lib.calendar
        days = (today + timedelta(days=n) for n in range(CALENDAR_DAYS))
        return {
            "code": code, "name": lib.name, "region_code": lib.region_code,
            "status": lib.status,
            "closed_weekdays": sorted(cal.closed_weekdays),
            "closed_dates": [d.isoformat() for d in days
                             if d.weekday() not in cal.closed_weekdays and not cal.is_open(d)],
            "policies": {cls: self.registry.policy(code, cls).as_dict()
                         for cls in sorted(MEMBER_CLASSES | {""})},
        }
