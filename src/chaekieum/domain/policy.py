"""Circulation policy and its cascade: national default -> region -> library -> class.

Each level stores only the values it overrides; `resolve` merges them in order. Unknown
keys or wrong types are refused so a typo never silently falls back to a default.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, fields, replace
from enum import StrEnum
from typing import Any

from .errors import Code, DomainError


class SuspensionMode(StrEnum):
    SUM = "sum"  # 합산: extend a running suspension
    MAX = "max"  # 큰 값: keep the later end


class SharingMode(StrEnum):
    ENFORCE = "enforce"  # a suspension anywhere refuses loans here
    WARN = "warn"  # only warn the desk


class MemberClass(StrEnum):
    FULL = "정회원"
    ASSOCIATE = "준회원"
    NON_MEMBER = "비회원"


MEMBER_CLASSES = frozenset(c.value for c in MemberClass)


@dataclass(frozen=True)
class Policy:
    shared_loan_limit: int = 20
    library_loan_limit: int = 20
    class_loan_limit: int = 0  # 0 = no class-specific cap at this library
    loan_period_days: int = 14
    renewals_allowed: int = 1
    renewal_days: int = 7
    renew_on_loan_day: bool = False
    refuse_when_overdue: bool = True
    suspension_add1: int = 0
    suspension_weight: float = 1.0
    suspension_add2: int = 0
    suspension_mode: SuspensionMode = SuspensionMode.SUM
    suspension_cap_days: int = 0  # 0 = no cap
    suspension_counts_closed_days: bool = False
    suspension_sharing: SharingMode = SharingMode.ENFORCE
    cross_return_allowed: bool = True  # 타관반납 within the region
    courier_fee: bool = False
    can_borrow: bool = True  # False for 비회원
    reservation_limit: int = 5  # active reservations per member at a library (0 = none)
    reservation_pickup_days: int = 3  # days a set-aside copy waits on the holds shelf

    def as_dict(self) -> dict[str, Any]:
        return {k: (str(v) if isinstance(v, StrEnum) else v) for k, v in asdict(self).items()}


_FIELDS = {f.name: f for f in fields(Policy)}
_ENUMS: dict[str, type[StrEnum]] = {
    "suspension_mode": SuspensionMode,
    "suspension_sharing": SharingMode,
}
# Inclusive range of every numeric setting: wide enough for any real library, narrow
# enough that a day count added to today stays within the calendar and a limit within a
# database integer (a typo such as 14000 is refused, not stored).
BOUNDS: dict[str, tuple[int, int]] = {
    "shared_loan_limit": (0, 1000),
    "library_loan_limit": (0, 1000),
    "class_loan_limit": (0, 1000),
    "loan_period_days": (0, 3650),
    "renewals_allowed": (0, 100),
    "renewal_days": (0, 3650),
    "suspension_add1": (0, 3650),
    "suspension_weight": (0, 100),
    "suspension_add2": (0, 3650),
    "suspension_cap_days": (0, 3650),
    "reservation_limit": (0, 1000),
    # at least 1: a pickup window of 0 days would expire at once
    "reservation_pickup_days": (1, 365),
}

# Settings that are one national number (대출책수제한공유: one limit on the books a
# member has on loan across the whole network). Only the national policy for all classes
# sets them; lower levels keep their own, lower limits (library_loan_limit,
# class_loan_limit) and can never raise or lower the shared one.
NATIONAL_ONLY = frozenset({"shared_loan_limit"})
NATIONAL = "national"

# The national defaults for member classes that differ from the base policy.
CLASS_DEFAULTS: dict[str, dict[str, Any]] = {
    MemberClass.NON_MEMBER: {"can_borrow": False},
}


def validate_overrides(overrides: Mapping[str, Any]) -> dict[str, Any]:
    """Check one level's overrides; return them with enums coerced."""
    clean: dict[str, Any] = {}
    for key, value in overrides.items():
        if key not in _FIELDS:
            raise DomainError(Code.POLICY_INVALID, key=key, problem="unknown setting")
        default = getattr(Policy(), key)
        if key in _ENUMS:
            try:
                value = _ENUMS[key](value)
            except ValueError:
                raise DomainError(
                    Code.POLICY_INVALID, key=key, allowed=[str(e) for e in _ENUMS[key]]
                ) from None
        elif isinstance(default, bool):
            if not isinstance(value, bool):
                raise DomainError(Code.POLICY_INVALID, key=key, expected="boolean")
        elif isinstance(default, float):
            if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(
                    value):
                raise DomainError(Code.POLICY_INVALID, key=key, expected="finite number")
            value = float(value)
        elif isinstance(default, int):
            if isinstance(value, bool) or not isinstance(value, int):
                raise DomainError(Code.POLICY_INVALID, key=key, expected="integer")
        if key in BOUNDS:
            low, high = BOUNDS[key]
            if value < low:
                raise DomainError(Code.POLICY_INVALID, key=key, expected=f">= {low}")
            if value > high:
                raise DomainError(Code.POLICY_INVALID, key=key, expected=f"<= {high}")
        clean[key] = value
    return clean


def sets_national_only(level: str, member_class: str) -> bool:
    """Whether a policy at this level (and class; '' = every class) may set the
    NATIONAL_ONLY settings: only the national policy for every class."""
    return level == NATIONAL and not member_class


def validate_level_overrides(level: str, member_class: str,
                             overrides: Mapping[str, Any]) -> dict[str, Any]:
    """`validate_overrides` for the policy stored at one level of the cascade: a
    NATIONAL_ONLY setting anywhere but the national policy is refused."""
    if not sets_national_only(level, member_class):
        national = sorted(NATIONAL_ONLY & set(overrides))
        if national:
            raise DomainError(Code.POLICY_NATIONAL_ONLY, key=national[0], level=level,
                              member_class=member_class)
    return validate_overrides(overrides)


def effective_layer(level: str, member_class: str,
                    settings: Mapping[str, Any]) -> Mapping[str, Any]:
    """What a stored level contributes to the cascade: a NATIONAL_ONLY value stored
    below the national policy (before the rule existed) is ignored, never applied."""
    if sets_national_only(level, member_class) or not NATIONAL_ONLY & set(settings):
        return settings
    return {k: v for k, v in settings.items() if k not in NATIONAL_ONLY}


def resolve(layers: Iterable[Mapping[str, Any]]) -> Policy:
    """Merge override layers (most general first) onto the national defaults."""
    policy = Policy()
    for layer in layers:
        if layer:
            policy = replace(policy, **validate_overrides(layer))
    return policy
