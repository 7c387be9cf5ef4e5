"""Issue #14, online registration (온라인 회원가입): the refusals, over the REST API and
the web pages: a duplicate CI, under 14 without a guardian (or the guardian's
verification), a forged, expired or misused verification, rate limits, bad input (a
clear 4xx, never a 500), and no personal data in any error. The desk's ID check over
REST (`join`) makes an online member a full member; the test provider is refused in
production."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from chaekieum.domain.errors import Code
from chaekieum.services.context import SYSTEM, FixedClock
from chaekieum.services.hub import Hub
from chaekieum.services.members import Registration
from chaekieum.store.tables import audit_log, members, memberships
from chaekieum.web import join as join_pages

from .apiclient import library_key

HOME = "111001"
PERSON = {"name": "나온라", "birth_year": 1992, "phone": "010-3030-4040"}


@pytest.fixture
def client(hub: Hub) -> Iterator[TestClient]:
    from chaekieum.server import create_app

    with TestClient(create_app(hub), follow_redirects=False) as c:
        c.headers["Authorization"] = f"Bearer {library_key(HOME)}"
        yield c


def verification(client: TestClient, hub: Hub, purpose: str = "self",
                 **who: Any) -> dict[str, Any]:
    """A finished test-provider verification, as a homepage would pass it on."""
    person = {**PERSON, **who}
    r = client.post("/api/v1/identity/verifications", json={
        "provider": "test", "purpose": purpose, "return_url": "https://lib.example/back"})
    assert r.status_code == 200, r.text
    started = r.json()
    assert started["url"].startswith("/join/test-provider?")
    answer = hub.identity.by_name["test"].answer(started["state"], person["name"],
                                                  person["birth_year"], person["phone"])
    return {"state": started["state"], "answer": answer}


def application(**fields: Any) -> dict[str, Any]:
    return {"name": PERSON["name"], "birth_year": PERSON["birth_year"],
            "phone": PERSON["phone"], "password": "online-pass-1", "privacy_consent": True,
            **fields}


def codes(r) -> set[str]:  # noqa: ANN001
    body = r.json()
    return {x["code"] for x in body.get("reasons") or [body]}


def no_personal_data(text: str, *values: str) -> None:
    for value in (PERSON["name"], PERSON["phone"], *values):
        assert value not in text, value


def test_online_registration_over_the_api(client: TestClient, hub: Hub) -> None:
    r = client.post("/api/v1/registrations",
                    json=application(verification=verification(client, hub)))
    assert r.status_code == 201, r.text
    new = r.json()
    assert new["number"].startswith(HOME + "26") and new["member_class"] == "준회원"
    assert new["id_check_pending"] is True and new["issuing_library"] == HOME
    with hub.db.read() as conn:
        row = conn.execute(select(members).where(members.c.number == new["number"])).one()
        how = conn.scalar(select(memberships.c.how).where(memberships.c.member_id == row.id))
        details = conn.scalar(select(audit_log.c.details).where(
            audit_log.c.action == "member.register_online",
            audit_log.c.entity_id == new["number"]))
    assert how == "online" and row.ci_hash and len(row.ci_hash) == 64
    assert "TEST-" not in str(row._mapping)  # only the CI's keyed hash is kept
    assert details == {"library": HOME, "class": "준회원", "provider": "test",
                       "guardian_verified": False}
    # the same person again (a fresh verification): refused as at the desk, saying nothing
    again = client.post("/api/v1/registrations",
                        json=application(verification=verification(client, hub)))
    assert again.status_code == 409 and codes(again) == {"DUPLICATE_MEMBER"}
    assert again.json()["details"] == {}
    no_personal_data(again.text, new["number"], new["number"][:8])
    # the desk's ID check (REST: join) makes them a full member, audited
    checked = client.post(f"/api/v1/members/{new['number']}/join")
    assert checked.status_code == 200
    assert checked.json()["member_class"] == "정회원" and not checked.json()["id_check_pending"]
    rows = hub.audit.search(SYSTEM, entity_id=new["number"], action="member.id_check")
    assert [r["details"] for r in rows] == [{"library": HOME, "channel": "api",
                                             "class": "정회원"}]
    assert client.post(f"/api/v1/members/{new['number']}/join").json()["member_class"] == \
        "정회원"  # a second check changes nothing
    assert len(hub.audit.search(SYSTEM, entity_id=new["number"],
                                action="member.id_check")) == 1


def test_the_id_check_leaves_other_associates_alone(client: TestClient, hub: Hub) -> None:
    """Only an online sign-up awaits the check: an associate registered at a desk stays
    one (the class is the library's decision there)."""
    desk_made = hub.members.register(SYSTEM.acting_for(HOME), Registration(
        "준데스크", 1980, member_class="준회원"))
    assert desk_made["id_check_pending"] is False
    r = client.post(f"/api/v1/members/{desk_made['number']}/join")
    assert r.status_code == 200 and r.json()["member_class"] == "준회원"


def test_under_14_needs_a_verified_adult_guardian(client: TestClient, hub: Hub) -> None:
    child_year = hub.clock.today().year - 9
    child = application(name="김어린", birth_year=child_year)
    r = client.post("/api/v1/registrations", json=child)
    assert r.status_code == 422
    assert codes(r) == {"GUARDIAN_REQUIRED", "GUARDIAN_VERIFICATION_REQUIRED"}
    assert r.json()["details"] == {}  # not even the birth year given
    guardian = {"name": "김보호", "phone": "010-5050-6060"}
    someone_else = verification(client, hub, "guardian", name="박남", birth_year=1980)
    r = client.post("/api/v1/registrations", json={
        **child, "guardian": {**guardian, "verification": someone_else}})
    assert r.status_code == 422 and codes(r) == {"IDENTITY_MISMATCH"}
    assert "박남" not in r.text and "김보호" not in r.text
    minor = verification(client, hub, "guardian", name="김보호",
                         birth_year=hub.clock.today().year - 17)
    r = client.post("/api/v1/registrations", json={
        **child, "guardian": {**guardian, "verification": minor}})
    assert r.status_code == 422 and codes(r) == {"GUARDIAN_NOT_ADULT"}
    # the applicant's own verification cannot stand in for the guardian's
    own = verification(client, hub, "self", name="김보호", birth_year=1980)
    r = client.post("/api/v1/registrations", json={
        **child, "guardian": {**guardian, "verification": own}})
    assert r.status_code == 422 and codes(r) == {"IDENTITY_VERIFICATION_FAILED"}
    ok = verification(client, hub, "guardian", name="김보호", birth_year=1980)
    r = client.post("/api/v1/registrations", json={
        **child, "guardian": {**guardian, "verification": ok}})
    assert r.status_code == 201, r.text
    assert r.json()["guardian"] == {"name": "김보호", "phone": "010-5050-6060"}


def test_verifications_must_be_real_fresh_and_match(client: TestClient, hub: Hub,
                                                    clock: FixedClock) -> None:
    r = client.post("/api/v1/registrations", json=application())
    assert r.status_code == 422 and codes(r) == {"IDENTITY_VERIFICATION_REQUIRED"}
    forged = verification(client, hub)
    forged["answer"]["result"] = forged["answer"]["result"].replace("a", "b", 1) + "0"
    r = client.post("/api/v1/registrations", json=application(verification=forged))
    assert r.status_code == 422 and codes(r) == {"IDENTITY_VERIFICATION_FAILED"}
    other_state = verification(client, hub)
    other_state["state"] = verification(client, hub)["state"]  # an answer for another one
    r = client.post("/api/v1/registrations", json=application(verification=other_state))
    assert codes(r) == {"IDENTITY_VERIFICATION_FAILED"}
    r = client.post("/api/v1/registrations", json=application(
        name="다른이", verification=verification(client, hub)))
    assert r.status_code == 422 and codes(r) == {"IDENTITY_MISMATCH"}
    no_personal_data(r.text, "다른이")
    stale = verification(client, hub)
    clock.advance(minutes=21)
    r = client.post("/api/v1/registrations", json=application(verification=stale))
    assert r.status_code == 422 and codes(r) == {"IDENTITY_VERIFICATION_FAILED"}
    r = client.post("/api/v1/identity/verifications", json={
        "provider": "pass", "purpose": "self", "return_url": "https://lib.example/back"})
    assert r.status_code == 422 and codes(r) == {"IDENTITY_PROVIDER_UNKNOWN"}


@pytest.mark.parametrize(("body", "expected"), [
    ({"name": "", "birth_year": 1990}, 422),
    ({"birth_year": 99999}, 422),
    ({"password": "short"}, 422),
    ({"privacy_consent": "yes please"}, 422),
    ({"email": "not an e-mail", "phone": None}, 422),
    ({"phone": None, "email": None}, 422),
    ({"name": "주민 900101-1234567"}, 422),
    ({"verification": {"state": "x", "answer": {"result": "%%%"}}}, 422),
    ({"verification": {"state": "", "answer": {}}}, 422),
    ({"verification": "yes"}, 422),
    ({"guardian": {"name": "보호", "phone": "010", "verification": None}}, 422),
    ({"unknown_field": 1}, 422),
])
def test_bad_input_is_a_clear_4xx(client: TestClient, body: dict, expected: int) -> None:
    r = client.post("/api/v1/registrations", json={**application(), **body})
    assert r.status_code == expected, r.text
    assert r.json()["code"] in {c.value for c in Code}
    assert "900101" not in r.text and "1234567" not in r.text


def test_the_api_is_refused_without_json_or_without_consent(client: TestClient,
                                                            hub: Hub) -> None:
    r = client.post("/api/v1/registrations", content=b"name=x",
                    headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert r.status_code == 415
    r = client.post("/api/v1/registrations", json=application(
        privacy_consent=False, verification=verification(client, hub)))
    assert r.status_code == 422 and codes(r) == {"CONSENT_REQUIRED"}


def test_starting_verifications_is_rate_limited(client: TestClient) -> None:
    body = {"provider": "test", "purpose": "self", "return_url": "https://lib.example/b"}
    statuses = [client.post("/api/v1/identity/verifications", json=body).status_code
                for _ in range(11)]
    assert statuses == [200] * 10 + [429]  # one key, one provider: 10 an hour


# -- the web pages ----------------------------------------------------------------------
def csrf(c: TestClient, path: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', c.get(path).text).group(1)


def verified_browser(c: TestClient, purpose: str = "self", **who: Any) -> None:
    """/join → the test provider → /join/verified → the form, in one browser."""
    person = {**PERSON, **who}
    r = c.post("/join/verify", data={"csrf": csrf(c, "/join"), "provider": "test",
                                     "purpose": purpose})
    assert r.status_code == 303, r.text
    page = r.headers["location"]
    token = csrf(c, page)
    query = dict(re.findall(r'name="(state|return)" value="([^"]*)"', c.get(page).text))
    r = c.post("/join/test-provider", data={"csrf": token, "state": query["state"],
                                            "return": query["return"].replace("&amp;", "&"),
                                            "name": person["name"],
                                            "birth_year": str(person["birth_year"]),
                                            "phone": person["phone"]})
    assert r.status_code == 303
    back = r.headers["location"]
    r = c.get(back.removeprefix("http://testserver"))
    assert r.status_code == 303 and r.headers["location"] == "/join/form", r.text
    assert c.get("/join/form").status_code == 200


def form(c: TestClient, **fields: str) -> dict[str, str]:
    return {"csrf": csrf(c, "/join/form"), "library": HOME, "phone": PERSON["phone"],
            "password": "online-pass-1", "password_repeat": "online-pass-1",
            "consent": "on", **fields}


@pytest.fixture
def browser(hub: Hub, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    from chaekieum.server import create_app

    monkeypatch.setattr(join_pages, "MIN_SECONDS", 0.0)
    with TestClient(create_app(hub), follow_redirects=False) as c:
        yield c


def test_web_sign_up_then_duplicate_and_bots(browser: TestClient, hub: Hub,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    verified_browser(browser)
    done = browser.post("/join/form", data=form(browser))
    assert done.status_code == 201, done.text
    number = re.search(r'id="new-number">(\d{14})<', done.text).group(1)
    assert "준회원" in done.text
    assert browser.get("/my/card").status_code == 200  # signed in as the new member
    # the same person again: 409, nothing about the existing member
    verified_browser(browser)
    again = browser.post("/join/form", data=form(browser))
    assert again.status_code == 409 and 'data-code="DUPLICATE_MEMBER"' in again.text
    assert number not in again.text and number[:8] not in again.text
    # a bot: the honeypot filled, or the form sent back at once
    assert browser.post("/join/form", data=form(browser, website="http://spam")
                        ).status_code == 422
    monkeypatch.setattr(join_pages, "MIN_SECONDS", 3.0)
    browser.get("/join/form")
    fast = browser.post("/join/form", data=form(browser, phone="010-9999-0000"))
    assert fast.status_code == 422 and 'data-code="FORM_TOO_FAST"' in fast.text


def test_web_refusals_name_no_personal_data(browser: TestClient, hub: Hub) -> None:
    verified_browser(browser, "guardian", name="엄마인", birth_year=1985)
    child_year = str(hub.clock.today().year - 8)
    r = browser.post("/join/form", data=form(browser, name="아이", birth_year=child_year))
    assert r.status_code == 422 and 'data-code="GUARDIAN_REQUIRED"' in r.text  # no phone
    r = browser.post("/join/form", data=form(browser, name="아이", birth_year="20x0",
                                             guardian_phone="010-1212-3434"))
    assert r.status_code == 422 and 'data-code="VALIDATION_ERROR"' in r.text
    r = browser.post("/join/form", data=form(browser, name="아이", birth_year=child_year,
                                             guardian_phone="010-1212-3434",
                                             password_repeat="different-1"))
    assert r.status_code == 422
    r = browser.post("/join/form", data=form(browser, name="아이", birth_year=child_year,
                                             guardian_phone="010-1212-3434"))
    assert r.status_code == 201, r.text
    # a verification answer opened in another browser (not started there) is refused
    with TestClient(browser.app, follow_redirects=False) as other:
        r = other.get("/join/verified?state=abc.def&result=x.y")
        assert r.status_code == 422 and "IDENTITY_VERIFICATION_FAILED" in r.text
    # the test provider sends people back to this site only
    r = browser.get("/join/test-provider?state=s&return=https://evil.example/steal")
    assert r.status_code == 422


def test_web_sign_ups_are_rate_limited_per_address(browser: TestClient) -> None:
    verified_browser(browser)
    statuses = [browser.post("/join/form", data=form(browser, consent="")).status_code
                for _ in range(6)]
    assert statuses == [422] * 5 + [429]  # every attempt counts, refused or not


def test_the_test_provider_is_refused_in_production(tmp_path) -> None:  # noqa: ANN001
    from chaekieum.server import create_app

    with pytest.raises(ValueError, match="refused in production"):
        Hub(f"sqlite:///{tmp_path}/p.db", secret=b"p", production=True)
    hub = Hub(f"sqlite:///{tmp_path}/p.db", secret=b"p", production=True,
              identity_providers=())
    hub.migrate()
    try:
        with TestClient(create_app(hub), follow_redirects=False) as c:
            page = c.get("/join")
            assert page.status_code == 200 and 'id="join-closed"' in page.text
            assert c.get("/join/test-provider?state=s&return=http://testserver/x"
                         ).status_code == 404
    finally:
        hub.close()


def test_at_the_desk_later_then_the_auto_join_check_makes_a_full_member(
        client: TestClient, hub: Hub) -> None:
    """"나중에" leaves the member an associate; the ID check before a first loan at the
    library (auto-join's) is the same check, and makes them a full member too."""
    from chaekieum.services import demo

    new = client.post("/api/v1/registrations",
                      json=application(verification=verification(client, hub))).json()
    number, other = new["number"], "111002"
    desk = TestClient(client.app, follow_redirects=False)
    token = csrf(desk, "/login")
    desk.post("/login", data={"csrf": token, "username": f"lib-{other}",
                              "password": demo.staff_password(f"lib-{other}")})
    token = csrf(desk, "/desk")
    desk.post("/desk/scan", data={"csrf": token, "scan": number})
    page = desk.get("/desk").text
    assert 'id="idcheck-online"' in page
    assert desk.post("/desk/verify", data={"csrf": token, "member": "11100126099999",
                                           "answer": "yes"}).status_code == 303  # stale
    assert hub.members.get(SYSTEM, number)["member_class"] == "준회원"
    desk.post("/desk/verify", data={"csrf": token, "member": number, "answer": "later"})
    assert hub.members.get(SYSTEM, number)["member_class"] == "준회원"
    item = f"${other}EM0000000005"
    desk.post("/desk/scan", data={"csrf": token, "scan": item})
    assert 'id="idcheck-item"' in desk.get("/desk").text  # auto-join's prompt
    desk.post("/desk/join", data={"csrf": token, "item": item})
    member = hub.members.get(SYSTEM, number)
    assert member["member_class"] == "정회원" and member["loans_active"] == 1
    actions = {r["action"] for r in hub.audit.search(SYSTEM, entity_id=number)}
    assert {"member.auto_join", "member.id_check"} <= actions
    desk.close()
