"""Read-only statistics and look-ups behind the staff console (dashboard, member search).

Every query is bounded. Dashboards add up the per-library daily counters that the
circulation service keeps in `daily_circulation` (one row per library and day, updated
in the same transaction as each loan and return). Days before today no longer change,
so their figures are also cached per process; only today is read live. Member search is a prefix
*range* on the indexed number / name columns (a `LIKE 'x%'` does not use the index on
SQLite and only with text_pattern_ops on PostgreSQL), always with a LIMIT.
"""

from __future__ import annotations

import threading
import time as time_
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import and_, exists, func, select, text

from ..domain.onboarding import LABELS as STAGE_LABELS
from ..domain.onboarding import ORDER as STAGE_ORDER
from ..domain.onboarding import Stage
from ..store.db import Database
from ..store.tables import (
    audit_log,
    libraries,
    members,
    memberships,
    regions,
    suspensions,
    transits,
)
from ..store.tables import (
    daily_circulation as dc,
)
from .context import SEOUL, Clock

MAX_DAYS = 366
CLOSED_DAY_TTL = 3600.0  # seconds a closed day's figures are reused
LIVE_TTL = 5.0  # seconds today's figures may be reused while writes go on


def _utc_bounds(since: date, until: date) -> tuple[datetime, datetime]:
    """Seoul calendar days [since, until] as naive-UTC datetimes [start, end)."""
    start = datetime.combine(since, time(), SEOUL).astimezone(UTC).replace(tzinfo=None)
    end = datetime.combine(until + timedelta(days=1), time(), SEOUL).astimezone(UTC)
    return start, end.replace(tzinfo=None)


def _next_prefix(text: str) -> str:
    """The smallest string greater than every string starting with `text`."""
    return text[:-1] + chr(ord(text[-1]) + 1)


class Statistics:
    def __init__(self, db: Database, clock: Clock):
        self.db = db
        self.clock = clock
        self._cache: dict[date, tuple[float, dict[str, list[int]]]] = {}
        self._summaries: dict[tuple[date, date], tuple[float, dict[str, Any]]] = {}
        self._libs: tuple[float, dict[str, tuple[str, str, str]]] = (0.0, {})
        self._today: tuple[date, Any, float, dict[str, Any]] | None = None
        self._lock = threading.Lock()

    # -- scope -------------------------------------------------------------------------
    @staticmethod
    def _library_codes(region: str | None, library: str | None):  # noqa: ANN205
        """A selectable of the library codes in scope, or None for the whole network."""
        if library:
            return [library]
        if region:
            return select(libraries.c.code).where(libraries.c.region_code == region)
        return None

    def period(self, days: int = 30) -> tuple[date, date]:
        today = self.clock.today()
        return today - timedelta(days=max(1, min(days, MAX_DAYS)) - 1), today

    def _seoul_day(self, column):  # noqa: ANN001, ANN202
        """The Seoul calendar day of a naive-UTC timestamp (Korea keeps UTC+9 all year)."""
        if self.db.is_sqlite:
            return func.date(column, "+9 hours")
        return func.date(column + text("interval '9 hours'"))

    # -- daily figures per library --------------------------------------------------------
    def _days(self, conn, lo: date, hi: date) -> dict[date, dict[str, list[int]]]:  # noqa: ANN001
        """{day: {library: [loans, returns, loans to members from elsewhere]}} for
        [lo, hi], from the daily counters the circulation service keeps."""
        out: dict[date, dict[str, list[int]]] = {
            lo + timedelta(days=i): {} for i in range((hi - lo).days + 1)}
        rows = conn.execute(
            select(dc.c.library_code, dc.c.day, dc.c.loans, dc.c.returns, dc.c.loans_elsewhere)
            .where(dc.c.day >= lo, dc.c.day <= hi))
        for code, day, n_loans, n_returns, n_elsewhere in rows:
            out.setdefault(_as_date(day), {})[code] = [n_loans, n_returns, n_elsewhere]
        return out

    def _closed_days(self, since: date, end: date) -> dict[date, dict[str, list[int]]]:
        """Figures of closed days (before today), from a per-process cache: they no
        longer change except by a rare offline replay, so entries live CLOSED_DAY_TTL."""
        now = time_.monotonic()
        days = [since + timedelta(days=i) for i in range((end - since).days + 1)]
        missing = [d for d in days if (hit := self._cache.get(d)) is None or hit[0] < now]
        if missing:
            with self.db.read() as conn:
                fresh = self._days(conn, min(missing), max(missing))
            with self._lock:
                for day, per_library in fresh.items():
                    self._cache[day] = (now + CLOSED_DAY_TTL, per_library)
        return {d: self._cache[d][1] if d in self._cache else {} for d in days}

    def _library_regions(self) -> dict[str, tuple[str, str, str]]:
        """code -> (name, region, status), cached for a few seconds."""
        now = time_.monotonic()
        if self._libs[0] < now:
            with self.db.read() as conn:
                rows = conn.execute(select(libraries.c.code, libraries.c.name,
                                           libraries.c.region_code, libraries.c.status)).all()
            self._libs = (now + LIVE_TTL, {r.code: (r.name, r.region_code, r.status)
                                           for r in rows})
        return self._libs[1]

    @staticmethod
    def _roll_up(cells: dict[str, list[int]], libs: dict[str, tuple[str, str, str]]
                 ) -> tuple[list[int], dict[str, list[int]]]:
        total, per_region = [0, 0, 0], {}
        for code, cell in cells.items():
            region = libs[code][1] if code in libs else ""
            acc = per_region.setdefault(region, [0, 0, 0])
            for i in range(3):
                total[i] += cell[i]
                acc[i] += cell[i]
        return total, per_region

    def _closed_summary(self, since: date, end: date) -> dict[str, Any]:
        """Per-day totals (network and per region) and per-library sums of a closed
        range, cached per range: the usual dashboard view costs one dictionary look-up."""
        key = (since, end)
        now = time_.monotonic()
        hit = self._summaries.get(key)
        if hit and hit[0] > now:
            return hit[1]
        libs = self._library_regions()
        figures = self._closed_days(since, end) if since <= end else {}
        per_day, per_library = {}, {}
        for day, cells in figures.items():
            per_day[day] = (*self._roll_up(cells, libs), cells)
            for code, cell in cells.items():
                acc = per_library.setdefault(code, [0, 0, 0])
                for i in range(3):
                    acc[i] += cell[i]
        summary = {"per_day": per_day, "per_library": per_library}
        with self._lock:
            if len(self._summaries) > 64:
                self._summaries.clear()
            self._summaries[key] = (now + CLOSED_DAY_TTL, summary)
        return summary

    def _live(self, today: date) -> dict[str, Any]:
        """Today's figures, suspensions and transits: read again when anything was
        written since (the audit trail's highest id) and at least LIVE_TTL passed."""
        now = time_.monotonic()
        with self.db.read() as conn:
            mark = conn.scalar(select(func.max(audit_log.c.id)))
            hit = self._today
            if hit and hit[0] == today and (hit[1] == mark or hit[2] > now):
                return hit[3]
            cells = self._days(conn, today, today).get(today, {})
            suspended = conn.execute(
                select(suspensions.c.library_code, suspensions.c.member_id)
                .where(suspensions.c.ends_on >= today, suspensions.c.lifted_at.is_(None))
            ).all()
            transit_rows = conn.execute(
                select(transits.c.from_library, transits.c.to_library, transits.c.state)
                .where(transits.c.state.in_(("received", "sent")))).all()
        live = {"cells": cells, "suspended": suspended, "transits": transit_rows}
        self._today = (today, mark, now + LIVE_TTL, live)
        return live

    # -- dashboard ---------------------------------------------------------------------
    def dashboard(self, since: date, until: date, region: str | None = None,
                  library: str | None = None, top: int = 20) -> dict[str, Any]:
        today = self.clock.today()
        if until < since:
            since, until = until, since
        if (until - since).days >= MAX_DAYS:
            since = until - timedelta(days=MAX_DAYS - 1)
        until = min(until, today)
        since = min(since, until)
        libs = self._library_regions()
        closed = self._closed_summary(since, min(until, today - timedelta(days=1)))
        live = self._live(today)

        def in_scope(code: str) -> bool:
            if library:
                return code == library
            if region:
                return code in libs and libs[code][1] == region
            return True

        def day_figures(total: list[int], per_region: dict, cells: dict) -> list[int]:
            if library:
                return cells.get(library, [0, 0, 0])
            if region:
                return per_region.get(region, [0, 0, 0])
            return total

        per_day = []
        totals = [0, 0, 0]
        days = dict(closed["per_day"])
        if until >= today:
            days[today] = (*self._roll_up(live["cells"], libs), live["cells"])
        for day in sorted(days):
            n, returned, other = day_figures(*days[day])
            totals = [totals[0] + n, totals[1] + returned, totals[2] + other]
            per_day.append({"day": day.isoformat(), "loans": n, "returns": returned})
        per_library = {code: cell[0] for code, cell in closed["per_library"].items()
                       if cell[0] and in_scope(code)}
        if until >= today:
            for code, cell in live["cells"].items():
                if cell[0] and in_scope(code):
                    per_library[code] = per_library.get(code, 0) + cell[0]
        per_region: dict[str, int] = {}
        for code, n in per_library.items():
            reg = libs[code][1] if code in libs else ""
            per_region[reg] = per_region.get(reg, 0) + n
        with self.db.read() as conn:
            region_names = dict(conn.execute(select(regions.c.code, regions.c.name)).all())
        suspended = {m for code, m in live["suspended"] if in_scope(code)}
        transit_counts = {"received": 0, "sent": 0}
        for frm, to, state in live["transits"]:
            if in_scope(frm) or in_scope(to):
                transit_counts[state] += 1
        stage_counts: dict[str, int] = {}
        for code, (_, _, status) in libs.items():
            if in_scope(code):
                stage_counts[status] = stage_counts.get(status, 0) + 1
        ranked = sorted(
            ({"code": code, "name": libs[code][0] if code in libs else code,
              "region": libs[code][1] if code in libs else "", "loans": n}
             for code, n in per_library.items()), key=lambda x: (-x["loans"], x["code"]))
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
            "active_suspensions": len(suspended),
            "transits": {**transit_counts, "total": sum(transit_counts.values())},
            "stages": [{"stage": str(s), "label": STAGE_LABELS[s],
                        "count": stage_counts.get(str(s), 0)}
                       for s in [*STAGE_ORDER, Stage.SUSPENDED]],
        }

    # -- member look-ups ------------------------------------------------------------------
    def find_member_numbers(self, query: str, *, library: str | None = None,
                            region: str | None = None, limit: int = 20) -> list[str]:
        """Numbers of members whose number or name starts with `query`, in scope."""
        text = query.strip()
        if not text:
            return []
        if text.isdigit():
            column = members.c.number
        else:
            column = members.c.name
        cond = and_(column >= text, column < _next_prefix(text), column.startswith(text))
        q = select(members.c.number).where(cond)
        if library:
            q = q.where(exists().where(memberships.c.member_id == members.c.id,
                                       memberships.c.library_code == library))
        elif region:
            q = q.where(exists().where(
                memberships.c.member_id == members.c.id,
                memberships.c.library_code.in_(
                    select(libraries.c.code).where(libraries.c.region_code == region))))
        with self.db.read() as conn:
            return list(conn.scalars(q.order_by(column, members.c.number).limit(limit)))

    def member_in_scope(self, number: str, *, library: str | None = None,
                        region: str | None = None) -> bool:
        """Has the member joined the library (or any library of the region)?"""
        q = (select(func.count()).select_from(memberships)
             .join(members, members.c.id == memberships.c.member_id)
             .where(members.c.number == number))
        if library:
            q = q.where(memberships.c.library_code == library)
        elif region:
            q = q.where(memberships.c.library_code.in_(
                select(libraries.c.code).where(libraries.c.region_code == region)))
        with self.db.read() as conn:
            return bool(conn.scalar(q))

    def library_region(self, code: str) -> str | None:
        with self.db.read() as conn:
            return conn.scalar(select(libraries.c.region_code).where(libraries.c.code == code))

    def library_names(self, codes: list[str] | None = None) -> dict[str, str]:
        q = select(libraries.c.code, libraries.c.name)
        if codes is not None:
            q = q.where(libraries.c.code.in_(codes))
        with self.db.read() as conn:
            return dict(conn.execute(q).all())


def _as_date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])
