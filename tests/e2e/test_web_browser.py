"""The web UI in a real browser, against the whole running service (live_server).

One story across the network: a librarian registers a member and lends two books, renews
one the next day, the book is returned at another library of the same region (which
auto-joins the member with an ID check and lends one of its own), the transit shows in
both libraries' queues, the member checks both libraries' loans and the mobile card on
a phone, and the national dashboard moved.
"""

from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.browser

HOME, OTHER = "111001", "111002"  # 서울도서관, 중랑구립정보도서관 (same region: seoul)


def submit(page, action) -> None:  # noqa: ANN001
    """Run `action` (a click or a key press) and wait for the page it loads."""
    with page.expect_navigation():
        action()
    page.wait_for_load_state("networkidle")


def staff_login(page, base: str, username: str, password: str) -> None:  # noqa: ANN001
    page.goto(f"{base}/login")
    assert page.evaluate("document.activeElement.name") == "username"  # autofocus
    page.keyboard.type(username)
    page.keyboard.press("Tab")
    page.keyboard.type(password)
    submit(page, lambda: page.keyboard.press("Enter"))


def scan(page, value: str) -> None:  # noqa: ANN001
    """Keyboard only: the scan box has focus after every page load; Enter submits."""
    assert page.evaluate("document.activeElement.id") == "scan"
    page.keyboard.type(value)
    submit(page, lambda: page.keyboard.press("Enter"))


def flashes(page) -> str:  # noqa: ANN001
    return " ".join(page.locator(".flash").all_inner_texts())


def kpi(page, name: str) -> int:  # noqa: ANN001
    return int(page.locator(f"#kpi-{name}").inner_text())


def chart_total(page, canvas: str) -> int:  # noqa: ANN001
    return page.evaluate(
        """id => { const c = Chart.getChart(id); return c.data.datasets[0].data
                   .reduce((a, b) => a + b, 0); }""", canvas)


def test_network_story_in_the_browser(live_server, new_page, screenshot) -> None:  # noqa: ANN001
    base = live_server.url
    hub = live_server.hub

    # -- the national admin's dashboard before --------------------------------------------
    admin = new_page()
    staff_login(admin, base, "admin", "chaekieum-admin")
    assert admin.url.endswith("/console")
    loans_before = kpi(admin, "loans")
    per_day_before = chart_total(admin, "chart-per-day")
    assert per_day_before == loans_before

    # -- librarian of 서울도서관 registers a member ---------------------------------------------
    desk = new_page()
    staff_login(desk, base, f"lib-{HOME}", f"lib-{HOME}-pass")
    assert desk.url.endswith("/desk")
    submit(desk, lambda: desk.click("text=신규 회원 등록"))
    desk.fill("[name=name]", "한결")
    desk.fill("[name=birth_year]", "1992")
    desk.fill("[name=phone]", "010-2222-3333")
    desk.fill("[name=password]", "portal-pass-9")
    desk.check("[name=consent]")
    screenshot(desk, "desk-register")
    submit(desk, lambda: desk.click("#register-form button[type=submit]"))
    text = flashes(desk)
    assert "회원으로 등록되었습니다" in text
    number = re.search(r"\d{14}", text).group(0)
    assert desk.locator("#member-panel").is_visible()

    # -- two checkouts: a 통합바코드 and a plain 등록번호 ----------------------------------------
    scan(desk, f"${HOME}EM0000000001")
    assert "대출되었습니다" in flashes(desk)
    scan(desk, "EM2")
    assert "대출되었습니다" in flashes(desk)
    assert desk.locator("#member-loans tbody tr").count() == 2
    # a refusal shows its Korean reason (EM...12 is a reference copy)
    scan(desk, f"${HOME}EM0000000012")
    assert "대출할 수 없는 자료입니다." in desk.locator(".flash.error").inner_text()
    screenshot(desk, "desk-checkout")

    # -- next day: renew one (never renewable on the loan day: no button offered) -----------
    row = desk.locator(f"#member-loans tr[data-item='${HOME}EM0000000001']")
    assert row.locator("button", has_text="반납연기").count() == 0
    assert row.locator("button", has_text="취소").count() == 1
    hub.clock.advance(days=1)
    desk.goto(f"{base}/desk")
    row = desk.locator(f"#member-loans tr[data-item='${HOME}EM0000000001']")
    due_before = row.locator("td").nth(4).inner_text()
    submit(desk, lambda: row.locator("button", has_text="반납연기").click())
    assert "반납연기되었습니다" in flashes(desk)
    row = desk.locator(f"#member-loans tr[data-item='${HOME}EM0000000001']")
    assert row.locator("td").nth(4).inner_text() > due_before
    desk.goto(f"{base}/desk/receipt")
    assert desk.locator("#receipt tbody tr").count() == 3  # two loans and a renewal
    screenshot(desk, "desk-receipt")

    # -- return at another library of the region; auto-join with the ID check ---------------
    other = new_page()
    staff_login(other, base, f"lib-{OTHER}", f"lib-{OTHER}-pass")
    scan(other, f"${HOME}EM0000000002")  # no member open: a return
    text = flashes(other)
    assert "반납되었습니다" in text and "타관반납" in text
    scan(other, number)
    assert other.locator("#member-panel").is_visible()
    scan(other, f"${OTHER}EM0000000003")
    assert other.locator("#idcheck-q").inner_text() == "신분증을 확인하셨습니까?"
    assert other.evaluate("document.activeElement.id") == "scan"  # a scan cannot confirm
    screenshot(other, "desk-idcheck")
    submit(other, lambda: other.keyboard.press("F8"))  # confirm with its own key
    assert "대출되었습니다" in flashes(other)
    assert other.locator("#idcheck-q").count() == 0

    # the transit is in both libraries' queues
    other.goto(f"{base}/console/transits")
    assert f"${HOME}EM0000000002" in other.locator("#transits-outgoing").inner_text()
    screenshot(other, "transits-outgoing")
    desk.goto(f"{base}/console/transits")
    assert f"${HOME}EM0000000002" in desk.locator("#transits-incoming").inner_text()
    screenshot(desk, "transits-incoming")
    desk.goto(f"{base}/console/members/{number}")
    assert "회원 등록" in desk.locator("#member-audit [data-action='member.register']").inner_text()
    screenshot(desk, "console-member")

    # -- the member on a phone ------------------------------------------------------------------
    phone = new_page(viewport=(375, 812), is_mobile=True, has_touch=True)
    phone.goto(f"{base}/my/login")
    phone.fill("[name=number]", number)
    phone.fill("[name=password]", "portal-pass-9")
    submit(phone, lambda: phone.click("button[type=submit]"))
    assert phone.url.endswith("/my")
    loans = phone.locator("#portal-loans li.loan")
    assert loans.count() == 2
    owners = set(phone.locator("#portal-loans .owner-name").all_inner_texts())
    assert owners == {"서울도서관", "중랑구립정보도서관"}
    assert phone.evaluate("document.documentElement.scrollWidth") <= 375
    screenshot(phone, "portal-phone")
    submit(phone, lambda: phone.click("#main >> text=모바일 이용증"))
    for img in ("#card-barcode", "#card-qr"):
        size = phone.evaluate(
            "s => { const i = document.querySelector(s); return [i.naturalWidth, "
            "i.getBoundingClientRect().width]; }", img)
        assert size[0] > 0 and size[1] >= 200  # loaded, and big enough to scan
    assert phone.evaluate("document.documentElement.scrollWidth") <= 375
    assert number in phone.locator(".card-number").inner_text()
    screenshot(phone, "portal-card")

    # -- the dashboard changed ---------------------------------------------------------------
    admin.reload()
    admin.wait_for_load_state("networkidle")
    assert kpi(admin, "loans") == loans_before + 3
    assert kpi(admin, "returns") >= 1
    assert kpi(admin, "transits") >= 1
    assert chart_total(admin, "chart-per-day") == loans_before + 3
    assert "서울" in admin.locator("#table-per-region").inner_text()
    screenshot(admin, "console-dashboard")
    admin.goto(f"{base}/console/members/{number}")
    trail = admin.locator("#member-audit").inner_text()  # every library's records, labelled
    assert "회원 등록" in trail and "책이음 자동 가입" in trail and "member." not in trail
    assert admin.locator("#member-loans tbody tr").count() == 2
    for path, name in (("/console/libraries", "console-libraries"),
                       (f"/console/libraries/{HOME}", "console-library"),
                       ("/console/centers", "console-centers"),
                       ("/console/audit", "console-audit")):
        admin.goto(base + path)
        screenshot(admin, name)


def test_english_catalog_and_keyboard_focus(live_server, new_page) -> None:  # noqa: ANN001
    page = new_page()
    page.goto(f"{live_server.url}/login?lang=en")
    assert page.locator("h1").inner_text() == "Staff sign-in"
    page.goto(f"{live_server.url}/my/login")  # the choice is remembered
    assert page.locator("h1").inner_text() == "My library sign-in"
    assert page.evaluate("document.activeElement.name") == "number"  # autofocus
    page.goto(f"{live_server.url}/my/login?lang=ko")
    assert page.locator("h1").inner_text() == "내 서재 로그인"
