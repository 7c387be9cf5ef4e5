"""대출정지 after a late return (docs/domain.md section 5).

d = return date - due date (closed days excluded unless the policy counts them);
days = (d + add1) x weight + add2, optional cap (0 = none). Mode "sum": a running
suspension is extended by the new days, else it ends on return date + days - 1.
Mode "max": end = max(current end, return date + days - 1). End dates are inclusive.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from chaekieum.domain.calendar import LibraryCalendar
from chaekieum.domain.policy import Policy, SuspensionMode, resolve
from chaekieum.domain.suspension import (
    Earned,
    days_late,
    ends_after,
    is_suspended,
    suspension_days,
    suspension_end,
)

MON, TUE, WED, THU, FRI, SAT, SUN = range(7)
WEDNESDAY = date(2026, 3, 4)
OPEN = LibraryCalendar()
CLOSED_MONDAYS = LibraryCalendar(closed_weekdays=frozenset({MON}))
SUM = Policy(suspension_mode=SuspensionMode.SUM)
MAX = Policy(suspension_mode=SuspensionMode.MAX)

days_ = st.dates(min_value=date(2020, 1, 1), max_value=date(2035, 12, 31))


def d(n: int) -> date:
    return WEDNESDAY + timedelta(n)


# --- days late ----------------------------------------------------------------------------

@pytest.mark.parametrize("returned", [d(-10), d(-1), d(0)])
def test_not_late_when_returned_on_or_before_due(returned):
    assert days_late(d(0), returned, OPEN, Policy()) == 0


@pytest.mark.parametrize("n", [1, 2, 7, 30, 365])
def test_days_late_with_every_day_open(n):
    assert days_late(d(0), d(n), OPEN, Policy()) == n


def test_closed_days_are_excluded_by_default():
    # Due Wednesday 3/4, returned Wednesday 3/11: 7 days, one of them a closed Monday.
    assert days_late(d(0), d(7), CLOSED_MONDAYS, Policy()) == 6


def test_closed_days_are_counted_when_the_policy_says_so():
    policy = Policy(suspension_counts_closed_days=True)
    assert days_late(d(0), d(7), CLOSED_MONDAYS, policy) == 7


def test_due_date_itself_is_not_a_late_day_even_if_closed():
    # (due, returned]: a closure on the due date does not reduce the count.
    cal = LibraryCalendar(closed_dates=frozenset({d(0)}))
    assert days_late(d(0), d(3), cal, Policy()) == 3


def test_holidays_and_closed_dates_are_excluded():
    cal = LibraryCalendar(holidays=frozenset({d(1), d(2)}), closed_dates=frozenset({d(3)}))
    assert days_late(d(0), d(5), cal, Policy()) == 2


def test_returned_on_a_closed_day_through_the_book_drop():
    # Due Saturday, returned (book drop) on the closed Monday: only Sunday counts.
    saturday = date(2026, 3, 7)
    assert days_late(saturday, saturday + timedelta(2), CLOSED_MONDAYS, Policy()) == 1


def test_days_late_never_negative():
    cal = LibraryCalendar(closed_weekdays=frozenset(range(7)))
    assert days_late(d(0), d(10), cal, Policy()) == 0


@given(st.frozensets(st.integers(0, 6)), days_, st.integers(-30, 90), st.booleans())
def test_days_late_bounds(closed, due, offset, count_closed):
    cal = LibraryCalendar(closed_weekdays=closed)
    policy = Policy(suspension_counts_closed_days=count_closed)
    returned = due + timedelta(offset)
    late = days_late(due, returned, cal, policy)
    assert 0 <= late <= max(offset, 0)
    if count_closed or not closed:
        assert late == max(offset, 0)
    else:
        assert late == max(offset, 0) - cal.closed_days_between(due, returned)


# --- suspension days ----------------------------------------------------------------------

@pytest.mark.parametrize("late", [0, -1, -10])
def test_no_days_when_not_late(late):
    # add2 does not turn an on-time return into a suspension.
    assert suspension_days(late, Policy(suspension_add1=3, suspension_add2=5)) == 0


@pytest.mark.parametrize("late", [1, 5, 30])
def test_default_policy_one_day_per_day_late(late):
    assert suspension_days(late, Policy()) == late


@pytest.mark.parametrize(
    ("late", "add1", "weight", "add2", "expected"),
    [
        (5, 0, 2.0, 0, 10),  # 5 x 2
        (5, 1, 2.0, 0, 12),  # (5 + 1) x 2
        (5, 0, 2.0, 3, 13),  # 5 x 2 + 3
        (5, 1, 2.0, 3, 15),  # (5 + 1) x 2 + 3
        (3, 2, 1.0, 0, 5),
        (10, 0, 1.1, 0, 11),  # 11.000000000000002 in floating point: not bumped to 12
        (3, 0, 0.1, 0, 1),  # 0.30000000000000004 -> 1 (fractions round up)
        (4, 0, 0.5, 0, 2),
        (3, 0, 0.5, 0, 2),  # 1.5 rounds up
        (7, 0, 0.0, 2, 2),  # weight 0: only add2
    ],
)
def test_formula(late, add1, weight, add2, expected):
    policy = Policy(suspension_add1=add1, suspension_weight=weight, suspension_add2=add2)
    assert suspension_days(late, policy) == expected


@pytest.mark.parametrize(("late", "expected"), [(1, 1), (9, 9), (10, 10), (11, 10), (100, 10)])
def test_cap(late, expected):
    assert suspension_days(late, Policy(suspension_cap_days=10)) == expected


def test_cap_applies_after_add2():
    policy = Policy(suspension_add2=5, suspension_cap_days=10)
    assert suspension_days(4, policy) == 9
    assert suspension_days(5, policy) == 10
    assert suspension_days(6, policy) == 10


def test_cap_zero_means_no_cap():
    assert suspension_days(1000, Policy(suspension_cap_days=0)) == 1000


_policies = st.builds(
    Policy,
    suspension_add1=st.integers(0, 10),
    suspension_weight=st.floats(0, 5, allow_nan=False),
    suspension_add2=st.integers(0, 10),
    suspension_cap_days=st.integers(0, 60),
)


@given(st.integers(1, 400), _policies)
def test_suspension_days_properties(late, policy):
    days = suspension_days(late, policy)
    exact = (late + policy.suspension_add1) * policy.suspension_weight + policy.suspension_add2
    assert days >= 0
    if policy.suspension_cap_days:
        uncapped = suspension_days(late, replace(policy, suspension_cap_days=0))
        assert days == min(uncapped, policy.suspension_cap_days)
    else:
        assert exact - 1e-6 <= days < exact + 1  # the formula, rounded up


@given(st.integers(1, 400), st.integers(1, 400), _policies)
def test_suspension_days_monotone_in_lateness(a, b, policy):
    assume(a <= b)
    assert suspension_days(a, policy) <= suspension_days(b, policy)


# --- suspension end -----------------------------------------------------------------------

@pytest.mark.parametrize("policy", [SUM, MAX])
def test_fresh_suspension_ends_on_return_date_plus_days_minus_one(policy):
    assert suspension_end(d(0), 1, None, policy) == d(0)  # suspended on the return day only
    assert suspension_end(d(0), 7, None, policy) == d(6)


@pytest.mark.parametrize("policy", [SUM, MAX])
@pytest.mark.parametrize("current", [None, d(-5), d(0), d(10)])
def test_zero_days_keep_the_current_end(policy, current):
    assert suspension_end(d(0), 0, current, policy) == current


@pytest.mark.parametrize("policy", [SUM, MAX])
def test_expired_suspension_is_not_extended(policy):
    # The previous suspension ended yesterday: a fresh one starts today.
    assert suspension_end(d(0), 3, d(-1), policy) == d(2)


def test_sum_extends_a_running_suspension():
    # Running until 3/14 (d(10)); 3 more days -> 3/17.
    assert suspension_end(d(0), 3, d(10), SUM) == d(13)


def test_sum_extends_a_suspension_ending_today():
    # Inclusive end: a suspension ending on the return day is still running.
    assert suspension_end(d(0), 3, d(0), SUM) == d(3)


def test_max_keeps_the_later_end():
    assert suspension_end(d(0), 3, d(10), MAX) == d(10)  # current end is later
    assert suspension_end(d(0), 30, d(10), MAX) == d(29)  # the new one is later
    assert suspension_end(d(0), 11, d(10), MAX) == d(10)  # equal ends


def test_mode_comes_from_the_resolved_policy():
    policy = resolve([{"suspension_mode": "max"}])
    assert suspension_end(d(0), 3, d(10), policy) == d(10)


@given(days_, st.integers(1, 200), st.one_of(st.none(), st.integers(-200, 200)))
def test_end_properties(returned, days, current_offset):
    current = None if current_offset is None else returned + timedelta(current_offset)
    fresh = returned + timedelta(days - 1)
    running = current is not None and current >= returned
    end_sum = suspension_end(returned, days, current, SUM)
    end_max = suspension_end(returned, days, current, MAX)
    assert end_sum >= fresh and end_max >= fresh  # at least the new days from the return
    assert is_suspended(end_sum, returned) and is_suspended(end_max, returned)
    assert end_sum >= end_max
    if running:
        assert end_sum == current + timedelta(days)
        assert end_max == max(current, fresh)
        assert end_max >= current
    else:
        assert end_sum == end_max == fresh


# --- the end folded from the suspensions in force --------------------------------------------

def test_fold_of_two_same_day_returns_and_of_what_remains_after_an_undo():
    nine = Earned(d(0), 9, SUM)
    assert ends_after([nine, nine]) == [d(8), d(17)]  # 18 days from the return day
    assert ends_after([nine]) == [d(8)]  # one undone: its 9 days go, the other 9 stay
    nine_max = Earned(d(0), 9, MAX)
    assert ends_after([nine_max, nine_max]) == [d(8), d(8)]
    assert ends_after([nine_max]) == [d(8)]  # undoing one leaves the other in force
    assert ends_after([]) == []


def test_fold_uses_each_suspension_s_own_mode_and_lets_expired_ones_lapse():
    assert ends_after([Earned(d(0), 5, SUM), Earned(d(2), 10, MAX)]) == [d(4), d(11)]
    assert ends_after([Earned(d(0), 5, MAX), Earned(d(2), 3, SUM)]) == [d(4), d(7)]
    assert ends_after([Earned(d(0), 2, SUM), Earned(d(5), 3, SUM)]) == [d(1), d(7)]


_earned = st.lists(st.builds(Earned, days_, st.integers(1, 60), st.sampled_from([SUM, MAX])),
                   max_size=6).map(lambda xs: sorted(xs, key=lambda e: e.returned))


@given(_earned, st.data())
def test_fold_matches_applying_the_returns_one_by_one_and_an_undo_refolds(earned, data):
    end = None
    for e, folded in zip(earned, ends_after(earned), strict=True):
        end = suspension_end(e.returned, e.days, end, e.policy)
        assert folded == end
    if earned:
        gone = data.draw(st.integers(0, len(earned) - 1))
        rest = earned[:gone] + earned[gone + 1:]
        # an undo never lengthens the suspension, and what remains is the others' fold
        if rest:
            assert ends_after(rest)[-1] <= ends_after(earned)[-1]


# --- is_suspended -------------------------------------------------------------------------

def test_is_suspended_inclusive_end():
    assert is_suspended(d(0), d(0))  # last day of the suspension
    assert is_suspended(d(5), d(0))
    assert not is_suspended(d(-1), d(0))
    assert not is_suspended(None, d(0))


def test_suspension_of_n_days_lasts_n_days():
    end = suspension_end(d(0), 5, None, SUM)
    suspended = [n for n in range(-3, 10) if is_suspended(end, d(n)) and n >= 0]
    assert suspended == [0, 1, 2, 3, 4]
