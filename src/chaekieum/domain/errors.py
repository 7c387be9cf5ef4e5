"""Stable refusal codes with their Korean (default) and English messages.

Every refusal the hub can give -- at the desk, on a kiosk or over the API -- is one
of these codes, so that every channel explains it the same way.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Code(StrEnum):
    # members
    MEMBER_UNKNOWN = "MEMBER_UNKNOWN"
    MEMBER_WITHDRAWN = "MEMBER_WITHDRAWN"
    MEMBER_EXPELLED = "MEMBER_EXPELLED"
    MEMBER_BARRED_HERE = "MEMBER_BARRED_HERE"
    MEMBER_STATUS_UNCHANGED = "MEMBER_STATUS_UNCHANGED"
    MEMBER_NOT_ELIGIBLE = "MEMBER_NOT_ELIGIBLE"
    CARD_LOST = "CARD_LOST"
    MEMBER_SUSPENDED = "MEMBER_SUSPENDED"
    MEMBER_HAS_OVERDUE = "MEMBER_HAS_OVERDUE"
    GUARDIAN_REQUIRED = "GUARDIAN_REQUIRED"
    DUPLICATE_MEMBER = "DUPLICATE_MEMBER"
    CARD_UID_IN_USE = "CARD_UID_IN_USE"
    WITHDRAW_HAS_LOANS = "WITHDRAW_HAS_LOANS"
    WITHDRAW_HAS_RESERVATIONS = "WITHDRAW_HAS_RESERVATIONS"
    WITHDRAW_SUSPENDED = "WITHDRAW_SUSPENDED"
    MEMBER_NUMBERS_EXHAUSTED = "MEMBER_NUMBERS_EXHAUSTED"
    # online registration (온라인 회원가입) and identity verification (본인인증)
    IDENTITY_VERIFICATION_REQUIRED = "IDENTITY_VERIFICATION_REQUIRED"
    GUARDIAN_VERIFICATION_REQUIRED = "GUARDIAN_VERIFICATION_REQUIRED"
    GUARDIAN_NOT_ADULT = "GUARDIAN_NOT_ADULT"
    IDENTITY_VERIFICATION_FAILED = "IDENTITY_VERIFICATION_FAILED"
    IDENTITY_MISMATCH = "IDENTITY_MISMATCH"
    IDENTITY_PROVIDER_UNKNOWN = "IDENTITY_PROVIDER_UNKNOWN"
    CONSENT_REQUIRED = "CONSENT_REQUIRED"
    FORM_TOO_FAST = "FORM_TOO_FAST"
    # limits
    SHARED_LIMIT_REACHED = "SHARED_LIMIT_REACHED"
    LIBRARY_LIMIT_REACHED = "LIBRARY_LIMIT_REACHED"
    CLASS_LIMIT_REACHED = "CLASS_LIMIT_REACHED"
    # copies
    COPY_UNKNOWN = "COPY_UNKNOWN"
    COPY_NOT_LOANABLE = "COPY_NOT_LOANABLE"
    COPY_ON_LOAN = "COPY_ON_LOAN"
    COPY_RESERVED = "COPY_RESERVED"
    COPY_IN_TRANSIT = "COPY_IN_TRANSIT"
    SANDBOX_MIXED = "SANDBOX_MIXED"
    SANDBOX_NO_PEER = "SANDBOX_NO_PEER"
    SANDBOX_ONLY = "SANDBOX_ONLY"
    COPY_NOT_HERE = "COPY_NOT_HERE"
    # renewals
    RENEW_NOT_OWN_LIBRARY = "RENEW_NOT_OWN_LIBRARY"
    RENEW_LIMIT_REACHED = "RENEW_LIMIT_REACHED"
    RENEW_SAME_DAY = "RENEW_SAME_DAY"
    RENEW_MEMBER_NOT_ACTIVE = "RENEW_MEMBER_NOT_ACTIVE"
    RENEW_RESERVED = "RENEW_RESERVED"
    # reservations (예약)
    RESERVATION_DUPLICATE = "RESERVATION_DUPLICATE"
    RESERVATION_OWN_LOAN = "RESERVATION_OWN_LOAN"
    RESERVATION_COPY_AVAILABLE = "RESERVATION_COPY_AVAILABLE"
    RESERVATION_LIMIT_REACHED = "RESERVATION_LIMIT_REACHED"
    RESERVATION_NOT_JOINED = "RESERVATION_NOT_JOINED"
    RESERVATION_OTHER_LIBRARY = "RESERVATION_OTHER_LIBRARY"
    RESERVATION_UNKNOWN = "RESERVATION_UNKNOWN"
    RESERVATION_BAD_STATE = "RESERVATION_BAD_STATE"
    # returns and corrections
    NOT_ON_LOAN = "NOT_ON_LOAN"
    RETURN_NOT_ALLOWED_HERE = "RETURN_NOT_ALLOWED_HERE"
    UNDO_NOT_SAME_DAY = "UNDO_NOT_SAME_DAY"
    UNDO_NOT_POSSIBLE = "UNDO_NOT_POSSIBLE"
    TRANSIT_BAD_STATE = "TRANSIT_BAD_STATE"
    # identifiers
    INVALID_MEMBER_NUMBER = "INVALID_MEMBER_NUMBER"
    INVALID_BARCODE = "INVALID_BARCODE"
    INVALID_LIBRARY_CODE = "INVALID_LIBRARY_CODE"
    # network
    LIBRARY_UNKNOWN = "LIBRARY_UNKNOWN"
    LIBRARY_NOT_LIVE = "LIBRARY_NOT_LIVE"
    LIBRARY_EXISTS = "LIBRARY_EXISTS"
    REGION_UNKNOWN = "REGION_UNKNOWN"
    ONBOARDING_BAD_STEP = "ONBOARDING_BAD_STEP"
    ONBOARDING_NOT_REGISTERED = "ONBOARDING_NOT_REGISTERED"
    ONBOARDING_REASON_REQUIRED = "ONBOARDING_REASON_REQUIRED"
    ONBOARDING_UNKNOWN_ITEM = "ONBOARDING_UNKNOWN_ITEM"
    ONBOARDING_NO_REPORT = "ONBOARDING_NO_REPORT"
    ONBOARDING_REPORT_FAILED = "ONBOARDING_REPORT_FAILED"
    ONBOARDING_REPORT_STALE = "ONBOARDING_REPORT_STALE"
    ONBOARDING_REPORT_INVALID = "ONBOARDING_REPORT_INVALID"
    ONBOARDING_SYSTEMS_OPEN = "ONBOARDING_SYSTEMS_OPEN"
    ONBOARDING_LAUNCH_NOT_ANNOUNCED = "ONBOARDING_LAUNCH_NOT_ANNOUNCED"
    ONBOARDING_LAUNCH_TOO_SOON = "ONBOARDING_LAUNCH_TOO_SOON"
    ONBOARDING_LAUNCH_NOT_YET = "ONBOARDING_LAUNCH_NOT_YET"
    ONBOARDING_PILOT_TOO_SHORT = "ONBOARDING_PILOT_TOO_SHORT"
    ONBOARDING_DOCUMENT_TOO_LARGE = "ONBOARDING_DOCUMENT_TOO_LARGE"
    ONBOARDING_DOCUMENT_TYPE = "ONBOARDING_DOCUMENT_TYPE"
    VENDOR_BRN_INVALID = "VENDOR_BRN_INVALID"
    VENDOR_UNKNOWN = "VENDOR_UNKNOWN"
    VENDOR_EXISTS = "VENDOR_EXISTS"
    VENDOR_ASSIGN_STAGE = "VENDOR_ASSIGN_STAGE"
    POLICY_INVALID = "POLICY_INVALID"
    POLICY_NATIONAL_ONLY = "POLICY_NATIONAL_ONLY"
    # access
    AUTH_REQUIRED = "AUTH_REQUIRED"
    AUTH_INVALID = "AUTH_INVALID"
    FORBIDDEN = "FORBIDDEN"
    MEMBER_NOT_JOINED_HERE = "MEMBER_NOT_JOINED_HERE"
    MEMBER_OUT_OF_REGION = "MEMBER_OUT_OF_REGION"
    MEMBER_NOT_ISSUED_HERE = "MEMBER_NOT_ISSUED_HERE"
    SCOPE_NOT_GRANTED = "SCOPE_NOT_GRANTED"
    # generic request problems
    NOT_FOUND = "NOT_FOUND"
    VALIDATION_ERROR = "VALIDATION_ERROR"
    MALFORMED_JSON = "MALFORMED_JSON"
    PAYLOAD_TOO_LARGE = "PAYLOAD_TOO_LARGE"
    METHOD_NOT_ALLOWED = "METHOD_NOT_ALLOWED"
    UNSUPPORTED_MEDIA_TYPE = "UNSUPPORTED_MEDIA_TYPE"
    IDEMPOTENCY_KEY_REUSED = "IDEMPOTENCY_KEY_REUSED"
    CONFLICT = "CONFLICT"
    RATE_LIMITED = "RATE_LIMITED"
    SERVICE_UNAVAILABLE = "SERVICE_UNAVAILABLE"
    INTERNAL_ERROR = "INTERNAL_ERROR"
    # library connector (offline operation)
    HUB_UNREACHABLE = "HUB_UNREACHABLE"
    OFFLINE_MEMBER_UNVERIFIED = "OFFLINE_MEMBER_UNVERIFIED"


MESSAGES: dict[Code, tuple[str, str]] = {
    Code.IDENTITY_VERIFICATION_REQUIRED: (
        "본인인증이 필요합니다.",
        "Identity verification is required.",
    ),
    Code.GUARDIAN_VERIFICATION_REQUIRED: (
        "만 14세 미만은 보호자(법정대리인)의 본인인증이 필요합니다.",
        "Under 14, the guardian's identity verification is required.",
    ),
    Code.GUARDIAN_NOT_ADULT: (
        "보호자(법정대리인)는 성인이어야 합니다.",
        "The guardian must be an adult.",
    ),
    Code.IDENTITY_VERIFICATION_FAILED: (
        "본인인증 결과를 확인할 수 없습니다. 처음부터 다시 인증해 주세요.",
        "The identity verification could not be confirmed; please verify again.",
    ),
    Code.IDENTITY_MISMATCH: (
        "입력한 정보가 본인인증 결과와 일치하지 않습니다.",
        "The details given do not match the identity verification.",
    ),
    Code.IDENTITY_PROVIDER_UNKNOWN: (
        "사용할 수 없는 본인인증 수단입니다.",
        "This identity verification provider is not available.",
    ),
    Code.CONSENT_REQUIRED: (
        "개인정보 수집·이용에 동의해야 가입할 수 있습니다.",
        "Consent to the collection and use of personal data is required.",
    ),
    Code.FORM_TOO_FAST: (
        "신청서가 너무 빨리 제출되었습니다. 내용을 확인한 뒤 다시 제출해 주세요.",
        "The form was submitted too quickly; check it and submit again.",
    ),
    Code.MEMBER_UNKNOWN: ("등록되지 않은 회원입니다.", "Unknown member."),
    Code.MEMBER_WITHDRAWN: ("탈퇴한 회원입니다.", "The member has withdrawn."),
    Code.MEMBER_EXPELLED: ("제적된 회원입니다.", "The member has been expelled."),
    Code.MEMBER_BARRED_HERE: (
        "이 도서관에서 이용이 제한된 회원입니다. 이 도서관에서는 대출할 수 없습니다.",
        "This library has barred the member: no loans here.",
    ),
    Code.MEMBER_STATUS_UNCHANGED: (
        "회원이 이미 그 상태입니다.",
        "The member already has that status.",
    ),
    Code.MEMBER_NOT_ELIGIBLE: ("비회원은 대출할 수 없습니다.", "Non-members cannot borrow."),
    Code.CARD_LOST: ("분실 신고된 이용증입니다.", "This card has been reported lost."),
    Code.MEMBER_SUSPENDED: ("대출정지 중인 회원입니다.", "The member's borrowing is suspended."),
    Code.MEMBER_HAS_OVERDUE: ("연체 중인 자료가 있습니다.", "The member has an overdue item."),
    Code.GUARDIAN_REQUIRED: (
        "만 14세 미만은 법정대리인 정보가 필요합니다.",
        "A legal guardian is required under age 14.",
    ),
    Code.DUPLICATE_MEMBER: ("이미 가입된 회원입니다.", "This person is already a member."),
    Code.CARD_UID_IN_USE: (
        "다른 회원에게 연결된 카드입니다.",
        "This card is linked to another member.",
    ),
    Code.WITHDRAW_HAS_LOANS: (
        "대출 중인 자료가 있어 탈퇴할 수 없습니다.",
        "Cannot withdraw while items are on loan.",
    ),
    Code.WITHDRAW_HAS_RESERVATIONS: (
        "예약 중인 자료가 있어 탈퇴할 수 없습니다.",
        "Cannot withdraw while reservations remain.",
    ),
    Code.WITHDRAW_SUSPENDED: (
        "대출정지 기간 중에는 탈퇴할 수 없습니다.",
        "Cannot withdraw while a suspension is running.",
    ),
    Code.MEMBER_NUMBERS_EXHAUSTED: (
        "올해 이 도서관에서 발급할 수 있는 회원번호가 모두 소진되었습니다.",
        "No member numbers left for this library this year.",
    ),
    Code.SHARED_LIMIT_REACHED: (
        "전체 도서관 통합 대출 한도를 초과합니다.",
        "The network-wide loan limit would be exceeded.",
    ),
    Code.LIBRARY_LIMIT_REACHED: (
        "이 도서관의 대출 한도를 초과합니다.",
        "This library's loan limit would be exceeded.",
    ),
    Code.CLASS_LIMIT_REACHED: (
        "회원 등급별 대출 한도를 초과합니다.",
        "The loan limit for the member's class would be exceeded.",
    ),
    Code.COPY_UNKNOWN: ("등록되지 않은 자료입니다.", "Unknown item."),
    Code.COPY_NOT_LOANABLE: ("대출할 수 없는 자료입니다.", "This item cannot be lent."),
    Code.COPY_ON_LOAN: ("이미 대출 중인 자료입니다.", "The item is already on loan."),
    Code.COPY_RESERVED: ("다른 회원이 예약한 자료입니다.", "The item is reserved for another member."),
    Code.COPY_IN_TRANSIT: ("소장 도서관으로 이동 중인 자료입니다.", "The item is in transit home."),
    Code.COPY_NOT_HERE: (
        "다른 도서관 소장 자료로, 이 도서관에서는 대출할 수 없습니다. 소장 도서관에서 대출하세요.",
        "This item belongs to another library and is not recorded here: only the owning "
        "library can lend it.",
    ),
    Code.RENEW_NOT_OWN_LIBRARY: (
        "소장 도서관에서만 반납연기할 수 있습니다.",
        "Only the owning library can renew this item.",
    ),
    Code.RENEW_LIMIT_REACHED: ("반납연기 횟수를 모두 사용했습니다.", "No renewals left."),
    Code.RENEW_SAME_DAY: ("대출 당일에는 반납연기할 수 없습니다.", "Cannot renew on the day of the loan."),
    Code.RENEW_MEMBER_NOT_ACTIVE: (
        "정상 상태의 회원만 반납연기할 수 있습니다.",
        "Only active members can renew.",
    ),
    Code.RENEW_RESERVED: (
        "다른 회원의 예약이 있어 반납연기할 수 없습니다.",
        "Another member has reserved this item.",
    ),
    Code.RESERVATION_DUPLICATE: (
        "이미 예약한 자료입니다.", "The member has already reserved this item."),
    Code.RESERVATION_OWN_LOAN: (
        "본인이 대출 중인 자료는 예약할 수 없습니다.",
        "The member cannot reserve an item they have on loan."),
    Code.RESERVATION_COPY_AVAILABLE: (
        "대출 가능한 자료는 예약할 수 없습니다. 서가에서 바로 대출하세요.",
        "The item is on the shelf: borrow it instead of reserving it."),
    Code.RESERVATION_LIMIT_REACHED: (
        "예약 가능 권수를 초과합니다.", "The member's reservation limit would be exceeded."),
    Code.RESERVATION_NOT_JOINED: (
        "이 도서관에 가입한 회원만 예약할 수 있습니다.",
        "Only members registered at this library can reserve here."),
    Code.RESERVATION_OTHER_LIBRARY: (
        "소장 도서관에서만 예약을 처리할 수 있습니다.",
        "Only the owning library can handle reservations of this item."),
    Code.RESERVATION_UNKNOWN: ("예약 내역을 찾을 수 없습니다.", "No such reservation."),
    Code.RESERVATION_BAD_STATE: (
        "예약 상태를 변경할 수 없습니다.", "The reservation cannot move to that state."),
    Code.NOT_ON_LOAN: ("대출 중인 자료가 아닙니다.", "The item is not on loan."),
    Code.RETURN_NOT_ALLOWED_HERE: (
        "이 도서관에서는 반납할 수 없는 자료입니다(타관반납 불가).",
        "This item cannot be returned at this library.",
    ),
    Code.UNDO_NOT_SAME_DAY: ("당일 처리 건만 취소할 수 있습니다.", "Only same-day actions can be undone."),
    Code.UNDO_NOT_POSSIBLE: ("취소할 수 없는 처리입니다.", "This action cannot be undone."),
    Code.TRANSIT_BAD_STATE: ("상호반납 상태를 변경할 수 없습니다.", "Transit cannot move to that state."),
    Code.INVALID_MEMBER_NUMBER: (
        "회원번호 형식이 올바르지 않습니다.",
        "Not a valid member number.",
    ),
    Code.INVALID_BARCODE: ("인식할 수 없는 바코드입니다.", "Unrecognised barcode."),
    Code.INVALID_LIBRARY_CODE: ("도서관부호는 숫자 6자리입니다.", "A library code is 6 digits."),
    Code.LIBRARY_UNKNOWN: ("등록되지 않은 도서관입니다.", "Unknown library."),
    Code.LIBRARY_NOT_LIVE: (
        "아직 서비스를 개시하지 않은 도서관입니다.",
        "This library has not launched the service yet.",
    ),
    Code.LIBRARY_EXISTS: ("이미 등록된 도서관부호입니다.", "This library code is already registered."),
    Code.REGION_UNKNOWN: ("알 수 없는 지역입니다.", "Unknown region."),
    Code.ONBOARDING_BAD_STEP: (
        "참여 절차 순서에 맞지 않는 단계입니다.",
        "That onboarding step is not allowed now.",
    ),
    Code.ONBOARDING_NOT_REGISTERED: (
        "참여도서관 등록 이후에 연계 패키지를 받을 수 있습니다.",
        "The connector package is available from registration on.",
    ),
    Code.ONBOARDING_REASON_REQUIRED: (
        "보류나 참여 철회에는 사유를 적어야 합니다.",
        "Putting onboarding on hold or withdrawing needs a reason.",
    ),
    Code.VENDOR_BRN_INVALID: (
        "사업자등록번호가 올바르지 않습니다. 숫자 10자리와 검증번호를 확인하세요.",
        "Not a valid business registration number (10 digits with a check digit).",
    ),
    Code.VENDOR_UNKNOWN: ("등록되지 않은 사업자입니다.", "Unknown vendor."),
    Code.VENDOR_EXISTS: ("이미 등록된 사업자등록번호입니다.",
                         "A vendor with this registration number is already registered."),
    Code.VENDOR_ASSIGN_STAGE: (
        "사업자는 참여 절차 중에만 지정할 수 있습니다. 도서관은 사업자 선정 단계에서 지정합니다.",
        "A vendor is assigned while joining; the library itself at the vendor-selection stage.",
    ),
    Code.ONBOARDING_UNKNOWN_ITEM: ("점검표에 없는 항목입니다.", "Not an item of the onboarding checklists."),
    Code.ONBOARDING_NO_REPORT: (
        "시범운영 전에 이 도서관의 적합성 검사 결과서를 등록해야 합니다.",
        "Pilot needs a conformance report for this library.",
    ),
    Code.ONBOARDING_REPORT_FAILED: (
        "최근 적합성 검사를 통과하지 못했습니다. 실패한 항목을 고친 뒤 다시 검사하세요.",
        "The latest conformance report did not pass; fix the failures and run it again.",
    ),
    Code.ONBOARDING_REPORT_STALE: (
        "적합성 검사 결과서가 너무 오래되었습니다. 검사를 다시 실행하세요.",
        "The conformance report is too old; run the kit again.",
    ),
    Code.ONBOARDING_REPORT_INVALID: (
        "적합성 검사 결과서 형식이 올바르지 않거나 다른 도서관의 결과서입니다.",
        "Not a valid conformance report for this library.",
    ),
    Code.ONBOARDING_SYSTEMS_OPEN: (
        "연계 시스템 목록의 모든 시스템이 연계·시험 완료로 확인되어야 합니다.",
        "Every linked system must be ticked as integrated and tested.",
    ),
    Code.ONBOARDING_LAUNCH_NOT_ANNOUNCED: (
        "서비스 개시일을 먼저 공지해야 합니다.",
        "Announce the launch date first.",
    ),
    Code.ONBOARDING_LAUNCH_TOO_SOON: (
        "서비스 개시일은 정해진 기간 이전에 미리 공지해야 합니다.",
        "The launch date must be announced the configured number of days ahead.",
    ),
    Code.ONBOARDING_LAUNCH_NOT_YET: (
        "공지한 서비스 개시일이 아직 되지 않았습니다.",
        "The announced launch date has not come yet.",
    ),
    Code.ONBOARDING_PILOT_TOO_SHORT: (
        "시범운영 기간이 정해진 최소 기간보다 짧습니다.",
        "The pilot has not run for the configured minimum yet.",
    ),
    Code.ONBOARDING_DOCUMENT_TOO_LARGE: (
        "파일이 너무 큽니다. 허용된 크기 이하의 파일만 올릴 수 있습니다.",
        "The file is larger than the configured maximum.",
    ),
    Code.ONBOARDING_DOCUMENT_TYPE: (
        "올릴 수 없는 파일입니다. PDF, 한글(HWP·HWPX), PNG·JPEG 그림, 엑셀(XLSX) 파일만 "
        "받으며, 파일 이름의 확장자가 내용과 같아야 합니다.",
        "Not an accepted file: PDF, HWP/HWPX, PNG/JPEG images and XLSX only, with an "
        "extension that matches the content.",
    ),
    Code.POLICY_INVALID: ("정책 값이 올바르지 않습니다.", "Invalid policy value."),
    Code.POLICY_NATIONAL_ONLY: (
        "전국 공통 값(통합 대출 한도 등)은 통합센터의 전국 정책에서만 정할 수 있습니다. "
        "지역·도서관·회원 등급 정책에서는 자체 대출 한도를 더 낮게 정하세요.",
        "This setting (e.g. the network-wide loan limit) is one national number: only the "
        "national policy sets it. Region, library and class policies set their own, lower "
        "limits instead.",
    ),
    Code.AUTH_REQUIRED: ("인증이 필요합니다.", "Authentication required."),
    Code.AUTH_INVALID: ("인증 정보가 올바르지 않습니다.", "Invalid credentials."),
    Code.FORBIDDEN: ("권한이 없습니다.", "Not allowed."),
    Code.SCOPE_NOT_GRANTED: ("회원이 이 서비스에 허용하지 않은 기능입니다.",
                             "The member did not grant this service that access."),
    Code.MEMBER_NOT_JOINED_HERE: (
        "이 도서관에 가입하지 않은 회원입니다. 개인정보·대출기록 조회와 회원정보 변경은 "
        "회원이 가입한 도서관만 할 수 있습니다.",
        "The member has not joined this library; only libraries the member joined may see "
        "personal data or loan records, or change the member.",
    ),
    Code.MEMBER_OUT_OF_REGION: (
        "관할 지역 도서관의 회원이 아닙니다.",
        "The member has not joined any library of your region.",
    ),
    Code.MEMBER_NOT_ISSUED_HERE: (
        "제적과 제적 해제는 회원증을 발급한 도서관(또는 그 지역센터, 통합센터)만 할 수 있습니다.",
        "Only the library that issued the member's card (its regional center, or the "
        "national center) can expel a member or lift an expulsion.",
    ),
    Code.NOT_FOUND: ("찾을 수 없습니다.", "Not found."),
    Code.VALIDATION_ERROR: ("요청 값이 올바르지 않습니다.", "Invalid request."),
    Code.MALFORMED_JSON: ("JSON 형식이 올바르지 않습니다.", "Malformed JSON."),
    Code.PAYLOAD_TOO_LARGE: ("요청이 너무 큽니다.", "Request body too large."),
    Code.METHOD_NOT_ALLOWED: ("허용되지 않는 메서드입니다.", "Method not allowed."),
    Code.UNSUPPORTED_MEDIA_TYPE: (
        "지원하지 않는 형식입니다(application/json, 파일 올리기는 multipart/form-data 필요).",
        "Unsupported media type (application/json expected; multipart/form-data for a file upload).",
    ),
    Code.IDEMPOTENCY_KEY_REUSED: (
        "같은 Idempotency-Key가 다른 요청에 사용되었습니다.",
        "This Idempotency-Key was used for a different request.",
    ),
    Code.CONFLICT: ("동시에 처리된 요청과 충돌했습니다. 다시 시도하세요.", "Conflict; please retry."),
    Code.RATE_LIMITED: ("요청이 너무 많습니다. 잠시 후 다시 시도하세요.", "Too many requests."),
    Code.SERVICE_UNAVAILABLE: ("일시적으로 처리할 수 없습니다.", "Temporarily unavailable."),
    Code.INTERNAL_ERROR: ("서버 내부 오류가 발생했습니다.", "Internal server error."),
    Code.SANDBOX_MIXED: (
        "시험용(샌드박스) 회원과 자료는 서로에게만 대출할 수 있습니다.",
        "Sandbox (test) members and copies are lent only to each other.",
    ),
    Code.SANDBOX_ONLY: (
        "시범운영 전 도서관이나 시험용 인증정보는 자기 도서관의 시험용(샌드박스) 회원과 "
        "자료만 다룰 수 있습니다.",
        "Before pilot, and with sandbox-only credentials, a library reaches only its own "
        "sandbox (test) members and copies.",
    ),
    Code.SANDBOX_NO_PEER: (
        "같은 지역에 시험 상대가 될 다른 참여도서관이 없습니다.",
        "No other participating library in the region to act as the sandbox peer.",
    ),
    Code.HUB_UNREACHABLE: (
        "책이음 센터에 연결할 수 없어 지금은 처리할 수 없습니다. 연결이 복구된 뒤 다시 시도하세요.",
        "The hub cannot be reached; try again once the connection is back.",
    ),
    Code.OFFLINE_MEMBER_UNVERIFIED: (
        "센터 연결이 끊긴 동안에는 확인되지 않은 회원에게 대출할 수 없습니다.",
        "While the hub is unreachable, loans to an unverified member are not allowed.",
    ),
}


def message(code: Code, lang: str = "ko") -> str:
    ko, en = MESSAGES[code]
    return en if lang == "en" else ko


@dataclass(frozen=True)
class Reason:
    """One reason for a refusal (or a warning), machine-readable."""

    code: Code
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def message(self) -> str:
        return message(self.code)

    def as_dict(self, lang: str = "ko") -> dict[str, Any]:
        return {"code": str(self.code), "message": message(self.code, lang), "details": self.details}


@dataclass(frozen=True)
class Decision:
    """Outcome of a policy check: allowed or not, with every reason and warning."""

    reasons: tuple[Reason, ...] = ()
    warnings: tuple[Reason, ...] = ()

    @property
    def allowed(self) -> bool:
        return not self.reasons


class DomainError(Exception):
    """A refusal: the request breaks a rule. Carries every reason found."""

    def __init__(self, reasons: Reason | list[Reason] | tuple[Reason, ...] | Code, **details: Any):
        if isinstance(reasons, Code):
            reasons = [Reason(reasons, details)]
        elif isinstance(reasons, Reason):
            reasons = [reasons]
        self.reasons: tuple[Reason, ...] = tuple(reasons)
        super().__init__(", ".join(str(r.code) for r in self.reasons))

    @property
    def code(self) -> Code:
        return self.reasons[0].code

    @property
    def details(self) -> dict[str, Any]:
        return self.reasons[0].details
