"""The catalogue of conformance scenarios, as data.

One row per scenario: its id, group, Korean and English title, what it proves, what it
needs (the REST target, a kiosk port, the sandbox peer), how many sandbox members and
copies it uses, and the failure codes it can end with, each with fix-it text in Korean
(what to change in the integration). The runner (runner.py) takes the rows in order and
runs the step function named like the id (checks.py); `chaekieum conformance list`
prints this table.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Failure:
    code: str
    fix_ko: str  # what to change in the integration, in Korean


@dataclass(frozen=True)
class Scenario:
    id: str
    group: str
    title_ko: str
    title_en: str
    proves: str
    needs: frozenset[str]  # "sip2" (a kiosk port), "peer" (the sandbox peer library),
    # "connector" (the target is a library's connector, not the hub)
    members: int  # sandbox members of the library
    foreign: int  # sandbox members issued at the peer (never joined here)
    copies: int  # sandbox copies of the library
    failures: tuple[Failure, ...]

    def fix(self, code: str) -> str:
        for f in self.failures + GENERIC:
            if f.code == code:
                return f.fix_ko
        raise KeyError(code)


def F(code: str, fix_ko: str) -> Failure:  # noqa: N802 - reads as a table
    return Failure(code, fix_ko)


# Any scenario can end with these.
GENERIC: tuple[Failure, ...] = (
    F("UNEXPECTED_REFUSAL", "정상 요청이 거부되었습니다. 응답의 code와 reasons를 확인하고, "
      "요청 본문·인증키·도서관부호 설정을 점검하세요."),
    F("NO_ANSWER", "대상이 응답하지 않았습니다(연결 거부, 시간 초과, 끊긴 응답). 주소·포트·방화벽과 "
      "서비스 상태를 확인하세요."),
    F("MALFORMED_ANSWER", "응답 형식이 책이음 규격과 다릅니다(JSON 필드 누락, SIP2 고정부 길이·필수 "
      "필드). 표시된 필드를 규격(docs/api.md, docs/sip2.md)대로 채우세요."),
    F("KIT_ERROR", "검사 도구 내부 오류입니다. 보고서를 국립중앙도서관 책이음 담당에 전달하세요."),
)

REST = frozenset()
SIP2 = frozenset({"sip2"})
PEER = frozenset({"peer"})
CONNECTOR = frozenset({"connector"})

CATALOGUE: tuple[Scenario, ...] = (
    # -- identity and numbering ---------------------------------------------------
    Scenario(
        "REST-01", "identity", "회원번호 검증숫자", "Member-number check digit",
        "회원번호는 도서관부호(6)+발급연도(2)+일련번호(5)+검증숫자(1)이고, 검증숫자가 틀린 번호는 "
        "INVALID_MEMBER_NUMBER로 거부된다.", REST, 1, 0, 0, (
            F("NUMBER_FORMAT", "회원번호를 도서관부호 6자리 + 연도 2자리 + 일련번호 5자리 + 검증숫자 "
              "1자리, 모두 14자리 숫자로 발급·표시하세요."),
            F("CHECK_DIGIT_WRONG", "검증숫자는 가중치 2,3,4,5,6,7,8,9,2,3,4,5,6, 합 mod 11 = x, "
              "x=0이면 0, 아니면 10-x로 계산합니다."),
            F("BAD_CHECK_DIGIT_ACCEPTED", "검증숫자가 틀린 회원번호는 조회·대출 전에 "
              "INVALID_MEMBER_NUMBER로 거부하세요(오독된 바코드가 다른 회원으로 처리되지 않게)."),
        )),
    Scenario(
        "REST-02", "identity", "통합바코드 두 형식", "통합바코드 in both forms",
        "$ + 도서관부호 + 등록번호(19자)와 $ 없는 18자 형식이 같은 자료를 가리키고, 대출 결과는 "
        "19자 형식으로 돌아온다.", REST, 1, 0, 1, (
            F("BARCODE_19_REFUSED", "'$'로 시작하는 19자 통합바코드를 그대로 받아 소장 도서관과 "
              "등록번호로 나누세요(URL에서는 %24로 인코딩)."),
            F("BARCODE_18_REFUSED", "'$'가 빠진 18자 통합바코드도 같은 자료로 받아들이세요."),
            F("BARCODE_NOT_NORMALIZED", "응답의 item은 항상 '$' + 도서관부호 + 등록번호 19자로 "
              "돌려주세요."),
        )),
    Scenario(
        "REST-03", "identity", "기관바코드 다음 등록번호", "기관바코드 then a plain 등록번호",
        "기관바코드(# + 도서관부호)로 소장 도서관을 고른 뒤의 평 등록번호가 그 도서관 자료로 처리되고, "
        "기관바코드 자체는 자료로 받아들여지지 않는다.", REST, 1, 0, 1, (
            F("PLAIN_REGNO_REFUSED", "기관바코드 스캔 뒤의 등록번호는 owner_library에 고른 도서관부호를 "
              "담아 보내세요."),
            F("WRONG_OWNER", "평 등록번호는 owner_library(없으면 요청한 도서관)의 자료로 처리하세요."),
            F("INSTITUTION_AS_ITEM_ACCEPTED", "'#' + 도서관부호(기관바코드)는 소장 도서관 선택일 뿐 "
              "자료가 아닙니다. 자료 바코드로 보내지 말고 다음 등록번호 스캔에 적용하세요."),
        )),
    Scenario(
        "REST-04", "identity", "잘못된 입력의 거부 코드", "Malformed input refused with the right code",
        "형식이 틀린 회원번호·바코드·도서관부호·본문은 5xx가 아닌 4xx와 정해진 코드로 거부된다.",
        REST, 1, 0, 1, (
            F("WRONG_CODE", "형식 오류에는 표에 적힌 코드(INVALID_MEMBER_NUMBER, INVALID_BARCODE, "
              "INVALID_LIBRARY_CODE, MALFORMED_JSON, VALIDATION_ERROR)와 4xx를 돌려주세요."),
            F("SERVER_ERROR", "잘못된 입력이 5xx를 일으킵니다. 입력을 먼저 검증하고 4xx로 거부하세요."),
        )),
    # -- circulation --------------------------------------------------------------
    Scenario(
        "REST-05", "circulation", "대출과 책이음회원자동가입", "Checkout with auto-join (audited)",
        "처음 이용하는 회원의 첫 대출이 자동가입을 함께 하고(auto_joined), 감사 기록 "
        "member.auto_join이 남으며, 반납예정일이 응답에 있다.", PEER, 0, 1, 2, (
            F("AUTO_JOIN_NOT_REPORTED", "첫 대출 응답의 auto_joined 값을 그대로 화면·연동 시스템에 "
              "전달하고, 두 번째 대출에서는 false여야 합니다."),
            F("AUTO_JOIN_NOT_AUDITED", "자동가입은 감사 기록(member.auto_join)이 남는 센터의 대출 "
              "경로로만 하세요. 회원을 로컬에서 따로 등록하지 마세요."),
            F("DUE_DATE_MISSING", "대출 응답의 loan.due_on(반납예정일)을 빠뜨리지 말고 전달하세요."),
        )),
    Scenario(
        "REST-06", "circulation", "반납연기", "Renew",
        "소장 도서관에서 반납연기하면 반납예정일이 늦춰지고 연기 횟수가 다 되면 RENEW_LIMIT_REACHED로 "
        "거부된다.", REST, 1, 0, 1, (
            F("RENEW_REFUSED", "반납연기는 POST /circulation/renew {item}으로 보내세요."),
            F("DUE_NOT_EXTENDED", "반납연기 응답의 새 due_on을 저장하고 표시하세요."),
            F("RENEW_LIMIT_NOT_ENFORCED", "연기 횟수 한도를 넘은 반납연기는 거부되어야 합니다."),
        )),
    Scenario(
        "REST-07", "circulation", "소장 도서관 반납", "Checkin at the owning library",
        "소장 도서관 반납은 route=home으로 끝나고, 같은 자료의 두 번째 반납은 NOT_ON_LOAN이다.",
        REST, 1, 0, 1, (
            F("CHECKIN_REFUSED", "반납은 POST /circulation/checkin {item}으로 보내세요."),
            F("WRONG_ROUTE", "소장 도서관 반납은 이동(transit)을 만들지 않아야 합니다(route=home)."),
            F("DOUBLE_CHECKIN_ACCEPTED", "대출 중이 아닌 자료의 반납은 NOT_ON_LOAN으로 거부되어야 "
              "합니다."),
        )),
    Scenario(
        "REST-08", "circulation", "타관반납: 접수→발송→복귀", "타관반납 through received → sent → home",
        "다른 도서관에서 반납된 이 도서관 자료가 접수(received)→발송(sent)으로 들어오고, 소장 "
        "도서관의 반납 스캔으로 복귀(home)한다. 변경 피드가 transit.addressed를 알린다.",
        PEER, 1, 0, 1, (
            F("TRANSIT_NOT_LISTED", "GET /transits?direction=incoming으로 들어오는 자료를 "
              "확인하세요(상태 received, sent)."),
            F("ARRIVAL_REFUSED", "복귀한 자료는 소장 도서관에서 반납 스캔(또는 POST /transits/{id}/arrive)"
              "으로 도착 처리하세요."),
            F("WRONG_STATE", "이동 상태는 received → sent → home 순서로만 바뀝니다."),
            F("EVENT_MISSING", "변경 피드(GET /events)의 transit.addressed를 받아 처리하세요."),
        )),
    Scenario(
        "REST-09", "circulation", "당일 대출·반납 취소", "Same-day undo",
        "잘못 처리한 대출과 반납을 같은 날 취소할 수 있고, 취소 뒤 상태가 원래대로 돌아온다.",
        REST, 1, 0, 1, (
            F("UNDO_REFUSED", "취소는 POST /circulation/undo-checkout, undo-checkin {loan_id}로 "
              "보내세요(대출 응답의 loan.id 보관)."),
            F("UNDO_NOT_APPLIED", "취소 뒤 대출 상태(undone / active)가 원래대로 돌아와야 합니다."),
        )),
    Scenario(
        "REST-10", "circulation", "휴관일을 건너뛴 반납예정일", "Due dates skip closed days",
        "반납예정일이 휴관일(정기 휴관 요일, 임시 휴관일, 공휴일)에 걸리면 다음 개관일로 옮겨진다.",
        REST, 1, 0, 1, (
            F("DUE_ON_CLOSED_DAY", "반납예정일을 직접 계산하지 말고 센터 응답의 due_on을 쓰세요. "
              "도서관 휴관일(요일·임시 휴관)을 센터에 등록하세요."),
            F("DUE_NOT_FIRST_OPEN_DAY", "반납예정일은 대출일 + 대출기간 이후 첫 개관일입니다."),
        )),
    # -- shared rules -------------------------------------------------------------
    Scenario(
        "REST-11", "shared", "통합 대출 한도", "Shared-limit refusal",
        "전체 도서관 통합 대출 한도에 이른 회원의 대출이 SHARED_LIMIT_REACHED로 거부된다.",
        REST, 1, 0, 21, (
            F("LIMIT_NOT_ENFORCED", "대출 전에 센터의 판단을 받으세요. 로컬 한도만 보고 대출하면 "
              "통합 대출 한도를 넘습니다."),
            F("LIMIT_CODE_MISSING", "거부 응답의 reasons 전체를 보존하고 SHARED_LIMIT_REACHED를 "
              "표시하세요."),
        )),
    Scenario(
        "REST-12", "shared", "다른 도서관의 대출정지", "Suspension earned elsewhere refused here",
        "다른 도서관에서 연체 반납으로 받은 대출정지가 이 도서관의 대출을 MEMBER_SUSPENDED로 막고, "
        "변경 피드가 member.suspended를 알린다.", PEER, 1, 0, 2, (
            F("SUSPENSION_NOT_ENFORCED", "대출정지는 전국 공통입니다. 로컬 회원 상태가 아니라 센터의 "
              "판단(MEMBER_SUSPENDED)을 따르세요."),
            F("SUSPENSION_EVENT_MISSING", "변경 피드의 member.suspended를 받아 로컬 회원 상태에 "
              "반영하세요."),
        )),
    Scenario(
        "REST-13", "shared", "모든 거부 사유", "Every reason returned",
        "여러 규칙에 걸린 대출 거부가 사유 전부(reasons)를 돌려준다: 대출정지와 분실 신고.",
        REST, 1, 0, 2, (
            F("REASONS_INCOMPLETE", "거부 응답의 reasons 배열 전체를 전달·표시하세요. 첫 사유만 "
              "남기면 직원이 두 번 처리하게 됩니다."),
        )),
    # -- robustness ---------------------------------------------------------------
    Scenario(
        "REST-14", "robustness", "재시도는 한 번만 적용", "An idempotent retry is not applied twice",
        "같은 Idempotency-Key(와 client_txn_id)로 다시 보낸 대출은 처음 응답을 그대로 받고 두 번 "
        "적용되지 않는다.", REST, 1, 0, 1, (
            F("RETRY_APPLIED_TWICE", "재전송할 때 처음과 같은 Idempotency-Key와 client_txn_id를 "
              "보내고, 중간 장치(프록시 등)가 이 헤더·필드를 지우지 않게 하세요."),
            F("RETRY_DIFFERENT_ANSWER", "재시도에는 처음 응답(Idempotent-Replayed: true)이 "
              "그대로 돌아와야 합니다."),
        )),
    Scenario(
        "REST-15", "robustness", "오프라인 재전송 기록과 표시", "Offline replay recorded and flagged",
        "센터 연결이 끊긴 동안의 대출을 재전송하면 규칙을 어겨도 기록되고(exceptions), 후속 처리 "
        "목록(GET /exceptions)에 오르며, 다시 보내도 한 번만 기록된다.", REST, 1, 0, 1, (
            F("REPLAY_REFUSED", "오프라인 재전송은 offline: true, occurred_at, client_txn_id를 "
              "담아 보내세요. 사실로 기록되어야 하며 거부되면 안 됩니다."),
            F("REPLAY_NOT_FLAGGED", "규칙을 어긴 재전송은 exceptions로 표시되어야 합니다."),
            F("EXCEPTION_NOT_LISTED", "GET /exceptions의 후속 처리 목록을 확인·처리하세요."),
            F("REPLAY_APPLIED_TWICE", "같은 client_txn_id의 재전송은 한 번만 기록되어야 합니다"
              "(replayed: true)."),
        )),
    Scenario(
        "REST-16", "robustness", "변경 피드: 정확히 한 번", "The change feed delivers an event exactly once",
        "변경 피드를 next_after로 읽으면 사건이 빠짐없이, 한 번씩, 순서대로 온다.", REST, 2, 0, 0, (
            F("EVENT_MISSING", "next_after를 저장하고 그 뒤부터 읽으세요. 사건을 건너뛰면 안 됩니다."),
            F("EVENT_REPEATED", "같은 위치(position)의 사건을 두 번 전달하면 안 됩니다. 커서를 "
              "next_after로만 옮기세요."),
            F("POSITIONS_NOT_INCREASING", "사건은 position이 커지는 순서로 전달되어야 합니다."),
        )),
    # -- SIP2 -----------------------------------------------------------------------
    Scenario(
        "SIP-01", "sip2", "로그인 (93/94)", "Login (93/94)",
        "발급된 단말 계정으로 로그인이 되고(94 ok=1), 틀린 비밀번호는 ok=0이다.", SIP2, 0, 0, 0, (
            F("LOGIN_FAILED", "단말 계정(CN)과 비밀번호(CO)를 센터에서 발급한 값으로 설정하세요."),
            F("WRONG_PASSWORD_ACCEPTED", "틀린 비밀번호의 로그인은 94 ok=0이어야 합니다."),
        )),
    Scenario(
        "SIP-02", "sip2", "상태 (99/98)", "SC status (99/98)",
        "98의 고정부(온라인·대출·반납 가능, 시간, 규격 2.00)와 AO, BX(16자리 Y/N)가 규격대로다.",
        SIP2, 0, 0, 0, (
            F("NOT_ONLINE", "서비스 중인 도서관의 98은 online, checkin ok, checkout ok가 Y여야 "
              "합니다."),
        )),
    Scenario(
        "SIP-03", "sip2", "이용자 상태와 정보 (23/24, 63/64)", "Patron status and information",
        "회원의 24/64가 BL=Y와 이름(AE), 숫자 4자리 건수를 담고, 없는 회원은 BL=N이다.",
        SIP2, 1, 0, 0, (
            F("PATRON_NOT_VALID", "등록된 회원은 BL=Y여야 합니다(AA = 14자리 회원번호)."),
            F("UNKNOWN_PATRON_VALID", "없는 회원은 BL=N, AE는 비워서, 사유는 AF로 돌려주세요."),
        )),
    Scenario(
        "SIP-04", "sip2", "대출·반납·반납연기 (11/09/29)", "Checkout, checkin and renew",
        "11/12 대출이 반납예정일(AH)과 자료명(AJ)을 돌려주고, 29/30 반납연기가 AH를 늦추며, "
        "09/10 반납이 ok=1이다.", SIP2, 1, 0, 2, (
            F("CHECKOUT_REFUSED", "단말의 대출 요청(11)에 AO(도서관부호 또는 빈 값), AA, AB를 "
              "채우세요."),
            F("DUE_DATE_MISSING", "12/30의 AH(반납예정일)를 YYYYMMDDZZZZHHMMSS로 채우세요."),
            F("RENEW_REFUSED", "반납연기(29)에 AA와 AB를 채우세요."),
            F("CHECKIN_REFUSED", "반납 요청(09)에 AB를 채우세요."),
        )),
    Scenario(
        "SIP-05", "sip2", "중복 순번(AY) 재전송", "A duplicate sequence number",
        "같은 AY·AZ로 다시 보낸 대출 요청은 같은 응답을 받고 두 번 처리되지 않는다.",
        SIP2, 1, 0, 1, (
            F("DUPLICATE_APPLIED_TWICE", "같은 요청을 재전송하면(같은 AY/AZ) 저장된 응답을 돌려주고 "
              "다시 처리하지 마세요."),
        )),
    Scenario(
        "SIP-06", "sip2", "체크섬", "Checksums",
        "응답의 AZ가 바이트 합으로 맞고, 체크섬이 틀린 요청은 96을 받고 처리되지 않으며, 소문자 "
        "체크섬도 받아들인다.", SIP2, 1, 0, 1, (
            F("CHECKSUM_WRONG", "AZ는 AZ까지의 인코딩된 바이트 합의 2의 보수(하위 16비트)를 대문자 "
              "16진수 4자리로 씁니다."),
            F("BAD_CHECKSUM_NOT_REJECTED", "체크섬이 틀린 요청에는 96으로 답하고 처리하지 마세요."),
            F("LOWERCASE_CHECKSUM_REFUSED", "소문자 16진수 체크섬도 받아들이세요."),
        )),
    Scenario(
        "SIP-07", "sip2", "기관 ID(AO) 함정", "The institution-id trap",
        "다른 도서관부호(AO)로 보낸 대출은 거부되고 처리되지 않으며, 응답 AO는 단말 도서관이다.",
        SIP2, 1, 0, 1, (
            F("FOREIGN_AO_ACCEPTED", "단말 설정의 기관 ID(AO)를 이 도서관의 도서관부호(또는 빈 값)로 "
              "고치세요. 다른 부호의 요청은 거부되어야 합니다."),
            F("REPLY_AO_WRONG", "응답의 AO는 항상 단말이 속한 도서관부호여야 합니다."),
        )),
    Scenario(
        "SIP-08", "sip2", "문자 인코딩", "Both encodings configured for the terminal",
        "단말에 설정된 인코딩(UTF-8 또는 EUC-KR)으로 한글 이름이 깨지지 않고, 체크섬은 인코딩된 "
        "바이트 기준이다.", SIP2, 1, 0, 0, (
            F("NAME_GARBLED", "단말의 문자 인코딩 설정(UTF-8/EUC-KR)을 센터에 등록된 값과 맞추세요."),
            F("CHECKSUM_OVER_CHARACTERS", "체크섬은 문자 수가 아니라 인코딩된 바이트로 계산합니다."),
        )),
    Scenario(
        "SIP-09", "sip2", "자료 정보 (17/18)", "Item information (17/18)",
        "서가의 자료는 18 상태 03(대출 가능), 대출 중인 자료는 04와 반납예정일(AH)이고, 모르는 자료에도 "
        "규격에 맞는 18(상태 01)이 온다.", SIP2, 1, 0, 1, (
            F("ITEM_STATUS_WRONG", "18의 circulation status는 서가 03, 대출 중 04, 이동 중 10, "
              "예약 보관 08이어야 하고 대출 중이면 AH(반납예정일)를 채우세요."),
            F("UNKNOWN_ITEM_NO_REPLY", "모르는 자료의 17에도 18(상태 01, AB, 빈 AJ)로 답하세요."),
        )),
    Scenario(
        "SIP-10", "sip2", "일괄 반납연기 (65/66)", "Renew all (65/66)",
        "회원이 빌린 자료 전부를 한 번에 반납연기하면 66이 연기한 건수와 자료(BM)를 돌려주고 "
        "반납예정일이 늦춰진다.", SIP2, 1, 0, 2, (
            F("RENEW_ALL_REFUSED", "65(일괄 반납연기)를 지원하세요: 회원의 대출 자료를 각각 "
              "반납연기하고 66 ok=1로 답합니다."),
            F("RENEWED_COUNT_WRONG", "66의 renewed count와 BM(연기된 자료), unrenewed count와 "
              "BN(연기되지 않은 자료)이 실제 처리와 같아야 합니다."),
        )),
    Scenario(
        "SIP-11", "sip2", "이용 종료 (35/36)", "End patron session (35/36)",
        "35에 36 end session=Y와 같은 AA, 도서관의 AO로 답한다.", SIP2, 1, 0, 0, (
            F("SESSION_NOT_ENDED", "35(이용 종료)에는 36 end session = Y로 답하고 AA를 되돌려 "
              "주세요."),
        )),
    Scenario(
        "SIP-12", "sip2", "예약 (15/16)", "Hold (15/16)",
        "대출 중인 자료를 다른 회원이 단말에서 예약하면(15 +) 16 ok=1과 대기 순번(BR), 수령 "
        "도서관(BS)이 오고, 예약 취소(15 -)도 된다. 98의 BX가 15를 지원하지 않는다고 하면 "
        "건너뛴다.", SIP2, 2, 0, 1, (
            F("HOLD_REFUSED", "대출 중인 자료의 예약(15, hold mode +)을 받아 16 ok=1로 답하세요."),
            F("HOLD_QUEUE_WRONG", "16의 BR은 대기 순번, BS는 수령 도서관부호여야 합니다."),
            F("HOLD_CANCEL_REFUSED", "예약 취소(15, hold mode -)를 받아 16 ok=1로 답하세요."),
        )),
    Scenario(
        "SIP-13", "sip2", "카드 차단 (01/24)", "Block patron (01/24)",
        "단말이 회수한 카드를 차단하면(01) 회원의 카드가 전국에서 분실 처리되고, 24의 patron "
        "status 4번째(card lost)가 Y이다. 98의 BX가 01을 지원하지 않는다고 하면 건너뛴다.",
        SIP2, 1, 0, 0, (
            F("BLOCK_NOT_APPLIED", "01(카드 차단)을 받으면 센터에 분실 신고(card-lost)를 하세요. "
              "단말 화면만 바꾸면 다른 도서관에서 그 카드로 계속 대출됩니다."),
            F("BLOCK_NOT_SHOWN", "01의 응답 24에서 patron status의 card lost(5번째 자리)를 Y로 "
              "채우세요."),
        )),
    # -- against a library connector -----------------------------------------------
    Scenario(
        "CONN-01", "connector", "오프라인 대기열과 재전송", "Offline queueing and replay",
        "센터 연결이 끊기면(커넥터의 시험용 스위치) 커넥터가 대출·반납을 계속 받아 대기열에 "
        "넣고(202, 반납예정일), 같은 요청의 재전송은 한 번만 넣으며, 연결이 돌아오면 재전송해 "
        "센터에 한 번만, 오프라인 표시와 함께 기록된다.", CONNECTOR, 1, 0, 2, (
            F("SWITCH_UNAVAILABLE", "검사하는 동안 connector.toml에 acceptance_switches = true를 "
              "두고 커넥터를 다시 시작하세요(검사 뒤에는 지우세요)."),
            F("OFFLINE_NOT_ACCEPTED", "센터에 연결되지 않을 때 대출·반납을 거부하지 말고 대기열에 "
              "넣어 202(accepted_offline)로 답하세요. 스냅숏에 회원이 있어야 합니다."),
            F("DUE_DATE_MISSING", "오프라인 대출 응답에도 도서관 정책과 휴관일로 계산한 "
              "loan.due_on을 담으세요."),
            F("QUEUED_TWICE", "같은 Idempotency-Key의 재전송은 대기열에 다시 넣지 말고 처음 "
              "응답을 돌려주세요."),
            F("NOT_REPLAYED", "연결이 돌아오면 대기열을 순서대로 센터에 보내세요(재전송 루프, "
              "chaekieum connector status의 queue_depth)."),
            F("REPLAY_LOST", "대기열에 넣은 거래를 잃어버렸습니다. 재전송이 끝나기 전에 대기열에서 "
              "지우지 마세요(data_dir의 저장소)."),
            F("REPLAY_APPLIED_TWICE", "재전송에는 처음 거래의 client_txn_id를 그대로 담아 센터가 "
              "한 번만 기록하게 하세요."),
            F("REPLAY_NOT_FLAGGED", "재전송은 offline: true와 실제 거래 시각(occurred_at)을 담아 "
              "보내세요."),
        )),
    Scenario(
        "CONN-02", "connector", "어댑터로 사건 전달", "Event delivery to the configured adapter",
        "센터의 사건(다른 도서관에서 반납된 이 도서관 자료의 transit.addressed, 동료 도서관이 "
        "없으면 member.card_lost)이 커넥터의 어댑터를 거쳐 도서관 시스템(예: DB의 "
        "chaekieum_inbox)에 한 번, 바뀌지 않고 도착한다.", CONNECTOR, 1, 0, 1, (
            F("EVENT_NOT_DELIVERED", "어댑터의 deliver가 사건을 받아들이지 못했습니다(피드 커서가 "
              "멈춤). 도서관 시스템 연결(DB 주소·권한·inbox 테이블)을 확인하세요."),
            F("EVENT_NOT_STORED", "어댑터가 사건을 받았다고 했지만 도서관 시스템에 없습니다. "
              "deliver에서 실제로 저장(커밋)한 뒤에 돌아오게 하세요."),
            F("EVENT_ALTERED", "도서관 시스템에 저장된 사건의 kind와 payload가 센터의 사건과 "
              "같아야 합니다."),
        )),
)

BY_ID: dict[str, Scenario] = {s.id: s for s in CATALOGUE}


def select_ids(only: str | None) -> list[Scenario]:
    """`--only REST-03,SIP-*`: ids or prefixes ending in '*' (None: the whole catalogue)."""
    if not only:
        return list(CATALOGUE)
    wanted = [w.strip().upper() for w in only.split(",") if w.strip()]
    chosen = []
    for s in CATALOGUE:
        if any(s.id == w or (w.endswith("*") and s.id.startswith(w[:-1])) for w in wanted):
            chosen.append(s)
    unknown = [w for w in wanted if not w.endswith("*") and w not in BY_ID]
    if unknown:
        raise ValueError(f"unknown scenario id(s): {', '.join(unknown)}")
    return chosen
