"""Issue 11 in Chromium: one library walks from the suitability check to the service
launch in the console, as the library (checklists, schedule, documents, linked systems,
the conformance report), the regional center and the national center (the moves, the
launch date), with refused moves shown in Korean, the library unable to open another
library's page, and screenshots of the board and the library's page.

The conformance kit runs for real against the running hub during the walk, with the
sandbox credentials 국중 issued into the library's connector package (downloaded in the
console at registration): before the pilot the library's sandbox is all they reach. Run
without a kiosk port its report is incomplete (SIP2 scenarios skipped) and the pilot is
refused for it; run with the hub's SIP2 port and the package's kiosk login it passes
(the connector scenarios do not apply to the hub), and that report, the kit's own file,
is uploaded through the console and opens the pilot."""

from __future__ import annotations

import re
import tomllib
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from chaekieum.conformance import report as reports
from chaekieum.conformance.runner import Options, run
from chaekieum.domain.errors import Code, message
from chaekieum.services import demo
from chaekieum.services.context import SYSTEM, Role

from ..docfiles import pdf

pytestmark = pytest.mark.browser

LIB, NAME = "141100", "경기 새싹작은도서관"
PAGE = f"/console/onboarding/{LIB}"


def ko(code: Code) -> str:
    return message(code, "ko")


class Walk:
    """The three parties, each signing in on a fresh page when it is their turn (the
    hub's clock moves days between steps: yesterday's session has expired). Nine
    sign-ins in all: the login rate limit is ten a minute per address."""

    def __init__(self, server, new_page, shots: Path):  # noqa: ANN001
        self.url, self.new_page, self.shots = server.url, new_page, shots

    def signin(self, username: str, password: str | None = None):  # noqa: ANN201
        page = self.new_page()
        page.goto(f"{self.url}/login")
        page.fill("[name=username]", username)
        page.fill("[name=password]", password or demo.staff_password(username))
        with page.expect_navigation():
            page.click("form button[type=submit]")
        page.goto(f"{self.url}/console/onboarding")  # a librarian lands on their page
        return page

    def shot(self, page, name: str) -> Path:  # noqa: ANN001
        path = self.shots / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path


def move(page, target: str, reason: str = "") -> None:  # noqa: ANN001
    """An admin's move: the reason, then the confirmation dialog."""
    form = page.locator(f"#move-{target}")
    if reason:
        form.locator("[name=reason]").fill(reason)
    form.locator("button").click()
    dialog = page.get_by_role("dialog", name="확인")
    assert "참여 단계를 변경합니다" in dialog.inner_text()
    with page.expect_navigation():
        page.click("#confirm-yes")


def package(download) -> dict[str, str]:  # noqa: ANN001
    """The connector package's text files by name (the zip holds one folder for LIB)."""
    assert download.suggested_filename == f"chaekieum-connector-{LIB}.zip"
    with zipfile.ZipFile(download.path()) as z:
        return {n.rsplit("/", 1)[1]: z.read(n).decode() for n in z.namelist()
                if not n.endswith(".pdf")}


def stage(page) -> str:  # noqa: ANN001
    return page.locator("#onb-stage").get_attribute("data-stage")


def refusals(page) -> dict[str, str]:  # noqa: ANN001
    items = page.locator(".flash.error li[data-code]")
    return {items.nth(i).get_attribute("data-code"): items.nth(i).inner_text()
            for i in range(items.count())}


def tick_all(page, stage_name: str, note: str = "") -> None:  # noqa: ANN001
    """Tick every open item of a stage's checklist, one row (one form) at a time."""
    rows = page.locator(f"#checklist-{stage_name} tr[data-item]")
    for key in [rows.nth(i).get_attribute("data-item") for i in range(rows.count())]:
        row = page.locator(f'#checklist-{stage_name} tr[data-item="{key}"]')
        if row.locator("input[type=checkbox]").is_checked():
            continue
        row.locator("input[type=checkbox]").check()
        if note:
            row.locator("[name=note]").fill(note)
        with page.expect_navigation():
            row.locator("button").click()
        assert page.locator(f'#checklist-{stage_name} tr[data-item="{key}"].done').count()


def test_one_library_from_suitability_check_to_launch(live_server, new_page, clock,  # noqa: ANN001
                                                      tmp_path) -> None:
    hub = live_server.hub
    # the walk starts 44 days ago, so that the final test is today: the kit's report
    # carries the wall-clock time of its run, which the pilot gate holds to freshness
    clock.set(datetime.now(UTC).replace(tzinfo=None, microsecond=0) - timedelta(days=44))
    day0 = clock.today()
    # 국중 enters the library at the suitability check, with a librarian account;
    # another library is late on its schedule
    hub.network.register_library(SYSTEM, LIB, NAME, "gyeonggi", 6, status="suitability_check")
    hub.credentials.create_staff(SYSTEM, f"lib-{LIB}", "new-library-pass", f"{NAME} 사서",
                                 Role.LIBRARIAN, LIB)
    hub.onboarding.set_plan(SYSTEM, "141099", {"final_test": day0 - timedelta(days=5),
                                               "pilot": day0 + timedelta(days=20)})
    walk = Walk(live_server, new_page, tmp_path)

    # -- the library: its own page, the suitability checklist, the schedule -------------
    lib = walk.signin(f"lib-{LIB}", "new-library-pass")
    assert lib.url.endswith(PAGE) and stage(lib) == "suitability_check"
    assert lib.locator("#onb-responsible").inner_text() == "참여도서관"
    assert lib.locator(".move-form").count() == 0  # the library ticks; admins move
    # the keyboard: tick, note, save without the mouse
    first = lib.locator('#checklist-suitability_check tr[data-item="it.ils"]')
    first.locator("input[type=checkbox]").focus()
    lib.keyboard.press("Space")
    lib.keyboard.press("Tab")
    lib.keyboard.type("KOLAS III 3.1")
    lib.keyboard.press("Tab")
    with lib.expect_navigation():
        lib.keyboard.press("Enter")
    first = lib.locator('#checklist-suitability_check tr[data-item="it.ils"].done')
    assert first.locator("[name=note]").input_value() == "KOLAS III 3.1"
    tick_all(lib, "suitability_check")
    plan = {"suitability_check": 2, "vendor_selection": 10, "application": 20,
            "registered": 30, "building": 45, "final_test": 55, "pilot": 60, "live": 80}
    for name, days in plan.items():
        lib.fill(f"#plan-{name}", (day0 + timedelta(days=days)).isoformat())
    with lib.expect_navigation():
        lib.click("#plan-form button[type=submit]")
    assert "세부일정을 저장했습니다" in lib.locator(".flash.ok").inner_text()
    # another library's page: refused, in Korean, and nothing of it shown
    lib.goto(f"{live_server.url}/console/onboarding/141099")
    assert ko(Code.FORBIDDEN) in lib.locator("main").inner_text()
    assert "새내기" not in lib.content()

    # -- the regional center: vendor selected, application -------------------------------
    clock.advance(days=3)
    regional = walk.signin("gyeonggi-admin")
    card = regional.locator(f'#col-suitability_check article[data-code="{LIB}"]')
    assert "참여도서관" in card.inner_text()
    assert regional.locator('article[data-code="141099"].overdue').count() == 1
    with regional.expect_navigation():
        card.locator("a").click()
    move(regional, "vendor_selection", "적합성 검토 완료")
    assert stage(regional) == "vendor_selection"
    move(regional, "application", "사업자 계약 체결")
    # registration is 국중's: the regional admin has no such button
    assert regional.locator("#move-registered").count() == 0

    # -- the library applies; 국중 registers ----------------------------------------------
    clock.advance(days=9)
    lib = walk.signin(f"lib-{LIB}", "new-library-pass")
    tick_all(lib, "application", note="2026-공문-0412")
    form = pdf()
    lib.select_option("#document-upload [name=kind]", "application_form")
    lib.set_input_files("#document-upload [name=file]", files=[
        {"name": "참여신청서.pdf", "mimeType": "application/pdf", "buffer": form}])
    with lib.expect_navigation():
        lib.click("#document-upload button")
    link = lib.locator('#documents-table tr[data-kind="application_form"] a')
    with lib.expect_download() as download:
        link.click()
    assert download.value.suggested_filename == "참여신청서.pdf"
    assert Path(download.value.path()).read_bytes() == form
    clock.advance(days=8)
    national = walk.signin("admin")
    national.goto(f"{live_server.url}{PAGE}")
    move(national, "registered", "도서관부호 141100 부여")
    assert national.locator("#onb-responsible").inner_text() == "국립중앙도서관"
    # 국중 hands over the connector package with new sandbox credentials: the page says
    # so before the click, and the dialog asks again
    assert "운영 API 키와 운영 키오스크 계정은 바뀌지 않습니다" in national.locator(
        "#package-issue-warning").inner_text()
    national.click("#package-issue-form button")
    dialog = national.get_by_role("dialog", name="확인")
    assert "새로 발급하여 연계 패키지에 담습니다" in dialog.inner_text()
    with national.expect_download() as download:
        national.click("#confirm-yes")
    issued = package(download.value)
    config = tomllib.loads(issued["connector.toml"])
    assert config["library"] == LIB and config["api_key"].startswith("ck_")
    # the kit's credentials, as the vendor reads them: the key from the config, the kiosk
    # login from the install steps
    kit_key = config["api_key"]
    kiosk_login, kiosk_password = re.search(r"로그인은 (\S+) / (\S+) 입니다",
                                            issued["INSTALL.md"]).groups()
    assert kiosk_login.startswith(f"sandbox-{LIB}-")
    move(national, "building", "미들웨어·안내서 제공")

    # -- building: the library lists its linked systems and adopts the rules --------------
    clock.advance(days=14)
    lib = walk.signin(f"lib-{LIB}", "new-library-pass")
    for name, kind, tested in (("KOLAS III", "ils", True), ("1층 무인대출반납기", "kiosk", False)):
        lib.fill("#system-add [name=name]", name)
        lib.select_option("#system-add [name=kind]", kind)
        lib.check("#system-add [name=integrated]")
        if tested:
            lib.check("#system-add [name=tested]")
        with lib.expect_navigation():
            lib.click("#system-add button")
    assert lib.locator("#systems-table tr[data-system]").count() == 2
    # the library's own download: the package with placeholders, no credentials issued
    assert lib.locator("#package-issue-form").count() == 0
    lib.select_option("#package-form [name=adapter]", "outbox-sql")
    with lib.expect_download() as download:
        lib.click("#package-form button")
    own = package(download.value)
    assert 'type = "outbox-sql"' in own["connector.toml"] and "시험용 API 키" in own[
        "connector.toml"]
    tick_all(lib, "building")
    clock.advance(days=10)
    regional = walk.signin("gyeonggi-admin")
    regional.goto(f"{live_server.url}{PAGE}")
    move(regional, "final_test", "구축 완료")
    # pilot without any report: refused, in Korean
    move(regional, "pilot")
    assert refusals(regional) == {"ONBOARDING_NO_REPORT": ko(Code.ONBOARDING_NO_REPORT)}
    assert stage(regional) == "final_test"

    # -- final test: the kit runs for real against the running hub, with the package's
    # sandbox credentials (before pilot that is all they reach). Without a kiosk port its
    # SIP2 scenarios are skipped: the report is incomplete, which the pilot gate refuses
    def kit(**sip2: str) -> Path:
        outcome = run(Options(target=live_server.url, library=LIB, key=kit_key, timeout=20,
                              **sip2))
        assert outcome.cleanup["left"] == {"members": 0, "copies": 0}
        json_path, _ = reports.write(reports.build(outcome), tmp_path / "kit")
        return json_path

    failing = kit()
    assert reports.load_report(failing.read_text()).summary.result == "incomplete"
    lib = walk.signin(f"lib-{LIB}", "new-library-pass")
    tick_all(lib, "final_test")
    lib.set_input_files("#report-upload [name=file]", str(failing))
    with lib.expect_navigation():
        lib.click("#report-upload button")
    assert lib.locator('#reports-table tr[data-result="incomplete"]').count() == 1
    with lib.expect_navigation():
        lib.click('#reports-table tr[data-result="incomplete"] a >> nth=0')
    assert "적합성 검사 보고서" in lib.content() and "SIP-01" in lib.content()
    lib.go_back()
    regional.reload()
    move(regional, "pilot")
    assert refusals(regional) == {
        "ONBOARDING_REPORT_FAILED": ko(Code.ONBOARDING_REPORT_FAILED)}
    # the whole catalogue with the hub's kiosk port and the package's kiosk login: every
    # scenario that applies passes (CONN-* do not apply to the hub); the kit's own file
    # goes up through the console
    passing = kit(sip2=f"127.0.0.1:{live_server.sip2_port}", terminal=kiosk_login,
                  password=kiosk_password)
    doc = reports.load_report(passing.read_text())
    assert (doc.summary.result, doc.summary.failed, doc.summary.skipped) == ("pass", 0, 0)
    assert doc.summary.not_applicable == 2 and doc.target.terminal == kiosk_login
    lib.set_input_files("#report-upload [name=file]", str(passing))
    with lib.expect_navigation():
        lib.click("#report-upload button")
    assert "결과서를 등록했습니다" in lib.locator(".flash.ok").inner_text()
    row = lib.locator('#reports-table tr[data-result="pass"]')
    assert row.count() == 1 and "0일" in row.inner_text()
    with lib.expect_navigation():
        row.locator("a >> nth=0").click()
    shown = lib.locator("body").inner_text()
    assert "결과: 통과" in shown and "해당 없음 2" in shown and "SIP-09" in shown
    lib.go_back()
    regional.reload()
    move(regional, "pilot")
    assert list(refusals(regional)) == ["ONBOARDING_SYSTEMS_OPEN"]
    row = lib.locator('#systems-table tr[data-system="1층 무인대출반납기"]')
    row.locator("[name=tested]").check()
    with lib.expect_navigation():
        row.locator("button", has_text="저장").click()
    regional.reload()
    move(regional, "pilot", "적합성 검사 통과")
    assert stage(regional) == "pilot"

    # -- 국중 announces the launch date; launch waits for it and for the pilot -----------
    national = walk.signin("admin")
    national.goto(f"{live_server.url}{PAGE}")
    assert national.locator("#move-live").count() == 1
    national.fill("#launch-form [name=launch_date]", (clock.today() + timedelta(days=5))
                  .isoformat())
    national.click("#launch-form button")
    with national.expect_navigation():
        national.click("#confirm-yes")
    assert list(refusals(national)) == ["ONBOARDING_LAUNCH_TOO_SOON"]
    launch = clock.today() + timedelta(days=20)
    national.fill("#launch-form [name=launch_date]", launch.isoformat())
    national.click("#launch-form button")
    with national.expect_navigation():
        national.click("#confirm-yes")
    assert national.locator("#onb-launch-date").inner_text() == launch.isoformat()
    move(national, "live")
    assert refusals(national) == {"ONBOARDING_LAUNCH_NOT_YET": ko(Code.ONBOARDING_LAUNCH_NOT_YET)}
    walk.shot(national, "onboarding-library-pilot")
    board = national
    board.goto(f"{live_server.url}/console/onboarding")
    walk.shot(board, "onboarding-board")
    assert board.locator(f'#col-pilot article[data-code="{LIB}"]').count() == 1
    timeline = board.locator(f'#timeline svg g.tl-row[data-code="{LIB}"]')
    assert timeline.locator("g.tl-actual").count() == 7  # suitability .. pilot reached
    assert timeline.locator("g.tl-planned").count() == 8

    clock.advance(days=20)
    national = walk.signin("admin")
    national.goto(f"{live_server.url}{PAGE}")
    move(national, "live", "서비스 개시")
    assert stage(national) == "live" and national.locator("#move-suspended").count() == 1
    history = national.locator("#history-table tbody tr")
    assert [history.nth(i).get_attribute("data-stage") for i in range(history.count())] == [
        "live", "pilot", "final_test", "building", "registered", "application",
        "vendor_selection", "suitability_check"]
    assert "사업자 계약 체결" in national.locator("#history-table").inner_text()
    walk.shot(national, "onboarding-library-live")
    view = hub.onboarding.view(SYSTEM, LIB)
    assert view["stage"] == "live" and not any(p["overdue"] for p in view["plan"])
    assert all(i["done"] for c in view["checklists"] for i in c["items"])
    assert (tmp_path / "onboarding-board.png").stat().st_size > 20_000
