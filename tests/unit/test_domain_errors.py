"""Stable refusal codes with Korean and English messages (docs/domain.md section 8:
stable machine-readable error codes plus a Korean message)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import chaekieum.domain as domain_pkg
from chaekieum.domain.errors import MESSAGES, Code, Decision, DomainError, Reason, message

HANGUL = re.compile(r"[\uac00-\ud7a3]")
ALL_CODES = list(Code)


def test_every_code_has_messages_and_nothing_else_does():
    assert set(MESSAGES) == set(Code)


@pytest.mark.parametrize("code", ALL_CODES, ids=str)
def test_every_code_has_a_korean_and_an_english_message(code):
    ko, en = MESSAGES[code]
    assert ko.strip() and en.strip()
    assert HANGUL.search(ko), f"{code}: Korean message has no Hangul"
    assert en.isascii() and not HANGUL.search(en), f"{code}: English message is not English"
    assert ko != en
    assert message(code) == ko
    assert message(code, "ko") == ko
    assert message(code, "en") == en


@pytest.mark.parametrize("code", ALL_CODES, ids=str)
def test_code_value_is_its_name(code):
    # The wire value is stable and upper-snake-case.
    assert code.value == code.name
    assert re.fullmatch(r"[A-Z][A-Z0-9_]*", code.value)
    assert Code(code.value) is code


def test_messages_are_distinct():
    ko = [k for k, _ in MESSAGES.values()]
    en = [e for _, e in MESSAGES.values()]
    assert len(set(ko)) == len(ko)
    assert len(set(en)) == len(en)


@pytest.mark.parametrize("lang", ["", "kr", "ko-KR", "EN", "de", "ja"])
def test_other_languages_fall_back_to_korean(lang):
    assert message(Code.MEMBER_UNKNOWN, lang) == "등록되지 않은 회원입니다."


def test_every_code_used_by_the_domain_exists():
    used: set[str] = set()
    for path in Path(domain_pkg.__file__).parent.glob("*.py"):
        used |= set(re.findall(r"Code\.([A-Z][A-Z0-9_]+)", path.read_text(encoding="utf-8")))
    assert used, "the domain uses codes"
    assert used <= {c.name for c in Code}


@pytest.mark.parametrize(
    "name",
    [
        # section 5 refusal reasons, each with its own code
        "MEMBER_UNKNOWN", "MEMBER_WITHDRAWN", "MEMBER_EXPELLED", "MEMBER_NOT_ELIGIBLE",
        "CARD_LOST", "MEMBER_SUSPENDED", "MEMBER_HAS_OVERDUE", "SHARED_LIMIT_REACHED",
        "LIBRARY_LIMIT_REACHED", "CLASS_LIMIT_REACHED", "COPY_UNKNOWN", "COPY_NOT_LOANABLE",
        "COPY_ON_LOAN", "COPY_RESERVED", "RENEW_NOT_OWN_LIBRARY", "RENEW_LIMIT_REACHED",
        "RENEW_SAME_DAY", "RENEW_MEMBER_NOT_ACTIVE", "RENEW_RESERVED",
        "RETURN_NOT_ALLOWED_HERE", "UNDO_NOT_SAME_DAY",
        # section 4
        "GUARDIAN_REQUIRED", "WITHDRAW_HAS_LOANS", "WITHDRAW_HAS_RESERVATIONS",
        "WITHDRAW_SUSPENDED",
        # section 3
        "INVALID_MEMBER_NUMBER", "INVALID_BARCODE", "INVALID_LIBRARY_CODE",
    ],
)
def test_spec_refusals_have_codes(name):
    assert Code[name].value == name


# --- Reason -------------------------------------------------------------------------------

def test_reason_defaults_and_message():
    r = Reason(Code.CARD_LOST)
    assert r.details == {}
    assert r.message == "분실 신고된 이용증입니다."


def test_reason_details_are_not_shared_between_instances():
    a, b = Reason(Code.CARD_LOST), Reason(Code.CARD_LOST)
    assert a.details is not b.details


def test_reason_as_dict():
    r = Reason(Code.SHARED_LIMIT_REACHED, {"limit": 20, "on_loan": 20})
    assert r.as_dict() == {
        "code": "SHARED_LIMIT_REACHED",
        "message": "전체 도서관 통합 대출 한도를 초과합니다.",
        "details": {"limit": 20, "on_loan": 20},
    }
    assert r.as_dict("en")["message"] == "The network-wide loan limit would be exceeded."
    assert type(r.as_dict()["code"]) is str


def test_reason_is_immutable_and_comparable():
    r = Reason(Code.COPY_ON_LOAN)
    assert r == Reason(Code.COPY_ON_LOAN)
    assert r != Reason(Code.COPY_ON_LOAN, {"x": 1})
    with pytest.raises(AttributeError):
        r.code = Code.COPY_UNKNOWN  # type: ignore[misc]


# --- Decision -----------------------------------------------------------------------------

def test_empty_decision_is_allowed():
    assert Decision().allowed
    assert Decision(warnings=(Reason(Code.MEMBER_SUSPENDED),)).allowed  # warnings do not refuse


def test_decision_with_a_reason_is_refused():
    assert not Decision((Reason(Code.COPY_ON_LOAN),)).allowed


# --- DomainError --------------------------------------------------------------------------

def test_domain_error_from_a_code_with_details():
    err = DomainError(Code.POLICY_INVALID, key="x", problem="unknown setting")
    assert err.code is Code.POLICY_INVALID
    assert err.details == {"key": "x", "problem": "unknown setting"}
    assert err.reasons == (Reason(Code.POLICY_INVALID, {"key": "x", "problem": "unknown setting"}),)
    assert str(err) == "POLICY_INVALID"


def test_domain_error_from_a_code_without_details():
    err = DomainError(Code.NOT_FOUND)
    assert err.code is Code.NOT_FOUND and err.details == {}


def test_domain_error_from_one_reason():
    reason = Reason(Code.CARD_LOST, {"card": "x"})
    err = DomainError(reason)
    assert err.reasons == (reason,)
    assert err.code is Code.CARD_LOST
    assert err.details == {"card": "x"}


@pytest.mark.parametrize("container", [list, tuple])
def test_domain_error_carries_every_reason(container):
    reasons = container([Reason(Code.CARD_LOST), Reason(Code.COPY_ON_LOAN, {"n": 1})])
    err = DomainError(reasons)
    assert err.reasons == tuple(reasons)
    assert isinstance(err.reasons, tuple)
    assert err.code is Code.CARD_LOST  # the first reason leads
    assert str(err) == "CARD_LOST, COPY_ON_LOAN"


def test_domain_error_is_an_exception():
    with pytest.raises(Exception) as exc:
        raise DomainError(Code.CONFLICT)
    assert isinstance(exc.value, DomainError)
