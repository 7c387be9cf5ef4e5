"""Copies the hub knows about, and the follow-up list of offline-replay exceptions."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, insert, select, update

from ..domain.errors import Code, DomainError
from ..store.db import Database
from ..store.tables import circulation_exceptions, copies, loans
from . import audit
from . import reach as reach_
from .context import Actor, Clock
from .lookup import clean_reg_no, find_copy, item_key
from .registry import Registry
from .reservations import queue as reservation_queue
from .tx import transactional

MAX_BULK = 10_000


class Copies:
    def __init__(self, db: Database, clock: Clock, registry: Registry):
        self.db = db
        self.clock = clock
        self.registry = registry

    @transactional
    def bulk_upsert(self, conn: Connection, actor: Actor, items: list[dict[str, Any]]
                    ) -> dict[str, int]:
        """Register or refresh the acting library's own copies (bulk import)."""
        library = actor.require_library()
        if reach_.of(self.registry, actor, conn) is reach_.Reach.SANDBOX:
            # real holdings of a library before pilot come in by `chaekieum import holdings`
            raise DomainError(Code.SANDBOX_ONLY, library_code=library, target="copies")
        if len(items) > MAX_BULK:
            raise DomainError(Code.PAYLOAD_TOO_LARGE, max_items=MAX_BULK)
        at = self.clock.now()
        wanted = {}
        for n, item in enumerate(items):
            try:
                reg = clean_reg_no(str(item["registration_number"]))
            except (KeyError, DomainError):
                raise DomainError(Code.VALIDATION_ERROR, index=n,
                                  field="registration_number") from None
            wanted[reg] = {"title": str(item.get("title") or "")[:300],
                           "loanable": bool(item.get("loanable", True))}
        existing = {
            r.reg_no: r for r in conn.execute(select(copies).where(
                copies.c.library_code == library, copies.c.reg_no.in_(list(wanted))))
        } if wanted else {}
        new = [{"library_code": library, "reg_no": reg, "updated_at": at, **v}
               for reg, v in wanted.items() if reg not in existing]
        if new:
            conn.execute(insert(copies), new)
        changed = 0
        for reg, v in wanted.items():
            row = existing.get(reg)
            if row is not None and (row.title != v["title"] or row.loanable != v["loanable"]):
                conn.execute(update(copies).where(copies.c.id == row.id).values(
                    updated_at=at, **v))
                changed += 1
        audit.record(conn, actor, "copies.bulk_upsert", "library", library, at,
                     {"created": len(new), "updated": changed})
        return {"created": len(new), "updated": changed, "unchanged": len(wanted) - len(new)
                - changed}

    def get(self, actor: Actor, item: str, owner_hint: str | None = None) -> dict[str, Any]:
        owner, reg = item_key(item, actor.library_code or "", owner_hint)
        with self.db.read() as conn:
            row = find_copy(conn, owner, reg)
            if row is None:
                raise DomainError(Code.COPY_UNKNOWN, item=f"${owner}{reg}")
            reach_.require(reach_.of(self.registry, actor, conn), actor, row, "copy")
            loan = conn.execute(select(loans.c.id, loans.c.due_on, loans.c.library_code).where(
                loans.c.copy_id == row.id, loans.c.state == "active")).first()
            line = reservation_queue(conn, row.id)
        return {"item": f"${owner}{reg}", "library_code": owner, "registration_number": reg,
                "title": row.title, "loanable": row.loanable,
                "on_loan": loan is not None,
                "due_on": loan.due_on.isoformat() if loan else None,
                "reserved": any(e.state == "ready" for e in line),  # set aside
                "reservation_queue": len(line)}

    def exceptions(self, library_code: str, include_resolved: bool = False,
                   sandbox_only: bool = False) -> list[dict[str, Any]]:
        """`sandbox_only`: those of the library's sandbox copies (a caller in sandbox
        reach)."""
        q = select(circulation_exceptions).where(
            circulation_exceptions.c.library_code == library_code)
        if sandbox_only:
            q = q.where(circulation_exceptions.c.loan_id.in_(
                select(loans.c.id).join(copies, copies.c.id == loans.c.copy_id)
                .where(copies.c.sandbox_of == library_code)))
        if not include_resolved:
            q = q.where(circulation_exceptions.c.resolved_at.is_(None))
        with self.db.read() as conn:
            rows = conn.execute(q.order_by(circulation_exceptions.c.id).limit(500)).all()
        return [{"id": r.id, "loan_id": r.loan_id, "action": r.action, "reasons": r.reasons,
                 "created_at": r.created_at.isoformat() + "Z",
                 "resolved_at": r.resolved_at.isoformat() + "Z" if r.resolved_at else None,
                 "resolved_by": r.resolved_by} for r in rows]

    @transactional
    def resolve_exception(self, conn: Connection, actor: Actor, exception_id: int
                          ) -> dict[str, Any]:
        row = conn.execute(select(circulation_exceptions).where(
            circulation_exceptions.c.id == exception_id)).first()
        if row is None or row.library_code != actor.library_code:
            raise DomainError(Code.NOT_FOUND, exception_id=exception_id)
        reach = reach_.of(self.registry, actor, conn)
        if reach is reach_.Reach.SANDBOX:
            copy_id = conn.scalar(select(loans.c.copy_id).where(loans.c.id == row.loan_id))
            reach_.require_copy_id(conn, reach, actor, copy_id)
        at = self.clock.now()
        conn.execute(update(circulation_exceptions).where(
            circulation_exceptions.c.id == exception_id).values(
            resolved_at=at, resolved_by=actor.label))
        audit.record(conn, actor, "exception.resolve", "exception", exception_id, at, {})
        return {"id": exception_id, "resolved": True}
