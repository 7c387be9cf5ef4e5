"""Request-size limit: bodies over the cap get 413 before they are read into memory."""

from __future__ import annotations

import functools
import re

from fastapi import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

MAX_BODY = 1024 * 1024  # 1 MiB; bulk copy imports go in chunks under this


class BodyLimit:
    """`larger`: path -> cap for the few routes that take files (console uploads, the
    onboarding documents); a `{name}` in a path stands for one path segment."""

    def __init__(self, app: ASGIApp, max_body: int = MAX_BODY,
                 larger: dict[str, int] | None = None):
        self.app = app
        self.max_body = max_body
        self.larger = {p: cap for p, cap in (larger or {}).items() if "{" not in p}
        self.patterns = [
            (re.compile("^" + re.sub(r"\\\{[^/]*?\\\}", "[^/]+", re.escape(p)) + "$"), cap)
            for p, cap in (larger or {}).items() if "{" in p]

        self.cap = functools.lru_cache(maxsize=4096)(self._cap)  # regexes once per path

    def _cap(self, path: str) -> int:
        if path in self.larger:
            return self.larger[path]
        return next((cap for pattern, cap in self.patterns if pattern.match(path)),
                    self.max_body)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        cap = self.cap(scope.get("path", ""))
        declared = dict(scope.get("headers") or []).get(b"content-length")
        too_large = declared is not None and (not declared.isdigit() or int(declared) > cap)
        seen = 0

        async def limited() -> Message:
            nonlocal seen
            if too_large:
                raise HTTPException(413)
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > cap:
                    raise HTTPException(413)  # FastAPI re-raises it; errors.py renders it
            return message

        await self.app(scope, limited, send)
