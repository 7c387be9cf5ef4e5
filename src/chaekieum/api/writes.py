"""Running a write with an optional `Idempotency-Key`.

Without a key the use case runs in its own transaction. With one, the use case and the
stored response commit together; a retry gets the stored response (header
`Idempotent-Replayed: true`) and the write is never applied twice.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import Request
from pydantic import BaseModel
from sqlalchemy import Connection

from ..domain.errors import Code, DomainError
from ..services.context import Actor
from ..services.hub import Hub
from ..services.idempotency import fingerprint
from .auth import hub_of
from .errors import refusal
from .responses import JSON

Work = Callable[[Connection | None], Any]


def perform(request: Request, actor: Actor, payload: BaseModel | None, work: Work,
            status: int = 200) -> JSON:
    return respond(hub_of(request), actor, request.method, request.url.path,
                   request.headers.get("idempotency-key"), payload, work, status)


def respond(hub: Hub, actor: Actor, method: str, path: str, key: str | None,
            payload: BaseModel | None, work: Work, status: int = 200) -> JSON:
    """`perform` without a Request: the answer of `work` for `method path` (also what
    api.fastpath calls)."""
    if key is None:
        return JSON(work(None), status_code=status)
    if not key.strip() or len(key) > 200:
        raise DomainError(Code.VALIDATION_ERROR, field="Idempotency-Key", problem="1-200 chars")
    body = payload.model_dump_json(by_alias=True).encode() if payload is not None else b""
    (code, result), replayed = hub.idempotency.run(
        actor.label, key.strip(), fingerprint(method, path, body),
        lambda conn: (status, work(conn)), refusal,
    )
    response = JSON(result, status_code=code)
    response.headers["Idempotent-Replayed"] = "true" if replayed else "false"
    return response
