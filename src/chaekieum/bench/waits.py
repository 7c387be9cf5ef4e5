"""`chaekieum bench waits`: what the hub's two ways of waiting for PostgreSQL cost.

A circulation write either runs in a request thread (a synchronous psycopg connection;
the event loop hands it over and gets the answer back), or on the event loop itself
(`Database.on_loop`: the same code in a greenlet, on psycopg's asynchronous connection,
each wait for the server a switch back to the loop). The API's fast path uses the loop
on PostgreSQL; this measures the two side by side in one process, with the hub's own
checkout and checkin (rules, row locks, pipeline, audit) on a small bench network:

- transactions per second, with 8 desks writing at once (`server.POSTGRES_THREADS`
  request threads in the thread mode);
- the process's CPU per transaction (getrusage: every thread's);
- its context switches per transaction.

The modes alternate, so a ratio within one round holds when the machine's speed drifts.
HTTP is left out (`bench checkout` measures the whole service, and takes
CHAEKIEUM_WRITES_ON_LOOP=0 for the thread mode).
"""

from __future__ import annotations

import asyncio
import resource
import time
from collections.abc import Callable
from dataclasses import dataclass

import anyio
from rich.console import Console

from ..services.circulation import CheckinRequest, CheckoutRequest
from ..services.context import Actor, Role
from ..services.hub import Hub
from .seed import Shape, key_id, library_codes, member_number, reg_no, seed

DESKS = 8  # the hub's request threads per process on PostgreSQL (server.POSTGRES_THREADS)
SHAPE = Shape(libraries=DESKS, members=DESKS * 10, copies_per_library=20)
MODES = ("threads", "loop")


@dataclass
class Figures:
    tx_per_s: float
    cpu_us: float  # CPU per transaction
    switches: float  # context switches per transaction


def _usage() -> tuple[float, int]:
    used = resource.getrusage(resource.RUSAGE_SELF)
    return used.ru_utime + used.ru_stime, used.ru_nvcsw + used.ru_nivcsw


def _desks(hub: Hub) -> list[Callable[[], None]]:
    """One loan and its return a call, for each desk: its own library, member and copy."""
    desks = []
    for code in library_codes(SHAPE.libraries):
        actor = Actor(Role.LIBRARY_SYSTEM, f"key:{key_id(code)}", "api", code)
        item = f"${code}{reg_no(0)}"

        # the library's first member (bench.seed numbers each library's from 1)
        def desk(actor: Actor = actor, member: str = member_number(code, 1),
                 item: str = item) -> None:
            hub.circulation.checkout(actor, CheckoutRequest(member, item))
            hub.circulation.checkin(actor, CheckinRequest(item))

        desks.append(desk)
    return desks


async def _run(hub: Hub, desks: list[Callable[[], None]], mode: str, seconds: float
               ) -> Figures:
    limiter = anyio.CapacityLimiter(len(desks))
    done = [0]
    deadline = time.monotonic() + seconds

    async def desk(work: Callable[[], None]) -> None:
        while time.monotonic() < deadline:
            if mode == "loop":
                await hub.db.on_loop(work)
            else:
                await anyio.to_thread.run_sync(work, limiter=limiter)
            done[0] += 2

    cpu, switches = _usage()
    started = time.perf_counter()
    await asyncio.gather(*(desk(w) for w in desks))
    wall = time.perf_counter() - started
    used, switched = _usage()
    n = max(1, done[0])
    return Figures(n / wall, (used - cpu) / n * 1e6, (switched - switches) / n)


def run(url: str, *, rounds: int = 3, seconds: float = 10.0,
        console: Console | None = None) -> str:
    """Seed the bench network into the (empty) database `url`, alternate the modes
    `rounds` times; print each run and the RESULT line."""
    console = console or Console()
    seed(url, SHAPE, console)
    hub = Hub(url, secret=b"bench-waits")
    desks = _desks(hub)
    by_mode: dict[str, list[Figures]] = {m: [] for m in MODES}

    async def rounds_() -> None:
        for mode in MODES:  # warm-up: loans on record, caches
            await _run(hub, desks, mode, min(2.0, seconds / 2))
        # the statistics of a fresh network have no loans, and a plan made from them
        # (a prepared statement's generic plan) would scan the loans: analyze, then
        # prepare again on new connections
        with hub.db.write() as conn:
            conn.exec_driver_sql("ANALYZE")
        hub.db.engine.dispose()
        await hub.db.close_loop()
        for mode in MODES:  # connections, prepared statements
            await _run(hub, desks, mode, min(2.0, seconds / 2))
        for r in range(1, rounds + 1):
            for mode in MODES:
                f = await _run(hub, desks, mode, seconds)
                by_mode[mode].append(f)
                console.print(f"round {r} {mode:7s}: {f.tx_per_s:8.1f} tx/s, CPU "
                              f"{f.cpu_us:6.1f} µs/tx, {f.switches:5.1f} context switches/tx")
        await hub.db.close_loop()

    try:
        asyncio.run(rounds_())
    finally:
        hub.close()

    def mean(mode: str, attr: str) -> float:
        values = [getattr(f, attr) for f in by_mode[mode]]
        return sum(values) / len(values)

    line = (f"RESULT threads_cpu_us={mean('threads', 'cpu_us'):.1f} "
            f"loop_cpu_us={mean('loop', 'cpu_us'):.1f} "
            f"cpu_ratio={mean('loop', 'cpu_us') / mean('threads', 'cpu_us'):.3f} "
            f"threads_switches={mean('threads', 'switches'):.1f} "
            f"loop_switches={mean('loop', 'switches'):.1f} "
            f"rate_ratio={mean('loop', 'tx_per_s') / mean('threads', 'tx_per_s'):.3f} "
            f"rounds={rounds}")
    print(line, flush=True)
    return line
