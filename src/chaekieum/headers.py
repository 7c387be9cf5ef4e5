"""The security headers every page and every API answer carries, in one place: the web
UI (web/security.WebMiddleware) and the REST API with its docs (api.mount) both use
this set.

script-src 'self' only: every script is a file served by the app (no inline code; the
web charts' data travels in <script type="application/json"> blocks, which never
execute, and the API docs start Swagger UI from a static init script).
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; "
       "form-action 'self'; frame-ancestors 'none'")
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
    "Cross-Origin-Opener-Policy": "same-origin",
}


# the set as raw ASGI headers, encoded once
RAW = [(name.lower().encode("latin-1"), value.encode("latin-1"))
       for name, value in HEADERS.items()]


def apply(headers: MutableHeaders) -> None:
    """Add the set, keeping any header a handler chose itself."""
    for name, value in HEADERS.items():
        headers.setdefault(name, value)


class SecurityHeaders:
    """ASGI middleware: the header set on every HTTP answer whose path starts with
    `prefix` (the API's, "/api": the web sub-application adds its own)."""

    def __init__(self, app: ASGIApp, prefix: str = "/api"):
        self.app = app
        self.prefix = prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or not (path == self.prefix
                                           or path.startswith(self.prefix + "/")):
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                # apply() on the raw list: a header the handler set itself is kept
                headers = message["headers"] = list(message.get("headers", ()))
                present = {name.lower() for name, _ in headers}
                headers.extend(h for h in RAW if h[0] not in present)
            await send(message)

        await self.app(scope, receive, send_with_headers)
