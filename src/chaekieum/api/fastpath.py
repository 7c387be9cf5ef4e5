"""The hot circulation writes (checkout, checkin, renew) without FastAPI's routing.

FastAPI spends about as much CPU on one circulation request as the business transaction
itself: routing, dependency solving, a second JSON parse and validation pass, response
handling. This ASGI layer sits inside the app's own middlewares (metrics, security
headers, body limit, proxy headers) and answers exactly `POST /api/v1/circulation/
{checkout,checkin,renew}` with a JSON body and a bearer key, with the same pieces FastAPI
would run, in the same order:

- the key is checked as api.auth does (verified keys cache, revocation set, no vendor
  keys; a key not verified in this process yet is verified in the worker thread, before
  the write);
- the body is the same pydantic model, validated from the raw bytes;
- the same work (api.routes.circulation.HOT) runs through api.writes.respond
  (Idempotency-Key included): in the same thread pool, or with `on_loop` (PostgreSQL)
  on the event loop itself (store.db.Database.on_loop: the same code, no thread; a key
  not verified in this process yet still goes to a thread);
- a refusal or database error is answered by the app's own exception handlers.

Anything else goes to FastAPI unchanged, with the body it already read replayed: another
media type, no bearer key, `X-Acting-Library`, a body that does not validate (FastAPI
answers the 400/422 in the error shape). The answers are byte-for-byte those of the
full path (tests/integration/test_api_fastpath.py).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..domain.errors import DomainError
from .auth import bearer_token, not_a_vendor
from .routes import circulation
from .writes import respond

PREFIX = "/api/v1"
# what the full path accepts as JSON (api.routing.is_json) in its commonest spellings;
# any other spelling goes the full way
JSON_TYPES = frozenset({b"application/json", b"application/json; charset=utf-8",
                        b"application/json;charset=utf-8", b"application/json; charset=UTF-8"})
# request headers the full path reads and this layer does not handle itself
FULL_PATH_HEADERS = frozenset({b"x-acting-library"})


class FastPath:
    """ASGI middleware; `owner`: the FastAPI app (its hub, routes and exception
    handlers). `enabled=False` sends everything the full way (the identity tests)."""

    def __init__(self, app: ASGIApp, owner: FastAPI, enabled: bool = True,
                 on_loop: bool = False) -> None:
        self.app = app
        self.owner = owner
        self.enabled = enabled
        self.on_loop = on_loop
        # the routes FastAPI would pick (scope["route"], e.g. for the metrics' label)
        routes = {r.path: r for r in circulation.router.routes
                  if isinstance(r, APIRoute) and "POST" in r.methods}
        self.ops = {PREFIX + path: (routes[path], model, work)
                    for path, (model, work) in circulation.HOT.items()}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        op = (self.ops.get(scope["path"])
              if self.enabled and scope["type"] == "http" and scope["method"] == "POST"
              and not scope.get("root_path") else None)
        if op is None:
            await self.app(scope, receive, send)
            return
        authorization = content_type = key = None
        for name, value in scope["headers"]:
            if name == b"authorization":
                authorization = authorization or value
            elif name == b"content-type":
                content_type = content_type or value
            elif name == b"idempotency-key":
                key = key or value
            elif name in FULL_PATH_HEADERS:
                await self.app(scope, receive, send)
                return
        if content_type not in JSON_TYPES or authorization is None:
            await self.app(scope, receive, send)
            return
        route = op[0]  # for the metrics' route label, also of a 413 on the way in
        scope["route"], scope["endpoint"], scope["path_params"] = route, route.endpoint, {}
        messages: list[Message] = []
        try:
            body = await self._body(receive, messages)
        except Exception as exc:  # e.g. the body limit's 413
            await self._refuse(scope, receive, send, exc)
            return
        answered = False if body is None else await self._answer(
            scope, receive, send, op, authorization, key, body)
        if not answered:
            await self.app(scope, _replaying(messages, receive), send)

    @staticmethod
    async def _body(receive: Receive, messages: list[Message]) -> bytes | None:
        """The whole body (None if the client went away first); every message read is
        kept in `messages` for the full path."""
        chunks = []
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                return None
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                return b"".join(chunks)

    async def _answer(self, scope: Scope, receive: Receive, send: Send,
                      op: tuple[APIRoute, type, Callable[..., Any]], authorization: bytes,
                      key: bytes | None, body: bytes) -> bool:
        """Answer the request; False (nothing sent) when it has to take the full path."""
        _, model, work = op
        hub = self.owner.state.hub
        token = bearer_token(authorization.decode("latin-1"))
        if token is None:  # the full path's AUTH_REQUIRED
            return False
        try:
            # as on the full path, the key is checked before the body: a revoked key
            # is refused whatever the body says
            principal = hub.credentials.verified_without_io(token)
            actor = None if principal is None else not_a_vendor(principal.actor())
            payload = model.model_validate_json(body)
        except ValidationError:
            return False
        except DomainError as exc:  # a revoked key, a vendor's key
            await self._refuse(scope, receive, send, exc)
            return True

        def run() -> Any:
            # a key not verified in this process yet (or a stale revocation set) is
            # verified here, in the same worker thread as the write (argon2, database)
            who = actor or not_a_vendor(hub.credentials.verify_api_key(token).actor())
            return respond(hub, who, "POST", scope["path"],
                           None if key is None else key.decode("latin-1"), payload,
                           work(hub, who, payload))

        try:
            response = await (hub.db.on_loop(run) if self.on_loop and actor is not None
                              else run_in_threadpool(run))
        except Exception as exc:
            await self._refuse(scope, receive, send, exc)
            return True
        await response(scope, receive, send)
        return True

    async def _refuse(self, scope: Scope, receive: Receive, send: Send,
                      exc: Exception) -> None:
        """Answer `exc` with the app's handler of its class, as FastAPI's exception
        middleware does; with none (an unexpected error) it propagates to the server
        error middleware, as on the full path."""
        handlers = self.owner.exception_handlers
        handler = next((handlers[cls] for cls in type(exc).__mro__
                        if cls in handlers and cls is not Exception), None)
        if handler is None:
            raise exc
        response = await handler(Request(scope, receive), exc)
        await response(scope, receive, send)


def _replaying(messages: list[Message], receive: Receive) -> Receive:
    """`receive` that first gives back the messages already read."""
    pending = list(messages)

    async def replay() -> Message:
        return pending.pop(0) if pending else await receive()

    return replay
