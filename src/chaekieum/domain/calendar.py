"""Library opening calendar: closed weekdays, extra closed dates, public holidays.

Holidays are injected as a container of dates so the domain stays free of I/O and of
the `holidays` package (the service layer builds it).
"""

from __future__ import annotations

from collections.abc import Container
from dataclasses import dataclass, field
from datetime import date, timedelta

MAX_LOOKAHEAD_DAYS = 366


@dataclass(frozen=True)
class LibraryCalendar:
    closed_weekdays: frozenset[int] = frozenset()  # 0 = Monday ... 6 = Sunday
    closed_dates: frozenset[date] = frozenset()
    holidays: Container[date] = field(default_factory=frozenset)

    def is_open(self, day: date) -> bool:
        return (
            day.weekday() not in self.closed_weekdays
            and day not in self.closed_dates
            and day not in self.holidays
        )

    def next_open_day(self, day: date) -> date:
        """`day` itself if open, else the first open day after it."""
        for offset in range(MAX_LOOKAHEAD_DAYS):
            candidate = day + timedelta(days=offset)
            if self.is_open(candidate):
                return candidate
        return day  # a library closed all year: keep the nominal date rather than loop

    def closed_days_between(self, start: date, end: date) -> int:
        """Closed days in the half-open interval (start, end]."""
        if end <= start:
            return 0
        return sum(
            1 for n in range(1, (end - start).days + 1) if not self.is_open(start + timedelta(n))
        )


def parse_weekdays(text: str | None) -> frozenset[int]:
    """'0,6' -> {0, 6}; stored compactly in the library row."""
    if not text:
        return frozenset()
    return frozenset(int(p) for p in text.split(",") if p.strip() != "")


def format_weekdays(days: frozenset[int] | set[int] | list[int]) -> str:
    return ",".join(str(d) for d in sorted(set(days)))
