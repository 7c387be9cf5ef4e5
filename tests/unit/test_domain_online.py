"""Online registration rules (domain/online.py): every reason at once, no values echoed."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date

import pytest

from chaekieum.domain.errors import DomainError
from chaekieum.domain.online import OnlineApplication, check_application

TODAY = date(2026, 3, 4)
ADULT = OnlineApplication("홍길동", 1990, "010-1234-5678", None, "password-1", True)
CHILD = replace(ADULT, name="홍아기", birth_year=2017, guardian_name="홍보호",
                guardian_phone="010-2222-3333")


@dataclass(frozen=True)
class Id:
    name: str
    birth_year: int


def refused(app: OnlineApplication, identity: Id | None = None,
            guardian: Id | None = None) -> list[tuple[str, dict]]:
    with pytest.raises(DomainError) as err:
        check_application(app, identity, guardian, TODAY)
    return [(str(r.code), r.details) for r in err.value.reasons]


def test_valid_applications_pass() -> None:
    check_application(ADULT, Id("홍길동", 1990), None, TODAY)
    check_application(replace(ADULT, name=" 홍  길동 "), Id("홍 길동", 1990), None, TODAY)
    check_application(CHILD, None, Id("홍보호", 1980), TODAY)
    check_application(replace(ADULT, phone=None, email="a@b.kr"), Id("홍길동", 1990), None,
                      TODAY)


def test_every_input_problem_is_named_without_its_value() -> None:
    bad = OnlineApplication("", 1800, "12", "x@", "short", False)
    reasons = refused(bad)
    assert [c for c, _ in reasons] == ["VALIDATION_ERROR"] * 5 + ["CONSENT_REQUIRED"]
    assert [d.get("field") for _, d in reasons][:5] == ["name", "birth_year", "phone",
                                                        "email", "password"]
    assert all(set(d) <= {"field", "problem"} for _, d in reasons)
    assert refused(replace(ADULT, phone=None)) == [
        ("VALIDATION_ERROR", {"field": "contact", "problem": "phone or e-mail required"})]


def test_a_resident_registration_number_is_refused_anywhere() -> None:
    for field in ("name", "phone", "email", "guardian_name"):
        value = "900101-1234567" if field != "email" else "900101-1234567@x.kr"
        reasons = refused(replace(ADULT, **{field: value}), Id("홍길동", 1990))
        assert ("VALIDATION_ERROR", {"field": field, "problem":
                "resident registration number (never stored)"}) in reasons
        assert "1234567" not in str(reasons)


def test_identity_and_guardian_rules() -> None:
    assert refused(ADULT) == [("IDENTITY_VERIFICATION_REQUIRED", {})]
    assert refused(ADULT, Id("홍길순", 1990)) == [("IDENTITY_MISMATCH", {"field": "name"})]
    assert refused(ADULT, Id("홍길동", 1991)) == [("IDENTITY_MISMATCH", {"field": "name"})]
    assert refused(replace(CHILD, guardian_name=None, guardian_phone=None)) == [
        ("GUARDIAN_REQUIRED", {}), ("GUARDIAN_VERIFICATION_REQUIRED", {})]
    assert refused(CHILD, None, Id("김남", 1980)) == [
        ("IDENTITY_MISMATCH", {"field": "guardian_name"})]
    assert refused(CHILD, None, Id("홍보호", 2008)) == [("GUARDIAN_NOT_ADULT", {})]
    # turning 14 this year counts as under 14 (only the birth year is known)
    assert refused(replace(CHILD, birth_year=2012)) == [("GUARDIAN_VERIFICATION_REQUIRED", {})]
