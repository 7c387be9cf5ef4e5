"""Read-mostly network data (libraries, policies, calendars) with a small cache.

Circulation reads a library's region, status, calendar and policy on every request;
these change rarely, so each process caches them for a few seconds and drops its cache
at once when it changes them itself.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

import holidays
from sqlalchemy import Connection, bindparam, select

from ..domain import policy as policy_rules
from ..domain.calendar import LibraryCalendar, parse_weekdays
from ..domain.errors import Code, DomainError
from ..store.db import Database
from ..store.tables import libraries, library_closed_dates, policies

CACHE_SECONDS = 5.0
# statements built once (SQLAlchemy's compiled cache then serves each call)
_LIBRARY = select(libraries).where(libraries.c.code == bindparam("code"))
_CLOSED_DAYS = select(library_closed_dates.c.day).where(
    library_closed_dates.c.library_code == bindparam("code"))
# every policy layer that applies at a library
_LAYERS = select(policies.c.level, policies.c.scope, policies.c.member_class,
                 policies.c.settings).where(
    ((policies.c.level == "national") & (policies.c.scope == ""))
    | ((policies.c.level == "region") & (policies.c.scope == bindparam("region")))
    | ((policies.c.level == "library") & (policies.c.scope == bindparam("library"))))


@dataclass(frozen=True)
class LibraryInfo:
    code: str
    name: str
    region_code: str
    status: str
    calendar: LibraryCalendar


class KoreanHolidays:
    """Korean public holidays (incl. substitute days) from the `holidays` package."""

    def __init__(self) -> None:
        self._calendar = holidays.KR()

    def __contains__(self, day: object) -> bool:
        return isinstance(day, date) and day in self._calendar


class Registry:
    def __init__(self, db: Database):
        self.db = db
        self.holidays = KoreanHolidays()
        self._lock = threading.Lock()
        self._libraries: dict[str, tuple[float, LibraryInfo]] = {}
        self._policies: dict[tuple[str, str], tuple[float, policy_rules.Policy]] = {}

    def invalidate(self) -> None:
        with self._lock:
            self._libraries.clear()
            self._policies.clear()

    # -- libraries ---------------------------------------------------------------
    def library(self, code: str, conn: Connection | None = None) -> LibraryInfo:
        hit = self._libraries.get(code)
        if hit and hit[0] > time.monotonic():
            return hit[1]
        info = self._load_library(code, conn)
        with self._lock:
            self._libraries[code] = (time.monotonic() + CACHE_SECONDS, info)
        return info

    def _load_library(self, code: str, conn: Connection | None) -> LibraryInfo:
        if conn is None:
            with self.db.read() as c:
                return self._load_library(code, c)
        row = conn.execute(_LIBRARY, {"code": code}).first()
        if row is None:
            raise DomainError(Code.LIBRARY_UNKNOWN, library_code=code)
        closed = conn.scalars(_CLOSED_DAYS, {"code": code}).all()
        calendar = LibraryCalendar(
            closed_weekdays=parse_weekdays(row.closed_weekdays),
            closed_dates=frozenset(closed),
            holidays=self.holidays,
        )
        return LibraryInfo(row.code, row.name, row.region_code, row.status, calendar)

    # -- policies ----------------------------------------------------------------
    def policy(self, library_code: str, member_class: str = "",
               conn: Connection | None = None) -> policy_rules.Policy:
        """The effective policy. Pass the caller's connection when inside a transaction:
        taking a second pooled connection there can exhaust the pool under load."""
        key = (library_code, member_class)
        hit = self._policies.get(key)
        if hit and hit[0] > time.monotonic():
            return hit[1]
        if conn is None:
            with self.db.read() as own:
                return self.policy(library_code, member_class, own)
        lib = self.library(library_code, conn)
        rows = conn.execute(_LAYERS, {"region": lib.region_code,
                                      "library": library_code}).all()
        resolved = policy_rules.resolve(cascade_layers(rows, member_class))
        with self._lock:
            self._policies[key] = (time.monotonic() + CACHE_SECONDS, resolved)
        return resolved


_LEVEL_ORDER = {"national": 0, "region": 1, "library": 2}


def cascade_layers(rows, member_class: str) -> list[Mapping[str, Any]]:  # noqa: ANN001
    """national -> region -> library, then the class overrides in the same order."""
    general = sorted((r for r in rows if r.member_class == ""), key=lambda r: _LEVEL_ORDER[r.level])
    layers: list[Mapping[str, Any]] = [_layer(r) for r in general]
    if member_class:
        layers.append(policy_rules.CLASS_DEFAULTS.get(member_class, {}))
        specific = sorted(
            (r for r in rows if r.member_class == member_class),
            key=lambda r: _LEVEL_ORDER[r.level],
        )
        layers.extend(_layer(r) for r in specific)
    return layers


def _layer(row) -> Mapping[str, Any]:  # noqa: ANN001
    return policy_rules.effective_layer(row.level, row.member_class, row.settings)
