"""The agreed adapter interface: registry, capabilities, value types, config errors."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from chaekieum.connector.adapters import (
    ADAPTERS,
    Adapter,
    Capability,
    Change,
    ConfigError,
    Delivery,
    DeliveryFailed,
)


def test_registry_is_by_name_and_every_entry_is_an_adapter():
    assert {"manual", "mock"} <= set(ADAPTERS)
    for name, cls in ADAPTERS.items():
        assert issubclass(cls, Adapter)
        assert cls.name == name
        assert cls.capabilities <= set(Capability)


def test_change_requires_known_kind_and_aware_time():
    now = datetime.now(UTC)
    Change(source_id="1", kind="checkout", payload={}, occurred_at=now)
    with pytest.raises(ValueError):
        Change(source_id="1", kind="loan", payload={}, occurred_at=now)
    with pytest.raises(ValueError):
        Change(source_id="1", kind="checkin", payload={}, occurred_at=datetime(2026, 1, 1))
    with pytest.raises(ValueError):
        Change(source_id="", kind="checkin", payload={}, occurred_at=now)


def test_config_error_lists_every_problem():
    with pytest.raises(ConfigError) as caught:
        ADAPTERS["manual"]({"a": 1, "b": 2})
    assert len(caught.value.problems) == 2
    with pytest.raises(ConfigError) as caught:
        ADAPTERS["mock"]({"fail_deliveries": -1, "x": 1})
    assert len(caught.value.problems) == 2


def test_manual_declares_nothing_and_refuses_uncapable_calls():
    manual = ADAPTERS["manual"]({})
    assert manual.capabilities == frozenset()
    with pytest.raises(NotImplementedError):
        asyncio.run(manual.fetch_changes(10))
    with pytest.raises(NotImplementedError):
        asyncio.run(manual.deliver(Delivery(position=1, kind="k", payload={}, created_at="")))


def test_mock_round_trip():
    async def scenario():
        mock = ADAPTERS["mock"]({})
        first = mock.inject("checkout", {"member_number": "1"})
        mock.inject("checkin", {"item_barcode": "2"})
        assert [c.kind for c in await mock.fetch_changes(10)] == ["checkout", "checkin"]
        await mock.acknowledge(first, {"status": 201})
        assert [c.kind for c in await mock.fetch_changes(10)] == ["checkin"]
        mock.fail_next()
        event = Delivery(position=7, kind="member.suspended", payload={}, created_at="t")
        with pytest.raises(DeliveryFailed):
            await mock.deliver(event)
        await mock.deliver(event)
        await mock.deliver(event)
        assert [e.position for e in mock.events] == [7]
        assert len(mock.delivered) == 2

    asyncio.run(scenario())
