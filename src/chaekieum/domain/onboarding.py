"""Joining the network (domain.md section 7) as a state machine over a library's status.

Everything that describes the process is data: the stages, the party responsible for
each, the legal transitions, the checklists per stage and the kinds of linked systems.
The gates before pilot and launch are pure functions over facts the service gathers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
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
    SUSPENDED = "suspended"  # temporarily out of the network (after launch)
    ON_HOLD = "on_hold"  # 보류: onboarding paused, with a reason
    WITHDRAWN = "withdrawn"  # 참여 철회: onboarding abandoned, with a reason


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
    Stage.ON_HOLD: "보류",
    Stage.WITHDRAWN: "참여 철회",
}


class Party(StrEnum):
    LIBRARY = "library"  # 참여도서관
    VENDOR = "vendor"  # 사업자
    REGIONAL_CENTER = "regional_center"  # 지역대표도서관
    NATIONAL = "national"  # 국립중앙도서관 (국중)


PARTY_LABELS = {Party.LIBRARY: "참여도서관", Party.VENDOR: "사업자",
                Party.REGIONAL_CENTER: "지역대표도서관", Party.NATIONAL: "국립중앙도서관"}

# Who must act while a library is at a stage (to finish it and ask for the next).
RESPONSIBLE = {
    Stage.SUITABILITY: Party.LIBRARY,
    Stage.VENDOR: Party.LIBRARY,
    Stage.APPLICATION: Party.LIBRARY,
    Stage.REGISTERED: Party.NATIONAL,  # 도서관부호, region, sandbox credentials, guides
    Stage.BUILDING: Party.VENDOR,
    Stage.TESTING: Party.REGIONAL_CENTER,
    Stage.PILOT: Party.LIBRARY,
    Stage.LIVE: Party.LIBRARY,
    Stage.SUSPENDED: Party.NATIONAL,
    Stage.ON_HOLD: Party.REGIONAL_CENTER,
    Stage.WITHDRAWN: Party.NATIONAL,
}



def vendor_may_move(current: str, target: str) -> bool:
    """A vendor moves a library only one step forward, from a stage where the vendor is
    the responsible party (구축 -> 최종 테스트); never to hold or withdrawal."""
    if current not in ORDER[:-1]:
        return False
    stage = Stage(current)
    return RESPONSIBLE[stage] is Party.VENDOR and target == ORDER[ORDER.index(stage) + 1]


# Stages of the process proper, where a library may be put on hold or withdraw.
IN_PROGRESS = frozenset(ORDER[:-1])
# Legal transitions as data: each stage's forward step, plus hold and withdrawal while in
# progress; after launch only suspension and its lifting. From ON_HOLD the library goes
# back to the stage it was held at (RESUME) or withdraws. WITHDRAWN is final.
RESUME = "resume"
TRANSITIONS: dict[Stage, tuple[Stage | str, ...]] = {
    **{s: (ORDER[i + 1], Stage.ON_HOLD, Stage.WITHDRAWN) for i, s in enumerate(ORDER[:-1])},
    Stage.LIVE: (Stage.SUSPENDED,),
    Stage.SUSPENDED: (Stage.LIVE,),
    Stage.ON_HOLD: (RESUME, Stage.WITHDRAWN),
    Stage.WITHDRAWN: (),
}
NEEDS_REASON = frozenset({Stage.ON_HOLD, Stage.WITHDRAWN})


@dataclass(frozen=True)
class Item:
    key: str
    ko: str
    en: str


# Checklists per stage: the seed's items (정보화 현황, 물품, 운영 환경·규정).
CHECKLISTS: dict[Stage, tuple[Item, ...]] = {
    Stage.SUITABILITY: (
        Item("it.ils", "정보화 현황: 도서관리시스템(ILS) 종류와 버전", "IT status: ILS and version"),
        Item("it.network", "정보화 현황: 인터넷 회선과 방화벽", "IT status: network and firewall"),
        Item("it.pcs", "정보화 현황: 업무용 PC", "IT status: staff PCs"),
        Item("equipment.barcode_scanner", "물품: 바코드 리더기", "Equipment: barcode scanners"),
        Item("equipment.rfid_pad", "물품: RFID 패드", "Equipment: RFID pads"),
        Item("equipment.kiosk", "물품: 무인대출반납기", "Equipment: kiosks"),
        Item("equipment.book_drop", "물품: 무인반납기(북드롭)", "Equipment: book drops"),
        Item("equipment.card_printer", "물품: 회원증 발급기", "Equipment: card printers"),
        Item("environment.operating", "운영 환경 검토", "Operating environment reviewed"),
    ),
    Stage.APPLICATION: (
        Item("application.form", "참여신청서 제출", "Application form submitted"),
        Item("application.survey", "수요조사서 제출", "Demand survey submitted"),
        Item("application.letter", "공문 발송", "Official letter (공문) sent"),
        Item("application.schedule", "세부일정 제출", "Detailed schedule submitted"),
    ),
    Stage.BUILDING: (
        Item("rules.member_management", "회원관리 규정을 책이음 규정으로 개정",
             "Member-management rules changed to the 책이음 rules"),
        Item("rules.numbering", "회원번호 부여 표준 적용", "Numbering standard adopted"),
    ),
    Stage.TESTING: (
        Item("testing.final_test", "최종 테스트 완료", "Final test done"),
        Item("testing.staff_training", "직원 교육 완료", "Staff trained"),
    ),
}
ITEMS = {item.key: (stage, item) for stage, items in CHECKLISTS.items() for item in items}

# Every system that lends, returns, renews or registers must be linked and tested.
SYSTEM_KINDS = {
    "ils": "도서관리시스템(ILS)", "rfid_pad": "RFID 패드", "kiosk": "무인대출반납기",
    "book_drop": "무인반납기", "homepage": "홈페이지", "mobile_app": "모바일 앱",
}


def _stage(value: str, key: str) -> Stage:
    try:
        return Stage(value)
    except ValueError:
        raise DomainError(Code.ONBOARDING_BAD_STEP, **{key: value}) from None


def allowed_next(current: str, held_at: str | None = None) -> set[Stage]:
    """The stages a library may move to; `held_at` is where an on-hold library stood."""
    stage = _stage(current, "current")
    out = set()
    for t in TRANSITIONS[stage]:
        if t == RESUME:
            if held_at:
                out.add(Stage(held_at))
        else:
            out.add(Stage(t))
    return out


def advance(current: str, target: str, held_at: str | None = None,
            reason: str = "") -> Stage:
    wanted = _stage(target, "target")
    allowed = allowed_next(current, held_at)
    if wanted not in allowed:
        raise DomainError(Code.ONBOARDING_BAD_STEP, current=current, target=target,
                          allowed=sorted(str(s) for s in allowed))
    if wanted in NEEDS_REASON and not reason.strip():
        raise DomainError(Code.ONBOARDING_REASON_REQUIRED, target=target)
    return wanted


def checklist_item(key: str) -> Item:
    if key not in ITEMS:
        raise DomainError(Code.ONBOARDING_UNKNOWN_ITEM, item=key)
    return ITEMS[key][1]


# -- gates ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Rules:
    """Configurable thresholds of the gates (Hub(onboarding_rules=...))."""

    report_max_age_days: int = 30  # a conformance report older than this does not count
    launch_notice_days: int = 14  # launch date announced at least this many days ahead
    pilot_min_days: int = 14  # the pilot runs at least this long


@dataclass(frozen=True)
class ReportFacts:
    result: str  # pass | fail | incomplete (the kit's summary.result)
    finished_at: datetime  # when the run ended (naive UTC)


@dataclass(frozen=True)
class SystemFacts:
    name: str
    integrated: bool
    tested: bool


def pilot_gate(rules: Rules, now: datetime, report: ReportFacts | None,
               systems: list[SystemFacts]) -> None:
    """Pilot needs the latest conformance report passing and fresh, and every linked
    system (at least one) ticked as integrated and tested."""
    if report is None:
        raise DomainError(Code.ONBOARDING_NO_REPORT)
    if report.result != "pass":
        raise DomainError(Code.ONBOARDING_REPORT_FAILED, result=report.result)
    age = now - report.finished_at
    if age > timedelta(days=rules.report_max_age_days):
        raise DomainError(Code.ONBOARDING_REPORT_STALE, age_days=age.days,
                          max_age_days=rules.report_max_age_days)
    open_ = sorted(s.name for s in systems if not (s.integrated and s.tested))
    if not systems or open_:
        raise DomainError(Code.ONBOARDING_SYSTEMS_OPEN, systems=open_ or None)


def launch_gate(rules: Rules, today: date, launch_date: date | None,
                announced_on: date | None, pilot_since: date | None) -> None:
    """Launch needs a launch date announced N days ahead, reached, after a pilot of the
    configured minimum length."""
    if launch_date is None or announced_on is None:
        raise DomainError(Code.ONBOARDING_LAUNCH_NOT_ANNOUNCED)
    notice = (launch_date - announced_on).days
    if notice < rules.launch_notice_days:
        raise DomainError(Code.ONBOARDING_LAUNCH_TOO_SOON, notice_days=notice,
                          required_days=rules.launch_notice_days)
    if today < launch_date:
        raise DomainError(Code.ONBOARDING_LAUNCH_NOT_YET, launch_date=launch_date.isoformat())
    ran = (today - pilot_since).days if pilot_since else 0
    if ran < rules.pilot_min_days:
        raise DomainError(Code.ONBOARDING_PILOT_TOO_SHORT, pilot_days=ran,
                          required_days=rules.pilot_min_days)


def overdue(planned_on: date | None, today: date, reached: bool) -> bool:
    """A stage not reached by its planned date is overdue."""
    return planned_on is not None and not reached and today > planned_on


# A library lends and returns from the pilot (시범운영) on; earlier stages are still
# building and testing, and a suspended library is out of the network.
CIRCULATING = frozenset({Stage.PILOT, Stage.LIVE})


def can_circulate(status: str) -> bool:
    return status in CIRCULATING
