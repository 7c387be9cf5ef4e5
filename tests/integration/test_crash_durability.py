"""kill -9 of the server during a write load loses no acknowledged write."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from sqlalchemy import select

from chaekieum.services import demo
from chaekieum.store.tables import loans

from ..conftest import make_hub
from .apiclient import library_key
from .servers import ServerProcess


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def crash_db(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'crash.db'}"
    else:
        yield request.getfixturevalue("pg_url")


def test_kill_9_during_write_load_loses_no_acknowledged_write(crash_db):
    hub = make_hub(crash_db)
    numbers = [m["number"] for m in demo.info(hub)["members"]][:3]
    server = ServerProcess(hub.db.url).start()
    acknowledged: list[str] = []
    lock = threading.Lock()
    killed = threading.Event()

    def desk(worker: int) -> None:
        library = ["111001", "111002", "111003", "121001"][worker]
        with httpx.Client(base_url=server.url, timeout=5, headers={
                "Authorization": f"Bearer {library_key(library)}"}) as client:
            for n in range(1, 25):
                if n % 12 == 0:
                    continue
                txn = f"w{worker}-{n}"
                body = {"member": numbers[n % 3], "item": f"${library}EM{n:010d}",
                        "client_txn_id": txn}
                try:
                    r = client.post("/api/v1/circulation/checkout", json=body)
                except httpx.HTTPError:
                    if killed.is_set():
                        return
                    continue
                if r.status_code == 200:
                    with lock:
                        acknowledged.append(txn)

    with ThreadPoolExecutor(4) as pool:
        futures = [pool.submit(desk, w) for w in range(4)]
        deadline = time.monotonic() + 30
        while len(acknowledged) < 15 and time.monotonic() < deadline:
            time.sleep(0.01)
        killed.set()
        server.kill()
        for f in futures:
            f.result()
    assert len(acknowledged) >= 15
    # a fresh process on the same database finds every acknowledged loan
    restarted = ServerProcess(hub.db.url).start()
    try:
        with hub.db.read() as conn:
            stored = set(conn.scalars(select(loans.c.client_txn_id)))
        missing = set(acknowledged) - stored
        assert not missing, f"acknowledged but lost: {sorted(missing)}"
        # and the service answers again: a replay of an acknowledged write is not re-applied
        txn = acknowledged[0]
        worker, n = int(txn[1]), int(txn.split("-")[1])
        library = ["111001", "111002", "111003", "121001"][worker]
        r = httpx.post(f"{restarted.url}/api/v1/circulation/checkout", timeout=10,
                       headers={"Authorization": f"Bearer {library_key(library)}"},
                       json={"member": numbers[n % 3], "item": f"${library}EM{n:010d}",
                             "client_txn_id": txn})
        assert r.status_code == 200 and r.json()["replayed"] is True
    finally:
        restarted.stop()
        hub.close()
