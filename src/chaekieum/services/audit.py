"""The audit trail: one row for every state change, with who, where and what."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, insert

from ..store.tables import audit_log
from .context import Actor

_INSERT = insert(audit_log)


def record(
    conn: Connection,
    actor: Actor,
    action: str,
    entity: str,
    entity_id: Any,
    at,  # noqa: ANN001 - naive UTC datetime
    details: dict[str, Any] | None = None,
    library_code: str | None = None,
) -> None:
    conn.execute(_INSERT, {
        "at": at, "actor": actor.label, "library_code": library_code or actor.library_code,
        "action": action, "entity": entity, "entity_id": str(entity_id),
        "details": details or {},
    })
