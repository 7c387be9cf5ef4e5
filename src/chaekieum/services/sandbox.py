"""Sandbox fixtures for the conformance kit (docs/conformance.md).

A library running the kit asks for test members and copies. They are ordinary rows
marked `sandbox`, issued and owned by the calling library, so every rule runs on them
exactly as on real ones, with three differences that keep them apart from real data:
- sandbox members borrow only sandbox copies and sandbox copies go only to sandbox
  members (`SANDBOX_MIXED`): a run can never hold a real copy or touch a real record;
- their loans and returns never count in the daily statistics (`daily_circulation`);
- `clean` deletes them with every loan, return, transit, suspension, reservation and
  exception that hangs off them (the audit trail keeps its rows: it records what
  happened, with masked numbers).
Events about them stay in the calling library's own feed (a sandbox member joins no
other library unless the run lends it there).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, delete, func, or_, select, update

from ..domain.errors import Code, DomainError
from ..store.db import Database
from ..store.tables import (
    circulation_exceptions,
    copies,
    loans,
    members,
    memberships,
    reservations,
    suspensions,
    transits,
)
from . import audit
from .context import Actor, Clock
from .members import Members, Registration
from .registry import Registry
from .tx import transactional

REG_PREFIX = "ZS"  # 등록구분 code of sandbox copies: ZS0000000001 ...
MAX_MEMBERS = 50  # per library at any time
MAX_COPIES = 200
BIRTH_YEAR = 1990


class Sandbox:
    def __init__(self, db: Database, registry: Registry, clock: Clock, members_: Members):
        self.db = db
        self.registry = registry
        self.clock = clock
        self.members = members_

    @staticmethod
    def _ids(conn: Connection, library_code: str) -> tuple[list[int], list[int]]:
        mids = conn.scalars(select(members.c.id).where(
            members.c.sandbox, members.c.issuing_library == library_code)).all()
        cids = conn.scalars(select(copies.c.id).where(
            copies.c.sandbox, copies.c.library_code == library_code)).all()
        return list(mids), list(cids)

    @transactional
    def create(self, conn: Connection, actor: Actor, n_members: int,
               n_copies: int) -> dict[str, Any]:
        """Register `n_members` sandbox members at the acting library and `n_copies`
        sandbox copies owned by it."""
        library = actor.require_library()
        self.registry.library(library, conn)
        mids, cids = self._ids(conn, library)
        if len(mids) + n_members > MAX_MEMBERS or len(cids) + n_copies > MAX_COPIES:
            raise DomainError(Code.VALIDATION_ERROR, field="sandbox",
                              problem=f"at most {MAX_MEMBERS} members and {MAX_COPIES} copies",
                              members=len(mids), copies=len(cids))
        at = self.clock.now()
        made_members = []
        for i in range(n_members):
            view = self.members.register(actor, Registration(
                name=f"시험회원{len(mids) + i + 1}", birth_year=BIRTH_YEAR), conn=conn)
            conn.execute(update(members).where(members.c.number == view["number"])
                         .values(sandbox=True))
            made_members.append({"number": view["number"], "name": view["name"]})
        last = conn.scalar(select(func.max(copies.c.reg_no)).where(
            copies.c.library_code == library, copies.c.reg_no.like(f"{REG_PREFIX}%")))
        start = int(last[len(REG_PREFIX):]) if last else 0
        made_copies = []
        for serial in range(start + 1, start + 1 + n_copies):
            reg_no = f"{REG_PREFIX}{serial:010d}"
            title = f"적합성 검사 자료 {serial}"
            conn.execute(copies.insert().values(library_code=library, reg_no=reg_no,
                                                title=title, loanable=True, sandbox=True,
                                                updated_at=at))
            made_copies.append({"item": f"${library}{reg_no}", "reg_no": reg_no,
                                "title": title})
        audit.record(conn, actor, "sandbox.create", "library", library, at,
                     {"members": n_members, "copies": n_copies}, library)
        return {"library": library, "members": made_members, "copies": made_copies}

    def list(self, actor: Actor) -> dict[str, Any]:
        library = actor.require_library()
        with self.db.read() as conn:
            numbers = conn.scalars(select(members.c.number).where(
                members.c.sandbox, members.c.issuing_library == library)
                .order_by(members.c.id)).all()
            regs = conn.scalars(select(copies.c.reg_no).where(
                copies.c.sandbox, copies.c.library_code == library)
                .order_by(copies.c.id)).all()
            mids, cids = self._ids(conn, library)
            active = conn.scalar(select(func.count()).select_from(loans).where(
                loans.c.state == "active",
                or_(loans.c.member_id.in_(mids), loans.c.copy_id.in_(cids))))
        return {"library": library, "members": list(numbers),
                "copies": [f"${library}{r}" for r in regs], "active_loans": active}

    @transactional
    def clean(self, conn: Connection, actor: Actor) -> dict[str, Any]:
        """Delete the acting library's sandbox members and copies and everything that
        hangs off them. Idempotent: a second call finds nothing."""
        library = actor.require_library()
        mids, cids = self._ids(conn, library)
        loan_ids = list(conn.scalars(select(loans.c.id).where(
            or_(loans.c.member_id.in_(mids), loans.c.copy_id.in_(cids)))).all())
        removed = {
            "exceptions": conn.execute(delete(circulation_exceptions).where(
                circulation_exceptions.c.loan_id.in_(loan_ids))).rowcount,
            "reservations": conn.execute(delete(reservations).where(or_(
                reservations.c.member_id.in_(mids), reservations.c.copy_id.in_(cids),
                reservations.c.loan_id.in_(loan_ids)))).rowcount,
            "transits": conn.execute(delete(transits).where(or_(
                transits.c.loan_id.in_(loan_ids), transits.c.copy_id.in_(cids)))).rowcount,
            "suspensions": conn.execute(delete(suspensions).where(
                suspensions.c.member_id.in_(mids))).rowcount,
            "loans": conn.execute(delete(loans).where(loans.c.id.in_(loan_ids))).rowcount,
        }
        conn.execute(delete(memberships).where(memberships.c.member_id.in_(mids)))
        removed["members"] = conn.execute(delete(members).where(members.c.id.in_(mids))).rowcount
        removed["copies"] = conn.execute(delete(copies).where(copies.c.id.in_(cids))).rowcount
        if any(removed.values()):
            audit.record(conn, actor, "sandbox.clean", "library", library, self.clock.now(),
                         removed, library)
        return {"library": library, "removed": removed}
