"""End to end: a kiosk session over SIP2 against the whole running service (uvicorn,
REST API and SIP2 in one event loop) lends, renews and returns with a 14-digit member
number and 통합바코드 items; the same loans are visible through the REST API."""

from __future__ import annotations

import httpx

from chaekieum.services import demo
from chaekieum.sip2.client import Sip2Client
from chaekieum.sip2.codec import verify_checksum

KEY = "ck_demo111001_demo-secret-111001"


def rest_loans(server, number: str, history: bool = False) -> list[dict]:  # noqa: ANN001
    r = httpx.get(f"{server.url}/api/v1/members/{number}/loans",
                  params={"history": "true"} if history else None,
                  headers={"Authorization": f"Bearer {KEY}"}, timeout=10)
    assert r.status_code == 200, r.text
    return r.json()["items"]


def test_kiosk_lends_renews_returns_and_rest_sees_it(live_server, clock):  # noqa: ANN001
    hub = live_server.hub
    number = demo.info(hub)["members"][0]["number"]
    assert len(number) == 14 and number.isdigit()
    with_dollar, without_dollar = "$111001EM0000000001", "111001EM0000000002"

    with Sip2Client(port=live_server.sip2_port, timeout=10) as kiosk:
        assert kiosk.login("kiosk-111001", "kiosk-pass-111001", "1층 무인대출반납기")
        assert kiosk.status().fixed["online_status"] == "Y"
        patron = kiosk.patron_status(number, "member-pass-1")
        assert patron.get("BL") == "Y" and patron.get("CQ") == "Y"
        assert patron.get("AE") == "김하늘"

        first = kiosk.checkout(number, with_dollar)
        second = kiosk.checkout(number, without_dollar)
        assert first.fixed["ok"] == second.fixed["ok"] == "1"
        assert verify_checksum(first.raw) and first.get("AH") == "20260318    235959"

        loans = rest_loans(live_server, number)
        assert {loan["item"] for loan in loans} == {with_dollar, "$" + without_dollar}
        assert all(loan["channel"] == "sip2" and loan["due_on"] == "2026-03-18"
                   for loan in loans)

        clock.advance(days=1)
        renewed = kiosk.renew(number, with_dollar)
        assert renewed.fixed["ok"] == "1" and renewed.get("AH") == "20260325    235959"
        by_item = {loan["item"]: loan for loan in rest_loans(live_server, number)}
        assert by_item[with_dollar]["due_on"] == "2026-03-25"
        assert by_item[with_dollar]["renewals"] == 1

        info = kiosk.patron_info(number, "  Y       ")
        assert info.fixed["charged_items_count"] == "0002"
        assert sorted(info.all("AU")) == sorted(by_item)

        back = kiosk.checkin(with_dollar)
        assert back.fixed["ok"] == "1" and back.fixed["alert"] == "N"
        assert kiosk.end_session(number).fixed["end_session"] == "Y"

    active = rest_loans(live_server, number)
    assert [loan["item"] for loan in active] == ["$" + without_dollar]
    history = {loan["item"]: loan for loan in rest_loans(live_server, number, history=True)}
    assert history[with_dollar]["state"] == "returned"
    assert history[with_dollar]["return_library"] == "111001"
    # and the hub agrees (the service the REST API reads)
    assert [loan["item"] for loan in hub.members.loans(demo.SYSTEM, number)] == [
        "$" + without_dollar]
