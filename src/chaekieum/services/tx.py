"""`@transactional`: a use case runs in its own write transaction, or in the caller's.

Passing `conn=` lets an adapter put the use case and its idempotency record in one
transaction; without it the use case opens (and retries) its own. `owns(conn)` tells a
use case whether the transaction is its own: only then may its last write commit it in
the same round trip (store/prepared.py).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any, Concatenate, ParamSpec, TypeVar

from sqlalchemy import Connection

P = ParamSpec("P")
R = TypeVar("R")

# the connection whose transaction the running use case opened itself (None in a caller's)
_OWN: ContextVar[Connection | None] = ContextVar("chaekieum_own_transaction", default=None)


def owns(conn: Connection) -> bool:
    """Whether the running use case opened `conn`'s transaction (no caller writes more
    in it after the use case returns)."""
    return _OWN.get() is conn


def transactional(
    method: Callable[Concatenate[Any, Connection, P], R],
) -> Callable[..., R]:
    @functools.wraps(method)
    def wrapper(self: Any, *args: Any, conn: Connection | None = None, **kwargs: Any) -> R:
        def run(c: Connection, own: Connection | None) -> R:
            token = _OWN.set(own)
            try:
                return method(self, c, *args, **kwargs)
            finally:
                _OWN.reset(token)

        if conn is not None:
            return run(conn, None)
        return self.db.run_write(lambda c: run(c, c))

    return wrapper
