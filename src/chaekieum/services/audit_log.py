"""Reading the audit trail (writing is `audit.record`, inside each use case)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select

from ..store.db import Database
from ..store.tables import audit_log, libraries
from .context import Actor, Role


class AuditLog:
    def __init__(self, db: Database):
        self.db = db

    def search(self, actor: Actor, *, entity: str | None = None, entity_id: str | None = None,
               action: str | None = None, library_code: str | None = None,
               since: datetime | None = None, until: datetime | None = None,
               limit: int = 200, offset: int = 0) -> list[dict[str, Any]]:
        """Newest first by the time of the action (an offline replay's row, written
        later, sorts at the time the action happened), then by id; `offset` pages."""
        q = select(audit_log)
        if actor.role == Role.LIBRARIAN or actor.role == Role.LIBRARY_SYSTEM:
            q = q.where(audit_log.c.library_code == actor.library_code)
        elif actor.role == Role.REGIONAL_ADMIN:
            q = q.where(audit_log.c.library_code.in_(
                select(libraries.c.code).where(libraries.c.region_code == actor.region_code)))
        if entity:
            q = q.where(audit_log.c.entity == entity)
        if entity_id:
            q = q.where(audit_log.c.entity_id == entity_id)
        if action:
            q = q.where(audit_log.c.action.startswith(action))
        if library_code:
            q = q.where(audit_log.c.library_code == library_code)
        if since:
            q = q.where(audit_log.c.at >= since)
        if until:
            q = q.where(audit_log.c.at < until)
        with self.db.read_replica() as conn:
            rows = conn.execute(q.order_by(audit_log.c.at.desc(), audit_log.c.id.desc())
                                .limit(min(limit, 1000)).offset(max(0, offset))).all()
        return [{"id": r.id, "at": r.at.isoformat() + "Z", "actor": r.actor,
                 "library_code": r.library_code, "action": r.action, "entity": r.entity,
                 "entity_id": r.entity_id, "details": r.details} for r in rows]
