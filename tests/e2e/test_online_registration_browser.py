"""Issue #14, online registration in Chromium: a person signs up on a phone (test
identity provider), gets an associate (준회원) number under the library they chose, and
their first visit to a desk with an ID check (the desk's prompt, F8) makes them a full
member (정회원), audited; a child signs up with the guardian's verification."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from chaekieum.services.context import SYSTEM
from chaekieum.store.tables import members, memberships

from .test_desk_scanner import OTHER, login, scanner

pytestmark = pytest.mark.browser


def verify(page, base: str, who: str, name: str, birth_year: int, phone: str) -> None:  # noqa: ANN001
    """/join → the test provider's page → back to the form."""
    page.goto(f"{base}/join")
    with page.expect_navigation():
        page.click(f"#verify-{who}-test")
    assert "/join/test-provider" in page.url
    assert "실제 본인인증이 아니며" in page.locator("#test-provider").inner_text()
    page.fill("[name=name]", name)
    page.fill("[name=birth_year]", str(birth_year))
    page.fill("[name=phone]", phone)
    with page.expect_navigation():
        page.click("#test-provider-submit")
    page.wait_for_url("**/join/form")


def submit_form(page, library: str, phone: str, password: str) -> None:  # noqa: ANN001
    page.select_option("[name=library]", library)
    page.fill("#join-form [name=phone]", phone)
    page.fill("[name=password]", password)
    page.fill("[name=password_repeat]", password)
    page.check("[name=consent]")
    page.wait_for_timeout(3100)  # a person takes longer than the form's minimum
    with page.expect_navigation():
        page.click("#join-submit")


def row(hub, number: str):  # noqa: ANN001, ANN201
    with hub.db.read() as conn:
        member = conn.execute(select(members).where(members.c.number == number)).one()
        joined = dict(conn.execute(select(memberships.c.library_code, memberships.c.how)
                                   .where(memberships.c.member_id == member.id)).all())
    return member, joined


def test_sign_up_online_then_id_check_at_a_desk(live_server, new_page, screenshot) -> None:  # noqa: ANN001
    hub, base = live_server.hub, live_server.url
    phone = new_page(viewport=(375, 812), is_mobile=True, has_touch=True)
    verify(phone, base, "self", "한온라인", 1994, "010-2222-3333")
    assert "한온라인" in phone.locator("#verified-self").inner_text()
    assert phone.evaluate("document.documentElement.scrollWidth") <= 375
    screenshot(phone, "join-form-phone")
    submit_form(phone, "111001", "010-2222-3333", "online-pass-1")
    number = phone.locator("#new-number").inner_text().strip()
    assert len(number) == 14 and number.startswith("111001")
    assert phone.locator("#new-class").inner_text() == "준회원"
    screenshot(phone, "join-done-phone")
    member, joined = row(hub, number)
    assert member.member_class == "준회원" and member.ci_hash and joined == {"111001": "online"}
    assert member.birth_year == 1994 and member.name == "한온라인"
    # signed in: the mobile card works at once
    phone.goto(f"{base}/my/card")
    assert number in phone.locator(".card-number").inner_text()

    # the first visit: a desk of another library; the scan opens the ID-check prompt
    desk = new_page()
    login(desk, base, OTHER)
    scanner(desk, number)
    assert desk.locator("#idcheck-online").is_visible()
    assert desk.locator("#idcheck-title").inner_text() == "온라인 가입 회원의 첫 방문"
    scanner(desk, f"${OTHER}EM0000000004")  # a scan while the prompt is open: queued
    assert desk.locator("#scan-queue").is_visible()
    assert row(hub, number)[0].member_class == "준회원"  # a scan never answers the prompt
    with desk.expect_navigation():
        desk.keyboard.press("F8")
    assert "정회원이 되었습니다" in " ".join(desk.locator(".flash.ok").all_inner_texts())
    member, joined = row(hub, number)
    assert member.member_class == "정회원"
    assert joined == {"111001": "online", OTHER: "direct"}
    # the queued item scan was lent after the check (the member joined here with it)
    assert desk.locator("#member-loans tbody tr").count() == 1
    trail = {r["action"]: r for r in hub.audit.search(SYSTEM, entity_id=number)}
    assert trail["member.register_online"]["details"]["provider"] == "test"
    assert trail["member.join"]["details"] == {"library": OTHER}
    assert trail["member.id_check"]["details"] == {"library": OTHER, "channel": "desk",
                                                   "class": "정회원"}
    assert trail["member.id_check"]["actor"] == f"staff:lib-{OTHER}"
    screenshot(desk, "desk-online-id-check")
    # a second scan: no prompt any more
    scanner(desk, number)
    assert desk.locator("#idcheck").count() == 0


def test_a_child_signs_up_with_the_guardians_verification(live_server, new_page) -> None:  # noqa: ANN001
    hub, base = live_server.hub, live_server.url
    page = new_page(viewport=(375, 812), is_mobile=True, has_touch=True)
    verify(page, base, "guardian", "엄보호", 1982, "010-4444-5555")
    assert "엄보호" in page.locator("#verified-guardian").inner_text()
    page.fill("[name=name]", "엄어린")
    page.fill("[name=birth_year]", str(hub.clock.today().year - 9))
    page.fill("[name=guardian_phone]", "010-4444-5555")
    submit_form(page, "111002", "010-4444-5555", "child-pass-1")
    number = page.locator("#new-number").inner_text().strip()
    member, joined = row(hub, number)
    assert (member.member_class, member.guardian_name, member.ci_hash) == ("준회원", "엄보호", None)
    assert joined == {"111002": "online"}
