"""Online registration (온라인 회원가입): the rules, free of storage and of providers.

A person signs up on the web (or through a library's homepage or app) with a name, a
birth year and contact details; from 14 they verify their own identity, under 14 their
guardian (보호자, 법정대리인) verifies theirs. They become an associate member (준회원)
of the library they chose; their first ID check at a desk makes them a full member.

Refusals name fields and rules only, never a value: an error never echoes personal data.
A resident registration number (주민등록번호) typed anywhere is refused and never stored.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Protocol

from .errors import Code, DomainError, Reason
from .imports import contains_rrn
from .members import needs_guardian

HOW = "online"  # memberships.how of the library chosen online
GUARDIAN_ADULT_AGE = 19  # 만 19세: with the birth year only, counted on the safe side
NAME_MAX, PASSWORD_MIN, PASSWORD_MAX = 100, 8, 200
_PHONE = re.compile(r"^\+?[0-9][0-9 -]{7,18}[0-9]$")
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,190}\.[^@\s.]{2,}$")


@dataclass(frozen=True)
class OnlineApplication:
    name: str
    birth_year: int
    phone: str | None
    email: str | None
    password: str
    privacy_consent: bool
    guardian_name: str | None = None
    guardian_phone: str | None = None


class Vouched(Protocol):
    """What an identity verification vouches for."""

    name: str
    birth_year: int


def _same_name(a: str | None, b: str | None) -> bool:
    return " ".join((a or "").split()) == " ".join((b or "").split())


def check_application(app: OnlineApplication, identity: Vouched | None,
                      guardian: Vouched | None, today: date) -> None:
    """Every reason the application is refused (DomainError), or nothing."""
    reasons: list[Reason] = []

    def bad(code: Code, **details: str) -> None:
        reasons.append(Reason(code, details))

    name = " ".join(app.name.split())
    if not name or len(name) > NAME_MAX:
        bad(Code.VALIDATION_ERROR, field="name")
    if not today.year - 130 <= app.birth_year <= today.year:
        bad(Code.VALIDATION_ERROR, field="birth_year", problem="out of range")
    if app.phone and not _PHONE.match(app.phone):
        bad(Code.VALIDATION_ERROR, field="phone")
    if app.email and (len(app.email) > 200 or not _EMAIL.match(app.email)):
        bad(Code.VALIDATION_ERROR, field="email")
    if not (app.phone or app.email):
        bad(Code.VALIDATION_ERROR, field="contact", problem="phone or e-mail required")
    if not PASSWORD_MIN <= len(app.password) <= PASSWORD_MAX:
        bad(Code.VALIDATION_ERROR, field="password", problem=f"min {PASSWORD_MIN} characters")
    if not app.privacy_consent:
        bad(Code.CONSENT_REQUIRED)
    for field in ("name", "phone", "email", "guardian_name", "guardian_phone"):
        if contains_rrn(getattr(app, field) or ""):
            bad(Code.VALIDATION_ERROR, field=field,
                problem="resident registration number (never stored)")
    if reasons:
        raise DomainError(reasons)  # the identity checks need a valid name and year

    if needs_guardian(app.birth_year, today):
        if not (app.guardian_name and app.guardian_phone):
            bad(Code.GUARDIAN_REQUIRED)
        if app.guardian_phone and not _PHONE.match(app.guardian_phone):
            bad(Code.VALIDATION_ERROR, field="guardian_phone")
        if guardian is None:
            bad(Code.GUARDIAN_VERIFICATION_REQUIRED)
        elif not _same_name(guardian.name, app.guardian_name):
            bad(Code.IDENTITY_MISMATCH, field="guardian_name")
        elif today.year - guardian.birth_year - 1 < GUARDIAN_ADULT_AGE:
            bad(Code.GUARDIAN_NOT_ADULT)
    elif identity is None:
        bad(Code.IDENTITY_VERIFICATION_REQUIRED)
    if identity is not None and not (_same_name(identity.name, name)
                                     and identity.birth_year == app.birth_year):
        bad(Code.IDENTITY_MISMATCH, field="name")
    if reasons:
        raise DomainError(reasons)
