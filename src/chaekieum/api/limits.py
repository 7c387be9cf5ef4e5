"""Request-size limit: bodies over the cap get 413 before they are read into memory."""

from __future__ import annotations

from fastapi import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

MAX_BODY = 1024 * 1024  # 1 MiB; bulk copy imports go in chunks under this


class BodyLimit:
    """`larger`: path -> cap for the few routes that take files (console uploads)."""

    def __init__(self, app: ASGIApp, max_body: int = MAX_BODY,
                 larger: dict[str, int] | None = None):
        self.app = app
        self.max_body = max_body
        self.larger = larger or {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        cap = self.larger.get(scope.get("path", ""), self.max_body)
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
