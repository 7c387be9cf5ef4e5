"""`chaekieum bench checkout`: circulation throughput over HTTP beside pgbench.

1. seed (or re-use) a synthetic national network (bench/seed.py);
2. start the hub with `python -m chaekieum.workers --workers N` (a SO_REUSEPORT socket per
   worker process, so connections spread evenly);
3. drive checkouts and checkins from `clients` library desks (bench/load.py), closed
   loop or, with `rate`, open loop at a fixed offered rate; with `find_slo`, then search
   the highest offered rate whose p99 stays under that many ms;
4. on PostgreSQL, stop the hub and run pgbench TPC-B on the same cluster with the same
   client count, in a throw-away database;
5. print a table and, last, `RESULT key=value ...`.
"""

from __future__ import annotations

import math
import os
import random
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
import sqlalchemy as sa
from rich.console import Console
from rich.table import Table

from ..store.db import normalize_url
from .load import LoadResult, make_desks, run_load
from .seed import Shape, is_postgres, library_codes, pg_drop_database, pg_recreate_database, prepare

PGBENCH_DB = "chaekieum_pgbench"
HOST = "127.0.0.1"
TARGET_RATIO = 0.5
TARGET_P99_MS = 50.0
TARGET_SQLITE_TPS = 500.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


# -- CPU accounting (Linux /proc; zeros elsewhere) ------------------------------------------
_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def proc_stat(pid: int) -> tuple[int, float] | None:
    """(parent pid, user+system CPU seconds) of a process."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = raw[raw.rfind(")") + 2:].split()
    return int(fields[1]), (int(fields[11]) + int(fields[12])) / _TICK


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def cpu_snapshot(server_pid: int, database: str | None) -> dict[str, dict[int, float] | float]:
    """CPU seconds used so far, per process, by the server tree and the PostgreSQL
    backends serving `database`; by this driver; by the whole machine (busy time)."""
    stats: dict[int, tuple[int, float]] = {}
    for entry in Path("/proc").iterdir() if Path("/proc/stat").exists() else []:
        if entry.name.isdigit() and (st := proc_stat(int(entry.name))) is not None:
            stats[int(entry.name)] = st
    tree = {server_pid}
    grew = True
    while grew:
        grew = False
        for pid, (ppid, _) in stats.items():
            if ppid in tree and pid not in tree:
                tree.add(pid)
                grew = True
    postgres: dict[int, float] = {}
    if database:
        tag = f" {database} ".encode()
        for pid, (_, cpu) in stats.items():
            cmd = _cmdline(pid)
            if cmd.startswith(b"postgres:") and tag in cmd:
                postgres[pid] = cpu
    times = os.times()
    machine = 0.0
    try:
        vals = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        machine = (sum(vals) - vals[3] - vals[4]) / _TICK  # all but idle and iowait
    except (OSError, ValueError, IndexError):
        pass
    return {"server": {p: stats[p][1] for p in tree if p in stats}, "postgres": postgres,
            "driver": times.user + times.system, "machine": machine}


def cpu_used(start: dict, stop: dict) -> dict[str, float]:
    """CPU seconds between two snapshots; processes that started in between count from
    zero, those that ended in between are lost (a slight undercount, never negative)."""
    out: dict[str, float] = {}
    for key in ("server", "postgres"):
        out[key] = sum(max(0.0, cpu - start[key].get(pid, 0.0))
                       for pid, cpu in stop[key].items())
    for key in ("driver", "machine"):
        out[key] = stop[key] - start[key]
    return out


# -- the server under test --------------------------------------------------------------
@dataclass
class Server:
    process: subprocess.Popen
    port: int
    log: Path

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)  # its own session: uvicorn + workers
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


def start_server(url: str, *, workers: int, clients: int, log_dir: Path,
                 extra_env: dict[str, str] | None = None) -> Server:
    port = free_port()
    log_dir.mkdir(parents=True, exist_ok=True)
    log = log_dir / "server.log"
    env = dict(os.environ)
    env.update(
        CHAEKIEUM_DATABASE_URL=url,
        CHAEKIEUM_SIP2_PORT="0",
        CHAEKIEUM_SECRET_KEY="bench-server-secret",
        # every desk may land on one worker; a request may briefly need a 2nd connection
        CHAEKIEUM_POOL_SIZE=str(max(5, math.ceil(clients / workers) + 4)),
    )
    env.update(extra_env or {})
    # one SO_REUSEPORT socket per worker process (what `chaekieum serve --workers` runs)
    cmd = [sys.executable, "-m", "chaekieum.workers", "--host", HOST, "--port", str(port),
           "--workers", str(workers)]
    with open(log, "ab") as out:
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
    server = Server(proc, port, log)
    deadline = time.monotonic() + 90
    with httpx.Client(timeout=2.0) as client:
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"server exited ({proc.returncode}); see {log}")
            try:
                if client.get(f"http://{HOST}:{port}/api/v1/health").status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                server.stop()
                raise RuntimeError(f"server did not become healthy; see {log}")
            time.sleep(0.2)
    # every worker must be up (the first answer may come from one of several)
    time.sleep(1.0 if workers > 1 else 0.0)
    return server


# -- pgbench -----------------------------------------------------------------------------
def pgbench_args(url: str) -> tuple[list[str], dict[str, str]]:
    u = sa.engine.make_url(normalize_url(url))
    args = ["-h", u.host or "127.0.0.1", "-p", str(u.port or 5432)]
    if u.username:
        args += ["-U", u.username]
    env = dict(os.environ)
    if u.password:
        env["PGPASSWORD"] = u.password
    return args, env


def run_pgbench(url: str, *, clients: int, duration: float, scale: int,
                console: Console) -> tuple[float, str]:
    """TPC-B (pgbench's default script) on a throw-away database. Returns (tps, command)."""
    args, env = pgbench_args(url)
    pg_recreate_database(url, PGBENCH_DB)
    try:
        t0 = time.perf_counter()
        subprocess.run(["pgbench", "-i", "-q", "-s", str(scale), *args, PGBENCH_DB],
                       check=True, capture_output=True, env=env)
        console.print(f"pgbench -i -s {scale}: {time.perf_counter() - t0:.1f}s")
        threads = max(1, min(2, clients))
        cmd = ["pgbench", "-c", str(clients), "-j", str(threads), "-T",
               str(max(1, round(duration))), "-M", "prepared", *args, PGBENCH_DB]
        out = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env).stdout
    finally:
        pg_drop_database(url, PGBENCH_DB)
    m = re.search(r"tps = ([0-9.]+) \(without initial connection time\)", out)
    if not m:
        raise RuntimeError(f"could not parse pgbench output:\n{out}")
    return float(m.group(1)), " ".join(cmd)


# -- the whole benchmark -------------------------------------------------------------------
def fmt(x: float | None, digits: int = 1) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "na"
    return f"{x:.{digits}f}"


def result_line(res: LoadResult, *, pgbench_tps: float | None, clients: int, shape: Shape,
                db: str, slo_rate: float | None = None) -> str:
    ratio = res.tx_per_s / pgbench_tps if pgbench_tps else None
    line = (f"RESULT tx_per_s={fmt(res.tx_per_s)} p50_ms={fmt(res.percentile(50), 2)} "
            f"p99_ms={fmt(res.percentile(99), 2)} pgbench_tps={fmt(pgbench_tps)} "
            f"ratio={fmt(ratio, 3)} clients={clients} libraries={shape.libraries} "
            f"members={shape.members} db={db}")
    if res.rate is not None:
        line += f" rate={fmt(res.rate)} p999_ms={fmt(res.percentile(99.9), 2)}"
    if slo_rate is not None:
        line += f" slo_rate={fmt(slo_rate)}"
    return line


def slo_met(res: LoadResult, slo_ms: float) -> bool:
    """An offered rate holds the SLO when p99 (from the intended send times) is under
    it, every scheduled request was sent and answered, and nothing failed."""
    return (res.percentile(99) < slo_ms and res.unsent == 0 and not res.errors
            and res.rate is not None
            and (res.transactions + sum(res.refusals.values())) / res.seconds >= 0.95 * res.rate)


def find_slo_rate(load: Callable[[float], LoadResult], slo_ms: float, start: float,
                  console: Console, steps: int = 6) -> float:
    """The highest offered rate whose p99 stays under `slo_ms`, by bisection between 0
    and 1.5 × `start` (the closed-loop throughput): `steps` open-loop runs."""
    lo, hi = 0.0, max(10.0, 1.5 * start)
    for _ in range(steps):
        rate = (lo + hi) / 2
        res = load(rate)
        ok = slo_met(res, slo_ms)
        console.print(f"  offered {rate:7.1f}/s: achieved {res.tx_per_s:7.1f}/s, p99 "
                      f"{fmt(res.percentile(99), 1)} ms, unsent {res.unsent}: "
                      f"{'within' if ok else 'over'} {slo_ms:g} ms")
        lo, hi = (rate, hi) if ok else (lo, rate)
    return lo


def run(database_url: str | None, *, libraries: int = 2700, members: int = 1_000_000,
        clients: int = 32, duration: float = 30.0, copies_per_library: int = 40,
        workers: int = 2, reseed: bool = False, warmup: float | None = None,
        pgbench_scale: int | None = None, console: Console | None = None,
        seed: int = 1, server_env: dict[str, str] | None = None, rate: float | None = None,
        find_slo: float | None = None, slo_duration: float = 10.0) -> str:
    """Run the benchmark; print a table and the RESULT line (also returned)."""
    console = console or Console()
    shape = Shape(libraries, members, copies_per_library)
    postgres = bool(database_url) and is_postgres(database_url)
    db = "postgresql" if postgres else "sqlite"
    started = datetime.now(UTC)
    url = prepare(database_url, shape, reseed=reseed, console=console)
    log_dir = Path.cwd() / "var" / "bench"
    codes = library_codes(libraries)
    desks = make_desks(codes, clients, copies_per_library, random.Random(seed))
    warmup = min(5.0, max(1.0, duration / 5)) if warmup is None else warmup
    console.print(f"starting the hub: {workers} worker(s), {db}")
    server = start_server(url, workers=workers, clients=clients, log_dir=log_dir,
                          extra_env=server_env)
    database = sa.engine.make_url(normalize_url(url)).database if postgres else None
    marks: dict[str, dict] = {}

    def on_phase(phase: str) -> None:
        marks[phase] = cpu_snapshot(server.process.pid, database)

    slo_rate = None
    try:
        mode = f"open loop at {rate:g}/s" if rate else "closed loop"
        console.print(f"{clients} desks, {mode}: warm-up {warmup:.0f}s, then {duration:.0f}s "
                      "measured")
        res = run_load(HOST, server.port, desks, codes, members, duration=duration,
                       warmup=warmup, seed=seed, rate=rate, on_phase=on_phase)
        if find_slo:
            console.print(f"searching the highest offered rate with p99 < {find_slo:g} ms "
                          f"({slo_duration:.0f}s runs)")
            slo_rate = find_slo_rate(
                lambda r: run_load(HOST, server.port, desks, codes, members,
                                   duration=slo_duration, warmup=min(2.0, warmup), seed=seed,
                                   rate=r),
                find_slo, rate or res.tx_per_s, console)
    finally:
        server.stop()
    cpu = cpu_used(marks["measure"], marks["stop"]) if "stop" in marks else {}
    load_avg = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    pgbench_tps = None
    pgbench_cmd = ""
    if postgres:
        scale = pgbench_scale or max(10, clients)
        console.print(f"pgbench TPC-B: scale {scale}, {clients} clients, {duration:.0f}s")
        pgbench_tps, pgbench_cmd = run_pgbench(database_url, clients=clients,
                                               duration=duration, scale=scale,
                                               console=console)
    _print_table(console, res, pgbench_tps, pgbench_cmd, shape, clients, workers, db, started,
                 cpu, load_avg)
    line = result_line(res, pgbench_tps=pgbench_tps, clients=clients, shape=shape, db=db,
                       slo_rate=slo_rate)
    console.file.flush()
    sys.stdout.write(line + "\n")
    sys.stdout.flush()
    return line


def code_revision() -> str:
    """git revision of the code under test (+dirty when the working tree has changes)."""
    root = Path(__file__).resolve().parents[3]
    try:
        rev = subprocess.run(["git", "-C", str(root), "rev-parse", "--short", "HEAD"],
                             capture_output=True, text=True, timeout=5).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--", "src"],
                               capture_output=True, text=True, timeout=5).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return (rev + ("+dirty" if dirty else "")) if rev else "unknown"


def _print_table(console: Console, res: LoadResult, pgbench_tps: float | None, pgbench_cmd: str,
                 shape: Shape, clients: int, workers: int, db: str, started: datetime,
                 cpu: dict[str, float], load_avg: float) -> None:
    table = Table(title=f"bench checkout — {db}, {started:%Y-%m-%d %H:%M} UTC")
    table.add_column("measure")
    table.add_column("value", justify="right")
    rows = [
        ("libraries / members / copies",
         f"{shape.libraries:,} / {shape.members:,} / "
         f"{shape.libraries * shape.copies_per_library:,}"),
        ("clients (desks) / server workers", f"{clients} / {workers}"),
        ("code revision", code_revision()),
        ("measured seconds", fmt(res.seconds, 1)),
        ("checkouts + checkins", f"{res.checkouts:,} + {res.checkins:,}"),
        ("transactions/s", fmt(res.tx_per_s)),
        ("load", "closed loop" if res.rate is None else
         f"open loop, {fmt(res.rate)}/s offered (latency from the intended send time)"),
        ("latency p50 / p95 / p99 / p99.9 (ms)",
         f"{fmt(res.percentile(50), 2)} / {fmt(res.percentile(95), 2)} / "
         f"{fmt(res.percentile(99), 2)} / {fmt(res.percentile(99.9), 2)}"),
        ("latency max (ms)", fmt(max(res.tx_latencies_ms, default=float("nan")), 1)),
        ("refusals (business answers)",
         ", ".join(f"{k} {v}" for k, v in res.refusals.most_common()) or "0"),
        ("errors", ", ".join(f"{k} {v}" for k, v in res.errors.most_common()) or "0"),
    ]
    if cpu and res.transactions:
        per_tx = {k: v * 1000 / res.transactions for k, v in cpu.items()}
        others = (cpu["machine"] - cpu["server"] - cpu["postgres"] - cpu["driver"]) / res.seconds
        rows += [
            ("CPU ms per tx: server / PostgreSQL / driver",
             f"{per_tx['server']:.2f} / {per_tx['postgres']:.2f} / {per_tx['driver']:.2f}"),
            ("cores busy: server / PostgreSQL / driver",
             f"{cpu['server'] / res.seconds:.2f} / {cpu['postgres'] / res.seconds:.2f} / "
             f"{cpu['driver'] / res.seconds:.2f}"),
            ("cores busy with other processes", f"{max(0.0, others):.2f} of {os.cpu_count()}"),
            ("load average (1 min) at the end", f"{load_avg:.1f}"),
        ]
    if pgbench_tps is not None:
        ratio = res.tx_per_s / pgbench_tps
        rows += [
            ("pgbench TPC-B tps", fmt(pgbench_tps)),
            ("ratio (target >= 0.5)", f"{ratio:.3f} {'met' if ratio >= TARGET_RATIO else 'NOT met'}"),
            ("p99 target < 50 ms",
             "met" if res.percentile(99) < TARGET_P99_MS else "NOT met"),
            ("pgbench command", pgbench_cmd),
        ]
    else:
        rows.append(("target >= 500 tx/s (SQLite)",
                     "met" if res.tx_per_s >= TARGET_SQLITE_TPS else "NOT met"))
    for k, v in rows:
        table.add_row(k, v)
    console.print(table)
