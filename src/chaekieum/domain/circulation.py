"""Circulation decisions: checkout, renewal, return routing, undo (domain.md section 5).

Each check gathers *every* reason that applies and returns a Decision, so the desk, the
kiosk and the API explain a refusal the same way. The service layer collects the facts
(under locks) and applies the decision.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from .calendar import LibraryCalendar
from .errors import Code, Decision, Reason
from .members import MemberStatus
from .policy import Policy, SharingMode
from .suspension import is_suspended


@dataclass(frozen=True)
class MemberFacts:
    status: str
    card_lost: bool
    suspended_until: date | None
    suspended_here: bool = False  # a running suspension was earned at the acting library
    barred_here: bool = False  # the acting library barred the member (its own status)


@dataclass(frozen=True)
class CopyFacts:
    loanable: bool
    on_loan: bool
    in_transit: bool = False
    reserved_for_other: bool = False
    # Where the copy is. A library lends only a copy that is at that library: one it
    # owns, or one the hub records as being there (`copy_is_here`). `owner` names the
    # owning library in the refusal.
    here: bool = True
    owner: str = ""


def copy_is_here(owner: str, acting_library: str, received_here: bool) -> bool:
    """Whether the hub places a copy at the acting library: its own copy, or one of
    another library recorded as being there (today: a 타관반납 received there and not
    yet sent home). Nothing else: a library cannot lend a copy that, as far as the
    network knows, stands on another library's shelf, and could then not take it back."""
    return owner == acting_library or received_here


@dataclass(frozen=True)
class LoanCounts:
    total: int  # active loans across the whole network
    here: int  # active loans at the acting library
    overdue: int  # active loans past their due date, anywhere


def _member_reasons(member: MemberFacts | None, policy: Policy, today: date) -> tuple[
    list[Reason], list[Reason]
]:
    if member is None:
        return [Reason(Code.MEMBER_UNKNOWN)], []
    reasons: list[Reason] = []
    warnings: list[Reason] = []
    if member.status == MemberStatus.WITHDRAWN:
        reasons.append(Reason(Code.MEMBER_WITHDRAWN))
    elif member.status == MemberStatus.EXPELLED:
        reasons.append(Reason(Code.MEMBER_EXPELLED))
    if not policy.can_borrow:
        reasons.append(Reason(Code.MEMBER_NOT_ELIGIBLE))
    if member.card_lost:
        reasons.append(Reason(Code.CARD_LOST))
    if member.barred_here:
        reasons.append(Reason(Code.MEMBER_BARRED_HERE))
    if is_suspended(member.suspended_until, today):
        suspended = Reason(Code.MEMBER_SUSPENDED, {"until": member.suspended_until.isoformat()})
        if policy.suspension_sharing is SharingMode.ENFORCE or member.suspended_here:
            reasons.append(suspended)
        else:
            warnings.append(suspended)
    return reasons, warnings


def decide_checkout(
    member: MemberFacts | None,
    copy: CopyFacts | None,
    counts: LoanCounts,
    policy: Policy,
    today: date,
) -> Decision:
    reasons, warnings = _member_reasons(member, policy, today)
    if member is not None:
        if counts.overdue and policy.refuse_when_overdue:
            reasons.append(Reason(Code.MEMBER_HAS_OVERDUE, {"overdue": counts.overdue}))
        if counts.total + 1 > policy.shared_loan_limit:
            reasons.append(
                Reason(Code.SHARED_LIMIT_REACHED,
                       {"limit": policy.shared_loan_limit, "on_loan": counts.total})
            )
        if counts.here + 1 > policy.library_loan_limit:
            reasons.append(
                Reason(Code.LIBRARY_LIMIT_REACHED,
                       {"limit": policy.library_loan_limit, "on_loan": counts.here})
            )
        if policy.class_loan_limit and counts.here + 1 > policy.class_loan_limit:
            reasons.append(
                Reason(Code.CLASS_LIMIT_REACHED,
                       {"limit": policy.class_loan_limit, "on_loan": counts.here})
            )
    if copy is None:
        reasons.append(Reason(Code.COPY_UNKNOWN))
    else:
        if not copy.here:
            reasons.append(Reason(Code.COPY_NOT_HERE, {"owner": copy.owner}))
        if not copy.loanable:
            reasons.append(Reason(Code.COPY_NOT_LOANABLE))
        if copy.on_loan:
            reasons.append(Reason(Code.COPY_ON_LOAN))
        elif copy.in_transit:
            reasons.append(Reason(Code.COPY_IN_TRANSIT))
        if copy.reserved_for_other:
            reasons.append(Reason(Code.COPY_RESERVED))
    return Decision(tuple(reasons), tuple(warnings))


def due_date(start: date, days: int, calendar: LibraryCalendar) -> date:
    """start + days, moved to the next day the lending library is open."""
    return calendar.next_open_day(start + timedelta(days=days))


@dataclass(frozen=True)
class LoanFacts:
    owner_library: str
    loaned_on: date
    due_on: date
    renewals: int


def decide_renewal(
    member: MemberFacts,
    loan: LoanFacts,
    acting_library: str,
    overdue_loans: int,
    reserved_for_other: bool,
    policy: Policy,
    today: date,
) -> Decision:
    reasons: list[Reason] = []
    if acting_library != loan.owner_library:
        reasons.append(Reason(Code.RENEW_NOT_OWN_LIBRARY, {"owner": loan.owner_library}))
    if member.status != MemberStatus.ACTIVE or member.card_lost or is_suspended(
        member.suspended_until, today
    ):
        reasons.append(Reason(Code.RENEW_MEMBER_NOT_ACTIVE))
    if member.barred_here:
        reasons.append(Reason(Code.MEMBER_BARRED_HERE))
    if overdue_loans:
        reasons.append(Reason(Code.MEMBER_HAS_OVERDUE, {"overdue": overdue_loans}))
    if reserved_for_other:
        reasons.append(Reason(Code.RENEW_RESERVED))
    if loan.renewals >= policy.renewals_allowed:
        reasons.append(
            Reason(Code.RENEW_LIMIT_REACHED,
                   {"allowed": policy.renewals_allowed, "used": loan.renewals})
        )
    if not policy.renew_on_loan_day and loan.loaned_on == today:
        reasons.append(Reason(Code.RENEW_SAME_DAY))
    return Decision(tuple(reasons))


def renewed_due_date(loan: LoanFacts, policy: Policy, calendar: LibraryCalendar) -> date:
    return due_date(loan.due_on, policy.renewal_days, calendar)


class ReturnRoute(StrEnum):
    HOME = "home"  # returned at the owning library
    TRANSIT = "transit"  # 타관반납: received here, travels home


def route_return(
    owner_library: str,
    owner_region: str,
    acting_library: str,
    acting_region: str,
    policy: Policy,
) -> ReturnRoute | Reason:
    """Where a returned copy goes; a Reason when it cannot be returned here."""
    if acting_library == owner_library:
        return ReturnRoute.HOME
    if owner_region == acting_region and policy.cross_return_allowed:
        return ReturnRoute.TRANSIT
    return Reason(
        Code.RETURN_NOT_ALLOWED_HERE,
        {"owner": owner_library, "same_region": owner_region == acting_region},
    )


def can_undo(action_day: date, today: date) -> Reason | None:
    return None if action_day == today else Reason(Code.UNDO_NOT_SAME_DAY)
