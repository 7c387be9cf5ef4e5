"""The one interface a vendor implements to link a library system to the connector.

An adapter declares what it can do (``capabilities``); the connector core only calls the
methods of the capabilities an adapter declares:

- ``UPLINK``: the library system makes writes (loans, returns, renewals, registrations)
  that go up to the hub. The core polls ``fetch_changes`` and, once it has stored or
  forwarded a change, calls ``acknowledge``. A crash between the two makes the adapter
  return the same change again; the core's ``client_txn_id`` (derived from
  ``source_id``) makes the re-send exactly-once on the hub.
- ``EVENTS``: the hub's change feed is handed to the library system, in feed order, by
  ``deliver``. ``DeliveryFailed`` makes the core retry the same event later and hold back
  every later one; a delivery must be idempotent by ``position``.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, ClassVar

# The kinds of change an adapter may send up: each is the body of the hub's /api/v1
# endpoint of the same purpose.
CHANGE_KINDS = frozenset({"checkout", "checkin", "renew", "member_register"})


class Capability(StrEnum):
    UPLINK = "uplink"
    EVENTS = "events"


class ConfigError(Exception):
    """The adapter's options are wrong: one entry per problem, all reported at once."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        super().__init__("; ".join(self.problems))


class DeliveryFailed(Exception):
    """The library system did not take the event now; the core retries it later, in order."""


@dataclass(frozen=True)
class Change:
    """A write made in the library system, to send up to the hub."""

    source_id: str  # unique within the adapter (e.g. the outbox row id)
    kind: str  # one of CHANGE_KINDS
    payload: dict = field(hash=False)  # the JSON body of the hub's /api/v1 endpoint for kind
    occurred_at: datetime  # timezone-aware

    def __post_init__(self) -> None:
        if self.kind not in CHANGE_KINDS:
            raise ValueError(f"unknown change kind {self.kind!r}")
        if self.occurred_at.tzinfo is None or self.occurred_at.utcoffset() is None:
            raise ValueError("occurred_at must be timezone-aware")
        if not self.source_id:
            raise ValueError("source_id must not be empty")


@dataclass(frozen=True)
class Delivery:
    """A hub change-feed event for the library system."""

    position: int
    kind: str
    payload: dict = field(hash=False)
    created_at: str


class Adapter(abc.ABC):
    """One class per kind of library system. Construct with the ``options`` table of the
    connector's config; raise ``ConfigError`` listing every problem."""

    name: ClassVar[str]
    capabilities: ClassVar[frozenset[Capability]]

    def __init__(self, options: Mapping[str, Any]) -> None:
        self.options = dict(options)

    async def start(self) -> None:  # noqa: B027 - optional hook
        """Open connections; called once before any other call."""

    async def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections; called once at shutdown."""

    async def fetch_changes(self, limit: int) -> list[Change]:
        """UPLINK: up to ``limit`` changes not yet acknowledged, oldest first."""
        raise NotImplementedError(f"{self.name} has no {Capability.UPLINK} capability")

    async def acknowledge(self, change: Change, result: dict) -> None:
        """UPLINK: the core stored or forwarded ``change``; ``result`` is the hub's (or the
        connector's offline) answer. The change must not be fetched again."""
        raise NotImplementedError(f"{self.name} has no {Capability.UPLINK} capability")

    async def deliver(self, event: Delivery) -> None:
        """EVENTS: hand one feed event to the library system; raise ``DeliveryFailed`` to
        have it retried later (nothing after it is delivered first)."""
        raise NotImplementedError(f"{self.name} has no {Capability.EVENTS} capability")

    async def stored_event(self, position: int) -> dict | None:
        """EVENTS, optional: the event at ``position`` as the library system holds it
        (``{"kind": ..., "payload": {...}}``), read back from the library system, or None
        if it does not hold it. The conformance kit asks this to see that an event really
        arrived. Leave it unimplemented when the library system cannot be asked."""
        raise NotImplementedError(f"{self.name} cannot read back delivered events")
