"""PostgreSQL failover with nothing lost (issue #13, part 3).

A primary and a synchronous hot standby are built on local ports with the machine's
PostgreSQL binaries. The hub runs as its own process on a libpq multi-host URL with
`target_session_attrs=read-write`; a desk lends and takes back through the client SDK
(every write with an Idempotency-Key and a client_txn_id, retried on 503 and on a lost
connection). In the middle the primary is killed (SIGKILL, every process of it) and the
standby promoted. Afterwards every acknowledged write is in the new primary, none twice,
and the hub served writes again within 15 s, without a restart.
"""

from __future__ import annotations

import glob
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from chaekieum.client import HubClient, RetryPolicy
from chaekieum.services import demo

from ..conftest import PG_URL, free_port, make_hub
from .servers import ServerProcess

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

LIBRARY = "111001"
RESUME_WITHIN_S = 15.0


def _bindir() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(found[-1]).parent if found else None


class Cluster:
    """One PostgreSQL instance in a throw-away directory, run as the `postgres` user
    (initdb refuses root)."""

    def __init__(self, bindir: Path, root: Path, name: str, port: int) -> None:
        self.bindir, self.port = bindir, port
        self.data = root / name
        self.log = root / f"{name}.log"
        self.sockets = root

    def run(self, tool: str, *args: str, timeout: float = 120) -> str:
        cmd = [str(self.bindir / tool), *args]
        if os.geteuid() == 0:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        if done.returncode != 0:
            raise RuntimeError(f"{tool} failed: {done.stdout[-2000:]}{done.stderr[-2000:]}")
        return done.stdout

    def configure(self, **settings: str) -> None:
        with (self.data / "postgresql.auto.conf").open("a") as conf:
            for key, value in settings.items():
                conf.write(f"{key} = '{value}'\n")

    def start(self) -> None:
        self.run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60", "start")

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def kill(self) -> None:
        """SIGKILL to the postmaster and every backend: a crash, not a shutdown."""
        pid = int((self.data / "postmaster.pid").read_text().split()[0])
        children = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True,
                                  text=True).stdout.split()
        for p in [pid, *map(int, children)]:
            try:
                os.kill(p, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            try:
                self.run("pg_ctl", "-D", str(self.data), "-m", "immediate", "stop", timeout=30)
            except (RuntimeError, subprocess.TimeoutExpired):
                self.kill()


@pytest.fixture
def primary_and_standby():
    bindir = _bindir()
    if bindir is None or not PG_URL:
        if os.environ.get("CI"):
            pytest.fail("CI must run the failover test: PostgreSQL binaries not found")
        pytest.skip("no PostgreSQL binaries or no CHAEKIEUM_TEST_PG_URL")
    root = Path(tempfile.mkdtemp(prefix="chaekieum-failover-"))
    shutil.chown(root, "postgres", "postgres") if os.geteuid() == 0 else None
    primary = Cluster(bindir, root, "primary", free_port())
    standby = Cluster(bindir, root, "standby", free_port())
    common = {"listen_addresses": "127.0.0.1", "unix_socket_directories": str(root),
              "fsync": "off", "max_connections": "60", "shared_buffers": "32MB"}
    try:
        primary.run("initdb", "-D", str(primary.data), "-U", "postgres", "--auth=trust",
                    "--no-sync", "-E", "UTF8", "--locale=C")
        primary.configure(port=str(primary.port), wal_level="replica", max_wal_senders="5",
                          synchronous_standby_names="standby1", synchronous_commit="on",
                          **common)
        primary.start()
        primary.run("pg_basebackup", "-h", "127.0.0.1", "-p", str(primary.port), "-U",
                    "postgres", "-D", str(standby.data), "-R", "-X", "stream", "--no-sync")
        # promoted, it has no standby of its own: it must not wait for one (the copied
        # primary settings would make every commit wait forever; Patroni does the same)
        standby.configure(port=str(standby.port), primary_conninfo=(
            f"host=127.0.0.1 port={primary.port} user=postgres application_name=standby1"),
            synchronous_standby_names="", **common)
        standby.start()
        engine = sa.create_engine(primary.url().replace("postgresql://", "postgresql+psycopg://"),
                                  isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            deadline = time.monotonic() + 60
            while conn.scalar(sa.text("SELECT count(*) FROM pg_stat_replication "
                                      "WHERE sync_state = 'sync'")) != 1:
                assert time.monotonic() < deadline, "the standby never became synchronous"
                time.sleep(0.2)
            conn.execute(sa.text("CREATE DATABASE chaekieum"))
        engine.dispose()
        yield primary, standby
    finally:
        for cluster in (standby, primary):
            cluster.stop()
        shutil.rmtree(root, ignore_errors=True)


def test_primary_killed_standby_promoted_nothing_lost(primary_and_standby) -> None:  # noqa: ANN001
    primary, standby = primary_and_standby
    hub = make_hub(primary.url("chaekieum"))
    info = demo.info(hub)
    hub.close()
    lib = next(x for x in info["libraries"] if x["code"] == LIBRARY)
    items = lib["loanable_items"][:4]
    member = next(m["number"] for m in info["members"] if m["home_library"] == LIBRARY)
    both = (f"postgresql://postgres@127.0.0.1:{primary.port},127.0.0.1:{standby.port}"
            f"/chaekieum?target_session_attrs=read-write")
    server = ServerProcess(both).start(timeout=120)

    acked: list[tuple[float, str, str]] = []  # (time, kind, client_txn_id) of each answer
    failures: list[BaseException] = []
    stop = threading.Event()

    def desk() -> None:
        retry = RetryPolicy(attempts=60, backoff=0.2, max_backoff=1.0)
        with HubClient(server.url, lib["api_key"], retry=retry, timeout=10) as client:
            n = 0
            while not stop.is_set():
                item = items[n % len(items)]
                n += 1
                try:
                    out = client.checkout(member, item, client_txn_id=f"co-{n}")
                    acked.append((time.monotonic(), "checkout", f"co-{n}"))
                    assert out["loan"]["item"] == item
                    client.checkin(item, client_txn_id=f"ci-{n}")
                    acked.append((time.monotonic(), "checkin", f"ci-{n}"))
                except BaseException as exc:  # noqa: BLE001 - reported by the test
                    failures.append(exc)
                    return

    worker = threading.Thread(target=desk, daemon=True)
    try:
        worker.start()
        deadline = time.monotonic() + 60
        while len(acked) < 40:
            assert not failures, failures
            assert time.monotonic() < deadline, "no load before the failover"
            time.sleep(0.05)
        killed_at = time.monotonic()
        primary.kill()
        standby.run("pg_ctl", "-D", str(standby.data), "-w", "-t", "60", "promote")
        before = len(acked)
        deadline = time.monotonic() + 60
        while len(acked) < before + 40:
            assert not failures, failures
            assert time.monotonic() < deadline, "no writes after the failover"
            time.sleep(0.05)
        stop.set()
        worker.join(60)
        assert not failures, failures
    finally:
        stop.set()
        server.stop()

    # the hub served writes again within 15 s of the kill, without a restart
    resumed = min(t for t, _, _ in acked if t > killed_at)
    print(f"resumed {resumed - killed_at:.2f} s after the kill; {len(acked)} writes acknowledged")
    assert resumed - killed_at <= RESUME_WITHIN_S, resumed - killed_at
    assert server.proc is not None and server.proc.returncode is not None  # stopped by us only
    # every acknowledged write is on the new primary, exactly once, and nothing else is
    engine = sa.create_engine(standby.url("chaekieum").replace("postgresql://",
                                                               "postgresql+psycopg://"))
    with engine.connect() as conn:
        lent = conn.execute(sa.text(
            "SELECT client_txn_id, count(*) FROM loans WHERE library_code = :lib AND "
            "client_txn_id LIKE 'co-%' GROUP BY client_txn_id"), {"lib": LIBRARY}).all()
        returned = conn.execute(sa.text(
            "SELECT return_txn_id, count(*) FROM loans WHERE return_library = :lib AND "
            "return_txn_id LIKE 'ci-%' GROUP BY return_txn_id"), {"lib": LIBRARY}).all()
    engine.dispose()
    assert all(count == 1 for _, count in lent + returned)
    assert sorted(txn for txn, _ in lent) == sorted(t for _, k, t in acked if k == "checkout")
    assert sorted(txn for txn, _ in returned) == sorted(t for _, k, t in acked if k == "checkin")
