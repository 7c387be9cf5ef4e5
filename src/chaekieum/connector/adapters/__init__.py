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
from chaekieum.connector.adapters.outbox_sql import OutboxSqlAdapter
from chaekieum.connector.adapters.webhook import WebhookAdapter

ADAPTERS: dict[str, type[Adapter]] = {
    cls.name: cls for cls in (OutboxSqlAdapter, WebhookAdapter, ManualAdapter, MockAdapter)
}


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
