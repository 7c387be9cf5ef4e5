"""Issue #8, items 3 and 13 in Chromium: the console's expel button asks in the modal
dialog first, and the desk refuses, saying why, an expelled member, a member barred at
its library and another library's copy (the same decision as every other channel)."""

from __future__ import annotations

import pytest

from chaekieum.services import demo
from chaekieum.services.context import SYSTEM

from .test_desk_scanner import HOME, item, login, refusal_codes, scanner

pytestmark = pytest.mark.browser


def test_expel_asks_first_and_the_desk_refuses_saying_why(live_server, new_page) -> None:  # noqa: ANN001
    hub, page = live_server.hub, new_page()
    number = demo.info(hub)["members"][0]["number"]  # 김하늘, issued at HOME
    login(page, live_server.url, HOME)
    # the desk: another library's copy is refused (the member is fine)
    scanner(page, number)
    scanner(page, item("121001", 1))
    assert refusal_codes(page) == {"COPY_NOT_HERE"}
    # the console: expel with a reason, confirmed in the dialog
    page.goto(f"{live_server.url}/console/members/{number}")
    page.fill("#expel-form [name=reason]", "타인 명의 도용")
    page.click("#expel")
    dialog = page.get_by_role("dialog", name="확인")
    assert dialog.is_visible() and "이 회원을 제적합니다" in dialog.inner_text()
    page.keyboard.press("Escape")
    assert hub.members.get(SYSTEM, number)["status"] == "active"
    page.click("#expel")
    with page.expect_navigation():
        page.click("#confirm-yes")
    assert hub.members.get(SYSTEM, number)["status"] == "expelled"
    assert "타인 명의 도용" in page.locator("#expel-reason").inner_text()
    # the desk refuses the expelled member, saying why
    page.goto(f"{live_server.url}/desk")
    scanner(page, number)
    scanner(page, item(HOME, 2))
    assert "MEMBER_EXPELLED" in refusal_codes(page)
    hub.members.lift_expulsion(SYSTEM, number)
    # barred at this library: refused here
    hub.members.bar(SYSTEM.acting_for(HOME), number, "소란")
    page.goto(f"{live_server.url}/desk")
    scanner(page, number)
    scanner(page, item(HOME, 2))
    assert refusal_codes(page) == {"MEMBER_BARRED_HERE"}
