"""Web security: signed session cookies, CSRF tokens, login rate limits, headers
(the header set itself is chaekieum.headers, shared with the API).

The cookie is signed (itsdangerous) and carries the CSRF token, flash messages and, once
signed in, a random session token; whether that token still names a live session is
decided server-side on every request (services/sessions.py, web/common.signed_in).

The web UI shares one process (and one FastAPI app) with the REST API, so nothing here
is installed globally: the middleware below only wraps the web sub-application that
`routes.mount` attaches at "/" after the API routes.
"""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from collections import deque
from typing import Any

from fastapi import Request
from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint
from starlette.responses import Response

from .. import headers
from ..services.sessions import MAX_AGE

COOKIE = "ck_session"
SESSION_MAX_AGE = int(MAX_AGE.total_seconds())  # the server-side limit holds as well
SALT = "chaekieum.web.session.v1"

class Session(dict):
    """The cookie's contents; `modified` tells the middleware to re-sign it."""

    def __init__(self, data: dict[str, Any] | None = None, fresh: bool = False):
        super().__init__(data or {})
        self.modified = fresh

    def __setitem__(self, key: str, value: Any) -> None:
        super().__setitem__(key, value)
        self.modified = True

    def __delitem__(self, key: str) -> None:
        super().__delitem__(key)
        self.modified = True

    def pop(self, key: str, *default: Any) -> Any:  # type: ignore[override]
        if key in self:
            self.modified = True
        return super().pop(key, *default)

    def renew(self) -> None:
        """A new identity (login / logout): drop everything, new CSRF token."""
        keep_lang = self.get("lang")
        self.clear()
        dict.__setitem__(self, "csrf", secrets.token_urlsafe(24))
        if keep_lang:
            dict.__setitem__(self, "lang", keep_lang)
        self.modified = True

    @property
    def csrf(self) -> str:
        token = self.get("csrf")
        if not token:
            token = secrets.token_urlsafe(24)
            self["csrf"] = token
        return token


class SessionCodec:
    def __init__(self, secret: bytes):
        self.serializer = URLSafeTimedSerializer(secret, salt=SALT)

    def load(self, cookie: str | None) -> Session:
        if not cookie:
            return Session(fresh=False)
        try:
            data = self.serializer.loads(cookie, max_age=SESSION_MAX_AGE)
        except BadSignature:  # also SignatureExpired
            return Session(fresh=False)
        return Session(data if isinstance(data, dict) else {})

    def dump(self, session: Session) -> str:
        return self.serializer.dumps(dict(session))


class RateLimiter:
    """At most `limit` attempts per `window` seconds per key (client address)."""

    def __init__(self, limit: int = 10, window: float = 60.0):
        self.limit = limit
        self.window = window
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def allow(self, key: str) -> bool:
        now = time.monotonic()
        with self._lock:
            hits = self._hits.setdefault(key, deque())
            while hits and hits[0] <= now - self.window:
                hits.popleft()
            if len(hits) >= self.limit:
                return False
            hits.append(now)
            if len(self._hits) > 10_000:  # forget idle clients
                for k in [k for k, v in self._hits.items() if not v][:5000]:
                    del self._hits[k]
            return True


def client_ip(request: Request) -> str:
    """The peer address; the address a proxy reported only when that proxy is listed in
    --forwarded-allow-ips (server.create_app installs the proxy-header middleware with
    exactly that list, so request.client is already the right one here)."""
    return request.client.host if request.client else "unknown"


class WebMiddleware(BaseHTTPMiddleware):
    """Loads/saves the signed session cookie, adds security headers and server time."""

    def __init__(self, app: Any, codec: SessionCodec):
        super().__init__(app)
        self.codec = codec

    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        started = time.perf_counter()
        session = self.codec.load(request.cookies.get(COOKIE))
        request.state.session = session
        response = await call_next(request)
        if session.modified:
            response.set_cookie(
                COOKIE, self.codec.dump(session), max_age=SESSION_MAX_AGE, httponly=True,
                samesite="lax", secure=request.url.scheme == "https", path="/")
        lang = request.query_params.get("lang")
        if lang in ("ko", "en"):
            response.set_cookie("lang", lang, max_age=365 * 86400, samesite="lax", path="/")
        headers.apply(response.headers)
        if request.url.path.startswith("/static/"):
            response.headers.setdefault("Cache-Control", "public, max-age=3600")
        else:
            response.headers.setdefault("Cache-Control", "no-store")
        response.headers["X-Response-Time"] = f"{(time.perf_counter() - started) * 1000:.1f}ms"
        return response


class CsrfFailed(Exception):
    pass


async def csrf_guard(request: Request) -> None:
    """App-wide dependency: every non-GET request must carry the session's token."""
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return
    session: Session = request.state.session
    expected = session.get("csrf")
    sent = request.headers.get("X-CSRF-Token", "")
    if not sent:
        content_type = request.headers.get("content-type", "")
        if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            form = await request.form()
            value = form.get("csrf")
            sent = value if isinstance(value, str) else ""
    if not expected or not sent or not hmac.compare_digest(str(expected), sent):
        raise CsrfFailed()


def safe_next(target: str | None, default: str) -> str:
    """Only same-site relative paths may be redirected to after login."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return default
