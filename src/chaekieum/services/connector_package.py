"""The connector package of a registered library (issue 11: "middleware and guides
provided"): one zip, generated for that library, with

- `connector.toml`: the connector's configuration (docs/connector.md) naming the hub,
  the library's 도서관부호, its sandbox-only API key and the chosen adapter, with one
  generated device token. The secrets are those of sandbox credentials issued for the
  package (shown in it once, stored only hashed), or placeholders the install guide
  explains (`issue_credentials=False`: the connector refuses to start until they are
  filled in);
- `chaekieum-connector.service`: the systemd unit of deploy/ for this library;
- `INSTALL.md`: the install steps, in Korean;
- `구축연계_안내서_<도서관부호>.pdf`: the 구축연계 안내서 in Korean: the steps, the REST
  endpoints, the SIP2 settings and how to run the conformance kit.

Who may ask: the national admin and the regional admin of the library's region (they
may issue credentials), and the library's own staff and API keys (placeholders only).
From `registered` on; every package is audited (`onboarding.connector_package`).
"""

from __future__ import annotations

import io
import json
import secrets
import zipfile
from dataclasses import dataclass
from datetime import datetime
from importlib import resources
from typing import Any
from urllib.parse import urlsplit
from xml.sax.saxutils import escape

from ..domain import onboarding as ob
from ..domain.errors import Code, DomainError
from ..store.db import Database
from . import audit
from .context import Actor, Clock
from .credentials import Credentials
from .onboarding_access import PACKAGE, require_library
from .printing import korean_font

ADAPTERS = ("manual", "webhook", "outbox-sql")  # what a library system links through
# The stages from registration on (a package for a library not yet registered has no
# 도서관부호 to name); on hold and withdrawn are not building anything.
READY = frozenset(ob.ORDER[ob.ORDER.index(ob.Stage.REGISTERED):]) | {ob.Stage.SUSPENDED}
KEY_PLACEHOLDER = "<등록 시 발급된 시험용 API 키 (ck_로 시작)>"
KIOSK_PLACEHOLDER = "<등록 시 발급된 시험용 키오스크 로그인>"
SIP2_PORT = 6001  # the hub's kiosk port (chaekieum serve --sip2-port)
UNIT = "chaekieum-connector.service"  # the packaged copy of deploy/chaekieum-connector.service

# What each adapter needs in [adapters.options]; placeholders the vendor fills in.
ADAPTER_OPTIONS: dict[str, dict[str, str]] = {
    "manual": {},
    "webhook": {"url": "https://ils.example.local/chaekieum-events",
                "secret": "<도서관 시스템과 공유할 32자 이상의 비밀값>"},
    "outbox-sql": {"url": "postgresql://ils@127.0.0.1/ils"},
}
ADAPTER_LABELS = {
    "manual": "manual: 연계할 도서관 시스템 없이 책이음 데스크(또는 커넥터 로컬 API)를 씁니다",
    "webhook": "webhook: 허브의 이벤트를 도서관 시스템의 수신 주소로 서명하여 보냅니다",
    "outbox-sql": "outbox-sql: 도서관 시스템 DB의 outbox/inbox 테이블로 주고받습니다",
}


@dataclass(frozen=True)
class Package:
    filename: str
    content: bytes
    credentials_issued: bool


class ConnectorPackages:
    def __init__(self, db: Database, clock: Clock, credentials: Credentials):
        self.db = db
        self.clock = clock
        self.credentials = credentials

    def build(self, actor: Actor, code: str, hub_url: str, *, adapter: str = "manual",
              issue_credentials: bool = False, sip2_host: str = "",
              sip2_port: int = SIP2_PORT) -> Package:
        if adapter not in ADAPTERS:
            raise DomainError(Code.VALIDATION_ERROR, field="adapter", allowed=list(ADAPTERS))
        with self.db.read() as conn:  # the library's staff and vendor get placeholders
            row = require_library(conn, actor, code, PACKAGE)
        if issue_credentials:  # issuing is for the library's admins
            Credentials.require_library_admin(actor, code, row.region_code)
        if row.status not in READY:
            raise DomainError(Code.ONBOARDING_NOT_REGISTERED, library_code=code,
                              status=row.status)
        at = self.clock.now()

        def work(conn):  # noqa: ANN001, ANN202
            issued = (self.credentials.issue_sandbox(
                actor, code, label="연계 패키지용 시험용 인증정보", conn=conn)
                if issue_credentials else None)
            audit.record(conn, actor, "onboarding.connector_package", "library", code, at,
                         {"adapter": adapter, "credentials_issued": issued is not None,
                          "key_id": issued["key_id"] if issued else None}, code)
            return issued

        issued = self.db.run_write(work)
        facts = _Facts(code=code, name=row.name, region=row.region_code, stage=row.status,
                       ils=row.ils, hub_url=hub_url.rstrip("/"), adapter=adapter,
                       issued=issued, sip2_host=sip2_host or _host(hub_url),
                       sip2_port=sip2_port, at=at)
        return Package(f"chaekieum-connector-{code}.zip", _zip(facts), issued is not None)


@dataclass(frozen=True)
class _Facts:
    code: str
    name: str
    region: str
    stage: str
    ils: str
    hub_url: str
    adapter: str
    issued: dict[str, Any] | None
    sip2_host: str
    sip2_port: int
    at: datetime

    @property
    def api_key(self) -> str:
        return self.issued["api_key"] if self.issued else KEY_PLACEHOLDER

    @property
    def kiosk(self) -> tuple[str, str]:
        if self.issued:
            return self.issued["terminal"]["login"], self.issued["terminal"]["password"]
        return KIOSK_PLACEHOLDER, "<등록 시 발급된 시험용 키오스크 비밀번호>"


def _host(url: str) -> str:
    return urlsplit(url).hostname or "127.0.0.1"


def _toml_string(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)  # a TOML basic string is JSON's


def config_text(f: _Facts) -> str:
    lines = [
        f"# 책이음 커넥터 설정: {f.name} ({f.code}), {f.at:%Y-%m-%d %H:%M} UTC 생성",
        "# docs/connector.md 에 항목마다 설명이 있습니다.",
        ("# api_key 는 시험용(샌드박스) 키입니다: 시험용 회원·자료만 다루며, 시범운영 이후에도"
         " 실제 데이터에는 닿지 않습니다." if f.issued else
         "# api_key 자리표시자를 등록 시 발급된 시험용 키로 바꾸기 전에는 커넥터가 시작되지 않습니다."),
        f"hub_url = {_toml_string(f.hub_url)}",
        f"library = {_toml_string(f.code)}",
        f"api_key = {_toml_string(f.api_key)}",
        'listen = "0.0.0.0:8700"',
        'sip2_listen = "0.0.0.0:6001"',
        'data_dir = "/var/lib/chaekieum-connector"',
        'offline_policy = "refuse"',
        "",
        "[tokens]  # 업무 PC·장비마다 하나씩 (커넥터 로컬 API의 Bearer 토큰)",
        f"desk-1 = {_toml_string(secrets.token_urlsafe(24))}",
        "",
        "[[adapters]]",
        f"type = {_toml_string(f.adapter)}",
    ]
    options = ADAPTER_OPTIONS[f.adapter]
    if options:
        lines += ["[adapters.options]  # 도서관 시스템에 맞게 바꾸세요"]
        lines += [f"{k} = {_toml_string(v)}" for k, v in options.items()]
    return "\n".join(lines) + "\n"


def unit_text(f: _Facts) -> str:
    template = resources.files("chaekieum").joinpath("data", UNIT).read_text(encoding="utf-8")
    return template.replace(
        "Description=Chaekieum library connector (책이음 미들웨어)",
        f"Description=Chaekieum library connector (책이음 미들웨어) for {f.code}", 1)


def install_text(f: _Facts) -> str:
    login, password = f.kiosk
    return f"""# 책이음 커넥터 설치: {f.name} ({f.code})

1. 서버(리눅스, Python 3.11 이상)에 커넥터를 설치합니다.

       useradd --system --home /var/lib/chaekieum-connector chaekieum
       python3 -m venv /opt/chaekieum && /opt/chaekieum/bin/pip install chaekieum

2. 설정 파일을 놓습니다 (비밀값이 있으니 권한을 좁힙니다).

       install -d /etc/chaekieum
       install -m 640 -o root -g chaekieum connector.toml /etc/chaekieum/connector.toml

   {"api_key 에는 이 패키지와 함께 발급된 시험용 키가 들어 있습니다. 이 파일에서만 한 번 보입니다." if f.issued
    else "api_key 자리표시자를 등록 시 발급된 시험용 키로 바꿉니다."}

3. 설정을 검사합니다: `chaekieum connector status --config /etc/chaekieum/connector.toml`

4. systemd 서비스로 시작합니다.

       cp {UNIT} /etc/systemd/system/
       systemctl daemon-reload && systemctl enable --now chaekieum-connector

5. 키오스크(SIP2)는 커넥터의 6001번 포트(또는 허브 {f.sip2_host}:{f.sip2_port})에 연결하고,
   기관 ID(AO)는 {f.code}, 로그인은 {login} / {password} 입니다.

6. 적합성 검사(서비스 적합성 검사)를 실행하고 보고서를 올립니다 (안내서 5장).

자세한 내용: 구축연계_안내서_{f.code}.pdf
"""


def _zip(f: _Facts) -> bytes:
    folder = f"chaekieum-connector-{f.code}"
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in (("connector.toml", config_text(f)), (UNIT, unit_text(f)),
                           ("INSTALL.md", install_text(f))):
            z.writestr(f"{folder}/{name}", data.encode("utf-8"))
        z.writestr(f"{folder}/구축연계_안내서_{f.code}.pdf", guide_pdf(f))
    return out.getvalue()


# -- 구축연계 안내서 -------------------------------------------------------------------------
ENDPOINTS = (
    ("POST /api/v1/circulation/checkout", "대출 (책이음회원 자동가입 포함)"),
    ("POST /api/v1/circulation/checkin", "반납 (타관반납이면 이동 처리)"),
    ("POST /api/v1/circulation/renew", "반납연기"),
    ("POST /api/v1/circulation/undo-checkout · undo-checkin", "당일 대출·반납 취소"),
    ("POST /api/v1/circulation/replay", "오프라인 대출·반납 일괄 반영 (커넥터)"),
    ("GET /api/v1/members/{회원번호}", "회원 조회 (마스킹)"),
    ("GET /api/v1/events", "변경 피드 (이벤트를 한 번씩, 순서대로)"),
    ("GET /api/v1/connector/snapshot", "커넥터 오프라인용 회원 스냅숏"),
    ("POST|GET|DELETE /api/v1/sandbox", "시험용 회원·자료 만들기·보기·지우기"),
)


def guide_pdf(f: _Facts) -> bytes:
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    font = korean_font()
    body = ParagraphStyle("body", fontName=font, fontSize=10, leading=15, wordWrap="CJK")
    h1 = ParagraphStyle("h1", parent=body, fontSize=18, leading=24, spaceAfter=6)
    h2 = ParagraphStyle("h2", parent=body, fontSize=13, leading=19, spaceBefore=10,
                        spaceAfter=4)
    code = ParagraphStyle("code", parent=body, fontSize=8.5, leading=12,
                          backColor=colors.whitesmoke, borderPadding=4)

    def p(text: str, style: ParagraphStyle = body) -> Paragraph:
        return Paragraph(escape(text), style)

    def table(rows: list[tuple[str, str]]) -> Table:
        t = Table([[p(a), p(b)] for a, b in rows], colWidths=[62 * mm, 108 * mm])
        t.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.3, colors.grey),
                               ("VALIGN", (0, 0), (-1, -1), "TOP")]))
        return t

    login, password = f.kiosk
    kit = (f"chaekieum conformance run --target {f.hub_url} --library {f.code} "
           f"--key <시험용 API 키> --sip2 {f.sip2_host}:{f.sip2_port} --terminal {login} "
           f"--password <키오스크 비밀번호> --report ./reports")
    story = [
        p("책이음 구축연계 안내서", h1),
        p(f"{f.name} (도서관부호 {f.code}, 지역 {f.region}) · 현재 단계: "
          f"{ob.LABELS.get(ob.Stage(f.stage), f.stage)} · 생성 {f.at:%Y-%m-%d} (UTC)"),
        Spacer(1, 4 * mm),
        p("1. 구축 절차", h2),
        p("참여도서관 등록 후 국립중앙도서관이 도서관부호와 시험용(샌드박스) 인증정보를 "
          "발급합니다. 시범운영 전까지 도서관의 모든 인증정보는 시험용 회원과 자료에만 "
          "닿으며, 실제 회원·자료를 다루면 SANDBOX_ONLY 오류로 거절됩니다. 시험용 인증정보는 "
          "시범운영 이후에도 계속 시험용입니다."),
        p("① 커넥터 설치와 설정 (INSTALL.md) → ② 도서관 시스템 연계 (어댑터: "
          f"{ADAPTER_LABELS[f.adapter]}) → ③ 대출·반납·반납연기·등록하는 모든 장비 연결 "
          "(ILS, RFID 패드, 무인대출반납기, 무인반납기, 홈페이지, 모바일 앱) → ④ 적합성 검사 "
          "통과와 보고서 제출 → ⑤ 최종 테스트·직원 교육 → ⑥ 시범운영 → ⑦ 서비스 개시"),
        p("2. 허브 연결 정보", h2),
        table([("허브 주소", f.hub_url), ("도서관부호", f.code),
               ("API 키", "connector.toml 의 api_key (시험용)" if f.issued
                else "등록 시 발급된 시험용 API 키"),
               ("인증 방식", "Authorization: Bearer <API 키>"),
               ("도서관 시스템 현황", f.ils or "-")]),
        p("3. REST 엔드포인트", h2),
        table(list(ENDPOINTS)),
        p("쓰기 요청에는 Idempotency-Key 헤더를 붙이면 재시도가 두 번 반영되지 않습니다. "
          "API 문서: " + f.hub_url + "/api/docs"),
        p("4. SIP2 (무인대출반납기·RFID 패드) 설정", h2),
        table([("서버", f"{f.sip2_host}:{f.sip2_port} (커넥터를 쓰면 커넥터의 6001번 포트)"),
               ("로그인 (93 CN/CO)", f"{login} / {password}"),
               ("기관 ID (AO)", f"{f.code} (다른 값은 거절됩니다)"),
               ("문자 인코딩", "UTF-8 (터미널 설정에 따라 EUC-KR 가능)"),
               ("체크섬", "AY/AZ 오류 검출 사용, 줄 끝 CR"),
               ("지원 메시지", "93, 99, 23, 63, 11, 09, 29, 65, 17, 15, 35, 37, 01")]),
        p("5. 적합성 검사 실행", h2),
        p("적합성 검사는 시험용 회원과 자료를 만들어 쓰고 끝나면 지웁니다. 실제 회원, 대출, "
          "통계는 건드리지 않습니다. 모든 항목이 통과해야 종료 코드 0 이며, 보고서(JSON)를 "
          "온보딩에 올리면 시범운영 관문이 이를 확인합니다."),
        p(kit, code),
        p(f"보고서 제출: POST {f.hub_url}/api/v1/libraries/{f.code}/onboarding/reports"),
        p("6. 문의", h2),
        p("지역대표도서관과 국립중앙도서관 책이음 담당자에게 문의하세요."),
    ]
    out = io.BytesIO()
    SimpleDocTemplate(out, pagesize=A4, title=f"책이음 구축연계 안내서 {f.code}",
                      author="책이음 통합센터", leftMargin=18 * mm, rightMargin=18 * mm,
                      topMargin=16 * mm, bottomMargin=16 * mm).build(story)
    return out.getvalue()
