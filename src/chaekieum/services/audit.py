"""The audit trail: one row for every state change, with who, where and what."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, insert

from ..store.tables import audit_log
from .context import Actor

_INSERT = insert(audit_log)


def row(
    actor: Actor,
    action: str,
    entity: str,
    entity_id: Any,
    at,  # noqa: ANN001 - naive UTC datetime
    details: dict[str, Any] | None = None,
    library_code: str | None = None,
) -> dict[str, Any]:
    """The audit row of one state change (`entity_id` None: filled in by the writer)."""
    return {
        "at": at, "actor": actor.label, "library_code": library_code or actor.library_code,
        "action": action, "entity": entity,
        "entity_id": None if entity_id is None else str(entity_id), "details": details or {},
    }


def record(conn: Connection, actor: Actor, action: str, entity: str, entity_id: Any,
           at, details: dict[str, Any] | None = None,  # noqa: ANN001 - naive UTC datetime
           library_code: str | None = None) -> None:
    conn.execute(_INSERT, row(actor, action, entity, entity_id, at, details, library_code))
