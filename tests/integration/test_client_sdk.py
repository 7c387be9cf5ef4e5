"""The client SDK (`chaekieum.client`) against a live hub on a real socket."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, date, datetime

import httpx
import pytest

from chaekieum.api.errors import status_for
from chaekieum.client import (
    AsyncHubClient,
    ConnectionFailed,
    HubClient,
    HubError,
    HubTimeout,
    RetryPolicy,
    errors,
)
from chaekieum.domain.errors import MESSAGES
from chaekieum.services import demo
from chaekieum.services.context import SYSTEM

from .. import docfiles
from ..conftest import free_port
from .apiclient import library_key
from .netproxy import FaultProxy
from .oidc_flow import Browser, Homepage

SDK_REDIRECT = "https://sdk.example.kr/callback"

FAST = RetryPolicy(attempts=3, backoff=0.01)


def test_error_table_is_the_hubs() -> None:
    """One exception class per hub code, with the hub's status and Korean message."""
    assert {c: m for c, (m, _) in errors.MESSAGES.items()} == {
        str(c): ko for c, (ko, _) in MESSAGES.items()}
    for code in MESSAGES:
        cls = errors.ERRORS[str(code)]
        assert issubclass(cls, HubError) and cls.code == str(code)
        assert cls.status == status_for(code), code
    assert errors.ERRORS["SHARED_LIMIT_REACHED"].__name__ == "SharedLimitReached"


@pytest.fixture
def members(live_server) -> list[str]:  # noqa: ANN001
    return [m["number"] for m in demo.info(live_server.hub)["members"]]


def test_every_api_v1_endpoint_has_a_client_method(live_server, members) -> None:  # noqa: ANN001
    """A scenario through the SDK touches every operation of the OpenAPI document."""
    seen: set[tuple[str, str]] = set()

    def record(request: httpx.Request) -> None:
        seen.add((request.method, request.url.path))

    hub = live_server.hub
    admin_key = hub.credentials.create_api_key(SYSTEM, "national", "", "sdk test")["api_key"]
    lib = HubClient(live_server.url, library_key("111001"), retry=FAST)
    adm = HubClient(live_server.url, admin_key, retry=FAST)
    for c in (lib, adm):
        c._http.event_hooks["request"] = [record]
    number = members[0]
    item = "$111001EM0000000001"

    def attempt(fn, *args, **kwargs):  # noqa: ANN001, ANN202 - errors still count as a call
        try:
            return fn(*args, **kwargs)
        except HubError as exc:
            return exc

    assert lib.health()["status"] == "ok"
    assert lib.health_ready()["status"] == lib.health_live()["status"] == "ok"
    out = lib.checkout(number, item)
    assert out["action"] == "checkout" and out["loan"]["item"] == item
    attempt(lib.renew, item)
    back = lib.checkin(item)
    attempt(lib.undo_checkin, back["loan"]["id"])
    again = attempt(lib.checkout, number, "$111001EM0000000002")
    attempt(lib.undo_checkout, again["loan"]["id"])
    attempt(lib.exceptions)
    attempt(lib.reserve, number, "$111001EM0000000001")
    attempt(lib.reservations, "all")
    attempt(lib.reservation, 999999)
    attempt(lib.cancel_reservation, 999999)
    attempt(lib.delete_reservation, 999999)
    batch = lib.replay([{"kind": "checkin", "body": {"item": "$111001EM0000000020",
                                                     "offline": True}},
                        {"kind": "checkout", "body": {"member": number, "item": "bad item"}}])
    assert [r["status"] for r in batch["results"]] == [409, 422]
    assert batch["results"][0]["body"]["code"] == "NOT_ON_LOAN"
    attempt(lib.resolve_exception, 999999)
    lib.upsert_copies([{"registration_number": "EM0000099999", "title": "SDK"}])
    assert lib.copy("$111001EM0000099999")["title"] == "SDK"
    attempt(lib.transits, "incoming")
    attempt(lib.move_transit, 999999, "send")
    new = lib.register_member("김에스", 1991, phone="010-1234-5678")
    attempt(lib.search_members, "김에")
    assert lib.member(new["number"])["number"] == new["number"]
    attempt(lib.update_member, new["number"], email="a@b.kr")
    attempt(HubClient(live_server.url, library_key("111002"), retry=FAST).join_member,
            new["number"])
    lib._http.event_hooks["request"] = [record]
    attempt(lib.join_member, new["number"])
    # online registration: the test provider's answer, then the desk's ID check (join)
    started = lib.start_verification("test", "self", "https://lib.example/join/back")
    answer = hub.identity.by_name["test"].answer(started["state"], "온에스", 1990,
                                                  "010-7777-8888")
    online = lib.register_online("온에스", 1990, "sdk-pass-1", privacy_consent=True,
                                 phone="010-7777-8888",
                                 verification={"state": started["state"], "answer": answer})
    assert online["member_class"] == "준회원" and online["id_check_pending"] is True
    assert lib.join_member(online["number"])["member_class"] == "정회원"
    attempt(lib.link_card, new["number"], "04AABBCCDD")
    attempt(lib.report_card_lost, new["number"])
    attempt(lib.lift_card_lost, new["number"])
    expelled = attempt(lib.expel_member, new["number"], "SDK 시험")
    assert not isinstance(expelled, HubError) and expelled["status"] == "expelled"
    attempt(lib.lift_expulsion, new["number"])
    barred = attempt(lib.bar_member, new["number"], "SDK 시험")
    assert not isinstance(barred, HubError) and barred["barred_here"] is True
    attempt(lib.lift_bar, new["number"], "해제")
    attempt(lib.member_loans, number, history=True)
    attempt(lib.hide_history, number)
    attempt(lib.member_suspensions, number)
    attempt(lib.withdraw_member, new["number"])
    attempt(lib.events, after=0)
    attempt(lib.connector_snapshot)
    made = attempt(lib.create_sandbox, members=1, copies=1, foreign_members=1)
    assert made["members"][0]["number"] and made["copies"][0]["item"].startswith("$111001ZS")
    assert len(attempt(lib.sandbox)["members"]) == 2
    # the caller's copy, lent here and returned at the peer (the peer lends only its own)
    lib.checkout(made["foreign_members"][0]["number"], made["copies"][0]["item"])
    peer = attempt(lib.sandbox_peer, "checkin", item=made["copies"][0]["item"])
    assert peer["peer"] == made["peer"] and peer["result"]["route"] == "transit"
    assert attempt(lib.clean_sandbox)["removed"]["members"] == 2
    attempt(adm.regions)
    attempt(adm.regional_centers, "seoul")
    attempt(adm.libraries, region="seoul")
    attempt(adm.library, "111001")
    attempt(adm.register_library, "111077", "SDK 도서관", "seoul", center_id=1)
    attempt(adm.update_library, "111077", name="SDK 작은도서관")
    attempt(adm.set_closed_dates, "111077", [{"day": "2026-05-06", "reason": "점검"}])
    attempt(adm.advance_stage, "111077", "agreement")
    # onboarding (test_onboarding.py covers the rules; here every endpoint once)
    assert attempt(adm.onboarding, "111077")["stage"] == "registered"
    assert attempt(adm.onboarding_transition, "111077", "building")["status"] == "building"
    assert attempt(adm.onboarding_check, "111077", "rules.numbering")["done"] is True
    assert attempt(adm.onboarding_system, "111077", "ILS", "ils", integrated=True,
                   tested=True)["tested"] is True
    attempt(adm.onboarding_system, "111077", "old kiosk", "kiosk")
    assert attempt(adm.remove_onboarding_system, "111077", "old kiosk")["removed"] == "old kiosk"
    kit_report = {
        "schema": "chaekieum-conformance/1", "kit_version": "1", "code_revision": "x",
        "target": {"url": live_server.url, "library": "111077"},
        "started_at": "2026-03-04T00:00:00Z", "finished_at": "2026-03-04T00:05:00Z",
        "selected": [], "summary": {"passed": 1, "failed": 0, "skipped": 0, "result": "pass"},
        "results": [], "sandbox": {}}
    stored = attempt(adm.store_conformance_report, "111077", kit_report)
    assert attempt(adm.conformance_report, "111077", stored["id"])["target"]["library"] == "111077"
    assert attempt(adm.onboarding_plan, "111077", {"pilot": date(2026, 6, 1)})["plan"] == {
        "pilot": "2026-06-01"}
    assert attempt(adm.announce_launch, "111077", date(2027, 1, 4))["launch_date"] == "2027-01-04"
    assert "111077" in attempt(adm.onboarding_todo, region="seoul")["by_party"]["vendor"]
    vendor = [{"party": "vendor", "name": "구축 사업자", "email": "vendor@example.com"}]
    assert attempt(adm.set_onboarding_contacts, "111077", vendor)["contacts"][0]["party"] \
        == "vendor"
    assert attempt(adm.onboarding_contacts, "111077")["contacts"][0]["email"] == \
        "vendor@example.com"
    assert attempt(adm.onboarding_notices, "111077")["notices"] == []  # none since contacts
    form = docfiles.pdf()
    doc = attempt(adm.upload_onboarding_document, "111077", form, "참여신청서.pdf",
                  kind="application_form", note="제2026-1호")
    assert doc["item"] == "application.form" and doc["filename"] == "참여신청서.pdf", doc
    assert [d["id"] for d in attempt(adm.onboarding_documents, "111077")["documents"]] == [
        doc["id"]]
    assert attempt(adm.download_onboarding_document, "111077", doc["id"]) == form
    assert attempt(adm.remove_onboarding_document, "111077", doc["id"])["removed"] == doc["id"]
    package = attempt(adm.connector_package, "111077", adapter="webhook")
    assert isinstance(package, bytes) and package[:2] == b"PK"  # a zip (test_connector_package)
    # vendors (사업자): test_vendors.py covers the rules; here every endpoint once
    made_vendor = attempt(adm.create_vendor, "220-81-62517", "SDK 구축", contact_email="v@sdk.kr")
    assert made_vendor["brn"] == "2208162517", made_vendor
    assert attempt(adm.update_vendor, "2208162517", "SDK 구축(주)")["name"] == "SDK 구축(주)"
    assert attempt(adm.assign_vendor, "111077", "2208162517")["vendor"]["brn"] == "2208162517"
    assert [v["brn"] for v in attempt(adm.vendors)["items"]] == ["2208162517"]
    assert attempt(adm.vendor, "2208162517")["libraries"][0]["code"] == "111077"
    assert attempt(adm.create_vendor_staff, "2208162517", "sdk-vendor",
                   "vendor-pass-1")["role"] == "vendor"
    vkey = attempt(adm.create_vendor_api_key, "2208162517", "sdk")
    assert [k["key_id"] for k in attempt(adm.vendor_api_keys, "2208162517")["items"]] == [
        vkey["key_id"]]
    ven = HubClient(live_server.url, vkey["api_key"], retry=FAST)
    assert ven.onboarding("111077")["vendor"] == "2208162517"
    assert isinstance(attempt(ven.checkout, number, item), HubError)  # never circulation
    ven.close()
    attempt(adm.policy, "national")
    attempt(adm.effective_policy, "111001")
    attempt(adm.set_policy, "library", {"loan_period_days": 14}, scope="111077")
    attempt(adm.api_keys, "111077")
    key = attempt(adm.create_api_key, "111077", "sdk")
    attempt(adm.create_admin_key, "region", "seoul", "sdk")
    attempt(adm.revoke_api_key, key["key_id"] if isinstance(key, dict) else "x")
    attempt(adm.terminals, "111077")
    attempt(adm.create_terminal, "111077", "kiosk-sdk", "kiosk-password-1")
    attempt(adm.unlock_terminal, "111077", "kiosk-sdk")
    attempt(adm.revoke_terminal, "kiosk-sdk")
    attempt(adm.audit, entity="loan", limit=5)
    # the member API, under a member's access token from the OpenID Connect flow
    made = hub.oidc.register_client(SYSTEM, "SDK 홈페이지", "111001", [SDK_REDIRECT])
    page = Homepage(live_server.url, made["client_id"], made["client_secret"], SDK_REDIRECT,
                    "openid profile card loans:read loans:renew reservations")
    browser = Browser(live_server.url)
    password = demo.info(hub)["members"][0]["password"]
    _, token, _ = page.sign_in(browser, number, password)
    browser.close()
    me = HubClient(live_server.url, token["access_token"], retry=FAST)
    me._http.event_hooks["request"] = [record]
    assert me.me()["member_number_masked"] != number
    assert me.my_card()["number"] == number
    assert isinstance(me.my_loans(history=True)["items"], list)
    attempt(me.renew_my_loan, "$111001EM0000000001")
    attempt(me.my_suspensions)
    assert me.hide_my_history()["hidden"] >= 0
    attempt(me.my_reservations, closed=True)
    attempt(me.reserve_for_me, "$111001EM0000000001", "111001")
    attempt(me.cancel_my_reservation, 999999)
    me.close()

    spec = httpx.get(f"{live_server.url}/api/v1/openapi.json").json()
    missing = []
    for template, ops in spec["paths"].items():
        if not template.startswith("/api/v1/") or template.endswith("openapi.json"):
            continue
        pattern = re.compile("^" + re.sub(r"\\{[^}]+\\}", "[^/]+", re.escape(template)) + "$")
        for method in ops:
            if not any(m == method.upper() and pattern.match(p) for m, p in seen):
                missing.append(f"{method.upper()} {template}")
    assert not missing, missing
    lib.close()
    adm.close()


def test_refusal_is_a_typed_exception_with_reasons(live_server, members) -> None:  # noqa: ANN001
    with HubClient(live_server.url, library_key("111001"), retry=FAST) as hub:
        hub.checkout(members[0], "$111001EM0000000003")
        with pytest.raises(errors.ERRORS["COPY_ON_LOAN"]) as caught:
            hub.checkout(members[1], "$111001EM0000000003")
    exc = caught.value
    assert exc.code == "COPY_ON_LOAN" and exc.status == 409
    assert exc.message == "이미 대출 중인 자료입니다."
    assert exc.reasons[0]["code"] == "COPY_ON_LOAN" and "COPY_ON_LOAN" in exc.codes
    with HubClient(live_server.url, "ck_nope_nope", lang="en") as bad:
        with pytest.raises(errors.ERRORS["AUTH_INVALID"]) as denied:
            bad.regions()
    assert denied.value.message == "Invalid credentials."


def test_lost_reply_is_retried_with_the_same_key_and_applied_once(live_server, members) -> None:  # noqa: ANN001
    proxy = FaultProxy(live_server.port).start()
    try:
        with HubClient(proxy.url, library_key("111001"), retry=FAST) as hub:
            proxy.cut_next_responses(1)
            out = hub.checkout(members[0], "$111001EM0000000004", client_txn_id="sdk-lost-1")
            assert proxy.cut_done == 1
            assert out["action"] == "checkout"
            loans = hub.member_loans(members[0])["items"]
        assert [x["item"] for x in loans].count("$111001EM0000000004") == 1
        # without retries the caller sees the transport error, not a false refusal
        with HubClient(proxy.url, library_key("111001"),
                       retry=RetryPolicy(attempts=1)) as hub:
            proxy.cut_next_responses(1)
            with pytest.raises(errors.TransportError):
                hub.checkin("$111001EM0000000004", client_txn_id="sdk-lost-2")
            # resending with the same client_txn_id is recognised as the same return
            out = hub.checkin("$111001EM0000000004", client_txn_id="sdk-lost-2")
            assert out["replayed"] is True
    finally:
        proxy.stop()


def test_transport_errors_are_distinct(live_server) -> None:  # noqa: ANN001
    with HubClient(f"http://127.0.0.1:{free_port()}", "k", retry=FAST) as hub:
        with pytest.raises(ConnectionFailed):
            hub.regions()
    proxy = FaultProxy(live_server.port).start()
    try:
        proxy.set_mode(FaultProxy.BLACKHOLE)
        with HubClient(proxy.url, "k", timeout=0.3, retry=RetryPolicy(attempts=1)) as hub:
            with pytest.raises(HubTimeout):
                hub.regions()
    finally:
        proxy.stop()


def test_async_client(live_server, members) -> None:  # noqa: ANN001
    async def main() -> None:
        async with AsyncHubClient(live_server.url, library_key("111001"), retry=FAST) as hub:
            when = datetime(2026, 3, 4, 0, 30, tzinfo=UTC)
            out = await hub.checkout(members[1], "$111001EM0000000005", occurred_at=when,
                                     offline=True, client_txn_id="sdk-async-1")
            assert out["loan"]["offline"] is True
            again = await hub.checkout(members[1], "$111001EM0000000005", occurred_at=when,
                                       offline=True, client_txn_id="sdk-async-1")
            assert again["replayed"] is True
            with pytest.raises(errors.ERRORS["NOT_ON_LOAN"]):
                await hub.checkin("$111001EM0000000006")
            page = await hub.events(after=0)
            assert set(page) == {"events", "next_after", "has_more"}

    asyncio.run(main())
