"""Read-only statistics and look-ups behind the staff console (dashboard, member search).

Every query is bounded. Dashboards sum, in the database, the per-library daily counters
that the circulation service keeps in `daily_circulation` (one row per library and day,
updated in the same transaction as each loan and return). Member search lives in
the members service (`Members.search`).
"""

from __future__ import annotations

import time as time_
from datetime import date, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select

from ..domain.onboarding import LABELS as STAGE_LABELS
from ..domain.onboarding import ORDER as STAGE_ORDER
from ..domain.onboarding import Stage
from ..store.db import Database
from ..store.tables import (
    daily_circulation as dc,
)
from ..store.tables import (
    libraries,
    regions,
    suspensions,
    transits,
)
from .context import Clock

MAX_DAYS = 366
LIBS_TTL = 5.0  # seconds the library list (names, regions, stages) is reused


class Statistics:
    def __init__(self, db: Database, clock: Clock):
        self.db = db
        self.clock = clock
        self._libs: tuple[float, dict[str, tuple[str, str, str]]] = (0.0, {})

    def period(self, days: int = 30) -> tuple[date, date]:
        today = self.clock.today()
        return today - timedelta(days=max(1, min(days, MAX_DAYS)) - 1), today

    # -- dashboard ---------------------------------------------------------------------
    def _library_regions(self) -> dict[str, tuple[str, str, str]]:
        """code -> (name, region, status), cached for a few seconds."""
        now = time_.monotonic()
        if self._libs[0] < now:
            with self.db.read_replica() as conn:
                rows = conn.execute(select(libraries.c.code, libraries.c.name,
                                           libraries.c.region_code, libraries.c.status)).all()
            self._libs = (now + LIBS_TTL, {r.code: (r.name, r.region_code, r.status)
                                           for r in rows})
        return self._libs[1]

    def dashboard(self, since: date, until: date, region: str | None = None,
                  library: str | None = None, top: int = 20) -> dict[str, Any]:
        """Network figures for [since, until], optionally one region or one library.
        Loans and returns come from the daily counters (a few thousand rows a day for
        the whole network), summed by the database."""
        today = self.clock.today()
        if until < since:
            since, until = until, since
        if (until - since).days >= MAX_DAYS:
            since = until - timedelta(days=MAX_DAYS - 1)
        until = min(until, today)
        since = min(since, until)
        libs = self._library_regions()

        def scoped(column):  # noqa: ANN001, ANN202
            if library:
                return column == library
            if region:
                return column.in_(select(libraries.c.code)
                                  .where(libraries.c.region_code == region))
            return True

        in_range = and_(dc.c.day >= since, dc.c.day <= until, scoped(dc.c.library_code))
        with self.db.read_replica() as conn:
            days = conn.execute(
                select(dc.c.day, func.sum(dc.c.loans), func.sum(dc.c.returns),
                       func.sum(dc.c.loans_elsewhere))
                .where(in_range).group_by(dc.c.day)).all()
            by_library = conn.execute(
                select(dc.c.library_code, func.sum(dc.c.loans).label("n"))
                .where(in_range).group_by(dc.c.library_code)
                .having(func.sum(dc.c.loans) > 0)).all()
            suspended = conn.scalar(
                select(func.count(func.distinct(suspensions.c.member_id)))
                .where(suspensions.c.ends_on >= today, suspensions.c.lifted_at.is_(None),
                       scoped(suspensions.c.library_code)))
            transit_counts = dict(conn.execute(
                select(transits.c.state, func.count())
                .where(transits.c.state.in_(("received", "sent")),
                       or_(scoped(transits.c.from_library), scoped(transits.c.to_library)))
                .group_by(transits.c.state)).all())
            region_names = dict(conn.execute(select(regions.c.code, regions.c.name)).all())
        figures = {_as_date(d): (int(n or 0), int(r or 0), int(e or 0)) for d, n, r, e in days}
        per_day, totals = [], [0, 0, 0]
        for i in range((until - since).days + 1):
            day = since + timedelta(days=i)
            n, returned, other = figures.get(day, (0, 0, 0))
            totals = [totals[0] + n, totals[1] + returned, totals[2] + other]
            per_day.append({"day": day.isoformat(), "loans": n, "returns": returned})
        per_region: dict[str, int] = {}
        for code, n in by_library:
            reg = libs[code][1] if code in libs else ""
            per_region[reg] = per_region.get(reg, 0) + int(n)
        stage_counts: dict[str, int] = {}
        for code, (_, reg, status) in libs.items():
            if (not library or code == library) and (not region or reg == region):
                stage_counts[status] = stage_counts.get(status, 0) + 1
        ranked = sorted(
            ({"code": code, "name": libs[code][0] if code in libs else code,
              "region": libs[code][1] if code in libs else "", "loans": int(n)}
             for code, n in by_library), key=lambda x: (-x["loans"], x["code"]))
        transit_counts = {"received": transit_counts.get("received", 0),
                          "sent": transit_counts.get("sent", 0)}
        return {
            "since": since.isoformat(), "until": until.isoformat(),
            "region": region, "library": library,
            "per_day": per_day,
            "per_region": [{"region": code, "name": region_names.get(code, code), "loans": n}
                           for code, n in sorted(per_region.items(), key=lambda x: -x[1])],
            "per_library": ranked[:top] if top else ranked,
            "per_library_total": len(ranked),
            "elsewhere": {"loans": totals[0], "elsewhere": totals[2],
                          "share": round(100.0 * totals[2] / totals[0], 1)
                          if totals[0] else 0.0},
            "totals": {"loans": totals[0], "returns": totals[1]},
            "active_suspensions": suspended or 0,
            "transits": {**transit_counts, "total": sum(transit_counts.values())},
            "stages": [{"stage": str(s), "label": STAGE_LABELS[s],
                        "count": stage_counts.get(str(s), 0)}
                       for s in [*STAGE_ORDER, Stage.SUSPENDED]],
        }

    def library_region(self, code: str) -> str | None:
        with self.db.read_replica() as conn:
            return conn.scalar(select(libraries.c.region_code).where(libraries.c.code == code))

    def library_names(self, codes: list[str] | None = None) -> dict[str, str]:
        q = select(libraries.c.code, libraries.c.name)
        if codes is not None:
            q = q.where(libraries.c.code.in_(codes))
        with self.db.read_replica() as conn:
            return dict(conn.execute(q).all())


def _as_date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])
