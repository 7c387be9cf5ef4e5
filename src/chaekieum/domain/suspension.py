"""대출정지: the suspension a late return earns (domain.md section 5).

d = return date - due date (closed days excluded unless the policy counts them);
days = (d + add1) x weight + add2, capped; mode "sum" extends a running suspension,
mode "max" keeps the later end. End dates are inclusive.

A member's suspension end is never stored as a fact of its own: it is the fold of the
suspensions still in force (`ends_after`), so undoing one late return takes away
exactly its share, in either mode.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

from .calendar import LibraryCalendar
from .policy import Policy, SuspensionMode


def days_late(due: date, returned: date, calendar: LibraryCalendar, policy: Policy) -> int:
    if returned <= due:
        return 0
    late = (returned - due).days
    if not policy.suspension_counts_closed_days:
        late -= calendar.closed_days_between(due, returned)
    return max(late, 0)


def suspension_days(late: int, policy: Policy) -> int:
    if late <= 0:
        return 0
    days = math.ceil((late + policy.suspension_add1) * policy.suspension_weight - 1e-9)
    days += policy.suspension_add2
    if policy.suspension_cap_days:
        days = min(days, policy.suspension_cap_days)
    return max(days, 0)


def suspension_end(
    returned: date, days: int, current_end: date | None, policy: Policy
) -> date | None:
    """The member's new suspension end after a return `days` days' worth late."""
    if days <= 0:
        return current_end
    fresh_end = returned + timedelta(days=days - 1)
    running = current_end is not None and current_end >= returned
    if policy.suspension_mode is SuspensionMode.SUM:
        return current_end + timedelta(days=days) if running else fresh_end
    return max(current_end, fresh_end) if running else fresh_end


@dataclass(frozen=True)
class Earned:
    """One suspension in force: `days` earned by a return on `returned`, under the
    policy of the library that lent the copy (its mode decides how it adds up)."""

    returned: date
    days: int
    policy: Policy


def ends_after(earned: Iterable[Earned]) -> list[date | None]:
    """The member's suspension end after each suspension, applied in the given order
    (the order of the returns): the last one is the member's end. Recomputed from the
    suspensions in force, never restored from a remembered earlier end."""
    ends: list[date | None] = []
    end: date | None = None
    for e in earned:
        end = suspension_end(e.returned, e.days, end, e.policy)
        ends.append(end)
    return ends


def is_suspended(suspended_until: date | None, today: date) -> bool:
    return suspended_until is not None and suspended_until >= today
