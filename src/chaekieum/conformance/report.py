"""The conformance report: JSON with a versioned schema (for onboarding to store and
check) and a self-contained HTML page (for a person).

The schema is the pydantic model `Report` below; `chaekieum conformance schema` prints
it as JSON Schema and `load_report` validates a stored report against it. A later
version adds fields or a new value in `schema`; it never changes the meaning of an
existing field, and reports of the earlier versions stay loadable:
- version 1, `schema` = "chaekieum-conformance/1": statuses pass, fail, skipped;
- version 2, `schema` = "chaekieum-conformance/2" (written now): adds the status
  `not_applicable` (a scenario that does not apply to the target: a connector's scenario
  against the hub) and `summary.not_applicable`. Such a scenario does not make a run
  incomplete: the result is `pass` when every applicable scenario passed.

Exchanges of failing scenarios are kept with personal data masked (logsafe.mask_text
for member numbers and /members/ paths, plus names, contacts and birth years in JSON
bodies and in SIP2 fields AE, BD, BE, BF, DA, AD, AC, CO).
"""

from __future__ import annotations

import json
import re
import subprocess
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from jinja2 import Environment
from pydantic import BaseModel, ConfigDict, Field, model_validator

from .. import __version__
from ..logsafe import HIDDEN, mask_text
from .runner import NOT_APPLICABLE, Outcome, Result, verdict

SCHEMA_V1 = "chaekieum-conformance/1"
SCHEMA_ID = "chaekieum-conformance/2"  # what build() writes
PERSONAL_KEYS = {"name", "phone", "email", "birth_year", "guardian_name", "guardian_phone",
                 "ci", "password", "card_uid", "api_key", "secret"}
SIP_PERSONAL = ("AE", "BD", "BE", "BF", "DA", "AD", "AC", "CO")


class Target(BaseModel):
    url: str
    library: str = Field(pattern=r"^\d{6}$")
    sip2: str | None = None
    terminal: str | None = None
    encoding: str | None = None


class ScenarioResult(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str
    group: str
    title_ko: str
    title_en: str
    status: Literal["pass", "fail", "skipped", "not_applicable"]  # the last from version 2
    reason: str = ""  # why it failed, was skipped or does not apply
    failure_code: str | None = None  # stable code from the catalogue (fail only)
    fix_ko: str | None = None  # the catalogue's fix-it text for that code
    duration_ms: int = 0
    exchanges: list[dict[str, Any]] = []  # failing scenarios only, personal data masked


class Summary(BaseModel):
    passed: int
    failed: int
    skipped: int
    # pass: every applicable scenario passed; incomplete: nothing failed, some skipped
    result: Literal["pass", "fail", "incomplete"]
    not_applicable: int = 0  # version 2


class Report(BaseModel):
    model_config = ConfigDict(extra="forbid")
    schema_: Literal["chaekieum-conformance/1", "chaekieum-conformance/2"] = Field(
        SCHEMA_ID, alias="schema")
    kit_version: str
    code_revision: str  # the kit's git revision (or its version when installed)
    target: Target
    started_at: datetime
    finished_at: datetime
    selected: list[str]
    summary: Summary
    results: list[ScenarioResult]
    sandbox: dict[str, Any]  # peer library, what was created and removed, what is left

    @model_validator(mode="after")
    def _version_1_has_no_not_applicable(self) -> Report:
        if self.schema_ == SCHEMA_V1 and (self.summary.not_applicable or any(
                r.status == NOT_APPLICABLE for r in self.results)):
            raise ValueError(f"{NOT_APPLICABLE} is a status of {SCHEMA_ID}, not {SCHEMA_V1}")
        return self


def code_revision() -> str:
    here = Path(__file__).resolve().parent
    try:
        out = subprocess.run(["git", "-C", str(here), "rev-parse", "HEAD"],
                             capture_output=True, text=True, timeout=5, check=False)
    except OSError:
        return __version__
    return out.stdout.strip() if out.returncode == 0 and out.stdout.strip() else __version__


def _mask_json(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: (HIDDEN if k in PERSONAL_KEYS and v else _mask_json(v))
                for k, v in value.items()}
    if isinstance(value, list):
        return [_mask_json(v) for v in value]
    if isinstance(value, str):
        return mask_text(value)
    return value


def _mask_body(text: str) -> str:
    try:
        return json.dumps(_mask_json(json.loads(text)), ensure_ascii=False)
    except ValueError:
        return mask_text(text)


# a personal field (after a '|': every field but the first after the fixed part, which
# is the institution id or the login in the messages the kit sends)
_SIP_FIELD = re.compile(r"(?<=\|)(" + "|".join(SIP_PERSONAL) + r")[^|]+")


def _mask_sip(text: str) -> str:
    return mask_text(_SIP_FIELD.sub(lambda m: m.group(1) + HIDDEN, text))


def mask_exchange(e: dict[str, Any]) -> dict[str, Any]:
    if e.get("channel") == "sip2":
        return {"channel": "sip2", "sent": _mask_sip(e.get("sent", "")),
                "received": _mask_sip(e.get("received", ""))}
    out = dict(e)
    out["url"] = mask_text(e.get("url", ""))
    for key in ("request_body", "response_body"):
        if out.get(key):
            out[key] = _mask_body(out[key])
    return out


def _result(r: Result) -> ScenarioResult:
    s = r.scenario
    return ScenarioResult(
        id=s.id, group=s.group, title_ko=s.title_ko, title_en=s.title_en, status=r.status,
        reason=mask_text(r.reason), failure_code=r.failure_code,
        fix_ko=s.fix(r.failure_code) if r.failure_code else None, duration_ms=r.duration_ms,
        exchanges=[mask_exchange(e) for e in r.exchanges])


def build(outcome: Outcome) -> Report:
    o = outcome.options
    results = [_result(r) for r in outcome.results]
    counts = {k: sum(1 for r in results if r.status == k)
              for k in ("pass", "fail", "skipped", NOT_APPLICABLE)}
    fx = outcome.fixtures or {}
    return Report(
        kit_version=__version__, code_revision=code_revision(),
        target=Target(url=o.target, library=o.library, sip2=o.sip2, terminal=o.terminal,
                      encoding=o.encoding if o.sip2 else None),
        started_at=outcome.started_at, finished_at=outcome.finished_at,
        selected=[r.id for r in results],
        summary=Summary(passed=counts["pass"], failed=counts["fail"],
                        skipped=counts["skipped"], not_applicable=counts[NOT_APPLICABLE],
                        result=verdict([r.status for r in results])),
        results=results,
        sandbox={"peer": fx.get("peer"),
                 "created": {"members": len(fx.get("members") or []),
                             "foreign_members": len(fx.get("foreign_members") or []),
                             "copies": len(fx.get("copies") or [])},
                 **outcome.cleanup},
    )


def to_json(report: Report) -> str:
    return report.model_dump_json(by_alias=True, indent=2)


def load_report(text: str) -> Report:
    """Parse and validate a stored report, of any version (raises
    pydantic.ValidationError)."""
    return Report.model_validate_json(text)


def json_schema() -> dict[str, Any]:
    return Report.model_json_schema(by_alias=True)


_HTML = Environment(autoescape=True).from_string("""<!doctype html>
<html lang="ko"><head><meta charset="utf-8">
<title>책이음 적합성 검사 {{ r.target.library }} — {{ r.summary.result }}</title>
<style>
body{font-family:"Noto Sans KR",system-ui,sans-serif;margin:2rem;color:#222;max-width:70rem}
h1{font-size:1.4rem} table{border-collapse:collapse;width:100%}
td,th{border-bottom:1px solid #ddd;padding:.35rem .5rem;text-align:left;vertical-align:top}
.pass{color:#176b2c}.fail{color:#b00020;font-weight:bold}.skipped{color:#8a6d00}
.not_applicable{color:#666}
.verdict{font-size:1.2rem;padding:.5rem 1rem;display:inline-block;border-radius:.3rem}
.v-pass{background:#e3f4e6}.v-fail{background:#fde7ea}.v-incomplete{background:#fff5d6}
pre{background:#f6f6f6;padding:.5rem;white-space:pre-wrap;word-break:break-all;font-size:.8rem}
.fix{background:#eef4ff;padding:.4rem .6rem;margin:.3rem 0}
</style></head><body>
<h1>책이음 서비스 적합성 검사 보고서 (Conformance report)</h1>
<p class="verdict v-{{ r.summary.result }}">결과: {{ {'pass': '통과', 'fail': '실패',
 'incomplete': '미완료(건너뜀 있음)'}[r.summary.result] }} —
 통과 {{ r.summary.passed }} · 실패 {{ r.summary.failed }} · 건너뜀 {{ r.summary.skipped }}
 {%- if r.summary.not_applicable %} · 해당 없음 {{ r.summary.not_applicable }}{% endif %}</p>
{% if r.summary.not_applicable %}<p>해당 없음: 검사 대상에 적용되지 않는 시나리오입니다(예: 허브를
 검사할 때의 커넥터 시나리오). 결과에 영향을 주지 않습니다.</p>{% endif %}
<table>
<tr><th>대상</th><td>{{ r.target.url }}{% if r.target.sip2 %} · SIP2 {{ r.target.sip2 }}
 ({{ r.target.terminal }}, {{ r.target.encoding }}){% endif %}</td></tr>
<tr><th>도서관부호</th><td>{{ r.target.library }}</td></tr>
<tr><th>시각</th><td>{{ r.started_at.isoformat() }} — {{ r.finished_at.isoformat() }}</td></tr>
<tr><th>검사 도구</th><td>{{ r.kit_version }} ({{ r.code_revision }}) · {{ r.schema_ }}</td></tr>
<tr><th>시험 데이터</th><td>상대 도서관 {{ r.sandbox.peer or '없음' }} ·
 생성 {{ r.sandbox.created }} · 삭제 {{ r.sandbox.removed }} · 남은 것 {{ r.sandbox.left }}</td></tr>
</table>
<h2>시나리오</h2>
<table><tr><th>ID</th><th>시나리오</th><th>결과</th><th>사유 / 실패 코드</th><th>ms</th></tr>
{% for s in r.results %}<tr id="{{ s.id }}"><td>{{ s.id }}</td>
<td>{{ s.title_ko }}<br><small>{{ s.title_en }}</small></td>
<td class="{{ s.status }}">{{ STATUS_KO[s.status] }}</td>
<td>{% if s.failure_code %}<code>{{ s.failure_code }}</code> {% endif %}{{ s.reason }}
{% if s.fix_ko %}<div class="fix">고칠 점: {{ s.fix_ko }}</div>{% endif %}</td>
<td>{{ s.duration_ms }}</td></tr>{% endfor %}</table>
{% for s in r.results if s.status == 'fail' and s.exchanges %}
<h2>{{ s.id }} 주고받은 내용 (개인정보 가림)</h2>
{% for e in s.exchanges %}{% if e.channel == 'sip2' %}<pre>→ {{ e.sent }}
← {{ e.received }}</pre>{% else %}<pre>→ {{ e.method }} {{ e.url }} {{ e.request_headers }}
{{ e.request_body }}
← {{ e.status }} {{ e.response_headers }}
{{ e.response_body }}</pre>{% endif %}{% endfor %}{% endfor %}
</body></html>
""")


STATUS_KO = {"pass": "통과", "fail": "실패", "skipped": "건너뜀", NOT_APPLICABLE: "해당 없음"}


def to_html(report: Report) -> str:
    return _HTML.render(r=report, STATUS_KO=STATUS_KO)


def write(report: Report, directory: Path) -> tuple[Path, Path]:
    directory.mkdir(parents=True, exist_ok=True)
    stamp = report.started_at.strftime("%Y%m%dT%H%M%SZ")
    base = directory / f"conformance-{report.target.library}-{stamp}"
    n = 1
    while base.with_suffix(".json").exists():  # two runs in one second keep both reports
        n += 1
        base = directory / f"conformance-{report.target.library}-{stamp}-{n}"
    json_path, html_path = base.with_suffix(".json"), base.with_suffix(".html")
    json_path.write_text(to_json(report), encoding="utf-8")
    html_path.write_text(to_html(report), encoding="utf-8")
    return json_path, html_path
