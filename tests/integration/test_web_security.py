"""Web UI security: CSRF on every form, role scoping of every page and action, login
rate limits, signed sessions and security headers (in-process, no browser)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from chaekieum.server import create_app
from chaekieum.services import demo
from chaekieum.services.circulation import CheckinRequest, CheckoutRequest
from chaekieum.services.context import SYSTEM, Actor, Role
from chaekieum.services.hub import Hub
from chaekieum.web.i18n import CATALOG
from chaekieum.web.routes import PAGES

TEMPLATES = Path(__file__).resolve().parents[2] / "src" / "chaekieum" / "web" / "templates"


class Web:
    """A browser-like client: keeps cookies, reads the CSRF token from pages."""

    def __init__(self, client: TestClient):
        self.c = client

    def csrf(self, path: str = "/login") -> str:
        html = self.c.get(path).text
        return re.search(r'name="csrf" value="([^"]+)"', html).group(1)

    def staff(self, username: str, password: str | None = None) -> Web:
        token = self.csrf("/login")
        r = self.c.post("/login", data={"username": username, "csrf": token,
                                        "password": password or demo.staff_password(username)})
        assert r.status_code == 303, r.text
        return self

    def member(self, number: str, password: str) -> Web:
        token = self.csrf("/my/login")
        r = self.c.post("/my/login", data={"number": number, "password": password,
                                           "csrf": token})
        assert r.status_code == 303, r.text
        return self

    def post(self, path: str, data: dict | None = None, page: str = "/console"):  # noqa: ANN201
        return self.c.post(path, data={**(data or {}), "csrf": self.csrf(page)})


@pytest.fixture
def app(hub: Hub):  # noqa: ANN201
    return create_app(hub)


@pytest.fixture
def new_web(app) -> Iterator:  # noqa: ANN001
    clients = []

    def _new() -> Web:
        client = TestClient(app, follow_redirects=False)
        clients.append(client)
        return Web(client)

    yield _new
    for client in clients:
        client.close()


@pytest.fixture
def people(hub: Hub) -> dict[str, dict]:
    return {m["name"]: m for m in demo.info(hub)["members"]}


def librarian(code: str) -> Actor:
    return Actor(Role.LIBRARIAN, f"staff:lib-{code}", "desk", code)


# -- CSRF ---------------------------------------------------------------------------------
def _post_paths(hub: Hub, number: str) -> list[str]:
    values = {"code": "111001", "key_id": "demo111001", "login": "kiosk-111001",
              "username": "lib-111001",
              "number": number, "transit_id": "1", "action": "send", "batch_id": "1",
              "grant_id": "1", "client_id": "ck-none", "brn": "2208162517"}
    paths = []
    routes = [route for module in PAGES for route in module.router.routes]
    for route in routes:
        if "POST" in route.methods:
            paths.append(re.sub(r"{(\w+)}", lambda m: values[m.group(1)], route.path))
    return paths


def test_every_form_rejects_a_missing_or_wrong_csrf_token(hub, new_web, people) -> None:  # noqa: ANN001
    number = people["김하늘"]["number"]
    paths = _post_paths(hub, number)
    assert len(paths) >= 20
    for who in ("admin", "lib-111001"):
        web = new_web().staff(who)
        for path in paths:
            missing = web.c.post(path, data={"scan": number, "uid": "X1", "confirm": "yes"})
            wrong = web.c.post(path, data={"csrf": "forged", "scan": number, "confirm": "yes"})
            header = web.c.post(path, headers={"X-CSRF-Token": "forged"})
            for r in (missing, wrong, header):
                assert r.status_code == 403, (who, path, r.status_code)
                assert "보안 토큰" in r.text
    # nothing happened: the member was not withdrawn, the card not reported lost
    view = hub.members.get(Actor(Role.NATIONAL_ADMIN, "t", "desk"), number)
    assert view["status"] == "active" and not view["card_lost"]


def test_login_forms_need_the_token_too(new_web) -> None:  # noqa: ANN001
    web = new_web()
    r = web.c.post("/login", data={"username": "admin", "password": "chaekieum-admin"})
    assert r.status_code == 403
    r = web.c.post("/my/login", data={"number": "1", "password": "x"})
    assert r.status_code == 403
    assert web.c.get("/console").status_code == 303  # still anonymous


def test_session_is_renewed_on_login_and_logout(new_web) -> None:  # noqa: ANN001
    web = new_web()
    before = web.csrf("/login")
    web.staff("admin")
    after = web.csrf("/console")
    assert before != after  # no session fixation
    assert web.post("/logout").status_code == 303
    assert web.c.get("/console").status_code == 303


# -- headers, cookies, rate limits ----------------------------------------------------------
def test_security_headers_on_web_pages(new_web) -> None:  # noqa: ANN001
    web = new_web()
    for path in ("/login", "/my/login", "/static/app.css"):
        r = web.c.get(path)
        assert r.status_code == 200
        assert "default-src 'self'" in r.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in r.headers["content-security-policy"]
        assert r.headers["x-frame-options"] == "DENY"
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["referrer-policy"] == "same-origin"
        assert r.headers["x-response-time"].endswith("ms")
    cookie = web.c.get("/login").headers.get("set-cookie", "") or ""
    web.staff("admin")
    r = web.c.get("/console")
    assert r.headers["cache-control"] == "no-store"
    assert "httponly" in cookie.lower() or cookie == ""


def test_session_cookie_is_signed(new_web) -> None:  # noqa: ANN001
    web = new_web().staff("admin")
    assert web.c.get("/console").status_code == 200
    value = web.c.cookies.get("ck_session")
    web.c.cookies.set("ck_session", value[:-3] + ("AAA" if value[-3:] != "AAA" else "BBB"))
    assert web.c.get("/console").status_code == 303  # tampered: anonymous again


def test_staff_and_member_logins_are_rate_limited(new_web) -> None:  # noqa: ANN001
    web = new_web()
    token = web.csrf("/login")
    codes = [web.c.post("/login", data={"username": "admin", "password": f"wrong{i}",
                                        "csrf": token}).status_code for i in range(12)]
    assert 429 in codes and codes[0] in (401, 423)
    r = web.c.post("/my/login", data={"number": "x", "password": "y", "csrf": token})
    assert r.status_code == 429
    assert "로그인 시도가 너무 많습니다" in r.text


def test_member_login_failure_does_not_say_which_half_was_wrong(new_web, people) -> None:  # noqa: ANN001
    web = new_web()
    token = web.csrf("/my/login")
    for number in ("00000000000000", people["김하늘"]["number"]):
        r = web.c.post("/my/login", data={"number": number, "password": "nope",
                                          "csrf": token})
        assert r.status_code == 401
        assert "인증 정보가 올바르지 않습니다." in r.text


# -- role checks ------------------------------------------------------------------------------
def test_anonymous_users_are_sent_to_sign_in(new_web) -> None:  # noqa: ANN001
    web = new_web()
    for path in ("/console", "/console/members", "/desk", "/console/audit"):
        r = web.c.get(path)
        assert r.status_code == 303 and r.headers["location"].startswith("/login?next=")
    r = web.c.get("/my")
    assert r.status_code == 303 and r.headers["location"].startswith("/my/login")


def test_members_cannot_use_staff_pages_and_staff_not_the_portal(new_web, people) -> None:  # noqa: ANN001
    member = new_web().member(people["김하늘"]["number"], "member-pass-1")
    for path in ("/console", "/desk", "/console/members/" + people["이바다"]["number"]):
        assert member.c.get(path).status_code == 303
    staff = new_web().staff("admin")
    assert staff.c.get("/my").status_code == 303


def test_console_lost_card_block_is_lifted_on_its_own(hub, new_web, people) -> None:  # noqa: ANN001
    """A librarian of a library the member joined: report lost, link a new card (still
    blocked), lift the block (audited)."""
    web = new_web().staff("lib-111001")
    number = people["김하늘"]["number"]
    page = f"/console/members/{number}"
    assert web.c.get(page).status_code == 200 and 'id="lift-lost"' not in web.c.get(page).text
    assert web.post(f"{page}/lost", {"confirm": "yes"}, page=page).status_code == 303
    assert 'id="lift-lost"' in web.c.get(page).text
    assert web.post(f"{page}/card", {"uid": "04BEEF01"}, page=page).status_code == 303
    assert hub.members.get(SYSTEM, number)["card_lost"] is True
    assert web.post(f"{page}/lost/lift", page=page).status_code == 303
    assert hub.members.get(SYSTEM, number)["card_lost"] is False
    text = web.c.get(page).text
    assert "member.lift_card_lost" in text and 'id="lift-lost"' not in text


def test_librarian_sees_only_their_library(hub, new_web, people) -> None:  # noqa: ANN001
    web = new_web().staff("lib-111001")
    busan_member = people["박솔"]["number"]  # issued at 121001, never joined 111001
    seoul_member = people["김하늘"]["number"]
    refused = web.c.get(f"/console/members/{busan_member}")
    # a clear Korean refusal (the member-data rule, services/access.py)
    assert refused.status_code == 403 and "이 도서관에 가입하지 않은 회원입니다" in refused.text
    assert "박솔" not in refused.text
    assert web.c.get(f"/console/members/{busan_member}/print").status_code == 403
    assert web.c.get(f"/console/members/{busan_member}/barcode.svg").status_code == 403
    assert web.c.get(f"/console/members/{busan_member}/card.pdf").status_code == 403
    for action, form in (("lost", {}), ("lost/lift", {}), ("card", {"uid": "04AA"}),
                         ("withdraw", {"confirm": "yes"})):
        r = web.post(f"/console/members/{busan_member}/{action}", form)
        assert r.status_code == 403 and "이 도서관에 가입하지 않은 회원입니다" in r.text, action
    assert hub.members.get(SYSTEM, busan_member)["card_lost"] is False
    assert hub.members.get(SYSTEM, busan_member)["status"] == "active"
    assert "박솔" not in web.c.get("/console/members", params={"q": "박"}).text
    assert "12100126" not in web.c.get("/console/members", params={"q": "121"}).text
    page = web.c.get(f"/console/members/{seoul_member}")
    assert page.status_code == 200 and "김하늘" in page.text
    # other libraries: no detail; own library: read-only (no credentials)
    assert web.c.get("/console/libraries/121001").status_code == 403
    own = web.c.get("/console/libraries/111001")
    assert own.status_code == 200 and 'id="api-keys"' not in own.text
    for path in ("/console/libraries/111001/keys", "/console/libraries/111001/stage",
                 "/console/libraries/111001/calendar", "/console/libraries/111001/terminals",
                 "/console/libraries/111001/keys/demo111001/revoke"):
        assert web.post(path, {"target": "suspended"}).status_code == 403, path
    # the dashboard is the library's own
    assert "111001" in web.c.get("/console").text
    # transit queues: always their own library, whatever the query says
    assert 'value="121001"' not in web.c.get("/console/transits?library=121001").text
    # at the desk, a member who never joined here is shown masked (only what a loan needs)
    busan = new_web().staff("lib-121001")
    busan.post("/desk/scan", {"scan": seoul_member}, page="/desk")
    desk = busan.c.get("/desk").text
    assert "김*늘" in desk and "김하늘" not in desk
    # and no list of what they borrowed elsewhere until they join here (ID check)
    assert 'id="loans-hidden"' in desk and 'id="member-loans"' not in desk


def test_transit_moves_are_checked_per_library(hub, new_web, people) -> None:  # noqa: ANN001
    number = people["김하늘"]["number"]
    hub.circulation.checkout(librarian("111003"), CheckoutRequest(number, "$111003EM0000000001"))
    out = hub.circulation.checkin(librarian("111001"), CheckinRequest("$111003EM0000000001"))
    transit_id = out.extra["transit_id"]
    intruder = new_web().staff("lib-111002")
    intruder.post(f"/console/transits/{transit_id}/send", page="/desk")
    assert "권한이 없습니다." in intruder.c.get("/desk").text
    assert hub.transits.queue("111001", "outgoing")[0]["state"] == "received"
    # a regional admin of another region cannot pick the library
    busan_admin = new_web().staff("busan-admin")
    r = busan_admin.post(f"/console/transits/{transit_id}/send", {"library": "111001"})
    assert r.status_code == 403
    # the library that received it can send it; the owner confirms arrival
    sender = new_web().staff("lib-111001")
    sender.post(f"/console/transits/{transit_id}/send", page="/desk")
    assert hub.transits.queue("111003", "incoming")[0]["state"] == "sent"
    owner = new_web().staff("lib-111003")
    assert "$111003EM0000000001" in owner.c.get("/console/transits").text
    owner.post(f"/console/transits/{transit_id}/arrive", page="/desk")
    assert hub.transits.queue("111003", "incoming") == []


def test_regional_admin_sees_only_the_region(hub, new_web, people) -> None:  # noqa: ANN001
    web = new_web().staff("seoul-admin")
    assert web.c.get("/console/libraries/121001").status_code == 403
    assert web.c.get(f"/console/members/{people['박솔']['number']}").status_code == 403
    assert web.c.get("/desk").status_code == 403  # the desk is for librarians
    listing = web.c.get("/console/libraries", params={"region": "busan"}).text
    assert "111001" in listing and "121001" not in listing
    dash = web.c.get("/console", params={"region": "busan"})
    assert dash.status_code == 200 and "seoul" in dash.text
    assert web.post("/console/libraries/121001/keys", {"label": "x"}).status_code == 403
    # in the region: credentials can be issued; the key is shown once, never stored in
    # the cookie
    page = web.post("/console/libraries/111001/keys", {"label": "homepage"})
    assert page.status_code == 200
    key = re.search(r"<code>(ck_[^<]+)</code>", page.text).group(1)
    assert hub.credentials.verify_api_key(key).scope_code == "111001"
    assert key not in str(web.c.cookies.get("ck_session"))
    assert key not in web.c.get("/console/libraries/111001").text
    # a regional admin may not open a library (국중 only)
    web.post("/console/libraries/111001/stage", {"target": "suspended"})
    assert hub.network.library("111001")["status"] == "suspended"
    web.post("/console/libraries/111001/stage", {"target": "live"})
    assert hub.network.library("111001")["status"] == "suspended"
    assert "권한이 없습니다." in web.c.get("/console/libraries/111001").text


def test_national_admin_manages_credentials_and_calendar(hub, new_web) -> None:  # noqa: ANN001
    web = new_web().staff("admin")
    r = web.post("/console/libraries/121001/terminals",
                 {"login": "kiosk-new", "password": "kiosk-pass-x", "label": "1층",
                  "encoding": "euc-kr"})
    assert r.status_code == 303
    assert hub.credentials.verify_terminal("kiosk-new", "kiosk-pass-x", "test")["encoding"] == "euc-kr"
    # irreversible: the first post only asks (a confirmation page carrying the form)
    ask = web.post("/console/libraries/121001/terminals/kiosk-new/revoke")
    assert ask.status_code == 200 and 'id="confirm-page"' in ask.text
    assert 'name="confirm" value="yes"' in ask.text
    assert hub.credentials.verify_terminal("kiosk-new", "kiosk-pass-x", "test") is not None
    web.post("/console/libraries/121001/terminals/kiosk-new/revoke", {"confirm": "yes"})
    assert hub.credentials.verify_terminal("kiosk-new", "kiosk-pass-x", "test") is None
    ask = web.post("/console/libraries/121001/keys/demo121001/revoke")
    assert "이 API 키를 폐기합니다." in ask.text
    assert [k["revoked"] for k in hub.credentials.list_api_keys(SYSTEM, "library", "121001")] == [False]
    web.post("/console/libraries/121001/keys/demo121001/revoke", {"confirm": "yes"})
    assert [k["revoked"] for k in hub.credentials.list_api_keys(SYSTEM, "library", "121001")] == [True]
    web.c.post("/console/libraries/121001/calendar", data={
        "csrf": web.csrf("/console"), "weekday": ["0", "6"],
        "closed_dates": "2026-05-01 개관기념일\n2026-05-02"})
    lib = hub.network.library("121001")
    assert lib["closed_weekdays"] == [0, 6]
    assert [c["day"] for c in lib["closed_dates"]] == ["2026-05-01", "2026-05-02"]
    web.post("/console/libraries/141099/stage", {"target": "final_test", "note": "점검"})
    assert hub.network.library("141099")["status"] == "final_test"


# -- member actions and the portal --------------------------------------------------------
def test_member_actions_from_the_console(hub, new_web, people) -> None:  # noqa: ANN001
    number = people["이바다"]["number"]
    web = new_web().staff("lib-111001")
    web.post(f"/console/members/{number}/card", {"uid": "04A2B3C4D5"})
    admin = Actor(Role.NATIONAL_ADMIN, "t", "desk")
    assert hub.members.get(admin, number)["card_uid_linked"]
    # the desk opens a member from the linked RFID card
    web.post("/desk/scan", {"scan": "04A2B3C4D5"}, page="/desk")
    assert 'id="member-panel"' in web.c.get("/desk").text
    ask = web.post(f"/console/members/{number}/lost")
    assert "이용증을 분실 신고합니다." in ask.text
    assert not hub.members.get(admin, number)["card_lost"]
    web.post(f"/console/members/{number}/lost", {"confirm": "yes"})
    assert hub.members.get(admin, number)["card_lost"]
    card = web.c.get(f"/console/members/{number}/print")
    assert card.status_code == 200 and "barcode.svg" in card.text
    svg = web.c.get(f"/console/members/{number}/barcode.svg")
    assert svg.headers["content-type"].startswith("image/svg+xml") and b"<svg" in svg.content
    pdf = web.c.get(f"/console/members/{number}/card.pdf")
    assert pdf.headers["content-type"] == "application/pdf" and pdf.content.startswith(b"%PDF")
    assert f"({number})".encode() in pdf.content  # the number printed under the barcode
    assert b"/MediaBox [ 0 0 242.6" in pdf.content  # ID-1 card: 85.6 mm wide
    web.post(f"/console/members/{number}/withdraw")  # not confirmed: nothing happens
    assert hub.members.get(admin, number)["status"] == "active"
    web.post(f"/console/members/{number}/withdraw", {"confirm": "yes"})
    assert hub.members.get(admin, number)["status"] == "withdrawn"


def test_portal_renewal_history_and_password(hub, new_web, people) -> None:  # noqa: ANN001
    number = people["김하늘"]["number"]
    hub.circulation.checkout(librarian("111001"), CheckoutRequest(number, "$111001EM0000000003"))
    hub.circulation.checkout(librarian("111002"), CheckoutRequest(number, "$111002EM0000000004"))
    web = new_web().member(number, "member-pass-1")
    page = web.c.get("/my").text
    assert "서울도서관" in page and "중랑구립정보도서관" in page
    web.post("/my/renew", {"item": "$111001EM0000000003"}, page="/my")
    assert "대출 당일에는 반납연기할 수 없습니다." in web.c.get("/my").text
    hub.clock.advance(days=1)
    web.post("/my/renew", {"item": "$111002EM0000000004"}, page="/my")
    assert "반납연기되었습니다" in web.c.get("/my").text
    loans = {x["item"]: x for x in hub.members.loans(Actor(Role.MEMBER, f"member:{number}",
                                                           "portal"), number)}
    assert loans["$111002EM0000000004"]["renewals"] == 1
    # someone else's loan cannot be renewed through my portal
    other = people["이바다"]["number"]
    hub.circulation.checkout(librarian("111001"), CheckoutRequest(other, "$111001EM0000000005"))
    web.post("/my/renew", {"item": "$111001EM0000000005"}, page="/my")
    assert "대출 중인 자료가 아닙니다." in web.c.get("/my").text
    # history: return one and delete it from the history
    out = hub.circulation.checkin(librarian("111001"), CheckinRequest("$111001EM0000000003"))
    page = web.c.get("/my").text
    assert f'value="{out.loan["id"]}"' in page
    ask = web.post("/my/history/hide", {"loan_id": str(out.loan["id"])}, page="/my")
    assert "선택한 대출 이력을 삭제합니다." in ask.text
    assert f'name="loan_id" value="{out.loan["id"]}"' in ask.text  # the selection is kept
    assert f'value="{out.loan["id"]}"' in web.c.get("/my").text
    web.post("/my/history/hide", {"loan_id": str(out.loan["id"]), "confirm": "yes"}, page="/my")
    assert f'value="{out.loan["id"]}"' not in web.c.get("/my").text
    # password change needs the current password
    r = web.post("/my/password", {"current": "wrong-pass", "new": "new-pass-123",
                                  "repeat": "new-pass-123"}, page="/my")
    assert r.status_code == 422
    r = web.post("/my/password", {"current": "member-pass-1", "new": "new-pass-123",
                                  "repeat": "new-pass-123"}, page="/my")
    assert r.status_code == 303
    assert hub.members.authenticate(number, "new-pass-123", "test") == number
    card = web.c.get("/my/card")
    assert card.status_code == 200 and number in card.text
    assert web.c.get("/my/card/qr.svg").content.lstrip().startswith(b"<?xml")


# -- desk details -------------------------------------------------------------------------------
def test_desk_scan_kinds_and_all_refusal_reasons(hub, new_web, people) -> None:  # noqa: ANN001
    web = new_web().staff("lib-111001")
    number = people["김하늘"]["number"]
    # 기관바코드 then a plain 등록번호: a return of the other library's copy
    hub.circulation.checkout(librarian("111003"), CheckoutRequest(number, "$111003EM0000000007"))
    web.post("/desk/scan", {"scan": "#111003"}, page="/desk")
    page = web.c.get("/desk").text
    assert 'id="owner-hint"' in page and "111003" in page
    web.post("/desk/scan", {"scan": "EM7"}, page="/desk")
    page = web.c.get("/desk").text
    assert "반납되었습니다" in page and "타관반납" in page
    # a suspended member with an overdue item: every reason is listed
    web.post("/desk/hint/clear", page="/desk")
    late = people["이바다"]["number"]
    hub.circulation.checkout(librarian("111001"), CheckoutRequest(late, "$111001EM0000000010"))
    hub.circulation.checkout(librarian("111002"), CheckoutRequest(late, "$111002EM0000000001"))
    hub.clock.advance(days=30)
    hub.circulation.checkin(librarian("111001"), CheckinRequest("$111001EM0000000010"))
    web.post("/desk/scan", {"scan": late}, page="/desk")
    web.post("/desk/scan", {"scan": "$111001EM0000000011"}, page="/desk")
    page = web.c.get("/desk").text
    codes = re.findall(r'data-code="(\w+)"', page)
    assert {"MEMBER_SUSPENDED", "MEMBER_HAS_OVERDUE"} <= set(codes)
    assert "대출정지 중인 회원입니다." in page and "연체 중인 자료가 있습니다." in page
    # an unreadable scan
    web.post("/desk/scan", {"scan": "???"}, page="/desk")
    assert "인식할 수 없는 바코드입니다." in web.c.get("/desk").text


def test_desk_undo_and_receipt(hub, new_web, people) -> None:  # noqa: ANN001
    web = new_web().staff("lib-111001")
    number = people["김하늘"]["number"]
    web.post("/desk/scan", {"scan": number}, page="/desk")
    web.post("/desk/scan", {"scan": "$111001EM0000000001"}, page="/desk")
    loan = hub.members.loans(librarian("111001"), number)[0]
    web.post("/desk/undo", {"kind": "checkout", "loan_id": str(loan["id"])}, page="/desk")
    assert hub.members.loans(librarian("111001"), number) == []
    receipt = web.c.get("/desk/receipt").text
    assert "대출 취소" in receipt and "$111001EM0000000001" in receipt
    web.post("/desk/receipt/clear", page="/desk")
    assert "처리 내역이 없습니다." in web.c.get("/desk/receipt").text


def test_registration_requires_a_guardian_under_14(hub, new_web) -> None:  # noqa: ANN001
    web = new_web().staff("lib-111001")
    form = {"name": "어린이", "birth_year": str(hub.clock.today().year - 9), "consent": "on"}
    r = web.post("/desk/register", form, page="/desk")
    assert r.status_code == 422 and "법정대리인 정보가 필요합니다" in r.text
    r = web.post("/desk/register", {**form, "guardian_name": "보호자",
                                    "guardian_phone": "010-1111-2222"}, page="/desk")
    assert r.status_code == 303
    assert "회원으로 등록되었습니다" in web.c.get("/desk").text


# -- exports and language -------------------------------------------------------------------
def test_csv_exports(hub, new_web, people) -> None:  # noqa: ANN001
    hub.circulation.checkout(librarian("111001"), CheckoutRequest(
        people["박솔"]["number"], "$111001EM0000000001"))
    web = new_web().staff("admin")
    for table in ("per_day", "per_region", "per_library", "stages", "summary"):
        r = web.c.get("/console/export.csv", params={"table": table})
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
        assert r.text.startswith("\ufeff")
    assert "111001,서울도서관,seoul,1" in web.c.get(
        "/console/export.csv", params={"table": "per_library"}).text
    summary = web.c.get("/console/export.csv", params={"table": "summary"}).text
    assert "loans_to_members_from_elsewhere,1" in summary
    for path in ("/console/libraries?format=csv", "/console/centers?format=csv",
                 "/console/audit?format=csv", "/console/transits?library=111001&format=csv"):
        r = web.c.get(path)
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv"), path


def test_english_catalog(new_web) -> None:  # noqa: ANN001
    web = new_web()
    r = web.c.get("/login?lang=en")
    assert "Staff sign-in" in r.text and 'lang="en"' in r.text
    assert "lang=en" in r.headers.get("set-cookie", "")
    assert "Staff sign-in" in web.c.get("/login").text
    assert "직원 로그인" in web.c.get("/login?lang=ko").text


def test_every_catalog_key_used_in_templates_exists() -> None:
    used = set()
    for path in TEMPLATES.glob("*.html"):
        used |= set(re.findall(r"t\('([\w.]+)'\)", path.read_text()))
    assert used, "no keys found"
    assert not used - set(CATALOG), sorted(used - set(CATALOG))
    assert all(ko and en for ko, en in CATALOG.values())
