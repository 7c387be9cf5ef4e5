"""Issue #8, item 13, on SQLite and PostgreSQL: expulsion (제적) by the issuing library
(or a national admin), refused everywhere; a library's own bar of a member, checked at
checkout there only; both lifted; every change audited with its reason, sent on the
change feed, and a status the member already has refused (MEMBER_STATUS_UNCHANGED).
REST, SIP2 and the console follow."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from chaekieum.domain.errors import Code, DomainError, message
from chaekieum.server import create_app
from chaekieum.services import demo
from chaekieum.services.circulation import CheckinRequest, CheckoutRequest
from chaekieum.services.context import SYSTEM, Actor, Role
from chaekieum.services.hub import Hub
from chaekieum.store.tables import audit_log

from . import test_web_security as web_tests
from .apiclient import LibraryClient
from .kiosk import kiosk_at

ISSUING, JOINED, OTHER, BUSAN = "111001", "111002", "111003", "121001"
NOW = "20260304    100000"
app, new_web = web_tests.app, web_tests.new_web  # the browser-like console client


def librarian(code: str) -> Actor:
    return Actor(Role.LIBRARIAN, f"staff:lib-{code}", "desk", code)


def item(library: str, n: int) -> str:
    return f"${library}EM{n:010d}"


def codes(reasons) -> list[str]:  # noqa: ANN001
    return [str(r.code) for r in reasons]


@pytest.fixture
def number(any_hub: Hub) -> str:
    """김하늘: issued at ISSUING, joined at JOINED by a loan there (returned)."""
    n = demo.info(any_hub)["members"][0]["number"]
    any_hub.circulation.checkout(librarian(JOINED), CheckoutRequest(n, item(JOINED, 1)))
    any_hub.circulation.checkin(librarian(JOINED), CheckinRequest(item(JOINED, 1)))
    return n


def refusal(hub: Hub, actor: Actor, request: CheckoutRequest) -> list[str]:
    """The checkout's reasons, checked to be the dry run's."""
    check = hub.circulation.check_checkout(actor, request)
    with pytest.raises(DomainError) as refused:
        hub.circulation.checkout(actor, request)
    assert codes(refused.value.reasons) == codes(check.decision.reasons)
    return codes(refused.value.reasons)


def audit_details(hub: Hub, number: str, action: str) -> list[dict]:
    with hub.db.read() as conn:
        return [r.details for r in conn.execute(
            select(audit_log.c.details).where(audit_log.c.entity_id == number,
                                              audit_log.c.action == action)
            .order_by(audit_log.c.id))]


def kinds(hub: Hub, library: str) -> list[str]:
    return [e["kind"] for e in hub.feed.read(library, 0, 1000)["events"]]


def test_expulsion_is_refused_everywhere_until_lifted(any_hub, number) -> None:  # noqa: ANN001
    view = any_hub.members.expel(librarian(ISSUING), number, "  타인 명의 도용  ")
    assert view["status"] == "expelled" and view["status_label"] == "제적"
    assert view["status_change"]["reason"] == "타인 명의 도용"
    assert audit_details(any_hub, number, "member.expel") == [{"reason": "타인 명의 도용"}]
    for lib in (ISSUING, JOINED, BUSAN):  # every library, joined or not
        assert "member.expelled" in kinds(any_hub, lib) or lib == BUSAN
        assert refusal(any_hub, librarian(lib), CheckoutRequest(number, item(lib, 2))) == [
            "MEMBER_EXPELLED"]
    assert "member.expelled" not in kinds(any_hub, BUSAN)  # it never joined there
    with pytest.raises(DomainError) as again:
        any_hub.members.expel(librarian(ISSUING), number, "다시")
    assert again.value.code == Code.MEMBER_STATUS_UNCHANGED
    view = any_hub.members.lift_expulsion(librarian(ISSUING), number, "본인 확인됨")
    assert view["status"] == "active"
    assert audit_details(any_hub, number, "member.lift_expulsion") == [{"reason": "본인 확인됨"}]
    assert "member.expulsion_lifted" in kinds(any_hub, JOINED)
    with pytest.raises(DomainError) as again:
        any_hub.members.lift_expulsion(SYSTEM, number)
    assert again.value.code == Code.MEMBER_STATUS_UNCHANGED
    any_hub.circulation.checkout(librarian(BUSAN), CheckoutRequest(number, item(BUSAN, 2)))


def test_who_may_expel(any_hub, number) -> None:  # noqa: ANN001
    refused = {
        librarian(JOINED): Code.MEMBER_NOT_ISSUED_HERE,  # joined, but did not issue the card
        librarian(BUSAN): Code.MEMBER_NOT_ISSUED_HERE,
        Actor(Role.REGIONAL_ADMIN, "staff:busan-admin", "desk", region_code="busan"):
            Code.MEMBER_OUT_OF_REGION,
        Actor(Role.TERMINAL, "kiosk:kiosk-111001", "sip2", ISSUING): Code.FORBIDDEN,
        Actor(Role.MEMBER, f"member:{number}", "portal"): Code.FORBIDDEN,
    }
    for actor, code in refused.items():
        with pytest.raises(DomainError) as refusal_:
            any_hub.members.expel(actor, number, "시험")
        assert refusal_.value.code == code, actor
    with pytest.raises(DomainError) as no_reason:
        any_hub.members.expel(librarian(ISSUING), number, "   ")
    assert no_reason.value.code == Code.VALIDATION_ERROR
    assert any_hub.members.get(SYSTEM, number)["status"] == "active"
    assert audit_details(any_hub, number, "member.expel") == []
    allowed = (Actor(Role.REGIONAL_ADMIN, "staff:seoul-admin", "desk", region_code="seoul"),
               Actor(Role.NATIONAL_ADMIN, "staff:admin", "desk"),
               Actor(Role.LIBRARY_SYSTEM, "key:demo111001", "api", ISSUING))
    for actor in allowed:
        any_hub.members.expel(actor, number, "시험")
        any_hub.members.lift_expulsion(actor, number)
    assert len(audit_details(any_hub, number, "member.expel")) == 3


def test_a_bar_refuses_loans_at_that_library_only(any_hub, number) -> None:  # noqa: ANN001
    view = any_hub.members.bar(librarian(JOINED), number, "열람실 소란 반복")
    assert view["barred_here"] is True
    assert {j["library_code"]: (j["status"], j["status_reason"]) for j in view["libraries"]}[
        JOINED] == ("barred", "열람실 소란 반복")
    assert audit_details(any_hub, number, "member.bar") == [
        {"reason": "열람실 소란 반복", "library": JOINED}]
    assert "member.barred" in kinds(any_hub, JOINED)
    assert "member.barred" not in kinds(any_hub, ISSUING)  # its own status, its own news
    assert refusal(any_hub, librarian(JOINED), CheckoutRequest(number, item(JOINED, 2))) == [
        "MEMBER_BARRED_HERE"]
    # everywhere else the member borrows as before
    assert not any_hub.members.get(librarian(ISSUING), number)["barred_here"]
    any_hub.circulation.checkout(librarian(ISSUING), CheckoutRequest(number, item(ISSUING, 2)))
    # no reservation at the barring library either
    other = demo.info(any_hub)["members"][1]["number"]
    any_hub.circulation.checkout(librarian(JOINED), CheckoutRequest(other, item(JOINED, 3)))
    with pytest.raises(DomainError) as refused:
        any_hub.reservations.place(librarian(JOINED), number, item(JOINED, 3))
    assert "MEMBER_BARRED_HERE" in codes(refused.value.reasons)
    with pytest.raises(DomainError) as again:
        any_hub.members.bar(librarian(JOINED), number, "다시")
    assert again.value.code == Code.MEMBER_STATUS_UNCHANGED
    # the connector's offline snapshot of that library knows it too
    page = any_hub.snapshot.page(librarian(JOINED), None, 0, 100)
    assert {m["number"]: m["blocked"] for m in page["members"]}[number] == "MEMBER_BARRED_HERE"
    page = any_hub.snapshot.page(librarian(ISSUING), None, 0, 100)
    assert {m["number"]: m["blocked"] for m in page["members"]}[number] is None
    # lifted: lends again
    view = any_hub.members.lift_bar(librarian(JOINED), number)
    assert not view["barred_here"]
    assert audit_details(any_hub, number, "member.lift_bar") == [{"reason": "",
                                                                   "library": JOINED}]
    assert "member.bar_lifted" in kinds(any_hub, JOINED)
    with pytest.raises(DomainError) as again:
        any_hub.members.lift_bar(librarian(JOINED), number)
    assert again.value.code == Code.MEMBER_STATUS_UNCHANGED
    any_hub.circulation.checkout(librarian(JOINED), CheckoutRequest(number, item(JOINED, 2)))


def test_a_bar_needs_the_members_registration_at_that_library(any_hub, number) -> None:  # noqa: ANN001
    for actor, code in ((librarian(OTHER), Code.MEMBER_NOT_JOINED_HERE),
                        (Actor(Role.TERMINAL, "kiosk:kiosk-111002", "sip2", JOINED),
                         Code.FORBIDDEN),
                        (Actor(Role.NATIONAL_ADMIN, "staff:admin", "desk"), Code.FORBIDDEN)):
        with pytest.raises(DomainError) as refused:
            any_hub.members.bar(actor, number, "시험")
        assert refused.value.code == code
    # a national admin acting for a library the member never joined: not a registration
    with pytest.raises(DomainError) as refused:
        any_hub.members.bar(Actor(Role.NATIONAL_ADMIN, "staff:admin", "desk", OTHER), number,
                            "시험")
    assert refused.value.code == Code.MEMBER_NOT_JOINED_HERE
    assert audit_details(any_hub, number, "member.bar") == []


def test_a_barred_member_may_not_renew_there(any_hub, number, clock) -> None:  # noqa: ANN001
    any_hub.circulation.checkout(librarian(JOINED), CheckoutRequest(number, item(JOINED, 2)))
    any_hub.members.bar(librarian(JOINED), number, "시험")
    clock.advance(days=1)
    with pytest.raises(DomainError) as refused:
        any_hub.circulation.renew(librarian(JOINED), item(JOINED, 2))
    assert "MEMBER_BARRED_HERE" in codes(refused.value.reasons)


def test_rest_expel_and_bar(any_hub, number) -> None:  # noqa: ANN001
    with TestClient(create_app(any_hub, with_web=False), raise_server_exceptions=False) as c:
        issuing, joined = LibraryClient(c, ISSUING), LibraryClient(c, JOINED)
        r = issuing.post(f"/members/{number}/expel", {})
        assert r.status_code == 422  # the reason is required
        r = joined.post(f"/members/{number}/expel", {"reason": "시험"})
        assert r.status_code == 403 and r.json()["code"] == "MEMBER_NOT_ISSUED_HERE"
        assert r.json()["message"] == message(Code.MEMBER_NOT_ISSUED_HERE)
        r = issuing.post(f"/members/{number}/expel", {"reason": "시험"})
        assert r.status_code == 200 and r.json()["status"] == "expelled"
        r = issuing.post(f"/members/{number}/expel", {"reason": "시험"})
        assert r.status_code == 409 and r.json()["code"] == "MEMBER_STATUS_UNCHANGED"
        r = joined.checkout(number, item(JOINED, 2))
        assert r.status_code == 409 and r.json()["code"] == "MEMBER_EXPELLED"
        assert issuing.post(f"/members/{number}/expel/lift").status_code == 200
        r = joined.post(f"/members/{number}/bar", {"reason": "시험"})
        assert r.status_code == 200 and r.json()["barred_here"] is True
        r = joined.checkout(number, item(JOINED, 2))
        assert r.status_code == 409 and r.json()["code"] == "MEMBER_BARRED_HERE"
        assert issuing.checkout(number, item(ISSUING, 2)).status_code == 200
        r = joined.post(f"/members/{number}/bar/lift", {"reason": "해제"})
        assert r.status_code == 200 and r.json()["barred_here"] is False
        assert joined.checkout(number, item(JOINED, 2)).status_code == 200
        events = joined.get("/events", after=0).json()["events"]
        assert {"member.expelled", "member.expulsion_lifted", "member.barred",
                "member.bar_lifted"} <= {e["kind"] for e in events}


@pytest.fixture
def kiosk(hub: Hub) -> Iterator[Callable[[str], object]]:
    with kiosk_at(hub, JOINED) as send:
        yield send


def test_sip2_refuses_expelled_and_barred_members_saying_why(hub, kiosk) -> None:  # noqa: ANN001
    number = demo.info(hub)["members"][0]["number"]
    hub.circulation.checkout(librarian(JOINED), CheckoutRequest(number, item(JOINED, 1)))
    hub.circulation.checkin(librarian(JOINED), CheckinRequest(item(JOINED, 1)))
    checkout = f"11NN{NOW}{' ' * 18}AO{JOINED}|AA{number}|AB{item(JOINED, 2)}|AC|"
    status = f"23000{NOW}AO{JOINED}|AA{number}|AC|"
    for change, lift, code in (
            (lambda: hub.members.expel(librarian(ISSUING), number, "시험"),
             lambda: hub.members.lift_expulsion(librarian(ISSUING), number),
             Code.MEMBER_EXPELLED),
            (lambda: hub.members.bar(librarian(JOINED), number, "시험"),
             lambda: hub.members.lift_bar(librarian(JOINED), number),
             Code.MEMBER_BARRED_HERE)):
        change()
        reply = kiosk(checkout)
        assert reply.fixed["ok"] == "0" and message(code) in reply.all("AF")
        patron = kiosk(status)
        assert patron.fixed["patron_status"][0] == "Y"  # charge privileges denied
        assert message(code) in patron.all("AF")
        lift()
        assert kiosk(status).fixed["patron_status"][0] == " "
    assert kiosk(checkout).fixed["ok"] == "1"


def test_console_expel_and_bar_buttons_for_the_roles_allowed(hub, new_web) -> None:  # noqa: ANN001
    number = demo.info(hub)["members"][0]["number"]
    hub.circulation.checkout(librarian(JOINED), CheckoutRequest(number, item(JOINED, 1)))
    page = f"/console/members/{number}"
    issuing = new_web().staff(f"lib-{ISSUING}")
    text = issuing.c.get(page).text
    assert 'id="expel"' in text and 'id="bar"' in text
    assert 'data-confirm="' in text.split('id="expel-form"')[1].split(">")[0]
    joined = new_web().staff(f"lib-{JOINED}")
    text = joined.c.get(page).text
    assert 'id="expel"' not in text and 'id="bar"' in text  # did not issue the card
    admin = new_web().staff("admin")
    text = admin.c.get(page).text
    assert 'id="expel"' in text and 'id="bar"' not in text  # no library of its own
    # without the dialog (no script): a confirmation page first, nothing changed yet
    r = issuing.post(f"{page}/expel", {"reason": "도서 훼손"})
    assert r.status_code == 200 and 'id="confirm-page"' in r.text
    assert hub.members.get(SYSTEM, number)["status"] == "active"
    r = issuing.post(f"{page}/expel", {"reason": "도서 훼손", "confirm": "yes"})
    assert r.status_code == 303
    shown = issuing.c.get(page).text
    assert "제적 처리했습니다" in shown and 'id="expel-reason"' in shown
    assert 'id="lift-expulsion"' in shown and "도서 훼손" in shown
    assert hub.members.get(SYSTEM, number)["status"] == "expelled"
    joined.post(f"{page}/bar", {"reason": "소란", "confirm": "yes"})
    assert hub.members.get(librarian(JOINED), number)["barred_here"]
    assert 'id="lift-bar"' in joined.c.get(page).text
    joined.post(f"{page}/bar/lift", {})
    issuing.post(f"{page}/expel/lift", {"reason": "착오"})
    view = hub.members.get(librarian(JOINED), number)
    assert view["status"] == "active" and not view["barred_here"]
    # a library that did not issue the card: the 403 refusal, before any confirmation
    r = joined.post(f"{page}/expel", {"reason": "시험"})
    assert r.status_code == 403 and message(Code.MEMBER_NOT_ISSUED_HERE) in r.text
