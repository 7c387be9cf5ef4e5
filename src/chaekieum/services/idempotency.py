"""Idempotency keys: a retried write returns the first result and is applied once.

The key row is inserted in the same transaction as the write, so a write and its
recorded result commit together; a concurrent retry waits on the key's unique index
and then reads the stored result instead of applying the write again.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection, insert, select, update
from sqlalchemy.exc import IntegrityError

from ..domain.errors import Code, DomainError
from ..store.db import Database
from ..store.tables import idempotency_keys

Result = tuple[int, dict[str, Any]]


def fingerprint(method: str, path: str, body: bytes) -> str:
    return hashlib.sha256(method.encode() + b" " + path.encode() + b"\n" + body).hexdigest()


class IdempotencyStore:
    def __init__(self, db: Database, clock):  # noqa: ANN001
        self.db = db
        self.clock = clock

    def _stored(self, principal: str, key: str, request_hash: str) -> Result | None:
        with self.db.read() as conn:
            row = conn.execute(select(idempotency_keys).where(
                idempotency_keys.c.principal == principal, idempotency_keys.c.key == key
            )).first()
        if row is None:
            return None
        if row.request_hash != request_hash:
            raise DomainError(Code.IDEMPOTENCY_KEY_REUSED, key=key)
        return row.status_code, row.response

    def run(
        self,
        principal: str,
        key: str,
        request_hash: str,
        work: Callable[[Connection], Result],
        refusal: Callable[[DomainError], Result],
    ) -> tuple[Result, bool]:
        """Run `work` once for (principal, key). Returns (result, replayed)."""
        stored = self._stored(principal, key, request_hash)
        if stored is not None:
            return stored, True

        def attempt(conn: Connection) -> Result:
            conn.execute(insert(idempotency_keys).values(
                principal=principal, key=key, request_hash=request_hash, status_code=0,
                response={}, created_at=self.clock.now()))
            status, body = work(conn)
            conn.execute(update(idempotency_keys).where(
                idempotency_keys.c.principal == principal, idempotency_keys.c.key == key
            ).values(status_code=status, response=body))
            return status, body

        try:
            try:
                return self.db.run_write(attempt), False
            except DomainError as refused:
                # a refusal is a result too: record it so a retry sees the same answer
                result = refusal(refused)
                self.db.run_write(lambda conn: conn.execute(insert(idempotency_keys).values(
                    principal=principal, key=key, request_hash=request_hash,
                    status_code=result[0], response=result[1], created_at=self.clock.now())))
                return result, False
        except IntegrityError:
            stored = self._stored(principal, key, request_hash)
            if stored is None:
                raise
            return stored, True
