"""Notices as data: what is sent (kinds), over which channel, when (quiet hours), under
which unique key, and the Korean text of each (issue 11 stage e-mails, issue 14 member
notices). Pure: the services write the outbox, the adapters in `chaekieum.notify` send.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Any

from .actors import SEOUL
from .onboarding import LABELS, PARTY_LABELS, RESPONSIBLE, Party, Stage


class Channel(StrEnum):
    EMAIL = "email"
    SMS = "sms"
    KAKAO = "kakao"  # 카카오 알림톡


class Kind(StrEnum):
    ONBOARDING_STAGE = "onboarding_stage"  # to the contacts of a joining library
    DUE_SOON = "due_soon"  # three days before the due date
    DUE_TODAY = "due_today"
    OVERDUE = "overdue"
    SUSPENSION_STARTED = "suspension_started"
    SUSPENSION_ENDED = "suspension_ended"
    RESERVATION_READY = "reservation_ready"


MEMBER_KINDS = (Kind.DUE_SOON, Kind.DUE_TODAY, Kind.OVERDUE, Kind.SUSPENSION_STARTED,
                Kind.SUSPENSION_ENDED, Kind.RESERVATION_READY)
KIND_LABELS = {
    Kind.ONBOARDING_STAGE: "참여 절차 단계 안내",
    Kind.DUE_SOON: "반납 예정 안내(3일 전)",
    Kind.DUE_TODAY: "반납일 안내",
    Kind.OVERDUE: "연체 안내",
    Kind.SUSPENSION_STARTED: "대출정지 시작",
    Kind.SUSPENSION_ENDED: "대출정지 종료",
    Kind.RESERVATION_READY: "예약 도서 도착",
}

DUE_SOON_DAYS = 3  # "three days before the due day"
# How far back the scheduler looks for something that happened (a suspension begun or
# ended, a reservation set aside, a loan that fell overdue): a scheduler that did not run
# for a while catches up, and its first run never mails the whole history.
LOOKBACK_DAYS = 7
OVERDUE_LOOKBACK_DAYS = 30

# Quiet hours (KST): no member notice leaves between 21:00 and 08:00; it waits until 08:00.
QUIET_START = time(21, 0)
QUIET_END = time(8, 0)

# Delivery: attempts and the wait before each retry of a transient failure.
MAX_ATTEMPTS = 6
BACKOFF = (timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=30),
           timedelta(hours=2), timedelta(hours=6))
CLAIM_LEASE = timedelta(minutes=10)  # a row "sending" longer than this was interrupted

EMAIL_RE = re.compile(r"^[A-Za-z0-9.!#$%&*+/=?^_`{|}~-]{1,64}@[A-Za-z0-9.-]{1,253}\.[A-Za-z]{2,63}$")


def quiet(now_utc: datetime) -> bool:
    """Is `now_utc` (naive UTC) inside the quiet hours in Seoul?"""
    local = _seoul(now_utc).time()
    return local >= QUIET_START or local < QUIET_END


def not_before(now_utc: datetime) -> datetime:
    """When a member notice made at `now_utc` may leave: now, or 08:00 KST after the quiet
    hours (naive UTC)."""
    if not quiet(now_utc):
        return now_utc
    local = _seoul(now_utc)
    day = local.date() if local.time() < QUIET_END else local.date() + timedelta(days=1)
    morning = datetime.combine(day, QUIET_END, tzinfo=SEOUL)
    return morning.astimezone(UTC).replace(tzinfo=None)


def retry_at(now_utc: datetime, attempts: int) -> datetime | None:
    """When a transient failure is tried again; None: give up (failed)."""
    if attempts >= MAX_ATTEMPTS:
        return None
    return now_utc + BACKOFF[min(attempts, len(BACKOFF)) - 1]


def member_key(kind: Kind, member_id: int, ref: Any, day: date, channel: Channel) -> str:
    """The unique key of a member notice: member, loan (or suspension, reservation), kind,
    date and channel. The outbox has a unique index on it, so a scheduler that runs
    twice (or two at once) makes one row, and one row is sent at most once."""
    return f"{kind}:{member_id}:{ref}:{day.isoformat()}:{channel}"


def onboarding_key(log_id: int, email: str) -> str:
    return f"{Kind.ONBOARDING_STAGE}:{log_id}:{email.lower()}"


@dataclass(frozen=True)
class Message:
    """One notice as a sender gets it."""

    notice_id: int
    channel: Channel
    kind: Kind
    to: str  # an e-mail address or a phone number
    subject: str
    body: str
    params: dict[str, Any] = field(default_factory=dict)  # 알림톡 template variables


class DeliveryError(Exception):
    """A sender could not deliver. `permanent`: retrying will not help (a refused
    address); otherwise the outbox tries again later."""

    def __init__(self, message: str, permanent: bool = False):
        super().__init__(message)
        self.permanent = permanent


# -- texts ---------------------------------------------------------------------------
def _seoul(utc_naive: datetime) -> datetime:
    return utc_naive.replace(tzinfo=UTC).astimezone(SEOUL)


# What the party responsible for a stage must do there (the stage e-mail says it).
NEXT_STEPS = {
    Stage.SUITABILITY: "정보화 현황, 물품(바코드 리더기·RFID 패드·무인대출반납기·무인반납기·"
                       "회원증 발급기), 운영 환경을 점검표에 기록해 주십시오.",
    Stage.VENDOR: "구축을 맡을 사업자를 선정하고 사업자 연락처를 등록해 주십시오.",
    Stage.APPLICATION: "참여신청서와 수요조사서를 제출하고 공문을 발송한 뒤 세부일정을 "
                       "등록해 주십시오.",
    Stage.REGISTERED: "국립중앙도서관이 도서관부호를 부여·검증하고 지역과 지역대표도서관을 "
                      "지정하며 시험(샌드박스) 인증정보를 발급합니다.",
    Stage.BUILDING: "사업자는 구축연계 안내서와 미들웨어로 도서관리시스템과 대출·반납·회원 "
                    "등록 장비를 연계하고, 회원관리 규정 개정과 번호 표준 적용을 마쳐 주십시오.",
    Stage.TESTING: "적합성 검사를 통과한 보고서를 올리고, 연계 시스템마다 연계·시험 완료를 "
                   "표시하며 직원 교육을 마쳐 주십시오.",
    Stage.PILOT: "시범운영 기간 동안 실제 회원으로 대출·반납을 운영하며 문제를 보고해 "
                 "주십시오. 서비스 개시일은 국립중앙도서관이 공지합니다.",
    Stage.LIVE: "책이음 서비스가 시작되었습니다. 회원 안내와 운영을 이어가 주십시오.",
    Stage.SUSPENDED: "운영이 중지되었습니다. 국립중앙도서관과 재개 일정을 협의해 주십시오.",
    Stage.ON_HOLD: "보류 사유를 해소한 뒤 지역대표도서관에 재개를 요청해 주십시오.",
    Stage.WITHDRAWN: "참여 절차가 종료되었습니다. 다시 참여하려면 사전 영향성 검토부터 "
                     "시작합니다.",
}


@dataclass(frozen=True)
class StageChange:
    library_code: str
    library_name: str
    previous: str
    stage: Stage
    actor: str
    at: datetime  # naive UTC
    reason: str = ""


def stage_email(change: StageChange) -> tuple[str, str]:
    """Subject and body of the e-mail to a joining library's contacts on a transition."""
    stage = change.stage
    label = LABELS[stage]
    party: Party = RESPONSIBLE[stage]
    subject = f"[책이음] {change.library_name}({change.library_code}) 참여 절차: {label}"
    when = _seoul(change.at).strftime("%Y-%m-%d %H:%M")
    lines = [
        f"{change.library_name}({change.library_code})의 책이음 참여 절차가 "
        f"'{label}' 단계가 되었습니다.",
        "",
        f"- 이전 단계: {LABELS.get(change.previous, change.previous)}",
        f"- 현재 단계: {label}",
        f"- 변경: {when} (한국시간), {change.actor}",
    ]
    if stage in (Stage.ON_HOLD, Stage.WITHDRAWN) or change.reason.strip():
        lines.append(f"- 사유: {change.reason.strip() or '-'}")
    lines += [
        f"- 다음 담당: {PARTY_LABELS[party]}",
        "",
        "다음에 할 일:",
        NEXT_STEPS[stage],
        "",
        "이 메일은 책이음 통합센터가 참여 절차 담당자에게 자동으로 보냅니다.",
    ]
    return subject, "\n".join(lines)


def member_text(kind: Kind, params: dict[str, Any]) -> tuple[str, str]:
    """Subject and body of a member notice (the same text on every channel; SMS and
    알림톡 use the body). `params`: name, title, library, due_on, until, pickup_by."""
    name = params.get("name") or "회원"
    title = params.get("title") or "대출 자료"
    library = params.get("library", "")
    if kind is Kind.DUE_SOON:
        subject = "[책이음] 반납 예정일 3일 전 안내"
        body = (f"{name}님, {library}에서 빌린 『{title}』의 반납 예정일은 "
                f"{params['due_on']}입니다. 반납일까지 3일 남았습니다.")
    elif kind is Kind.DUE_TODAY:
        subject = "[책이음] 오늘은 반납 예정일입니다"
        body = (f"{name}님, {library}에서 빌린 『{title}』의 반납 예정일이 오늘"
                f"({params['due_on']})입니다. 가까운 책이음 도서관에 반납해 주세요.")
    elif kind is Kind.OVERDUE:
        subject = "[책이음] 연체 안내"
        body = (f"{name}님, {library}에서 빌린 『{title}』의 반납 예정일"
                f"({params['due_on']})이 지났습니다. 연체한 날만큼 대출이 정지될 수 "
                "있으니 빨리 반납해 주세요.")
    elif kind is Kind.SUSPENSION_STARTED:
        subject = "[책이음] 대출정지 안내"
        body = (f"{name}님, 연체 반납으로 {params['until']}까지 모든 책이음 도서관에서 "
                "대출이 정지되었습니다.")
    elif kind is Kind.SUSPENSION_ENDED:
        subject = "[책이음] 대출정지 종료 안내"
        body = (f"{name}님, 대출정지가 {params['until']}로 끝났습니다. 오늘부터 책이음 "
                "도서관에서 다시 대출할 수 있습니다.")
    elif kind is Kind.RESERVATION_READY:
        subject = "[책이음] 예약 도서 도착 안내"
        body = (f"{name}님, 예약하신 『{title}』이(가) {library}에 도착했습니다. "
                f"{params['pickup_by']}까지 찾아가 주세요.")
    else:
        raise ValueError(kind)
    return subject, body + "\n\n책이음 알림 받기 설정은 내 서재에서 바꿀 수 있습니다."


@dataclass(frozen=True)
class Preferences:
    """A member's channels. Without a choice of their own: e-mail on, SMS and 알림톡 off."""

    email: bool = True
    sms: bool = False
    kakao: bool = False

    def channels(self) -> list[Channel]:
        return [c for c in Channel if getattr(self, str(c))]
