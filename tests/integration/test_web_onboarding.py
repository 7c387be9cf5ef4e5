"""The console's onboarding screens (issue 11): the pipeline board with its timeline,
scoped per role (national with a region filter, regional to its region, a librarian to
its own library's page), each library's page, and its forms. Refusals are Korean
messages, never raw codes; a library's staff never see another library's page."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from datetime import date, timedelta

from chaekieum.domain.errors import Code, message
from chaekieum.services.context import SYSTEM
from chaekieum.web.timeline import Point, Row, Words, timeline_svg

from ..conftest import T0
from . import test_web_console_pages as pages
from . import test_web_security as web_tests
from .test_onboarding import report

app, new_web, people = web_tests.app, web_tests.new_web, web_tests.people
LIB = "141099"  # 경기 새내기작은도서관, at `building` (gyeonggi)
PAGE = f"/console/onboarding/{LIB}"
SVG = "{http://www.w3.org/2000/svg}"


def ko(code: Code) -> str:
    return message(code, "ko")


def flashes(html: str) -> str:
    return " ".join(re.findall(r'<div class="flash[^"]*"[^>]*>(.*?)</div>', html, re.S))


def follow(web, r):  # noqa: ANN001, ANN201
    assert r.status_code == 303, r.text
    return web.c.get(r.headers["location"])


def test_board_is_scoped_by_role_and_flags_overdue(hub, new_web) -> None:  # noqa: ANN001
    hub.onboarding.set_plan(SYSTEM, LIB, {"final_test": (T0 - timedelta(days=2)).date(),
                                          "pilot": (T0 + timedelta(days=30)).date()})
    admin = new_web().staff("admin")
    board = admin.c.get("/console/onboarding")
    assert board.status_code == 200
    card = re.search(rf'<article class="board-card overdue" data-code="{LIB}">(.*?)</article>',
                     board.text, re.S)
    assert card and "사업자" in card.group(1) and "지연" in card.group(1)  # vendor must act
    column = re.search(r'id="col-building".*?</section>', board.text, re.S).group(0)
    assert LIB in column and "141002" not in column  # the pilot library is in its own column
    assert 'id="kpi-overdue" class="bad">1<' in board.text
    # the timeline: well-formed SVG, labelled in Korean, overdue marker, table alternative
    svg = ET.fromstring(re.search(r"<svg.*?</svg>", board.text, re.S).group(0))
    assert svg.find(f"{SVG}title").text == "참여 일정: 계획 대비 실제"
    assert "2곳 중 1곳의 일정이 지연" in svg.find(f"{SVG}desc").text
    rows = {g.get("data-code"): g for g in svg.iter(f"{SVG}g") if g.get("class") == "tl-row"}
    assert set(rows) == {"141002", LIB}
    late = [g.find(f"{SVG}title").text for g in rows[LIB].iter(f"{SVG}g")
            if g.get("class") == "tl-overdue"]
    assert late == [f"경기 새내기작은도서관 · 6. 최종 테스트·교육 · 계획 "
                    f"{(T0 - timedelta(days=2)).date()} (지연)"]
    assert 'id="timeline-table"' in board.text and "계획 2026-03-02" in board.text
    # filter by region: busan has no library joining
    busan = admin.c.get("/console/onboarding?region=busan").text
    assert LIB not in busan and "참여 진행 중인 도서관이 없습니다" in busan
    # the regional view: the same board for the admin's region only, whatever is asked
    assert LIB in new_web().staff("gyeonggi-admin").c.get(
        "/console/onboarding?region=seoul").text
    seoul = new_web().staff("seoul-admin").c.get("/console/onboarding?region=gyeonggi")
    assert seoul.status_code == 200 and LIB not in seoul.text
    # a librarian goes to their own library's page
    r = new_web().staff(f"lib-{LIB}").c.get("/console/onboarding")
    assert r.status_code == 303 and r.headers["location"] == PAGE
    # Korean labels, English under ?lang=en, no raw codes either way
    for lang in ("ko", "en"):
        for path in ("/console/onboarding", PAGE):
            text = pages.visible(admin.c.get(f"{path}?lang={lang}").text)
            for raw in [*pages.RAW, r"\bbuilding\b", r"\bvendor\b", r"final_test",
                        r"regional_center", r"rules\.numbering"]:
                assert not re.search(raw, text), (lang, path, raw)
    assert "Schedule: planned against actual" in admin.c.get("/console/onboarding?lang=en").text


def test_library_staff_fill_their_own_page_and_never_see_another(hub, new_web) -> None:  # noqa: ANN001
    lib = new_web().staff(f"lib-{LIB}")
    page = lib.c.get(PAGE)
    assert page.status_code == 200
    assert 'id="move-' not in page.text and 'id="launch-form"' not in page.text  # admins move
    assert "최종 테스트·교육" in re.search(r'id="moves-text">(.*?)</p>', page.text).group(1)
    # tick a checklist item with a note, and record a linked system
    r = lib.post(f"{PAGE}/checks", {"item": "rules.numbering", "done": "yes",
                                     "note": "2026-02 개정"}, page=PAGE)
    assert "저장했습니다" in flashes(follow(lib, r).text)
    lib.post(f"{PAGE}/systems", {"name": "1층 키오스크", "kind": "kiosk", "integrated": "yes"},
             page=PAGE)
    view = hub.onboarding.view(SYSTEM, LIB)
    item = next(i for c in view["checklists"] for i in c["items"] if i["key"] == "rules.numbering")
    assert item["done"] and item["note"] == "2026-02 개정" and item["actor"] == "staff:lib-141099"
    assert [(s["name"], s["integrated"], s["tested"]) for s in view["systems"]] == [
        ("1층 키오스크", True, False)]
    # an unknown item: refused with the Korean message, not the code
    r = lib.post(f"{PAGE}/checks", {"item": "equipment.teleporter", "done": "yes"}, page=PAGE)
    shown = flashes(follow(lib, r).text)
    assert ko(Code.ONBOARDING_UNKNOWN_ITEM) in shown
    assert not re.search(r">\s*ONBOARDING_UNKNOWN_ITEM", shown)
    # another library's page, read or written: 403 with the Korean refusal, nothing stored
    other = lib.c.get("/console/onboarding/141001")
    assert other.status_code == 403 and ko(Code.FORBIDDEN) in other.text
    assert "경기 수원선경도서관" not in other.text
    for path, form in (("checks", {"item": "rules.numbering", "done": "yes"}),
                       ("systems", {"name": "ILS", "kind": "ils"}),
                       ("move", {"target": "suspended", "confirm": "yes"}),
                       ("plan", {"plan_live": "2026-06-01"})):
        r = lib.post(f"/console/onboarding/141001/{path}", form, page=PAGE)
        assert r.status_code == 403 and ko(Code.FORBIDDEN) in r.text, path
    assert lib.c.get("/console/onboarding/141001/reports/1").status_code == 403
    other_view = hub.onboarding.view(SYSTEM, "141001")
    assert other_view["systems"] == [] and other_view["stage"] == "live"
    assert all(not i["done"] for c in other_view["checklists"] for i in c["items"])
    # moving its own stage is for admins
    r = lib.post(f"{PAGE}/move", {"target": "final_test", "confirm": "yes"}, page=PAGE)
    assert r.status_code == 403 and hub.onboarding.view(SYSTEM, LIB)["stage"] == "building"


def test_moves_reports_plan_and_launch_from_the_console(hub, new_web, clock) -> None:  # noqa: ANN001
    regional = new_web().staff("gyeonggi-admin")
    page = regional.c.get(PAGE).text
    # the regional admin's moves: forward and on hold, not withdrawal (국중 only)
    assert re.findall(r'id="move-(\w+)"', page) == ["final_test", "on_hold"]
    r = regional.post(f"{PAGE}/move", {"target": "final_test", "reason": "구축 완료"}, page=PAGE)
    assert r.status_code == 200 and "참여 단계를 변경합니다" in r.text  # asks first
    assert hub.onboarding.view(SYSTEM, LIB)["stage"] == "building"
    r = regional.post(f"{PAGE}/move", {"target": "final_test", "reason": "구축 완료",
                                       "confirm": "yes"}, page=PAGE)
    page = follow(regional, r).text
    assert "참여 단계를 변경했습니다" in flashes(page) and 'data-stage="final_test"' in page
    assert "구축 완료" in re.search(r'id="history-table">.*?</table>', page, re.S).group(0)
    # pilot refused without a report: the Korean message
    r = regional.post(f"{PAGE}/move", {"target": "pilot", "confirm": "yes"}, page=PAGE)
    assert ko(Code.ONBOARDING_NO_REPORT) in flashes(follow(regional, r).text)
    # on hold without a reason
    r = regional.post(f"{PAGE}/move", {"target": "on_hold", "confirm": "yes"}, page=PAGE)
    assert ko(Code.ONBOARDING_REASON_REQUIRED) in flashes(follow(regional, r).text)

    # reports: not JSON, the wrong library, then a pass; listed with its age and viewable
    lib = new_web().staff(f"lib-{LIB}")
    token = lib.csrf(PAGE)

    def upload(data: bytes):  # noqa: ANN202
        return lib.c.post(f"{PAGE}/reports", data={"csrf": token},
                          files={"file": ("report.json", data, "application/json")})

    assert ko(Code.ONBOARDING_REPORT_INVALID) in flashes(follow(lib, upload(b"\xff{")).text)
    wrong = json.dumps(report("141001", "pass", T0)).encode()
    assert ko(Code.ONBOARDING_REPORT_INVALID) in flashes(follow(lib, upload(wrong)).text)
    good = json.dumps(report(LIB, "pass", T0 - timedelta(days=2))).encode()
    page = follow(lib, upload(good)).text
    assert "결과서를 등록했습니다" in flashes(page)
    row = re.search(r'<tr data-report="(\d+)" data-result="pass">(.*?)</tr>', page, re.S)
    assert row and "통과" in row.group(2) and "2일 전" in row.group(2)
    shown = lib.c.get(f"{PAGE}/reports/{row.group(1)}")
    assert shown.status_code == 200 and "적합성 검사 보고서" in shown.text
    assert "style-src 'unsafe-inline'" in shown.headers["content-security-policy"]
    assert lib.c.get(f"{PAGE}/reports/{row.group(1)}?format=json").json()["target"][
        "library"] == LIB
    assert lib.c.get(f"{PAGE}/reports/999999").status_code == 404
    # the pilot still needs every linked system: the Korean refusal
    r = regional.post(f"{PAGE}/move", {"target": "pilot", "confirm": "yes"}, page=PAGE)
    assert ko(Code.ONBOARDING_SYSTEMS_OPEN) in flashes(follow(regional, r).text)
    lib.post(f"{PAGE}/systems", {"name": "ILS", "kind": "ils", "integrated": "yes",
                                 "tested": "yes"}, page=PAGE)
    r = regional.post(f"{PAGE}/move", {"target": "pilot", "confirm": "yes"}, page=PAGE)
    assert "참여 단계를 변경했습니다" in flashes(follow(regional, r).text)
    # remove a system (asks first)
    lib.post(f"{PAGE}/systems", {"name": "북드롭", "kind": "book_drop"}, page=PAGE)
    assert lib.post(f"{PAGE}/systems/remove", {"name": "북드롭"}, page=PAGE).status_code == 200
    follow(lib, lib.post(f"{PAGE}/systems/remove", {"name": "북드롭", "confirm": "yes"},
                         page=PAGE))
    assert [s["name"] for s in hub.onboarding.view(SYSTEM, LIB)["systems"]] == ["ILS"]

    # the schedule: a bad date is refused, a good one stored
    r = lib.post(f"{PAGE}/plan", {"plan_live": "2026-13-40"}, page=PAGE)
    assert ko(Code.VALIDATION_ERROR) in flashes(follow(lib, r).text)
    follow(lib, lib.post(f"{PAGE}/plan", {"plan_pilot": "2026-03-01",
                                          "plan_live": "2026-04-15"}, page=PAGE))
    plan = {p["stage"]: p["planned_on"] for p in hub.onboarding.view(SYSTEM, LIB)["plan"]}
    assert plan["live"] == "2026-04-15" and plan["pilot"] == "2026-03-01"

    # the launch date: national only, at least N days ahead
    assert 'id="launch-form"' not in regional.c.get(PAGE).text
    admin = new_web().staff("admin")
    too_soon = (T0 + timedelta(days=3)).date().isoformat()
    r = admin.post(f"{PAGE}/launch", {"launch_date": too_soon, "confirm": "yes"}, page=PAGE)
    assert ko(Code.ONBOARDING_LAUNCH_TOO_SOON) in flashes(follow(admin, r).text)
    launch = (T0 + timedelta(days=20)).date()
    follow(admin, admin.post(f"{PAGE}/launch", {"launch_date": launch.isoformat(),
                                                "confirm": "yes"}, page=PAGE))
    # launch: refused before the date, done after it (the hub's clock)
    r = admin.post(f"{PAGE}/move", {"target": "live", "confirm": "yes"}, page=PAGE)
    assert ko(Code.ONBOARDING_LAUNCH_NOT_YET) in flashes(follow(admin, r).text)
    clock.advance(days=20)
    r = admin.post(f"{PAGE}/move", {"target": "live", "reason": "개시", "confirm": "yes"},
                   page=PAGE)
    page = follow(admin, r).text
    assert 'data-stage="live"' in page and launch.isoformat() in page
    assert LIB not in re.search(r'id="board".*?</div>\s*<section', admin.c.get(
        "/console/onboarding").text, re.S).group(0)


def test_timeline_draws_planned_against_actual() -> None:
    words = Words("일정", "계획", "실제", "지연", "오늘", "{year}년 {month}월", "{libraries}/{overdue}")
    today = date(2026, 3, 4)
    row = Row("141099", "새내기<도서관>", [
        Point(1, "검토", date(2026, 1, 10), date(2026, 1, 15)),  # late: red connector
        Point(2, "선정", date(2026, 2, 1), date(2026, 1, 30)),  # early: green
        Point(3, "신청", date(2026, 3, 1), None, overdue=True),
        Point(4, "등록", None, None)])
    svg = ET.fromstring(str(timeline_svg([row], today, words)))
    kinds = [g.get("class") for g in svg.iter(f"{SVG}g")]
    assert kinds.count("tl-planned") == 2 and kinds.count("tl-overdue") == 1
    assert kinds.count("tl-actual") == 2
    colours = [line.get("stroke") for line in svg.iter(f"{SVG}line")]
    assert "#b3261e" in colours and "#1d7a3a" in colours
    texts = [t.text for t in svg.iter(f"{SVG}text")]
    assert "새내기<도서관>" in texts and "2026년 2월" in texts and "2026년 3월" in texts
    assert svg.find(f"{SVG}desc").text == "1/1"
    # no inline style (the CSP forbids it): colours are presentation attributes
    assert "style=" not in str(timeline_svg([row], today, words))


def test_timeline_keeps_markers_apart_and_old_dates_on_the_edge() -> None:
    words = Words("일정", "계획", "실제", "지연", "오늘", "{year}년 {month}월", "{libraries}/{overdue}")
    today = date(2026, 12, 1)
    row = Row("141002", "용인", [Point(1, "a", None, date(2026, 3, 4)),  # long ago
                                 Point(2, "b", None, date(2026, 11, 20)),
                                 Point(3, "c", None, date(2026, 11, 20))])  # same day
    svg = ET.fromstring(str(timeline_svg([row], today, words)))
    xs = [float(g.find(f"{SVG}circle").get("cx")) for g in svg.iter(f"{SVG}g")
          if g.get("class") == "tl-actual"]
    assert xs[0] == 244.0  # on the left edge, not months of empty chart
    assert xs[2] - xs[1] >= 18  # apart
    months = [t.text for t in svg.iter(f"{SVG}text") if t.text and "월" in t.text]
    assert months == ["2026년 9월", "2026년 10월", "2026년 11월"]


def test_documents_upload_list_download_and_remove(hub, new_web) -> None:  # noqa: ANN001
    from ..docfiles import hwp, pdf, word_doc

    lib = new_web().staff(f"lib-{LIB}")
    token = lib.csrf(PAGE)

    def upload(name: str, data: bytes, kind: str = "application_form"):  # noqa: ANN202
        r = lib.c.post(f"{PAGE}/documents", data={"csrf": token, "kind": kind,
                                                  "note": "2026-공문-0412"},
                       files={"file": (name, data, "application/octet-stream")})
        return follow(lib, r).text

    form = pdf()  # (each call has its own creation time)
    page = upload("참여신청서.pdf", form)
    assert "서류를 올렸습니다" in flashes(page)
    upload("수요조사서.hwp", hwp(), kind="survey")
    # a Word file, or a PDF named .hwp: refused with the Korean message, nothing stored
    for name, data in (("계획.docx", word_doc()), ("가짜.hwp", pdf())):
        assert ko(Code.ONBOARDING_DOCUMENT_TYPE) in flashes(upload(name, data))
    rows = re.findall(r'<tr data-document="(\d+)" data-kind="(\w+)">(.*?)</tr>',
                      lib.c.get(PAGE).text, re.S)
    assert [kind for _, kind, _ in rows] == ["survey", "application_form"]
    assert "수요조사서" in rows[0][2] and "참여신청서.pdf" in rows[1][2]
    form_id = rows[1][0]
    # download: the bytes as uploaded, as an attachment
    got = lib.c.get(f"{PAGE}/documents/{form_id}")
    assert got.status_code == 200 and got.content == form
    assert got.headers["content-type"] == "application/pdf"
    assert got.headers["content-disposition"].startswith("attachment")
    # another library's staff: no page, no download, no upload, no removal
    other = new_web().staff("lib-141001")
    assert other.c.get(f"{PAGE}/documents/{form_id}").status_code == 403
    r = other.c.post(f"{PAGE}/documents", data={"csrf": other.csrf("/console")},
                     files={"file": ("x.pdf", pdf(), "application/pdf")})
    assert r.status_code == 403 and ko(Code.FORBIDDEN) in r.text
    r = other.post(f"{PAGE}/documents/remove", {"document": form_id, "confirm": "yes"})
    assert r.status_code == 403
    # the regional admin may read it too; the library removes it (asks first)
    assert new_web().staff("gyeonggi-admin").c.get(
        f"{PAGE}/documents/{form_id}").content == form
    assert lib.post(f"{PAGE}/documents/remove", {"document": form_id},
                    page=PAGE).status_code == 200
    follow(lib, lib.post(f"{PAGE}/documents/remove", {"document": form_id, "confirm": "yes"},
                         page=PAGE))
    assert [d["kind"] for d in hub.documents.list(SYSTEM, LIB)["documents"]] == ["survey"]
    assert lib.c.get(f"{PAGE}/documents/{form_id}").status_code == 404


def test_connector_package_download_from_the_console(hub, new_web) -> None:  # noqa: ANN001
    import io
    import zipfile

    def unzip(r) -> dict[str, str]:  # noqa: ANN001
        assert r.status_code == 200, r.text[:500]
        assert r.headers["content-type"] == "application/zip"
        assert r.headers["content-disposition"] == (
            f'attachment; filename="chaekieum-connector-{LIB}.zip"')
        with zipfile.ZipFile(io.BytesIO(r.content)) as z:
            return {n.rsplit("/", 1)[1]: z.read(n) for n in z.namelist()}

    def sandbox_keys() -> set[str]:
        return {k["key_id"] for k in hub.credentials.list_api_keys(SYSTEM, "library", LIB)
                if k["environment"] == "sandbox" and not k["revoked"]}

    before = sandbox_keys()
    # the library's staff: the placeholder package, no button that issues credentials
    lib = new_web().staff(f"lib-{LIB}")
    page = lib.c.get(PAGE).text
    assert 'id="package-form"' in page and 'id="package-issue-form"' not in page
    assert "인증정보를 새로 발급하지 않습니다" in page
    files = unzip(lib.post(f"{PAGE}/connector-package", {"adapter": "webhook"}, page=PAGE))
    assert sorted(files) == sorted(["connector.toml", "chaekieum-connector.service",
                                    "INSTALL.md", f"구축연계_안내서_{LIB}.pdf"])
    toml = files["connector.toml"].decode()
    assert f'library = "{LIB}"' in toml and 'type = "webhook"' in toml
    assert "등록 시 발급된 시험용 API 키" in toml and "경기 새내기작은도서관" in files[
        "INSTALL.md"].decode()
    # asking for credentials anyway: refused (the Korean message), nothing issued
    r = lib.post(f"{PAGE}/connector-package", {"issue_credentials": "yes", "confirm": "yes"},
                 page=PAGE)
    assert ko(Code.FORBIDDEN) in flashes(follow(lib, r).text)
    # another library's staff: neither the page nor the package
    other = new_web().staff("lib-141001")
    r = other.post(f"{PAGE}/connector-package", {"adapter": "manual"})
    assert r.status_code == 403 and ko(Code.FORBIDDEN) in r.text and r.content[:2] != b"PK"
    assert sandbox_keys() == before

    # the regional admin: the warning is on the page before the click, the click asks
    # first (no-script confirmation page), and only then are new sandbox credentials issued
    regional = new_web().staff("gyeonggi-admin")
    page = regional.c.get(PAGE).text
    warning = re.search(r'id="package-issue-warning">(.*?)</p>', page, re.S).group(1)
    assert "새로 발급" in warning and "운영 API 키와 운영 키오스크 계정은 바뀌지 않습니다" in warning
    assert 'id="package-issue-form"' in page and "data-confirm=\"이 도서관의 시험용" in page
    r = regional.post(f"{PAGE}/connector-package", {"issue_credentials": "yes"}, page=PAGE)
    assert r.status_code == 200 and "새로 발급하여 연계 패키지에 담습니다" in r.text
    assert sandbox_keys() == before
    files = unzip(regional.post(f"{PAGE}/connector-package",
                                {"issue_credentials": "yes", "confirm": "yes"}, page=PAGE))
    new = sandbox_keys() - before
    assert len(new) == 1 and before <= sandbox_keys()  # added; none revoked
    assert f"ck_{new.pop()}_" in files["connector.toml"].decode()
    rows = hub.audit.search(SYSTEM, action="onboarding.connector_package")
    assert [(r["actor"], r["details"]["credentials_issued"]) for r in rows] == [
        ("staff:gyeonggi-admin", True), (f"staff:lib-{LIB}", False)]
    # before registration there is no package to offer
    hub.network.register_library(SYSTEM, "141098", "경기 준비도서관", "gyeonggi", 6, [0],
                                 status="application")
    assert 'id="package"' not in new_web().staff("admin").c.get(
        "/console/onboarding/141098").text
