"""Read-only statistics and look-ups behind the staff console (dashboard, member search).

Every query is bounded. Dashboards add up per-library daily figures: loans by index
seeks on loans(library_code, loaned_on) (an IN over the library codes lets the index
serve a date range without a full scan), returns from the audit trail's index on `at`
(loans has no index on returned_at). Days before today no longer change, so their
figures are cached per process; only today is read live, which keeps a national
dashboard fast on a large network after its first view. Member search is a prefix
*range* on the indexed number / name columns (a `LIKE 'x%'` does not use the index on
SQLite and only with text_pattern_ops on PostgreSQL), always with a LIMIT.
"""

from __future__ import annotations

import threading
import time as time_
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import and_, case, exists, func, select, text

from ..domain.onboarding import LABELS as STAGE_LABELS
from ..domain.onboarding import ORDER as STAGE_ORDER
from ..domain.onboarding import Stage
from ..store.db import Database
from ..store.tables import (
    audit_log,
    libraries,
    loans,
    members,
    memberships,
    regions,
    suspensions,
    transits,
)
from .context import SEOUL, Clock

MAX_DAYS = 366
CLOSED_DAY_TTL = 3600.0  # seconds a closed day's figures are reused


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
        [lo, hi]. Loans come from loans(library_code, loaned_on) by index seeks (the IN
        over library codes lets the index serve a date range without a full scan);
        returns from the audit trail's index on `at` (loans has no index on returned_at),
        net of same-day undos."""
        out: dict[date, dict[str, list[int]]] = {
            lo + timedelta(days=i): {} for i in range((hi - lo).days + 1)}
        elsewhere = func.sum(case((members.c.issuing_library != loans.c.library_code, 1),
                                  else_=0))
        rows = conn.execute(
            select(loans.c.library_code, loans.c.loaned_on, func.count(), elsewhere)
            .join(members, members.c.id == loans.c.member_id)
            .where(loans.c.library_code.in_(select(libraries.c.code)),
                   loans.c.loaned_on >= lo, loans.c.loaned_on <= hi,
                   loans.c.state != "undone")
            .group_by(loans.c.library_code, loans.c.loaned_on))
        for code, day, n, other in rows:
            cell = out.setdefault(_as_date(day), {}).setdefault(code, [0, 0, 0])
            cell[0] += n
            cell[2] += int(other or 0)
        start, end = _utc_bounds(lo, hi)
        seoul_day = self._seoul_day(audit_log.c.at)
        rows = conn.execute(
            select(audit_log.c.library_code, seoul_day, audit_log.c.action, func.count())
            .where(audit_log.c.at >= start, audit_log.c.at < end,
                   audit_log.c.action.in_(("loan.checkin", "loan.undo_checkin")))
            .group_by(audit_log.c.library_code, seoul_day, audit_log.c.action))
        for code, day, action, n in rows:
            if code is None:
                continue
            cell = out.setdefault(_as_date(day), {}).setdefault(code, [0, 0, 0])
            cell[1] += n if action == "loan.checkin" else -n
        return out

    def _figures(self, since: date, until: date) -> dict[date, dict[str, list[int]]]:
        """Closed days come from a per-process cache (they no longer change, except by a
        rare offline replay: entries are refreshed after CLOSED_DAY_TTL); today is live."""
        today = self.clock.today()
        now = time_.monotonic()
        days = [since + timedelta(days=i) for i in range((until - since).days + 1)]
        closed = [d for d in days if d < today]
        missing = [d for d in closed if (hit := self._cache.get(d)) is None or hit[0] < now]
        result: dict[date, dict[str, list[int]]] = {}
        with self.db.read() as conn:
            if missing:
                fresh = self._days(conn, min(missing), max(missing))
                with self._lock:
                    for day, per_library in fresh.items():
                        self._cache[day] = (now + CLOSED_DAY_TTL, per_library)
            if until >= today:
                result.update(self._days(conn, max(since, today), today))
        for day in closed:
            hit = self._cache.get(day)
            result[day] = hit[1] if hit else {}
        return result

    # -- dashboard ---------------------------------------------------------------------
    def dashboard(self, since: date, until: date, region: str | None = None,
                  library: str | None = None, top: int = 20) -> dict[str, Any]:
        if until < since:
            since, until = until, since
        if (until - since).days >= MAX_DAYS:
            since = until - timedelta(days=MAX_DAYS - 1)
        until = min(until, self.clock.today() + timedelta(days=1))
        since = min(since, until)
        scope = self._library_codes(region, library)
        figures = self._figures(since, until)
        with self.db.read() as conn:
            lib_rows = conn.execute(select(libraries.c.code, libraries.c.name,
                                           libraries.c.region_code, libraries.c.status)).all()
            region_names = dict(conn.execute(select(regions.c.code, regions.c.name)).all())
            susp_filter = [suspensions.c.ends_on >= self.clock.today(),
                           suspensions.c.lifted_at.is_(None)]
            if scope is not None:
                susp_filter.append(suspensions.c.library_code.in_(scope))
            active_suspensions = conn.scalar(
                select(func.count(func.distinct(suspensions.c.member_id))).where(*susp_filter))
            tr_filter = [transits.c.state != "home"]
            if scope is not None:
                tr_filter.append(transits.c.from_library.in_(scope)
                                 | transits.c.to_library.in_(scope))
            transit_counts = dict(conn.execute(
                select(transits.c.state, func.count()).where(*tr_filter)
                .group_by(transits.c.state)).all())
        libs = {r.code: r for r in lib_rows}

        def in_scope(code: str) -> bool:
            if library:
                return code == library
            if region:
                lib = libs.get(code)
                return lib is not None and lib.region_code == region
            return True

        per_day, per_library, per_region = [], {}, {}
        total_loans = total_returns = total_elsewhere = 0
        for day in sorted(figures):
            day_loans = day_returns = 0
            for code, (n, returned, other) in figures[day].items():
                if not in_scope(code):
                    continue
                day_loans += n
                day_returns += returned
                total_elsewhere += other
                if n:
                    per_library[code] = per_library.get(code, 0) + n
                    reg = libs[code].region_code if code in libs else ""
                    per_region[reg] = per_region.get(reg, 0) + n
            total_loans += day_loans
            total_returns += day_returns
            per_day.append({"day": day.isoformat(), "loans": day_loans, "returns": day_returns})
        stage_counts: dict[str, int] = {}
        for r in lib_rows:
            if in_scope(r.code):
                stage_counts[r.status] = stage_counts.get(r.status, 0) + 1
        ranked = sorted(
            ({"code": code, "name": libs[code].name if code in libs else code,
              "region": libs[code].region_code if code in libs else "", "loans": n}
             for code, n in per_library.items()), key=lambda x: (-x["loans"], x["code"]))
        return {
            "since": since.isoformat(), "until": until.isoformat(),
            "region": region, "library": library,
            "per_day": per_day,
            "per_region": [{"region": code, "name": region_names.get(code, code), "loans": n}
                           for code, n in sorted(per_region.items(), key=lambda x: -x[1])],
            "per_library": ranked[:top] if top else ranked,
            "per_library_total": len(ranked),
            "elsewhere": {"loans": total_loans, "elsewhere": total_elsewhere,
                          "share": round(100.0 * total_elsewhere / total_loans, 1)
                          if total_loans else 0.0},
            "totals": {"loans": total_loans, "returns": total_returns},
            "active_suspensions": active_suspensions or 0,
            "transits": {"received": transit_counts.get("received", 0),
                         "sent": transit_counts.get("sent", 0),
                         "total": sum(transit_counts.values())},
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
