"""Concurrency on PostgreSQL: a change feed that never skips or repeats an event while
writers commit in random order (the shared limit and one loan per copy, on both databases:
test_concurrency.py)."""

from __future__ import annotations

import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from chaekieum.services import demo
from chaekieum.services.circulation import CheckoutRequest
from chaekieum.services.context import Actor, Role
from chaekieum.services.events import emit

from ..conftest import make_hub

pytestmark = pytest.mark.postgres


@pytest.fixture
def pg_hub(pg_url):
    hub = make_hub(pg_url)
    yield hub
    hub.close()


def test_change_feed_yields_every_event_exactly_once_under_concurrent_writes(pg_hub):
    """Writers commit in random order (some hold their transaction open for a while after
    inserting, so their events commit late) while a reader pages through the feed."""
    hub = pg_hub
    writers, per_writer = 8, 40
    stop = threading.Event()
    seen: list[int] = []

    def writer(w: int) -> None:
        rnd = random.Random(w)
        for i in range(per_writer):
            with hub.db.write() as conn:
                emit(conn, "111001", "test.event", {"seq": w * 1000 + i}, hub.clock.now())
                if rnd.random() < 0.3:
                    time.sleep(rnd.uniform(0.01, 0.08))  # commit late

    def reader() -> None:
        after = 0
        while True:
            # look at the flag before reading: an empty page read after every writer had
            # committed proves the feed is drained; one read before the last commit does not
            writers_done = stop.is_set()
            page = hub.feed.read("111001", after, limit=50)
            seen.extend(e["payload"]["seq"] for e in page["events"] if e["kind"] == "test.event")
            after = page["next_after"]
            if writers_done and not page["events"]:
                return
            time.sleep(0.005)

    # real circulation writes in parallel, through the services: another library's
    # offline loans of 111001's copies (facts the hub records, flagged COPY_NOT_HERE),
    # each a loan.elsewhere event in the owner's feed
    def lender() -> None:
        actor = Actor(Role.LIBRARY_SYSTEM, "key:test", "api", "111002")
        member = demo.info(hub)["members"][1]["number"]
        for n in range(1, 12):
            hub.circulation.checkout(actor, CheckoutRequest(
                member, f"$111001EM{n:010d}", offline=True, client_txn_id=f"feed-{n}"))

    read_thread = threading.Thread(target=reader)
    read_thread.start()
    with ThreadPoolExecutor(writers + 1) as pool:
        futures = [pool.submit(writer, w) for w in range(writers)] + [pool.submit(lender)]
        for f in futures:
            f.result()
    stop.set()
    read_thread.join(60)
    expected = {w * 1000 + i for w in range(writers) for i in range(per_writer)}
    assert len(seen) == len(expected), "an event was repeated or skipped"
    assert set(seen) == expected
    # the loans made elsewhere reached the owner's feed too, each once
    kinds = [e["kind"] for e in hub.feed.read("111001", 0, limit=1000)["events"]]
    assert kinds.count("loan.elsewhere") == 11
