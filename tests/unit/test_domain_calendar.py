"""Library opening calendar (docs/domain.md section 5: due dates skip closed days)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chaekieum.domain.calendar import (
    MAX_LOOKAHEAD_DAYS,
    LibraryCalendar,
    format_weekdays,
    parse_weekdays,
)

MON, TUE, WED, THU, FRI, SAT, SUN = range(7)
# 2026-03-02 is a Monday.
MONDAY = date(2026, 3, 2)
WEDNESDAY = date(2026, 3, 4)
SUNDAY = date(2026, 3, 8)
CHUSEOK_2026 = frozenset({date(2026, 9, 24), date(2026, 9, 25), date(2026, 9, 26)})

weekday_sets = st.frozensets(st.integers(0, 6), max_size=6)  # at least one open weekday
days = st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 12, 31))


def test_dates_used_here_have_the_expected_weekdays():
    assert MONDAY.weekday() == MON
    assert WEDNESDAY.weekday() == WED
    assert SUNDAY.weekday() == SUN


def test_default_calendar_is_always_open():
    cal = LibraryCalendar()
    for n in range(14):
        assert cal.is_open(MONDAY + timedelta(n))


def test_closed_weekdays():
    cal = LibraryCalendar(closed_weekdays=frozenset({MON}))
    assert not cal.is_open(MONDAY)
    assert cal.is_open(MONDAY + timedelta(1))
    assert not cal.is_open(MONDAY + timedelta(7))


def test_extra_closed_dates():
    cal = LibraryCalendar(closed_dates=frozenset({WEDNESDAY}))
    assert not cal.is_open(WEDNESDAY)
    assert cal.is_open(WEDNESDAY + timedelta(7))  # a single date, not the weekday


def test_injected_holidays():
    cal = LibraryCalendar(holidays=CHUSEOK_2026)
    for day in CHUSEOK_2026:
        assert not cal.is_open(day)
    assert cal.is_open(date(2026, 9, 23))
    assert cal.is_open(date(2026, 9, 27))


def test_holidays_accept_any_container():
    class EveryFirstOfMonth:
        def __contains__(self, day: object) -> bool:
            return isinstance(day, date) and day.day == 1

    cal = LibraryCalendar(holidays=EveryFirstOfMonth())
    assert not cal.is_open(date(2026, 5, 1))
    assert cal.is_open(date(2026, 5, 2))
    assert cal.next_open_day(date(2026, 5, 1)) == date(2026, 5, 2)


def test_next_open_day_is_the_day_itself_when_open():
    cal = LibraryCalendar(closed_weekdays=frozenset({MON}))
    assert cal.next_open_day(WEDNESDAY) == WEDNESDAY


def test_next_open_day_skips_closed_weekday():
    cal = LibraryCalendar(closed_weekdays=frozenset({MON}))
    assert cal.next_open_day(MONDAY) == MONDAY + timedelta(1)


def test_next_open_day_skips_a_run_of_closures():
    # Chuseok Thu-Sat, closed Sundays and Mondays: from Thursday the next open day is Tuesday.
    cal = LibraryCalendar(closed_weekdays=frozenset({SUN, MON}), holidays=CHUSEOK_2026)
    assert date(2026, 9, 24).weekday() == THU
    assert cal.next_open_day(date(2026, 9, 24)) == date(2026, 9, 29)


def test_next_open_day_combines_all_three_sources():
    cal = LibraryCalendar(
        closed_weekdays=frozenset({MON}),
        closed_dates=frozenset({MONDAY + timedelta(1)}),
        holidays=frozenset({MONDAY + timedelta(2)}),
    )
    assert cal.next_open_day(MONDAY) == MONDAY + timedelta(3)


def test_library_closed_all_week_keeps_nominal_date():
    cal = LibraryCalendar(closed_weekdays=frozenset(range(7)))
    assert cal.next_open_day(WEDNESDAY) == WEDNESDAY


def test_lookahead_is_bounded_to_a_year():
    closed = frozenset(WEDNESDAY + timedelta(n) for n in range(MAX_LOOKAHEAD_DAYS))
    cal = LibraryCalendar(closed_dates=closed)
    assert cal.next_open_day(WEDNESDAY) == WEDNESDAY  # gives up: keeps the nominal date
    almost = frozenset(WEDNESDAY + timedelta(n) for n in range(MAX_LOOKAHEAD_DAYS - 1))
    cal2 = LibraryCalendar(closed_dates=almost)
    assert cal2.next_open_day(WEDNESDAY) == WEDNESDAY + timedelta(MAX_LOOKAHEAD_DAYS - 1)


@given(weekday_sets, st.frozensets(days, max_size=20), days)
def test_next_open_day_properties(closed_weekdays, closed_dates, day):
    cal = LibraryCalendar(closed_weekdays=closed_weekdays, closed_dates=closed_dates)
    nxt = cal.next_open_day(day)
    assert nxt >= day
    assert cal.is_open(nxt)
    for n in range((nxt - day).days):
        assert not cal.is_open(day + timedelta(n))  # nothing open was skipped
    assert cal.next_open_day(nxt) == nxt  # idempotent


# --- closed_days_between: the half-open interval (start, end] -------------------------------

def test_closed_days_between_excludes_start_includes_end():
    cal = LibraryCalendar(closed_weekdays=frozenset({MON}))
    assert cal.closed_days_between(MONDAY, MONDAY + timedelta(1)) == 0  # start is excluded
    assert cal.closed_days_between(MONDAY - timedelta(1), MONDAY) == 1  # end is included
    assert cal.closed_days_between(MONDAY - timedelta(7), MONDAY) == 1
    assert cal.closed_days_between(MONDAY - timedelta(8), MONDAY) == 2


def test_closed_days_between_empty_or_reversed_interval():
    cal = LibraryCalendar(closed_weekdays=frozenset(range(7)))
    assert cal.closed_days_between(WEDNESDAY, WEDNESDAY) == 0
    assert cal.closed_days_between(WEDNESDAY, WEDNESDAY - timedelta(5)) == 0


def test_closed_days_between_counts_each_closed_day_once():
    # A holiday that falls on a closed weekday is still one day.
    cal = LibraryCalendar(
        closed_weekdays=frozenset({MON}),
        closed_dates=frozenset({MONDAY}),
        holidays=frozenset({MONDAY, WEDNESDAY}),
    )
    assert cal.closed_days_between(MONDAY - timedelta(1), WEDNESDAY) == 2


def test_closed_days_between_two_weeks_of_mondays_and_sundays():
    cal = LibraryCalendar(closed_weekdays=frozenset({SUN, MON}))
    assert cal.closed_days_between(WEDNESDAY, WEDNESDAY + timedelta(14)) == 4


@given(weekday_sets, st.frozensets(days, max_size=20), days, st.integers(0, 60))
def test_closed_days_between_matches_count(closed_weekdays, closed_dates, start, length):
    cal = LibraryCalendar(closed_weekdays=closed_weekdays, closed_dates=closed_dates)
    end = start + timedelta(length)
    expected = sum(1 for n in range(1, length + 1) if not cal.is_open(start + timedelta(n)))
    assert cal.closed_days_between(start, end) == expected
    assert 0 <= cal.closed_days_between(start, end) <= length


@given(weekday_sets, days, st.integers(0, 30), st.integers(0, 30))
def test_closed_days_between_is_additive(closed_weekdays, start, a, b):
    cal = LibraryCalendar(closed_weekdays=closed_weekdays)
    mid, end = start + timedelta(a), start + timedelta(a + b)
    assert cal.closed_days_between(start, end) == (
        cal.closed_days_between(start, mid) + cal.closed_days_between(mid, end)
    )


# --- weekday text ---------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (None, frozenset()),
        ("", frozenset()),
        ("0", frozenset({0})),
        ("0,6", frozenset({0, 6})),
        ("6,0", frozenset({0, 6})),
        ("0, 6", frozenset({0, 6})),
        ("0,,6,", frozenset({0, 6})),
        ("1,1", frozenset({1})),
    ],
)
def test_parse_weekdays(text, expected):
    assert parse_weekdays(text) == expected


@pytest.mark.parametrize(
    ("days_", "expected"),
    [(frozenset(), ""), ({6, 0}, "0,6"), ([3, 1, 3], "1,3"), (frozenset(range(7)), "0,1,2,3,4,5,6")],
)
def test_format_weekdays(days_, expected):
    assert format_weekdays(days_) == expected


@given(st.frozensets(st.integers(0, 6)))
def test_weekdays_round_trip(weekdays):
    assert parse_weekdays(format_weekdays(weekdays)) == weekdays
