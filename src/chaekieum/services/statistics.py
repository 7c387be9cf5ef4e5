"""Read-only statistics and look-ups behind the staff console (dashboard, member search).

Every query is bounded: dashboards aggregate over a date range through the index on
loans(library_code, loaned_on) (a region or library filter turns into an IN over
library codes, which that index serves directly), and member search is a prefix *range*
on the indexed number / name columns (a `LIKE 'x%'` does not use the index on SQLite
and only with text_pattern_ops on PostgreSQL), always with a LIMIT.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import and_, exists, func, select, text

from ..domain.onboarding import LABELS as STAGE_LABELS
from ..domain.onboarding import ORDER as STAGE_ORDER
from ..domain.onboarding import Stage
from ..store.db import Database
from ..store.tables import libraries, loans, members, memberships, regions, suspensions, transits
from .context import SEOUL, Clock

MAX_DAYS = 366


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

    # -- dashboard ---------------------------------------------------------------------
    def dashboard(self, since: date, until: date, region: str | None = None,
                  library: str | None = None, top: int = 20) -> dict[str, Any]:
        if until < since:
            since, until = until, since
        if (until - since).days >= MAX_DAYS:
            since = until - timedelta(days=MAX_DAYS - 1)
        scope = self._library_codes(region, library)
        start, end = _utc_bounds(since, until)
        with self.db.read() as conn:
            loan_filter = [loans.c.loaned_on >= since, loans.c.loaned_on <= until]
            if scope is not None:
                loan_filter.append(loans.c.library_code.in_(scope))
            per_day_loans = dict(conn.execute(
                select(loans.c.loaned_on, func.count()).where(*loan_filter)
                .group_by(loans.c.loaned_on)).all())
            ret_filter = [loans.c.returned_at >= start, loans.c.returned_at < end,
                          loans.c.state == "returned"]
            if scope is not None:
                ret_filter.append(loans.c.return_library.in_(scope))
            seoul_day = self._seoul_day(loans.c.returned_at)
            per_day_returns = {
                _as_date(day): n for day, n in conn.execute(
                    select(seoul_day, func.count()).where(*ret_filter).group_by(seoul_day))}
            per_library_rows = conn.execute(
                select(loans.c.library_code, func.count().label("n")).where(*loan_filter)
                .group_by(loans.c.library_code)).all()
            lib_rows = conn.execute(select(libraries.c.code, libraries.c.name,
                                           libraries.c.region_code, libraries.c.status)).all()
            region_names = dict(conn.execute(select(regions.c.code, regions.c.name)).all())
            elsewhere = conn.scalar(
                select(func.count()).select_from(loans)
                .join(members, members.c.id == loans.c.member_id)
                .where(*loan_filter, members.c.issuing_library != loans.c.library_code)) or 0
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
        days = [since + timedelta(days=i) for i in range((until - since).days + 1)]
        total_loans = sum(per_day_loans.values())
        per_region: dict[str, int] = {}
        for code, n in per_library_rows:
            lib = libs.get(code)
            if lib is not None:
                per_region[lib.region_code] = per_region.get(lib.region_code, 0) + n
        stage_counts: dict[str, int] = {}
        for r in lib_rows:
            if (library and r.code != library) or (region and r.region_code != region):
                continue
            stage_counts[r.status] = stage_counts.get(r.status, 0) + 1
        per_library = sorted(
            ({"code": code, "name": libs[code].name if code in libs else code,
              "region": libs[code].region_code if code in libs else "", "loans": n}
             for code, n in per_library_rows), key=lambda x: (-x["loans"], x["code"]))
        return {
            "since": since.isoformat(), "until": until.isoformat(),
            "region": region, "library": library,
            "per_day": [{"day": d.isoformat(), "loans": per_day_loans.get(d, 0),
                         "returns": per_day_returns.get(d, 0)} for d in days],
            "per_region": [{"region": code, "name": region_names.get(code, code), "loans": n}
                           for code, n in sorted(per_region.items(), key=lambda x: -x[1])],
            "per_library": per_library[:top] if top else per_library,
            "per_library_total": len(per_library),
            "elsewhere": {"loans": total_loans, "elsewhere": elsewhere,
                          "share": round(100.0 * elsewhere / total_loans, 1) if total_loans
                          else 0.0},
            "totals": {"loans": total_loans, "returns": sum(per_day_returns.values())},
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
