"""Issue 11 in Chromium, the vendor's (사업자) part: a library chooses its vendor on its
onboarding page; the vendor's staff member signs in at the same console sign-in, lands on
the board with only its library and its to-do list, ticks a linked system integrated and
tested, uploads the conformance kit's report, moves 구축 to 최종 테스트 (its own step), and
is refused, in Korean, on another library's page and on every page outside onboarding.
Screenshots of the vendor's board and page go to the test's tmp dir."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from chaekieum.domain.errors import Code, message
from chaekieum.services.context import SYSTEM, Actor, Role

pytestmark = pytest.mark.browser

LIB, OTHER = "141101", "141102"
V1, V2 = "2208162517", "1248100998"
NATIONAL = Actor(Role.NATIONAL_ADMIN, "staff:admin", "console")


def signin(url: str, page, username: str, password: str) -> None:  # noqa: ANN001
    page.goto(f"{url}/login")
    page.fill("[name=username]", username)
    page.fill("[name=password]", password)
    with page.expect_navigation():
        page.click("form button[type=submit]")


def kit_report(finished: datetime) -> bytes:
    """A passing report in the kit's schema (tests/integration/test_onboarding.py)."""
    return json.dumps({
        "schema": "chaekieum-conformance/1", "kit_version": "0.1", "code_revision": "abc",
        "target": {"url": "http://hub.test", "library": LIB},
        "started_at": (finished - timedelta(minutes=3)).isoformat() + "Z",
        "finished_at": finished.isoformat() + "Z", "selected": [],
        "summary": {"passed": 24, "failed": 0, "skipped": 0, "result": "pass"},
        "results": [], "sandbox": {}}).encode()


def test_vendor_works_on_its_library_only(live_server, new_page, tmp_path) -> None:  # noqa: ANN001
    hub, url = live_server.hub, live_server.url
    hub.vendors.create(NATIONAL, "220-81-62517", "한빛정보(주)", "김구축",
                       "build@hanbit.example")
    hub.vendors.create(NATIONAL, "124-81-00998", "다른정보(주)")
    hub.credentials.create_staff(NATIONAL, "hanbit-kim", "vendor-pass-1", "김구축",
                                 Role.VENDOR, V1)
    for code, name in ((LIB, "경기 새봄작은도서관"), (OTHER, "경기 다른작은도서관")):
        hub.network.register_library(SYSTEM, code, name, "gyeonggi", 6,
                                     status="vendor_selection")
    hub.credentials.create_staff(SYSTEM, f"lib-{LIB}", "library-pass-1", "사서",
                                 Role.LIBRARIAN, LIB)
    hub.vendors.assign(SYSTEM, OTHER, V2)
    hub.onboarding.move(SYSTEM, OTHER, "application")

    # -- the library chooses its vendor at the vendor-selection stage ----------------------
    lib = new_page()
    signin(url, lib, f"lib-{LIB}", "library-pass-1")
    lib.goto(f"{url}/console/onboarding/{LIB}")
    assert lib.locator("#vendor-text").inner_text() == "선정한 사업자가 없습니다"
    lib.select_option("#vendor-form [name=brn]", V1)
    with lib.expect_navigation():
        lib.click("#vendor-form button")
    assert "한빛정보(주)" in lib.locator("#vendor-text").inner_text()
    assert "220-81-62517" in lib.locator("#vendor-text").inner_text()
    for stage in ("application", "registered", "building"):  # 국중 and the region move it
        hub.onboarding.move(SYSTEM, LIB, stage)

    # -- the vendor: the same sign-in, its board and to-do list ----------------------------
    ven = new_page()
    signin(url, ven, "hanbit-kim", "vendor-pass-1")
    assert ven.url == f"{url}/console/onboarding"
    assert "사업자 한빛정보(주)" in ven.locator("header .user").inner_text()
    cards = ven.locator(".board-card")
    assert cards.count() == 1 and cards.first.get_attribute("data-code") == LIB
    assert ven.locator(f'#col-building article[data-code="{LIB}"]').count() == 1
    todo = ven.locator("#vendor-todo")
    assert "사업자 할 일" in todo.inner_text() and "경기 새봄작은도서관" in todo.inner_text()
    nav = ven.locator("header nav").inner_text()
    assert "참여 진행" in nav and "회원" not in nav and "현황" not in nav
    ven.screenshot(path=str(tmp_path / "vendor-board.png"), full_page=True)

    # -- its library's page: a linked system, the kit's report, its own step ---------------
    with ven.expect_navigation():
        todo.locator(f'li[data-code="{LIB}"] a').click()
    assert ven.locator("#onb-stage").get_attribute("data-stage") == "building"
    assert ven.locator("#onb-responsible").inner_text() == "사업자"
    ven.fill("#system-add [name=name]", "KOLAS III")
    ven.select_option("#system-add [name=kind]", "ils")
    ven.check("#system-add [name=integrated]")
    ven.check("#system-add [name=tested]")
    with ven.expect_navigation():
        ven.click("#system-add button")
    assert ven.locator('#systems-table tr[data-system="KOLAS III"].done').count() == 1
    finished = datetime.now(UTC).replace(tzinfo=None, microsecond=0)
    ven.set_input_files("#report-upload [name=file]", files=[
        {"name": "report.json", "mimeType": "application/json",
         "buffer": kit_report(finished)}])
    with ven.expect_navigation():
        ven.click("#report-upload button")
    assert ven.locator('#reports-table tr[data-result="pass"]').count() == 1
    view = hub.onboarding.view(SYSTEM, LIB)
    assert view["systems"][0]["actor"] == view["reports"][0]["actor"] == "staff:hanbit-kim"
    assert ven.locator("#move-on_hold").count() == 0  # hold and withdrawal: admins only
    ven.screenshot(path=str(tmp_path / "vendor-library.png"), full_page=True)
    ven.locator("#move-final_test [name=reason]").fill("구축·연계 완료")
    ven.locator("#move-final_test button").click()
    with ven.expect_navigation():
        ven.click("#confirm-yes")
    assert ven.locator("#onb-stage").get_attribute("data-stage") == "final_test"

    # -- another library's page, and pages outside onboarding: refused in Korean -----------
    for path in (f"/console/onboarding/{OTHER}", "/console/members", "/console", "/desk"):
        answer = ven.goto(f"{url}{path}")
        assert answer.status == 403, path
        assert message(Code.FORBIDDEN, "ko") in ven.locator("main").inner_text(), path
        assert "경기 다른작은도서관" not in ven.content()
