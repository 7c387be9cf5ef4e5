"""``webhook``: signed POSTs to a real HTTP receiver that is down for a while, comes up,
goes down again and sometimes fails after storing: every event arrives, in order, with a
valid signature; the only duplicates are resends of the same position."""

from __future__ import annotations

import asyncio
import time

import pytest

from chaekieum.connector.adapters import ADAPTERS, ConfigError, Delivery, DeliveryFailed
from chaekieum.connector.adapters.webhook import sign, verify

from ...conftest import free_port
from .receiver import Receiver

SECRET = "webhook-test-secret-0123456789"
N = 20


def events() -> list[Delivery]:
    return [Delivery(p, "member.suspended", {"member": f"1110010000{p:04d}", "days": p},
                     f"2026-03-04T01:00:{p:02d}+00:00") for p in range(1, N + 1)]


async def core(adapter, feed: list[Delivery], deadline: float) -> int:  # noqa: ANN001
    """What the connector's core does: one event at a time, the same one again after a
    DeliveryFailed, never the next before it. Returns the failed attempts."""
    failures = 0
    for event in feed:
        while True:
            assert time.monotonic() < deadline, f"event {event.position} not delivered in time"
            try:
                await adapter.deliver(event)
                break
            except DeliveryFailed:
                failures += 1
    return failures


def test_delivery_survives_a_library_endpoint_that_is_down_for_a_while() -> None:
    # The receiver stores positions 7 and 13, then answers 500 (it crashed before replying).
    receiver = Receiver(SECRET, free_port(),
                        answer=lambda position, attempt: 500 if position in (7, 13)
                        and attempt == 1 else 200)
    adapter = ADAPTERS["webhook"]({"url": receiver.url, "secret": SECRET, "timeout": 2,
                                   "backoff_initial": 0.02, "backoff_max": 0.2})

    async def outages() -> None:
        await asyncio.sleep(0.6)  # down from the start
        await receiver.start()
        while len(receiver.stored) < 10:
            await asyncio.sleep(0.01)
        await receiver.stop()  # down again mid-stream, keep-alive connections cut
        await asyncio.sleep(0.6)
        await receiver.start()

    async def scenario() -> int:
        await adapter.start()
        try:
            outage = asyncio.create_task(outages())
            failures = await core(adapter, events(), time.monotonic() + 30)
            await outage
            return failures
        finally:
            await adapter.close()
            await receiver.stop()

    started = time.monotonic()
    failures = asyncio.run(scenario())
    elapsed = time.monotonic() - started
    positions = [r.position for r in receiver.requests]
    assert receiver.stored == list(range(1, N + 1))  # every event, in order
    assert positions == sorted(positions)  # nothing ever overtook an earlier event
    assert [p for p in positions if positions.count(p) > 1] == [7, 7, 13, 13]  # resends only
    assert all(r.signature_ok for r in receiver.requests)
    assert [r.body["payload"]["days"] for r in receiver.requests if r.status == 200] == list(
        range(1, N + 1))
    # Two outages of 0.6 s with backoff capped at 0.2 s: a handful of attempts, not a storm.
    assert 4 <= failures <= 30, failures
    assert elapsed < 10


def test_a_receiver_that_rejects_the_signature_never_acknowledges() -> None:
    receiver = Receiver("another-secret-entirely-0000", free_port())
    adapter = ADAPTERS["webhook"]({"url": receiver.url, "secret": SECRET,
                                   "backoff_initial": 0.01, "backoff_max": 0.01})

    async def scenario() -> None:
        await receiver.start()
        await adapter.start()
        try:
            with pytest.raises(DeliveryFailed, match="HTTP 401"):
                await adapter.deliver(events()[0])
        finally:
            await adapter.close()
            await receiver.stop()

    asyncio.run(scenario())
    assert receiver.stored == [] and adapter.failures == 1


def test_signature_verification() -> None:
    body = b'{"position":1}'
    now = 1_772_600_000
    signature = sign(SECRET, str(now), body)
    assert signature.startswith("v1=") and len(signature) == 67
    assert verify(SECRET, str(now), body, signature, now=now + 299)
    assert not verify(SECRET, str(now), body, signature, now=now + 301)  # a stale replay
    assert not verify(SECRET, str(now), body + b" ", signature, now=now)  # tampered body
    assert not verify(SECRET, str(now + 1), body, signature, now=now)  # tampered time
    assert not verify("wrong-secret-0123456789", str(now), body, signature, now=now)
    assert not verify(SECRET, "soon", body, signature, now=now)


def test_bad_options_are_all_reported() -> None:
    with pytest.raises(ConfigError) as caught:
        ADAPTERS["webhook"]({"url": "ftp://library/x", "secret": "short", "timeout": 0,
                             "backoff_max": "long"})
    assert len(caught.value.problems) == 4, caught.value.problems
