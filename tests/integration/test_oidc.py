"""Sign-in for homepages and apps (docs/oidc.md), end to end against a running hub
(uvicorn on a free port): a homepage's OpenID Connect client (Authlib's OAuth2Client,
from the registry) signs a member in with the code flow and PKCE S256 through the hub's
own sign-in and consent pages, verifies the id_token against the published JWKS, reads
the member's loans, renews one, and is refused once the member revokes it in the portal.
A wrong redirect URI, a reused code and a token of another member are refused; tokens
expire; refresh tokens rotate; every grant and revocation is in the audit log.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from authlib.integrations.base_client.errors import OAuthError
from joserfc import jwt
from joserfc.jwk import KeySet

from chaekieum.client import HubClient, HubError
from chaekieum.services import demo
from chaekieum.services.context import SYSTEM, FixedClock

from .apiclient import library_key
from .oidc_flow import Browser, Homepage, discovery

SCOPE = "openid profile card loans:read loans:renew"
HOMEPAGE_URI = "https://lib111001.example.kr/oidc/callback"


@pytest.fixture
def people(live_server) -> list[dict]:  # noqa: ANN001
    return demo.info(live_server.hub)["members"]


@pytest.fixture
def homepage(live_server) -> Homepage:  # noqa: ANN001
    made = live_server.hub.oidc.register_client(
        SYSTEM, "서울중앙도서관 홈페이지", "111001", [HOMEPAGE_URI])
    return Homepage(live_server.url, made["client_id"], made["client_secret"], HOMEPAGE_URI,
                    SCOPE)


@pytest.fixture
def browser(live_server):  # noqa: ANN001, ANN201
    b = Browser(live_server.url)
    yield b
    b.close()


def _audit(hub, action: str) -> list[dict]:  # noqa: ANN001
    return hub.audit.search(SYSTEM, action=action, limit=100)


def test_code_pkce_flow_reads_renews_and_is_refused_after_revocation(
        live_server, homepage, browser, people) -> None:  # noqa: ANN001
    hub = live_server.hub
    member = people[0]
    item = "$111001EM0000000001"
    with HubClient(live_server.url, library_key("111001")) as library:
        library.checkout(member["number"], item)
    hub.clock.advance(days=3)  # a renewal on the day of the loan is refused

    session, token, _ = homepage.sign_in(browser, member["number"], member["password"])
    assert token["token_type"].lower() == "bearer" and token["expires_in"] == 600
    assert token["refresh_token"] and set(token["scope"].split()) == set(SCOPE.split())

    # the id_token: signed with a published key, for this client, from this issuer
    meta = discovery(live_server.url)
    assert meta["code_challenge_methods_supported"] == ["S256"]
    keys = KeySet.import_key_set(httpx.get(meta["jwks_uri"]).json())
    claims = jwt.decode(token["id_token"], keys).claims
    assert claims["iss"] == meta["issuer"] == live_server.url
    assert claims["aud"] == [homepage.client_id] and claims["nonce"] == token["_nonce"]
    assert claims["name"] == member["name"] and member["number"] not in str(claims)
    assert claims["member_number_masked"] == member["number"][:8] + "****" + member["number"][-2:]
    assert session.get(meta["userinfo_endpoint"]).json()["sub"] == claims["sub"]

    loans = session.get(f"{live_server.url}/api/v1/me/loans").json()["items"]
    assert [x["item"] for x in loans] == [item]
    card = session.get(f"{live_server.url}/api/v1/me/card").json()
    assert card["barcode"] == {"format": "code128", "value": member["number"]}
    renewed = session.post(f"{live_server.url}/api/v1/me/loans/renew", json={"item": item})
    assert renewed.status_code == 200, renewed.text
    assert renewed.json()["action"] == "renew" and renewed.json()["loan"]["renewals"] == 1
    assert _audit(hub, "loan.renew")[0]["actor"] == f"member:{member['number']}"
    # a scope not granted: no reservations
    refused = session.get(f"{live_server.url}/api/v1/me/reservations")
    assert refused.status_code == 403 and refused.json()["code"] == "SCOPE_NOT_GRANTED"

    # the member sees the homepage in the portal and revokes it
    apps = browser.c.get("/my/apps")
    assert "서울중앙도서관 홈페이지" in apps.text
    grant_id = re.search(r'action="/my/apps/(\d+)/revoke"', apps.text).group(1)
    done = browser.c.post(f"/my/apps/{grant_id}/revoke",
                          data={"csrf": browser.csrf(apps.text), "confirm": "yes"})
    assert done.status_code == 303
    after = browser.c.get("/my/apps").text
    assert "연결을 해제했습니다" in after and f'data-client="{homepage.client_id}"' not in after

    gone = session.get(f"{live_server.url}/api/v1/me/loans")
    assert gone.status_code == 401 and gone.json()["code"] == "AUTH_INVALID"
    with pytest.raises(OAuthError, match="invalid_grant"):
        session.refresh_token(meta["token_endpoint"])
    grants = _audit(hub, "oauth.grant")
    revokes = _audit(hub, "oauth.revoke")
    assert len(grants) == 1 and grants[0]["details"]["client"] == homepage.client_id
    assert len(revokes) == 1 and revokes[0]["details"]["tokens"] == 1
    assert revokes[0]["actor"] == f"member:{member['number']}"


def test_wrong_redirect_uri_is_refused_without_redirecting(live_server, homepage,
                                                           browser, people) -> None:  # noqa: ANN001
    member = people[0]
    meta = discovery(live_server.url)
    for wrong in ("https://evil.example.kr/cb", HOMEPAGE_URI + "/", HOMEPAGE_URI + "?x=1"):
        evil = Homepage(live_server.url, homepage.client_id, homepage.client_secret, wrong,
                        SCOPE).session()
        url, _ = evil.create_authorization_url(meta["authorization_endpoint"],
                                               code_verifier="v" * 50)
        page = browser.authorize(url, member["number"], member["password"])
        assert page.status_code == 400 and "location" not in page.headers, wrong
        assert 'data-error="invalid_request"' in page.text or "invalid_client" in page.text
    # an unknown client: the same page
    unknown = Homepage(live_server.url, "ck-nobody", None, HOMEPAGE_URI, SCOPE).session()
    url, _ = unknown.create_authorization_url(meta["authorization_endpoint"],
                                              code_verifier="v" * 50)
    assert browser.authorize(url, member["number"], member["password"]).status_code == 400


def test_pkce_is_required_and_bound_to_the_code(live_server, homepage, browser,
                                                people) -> None:  # noqa: ANN001
    member = people[0]
    meta = discovery(live_server.url)
    plain = homepage.session()
    url, _ = plain.create_authorization_url(meta["authorization_endpoint"])  # no PKCE
    back = browser.authorize(url, member["number"], member["password"])
    assert back.status_code in (302, 303)
    assert parse_qs(urlsplit(back.headers["location"]).query)["error"] == ["invalid_request"]
    # a code obtained with one verifier cannot be redeemed with another
    session = homepage.session()
    url, state = session.create_authorization_url(meta["authorization_endpoint"],
                                                  code_verifier="a" * 50)
    back = browser.authorize(url, member["number"], member["password"])
    with pytest.raises(OAuthError, match="invalid_grant"):
        session.fetch_token(meta["token_endpoint"], authorization_response=back.headers[
            "location"], code_verifier="b" * 50, state=state)


def test_a_reused_code_is_refused_and_revokes_what_it_gave(live_server, homepage, browser,
                                                           people) -> None:  # noqa: ANN001
    member = people[0]
    meta = discovery(live_server.url)
    session, token, code = homepage.sign_in(browser, member["number"], member["password"])
    assert session.get(f"{live_server.url}/api/v1/me").status_code == 200
    again = homepage.session()
    with pytest.raises(OAuthError, match="invalid_grant"):
        again.fetch_token(meta["token_endpoint"], code=code,
                          code_verifier=token["_verifier"])
    # RFC 6749 §4.1.2: the tokens issued for the code are revoked too
    assert session.get(f"{live_server.url}/api/v1/me").status_code == 401


def test_a_token_of_another_member_reaches_only_that_member(live_server, homepage,
                                                            people) -> None:  # noqa: ANN001
    first, second = people[0], people[1]
    item = "$111001EM0000000002"
    with HubClient(live_server.url, library_key("111001")) as library:
        library.checkout(first["number"], item)
    live_server.hub.clock.advance(days=3)
    b1, b2 = Browser(live_server.url), Browser(live_server.url)
    try:
        s1, _, _ = homepage.sign_in(b1, first["number"], first["password"])
        s2, _, _ = homepage.sign_in(b2, second["number"], second["password"])
        theirs = s2.get(f"{live_server.url}/api/v1/me/loans").json()["items"]
        assert item not in [x["item"] for x in theirs]
        refused = s2.post(f"{live_server.url}/api/v1/me/loans/renew", json={"item": item})
        assert refused.status_code == 409 and refused.json()["code"] == "NOT_ON_LOAN"
        # the second member cannot revoke the first member's grant
        grant = live_server.hub.oidc.connections(first["number"])[0]["grant_id"]
        apps = b2.c.get("/my/apps")
        b2.c.post(f"/my/apps/{grant}/revoke", data={"csrf": b2.csrf(apps.text),
                                                    "confirm": "yes"})
        assert s1.get(f"{live_server.url}/api/v1/me/loans").status_code == 200
        # nor can another client revoke this one's token (RFC 7009)
        other = live_server.hub.oidc.register_client(SYSTEM, "다른 앱", None,
                                                     ["https://other.example.kr/cb"])
        r = httpx.post(discovery(live_server.url)["revocation_endpoint"],
                       data={"token": s1.token["access_token"]},
                       auth=(other["client_id"], other["client_secret"]))
        assert r.status_code == 400 and r.json()["error"] == "invalid_grant"
        assert s1.get(f"{live_server.url}/api/v1/me/loans").status_code == 200
    finally:
        b1.close()
        b2.close()


def test_tokens_expire_and_refresh_tokens_rotate(live_server, homepage, browser,
                                                 people) -> None:  # noqa: ANN001
    hub = live_server.hub
    member = people[0]
    meta = discovery(live_server.url)
    clock = FixedClock(datetime.now(UTC).replace(tzinfo=None))
    hub.oidc.clock = clock
    session, token, _ = homepage.sign_in(browser, member["number"], member["password"])
    me = f"{live_server.url}/api/v1/me"
    assert session.get(me).status_code == 200
    clock.advance(minutes=11)  # access tokens live 10 minutes
    expired = httpx.get(me, headers={"Authorization": f"Bearer {token['access_token']}"})
    assert expired.status_code == 401 and expired.json()["code"] == "AUTH_INVALID"
    old_refresh = token["refresh_token"]
    fresh = session.refresh_token(meta["token_endpoint"], refresh_token=old_refresh)
    assert fresh["access_token"] != token["access_token"]
    assert fresh["refresh_token"] != old_refresh
    assert session.get(me).status_code == 200
    # the used refresh token works once
    with pytest.raises(OAuthError, match="invalid_grant"):
        homepage.session().refresh_token(meta["token_endpoint"], refresh_token=old_refresh)
    # RFC 7009: the client revokes its refresh token; it and its access token end
    session.revoke_token(meta["revocation_endpoint"], token=fresh["refresh_token"],
                         token_type_hint="refresh_token")
    assert session.get(me).status_code == 401
    assert _audit(hub, "oauth.token_revoke")[0]["details"]["client"] == homepage.client_id
    clock.advance(days=31)  # refresh tokens live 30 days
    _, later, _ = homepage.sign_in(browser, member["number"], member["password"])
    clock.advance(days=31)
    with pytest.raises(OAuthError, match="invalid_grant"):
        homepage.session().refresh_token(meta["token_endpoint"],
                                         refresh_token=later["refresh_token"])


def test_public_app_uses_pkce_without_a_secret(live_server, browser, people) -> None:  # noqa: ANN001
    hub = live_server.hub
    app_uri = "kr.chaekieum.app:/oauth"
    made = hub.oidc.register_client(SYSTEM, "책이음 앱", None, [app_uri], public=True,
                                    scopes=["openid", "card", "reservations"])
    assert made["client_secret"] is None
    app = Homepage(live_server.url, made["client_id"], None, app_uri,
                   "openid card reservations loans:renew")
    member = people[2]
    session, token, _ = app.sign_in(browser, member["number"], member["password"])
    assert set(token["scope"].split()) == {"openid", "card", "reservations"}  # allowed only
    assert session.get(f"{live_server.url}/api/v1/me/card").json()["number"] == member["number"]
    assert session.get(f"{live_server.url}/api/v1/me/reservations").json() == {"items": []}
    # a public client presenting a secret, or a confidential one without it, is refused
    meta = discovery(live_server.url)
    r = httpx.post(meta["token_endpoint"], data={
        "grant_type": "refresh_token", "refresh_token": token["refresh_token"],
        "client_id": made["client_id"], "client_secret": "guess"})
    assert r.status_code in (400, 401) and r.json()["error"] == "invalid_client"


def test_withdrawal_ends_every_grant(live_server, homepage, browser, people) -> None:  # noqa: ANN001
    member = people[1]  # no loans, no reservations
    session, _, _ = homepage.sign_in(browser, member["number"], member["password"])
    assert session.get(f"{live_server.url}/api/v1/me").status_code == 200
    with HubClient(live_server.url, library_key(member["home_library"])) as library:
        library.withdraw_member(member["number"])
    assert session.get(f"{live_server.url}/api/v1/me").status_code == 401
    assert live_server.hub.oidc.connections(member["number"]) == []


def test_member_api_without_a_member_token(live_server) -> None:  # noqa: ANN001
    me = f"{live_server.url}/api/v1/me/loans"
    assert httpx.get(me).json()["code"] == "AUTH_REQUIRED"
    api_key = httpx.get(me, headers={"Authorization": f"Bearer {library_key('111001')}"})
    assert api_key.status_code == 401 and api_key.json()["code"] == "AUTH_INVALID"
    with pytest.raises(HubError):
        HubClient(live_server.url, "not-a-token").my_loans()


def test_discovery_and_keys(live_server) -> None:  # noqa: ANN001
    meta = discovery(live_server.url)
    assert meta["token_endpoint"] == f"{live_server.url}/oauth/token"
    assert meta["response_types_supported"] == ["code"]
    jwks = httpx.get(meta["jwks_uri"]).json()
    assert len(jwks["keys"]) == 1 and "d" not in jwks["keys"][0]  # public parts only
    first = jwks["keys"][0]["kid"]
    new = live_server.hub.oidc.rotate_key()
    kids = [k["kid"] for k in httpx.get(meta["jwks_uri"]).json()["keys"]]
    assert kids == [new, first]  # the new key signs; the old one still verifies
    live_server.hub.oidc.rotate_key(retire_older=True)
    assert first not in [k["kid"] for k in httpx.get(meta["jwks_uri"]).json()["keys"]]


def test_clients_are_registered_within_the_staff_scope(live_server) -> None:  # noqa: ANN001
    from chaekieum.domain.errors import DomainError

    hub = live_server.hub
    librarian = hub.credentials.staff_actor("lib-111001")
    mine = hub.oidc.register_client(librarian, "우리 홈페이지", "111001",
                                    ["https://lib.example.kr/cb"])
    assert mine["client_secret"] and len(mine["client_secret"]) >= 40
    for library in ("111002", None):
        with pytest.raises(DomainError) as refused:
            hub.oidc.register_client(librarian, "남의 홈페이지", library,
                                     ["https://x.example.kr/cb"])
        assert refused.value.code == "FORBIDDEN"
    for bad in (["http://lib.example.kr/cb"], ["https://lib.example.kr/cb#x"],
                ["javascript:alert(1)"], []):
        with pytest.raises(DomainError) as refused:
            hub.oidc.register_client(librarian, "잘못된 주소", "111001", bad)
        assert refused.value.code == "VALIDATION_ERROR"
    assert [c["client_id"] for c in hub.oidc.clients(librarian)] == [mine["client_id"]]
    stored = hub.oidc.client(mine["client_id"])
    assert stored.secret_hash.startswith("$argon2") and mine["client_secret"] not in str(stored)
    assert hub.oidc.client(mine["client_id"]).check_client_secret(mine["client_secret"])


def test_console_page_registers_shows_the_secret_once_and_scopes_by_library(
        live_server, browser) -> None:  # noqa: ANN001
    hub = live_server.hub
    page = browser.c.get("/login")
    signed = browser.c.post("/login", data={"username": "lib-111001",
                                            "password": demo.staff_password("lib-111001"),
                                            "csrf": browser.csrf(page.text)})
    assert signed.status_code == 303
    form = browser.c.get("/console/apps")
    assert form.status_code == 200 and 'name="library_code" value="111001"' in form.text
    made = browser.c.post("/console/apps", data={
        "csrf": browser.csrf(form.text), "name": "중앙 홈페이지", "library_code": "111001",
        "redirect_uris": "https://lib.example.kr/cb\nhttps://lib.example.kr/cb2",
        "public": "no", "scope": ["profile", "loans:read"]})
    assert made.status_code == 200
    client_id = re.search(r'id="new-client-id">([^<]+)<', made.text).group(1)
    secret = re.search(r'id="new-client-secret">([^<]+)<', made.text).group(1)
    stored = hub.oidc.client(client_id)
    assert stored.check_client_secret(secret) and stored.redirect_uris == [
        "https://lib.example.kr/cb", "https://lib.example.kr/cb2"]
    assert stored.scopes.split() == ["openid", "profile", "loans:read"]
    listing = browser.c.get("/console/apps").text
    assert client_id in listing and secret not in listing  # shown once
    # another library's client: refused, nothing stored
    other = browser.c.post("/console/apps", data={
        "csrf": browser.csrf(listing), "name": "남의 홈페이지", "library_code": "111002",
        "redirect_uris": "https://x.example.kr/cb", "public": "no"})
    assert other.status_code == 303
    assert [c["name"] for c in hub.oidc.clients(SYSTEM)] == ["중앙 홈페이지"]
    assert _audit(hub, "oauth.client.register")[0]["actor"] == "staff:lib-111001"


def test_sign_in_from_a_homepage_is_throttled_like_the_portal(live_server, homepage, browser,
                                                              people) -> None:  # noqa: ANN001
    member = people[0]
    url, _ = homepage.session().create_authorization_url(
        discovery(live_server.url)["authorization_endpoint"], code_verifier="v" * 50)
    first = browser.c.get(url)
    next_url = parse_qs(urlsplit(first.headers["location"]).query)["next"][0]
    assert next_url.startswith("/oauth/authorize?")
    answers = [browser.sign_in(member["number"], "wrong-password", next_url).status_code
               for _ in range(5)]
    assert answers == [401] * 5
    # the failed-sign-in budget of this member from this address is spent (throttle.py)
    assert browser.sign_in(member["number"], member["password"], next_url).status_code == 429
