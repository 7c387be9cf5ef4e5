"""Adapters between the connector and a library's own systems, by name (config ``adapters``)."""

from __future__ import annotations

from chaekieum.connector.adapters.base import (
    CHANGE_KINDS,
    Adapter,
    Capability,
    Change,
    ConfigError,
    Delivery,
    DeliveryFailed,
)
from chaekieum.connector.adapters.manual import ManualAdapter
from chaekieum.connector.adapters.mock import MockAdapter

ADAPTERS: dict[str, type[Adapter]] = {cls.name: cls for cls in (ManualAdapter, MockAdapter)}


__all__ = [
    "ADAPTERS",
    "CHANGE_KINDS",
    "Adapter",
    "Capability",
    "Change",
    "ConfigError",
    "Delivery",
    "DeliveryFailed",
]
