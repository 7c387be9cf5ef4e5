"""The hub as an OpenID Connect provider (docs/oidc.md): library homepages and apps sign
members in with their 책이음 card and act for them through the member API.

The protocol is Authlib's (authorization code grant with PKCE S256, OpenID Connect's
id_token, refresh tokens with rotation, RFC 7009 revocation); keys and signatures are
joserfc's. This module only stores what Authlib asks it to store, in the hub's
database, and adds the hub's rules:

- clients are registered by staff (a library's staff for the library's own clients, a
  national admin for any): exact redirect URIs, a secret shown once and kept as an
  argon2 hash, or a public client (an app) without a secret;
- every client uses PKCE with S256, secret or not;
- a member's consent is a *grant* (client + member + scopes); every grant and every
  revocation is audited. Tokens hang off their grant: revoking the grant in the portal
  ends them all at once;
- codes, access tokens and refresh tokens are stored only as SHA-256 digests. Access
  tokens are opaque and short-lived (ACCESS_TTL), so each use is checked against the
  database and a revocation takes effect at once. A code used twice is refused and the
  tokens issued for it are revoked (RFC 6749 §4.1.2).

No framework here: the adapters hand in a `ProtocolRequest` (method, URL, headers,
form) and send back the `(status, body, headers)` this module returns.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from authlib.oauth2 import AuthorizationServer, OAuth2Request
from authlib.oauth2.rfc6749 import ClientMixin, TokenMixin, grants
from authlib.oauth2.rfc6749.errors import InvalidRequestError, OAuth2Error
from authlib.oauth2.rfc6749.requests import BasicOAuth2Payload
from authlib.oauth2.rfc6750 import BearerTokenGenerator
from authlib.oauth2.rfc7009 import RevocationEndpoint
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oidc.core import UserInfo
from authlib.oidc.core.grants import OpenIDCode
from joserfc.jwk import KeySet, RSAKey
from sqlalchemy import Connection, and_, delete, insert, select, update

from ..domain.errors import Code, DomainError
from ..domain.numbering import mask_member_number
from ..store.db import Database
from ..store.tables import (
    libraries,
    members,
    oauth_clients,
    oauth_codes,
    oauth_grants,
    oauth_tokens,
    oidc_keys,
)
from . import audit
from .context import Actor, Clock, Role
from .credentials import dummy_hash, hash_secret, verify_secret

# What a client may ask for; the consent page says what each one lets it see or do.
SCOPES = ("openid", "profile", "card", "loans:read", "loans:renew", "reservations")
ACCESS_TTL = timedelta(minutes=10)
REFRESH_TTL = timedelta(days=30)
CODE_TTL = timedelta(minutes=10)
ID_TOKEN_TTL = 600  # seconds
SIGNING_ALG = "RS256"
MAX_REDIRECT_URIS = 10


def digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


# -- what the adapters hand in -------------------------------------------------------------
class _Headers(dict):
    """Header lookups by any case (Authlib asks for "Authorization")."""

    def __init__(self, headers: Mapping[str, str]):
        super().__init__({k.lower(): v for k, v in headers.items()})

    def get(self, key: str, default: Any = None) -> Any:  # type: ignore[override]
        return super().get(key.lower(), default)

    def __getitem__(self, key: str) -> Any:
        return super().__getitem__(key.lower())

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and super().__contains__(key.lower())


class _Payload(BasicOAuth2Payload):
    def __init__(self, pairs: list[tuple[str, str]]):
        data: dict[str, str] = {}
        datalist: dict[str, list[str]] = {}
        for key, value in pairs:
            data.setdefault(key, value)
            datalist.setdefault(key, []).append(value)
        self._data = data
        self._datalist = datalist


class ProtocolRequest(OAuth2Request):
    """One HTTP request to an OAuth endpoint: the query's and the form's parameters
    (both, like Flask's `request.values`), the headers, and the issuer URL."""

    def __init__(self, method: str, url: str, headers: Mapping[str, str],
                 query: list[tuple[str, str]], form: list[tuple[str, str]], issuer: str):
        super().__init__(method, url, headers=_Headers(headers))
        self._args = dict(query)
        self._form = dict(form)
        self.payload = _Payload(query + form)
        self.issuer = issuer

    @property
    def args(self) -> dict[str, str]:
        return self._args

    @property
    def form(self) -> dict[str, str]:
        return self._form


Answer = tuple[int, Any, list[tuple[str, str]]]  # status, body (dict or ""), headers


class OAuthProblem(Exception):
    """An authorization request that must not go back to the client (unknown client,
    a redirect URI not registered): shown to the member instead."""

    def __init__(self, error: str, description: str):
        super().__init__(description)
        self.error = error
        self.description = description


# -- Authlib's models ----------------------------------------------------------------------
@dataclass
class Client(ClientMixin):
    client_id: str
    name: str
    library_code: str | None
    library_name: str | None
    public: bool
    secret_hash: str | None
    redirect_uris: list[str]
    scopes: str

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> str | None:
        return None  # every request names its redirect URI (exact match)

    def get_allowed_scope(self, scope: str) -> str:
        allowed = set(self.scopes.split())
        return " ".join(s for s in (scope or "").split() if s in allowed)

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return redirect_uri in self.redirect_uris

    def check_client_secret(self, client_secret: str) -> bool:
        if self.public or not self.secret_hash:
            verify_secret(dummy_hash(), client_secret)
            return False
        return verify_secret(self.secret_hash, client_secret)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        if self.public:
            return method == "none"
        return method in ("client_secret_basic", "client_secret_post")

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code"

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type in ("authorization_code", "refresh_token")


@dataclass
class MemberUser:
    number: str


@dataclass
class CodeRecord:
    code_hash: str
    grant_id: int
    client_id: str
    member_number: str
    redirect_uri: str
    scope: str
    nonce: str | None
    code_challenge: str
    code_challenge_method: str
    auth_time: datetime

    def get_redirect_uri(self) -> str:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope

    def get_nonce(self) -> str | None:
        return self.nonce

    def get_auth_time(self) -> int:
        return int((self.auth_time - datetime(1970, 1, 1)).total_seconds())

    def get_acr(self) -> None:
        return None

    def get_amr(self) -> list[str]:
        return ["pwd"]


@dataclass
class TokenRecord(TokenMixin):
    id: int
    grant_id: int
    client_id: str
    member_number: str
    scope: str
    revoked: bool = False

    def check_client(self, client: ClientMixin) -> bool:
        return self.client_id == client.get_client_id()

    def get_scope(self) -> str:
        return self.scope

    def get_expires_in(self) -> int:
        return int(ACCESS_TTL.total_seconds())

    def is_expired(self) -> bool:
        return False  # only live tokens are ever returned

    def is_revoked(self) -> bool:
        return self.revoked

    def get_user(self) -> MemberUser:
        return MemberUser(self.member_number)

    def get_client(self) -> ClientMixin:  # pragma: no cover - Authlib does not ask here
        raise NotImplementedError


@dataclass(frozen=True)
class MemberToken:
    """A live access token presented to the member API."""

    member_number: str
    client_id: str
    grant_id: int
    scopes: frozenset[str] = field(default_factory=frozenset)

    def require(self, scope: str) -> None:
        if scope not in self.scopes:
            raise DomainError(Code.SCOPE_NOT_GRANTED, scope=scope)


# -- the server ------------------------------------------------------------------------------
class _Server(AuthorizationServer):
    def __init__(self, provider: OpenIDProvider):
        super().__init__(scopes_supported=list(SCOPES))
        self.provider = provider
        generator = BearerTokenGenerator(
            access_token_generator=lambda **_: secrets.token_urlsafe(32),
            refresh_token_generator=lambda **_: secrets.token_urlsafe(32),
            expires_generator=lambda client, grant_type: int(ACCESS_TTL.total_seconds()))
        self.register_token_generator("default", generator)

    def query_client(self, client_id: str) -> Client | None:
        return self.provider.client(client_id)

    def save_token(self, token: dict[str, Any], request: ProtocolRequest) -> None:
        self.provider._save_token(token, request)

    def create_oauth2_request(self, request: ProtocolRequest) -> ProtocolRequest:
        return request

    def create_json_request(self, request: ProtocolRequest) -> ProtocolRequest:
        return request

    def handle_response(self, status: int, body: Any, headers: Any) -> Answer:
        return status, body, list(headers or [])

    def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
        pass


class _S256Only(CodeChallenge):
    """PKCE for every client, confidential or public, and only with S256."""

    SUPPORTED_CODE_CHALLENGE_METHOD = ["S256"]

    def validate_code_challenge(self, grant: Any, redirect_uri: str) -> None:
        data = grant.request.payload.data
        if not data.get("code_challenge"):
            raise InvalidRequestError("Missing 'code_challenge' (PKCE is required)",
                                      redirect_uri=redirect_uri)
        if data.get("code_challenge_method") != "S256":
            raise InvalidRequestError("'code_challenge_method' must be S256",
                                      redirect_uri=redirect_uri)
        super().validate_code_challenge(grant, redirect_uri)

    def validate_code_verifier(self, grant: Any, result: Any) -> None:
        if not grant.request.form.get("code_verifier"):
            raise InvalidRequestError("Missing 'code_verifier'")
        super().validate_code_verifier(grant, result)

    def get_authorization_code_challenge(self, authorization_code: CodeRecord) -> str:
        return authorization_code.code_challenge

    def get_authorization_code_challenge_method(self, authorization_code: CodeRecord) -> str:
        return authorization_code.code_challenge_method


def _code_grant(provider: OpenIDProvider) -> type:
    class CodeGrant(grants.AuthorizationCodeGrant):
        TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "none"]

        def save_authorization_code(self, code: str, request: ProtocolRequest) -> None:
            provider._save_code(code, request)

        def query_authorization_code(self, code: str, client: Client) -> CodeRecord | None:
            return provider._use_code(code, client)

        def delete_authorization_code(self, authorization_code: CodeRecord) -> None:
            pass  # marked used when it was taken (_use_code): a second use is refused

        def authenticate_user(self, authorization_code: CodeRecord) -> MemberUser | None:
            return provider._grant_user(authorization_code.grant_id)

    return CodeGrant


def _refresh_grant(provider: OpenIDProvider) -> type:
    class RefreshGrant(grants.RefreshTokenGrant):
        TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "none"]
        INCLUDE_NEW_REFRESH_TOKEN = True  # rotation: each refresh token works once

        def authenticate_refresh_token(self, refresh_token: str) -> TokenRecord | None:
            return provider._refresh_record(refresh_token)

        def authenticate_user(self, refresh_token: TokenRecord) -> MemberUser | None:
            return provider._grant_user(refresh_token.grant_id)

        def revoke_old_credential(self, refresh_token: TokenRecord) -> None:
            provider._revoke_rows(oauth_tokens.c.id == refresh_token.id)

    return RefreshGrant


def _openid(provider: OpenIDProvider) -> OpenIDCode:
    class HubOpenIDCode(OpenIDCode):
        DEFAULT_EXPIRES_IN = ID_TOKEN_TTL

        def exists_nonce(self, nonce: str, request: ProtocolRequest) -> bool:
            return provider._nonce_used(request.payload.client_id, nonce)

        def resolve_client_private_key(self, client: Client) -> Any:
            return provider.signing_key()

        def get_client_algorithm(self, client: Client) -> str:
            return SIGNING_ALG

        def get_encode_header(self, client: Client) -> dict[str, str]:
            return {"alg": SIGNING_ALG, "kid": provider.signing_key().kid}

        def get_client_claims(self, client: Client) -> dict[str, Any]:
            return {"aud": [client.client_id]}

        def get_compatible_claims(self, request: ProtocolRequest) -> dict[str, Any]:
            claims = super().get_compatible_claims(request)
            claims["iss"] = request.issuer
            return claims

        def generate_user_info(self, user: MemberUser, scope: str) -> UserInfo:
            return UserInfo(provider.user_info(user.number, scope))

    return HubOpenIDCode(require_nonce=False)


def _revocation(provider: OpenIDProvider) -> type:
    class Revocation(RevocationEndpoint):
        CLIENT_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "none"]

        def query_token(self, token_string: str, token_type_hint: str | None
                        ) -> TokenRecord | None:
            return provider._any_token(token_string)

        def revoke_token(self, token: TokenRecord, request: ProtocolRequest) -> None:
            provider._revoke_by_client(token)

    return Revocation


# -- the provider ----------------------------------------------------------------------------
class OpenIDProvider:
    def __init__(self, db: Database, clock: Clock, secret: bytes,
                 public_url: str | None = None):
        self.db = db
        # the issuer; without it, the URL each request came to (fine behind a proxy that
        # passes the Host and X-Forwarded-Proto it was asked with)
        self.public_url = (public_url or os.environ.get("CHAEKIEUM_PUBLIC_URL", "")).rstrip("/")
        self.clock = clock  # wall clock (tests move it to expire tokens)
        self._sub_key = hmac.new(secret, b"chaekieum.oidc.sub", hashlib.sha256).digest()
        self._keys: KeySet | None = None
        self.server = _Server(self)
        self.server.register_grant(_code_grant(self), [_openid(self), _S256Only(required=True)])
        self.server.register_grant(_refresh_grant(self))
        self.server.register_endpoint(_revocation(self))

    # -- clients (console) -------------------------------------------------------------
    def _may_manage(self, actor: Actor, library_code: str | None, conn: Connection) -> None:
        if actor.role in (Role.SYSTEM, Role.NATIONAL_ADMIN):
            return
        if library_code is None:
            raise DomainError(Code.FORBIDDEN, problem="national clients: national admins")
        region = conn.scalar(select(libraries.c.region_code)
                             .where(libraries.c.code == library_code))
        if region is None:
            raise DomainError(Code.LIBRARY_UNKNOWN, library_code=library_code)
        if actor.role == Role.REGIONAL_ADMIN and actor.region_code == region:
            return
        if actor.role == Role.LIBRARIAN and actor.library_code == library_code:
            return
        raise DomainError(Code.FORBIDDEN, library_code=library_code)

    @staticmethod
    def _check_uris(uris: list[str], public: bool) -> list[str]:
        clean = []
        for uri in (u.strip() for u in uris):
            if not uri:
                continue
            parts = urlsplit(uri)
            loopback = parts.scheme == "http" and parts.hostname in ("127.0.0.1", "localhost",
                                                                     "::1")
            # https, http on loopback (RFC 8252 §7.3), or an app's own scheme (§7.1)
            native = public and parts.scheme not in ("http", "https", "javascript", "data",
                                                     "file", "") and "." in parts.scheme
            if (len(uri) > 500 or parts.fragment or not (
                    (parts.scheme == "https" and parts.hostname) or loopback or native)):
                raise DomainError(Code.VALIDATION_ERROR, field="redirect_uris",
                                  problem=f"not an allowed redirect URI: {uri[:100]}")
            clean.append(uri)
        if not clean or len(clean) > MAX_REDIRECT_URIS:
            raise DomainError(Code.VALIDATION_ERROR, field="redirect_uris",
                              problem=f"1..{MAX_REDIRECT_URIS} redirect URIs")
        return list(dict.fromkeys(clean))

    def register_client(self, actor: Actor, name: str, library_code: str | None,
                        redirect_uris: list[str], public: bool = False,
                        scopes: list[str] | None = None) -> dict[str, Any]:
        """A new client; the answer holds the plain secret (confidential clients) once."""
        name = name.strip()
        if not 1 <= len(name) <= 100:
            raise DomainError(Code.VALIDATION_ERROR, field="name", problem="1..100 characters")
        wanted = [s for s in (scopes or SCOPES) if s]
        if any(s not in SCOPES for s in wanted):
            raise DomainError(Code.VALIDATION_ERROR, field="scopes",
                              problem=f"one of {', '.join(SCOPES)}")
        if "openid" not in wanted:
            wanted.insert(0, "openid")
        uris = self._check_uris(redirect_uris, public)
        client_id = "ck-" + secrets.token_urlsafe(12)
        secret = None if public else secrets.token_urlsafe(32)

        def run(conn: Connection) -> None:
            self._may_manage(actor, library_code, conn)
            at = self.clock.now()
            conn.execute(insert(oauth_clients).values(
                client_id=client_id, name=name, library_code=library_code, public=public,
                secret_hash=hash_secret(secret) if secret else None, redirect_uris=uris,
                scopes=" ".join(dict.fromkeys(wanted)), created_at=at,
                created_by=actor.label))
            audit.record(conn, actor, "oauth.client.register", "oauth_client", client_id, at,
                         {"name": name, "public": public, "redirect_uris": uris},
                         library_code=library_code)

        self.db.run_write(run)
        return {"client_id": client_id, "client_secret": secret, "name": name,
                "public": public, "redirect_uris": uris, "library_code": library_code}

    def _managed_client(self, conn: Connection, actor: Actor, client_id: str) -> Any:
        row = conn.execute(select(oauth_clients).where(
            oauth_clients.c.client_id == client_id)).first()
        if row is None:
            raise DomainError(Code.NOT_FOUND, client_id=client_id[:40])
        self._may_manage(actor, row.library_code, conn)
        return row

    def new_secret(self, actor: Actor, client_id: str) -> str:
        """A new secret for a confidential client (the old one stops working)."""
        secret = secrets.token_urlsafe(32)

        def run(conn: Connection) -> None:
            row = self._managed_client(conn, actor, client_id)
            if row.public:
                raise DomainError(Code.VALIDATION_ERROR, field="client",
                                  problem="a public client has no secret")
            at = self.clock.now()
            conn.execute(update(oauth_clients).where(oauth_clients.c.client_id == client_id)
                         .values(secret_hash=hash_secret(secret)))
            audit.record(conn, actor, "oauth.client.secret", "oauth_client", client_id, at,
                         {}, library_code=row.library_code)

        self.db.run_write(run)
        return secret

    def set_redirect_uris(self, actor: Actor, client_id: str, uris: list[str]) -> list[str]:
        def run(conn: Connection) -> list[str]:
            row = self._managed_client(conn, actor, client_id)
            clean = self._check_uris(uris, row.public)
            conn.execute(update(oauth_clients).where(oauth_clients.c.client_id == client_id)
                         .values(redirect_uris=clean))
            audit.record(conn, actor, "oauth.client.redirect_uris", "oauth_client", client_id,
                         self.clock.now(), {"redirect_uris": clean},
                         library_code=row.library_code)
            return clean

        return self.db.run_write(run)

    def disable_client(self, actor: Actor, client_id: str) -> None:
        """The client stops working: every grant and token of it is revoked."""
        def run(conn: Connection) -> None:
            row = self._managed_client(conn, actor, client_id)
            at = self.clock.now()
            conn.execute(update(oauth_clients).where(oauth_clients.c.client_id == client_id)
                         .values(disabled_at=at))
            conn.execute(update(oauth_grants).where(oauth_grants.c.client_id == client_id,
                                                    oauth_grants.c.revoked_at.is_(None))
                         .values(revoked_at=at))
            conn.execute(update(oauth_tokens).where(oauth_tokens.c.client_id == client_id,
                                                    oauth_tokens.c.revoked_at.is_(None))
                         .values(revoked_at=at))
            audit.record(conn, actor, "oauth.client.disable", "oauth_client", client_id, at,
                         {}, library_code=row.library_code)

        self.db.run_write(run)

    def clients(self, actor: Actor) -> list[dict[str, Any]]:
        """The clients the actor manages: a national admin all, a regional admin its
        region's libraries', a library's staff the library's."""
        q = (select(oauth_clients, libraries.c.name.label("library_name"),
                    libraries.c.region_code)
             .select_from(oauth_clients.outerjoin(
                 libraries, libraries.c.code == oauth_clients.c.library_code))
             .order_by(oauth_clients.c.created_at.desc()))
        if actor.role == Role.REGIONAL_ADMIN:
            q = q.where(libraries.c.region_code == actor.region_code)
        elif actor.role == Role.LIBRARIAN:
            q = q.where(oauth_clients.c.library_code == actor.library_code)
        elif actor.role not in (Role.NATIONAL_ADMIN, Role.SYSTEM):
            raise DomainError(Code.FORBIDDEN)
        with self.db.read() as conn:
            rows = conn.execute(q.limit(500)).all()
        return [{"client_id": r.client_id, "name": r.name, "library_code": r.library_code,
                 "library_name": r.library_name, "public": r.public,
                 "redirect_uris": list(r.redirect_uris), "scopes": r.scopes.split(),
                 "created_at": r.created_at.isoformat() + "Z", "created_by": r.created_by,
                 "disabled": r.disabled_at is not None} for r in rows]

    def client(self, client_id: str | None) -> Client | None:
        """A live client (Authlib's `query_client`)."""
        if not client_id or len(client_id) > 40:
            return None
        with self.db.read() as conn:
            row = conn.execute(
                select(oauth_clients, libraries.c.name.label("library_name"))
                .select_from(oauth_clients.outerjoin(
                    libraries, libraries.c.code == oauth_clients.c.library_code))
                .where(oauth_clients.c.client_id == client_id,
                       oauth_clients.c.disabled_at.is_(None))).first()
        if row is None:
            return None
        return Client(row.client_id, row.name, row.library_code, row.library_name, row.public,
                      row.secret_hash, list(row.redirect_uris), row.scopes)

    # -- the authorization endpoint (web) ------------------------------------------------
    def consent_request(self, request: ProtocolRequest) -> tuple[Any, Answer | None]:
        """Validate an authorization request before asking the member. Returns (grant,
        None) to ask, or (None, answer) to send the client its error at its redirect
        URI. Raises OAuthProblem when the request cannot go back to the client."""
        try:
            grant = self.server.get_consent_grant(request)
        except OAuth2Error as error:
            if getattr(error, "redirect_uri", None):
                return None, self.server.handle_error_response(request, error)
            raise OAuthProblem(error.error, error.get_error_description() or error.error) \
                from error
        return grant, None

    def authorize(self, request: ProtocolRequest, member_number: str | None) -> Answer:
        """The member's decision: a code at the redirect URI, or access_denied."""
        grant, answer = self.consent_request(request)
        if answer is not None:
            return answer
        user = MemberUser(member_number) if member_number else None
        return self.server.create_authorization_response(request, user, grant=grant)

    def _save_code(self, code: str, request: ProtocolRequest) -> None:
        number = request.user.number
        client: Client = request.client
        scope = client.get_allowed_scope(request.payload.scope or "openid")
        data = request.payload.data

        def run(conn: Connection) -> None:
            at = self.clock.now()
            grant_id = self._record_grant(conn, client, number, scope, at)
            conn.execute(insert(oauth_codes).values(
                code_hash=digest(code), grant_id=grant_id, client_id=client.client_id,
                member_number=number, redirect_uri=request.payload.redirect_uri, scope=scope,
                nonce=data.get("nonce"), code_challenge=data["code_challenge"],
                code_challenge_method=data.get("code_challenge_method", "S256"),
                auth_time=at, expires_at=at + CODE_TTL))

        self.db.run_write(run)

    def _record_grant(self, conn: Connection, client: Client, number: str, scope: str,
                      at: datetime) -> int:
        """The member consented: the grant (a new one, or the live one with its scopes
        replaced), audited."""
        live = conn.execute(select(oauth_grants.c.id).where(
            oauth_grants.c.client_id == client.client_id,
            oauth_grants.c.member_number == number,
            oauth_grants.c.revoked_at.is_(None))).first()
        if live is None:
            grant_id = conn.execute(insert(oauth_grants).values(
                client_id=client.client_id, member_number=number, scope=scope,
                created_at=at, updated_at=at)).inserted_primary_key[0]
        else:
            grant_id = live.id
            conn.execute(update(oauth_grants).where(oauth_grants.c.id == grant_id)
                         .values(scope=scope, updated_at=at))
        audit.record(conn, _member(number), "oauth.grant", "member", number, at,
                     {"client": client.client_id, "client_name": client.name,
                      "scope": scope}, library_code=client.library_code)
        return int(grant_id)

    def _use_code(self, code: str, client: Client) -> CodeRecord | None:
        """Take a code once. A second use finds it used: it is refused and the tokens
        issued for it are revoked."""
        code_hash = digest(code)

        def run(conn: Connection) -> CodeRecord | None:
            now = self.clock.now()
            row = conn.execute(select(oauth_codes).where(
                oauth_codes.c.code_hash == code_hash)).first()
            if row is None or row.client_id != client.client_id:
                return None
            taken = conn.execute(update(oauth_codes).where(
                oauth_codes.c.code_hash == code_hash, oauth_codes.c.used_at.is_(None))
                .values(used_at=now)).rowcount
            if not taken:
                conn.execute(update(oauth_tokens).where(
                    oauth_tokens.c.code_hash == code_hash, oauth_tokens.c.revoked_at.is_(None))
                    .values(revoked_at=now))
                return None
            if row.expires_at <= now:
                return None
            return CodeRecord(row.code_hash, row.grant_id, row.client_id, row.member_number,
                              row.redirect_uri, row.scope, row.nonce, row.code_challenge,
                              row.code_challenge_method, row.auth_time)

        return self.db.run_write(run)

    def _nonce_used(self, client_id: str, nonce: str) -> bool:
        with self.db.read() as conn:
            return conn.scalar(select(oauth_codes.c.code_hash).where(
                oauth_codes.c.client_id == client_id, oauth_codes.c.nonce == nonce)
                .limit(1)) is not None

    def _grant_user(self, grant_id: int) -> MemberUser | None:
        with self.db.read() as conn:
            row = conn.execute(select(oauth_grants.c.member_number).where(
                oauth_grants.c.id == grant_id, oauth_grants.c.revoked_at.is_(None))).first()
        return MemberUser(row.member_number) if row else None

    # -- the token endpoint (api) ---------------------------------------------------------
    def token(self, request: ProtocolRequest) -> Answer:
        return self.server.create_token_response(request)

    def revoke(self, request: ProtocolRequest) -> Answer:
        """RFC 7009: a client revokes its own token (access or refresh)."""
        return self.server.create_endpoint_response("revocation", request)

    def _save_token(self, token: dict[str, Any], request: ProtocolRequest) -> None:
        code: CodeRecord | None = request.authorization_code
        previous: TokenRecord | None = request.refresh_token
        grant_id = code.grant_id if code else previous.grant_id  # type: ignore[union-attr]
        now = self.clock.now()
        values = {
            "grant_id": grant_id, "client_id": request.client.client_id,
            "member_number": request.user.number, "scope": token.get("scope") or "",
            "access_hash": digest(token["access_token"]),
            "refresh_hash": digest(token["refresh_token"]) if token.get("refresh_token")
            else None,
            "code_hash": code.code_hash if code else None, "issued_at": now,
            "access_expires_at": now + ACCESS_TTL,
            "refresh_expires_at": now + REFRESH_TTL if token.get("refresh_token") else None,
        }
        self.db.run_write(lambda conn: conn.execute(insert(oauth_tokens).values(**values)))

    def _live_tokens(self) -> Any:
        return (select(oauth_tokens, oauth_grants.c.revoked_at.label("grant_revoked"))
                .join(oauth_grants, oauth_grants.c.id == oauth_tokens.c.grant_id))

    def _refresh_record(self, refresh_token: str) -> TokenRecord | None:
        now = self.clock.now()
        with self.db.read() as conn:
            row = conn.execute(self._live_tokens().where(
                oauth_tokens.c.refresh_hash == digest(refresh_token))).first()
        if (row is None or row.revoked_at is not None or row.grant_revoked is not None
                or row.refresh_expires_at is None or row.refresh_expires_at <= now):
            return None
        return TokenRecord(row.id, row.grant_id, row.client_id, row.member_number, row.scope)

    def _any_token(self, token: str) -> TokenRecord | None:
        h = digest(token)
        with self.db.read() as conn:
            row = conn.execute(select(oauth_tokens).where(
                (oauth_tokens.c.access_hash == h) | (oauth_tokens.c.refresh_hash == h))).first()
        if row is None:
            return None
        return TokenRecord(row.id, row.grant_id, row.client_id, row.member_number, row.scope,
                           revoked=row.revoked_at is not None)

    def _revoke_rows(self, where: Any) -> int:
        now = self.clock.now()
        return self.db.run_write(lambda conn: conn.execute(
            update(oauth_tokens).where(where, oauth_tokens.c.revoked_at.is_(None))
            .values(revoked_at=now)).rowcount)

    def _revoke_by_client(self, token: TokenRecord) -> None:
        def run(conn: Connection) -> None:
            now = self.clock.now()
            conn.execute(update(oauth_tokens).where(oauth_tokens.c.id == token.id,
                                                    oauth_tokens.c.revoked_at.is_(None))
                         .values(revoked_at=now))
            audit.record(conn, _member(token.member_number, "oauth"), "oauth.token_revoke",
                         "member", token.member_number, now, {"client": token.client_id})

        self.db.run_write(run)

    # -- the member API (api) ---------------------------------------------------------------
    def verify_access_token(self, token: str) -> MemberToken:
        """The live access token's member, client and scopes; AUTH_INVALID for an unknown,
        expired or revoked token (or one whose grant or client was revoked)."""
        now = self.clock.now()
        with self.db.read() as conn:
            row = conn.execute(
                self._live_tokens().add_columns(oauth_clients.c.disabled_at)
                .join(oauth_clients, oauth_clients.c.client_id == oauth_tokens.c.client_id)
                .where(oauth_tokens.c.access_hash == digest(token))).first()
        if (row is None or row.revoked_at is not None or row.grant_revoked is not None
                or row.disabled_at is not None or row.access_expires_at <= now):
            raise DomainError(Code.AUTH_INVALID)
        return MemberToken(row.member_number, row.client_id, row.grant_id,
                           frozenset(row.scope.split()))

    def subject(self, number: str) -> str:
        """The id_token's `sub`: stable for a member, not their number."""
        return hmac.new(self._sub_key, number.encode(), hashlib.sha256).hexdigest()[:32]

    def user_info(self, number: str, scope: str) -> dict[str, Any]:
        info: dict[str, Any] = {"sub": self.subject(number)}
        if "profile" in (scope or "").split():
            with self.db.read() as conn:
                name = conn.scalar(select(members.c.name).where(members.c.number == number))
            info["name"] = name or ""
            info["member_number_masked"] = mask_member_number(number)
        return info

    # -- the portal: connected homepages and apps ---------------------------------------------
    def connections(self, number: str) -> list[dict[str, Any]]:
        with self.db.read() as conn:
            rows = conn.execute(
                select(oauth_grants, oauth_clients.c.name, oauth_clients.c.library_code,
                       libraries.c.name.label("library_name"))
                .join(oauth_clients, oauth_clients.c.client_id == oauth_grants.c.client_id)
                .outerjoin(libraries, libraries.c.code == oauth_clients.c.library_code)
                .where(oauth_grants.c.member_number == number,
                       oauth_grants.c.revoked_at.is_(None))
                .order_by(oauth_grants.c.updated_at.desc())).all()
        return [{"grant_id": r.id, "client_id": r.client_id, "name": r.name,
                 "library_code": r.library_code, "library_name": r.library_name,
                 "scopes": r.scope.split(), "since": r.created_at.isoformat() + "Z",
                 "updated_at": r.updated_at.isoformat() + "Z"} for r in rows]

    def revoke_grant(self, number: str, grant_id: int) -> dict[str, Any]:
        """The member withdraws a homepage's or app's access: the grant and every token
        and unused code under it end now (audited)."""
        def run(conn: Connection) -> dict[str, Any]:
            row = conn.execute(
                select(oauth_grants, oauth_clients.c.name, oauth_clients.c.library_code)
                .join(oauth_clients, oauth_clients.c.client_id == oauth_grants.c.client_id)
                .where(oauth_grants.c.id == grant_id, oauth_grants.c.member_number == number,
                       oauth_grants.c.revoked_at.is_(None))).first()
            if row is None:
                raise DomainError(Code.NOT_FOUND, grant_id=grant_id)
            at = self.clock.now()
            conn.execute(update(oauth_grants).where(oauth_grants.c.id == grant_id)
                         .values(revoked_at=at))
            tokens = conn.execute(update(oauth_tokens).where(
                oauth_tokens.c.grant_id == grant_id, oauth_tokens.c.revoked_at.is_(None))
                .values(revoked_at=at)).rowcount
            conn.execute(update(oauth_codes).where(
                and_(oauth_codes.c.grant_id == grant_id, oauth_codes.c.used_at.is_(None)))
                .values(used_at=at))
            audit.record(conn, _member(number), "oauth.revoke", "member", number, at,
                         {"client": row.client_id, "client_name": row.name,
                          "tokens": tokens}, library_code=row.library_code)
            return {"client_id": row.client_id, "name": row.name}

        return self.db.run_write(run)

    # -- keys, discovery --------------------------------------------------------------------
    def _load_keys(self) -> KeySet:
        with self.db.read() as conn:
            rows = conn.execute(select(oidc_keys).where(oidc_keys.c.retired_at.is_(None))
                                .order_by(oidc_keys.c.created_at.desc())).all()
        return KeySet([RSAKey.import_key(json.loads(r.private_jwk)) for r in rows])

    def signing_key(self) -> RSAKey:
        """The newest live key; made (once) on first use, in the database so every
        process signs with it."""
        keys = self._keys
        if keys is None or not keys.keys:
            keys = self._load_keys()
            if not keys.keys:
                self.rotate_key()
                keys = self._load_keys()
            self._keys = keys
        return keys.keys[0]  # type: ignore[return-value]

    def rotate_key(self, retire_older: bool = False) -> str:
        """A new signing key (newest signs). `retire_older`: drop every key but the new one
        and the one before it from the JWKS (tokens signed by older keys stop verifying)."""
        key = RSAKey.generate_key(2048, parameters={"use": "sig", "alg": SIGNING_ALG},
                                  auto_kid=True)
        private = json.dumps(key.as_dict(private=True))

        def run(conn: Connection) -> None:
            now = self.clock.now()
            conn.execute(insert(oidc_keys).values(kid=key.kid, private_jwk=private,
                                                  created_at=now))
            if retire_older:
                keep = conn.scalars(select(oidc_keys.c.kid).where(
                    oidc_keys.c.retired_at.is_(None))
                    .order_by(oidc_keys.c.created_at.desc()).limit(2)).all()
                conn.execute(update(oidc_keys).where(oidc_keys.c.kid.not_in(keep),
                                                     oidc_keys.c.retired_at.is_(None))
                             .values(retired_at=now))

        self.db.run_write(run)
        self._keys = None
        return str(key.kid)

    def jwks(self) -> dict[str, Any]:
        self.signing_key()
        keys = self._load_keys()
        return {"keys": [k.as_dict(private=False) for k in keys.keys]}

    def issuer(self, base_url: str) -> str:
        return self.public_url or base_url.rstrip("/")

    @staticmethod
    def discovery(issuer: str) -> dict[str, Any]:
        return {
            "issuer": issuer,
            "authorization_endpoint": f"{issuer}/oauth/authorize",
            "token_endpoint": f"{issuer}/oauth/token",
            "revocation_endpoint": f"{issuer}/oauth/revoke",
            "userinfo_endpoint": f"{issuer}/oauth/userinfo",
            "jwks_uri": f"{issuer}/oauth/jwks.json",
            "scopes_supported": list(SCOPES),
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "grant_types_supported": ["authorization_code", "refresh_token"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": [SIGNING_ALG],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": [
                "client_secret_basic", "client_secret_post", "none"],
            "revocation_endpoint_auth_methods_supported": [
                "client_secret_basic", "client_secret_post", "none"],
            "claims_supported": ["sub", "iss", "aud", "exp", "iat", "auth_time", "nonce",
                                 "name", "member_number_masked"],
            "ui_locales_supported": ["ko", "en"],
        }


def end_member(conn: Connection, number: str) -> int:
    """A withdrawal: every grant, token and code of the member goes (inside the caller's
    transaction, like the web sessions); returns the grants ended."""
    conn.execute(delete(oauth_tokens).where(oauth_tokens.c.member_number == number))
    conn.execute(delete(oauth_codes).where(oauth_codes.c.member_number == number))
    return conn.execute(delete(oauth_grants).where(
        oauth_grants.c.member_number == number)).rowcount


def _member(number: str, channel: str = "portal") -> Actor:
    return Actor(Role.MEMBER, f"member:{number}", channel)
