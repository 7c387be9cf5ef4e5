"""Sessions really end, logins are throttled (not locked) and answer alike for unknown
and known accounts, kiosks lock across connections, proxies are trusted only when
configured, the channel comes from the credential, and logs carry no personal data."""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from chaekieum.server import create_app
from chaekieum.services import credentials as credentials_module
from chaekieum.services import demo
from chaekieum.services import members as members_module
from chaekieum.services.context import SYSTEM, FixedClock
from chaekieum.services.hub import Hub
from chaekieum.sip2.client import Sip2Client
from chaekieum.sip2.client import raw_frame as sip
from chaekieum.sip2.codec import decode_response
from chaekieum.sip2.handlers import status as sip2_status
from chaekieum.sip2.hub_backend import HubBackend
from chaekieum.sip2.server import BackgroundServer
from chaekieum.store.tables import login_failures

from ..conftest import free_port
from .test_web_security import Web

KIOSK, KIOSK_PASS = "kiosk-111001", "kiosk-pass-111001"
NOW = "20260304    100000"


@pytest.fixture
def app(hub: Hub):  # noqa: ANN201
    return create_app(hub)


@pytest.fixture
def browser(app) -> Iterator:  # noqa: ANN001
    clients: list[TestClient] = []

    def _new(peer: str = "testclient") -> Web:
        client = TestClient(app, follow_redirects=False, client=(peer, 50000))
        clients.append(client)
        return Web(client)

    yield _new
    for client in clients:
        client.close()


@pytest.fixture
def people(hub: Hub) -> dict[str, dict]:
    return {m["name"]: m for m in demo.info(hub)["members"]}


def signed_in(web: Web, path: str) -> bool:
    r = web.c.get(path)
    assert r.status_code in (200, 303), r.status_code
    return r.status_code == 200


def replay(app, cookie: str) -> Web:  # noqa: ANN001
    """A new client presenting a copied session cookie."""
    client = TestClient(app, follow_redirects=False)
    client.cookies.set("ck_session", cookie)
    return Web(client)


# -- sessions end: logout, password change, disabled account, idle -------------------------
@pytest.mark.parametrize("kind", ["staff", "member"])
def test_a_cookie_replayed_after_logout_is_refused(app, browser, people, kind) -> None:  # noqa: ANN001
    web = browser()
    home = "/console" if kind == "staff" else "/my"
    if kind == "staff":
        web.staff("admin")
    else:
        web.member(people["김하늘"]["number"], "member-pass-1")
    assert signed_in(web, home)
    stolen = web.c.cookies.get("ck_session")
    assert signed_in(replay(app, stolen), home)  # a copy works while the session lives
    token = web.csrf(home)  # the thief knows the form token too
    assert web.post("/logout", page=home).status_code == 303
    assert not signed_in(web, home)
    thief = replay(app, stolen)
    r = thief.c.get(home)
    assert r.status_code == 303 and "/login" in r.headers["location"]
    # a state-changing request with the old cookie and its CSRF token is refused too
    thief = replay(app, stolen)  # (the GET above replaced the thief's cookie)
    r = thief.c.post("/my/password" if kind == "member" else "/password",
                     data={"current": "member-pass-1" if kind == "member" else "chaekieum-admin",
                           "new": "stolen-pass-1", "repeat": "stolen-pass-1", "csrf": token})
    assert r.status_code == 303 and "/login" in r.headers["location"]
    if kind == "member":
        web.member(people["김하늘"]["number"], "member-pass-1")  # unchanged
    else:
        web.staff("admin")


def test_member_password_change_ends_every_other_session(app, browser, hub, people) -> None:  # noqa: ANN001
    number = people["김하늘"]["number"]
    phone, laptop = browser().member(number, "member-pass-1"), browser().member(number,
                                                                               "member-pass-1")
    old_cookie = laptop.c.cookies.get("ck_session")
    r = laptop.post("/my/password", {"current": "member-pass-1", "new": "new-pass-123",
                                     "repeat": "new-pass-123"}, page="/my")
    assert r.status_code == 303
    assert signed_in(laptop, "/my")  # the browser that changed it starts a new session
    assert not signed_in(phone, "/my")
    assert not signed_in(replay(app, old_cookie), "/my")
    audit = hub.audit.search(SYSTEM, action="member.set_password")
    assert audit[0]["details"]["sessions_ended"] == 2


def test_staff_password_change_ends_every_other_session(browser, hub) -> None:  # noqa: ANN001
    desk1, desk2 = browser().staff("lib-111001"), browser().staff("lib-111001")
    r = desk1.post("/password", {"current": "wrong-one", "new": "new-pass-123",
                                 "repeat": "new-pass-123"}, page="/desk")
    assert r.status_code == 422 and signed_in(desk2, "/desk")
    r = desk1.post("/password", {"current": "lib-111001-pass", "new": "new-pass-123",
                                 "repeat": "new-pass-123"}, page="/desk")
    assert r.status_code == 303
    assert signed_in(desk1, "/desk") and not signed_in(desk2, "/desk")
    browser().staff("lib-111001", "new-pass-123")
    assert [a["action"] for a in hub.audit.search(SYSTEM, action="credential.staff.password")]


def test_disabling_a_staff_account_ends_its_sessions_at_once(browser, hub) -> None:  # noqa: ANN001
    desk = browser().staff("lib-111001")
    assert signed_in(desk, "/desk")
    admin = browser().staff("admin")
    page = admin.c.get("/console/libraries/111001").text
    assert 'action="/console/libraries/111001/staff/lib-111001/disable"' in page
    assert admin.post("/console/libraries/111001/staff/lib-111001/disable").status_code == 303
    assert not signed_in(desk, "/desk")
    entry = hub.audit.search(SYSTEM, action="credential.staff.disable")[0]
    assert entry["entity_id"] == "lib-111001" and entry["details"]["sessions_ended"] == 1
    # a disabled account is answered like an unknown one
    r = browser().c.post("/login", data={"username": "lib-111001",
                                         "password": "lib-111001-pass",
                                         "csrf": browser().csrf()})
    assert r.status_code in (401, 403)
    web = browser()
    r = web.c.post("/login", data={"username": "lib-111001", "password": "lib-111001-pass",
                                   "csrf": web.csrf()})
    assert r.status_code == 401 and "인증 정보가 올바르지 않습니다." in r.text
    assert admin.post("/console/libraries/111001/staff/lib-111001/enable").status_code == 303
    assert signed_in(browser().staff("lib-111001"), "/desk")


def test_staff_disabling_is_admin_scoped(hub) -> None:  # noqa: ANN001
    from chaekieum.domain.errors import DomainError

    librarian = hub.credentials.staff_actor("lib-111001")
    with pytest.raises(DomainError) as refused:
        hub.credentials.set_staff_disabled(librarian, "lib-111002")
    assert refused.value.code == "FORBIDDEN"
    with pytest.raises(DomainError) as refused:  # another region's admin
        hub.credentials.set_staff_disabled(hub.credentials.staff_actor("busan-admin"),
                                           "lib-111001")
    assert refused.value.code == "FORBIDDEN"
    with pytest.raises(DomainError):  # regional admins are for national admins
        hub.credentials.set_staff_disabled(hub.credentials.staff_actor("seoul-admin"),
                                           "busan-admin")
    hub.credentials.set_staff_disabled(hub.credentials.staff_actor("seoul-admin"),
                                       "lib-111001")
    assert hub.credentials.staff_actor("lib-111001") is None
    admin = hub.credentials.staff_actor("admin")
    with pytest.raises(DomainError):
        hub.credentials.set_staff_disabled(admin, "admin")  # never oneself


def test_sessions_idle_expire_and_have_an_absolute_limit(browser, hub, people) -> None:  # noqa: ANN001
    clock = FixedClock(datetime(2026, 3, 4, 1, 0, 0))
    hub.sessions.clock = clock
    web = browser().staff("admin")
    member = browser().member(people["김하늘"]["number"], "member-pass-1")
    clock.advance(minutes=29)
    assert signed_in(web, "/console")  # used: the idle timer starts again
    clock.advance(minutes=29)
    assert signed_in(web, "/console")
    assert not signed_in(member, "/my")  # 58 minutes idle
    # the absolute limit holds however busy the session is
    for _ in range(24):
        clock.advance(minutes=29)
        if not signed_in(web, "/console"):
            break
    elapsed = clock.now() - datetime(2026, 3, 4, 1, 0, 0)
    assert hub.sessions.max_age < elapsed <= hub.sessions.max_age + timedelta(minutes=29)
    assert not signed_in(web, "/console")
    # the idle limit is a setting (CHAEKIEUM_SESSION_IDLE_MINUTES)
    hub.sessions.idle = timedelta(minutes=5)
    web = browser().staff("admin")
    clock.advance(minutes=6)
    assert not signed_in(web, "/console")


# -- logins: throttled per account and source, the same answer for unknown accounts ------
class Argon2Counter:
    def __init__(self, monkeypatch) -> None:  # noqa: ANN001
        self.calls = 0
        real = credentials_module.verify_secret

        def counting(hash_: str, secret: str) -> bool:
            self.calls += 1
            return real(hash_, secret)

        monkeypatch.setattr(credentials_module, "verify_secret", counting)
        monkeypatch.setattr(members_module, "verify_secret", counting)

    def take(self) -> int:
        calls, self.calls = self.calls, 0
        return calls


def _flash(html: str) -> str:
    return re.search(r'<div class="flash error".*?</div>', html, re.S).group()


def test_staff_login_answers_unknown_and_known_accounts_alike(browser, monkeypatch) -> None:  # noqa: ANN001
    argon2 = Argon2Counter(monkeypatch)
    answers = {}
    for username in ("lib-111001", "no-such-user"):
        web = browser()
        token = web.csrf()
        argon2.take()
        r = web.c.post("/login", data={"username": username, "password": "wrong-pass",
                                       "csrf": token})
        answers[username] = (r.status_code, _flash(r.text), argon2.take())
    assert answers["lib-111001"] == answers["no-such-user"]
    assert answers["lib-111001"][0] == 401 and answers["lib-111001"][2] == 1


def test_member_login_answers_unknown_and_known_members_alike(browser, people,
                                                            monkeypatch) -> None:  # noqa: ANN001
    argon2 = Argon2Counter(monkeypatch)
    answers = set()
    for number in (people["김하늘"]["number"], "11100126999990", "not-a-number"):
        web = browser()
        token = web.csrf("/my/login")
        argon2.take()
        r = web.c.post("/my/login", data={"number": number, "password": "wrong-pass",
                                          "csrf": token})
        answers.add((r.status_code, _flash(r.text), argon2.take()))
    assert len(answers) == 1, answers  # one status, one message, one argon2 check each
    status, message, checks = answers.pop()
    assert (status, checks) == (401, 1) and "인증 정보가 올바르지 않습니다." in message


def test_api_answers_unknown_and_known_keys_alike(hub, monkeypatch) -> None:  # noqa: ANN001
    argon2 = Argon2Counter(monkeypatch)
    with TestClient(create_app(hub, with_web=False)) as client:
        answers = []
        for token in ("ck_demo111001_wrong-secret", "ck_ffffffffffff_wrong-secret"):
            argon2.take()
            r = client.get("/api/v1/transits", headers={"Authorization": f"Bearer {token}"})
            answers.append((r.status_code, r.json(), argon2.take()))
    assert answers[0] == answers[1] and answers[0][0] == 401 and answers[0][2] == 1


def test_login_throttle_refuses_the_guessing_source_not_the_owner(browser, hub) -> None:  # noqa: ANN001
    attacker = browser("203.0.113.66")
    token = attacker.csrf()
    codes = [attacker.c.post("/login", data={"username": "lib-111001", "password": f"bad{i}",
                                             "csrf": token}).status_code for i in range(6)]
    assert codes == [401] * 5 + [429]
    # the same for an account that does not exist: nothing to learn from the 429
    other = browser("203.0.113.67")
    token = other.csrf()
    codes = [other.c.post("/login", data={"username": "nobody-here", "password": f"bad{i}",
                                          "csrf": token}).status_code for i in range(6)]
    assert codes == [401] * 5 + [429]
    # the owner, from their own desk, is not locked out
    assert signed_in(browser("198.51.100.7").staff("lib-111001"), "/desk")


def test_the_per_account_budget_spans_sources(hub, monkeypatch) -> None:  # noqa: ANN001
    from chaekieum.domain.errors import DomainError
    from chaekieum.services import throttle

    monkeypatch.setattr(throttle, "STAFF", throttle.Budget("staff", 3, 6, 50))
    for i in range(6):
        with pytest.raises(DomainError):
            hub.credentials.staff_login("lib-111001", "bad", f"198.51.100.{i}")
    with pytest.raises(DomainError) as refused:
        hub.credentials.staff_login("lib-111001", "lib-111001-pass", "198.51.100.200")
    assert refused.value.code == "RATE_LIMITED"


# -- kiosks ---------------------------------------------------------------------------------
@pytest.fixture
def sip2(hub) -> Iterator[BackgroundServer]:  # noqa: ANN001
    with BackgroundServer(HubBackend(hub)) as server:
        yield server


def _login_once(server: BackgroundServer, password: str) -> bool:
    with Sip2Client(port=server.port, timeout=10) as c:
        return c.login(KIOSK, password)


def test_kiosk_locked_after_failures_across_connections_and_unlocked_by_an_admin(
        hub, sip2, monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.setattr(sip2_status, "FAILED_LOGIN_DELAY", 0.0)
    working = Sip2Client(port=sip2.port, timeout=10)
    assert working.login(KIOSK, KIOSK_PASS)  # a kiosk already in service
    for _ in range(credentials_module.TERMINAL_MAX_FAILURES):  # one connection each
        assert not _login_once(sip2, "guess")
    assert not _login_once(sip2, KIOSK_PASS)  # locked: even the right password
    locked = hub.audit.search(SYSTEM, action="credential.terminal.locked")
    assert locked[0]["entity_id"] == KIOSK and locked[0]["library_code"] == "111001"
    assert hub.credentials.list_terminals(SYSTEM, "111001")[0]["locked"] is True
    # the connection signed in before the lock keeps serving
    working.send_raw(sip(f"23000{NOW}AO111001|AA{demo.info(hub)['members'][0]['number']}|"))
    assert decode_response(working.read_line(), "utf-8").code == "24"
    working.close()
    # the admin unlock over REST, scoped like the kiosk's other credentials
    regional_other = hub.credentials.create_api_key(SYSTEM, "region", "busan", "busan")
    national = hub.credentials.create_api_key(SYSTEM, "national", "", "ops")
    with TestClient(create_app(hub, with_web=False)) as api:
        path = f"/api/v1/libraries/111001/terminals/{KIOSK}/unlock"
        r = api.post(path, headers={"Authorization": f"Bearer {regional_other['api_key']}"})
        assert r.status_code == 403
        r = api.post(f"/api/v1/libraries/111002/terminals/{KIOSK}/unlock",
                     headers={"Authorization": f"Bearer {national['api_key']}"})
        assert r.status_code == 404
        r = api.post(path, headers={"Authorization": f"Bearer {national['api_key']}"})
        assert r.status_code == 200 and r.json() == {"login": KIOSK, "locked": False}
    assert hub.audit.search(SYSTEM, action="credential.terminal.unlock")
    assert _login_once(sip2, KIOSK_PASS)


def test_console_shows_a_locked_kiosk_and_unlocks_it(hub, browser, sip2, monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.setattr(sip2_status, "FAILED_LOGIN_DELAY", 0.0)
    for _ in range(credentials_module.TERMINAL_MAX_FAILURES):
        _login_once(sip2, "guess")
    admin = browser().staff("admin")
    page = admin.c.get("/console/libraries/111001").text
    unlock = f"/console/libraries/111001/terminals/{KIOSK}/unlock"
    assert unlock in page and "잠김" in page
    assert admin.post(unlock).status_code == 303
    assert unlock not in admin.c.get("/console/libraries/111001").text
    assert _login_once(sip2, KIOSK_PASS)


def test_patron_password_failures_at_a_kiosk_are_throttled_per_kiosk_not_the_portal(
        hub, sip2, browser, people) -> None:  # noqa: ANN001
    number = people["김하늘"]["number"]
    with Sip2Client(port=sip2.port, timeout=10) as kiosk:
        assert kiosk.login(KIOSK, KIOSK_PASS)
        answers = []
        for password in ["nope"] * 6 + ["member-pass-1"]:
            kiosk.send_raw(sip(f"23000{NOW}AO111001|AA{number}|AD{password}|"))
            r = decode_response(kiosk.read_line(), "utf-8")
            answers.append((r.get("CQ"), "요청이 너무 많습니다" in (r.get("AF") or "")))
    assert answers[:5] == [("N", False)] * 5
    assert answers[5:] == [("N", True), ("N", True)]  # this kiosk is throttled
    # the member's portal sign-in is untouched
    assert signed_in(browser().member(number, "member-pass-1"), "/my")
    with hub.db.read() as conn:
        kinds = set(conn.scalars(select(login_failures.c.kind)))
    assert kinds == {"patron"}


# -- proxies --------------------------------------------------------------------------------
def _failure_sources(hub: Hub) -> set[str]:
    with hub.db.read() as conn:
        return set(conn.scalars(select(login_failures.c.source)))


def _spray(web: Web, n: int) -> list[int]:
    token = web.csrf()
    return [web.c.post("/login", headers={"X-Forwarded-For": f"192.0.2.{i}"},
                       data={"username": f"user{i}", "password": "x", "csrf": token}
                       ).status_code for i in range(n)]


def test_x_forwarded_for_from_an_untrusted_peer_is_ignored(hub) -> None:  # noqa: ANN001
    for allow in ("", "10.0.0.1"):  # none configured, or another address configured
        app = create_app(hub, forwarded_allow=allow)
        with TestClient(app, follow_redirects=False, client=("203.0.113.9", 1)) as c:
            codes = _spray(Web(c), 12)
        assert 429 in codes  # the per-address limit counts the real peer
        assert _failure_sources(hub) == {"203.0.113.9"}


def test_x_forwarded_for_from_a_configured_proxy_is_honoured(hub) -> None:  # noqa: ANN001
    app = create_app(hub, forwarded_allow="10.0.0.1")
    with TestClient(app, follow_redirects=False, client=("10.0.0.1", 1)) as c:
        codes = _spray(Web(c), 12)
    assert 429 not in codes
    assert _failure_sources(hub) == {f"192.0.2.{i}" for i in range(12)}


@pytest.mark.parametrize(("peer", "secure"), [("10.0.0.1", True), ("203.0.113.9", False)])
def test_x_forwarded_proto_only_from_a_configured_proxy(hub, peer, secure) -> None:  # noqa: ANN001
    """A TLS-terminating proxy says https: the session cookie is then marked Secure."""
    app = create_app(hub, forwarded_allow="10.0.0.1")
    with TestClient(app, follow_redirects=False, client=(peer, 1)) as c:
        r = c.get("/login", headers={"X-Forwarded-Proto": "https"})
    assert ("secure" in r.headers["set-cookie"].lower()) is secure


def test_serve_turns_uvicorns_own_proxy_trust_off(monkeypatch, tmp_path) -> None:  # noqa: ANN001
    import uvicorn
    from typer.testing import CliRunner
    from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

    from chaekieum import logsafe
    from chaekieum.cli import app as cli

    seen: dict = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: seen.update(app=app, **kw))
    # `serve` configures root logging on the runner's stderr, which is closed once the
    # invocation ends: later tests in this process would log into a closed stream
    monkeypatch.setattr(logsafe, "configure", lambda *args, **kwargs: None)
    monkeypatch.setenv("CHAEKIEUM_HOME", str(tmp_path))
    db = f"sqlite:///{tmp_path / 'x.db'}"
    for args, env, trusted in (([], "", None), (["--forwarded-allow-ips", "10.0.0.1"], "",
                                                ["10.0.0.1"]),
                               ([], "10.0.0.2,10.0.1.0/24", ["10.0.0.2", "10.0.1.0/24"])):
        monkeypatch.setenv("CHAEKIEUM_FORWARDED_ALLOW_IPS", env)
        result = CliRunner().invoke(cli, ["serve", "--no-demo", "--sip2-port", "0",
                                          "--database-url", db, *args])
        assert result.exit_code == 0, result.output
        assert seen["proxy_headers"] is False and seen["forwarded_allow_ips"] == ""
        proxies = [m for m in seen["app"].user_middleware if m.cls is ProxyHeadersMiddleware]
        assert [m.kwargs["trusted_hosts"] for m in proxies] == ([trusted] if trusted else [])


# -- channel ----------------------------------------------------------------------------------
def test_the_channel_comes_from_the_credential_not_a_header(hub, browser, people) -> None:  # noqa: ANN001
    number = people["김하늘"]["number"]
    key = demo.info(hub)["libraries"][0]["api_key"]
    with TestClient(create_app(hub, with_web=False)) as api:
        r = api.post("/api/v1/circulation/checkout",
                     headers={"Authorization": f"Bearer {key}", "X-Channel": "desk"},
                     json={"member": number, "item": "$111001EM0000000001"})
    assert r.status_code == 200, r.text
    assert r.json()["loan"]["channel"] == "api"
    desk = browser().staff("lib-111001")
    desk.post("/desk/scan", {"scan": number}, page="/desk")
    desk.c.post("/desk/scan", headers={"X-Channel": "api"},
                data={"scan": "$111001EM0000000002", "csrf": desk.csrf("/desk")})
    channels = {x["item"]: x["channel"] for x in hub.members.loans(SYSTEM, number)}
    assert channels == {"$111001EM0000000001": "api", "$111001EM0000000002": "desk"}


# -- logs ---------------------------------------------------------------------------------------
def _access_lines(caplog) -> list[str]:  # noqa: ANN001
    """Each access record once (it may reach the capture twice: directly and via root)."""
    return list({id(r): r.getMessage() for r in caplog.records
                 if r.name == "uvicorn.access"}.values())


def test_access_log_lines_mask_card_uids_and_name_searches(hub, caplog) -> None:  # noqa: ANN001
    """The real access log of a running server (uvicorn), not a hand-made line."""
    import uvicorn

    number = demo.info(hub)["members"][0]["number"]
    hub.members.link_card(SYSTEM, number, "04A1B2C3D4E5F6")
    app = create_app(hub, with_web=False)
    port = free_port()
    # uvicorn's access log as `serve` writes it (its handlers may have been configured by
    # an earlier server in this process: listen on the logger itself)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,
                                           log_config=None, access_log=True))
    thread = threading.Thread(target=server.run, daemon=True)
    access = logging.getLogger("uvicorn.access")
    key = demo.info(hub)["libraries"][0]["api_key"]
    access.addHandler(caplog.handler)
    with caplog.at_level(logging.INFO, logger="uvicorn.access"):
        thread.start()
        try:
            deadline = time.monotonic() + 20
            while not server.started and time.monotonic() < deadline:
                time.sleep(0.02)
            headers = {"Authorization": f"Bearer {key}"}
            for path in ("/api/v1/members/04A1B2C3D4E5F6", f"/api/v1/members/{number}/loans",
                         "/api/v1/members?q=%EA%B9%80%ED%95%98&limit=5",
                         "/api/v1/members?q=kim+haneul", "/api/v1/transits?limit=20"):
                httpx.get(f"http://127.0.0.1:{port}{path}", headers=headers, timeout=10)
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline and len(_access_lines(caplog)) < 5:
                time.sleep(0.05)
        finally:
            server.should_exit = True
            thread.join(timeout=10)
            access.removeHandler(caplog.handler)
    lines = _access_lines(caplog)
    text = "\n".join(lines)
    assert len(lines) == 5, text
    assert "04A1B2C3D4E5F6" not in text and "/api/v1/members/*** " in text
    assert number not in text and f"/api/v1/members/{number[:8]}****{number[12:]}/loans" in text
    assert "%EA%B9%80" not in text and "kim" not in text and text.count("q=***") == 2
    assert "limit=5" in text and "/api/v1/transits?limit=20" in text
