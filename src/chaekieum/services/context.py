"""Who is acting, through which channel, and what time it is."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

# Re-exported: the values moved to the domain so adapters can use them without services.
from ..domain.actors import (  # noqa: E402, F401
    CONSOLE_ROLES,
    SEOUL,
    STAFF_ROLES,
    SYSTEM,
    Actor,
    Role,
)


class Clock:
    """Wall clock; timestamps are naive UTC, business dates are Seoul dates."""

    def now(self) -> datetime:
        return datetime.now(UTC).replace(tzinfo=None)

    def today(self) -> date:
        return local_date(self.now())


class FixedClock(Clock):
    """A clock tests (and the demo loader) can set and move."""

    def __init__(self, at: datetime):
        self._at = at

    def now(self) -> datetime:
        return self._at

    def advance(self, **delta: float) -> None:
        self._at += timedelta(**delta)

    def set(self, at: datetime) -> None:
        self._at = at


def local_date(utc_naive: datetime) -> date:
    return utc_naive.replace(tzinfo=UTC).astimezone(SEOUL).date()


def to_utc_naive(moment: datetime) -> datetime:
    """Accept an aware or naive (assumed Seoul) datetime from a client."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=SEOUL)
    return moment.astimezone(UTC).replace(tzinfo=None)
