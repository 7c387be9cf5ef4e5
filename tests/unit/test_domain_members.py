"""Member rules (docs/domain.md section 4): status, guardians under 14, withdrawal,
the keyed CI hash and personal-data masking.

Guardian rule. Only the birth *year* is stored (never a 주민등록번호), so a member cannot be
told apart from the day they turn 14. The rule is conservative: a member counts as under
14 for the whole calendar year in which they turn 14 (today.year - birth_year <= 14) and
needs a legal guardian until 1 January of the next year. This never misses a real minor;
the price is that someone who already had their 14th birthday earlier that year is still
asked for a guardian.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chaekieum.domain.errors import Code, DomainError
from chaekieum.domain.members import (
    GUARDIAN_AGE,
    STATUS_LABELS,
    MemberStatus,
    check_registration,
    display_status,
    hash_ci,
    mask_email,
    mask_name,
    mask_phone,
    needs_guardian,
    withdrawal_blockers,
)

TODAY = date(2026, 3, 4)
PEPPER = b"pepper-for-tests"


# --- status -------------------------------------------------------------------------------

def test_status_values_and_labels():
    assert {str(s) for s in MemberStatus} == {"active", "expelled", "withdrawn"}
    assert STATUS_LABELS == {
        "active": "정상", "suspended": "대출정지", "expelled": "제적", "withdrawn": "탈퇴",
    }


@pytest.mark.parametrize(
    ("status", "until", "shown"),
    [
        ("active", None, "active"),
        ("active", TODAY, "suspended"),  # inclusive end
        ("active", TODAY + timedelta(3), "suspended"),
        ("active", TODAY - timedelta(1), "active"),
        ("expelled", TODAY + timedelta(3), "expelled"),  # 제적 outranks a suspension
        ("withdrawn", TODAY + timedelta(3), "withdrawn"),
    ],
)
def test_display_status(status, until, shown):
    assert display_status(status, until, TODAY) == shown
    assert shown in STATUS_LABELS


# --- guardian (under 14) ------------------------------------------------------------------

def test_guardian_age_is_14():
    assert GUARDIAN_AGE == 14


@pytest.mark.parametrize(
    ("birth_year", "needs"),
    [
        (2026, True),  # newborn
        (2020, True),
        (2013, True),  # turns 13 this year
        (2012, True),  # turns 14 this year: counted as under 14 for the whole year
        (2011, False),  # turns 15 this year: at least 14 since 1 January
        (1990, False),
    ],
)
def test_needs_guardian_by_birth_year(birth_year, needs):
    assert needs_guardian(birth_year, TODAY) is needs


def test_year_of_14th_birthday_counts_as_under_14_until_new_year():
    assert needs_guardian(2012, date(2026, 1, 1))
    assert needs_guardian(2012, date(2026, 12, 31))  # even after any 2012 birthday
    assert not needs_guardian(2012, date(2027, 1, 1))


def _age(birthday: date, today: date) -> int:
    return today.year - birthday.year - ((today.month, today.day) < (birthday.month, birthday.day))


@given(st.dates(date(1900, 1, 1), date(2100, 12, 31)), st.integers(0, 40))
def test_guardian_rule_never_misses_a_minor(birthday, years_later):
    today = date(min(birthday.year + years_later, 9999), 6, 15)
    today = max(today, birthday)
    for day in (today, date(today.year, 1, 1), date(today.year, 12, 31)):
        if day < birthday:
            continue
        if _age(birthday, day) < 14:
            assert needs_guardian(birthday.year, day)


@given(st.integers(1900, 2100), st.dates(date(1900, 1, 1), date(2120, 12, 31)))
def test_guardian_rule_is_the_year_rule(birth_year, today):
    assert needs_guardian(birth_year, today) is (today.year - birth_year <= 14)
    oldest, youngest = date(birth_year, 1, 1), date(birth_year, 12, 31)
    diff = today.year - birth_year
    if 0 <= diff <= 13:
        assert _age(oldest, today) < 14  # everyone born that year is a minor: exact
    elif diff == 14 and today < date(today.year, 12, 31):
        # the conservative year: someone born in it may still be 13 (born on 31 Dec)
        assert _age(youngest, today) == 13 and _age(oldest, today) == 14
    elif diff >= 15:
        assert _age(youngest, today) >= 14  # nobody born that year is a minor: exact


def test_registration_without_guardian_for_a_child_is_refused():
    with pytest.raises(DomainError) as err:
        check_registration(2015, has_guardian=False, today=TODAY)
    assert err.value.code is Code.GUARDIAN_REQUIRED
    assert err.value.details == {"birth_year": 2015}


def test_registration_in_the_year_of_14th_birthday_needs_a_guardian():
    with pytest.raises(DomainError) as err:
        check_registration(2012, has_guardian=False, today=TODAY)
    assert err.value.code is Code.GUARDIAN_REQUIRED


@pytest.mark.parametrize("birth_year", [2026, 2015, 2012])
def test_registration_of_a_child_with_guardian(birth_year):
    assert check_registration(birth_year, has_guardian=True, today=TODAY) is None


@pytest.mark.parametrize("has_guardian", [True, False])
def test_registration_of_an_adult(has_guardian):
    assert check_registration(1980, has_guardian=has_guardian, today=TODAY) is None
    assert check_registration(2011, has_guardian=has_guardian, today=TODAY) is None


@pytest.mark.parametrize("birth_year", [2027, 3000, 1895, 1000, -5])
def test_registration_with_an_impossible_birth_year(birth_year):
    with pytest.raises(DomainError) as err:
        check_registration(birth_year, has_guardian=True, today=TODAY)
    assert err.value.code is Code.VALIDATION_ERROR
    assert err.value.details["field"] == "birth_year"


def test_registration_birth_year_bounds_are_inclusive():
    check_registration(TODAY.year, has_guardian=True, today=TODAY)
    check_registration(TODAY.year - 130, has_guardian=False, today=TODAY)
    with pytest.raises(DomainError):
        check_registration(TODAY.year - 131, has_guardian=False, today=TODAY)
    with pytest.raises(DomainError):
        check_registration(TODAY.year + 1, has_guardian=True, today=TODAY)


# --- withdrawal ---------------------------------------------------------------------------

def _codes(reasons):
    return [r.code for r in reasons]


def test_withdrawal_with_nothing_open():
    assert withdrawal_blockers(0, 0, None, TODAY) == []
    assert withdrawal_blockers(0, 0, TODAY - timedelta(1), TODAY) == []  # suspension over


def test_withdrawal_blocked_by_loans():
    reasons = withdrawal_blockers(3, 0, None, TODAY)
    assert _codes(reasons) == [Code.WITHDRAW_HAS_LOANS]
    assert reasons[0].details == {"loans": 3}


def test_withdrawal_blocked_by_reservations():
    reasons = withdrawal_blockers(0, 2, None, TODAY)
    assert _codes(reasons) == [Code.WITHDRAW_HAS_RESERVATIONS]
    assert reasons[0].details == {"reservations": 2}


@pytest.mark.parametrize("until", [TODAY, TODAY + timedelta(10)])
def test_withdrawal_blocked_by_running_suspension(until):
    reasons = withdrawal_blockers(0, 0, until, TODAY)
    assert _codes(reasons) == [Code.WITHDRAW_SUSPENDED]
    assert reasons[0].details == {"until": until.isoformat()}


def test_withdrawal_reports_every_blocker():
    reasons = withdrawal_blockers(1, 1, TODAY, TODAY)
    assert _codes(reasons) == [
        Code.WITHDRAW_HAS_LOANS, Code.WITHDRAW_HAS_RESERVATIONS, Code.WITHDRAW_SUSPENDED,
    ]


@given(st.integers(0, 5), st.integers(0, 5), st.one_of(st.none(), st.integers(-5, 5)))
def test_withdrawal_blockers_property(loans, reservations, offset):
    until = None if offset is None else TODAY + timedelta(offset)
    reasons = withdrawal_blockers(loans, reservations, until, TODAY)
    expected = set()
    if loans:
        expected.add(Code.WITHDRAW_HAS_LOANS)
    if reservations:
        expected.add(Code.WITHDRAW_HAS_RESERVATIONS)
    if until is not None and until >= TODAY:
        expected.add(Code.WITHDRAW_SUSPENDED)
    assert set(_codes(reasons)) == expected
    assert len(reasons) == len(expected)


# --- CI hash ------------------------------------------------------------------------------

CI = "Ab12+/cdEF==" * 7  # CI values are 88-character base64 strings


def test_hash_ci_is_deterministic():
    assert hash_ci(CI, PEPPER) == hash_ci(CI, PEPPER)


def test_hash_ci_is_keyed_hmac_sha256():
    expected = hmac.new(PEPPER, CI.encode(), hashlib.sha256).hexdigest()
    assert hash_ci(CI, PEPPER) == expected
    assert hash_ci(CI, PEPPER) != hashlib.sha256(CI.encode()).hexdigest()  # not a bare hash


def test_hash_ci_depends_on_the_key():
    assert hash_ci(CI, PEPPER) != hash_ci(CI, b"another-pepper")


def test_hash_ci_ignores_surrounding_whitespace():
    assert hash_ci(f"  {CI}\n", PEPPER) == hash_ci(CI, PEPPER)


def test_hash_ci_is_hex_and_does_not_contain_the_ci():
    h = hash_ci(CI, PEPPER)
    assert len(h) == 64 and all(c in "0123456789abcdef" for c in h)
    assert CI not in h


@given(st.text(min_size=1), st.text(min_size=1), st.binary(min_size=1, max_size=32))
def test_hash_ci_distinguishes_values(a, b, pepper):
    if a.strip() != b.strip():
        assert hash_ci(a, pepper) != hash_ci(b, pepper)
    else:
        assert hash_ci(a, pepper) == hash_ci(b, pepper)


# --- masking ------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("name", "masked"),
    [
        (None, ""),
        ("", ""),
        ("김", "*"),
        ("김철", "김*"),
        ("홍길동", "홍*동"),
        ("남궁민수", "남**수"),
        ("John Smith", "J********h"),
    ],
)
def test_mask_name(name, masked):
    assert mask_name(name) == masked


@given(st.text(min_size=3))
def test_mask_name_keeps_length_and_hides_the_middle(name):
    masked = mask_name(name)
    assert len(masked) == len(name)
    assert masked[0] == name[0] and masked[-1] == name[-1]
    assert set(masked[1:-1]) == {"*"}


@pytest.mark.parametrize(
    ("phone", "masked"),
    [
        (None, ""),
        ("", ""),
        ("010-1234-5678", "010-****-5678"),
        ("01012345678", "010-****-5678"),
        ("+82 10 1234 5678", "821-****-5678"),
        ("02-123-4567", "021-****-4567"),
        ("1234567", "*******"),  # fewer than 8 digits: hide everything
        ("123-4567", "********"),
    ],
)
def test_mask_phone(phone, masked):
    assert mask_phone(phone) == masked


@given(st.text(alphabet="0123456789- ", min_size=1, max_size=20))
def test_mask_phone_never_shows_the_middle_digits(phone):
    masked = mask_phone(phone)
    digits = "".join(c for c in phone if c.isdigit())
    if len(digits) < 8:
        assert set(masked) <= {"*"}
    else:
        assert masked == f"{digits[:3]}-****-{digits[-4:]}"


@pytest.mark.parametrize(
    ("email", "masked"),
    [
        (None, ""),
        ("", ""),
        ("not-an-email", ""),
        ("hong@example.kr", "ho***@example.kr"),
        ("a@example.kr", "a***@example.kr"),
        ("ab@x.y", "ab***@x.y"),
        ("first.last@mail.go.kr", "fi***@mail.go.kr"),
        ("odd@local@host", "od***@local@host"),
    ],
)
def test_mask_email(email, masked):
    assert mask_email(email) == masked


# --- expulsion (제적) and a library's own bar (issue 8, item 13) ------------------------------

def test_expulsion_changes_and_refuses_the_status_the_member_has():
    from chaekieum.domain.members import expulsion_change

    assert expulsion_change("active", expel=True) == "expelled"
    assert expulsion_change("expelled", expel=False) == "active"
    for status, expel in (("expelled", True), ("active", False)):
        with pytest.raises(DomainError) as refused:
            expulsion_change(status, expel)
        assert refused.value.code == Code.MEMBER_STATUS_UNCHANGED
    with pytest.raises(DomainError) as refused:
        expulsion_change("withdrawn", expel=True)
    assert refused.value.code == Code.MEMBER_WITHDRAWN


def test_bar_changes_and_refuses_the_status_the_library_has():
    from chaekieum.domain.members import bar_change

    assert bar_change("active", bar=True) == "barred"
    assert bar_change("barred", bar=False) == "active"
    for status, bar in (("barred", True), ("active", False)):
        with pytest.raises(DomainError) as refused:
            bar_change(status, bar)
        assert refused.value.code == Code.MEMBER_STATUS_UNCHANGED
    with pytest.raises(DomainError):
        bar_change("withdrawn", bar=True)


def test_a_status_change_needs_a_reason_and_keeps_it_short():
    from chaekieum.domain.members import REASON_MAX, status_reason

    assert status_reason("  도서   훼손 ", required=True) == "도서 훼손"
    assert status_reason(None, required=False) == ""
    for blank in (None, "", "   "):
        with pytest.raises(DomainError) as refused:
            status_reason(blank, required=True)
        assert refused.value.details == {"field": "reason", "problem": "required"}
    with pytest.raises(DomainError):
        status_reason("가" * (REASON_MAX + 1), required=False)
