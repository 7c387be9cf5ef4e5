"""Concurrency on PostgreSQL: the shared limit, one loan per copy, and a change feed that
never skips or repeats an event, with several server processes writing at once."""

from __future__ import annotations

import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from sqlalchemy import func, select

from chaekieum.services import demo
from chaekieum.services.circulation import CheckoutRequest
from chaekieum.services.context import Actor, Role
from chaekieum.services.events import emit
from chaekieum.store.tables import loans

from ..conftest import make_hub
from .apiclient import library_key
from .servers import ServerProcess

pytestmark = pytest.mark.postgres


@pytest.fixture
def pg_hub(pg_url):
    hub = make_hub(pg_url)
    yield hub
    hub.close()


@pytest.fixture
def two_servers(pg_hub):
    servers = [ServerProcess(pg_hub.db.url).start() for _ in range(2)]
    yield servers
    for s in servers:
        s.stop()


def _post(url: str, library: str, path: str, body: dict) -> httpx.Response:
    return httpx.post(f"{url}/api/v1{path}", json=body, timeout=30,
                      headers={"Authorization": f"Bearer {library_key(library)}"})


def test_50_concurrent_checkouts_for_one_member_end_with_exactly_20_loans(pg_hub, two_servers):
    member = demo.info(pg_hub)["members"][0]["number"]
    libraries = ["111001", "111002", "111003"]
    jobs = []
    for n in range(50):
        lib = libraries[n % 3]
        copy_no = n // 3 + 1
        copy_no += copy_no // 12  # skip the non-loanable copies (every 12th)
        jobs.append((two_servers[n % 2].url, lib, f"${lib}EM{copy_no:010d}"))
    barrier = threading.Barrier(len(jobs))

    def run(job):
        url, lib, item = job
        barrier.wait()
        return _post(url, lib, "/circulation/checkout", {"member": member, "item": item})

    with ThreadPoolExecutor(len(jobs)) as pool:
        results = list(pool.map(run, jobs))
    codes = [r.status_code for r in results]
    assert codes.count(200) == 20, [r.text for r in results if r.status_code not in (200, 409)]
    refused = {r.json()["code"] for r in results if r.status_code != 200}
    assert refused == {"SHARED_LIMIT_REACHED"}
    with pg_hub.db.read() as conn:
        active = conn.scalar(select(func.count()).select_from(loans).where(
            loans.c.state == "active"))
    assert active == 20


def test_two_concurrent_checkouts_of_one_copy_end_with_one_loan(pg_hub, two_servers):
    numbers = [m["number"] for m in demo.info(pg_hub)["members"]]
    for n in range(1, 11):  # copies 1-10 are all loanable (every 12th is not)
        item = f"$111001EM{n:010d}"
        barrier = threading.Barrier(2)

        def run(i, item=item, barrier=barrier):
            barrier.wait()
            return _post(two_servers[i].url, "111001", "/circulation/checkout",
                         {"member": numbers[i], "item": item})

        with ThreadPoolExecutor(2) as pool:
            results = list(pool.map(run, [0, 1]))
        assert sorted(r.status_code for r in results) == [200, 409], [r.text for r in results]
        loser = next(r for r in results if r.status_code == 409)
        assert loser.json()["code"] == "COPY_ON_LOAN", loser.text
    with pg_hub.db.read() as conn:
        per_copy = conn.execute(select(loans.c.copy_id, func.count()).where(
            loans.c.state == "active").group_by(loans.c.copy_id)).all()
    assert len(per_copy) == 10 and all(c == 1 for _, c in per_copy)


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
