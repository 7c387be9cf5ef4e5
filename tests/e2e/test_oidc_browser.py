"""Sign-in for homepages and apps in a real browser (Chromium): a library homepage sends a
member to the hub; the member signs in with number and password, reads the Korean
consent page (who asks, what it will see), allows, and the browser lands back on the
homepage with a code that Authlib's client redeems (PKCE S256). Denying sends
access_denied back. The member then revokes the homepage in the portal.

The homepage is a small HTTP server on the loopback (its registered redirect URI), so
the browser never leaves the machine; the hub's consent form may redirect there (its CSP
names the redirect URI's origin in form-action, which Chromium enforces on the redirect).
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from chaekieum.services import demo
from chaekieum.services.context import SYSTEM

from ..integration.oidc_flow import Homepage, discovery

pytestmark = pytest.mark.browser

SCOPE = "openid profile loans:read loans:renew"


class Site:
    def __init__(self) -> None:
        self.seen: list[str] = []
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                if self.path.startswith("/oidc/"):  # not the browser's /favicon.ico
                    site.seen.append(f"{site.base}{self.path}")
                body = "<!doctype html><title>홈페이지</title><h1 id='home'>홈페이지</h1>"
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.end_headers()
                self.wfile.write(body.encode())

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.callback = f"{self.base}/oidc/callback"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def site() -> Iterator[Site]:
    """The library homepage: answers its callback on the loopback, records the URLs."""
    s = Site()
    yield s
    s.server.shutdown()
    s.server.server_close()


def test_sign_in_consent_and_revoke_in_the_browser(live_server, new_page, screenshot,
                                                   site) -> None:  # noqa: ANN001
    base = live_server.url
    hub = live_server.hub
    member = demo.info(hub)["members"][0]
    made = hub.oidc.register_client(SYSTEM, "서울도서관 홈페이지", "111001", [site.callback])
    homepage = Homepage(base, made["client_id"], made["client_secret"], site.callback, SCOPE)
    meta = discovery(base)
    session = homepage.session()
    verifier = secrets.token_urlsafe(48)
    url, state = session.create_authorization_url(meta["authorization_endpoint"],
                                                  code_verifier=verifier, nonce="n-1")
    page = new_page(viewport=(412, 900))
    seen = site.seen
    page.goto(url)
    assert "/my/login" in page.url  # not signed in: the portal's own sign-in
    page.fill("input[name=number]", member["number"])
    page.fill("input[name=password]", member["password"])
    page.press("input[name=password]", "Enter")
    page.wait_for_selector("#consent-h")
    assert page.locator("h1").inner_text() == "책이음으로 로그인"
    assert "서울도서관 홈페이지" in page.locator(".lead").inner_text()
    assert "요청합니다" in page.locator(".lead").inner_text()
    assert member["name"] in page.locator("main").inner_text()
    scopes = page.locator("ul.scopes li")
    assert [scopes.nth(i).get_attribute("data-scope") for i in range(scopes.count())] == [
        "openid", "profile", "loans:read", "loans:renew"]
    assert "반납연기" in page.locator("li[data-scope='loans:renew']").inner_text()
    assert "비밀번호, 연락처, 생년은 전달되지 않습니다" in page.locator("main").inner_text()
    screenshot(page, "oidc-consent")
    with page.expect_navigation(url=lambda u: u.startswith(site.callback)):
        page.click("#allow")
    assert page.locator("#home").inner_text() == "홈페이지"
    query = parse_qs(urlsplit(seen[-1]).query)
    assert query["state"] == [state] and query["code"]
    token = session.fetch_token(meta["token_endpoint"], authorization_response=seen[-1],
                                code_verifier=verifier, state=state)
    assert session.get(f"{base}/api/v1/me/loans").status_code == 200

    # a second homepage visit, denied this time
    url2, state2 = homepage.session().create_authorization_url(
        meta["authorization_endpoint"], code_verifier=secrets.token_urlsafe(48))
    page.goto(url2)
    page.wait_for_selector("#consent-h")  # signed in already: straight to consent
    with page.expect_navigation(url=lambda u: u.startswith(site.callback)):
        page.click("#deny")
    denied = parse_qs(urlsplit(seen[-1]).query)
    assert denied["error"] == ["access_denied"] and denied["state"] == [state2]

    # the portal lists the homepage; revoking it (after the confirmation dialog) ends it
    page.goto(f"{base}/my/apps")
    row = page.locator(f"tr[data-client='{made['client_id']}']")
    assert "서울도서관 홈페이지" in row.inner_text()
    assert "대출 도서의 반납연기" in row.inner_text()
    row.locator("button").click()
    page.wait_for_selector("#confirm-dialog[open]")
    with page.expect_navigation():
        page.click("#confirm-yes")
    assert page.locator(f"tr[data-client='{made['client_id']}']").count() == 0
    assert "연결을 해제했습니다" in page.locator(".flash.ok").inner_text()
    screenshot(page, "oidc-portal-revoked")
    gone = httpx.get(f"{base}/api/v1/me/loans",
                     headers={"Authorization": f"Bearer {token['access_token']}"})
    assert gone.status_code == 401


def test_wrong_redirect_uri_shows_an_error_page(live_server, new_page, site) -> None:  # noqa: ANN001
    base = live_server.url
    made = live_server.hub.oidc.register_client(SYSTEM, "홈페이지", "111001", [site.callback])
    wrong = Homepage(base, made["client_id"], made["client_secret"],
                     f"{site.base}/elsewhere", SCOPE).session()
    url, _ = wrong.create_authorization_url(discovery(base)["authorization_endpoint"],
                                            code_verifier=secrets.token_urlsafe(48))
    page = new_page()
    response = page.goto(url)
    assert response.status == 400 and not site.seen
    assert page.locator("h1").inner_text() == "로그인 요청이 올바르지 않습니다"
