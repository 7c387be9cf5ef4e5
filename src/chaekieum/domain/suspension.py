"""대출정지: the suspension a late return earns (domain.md section 5).

d = return date - due date (closed days excluded unless the policy counts them);
days = (d + add1) x weight + add2, capped; mode "sum" extends a running suspension,
mode "max" keeps the later end. End dates are inclusive.
"""

from __future__ import annotations

import math
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


def is_suspended(suspended_until: date | None, today: date) -> bool:
    return suspended_until is not None and suspended_until >= today
