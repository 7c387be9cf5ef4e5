"""`@transactional`: a use case runs in its own write transaction, or in the caller's.

Passing `conn=` lets an adapter put the use case and its idempotency record in one
transaction; without it the use case opens (and retries) its own.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, Concatenate, ParamSpec, TypeVar

from sqlalchemy import Connection

P = ParamSpec("P")
R = TypeVar("R")


def transactional(
    method: Callable[Concatenate[Any, Connection, P], R],
) -> Callable[..., R]:
    @functools.wraps(method)
    def wrapper(self: Any, *args: Any, conn: Connection | None = None, **kwargs: Any) -> R:
        if conn is not None:
            return method(self, conn, *args, **kwargs)
        return self.db.run_write(lambda c: method(self, c, *args, **kwargs))

    return wrapper
