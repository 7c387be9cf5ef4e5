"""The sandbox rule (domain/sandbox.py) applied to an actor: what its credentials reach.

Every service that names a member or a copy for an actor bound to a library asks `of`
once and refuses, with `require`, any row outside the reach. An actor not acting for a
library (an admin over its scope, a member in the portal) is not bound by it.
"""

from __future__ import annotations

from sqlalchemy import Connection, select

from ..domain import sandbox as rules
from ..domain.sandbox import Reach
from ..store.tables import copies
from .context import Actor, Role
from .registry import Registry

__all__ = ["Reach", "of", "require", "require_copy_id"]


def of(registry: Registry, actor: Actor, conn: Connection | None = None) -> Reach:
    if not actor.library_code or actor.role == Role.MEMBER:
        return Reach.LIVE
    return rules.reach(actor.environment, registry.library(actor.library_code, conn).status)


def require(reach: Reach, actor: Actor, row, what: str) -> None:  # noqa: ANN001
    """`row`: a member or copy row with `sandbox_of` (None: nothing to check)."""
    if reach is Reach.SANDBOX and row is not None:
        rules.require(reach, actor.library_code or "", row.sandbox_of, what)


def require_copy_id(conn: Connection, reach: Reach, actor: Actor, copy_id: int) -> None:
    if reach is Reach.SANDBOX:
        rules.require(reach, actor.library_code or "", conn.scalar(
            select(copies.c.sandbox_of).where(copies.c.id == copy_id)), "copy")
