"""``mock``: an in-memory library system for tests. Inject changes with ``inject``; read
what the connector delivered in ``delivered``; make deliveries fail with ``fail_next``."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, ClassVar

from chaekieum.connector.adapters.base import (
    Adapter,
    Capability,
    Change,
    ConfigError,
    Delivery,
    DeliveryFailed,
)


class MockAdapter(Adapter):
    name: ClassVar[str] = "mock"
    capabilities: ClassVar[frozenset[Capability]] = frozenset(
        {Capability.UPLINK, Capability.EVENTS}
    )

    def __init__(self, options: Mapping[str, Any]) -> None:
        super().__init__(options)
        unknown = sorted(set(self.options) - {"fail_deliveries"})
        problems = [f"mock: unknown option {key!r}" for key in unknown]
        fail = self.options.get("fail_deliveries", 0)
        if not isinstance(fail, int) or isinstance(fail, bool) or fail < 0:
            problems.append("mock: fail_deliveries must be a whole number >= 0")
            fail = 0
        if problems:
            raise ConfigError(problems)
        self._pending: list[Change] = []
        self._acked: dict[str, dict] = {}
        self._next_id = 1
        self._fail_next = fail
        self._lock = asyncio.Lock()
        self.delivered: list[Delivery] = []  # every accepted delivery, resends included
        self.started = False
        self.closed = False

    # -- test controls -------------------------------------------------------------
    def inject(self, kind: str, payload: dict, occurred_at: datetime | None = None) -> Change:
        """The library system made a write: queue it for the connector."""
        change = Change(
            source_id=str(self._next_id),
            kind=kind,
            payload=dict(payload),
            occurred_at=occurred_at or datetime.now(UTC),
        )
        self._next_id += 1
        self._pending.append(change)
        return change

    def fail_next(self, count: int = 1) -> None:
        """Make the next ``count`` deliveries raise DeliveryFailed (library system down)."""
        self._fail_next = count

    @property
    def acknowledged(self) -> dict[str, dict]:
        """source_id -> the result the connector acknowledged it with."""
        return dict(self._acked)

    @property
    def events(self) -> list[Delivery]:
        """Delivered events by position, resends collapsed (what the library system holds)."""
        return sorted({e.position: e for e in self.delivered}.values(), key=lambda e: e.position)

    # -- Adapter --------------------------------------------------------------------
    async def start(self) -> None:
        self.started = True

    async def close(self) -> None:
        self.closed = True

    async def fetch_changes(self, limit: int) -> list[Change]:
        async with self._lock:
            return list(self._pending[: max(limit, 0)])

    async def acknowledge(self, change: Change, result: dict) -> None:
        async with self._lock:
            self._pending = [c for c in self._pending if c.source_id != change.source_id]
            self._acked[change.source_id] = dict(result)

    async def deliver(self, event: Delivery) -> None:
        async with self._lock:
            if self._fail_next > 0:
                self._fail_next -= 1
                raise DeliveryFailed("mock: library system unavailable")
            self.delivered.append(event)

    async def stored_event(self, position: int) -> dict | None:
        held = {e.position: e for e in self.delivered}.get(position)
        return None if held is None else {"kind": held.kind, "payload": dict(held.payload)}
