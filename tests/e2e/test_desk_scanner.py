"""The desk under a barcode scanner, in Chromium: a scanner types its code and presses
Enter at once (no waits), whatever has the focus (issue #8, items 1, 2, 4 and 5); and the
confirmation dialog of irreversible actions (item 6)."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select, update

from chaekieum.domain.numbering import make_member_number, mask_member_number
from chaekieum.services import demo
from chaekieum.services.circulation import CheckoutRequest
from chaekieum.services.context import Actor, Role
from chaekieum.store.tables import loans, members, memberships

pytestmark = pytest.mark.browser

HOME, OTHER = "111001", "111002"  # same region; the demo members joined only their home
ADMIN = Actor(Role.NATIONAL_ADMIN, "staff:admin", "desk")


def item(library: str, n: int) -> str:
    return f"${library}EM{n:010d}"


def login(page, base: str, code: str) -> None:  # noqa: ANN001
    page.goto(f"{base}/login")
    page.fill("[name=username]", f"lib-{code}")
    page.fill("[name=password]", demo.staff_password(f"lib-{code}"))
    with page.expect_navigation():
        page.click("form button[type=submit]")
    assert page.url.endswith("/desk")


def scanner(page, code: str) -> None:  # noqa: ANN001
    """What a barcode scanner does: the code, then Enter, immediately."""
    with page.expect_navigation():
        page.keyboard.type(code)
        page.keyboard.press("Enter")
    page.wait_for_load_state("domcontentloaded")


def flashes(page) -> str:  # noqa: ANN001
    return " ".join(page.locator(".flash").all_inner_texts())


def refusal_codes(page) -> set[str]:  # noqa: ANN001
    return set(page.eval_on_selector_all(".flash.error li[data-code]",
                                         "els => els.map(e => e.dataset.code)"))


def joined(hub, number: str, library: str) -> int:  # noqa: ANN001
    with hub.db.read() as conn:
        return conn.scalar(select(func.count()).select_from(memberships).join(
            members, members.c.id == memberships.c.member_id).where(
            members.c.number == number, memberships.c.library_code == library))


def active_loans(hub, number: str) -> int:  # noqa: ANN001
    with hub.db.read() as conn:
        return conn.scalar(select(func.count()).select_from(loans).join(
            members, members.c.id == loans.c.member_id).where(
            members.c.number == number, loans.c.state == "active"))


@pytest.fixture
def people(live_server) -> dict[str, str]:  # noqa: ANN001
    return {m["name"]: m["number"] for m in demo.info(live_server.hub)["members"]}


def test_a_scan_never_confirms_the_id_check_and_is_queued(live_server, new_page,  # noqa: ANN001
                                                          people) -> None:
    hub, page = live_server.hub, new_page()
    number = people["김하늘"]  # joined at HOME only
    login(page, live_server.url, OTHER)
    scanner(page, number)
    scanner(page, item(OTHER, 3))
    assert page.locator("#idcheck-q").inner_text() == "신분증을 확인하셨습니까?"
    assert page.evaluate("document.activeElement.id") == "scan"  # not the confirm button

    # the next book at scanner speed: kept, shown, and nothing confirmed
    scanner(page, item(OTHER, 4))
    assert "스캔을 보관했습니다" in flashes(page)
    assert page.locator("#idcheck-q").is_visible()
    assert item(OTHER, 4) in page.locator("#scan-queue").inner_text()
    assert joined(hub, number, OTHER) == 0 and active_loans(hub, number) == 0

    # even with the confirm button focused, a scanner's Enter does not press it: the code
    # goes to the scan box and is queued too
    page.focus("#idcheck-confirm")
    scanner(page, item(OTHER, 5))
    assert page.locator("#scan-queue li").all_inner_texts() == [item(OTHER, 4), item(OTHER, 5)]
    assert joined(hub, number, OTHER) == 0 and active_loans(hub, number) == 0

    # the deliberate key: the pending book, then the queue in order
    with page.expect_navigation():
        page.keyboard.press("F8")
    assert flashes(page).count("대출되었습니다") == 3
    assert page.locator("#idcheck-q").count() == 0
    assert joined(hub, number, OTHER) == 1 and active_loans(hub, number) == 3
    assert page.locator("#member-loans tbody tr").count() == 3

    # cancelling the prompt drops its queue with a message, and closes the member
    other = people["이바다"]
    scanner(page, other)
    scanner(page, item(OTHER, 6))
    scanner(page, item(OTHER, 7))
    with page.expect_navigation():
        page.click("#idcheck-cancel")
    assert "처리하지 않은 스캔" in flashes(page) and item(OTHER, 7) in flashes(page)
    assert page.locator("#no-member").is_visible()
    assert joined(hub, other, OTHER) == 0 and active_loans(hub, other) == 0


def test_a_refused_loan_asks_no_id_and_never_joins(live_server, new_page, people) -> None:  # noqa: ANN001
    hub, page = live_server.hub, new_page()
    suspended, at_limit = people["이바다"], people["김하늘"]
    with hub.db.write() as conn:
        conn.execute(update(members).where(members.c.number == suspended).values(
            suspended_until=date(2026, 3, 20)))
    hub.network.set_policy(ADMIN, "national", "", "", {"shared_loan_limit": 1})
    hub.circulation.checkout(Actor(Role.LIBRARIAN, "staff:lib-111001", "desk", HOME),
                             CheckoutRequest(at_limit, item(HOME, 1)))
    login(page, live_server.url, OTHER)
    for number, code in ((suspended, "MEMBER_SUSPENDED"), (at_limit, "SHARED_LIMIT_REACHED")):
        before = active_loans(hub, number)
        scanner(page, number)
        scanner(page, item(OTHER, 2))
        assert code in refusal_codes(page)
        assert page.locator("#idcheck-q").count() == 0  # no ID asked for a refused loan
        assert joined(hub, number, OTHER) == 0 and active_loans(hub, number) == before
    # an allowed loan still asks first
    hub.network.set_policy(ADMIN, "national", "", "", {})
    scanner(page, item(OTHER, 2))
    assert page.locator("#idcheck-q").is_visible()
    assert joined(hub, at_limit, OTHER) == 0


def test_a_failed_member_scan_closes_the_member(live_server, new_page, people) -> None:  # noqa: ANN001
    hub, page = live_server.hub, new_page()
    number = people["김하늘"]
    login(page, live_server.url, HOME)
    unknown = make_member_number(HOME, 2026, 99_999)  # well formed, never issued
    bad_check = number[:13] + str((int(number[13]) + 1) % 10)
    for failed, code in ((unknown, "MEMBER_UNKNOWN"), (bad_check, "INVALID_MEMBER_NUMBER")):
        scanner(page, number)
        assert page.locator("#member-panel").is_visible()
        scanner(page, failed)
        assert code in refusal_codes(page)
        assert "회원 창을 닫았습니다" in flashes(page)
        assert page.locator("#no-member").is_visible()
        scanner(page, item(HOME, 2))  # now a return, not a loan to 김하늘
        assert "NOT_ON_LOAN" in refusal_codes(page)
        assert active_loans(hub, number) == 0


def test_desk_state_ends_with_the_session(live_server, browser, new_page, people) -> None:  # noqa: ANN001
    base, page = live_server.url, new_page()
    login(page, base, HOME)
    scanner(page, people["김하늘"])
    assert page.locator("#member-panel").is_visible()
    # logout and sign in again: a clean desk
    with page.expect_navigation():
        page.click("header form button[type=submit]")
    login(page, base, HOME)
    assert page.locator("#no-member").is_visible()
    # a new browser session keeps the (12-hour) sign-in but not the open member
    scanner(page, people["김하늘"])
    assert page.locator("#member-panel").is_visible()
    kept = [c for c in page.context.cookies() if c["expires"] != -1]  # what survives a restart
    assert {c["name"] for c in kept} >= {"ck_session"}
    restarted = browser.new_context(locale="ko-KR")
    try:
        restarted.add_cookies(kept)
        again = restarted.new_page()
        again.goto(f"{base}/desk")
        assert again.url.endswith("/desk")  # still signed in
        assert again.locator("#no-member").is_visible()
        assert again.locator("#member-panel").count() == 0
    finally:
        restarted.close()


def test_the_receipt_holds_one_member_only(live_server, new_page, people) -> None:  # noqa: ANN001
    base, page = live_server.url, new_page()
    first, second = people["김하늘"], people["이바다"]
    login(page, base, HOME)
    scanner(page, first)
    scanner(page, item(HOME, 1))
    scanner(page, item(HOME, 2))
    page.goto(f"{base}/desk/receipt")
    assert page.locator("#receipt tbody tr").count() == 2
    assert mask_member_number(first) in page.locator("#receipt-member").inner_text()
    page.goto(f"{base}/desk")
    scanner(page, second)  # the next patron: the first one's receipt is gone
    page.goto(f"{base}/desk/receipt")
    assert "처리 내역이 없습니다." in page.locator("#receipt").inner_text()
    page.goto(f"{base}/desk")
    scanner(page, item(HOME, 3))
    page.goto(f"{base}/desk/receipt")
    text = page.locator("#receipt").inner_text()
    assert page.locator("#receipt tbody tr").count() == 1 and item(HOME, 3) in text
    assert item(HOME, 1) not in text and item(HOME, 2) not in text
    assert mask_member_number(second) in text and mask_member_number(first) not in text
    # closing the member clears the receipt; returns without a member open make a
    # receipt of the borrower's returns only
    page.goto(f"{base}/desk")
    with page.expect_navigation():
        page.click("#member-panel button:has-text('회원 닫기')")
    scanner(page, item(HOME, 3))  # 이바다's book back
    scanner(page, item(HOME, 1))  # 김하늘's book back: a new receipt
    page.goto(f"{base}/desk/receipt")
    text = page.locator("#receipt").inner_text()
    assert page.locator("#receipt tbody tr").count() == 1 and item(HOME, 1) in text


def test_irreversible_actions_ask_in_an_accessible_dialog(live_server, new_page) -> None:  # noqa: ANN001
    """Issue #8, item 6: a modal dialog (no inline script), keyboard only."""
    hub, page = live_server.hub, new_page()
    page.goto(f"{live_server.url}/login")
    page.fill("[name=username]", "admin")
    page.fill("[name=password]", demo.staff_password("admin"))
    with page.expect_navigation():
        page.click("form button[type=submit]")
    page.goto(f"{live_server.url}/console/libraries/121001")

    def revoked() -> list[bool]:
        return [k["revoked"] for k in hub.credentials.list_api_keys(ADMIN, "library", "121001")]

    page.focus("#api-keys button:has-text('폐기')")
    page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog", name="확인")
    assert dialog.is_visible()
    assert "이 API 키를 폐기합니다" in dialog.inner_text()
    assert page.evaluate("document.activeElement.id") == "confirm-no"  # the safe choice
    page.keyboard.press("Escape")
    assert not dialog.is_visible() and revoked() == [False]
    page.focus("#api-keys button:has-text('폐기')")
    page.keyboard.press("Enter")
    page.keyboard.press("Shift+Tab")
    assert page.evaluate("document.activeElement.id") == "confirm-yes"
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert revoked() == [True]
    assert "폐기됨" in page.locator("#api-keys").inner_text()
