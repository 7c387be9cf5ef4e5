"""Joining the network (domain.md section 7) as a state machine over a library's status."""

from __future__ import annotations

from enum import StrEnum

from .errors import Code, DomainError


class Stage(StrEnum):
    SUITABILITY = "suitability_check"  # 사전 영향성 검토
    VENDOR = "vendor_selection"  # 사업자 선정
    APPLICATION = "application"  # 참여신청
    REGISTERED = "registered"  # 참여도서관 등록 (국중)
    BUILDING = "building"  # 구축 및 연계
    TESTING = "final_test"  # 최종 테스트 및 교육
    PILOT = "pilot"  # 시범운영
    LIVE = "live"  # 서비스 개시
    SUSPENDED = "suspended"  # temporarily out of the network


ORDER = [
    Stage.SUITABILITY, Stage.VENDOR, Stage.APPLICATION, Stage.REGISTERED,
    Stage.BUILDING, Stage.TESTING, Stage.PILOT, Stage.LIVE,
]

LABELS = {
    Stage.SUITABILITY: "사전 영향성 검토",
    Stage.VENDOR: "사업자 선정",
    Stage.APPLICATION: "참여 신청",
    Stage.REGISTERED: "참여도서관 등록",
    Stage.BUILDING: "구축 및 연계",
    Stage.TESTING: "최종 테스트·교육",
    Stage.PILOT: "시범운영",
    Stage.LIVE: "서비스 개시",
    Stage.SUSPENDED: "운영 중지",
}


def allowed_next(current: str) -> set[Stage]:
    try:
        stage = Stage(current)
    except ValueError:
        raise DomainError(Code.ONBOARDING_BAD_STEP, current=current) from None
    if stage is Stage.SUSPENDED:
        return {Stage.LIVE}
    if stage is Stage.LIVE:
        return {Stage.SUSPENDED}
    return {ORDER[ORDER.index(stage) + 1]}


def advance(current: str, target: str) -> Stage:
    try:
        wanted = Stage(target)
    except ValueError:
        raise DomainError(Code.ONBOARDING_BAD_STEP, target=target) from None
    if wanted not in allowed_next(current):
        raise DomainError(
            Code.ONBOARDING_BAD_STEP,
            current=current,
            target=target,
            allowed=sorted(str(s) for s in allowed_next(current)),
        )
    return wanted


# A library lends and returns from the pilot (시범운영) on; earlier stages are still
# building and testing, and a suspended library is out of the network.
CIRCULATING = frozenset({Stage.PILOT, Stage.LIVE})


def can_circulate(status: str) -> bool:
    return status in CIRCULATING
