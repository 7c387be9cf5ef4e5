"""Concurrency with several server processes writing at once, on SQLite and on PostgreSQL:
the shared limit and one loan per copy hold. On SQLite the writes of each process commit
in groups (store/db.py), so refused and accepted checkouts can share a group here."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from sqlalchemy import func, select

from chaekieum.services import demo
from chaekieum.store.tables import loans

from ..conftest import make_hub
from .apiclient import library_key
from .servers import ServerProcess


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def hub(request, tmp_path):
    url = (f"sqlite:///{tmp_path / 'concurrency.db'}" if request.param == "sqlite"
           else request.getfixturevalue("pg_url"))
    hub = make_hub(url)
    yield hub
    hub.close()


@pytest.fixture
def two_servers(hub):
    servers = [ServerProcess(hub.db.url).start() for _ in range(2)]
    yield servers
    for s in servers:
        s.stop()


def _post(url: str, library: str, path: str, body: dict) -> httpx.Response:
    return httpx.post(f"{url}/api/v1{path}", json=body, timeout=30,
                      headers={"Authorization": f"Bearer {library_key(library)}"})


def test_50_concurrent_checkouts_for_one_member_end_with_exactly_20_loans(hub, two_servers):
    member = demo.info(hub)["members"][0]["number"]
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
    with hub.db.read() as conn:
        active = conn.scalar(select(func.count()).select_from(loans).where(
            loans.c.state == "active"))
    assert active == 20


def test_two_concurrent_checkouts_of_one_copy_end_with_one_loan(hub, two_servers):
    numbers = [m["number"] for m in demo.info(hub)["members"]]
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
    with hub.db.read() as conn:
        per_copy = conn.execute(select(loans.c.copy_id, func.count()).where(
            loans.c.state == "active").group_by(loans.c.copy_id)).all()
    assert len(per_copy) == 10 and all(c == 1 for _, c in per_copy)
