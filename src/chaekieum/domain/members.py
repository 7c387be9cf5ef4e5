"""Member rules: status, eligibility, guardians, withdrawal, and personal-data masking."""

from __future__ import annotations

import hashlib
import hmac
from datetime import date
from enum import StrEnum

from .errors import Code, DomainError, Reason
from .suspension import is_suspended

GUARDIAN_AGE = 14


class MemberStatus(StrEnum):
    ACTIVE = "active"  # 정상 (대출정지 is derived from suspended_until)
    EXPELLED = "expelled"  # 제적
    WITHDRAWN = "withdrawn"  # 탈퇴


STATUS_LABELS = {"active": "정상", "suspended": "대출정지", "expelled": "제적", "withdrawn": "탈퇴"}


class LibraryStatus(StrEnum):
    """A library's own status of a member (its registration, `memberships.status`)."""

    ACTIVE = "active"
    BARRED = "barred"  # 이용제한: no loans at this library
    WITHDRAWN = "withdrawn"  # the member withdrew (everywhere)


REASON_MAX = 500


def status_reason(reason: str | None, required: bool) -> str:
    """The reason staff give for an expulsion or a bar (required) or for lifting one."""
    text = " ".join((reason or "").split())
    if required and not text:
        raise DomainError(Code.VALIDATION_ERROR, field="reason", problem="required")
    if len(text) > REASON_MAX:
        raise DomainError(Code.VALIDATION_ERROR, field="reason", problem=f"max {REASON_MAX}")
    return text


def expulsion_change(status: str, expel: bool) -> MemberStatus:
    """The member's status after expelling (`expel`) or lifting an expulsion: withdrawn
    members are gone; asking for the status the member already has is refused."""
    if status == MemberStatus.WITHDRAWN:
        raise DomainError(Code.MEMBER_WITHDRAWN)
    target = MemberStatus.EXPELLED if expel else MemberStatus.ACTIVE
    if status == target:
        raise DomainError(Code.MEMBER_STATUS_UNCHANGED, status=status)
    return target


def bar_change(library_status: str, bar: bool) -> LibraryStatus:
    """The library's own status of the member after barring (`bar`) or lifting a bar."""
    if library_status == LibraryStatus.WITHDRAWN:
        raise DomainError(Code.MEMBER_WITHDRAWN)
    target = LibraryStatus.BARRED if bar else LibraryStatus.ACTIVE
    if library_status == target:
        raise DomainError(Code.MEMBER_STATUS_UNCHANGED, status=library_status)
    return target


def display_status(status: str, suspended_until: date | None, today: date) -> str:
    """What a person sees: 'suspended' is a status to them, a date to us."""
    if status == MemberStatus.ACTIVE and is_suspended(suspended_until, today):
        return "suspended"
    return status


def needs_guardian(birth_year: int, today: date) -> bool:
    # Only the birth year is kept, so count the member as under 14 for the whole year
    # in which they turn 14: the safe side for consent.
    return today.year - birth_year <= GUARDIAN_AGE


def check_registration(birth_year: int, has_guardian: bool, today: date) -> None:
    if birth_year > today.year or birth_year < today.year - 130:
        raise DomainError(Code.VALIDATION_ERROR, field="birth_year", problem="out of range")
    if needs_guardian(birth_year, today) and not has_guardian:
        raise DomainError(Code.GUARDIAN_REQUIRED, birth_year=birth_year)


def withdrawal_blockers(
    active_loans: int, reservations: int, suspended_until: date | None, today: date
) -> list[Reason]:
    reasons = []
    if active_loans:
        reasons.append(Reason(Code.WITHDRAW_HAS_LOANS, {"loans": active_loans}))
    if reservations:
        reasons.append(Reason(Code.WITHDRAW_HAS_RESERVATIONS, {"reservations": reservations}))
    if is_suspended(suspended_until, today):
        reasons.append(Reason(Code.WITHDRAW_SUSPENDED, {"until": suspended_until.isoformat()}))
    return reasons


def hash_ci(ci: str, pepper: bytes) -> str:
    """One-way, keyed hash of the identity-verification CI (연계정보), for duplicate checks.

    Keyed (HMAC) so that a leaked table cannot be matched against CI values elsewhere.
    """
    return hmac.new(pepper, ci.strip().encode(), hashlib.sha256).hexdigest()


def mask_name(name: str | None) -> str:
    if not name:
        return ""
    if len(name) <= 1:
        return "*"
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]


def mask_phone(phone: str | None) -> str:
    if not phone:
        return ""
    digits = [c for c in phone if c.isdigit()]
    if len(digits) < 8:
        return "*" * len(phone)
    tail = "".join(digits[-4:])
    head = "".join(digits[:3])
    return f"{head}-****-{tail}"


def mask_email(email: str | None) -> str:
    if not email or "@" not in email:
        return ""
    local, domain = email.split("@", 1)
    return (local[:2] + "***") + "@" + domain
