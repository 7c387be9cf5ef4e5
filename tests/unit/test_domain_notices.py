"""Notices as data (domain/notices.py): quiet hours at their edges, the unique keys,
retries, the channels of a member's choice and the Korean texts."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from chaekieum.domain import notices as dn
from chaekieum.domain.onboarding import Stage


def utc(kst: str) -> datetime:
    """A Seoul wall-clock time as the naive UTC the hub stores."""
    return datetime.fromisoformat(kst) - timedelta(hours=9)


@pytest.mark.parametrize(("kst", "quiet"), [
    ("2026-03-04 20:59", False), ("2026-03-04 21:00", True), ("2026-03-04 23:59", True),
    ("2026-03-05 00:00", True), ("2026-03-05 07:59", True), ("2026-03-05 08:00", False),
    ("2026-03-05 12:00", False),
])
def test_quiet_hours_are_21_to_8_in_seoul(kst: str, quiet: bool) -> None:
    assert dn.quiet(utc(kst)) is quiet


def test_a_notice_made_in_the_quiet_hours_leaves_at_8_the_next_morning() -> None:
    assert dn.not_before(utc("2026-03-04 22:30")) == utc("2026-03-05 08:00")
    assert dn.not_before(utc("2026-03-05 03:00")) == utc("2026-03-05 08:00")
    noon = utc("2026-03-05 12:00")
    assert dn.not_before(noon) == noon


def test_retries_back_off_then_give_up() -> None:
    now = utc("2026-03-05 12:00")
    assert dn.retry_at(now, 1) == now + timedelta(minutes=1)
    assert dn.retry_at(now, 2) == now + timedelta(minutes=5)
    assert dn.retry_at(now, dn.MAX_ATTEMPTS - 1) is not None
    assert dn.retry_at(now, dn.MAX_ATTEMPTS) is None


def test_keys_name_member_loan_kind_date_and_channel() -> None:
    k = dn.member_key(dn.Kind.DUE_SOON, 7, 42, date(2026, 3, 7), dn.Channel.EMAIL)
    assert k == "due_soon:7:42:2026-03-07:email"
    assert k != dn.member_key(dn.Kind.DUE_SOON, 7, 42, date(2026, 3, 7), dn.Channel.SMS)
    assert dn.onboarding_key(3, "PM@Vendor.co.kr") == "onboarding_stage:3:pm@vendor.co.kr"


def test_default_channels_are_email_only() -> None:
    assert dn.Preferences().channels() == [dn.Channel.EMAIL]
    assert dn.Preferences(False, True, True).channels() == [dn.Channel.SMS, dn.Channel.KAKAO]


def test_member_texts_in_korean() -> None:
    subject, body = dn.member_text(dn.Kind.DUE_SOON, {
        "name": "김하늘", "title": "토지", "library": "서울도서관", "due_on": "2026-03-07"})
    assert subject == "[책이음] 반납 예정일 3일 전 안내"
    assert body.startswith("김하늘님, 서울도서관에서 빌린 『토지』의 반납 예정일은 2026-03-07")
    _, body = dn.member_text(dn.Kind.RESERVATION_READY, {
        "name": "김하늘", "title": "토지", "library": "서울도서관", "pickup_by": "2026-03-10"})
    assert "2026-03-10까지 찾아가 주세요" in body
    for kind in dn.MEMBER_KINDS:  # every kind has a text
        assert dn.member_text(kind, {"due_on": "x", "until": "y", "pickup_by": "z"})[0]


def test_stage_email_names_the_next_party_and_the_reason() -> None:
    subject, body = dn.stage_email(dn.StageChange(
        "141099", "경기 새내기작은도서관", "building", Stage.ON_HOLD, "key:ab12",
        utc("2026-03-04 10:00"), "예산 미확보"))
    assert subject == "[책이음] 경기 새내기작은도서관(141099) 참여 절차: 보류"
    assert "- 이전 단계: 구축 및 연계" in body and "- 사유: 예산 미확보" in body
    assert "- 다음 담당: 지역대표도서관" in body and "2026-03-04 10:00 (한국시간)" in body


def test_addresses() -> None:
    assert dn.EMAIL_RE.match("pm@vendor.co.kr")
    for bad in ("pm@", "pm vendor@x.kr", "<a@b.kr>", "a@b", "a@b.c", "담당@x.kr"):
        assert not dn.EMAIL_RE.match(bad), bad
