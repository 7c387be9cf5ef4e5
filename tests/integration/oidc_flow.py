"""Driving the hub's OpenID Connect sign-in from outside, as a homepage would: the
homepage's side is Authlib's OAuth2Client (a registry library, not the hub's code); the
member's browser is an httpx client that fills the hub's own pages (sign-in, consent)."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from html import unescape
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx
from authlib.integrations.httpx_client import OAuth2Client


def discovery(base_url: str) -> dict:
    return httpx.get(f"{base_url}/.well-known/openid-configuration").json()


class Browser:
    """A member's browser on the hub's web pages (cookies, CSRF tokens from the forms)."""

    def __init__(self, base_url: str):
        self.base = base_url
        self.c = httpx.Client(base_url=base_url, follow_redirects=False, timeout=10)

    @staticmethod
    def csrf(html: str) -> str:
        return re.search(r'name="csrf" value="([^"]+)"', html).group(1)

    def sign_in(self, number: str, password: str, next_url: str = "") -> httpx.Response:
        page = self.c.get("/my/login")
        return self.c.post("/my/login", data={"number": number, "password": password,
                                              "csrf": self.csrf(page.text), "next": next_url})

    def authorize(self, url: str, number: str, password: str,
                  decision: str = "allow") -> httpx.Response:
        """Open the client's authorization URL, sign in when asked, answer the consent
        page; returns the hub's final answer (a redirect to the client, or a page)."""
        answer = self.c.get(url)
        if answer.status_code == 303 and answer.headers["location"].startswith("/my/login"):
            target = parse_qs(urlsplit(answer.headers["location"]).query)["next"][0]
            signed = self.sign_in(number, password, target)
            assert signed.status_code == 303, signed.text
            answer = self.c.get(signed.headers["location"])
        if answer.status_code != 200 or 'name="decision"' not in answer.text:
            return answer
        action = unescape(re.search(r'<form method="post" action="(/oauth/authorize[^"]*)"',
                                    answer.text).group(1))
        return self.c.post(action, data={"csrf": self.csrf(answer.text),
                                         "decision": decision})

    def close(self) -> None:
        self.c.close()


@dataclass
class Homepage:
    """A registered client and the Authlib session it signs members in with."""

    base_url: str
    client_id: str
    client_secret: str | None
    redirect_uri: str
    scope: str

    def session(self) -> OAuth2Client:
        return OAuth2Client(self.client_id, self.client_secret, scope=self.scope,
                            redirect_uri=self.redirect_uri, code_challenge_method="S256",
                            token_endpoint_auth_method=None if self.client_secret else "none")

    def sign_in(self, browser: Browser, number: str, password: str
                ) -> tuple[OAuth2Client, dict, str]:
        """The whole code + PKCE flow: the session holds the token. Returns (session,
        token, the code the hub sent)."""
        meta = discovery(self.base_url)
        session = self.session()
        verifier = secrets.token_urlsafe(48)
        nonce = secrets.token_urlsafe(16)
        url, state = session.create_authorization_url(
            meta["authorization_endpoint"], code_verifier=verifier, nonce=nonce)
        back = browser.authorize(url, number, password)
        assert back.status_code == 303, back.text
        location = back.headers["location"]
        assert location.startswith(self.redirect_uri), location
        token = session.fetch_token(meta["token_endpoint"], authorization_response=location,
                                    code_verifier=verifier, state=state)
        token["_nonce"] = nonce
        token["_verifier"] = verifier
        code = parse_qs(urlsplit(location).query)["code"][0]
        return session, token, code


def absolute(base: str, path: str) -> str:
    return urljoin(base + "/", path.lstrip("/"))
