"""Every error code the hub answers with, as an exception class per code.

The table below mirrors `chaekieum.domain.errors` (a test keeps them equal) so the SDK
needs nothing from the server: a vendor installs httpx and this package only.

    try:
        hub.checkout(member="11100126000001", item="$111001EM0000000001")
    except MemberSuspended as exc:
        print(exc.code, exc.message, exc.reasons[0]["details"]["until"])
    except HubError as exc:          # any other refusal
        ...
    except TransportError:           # the hub did not answer (refused, timeout, cut)
        ...
"""

from __future__ import annotations

from typing import Any

# code, HTTP status, Korean message, English message
CODES: tuple[tuple[str, int, str, str], ...] = (
    ("MEMBER_UNKNOWN", 404, "등록되지 않은 회원입니다.",
     "Unknown member."),
    ("MEMBER_WITHDRAWN", 409, "탈퇴한 회원입니다.",
     "The member has withdrawn."),
    ("MEMBER_EXPELLED", 409, "제적된 회원입니다.",
     "The member has been expelled."),
    ("MEMBER_BARRED_HERE", 409, "이 도서관에서 이용이 제한된 회원입니다. 이 도서관에서는 대출할 수 없습니다.",
     "This library has barred the member: no loans here."),
    ("MEMBER_STATUS_UNCHANGED", 409, "회원이 이미 그 상태입니다.",
     "The member already has that status."),
    ("MEMBER_NOT_ELIGIBLE", 409, "비회원은 대출할 수 없습니다.",
     "Non-members cannot borrow."),
    ("CARD_LOST", 409, "분실 신고된 이용증입니다.",
     "This card has been reported lost."),
    ("MEMBER_SUSPENDED", 409, "대출정지 중인 회원입니다.",
     "The member's borrowing is suspended."),
    ("MEMBER_HAS_OVERDUE", 409, "연체 중인 자료가 있습니다.",
     "The member has an overdue item."),
    ("GUARDIAN_REQUIRED", 422, "만 14세 미만은 법정대리인 정보가 필요합니다.",
     "A legal guardian is required under age 14."),
    ("DUPLICATE_MEMBER", 409, "이미 가입된 회원입니다.",
     "This person is already a member."),
    ("MEMBER_NOT_JOINED_HERE", 403,
     "이 도서관에 가입하지 않은 회원입니다. 개인정보·대출기록 조회와 회원정보 변경은 "
     "회원이 가입한 도서관만 할 수 있습니다.",
     "The member has not joined this library; only libraries the member joined may see "
     "personal data or loan records, or change the member."),
    ("MEMBER_OUT_OF_REGION", 403, "관할 지역 도서관의 회원이 아닙니다.",
     "The member has not joined any library of your region."),
    ("MEMBER_NOT_ISSUED_HERE", 403, "제적과 제적 해제는 회원증을 발급한 도서관(또는 그 지역센터, 통합센터)만 할 수 있습니다.",
     "Only the library that issued the member's card (its regional center, or the national center) can expel a member or lift an expulsion."),
    ("CARD_UID_IN_USE", 409, "다른 회원에게 연결된 카드입니다.",
     "This card is linked to another member."),
    ("WITHDRAW_HAS_LOANS", 409, "대출 중인 자료가 있어 탈퇴할 수 없습니다.",
     "Cannot withdraw while items are on loan."),
    ("WITHDRAW_HAS_RESERVATIONS", 409, "예약 중인 자료가 있어 탈퇴할 수 없습니다.",
     "Cannot withdraw while reservations remain."),
    ("WITHDRAW_SUSPENDED", 409, "대출정지 기간 중에는 탈퇴할 수 없습니다.",
     "Cannot withdraw while a suspension is running."),
    ("MEMBER_NUMBERS_EXHAUSTED", 409, "올해 이 도서관에서 발급할 수 있는 회원번호가 모두 소진되었습니다.",
     "No member numbers left for this library this year."),
    ("IDENTITY_VERIFICATION_REQUIRED", 422, "본인인증이 필요합니다.",
     "Identity verification is required."),
    ("GUARDIAN_VERIFICATION_REQUIRED", 422, "만 14세 미만은 보호자(법정대리인)의 본인인증이 필요합니다.",
     "Under 14, the guardian's identity verification is required."),
    ("GUARDIAN_NOT_ADULT", 422, "보호자(법정대리인)는 성인이어야 합니다.",
     "The guardian must be an adult."),
    ("IDENTITY_VERIFICATION_FAILED", 422, "본인인증 결과를 확인할 수 없습니다. 처음부터 다시 인증해 주세요.",
     "The identity verification could not be confirmed; please verify again."),
    ("IDENTITY_MISMATCH", 422, "입력한 정보가 본인인증 결과와 일치하지 않습니다.",
     "The details given do not match the identity verification."),
    ("IDENTITY_PROVIDER_UNKNOWN", 422, "사용할 수 없는 본인인증 수단입니다.",
     "This identity verification provider is not available."),
    ("CONSENT_REQUIRED", 422, "개인정보 수집·이용에 동의해야 가입할 수 있습니다.",
     "Consent to the collection and use of personal data is required."),
    ("FORM_TOO_FAST", 422, "신청서가 너무 빨리 제출되었습니다. 내용을 확인한 뒤 다시 제출해 주세요.",
     "The form was submitted too quickly; check it and submit again."),
    ("SHARED_LIMIT_REACHED", 409, "전체 도서관 통합 대출 한도를 초과합니다.",
     "The network-wide loan limit would be exceeded."),
    ("LIBRARY_LIMIT_REACHED", 409, "이 도서관의 대출 한도를 초과합니다.",
     "This library's loan limit would be exceeded."),
    ("CLASS_LIMIT_REACHED", 409, "회원 등급별 대출 한도를 초과합니다.",
     "The loan limit for the member's class would be exceeded."),
    ("COPY_UNKNOWN", 404, "등록되지 않은 자료입니다.",
     "Unknown item."),
    ("COPY_NOT_LOANABLE", 409, "대출할 수 없는 자료입니다.",
     "This item cannot be lent."),
    ("COPY_ON_LOAN", 409, "이미 대출 중인 자료입니다.",
     "The item is already on loan."),
    ("COPY_RESERVED", 409, "다른 회원이 예약한 자료입니다.",
     "The item is reserved for another member."),
    ("COPY_IN_TRANSIT", 409, "소장 도서관으로 이동 중인 자료입니다.",
     "The item is in transit home."),
    ("SANDBOX_MIXED", 409, "시험용(샌드박스) 회원과 자료는 서로에게만 대출할 수 있습니다.",
     "Sandbox (test) members and copies are lent only to each other."),
    ("SANDBOX_ONLY", 403, "시범운영 전 도서관이나 시험용 인증정보는 자기 도서관의 시험용(샌드박스) 회원과 "
     "자료만 다룰 수 있습니다.",
     "Before pilot, and with sandbox-only credentials, a library reaches only its own "
     "sandbox (test) members and copies."),
    ("SANDBOX_NO_PEER", 409, "같은 지역에 시험 상대가 될 다른 참여도서관이 없습니다.",
     "No other participating library in the region to act as the sandbox peer."),
    ("COPY_NOT_HERE", 409, "다른 도서관 소장 자료로, 이 도서관에서는 대출할 수 없습니다. 소장 도서관에서 대출하세요.",
     "This item belongs to another library and is not recorded here: only the owning library can lend it."),
    ("RENEW_NOT_OWN_LIBRARY", 409, "소장 도서관에서만 반납연기할 수 있습니다.",
     "Only the owning library can renew this item."),
    ("RENEW_LIMIT_REACHED", 409, "반납연기 횟수를 모두 사용했습니다.",
     "No renewals left."),
    ("RENEW_SAME_DAY", 409, "대출 당일에는 반납연기할 수 없습니다.",
     "Cannot renew on the day of the loan."),
    ("RENEW_MEMBER_NOT_ACTIVE", 409, "정상 상태의 회원만 반납연기할 수 있습니다.",
     "Only active members can renew."),
    ("RENEW_RESERVED", 409, "다른 회원의 예약이 있어 반납연기할 수 없습니다.",
     "Another member has reserved this item."),
    ("RESERVATION_DUPLICATE", 409, "이미 예약한 자료입니다.",
     "The member has already reserved this item."),
    ("RESERVATION_OWN_LOAN", 409, "본인이 대출 중인 자료는 예약할 수 없습니다.",
     "The member cannot reserve an item they have on loan."),
    ("RESERVATION_COPY_AVAILABLE", 409, "대출 가능한 자료는 예약할 수 없습니다. 서가에서 바로 대출하세요.",
     "The item is on the shelf: borrow it instead of reserving it."),
    ("RESERVATION_LIMIT_REACHED", 409, "예약 가능 권수를 초과합니다.",
     "The member's reservation limit would be exceeded."),
    ("RESERVATION_NOT_JOINED", 409, "이 도서관에 가입한 회원만 예약할 수 있습니다.",
     "Only members registered at this library can reserve here."),
    ("RESERVATION_OTHER_LIBRARY", 409, "소장 도서관에서만 예약을 처리할 수 있습니다.",
     "Only the owning library can handle reservations of this item."),
    ("RESERVATION_UNKNOWN", 404, "예약 내역을 찾을 수 없습니다.",
     "No such reservation."),
    ("RESERVATION_BAD_STATE", 409, "예약 상태를 변경할 수 없습니다.",
     "The reservation cannot move to that state."),
    ("NOT_ON_LOAN", 409, "대출 중인 자료가 아닙니다.",
     "The item is not on loan."),
    ("RETURN_NOT_ALLOWED_HERE", 409, "이 도서관에서는 반납할 수 없는 자료입니다(타관반납 불가).",
     "This item cannot be returned at this library."),
    ("UNDO_NOT_SAME_DAY", 409, "당일 처리 건만 취소할 수 있습니다.",
     "Only same-day actions can be undone."),
    ("UNDO_NOT_POSSIBLE", 409, "취소할 수 없는 처리입니다.",
     "This action cannot be undone."),
    ("TRANSIT_BAD_STATE", 409, "상호반납 상태를 변경할 수 없습니다.",
     "Transit cannot move to that state."),
    ("INVALID_MEMBER_NUMBER", 422, "회원번호 형식이 올바르지 않습니다.",
     "Not a valid member number."),
    ("INVALID_BARCODE", 422, "인식할 수 없는 바코드입니다.",
     "Unrecognised barcode."),
    ("INVALID_LIBRARY_CODE", 422, "도서관부호는 숫자 6자리입니다.",
     "A library code is 6 digits."),
    ("LIBRARY_UNKNOWN", 404, "등록되지 않은 도서관입니다.",
     "Unknown library."),
    ("LIBRARY_NOT_LIVE", 409, "아직 서비스를 개시하지 않은 도서관입니다.",
     "This library has not launched the service yet."),
    ("LIBRARY_EXISTS", 409, "이미 등록된 도서관부호입니다.",
     "This library code is already registered."),
    ("REGION_UNKNOWN", 404, "알 수 없는 지역입니다.",
     "Unknown region."),
    ("ONBOARDING_BAD_STEP", 409, "참여 절차 순서에 맞지 않는 단계입니다.",
     "That onboarding step is not allowed now."),
    ("ONBOARDING_NOT_REGISTERED", 409, "참여도서관 등록 이후에 연계 패키지를 받을 수 있습니다.",
     "The connector package is available from registration on."),
    ("ONBOARDING_REASON_REQUIRED", 422, "보류나 참여 철회에는 사유를 적어야 합니다.",
     "Putting onboarding on hold or withdrawing needs a reason."),
    ("ONBOARDING_UNKNOWN_ITEM", 404, "점검표에 없는 항목입니다.",
     "Not an item of the onboarding checklists."),
    ("ONBOARDING_NO_REPORT", 409, "시범운영 전에 이 도서관의 적합성 검사 결과서를 등록해야 합니다.",
     "Pilot needs a conformance report for this library."),
    ("ONBOARDING_REPORT_FAILED", 409, "최근 적합성 검사를 통과하지 못했습니다. 실패한 항목을 고친 뒤 다시 검사하세요.",
     "The latest conformance report did not pass; fix the failures and run it again."),
    ("ONBOARDING_REPORT_STALE", 409, "적합성 검사 결과서가 너무 오래되었습니다. 검사를 다시 실행하세요.",
     "The conformance report is too old; run the kit again."),
    ("ONBOARDING_REPORT_INVALID", 422, "적합성 검사 결과서 형식이 올바르지 않거나 다른 도서관의 결과서입니다.",
     "Not a valid conformance report for this library."),
    ("ONBOARDING_SYSTEMS_OPEN", 409, "연계 시스템 목록의 모든 시스템이 연계·시험 완료로 확인되어야 합니다.",
     "Every linked system must be ticked as integrated and tested."),
    ("ONBOARDING_LAUNCH_NOT_ANNOUNCED", 409, "서비스 개시일을 먼저 공지해야 합니다.",
     "Announce the launch date first."),
    ("ONBOARDING_LAUNCH_TOO_SOON", 409, "서비스 개시일은 정해진 기간 이전에 미리 공지해야 합니다.",
     "The launch date must be announced the configured number of days ahead."),
    ("ONBOARDING_LAUNCH_NOT_YET", 409, "공지한 서비스 개시일이 아직 되지 않았습니다.",
     "The announced launch date has not come yet."),
    ("ONBOARDING_PILOT_TOO_SHORT", 409, "시범운영 기간이 정해진 최소 기간보다 짧습니다.",
     "The pilot has not run for the configured minimum yet."),
    ("ONBOARDING_DOCUMENT_TOO_LARGE", 413, "파일이 너무 큽니다. 허용된 크기 이하의 파일만 올릴 수 있습니다.",
     "The file is larger than the configured maximum."),
    ("ONBOARDING_DOCUMENT_TYPE", 422, "올릴 수 없는 파일입니다. PDF, 한글(HWP·HWPX), PNG·JPEG 그림, 엑셀(XLSX) 파일만 받으며, 파일 이름의 확장자가 내용과 같아야 합니다.",
     "Not an accepted file: PDF, HWP/HWPX, PNG/JPEG images and XLSX only, with an extension that matches the content."),
    ("VENDOR_BRN_INVALID", 422, "사업자등록번호가 올바르지 않습니다. 숫자 10자리와 검증번호를 확인하세요.",
     "Not a valid business registration number (10 digits with a check digit)."),
    ("VENDOR_UNKNOWN", 404, "등록되지 않은 사업자입니다.",
     "Unknown vendor."),
    ("VENDOR_EXISTS", 409, "이미 등록된 사업자등록번호입니다.",
     "A vendor with this registration number is already registered."),
    ("VENDOR_ASSIGN_STAGE", 409, "사업자는 참여 절차 중에만 지정할 수 있습니다. 도서관은 사업자 선정 단계에서 지정합니다.",
     "A vendor is assigned while joining; the library itself at the vendor-selection stage."),
    ("POLICY_INVALID", 422, "정책 값이 올바르지 않습니다.",
     "Invalid policy value."),
    ("POLICY_NATIONAL_ONLY", 422, "전국 공통 값(통합 대출 한도 등)은 통합센터의 전국 정책에서만 정할 수 있습니다. 지역·도서관·회원 등급 정책에서는 자체 대출 한도를 더 낮게 정하세요.",
     "This setting (e.g. the network-wide loan limit) is one national number: only the national policy sets it. Region, library and class policies set their own, lower limits instead."),
    ("AUTH_REQUIRED", 401, "인증이 필요합니다.",
     "Authentication required."),
    ("AUTH_INVALID", 401, "인증 정보가 올바르지 않습니다.",
     "Invalid credentials."),
    ("FORBIDDEN", 403, "권한이 없습니다.",
     "Not allowed."),
    ("SCOPE_NOT_GRANTED", 403, "회원이 이 서비스에 허용하지 않은 기능입니다.",
     "The member did not grant this service that access."),
    ("NOT_FOUND", 404, "찾을 수 없습니다.",
     "Not found."),
    ("VALIDATION_ERROR", 422, "요청 값이 올바르지 않습니다.",
     "Invalid request."),
    ("MALFORMED_JSON", 400, "JSON 형식이 올바르지 않습니다.",
     "Malformed JSON."),
    ("PAYLOAD_TOO_LARGE", 413, "요청이 너무 큽니다.",
     "Request body too large."),
    ("METHOD_NOT_ALLOWED", 405, "허용되지 않는 메서드입니다.",
     "Method not allowed."),
    ("UNSUPPORTED_MEDIA_TYPE", 415, "지원하지 않는 형식입니다(application/json, 파일 올리기는 multipart/form-data 필요).",
     "Unsupported media type (application/json expected; multipart/form-data for a file upload)."),
    ("IDEMPOTENCY_KEY_REUSED", 422, "같은 Idempotency-Key가 다른 요청에 사용되었습니다.",
     "This Idempotency-Key was used for a different request."),
    ("CONFLICT", 409, "동시에 처리된 요청과 충돌했습니다. 다시 시도하세요.",
     "Conflict; please retry."),
    ("RATE_LIMITED", 429, "요청이 너무 많습니다. 잠시 후 다시 시도하세요.",
     "Too many requests."),
    ("SERVICE_UNAVAILABLE", 503, "일시적으로 처리할 수 없습니다.",
     "Temporarily unavailable."),
    ("INTERNAL_ERROR", 500, "서버 내부 오류가 발생했습니다.",
     "Internal server error."),
    ("HUB_UNREACHABLE", 503, "책이음 센터에 연결할 수 없어 지금은 처리할 수 없습니다. 연결이 복구된 뒤 다시 시도하세요.",
     "The hub cannot be reached; try again once the connection is back."),
    ("OFFLINE_MEMBER_UNVERIFIED", 409, "센터 연결이 끊긴 동안에는 확인되지 않은 회원에게 대출할 수 없습니다.",
     "While the hub is unreachable, loans to an unverified member are not allowed."),
)


class ClientError(Exception):
    """Base of everything the SDK raises."""


class TransportError(ClientError):
    """No usable answer from the hub: connection refused, timeout, reply cut off.

    A write may or may not have been applied; resend it with the same Idempotency-Key
    (the SDK does this for you within its retry budget)."""

    retryable = True


class ConnectionFailed(TransportError):
    """The connection was refused or could not be opened (nothing was sent)."""


class HubTimeout(TransportError):
    """The hub did not answer in time (it may have applied the write)."""


class HubError(ClientError):
    """The hub answered with an error body: {"code", "message", "details", "reasons"}."""

    code = "UNKNOWN"
    status = 0

    def __init__(self, message: str, *, code: str | None = None, status: int | None = None,
                 details: dict[str, Any] | None = None,
                 reasons: list[dict[str, Any]] | None = None,
                 body: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status
        self.message = message
        self.details: dict[str, Any] = details or {}
        self.reasons: list[dict[str, Any]] = reasons or []
        self.body: dict[str, Any] = body or {}

    @property
    def codes(self) -> list[str]:
        """Every rule the request broke (the first is `.code`)."""
        return [r.get("code", "") for r in self.reasons] or [self.code]

    @property
    def retryable(self) -> bool:
        return self.status in (429, 502, 503, 504) or self.code in (
            "CONFLICT", "RATE_LIMITED", "SERVICE_UNAVAILABLE", "HUB_UNREACHABLE")

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


def _class_name(code: str) -> str:
    return "".join(part.capitalize() for part in code.split("_"))


MESSAGES: dict[str, tuple[str, str]] = {code: (ko, en) for code, _, ko, en in CODES}
STATUS: dict[str, int] = {code: status for code, status, _, _ in CODES}
ERRORS: dict[str, type[HubError]] = {
    code: type(_class_name(code), (HubError,), {
        "code": code, "status": status, "__doc__": f"{ko} ({en})",
        "__module__": __name__})
    for code, status, ko, en in CODES
}
assert not set(globals()) & {cls.__name__ for cls in ERRORS.values()}
globals().update({cls.__name__: cls for cls in ERRORS.values()})


def error_from(status: int, body: Any) -> HubError:
    """The exception for a hub error response (any status >= 400)."""
    if not isinstance(body, dict) or not isinstance(body.get("code"), str):
        code = {401: "AUTH_REQUIRED", 403: "FORBIDDEN", 404: "NOT_FOUND", 413:
                "PAYLOAD_TOO_LARGE", 429: "RATE_LIMITED"}.get(
            status, "SERVICE_UNAVAILABLE" if status >= 500 else "VALIDATION_ERROR")
        body = {"code": code, "message": MESSAGES[code][0], "details": {}, "reasons": []}
    code = body["code"]
    cls = ERRORS.get(code, HubError)
    message = body.get("message") or MESSAGES.get(code, (code, code))[0]
    return cls(message, code=code, status=status, details=body.get("details") or {},
               reasons=body.get("reasons") or [], body=body)
