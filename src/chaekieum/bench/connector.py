"""`chaekieum bench connector`: what the library connector costs and how fast it catches up.

1. Overhead: one desk writes checkouts and checkins alternately straight to the hub and
   through the connector (interleaved, so both see the same machine load); the overhead
   is the connector's latency minus the direct latency, at p50 and p99.
2. Replay: the hub is stopped, the desk makes `queued` writes (all answered 202 and
   queued durably), the hub is started again, and the replay rate is the queued writes
   divided by the time from the first replayed write to an empty queue.

Both processes are real (`chaekieum.workers` for the hub on SQLite, `chaekieum connector
run` for the connector), on loopback. Last line:
`RESULT overhead_p50_ms=… overhead_p99_ms=… replay_per_s=…`
"""

from __future__ import annotations

import os
import shutil
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx
from rich.console import Console
from rich.table import Table

from ..services import demo
from ..services.hub import Hub
from .checkout import free_port

HOST = "127.0.0.1"
LIBRARY = "111001"
TOKEN = "bench-desk-token-0123456789"


def _wait_healthy(url: str, proc: subprocess.Popen, log: Path, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    with httpx.Client(timeout=2.0) as client:
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"process exited ({proc.returncode}); see {log}")
            try:
                if client.get(f"{url}/api/v1/health").status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"not healthy in time; see {log}")
            time.sleep(0.1)


def _spawn(cmd: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    with open(log, "ab") as out:
        return subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


class _Hub:
    def __init__(self, url: str, port: int, log: Path) -> None:
        self.url, self.port, self.log = url, port, log
        self.base = f"http://{HOST}:{port}"
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        env = dict(os.environ, CHAEKIEUM_DATABASE_URL=self.url, CHAEKIEUM_SIP2_PORT="0",
                   CHAEKIEUM_SECRET_KEY="bench-connector-secret", CHAEKIEUM_WEB="0")
        self.proc = _spawn([sys.executable, "-m", "chaekieum.workers", "--host", HOST,
                            "--port", str(self.port), "--workers", "1"], env, self.log)
        _wait_healthy(self.base, self.proc, self.log)

    def stop(self) -> None:
        if self.proc is not None:
            _stop(self.proc)


def prepare_hub(url: str, console: Console) -> None:
    """A SQLite hub database with the demo network (made once, then re-used)."""
    hub = Hub(url, secret=b"bench-connector-secret")
    try:
        hub.migrate()
        if not demo.info(hub)["members"]:
            console.print("loading the demo network into the bench hub …")
            demo.load(hub)
    finally:
        hub.close()


def _members(url: str) -> list[str]:
    hub = Hub(url, secret=b"bench-connector-secret")
    try:
        return [m["number"] for m in demo.info(hub)["members"]][:2]  # own members of 111001
    finally:
        hub.close()


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def run(url: str, *, writes: int = 2000, queued: int = 10_000, replay_batch: int = 200,
        work_dir: Path | None = None, console: Console | None = None) -> str:
    console = console or Console()
    work = (work_dir or Path("var/bench/connector")).resolve()
    shutil.rmtree(work / "connector-data", ignore_errors=True)
    work.mkdir(parents=True, exist_ok=True)
    prepare_hub(url, console)
    members = _members(url)
    key_id, secret = demo.api_key_secret(LIBRARY)
    hub = _Hub(url, free_port(), work / "hub.log")
    port = free_port()
    config = work / "connector.toml"
    config.write_text("\n".join([
        f'hub_url = "{hub.base}"', f'library = "{LIBRARY}"', f'api_key = "ck_{key_id}_{secret}"',
        f'listen = "{HOST}:{port}"', f'data_dir = "{work / "connector-data"}"',
        'log_level = "WARNING"', "poll_interval = 0.05", f"replay_batch = {replay_batch}",
        "[tokens]", f'bench = "{TOKEN}"',
    ]) + "\n")
    connector_url = f"http://{HOST}:{port}"
    hub.start()
    connector = _spawn([sys.executable, "-m", "chaekieum.cli", "connector", "run",
                        "--config", str(config)], dict(os.environ), work / "connector.log")
    try:
        _wait_healthy(connector_url, connector, work / "connector.log")
        run_id = int(time.time())
        direct, through = _overhead(hub.base, connector_url, f"ck_{key_id}_{secret}", members,
                                    writes, run_id)
        _replay(hub, connector_url, members, queued, run_id, console)
    finally:
        _stop(connector)
        hub.stop()
    rate, elapsed = _replay_rate(work / "connector-data" / "connector.db", queued)
    over50 = _percentile(through, 0.5) - _percentile(direct, 0.5)
    over99 = _percentile(through, 0.99) - _percentile(direct, 0.99)
    table = Table(title=f"connector bench ({writes} online writes each way, "
                        f"{queued} queued writes)")
    for col in ("path", "p50 ms", "p99 ms", "mean ms"):
        table.add_column(col, justify="right")
    for name, values in (("direct to hub", direct), ("through connector", through)):
        table.add_row(name, f"{_percentile(values, .5):.2f}", f"{_percentile(values, .99):.2f}",
                      f"{statistics.fmean(values):.2f}")
    console.print(table)
    console.print(f"replay: {rate:.0f} writes/s ({elapsed:.1f} s from the first replay answer "
                  "to the last)")
    line = (f"RESULT overhead_p50_ms={over50:.2f} overhead_p99_ms={over99:.2f} "
            f"replay_per_s={rate:.1f}")
    print(line, flush=True)
    return line


def _pair(n: int, members: list[str], run_id: int, tag: str) -> tuple[dict, dict]:
    item = f"B{tag}{run_id % 100000:05d}{n:05d}"[:12]
    return ({"member": members[n % len(members)], "item": item, "copy": {"title": "bench"}},
            {"item": item})


def _overhead(hub_url: str, connector_url: str, api_key: str, members: list[str],
              writes: int, run_id: int) -> tuple[list[float], list[float]]:
    direct: list[float] = []
    through: list[float] = []
    with httpx.Client(base_url=hub_url, headers={"Authorization": f"Bearer {api_key}"},
                      timeout=30) as hub, \
            httpx.Client(base_url=connector_url, timeout=30,
                         headers={"Authorization": f"Bearer {TOKEN}"}) as desk:
        for n in range(writes // 2 + 20):
            for client, sink, tag in ((hub, direct, "D"), (desk, through, "C")):
                checkout, checkin = _pair(n, members, run_id, tag)
                for path, body in (("/api/v1/circulation/checkout", checkout),
                                   ("/api/v1/circulation/checkin", checkin)):
                    started = time.perf_counter()
                    r = client.post(path, json=body)
                    took = (time.perf_counter() - started) * 1000
                    if r.status_code != 200:
                        raise RuntimeError(f"{path} answered {r.status_code}: {r.text}")
                    if n >= 20:  # the first pairs warm both paths up
                        sink.append(took)
    return direct, through


def _replay(hub: _Hub, connector_url: str, members: list[str], queued: int, run_id: int,
            console: Console) -> None:
    hub.stop()
    with httpx.Client(base_url=connector_url, timeout=60,
                      headers={"Authorization": f"Bearer {TOKEN}"}) as desk:
        started = time.perf_counter()
        for n in range(queued // 2):
            checkout, checkin = _pair(n, members, run_id, "Q")
            for path, body in (("/api/v1/circulation/checkout", checkout),
                               ("/api/v1/circulation/checkin", checkin)):
                r = desk.post(path, json=body)
                if r.status_code != 202:
                    raise RuntimeError(f"offline {path} answered {r.status_code}: {r.text}")
        console.print(f"queued {queued} writes offline in {time.perf_counter() - started:.1f} s")
        hub.start()
        deadline = time.monotonic() + max(600, queued / 20)
        depth = queued
        while depth and time.monotonic() < deadline:
            time.sleep(0.1)
            depth = desk.get("/connector/status").json()["queue_depth"]
        if depth:
            raise RuntimeError(f"the queue did not drain: {depth} left")
        status = desk.get("/connector/status").json()
        if status["open_exceptions"]:
            raise RuntimeError(f"replay left exceptions: {status['open_exceptions'][:3]}")


def _replay_rate(db_path: Path, queued: int) -> tuple[float, float]:
    """Writes per second from the connector's own done marks: the writes answered after
    the first replay request, over the time from its answer to the last one (the wait
    before the replayer noticed the hub was back is not replay time)."""
    import sqlite3
    from datetime import datetime

    db = sqlite3.connect(db_path)
    try:
        marks = [datetime.fromisoformat(r[0]) for r in db.execute(
            "SELECT done_at FROM queue WHERE state = 'done' ORDER BY seq DESC LIMIT ?",
            (queued,))]
    finally:
        db.close()
    if len(marks) != queued:
        raise RuntimeError(f"{len(marks)} of {queued} queued writes are done")
    first, last = min(marks), max(marks)
    after_first = sum(1 for m in marks if m > first)
    elapsed = (last - first).total_seconds()
    if not after_first or elapsed <= 0:
        raise RuntimeError("one replay request took every write: queue more to measure")
    return after_first / elapsed, elapsed
