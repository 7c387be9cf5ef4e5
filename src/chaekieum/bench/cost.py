"""`chaekieum bench cost`: CPU cost of one circulation transaction, and the ceiling it sets.

`bench checkout` measures throughput under load, where the figure swings with whatever
else the machine runs. This measures what a transaction costs, one at a time, with no
sockets and no contention, in this process:

1. the service call alone (`Circulation.checkout` / `.checkin`);
2. the whole HTTP application (the same FastAPI app, called in-process through ASGI:
   routing, auth, JSON, validation, thread hand-off, response);
3. on PostgreSQL, the CPU of the database backends serving those calls (/proc).

From these it prints the **ceiling**: transactions per second this machine could reach if
its cores did nothing but the HTTP application and the database (no load driver, no
network, no scheduling losses) - `cores / (http + database CPU per transaction)` - and, on
PostgreSQL, that ceiling as a fraction of the same cluster's pgbench TPC-B tps. The real
throughput under load is always below it.
"""

from __future__ import annotations

import asyncio
import os
import random
import time
from dataclasses import dataclass

import sqlalchemy as sa
from rich.console import Console
from rich.table import Table

from ..services.circulation import CheckinRequest, CheckoutRequest
from ..services.context import Actor, Role
from ..store.db import normalize_url
from .checkout import cpu_snapshot, cpu_used, fmt, run_pgbench
from .seed import Shape, api_key, barcode, is_postgres, library_codes, prepare, random_member

CHECKOUT = "/api/v1/circulation/checkout"
CHECKIN = "/api/v1/circulation/checkin"


@dataclass
class Cost:
    """CPU milliseconds per transaction (a checkout or a checkin) of one layer."""

    transactions: int
    app_ms: float  # this process: Python, the driver, SQLite itself
    db_ms: float  # PostgreSQL backends (0 on SQLite: it runs inside the process)
    wall_ms: float


class _Pairs:
    """Checkout of a random member then checkin, over one library's copies."""

    def __init__(self, codes: list[str], members: int, library: str, copies: int, seed: int):
        self.codes, self.members, self.library = codes, members, library
        self.items = [barcode(library, j) for j in range(copies)]
        self.rng = random.Random(seed)
        self.n = 0

    def next(self) -> tuple[str, str]:
        member = random_member(self.rng, self.codes, self.members)
        item = self.items[self.n % len(self.items)]
        self.n += 1
        return member, item


class _Meter:
    """CPU of this process and of the database backends, and wall time, over a span."""

    def __init__(self, database: str | None):
        self.database = database
        self.before = cpu_snapshot(os.getpid(), database)
        self.cpu, self.wall = time.process_time(), time.perf_counter()

    def cost(self, transactions: int) -> Cost:
        cpu, wall = time.process_time() - self.cpu, time.perf_counter() - self.wall
        db = (cpu_used(self.before, cpu_snapshot(os.getpid(), self.database))["postgres"]
              if self.database else 0.0)
        per = 1000 / transactions
        return Cost(transactions, cpu * per, db * per, wall * per)


def _service_cost(hub, plan: _Pairs, pairs: int, warmup: int, database: str | None) -> Cost:  # noqa: ANN001
    actor = Actor(Role.LIBRARY_SYSTEM, f"key:bench{plan.library}", "api", plan.library)

    def pair() -> None:
        member, item = plan.next()
        hub.circulation.checkout(actor, CheckoutRequest(member, item))
        hub.circulation.checkin(actor, CheckinRequest(item))

    for _ in range(warmup):
        pair()
    meter = _Meter(database)
    for _ in range(pairs):
        pair()
    return meter.cost(2 * pairs)


def _http_cost(hub, plan: _Pairs, pairs: int, warmup: int, database: str | None) -> Cost:  # noqa: ANN001
    from ..server import create_app

    app = create_app(hub, with_web=False)
    token = f"Bearer {api_key(plan.library)}".encode()

    async def call(path: str, body: bytes) -> None:
        scope = {
            "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
            "method": "POST", "scheme": "http", "path": path, "raw_path": path.encode(),
            "query_string": b"", "root_path": "", "client": ("127.0.0.1", 1),
            "server": ("127.0.0.1", 80),
            "headers": [(b"host", b"bench"), (b"authorization", token),
                        (b"content-type", b"application/json"),
                        (b"content-length", str(len(body)).encode())],
        }
        delivered = False
        status: list[int] = []

        async def receive() -> dict:
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": body, "more_body": False}
            await asyncio.Event().wait()  # the client never disconnects
            raise AssertionError("unreachable")

        async def send(message: dict) -> None:
            if message["type"] == "http.response.start":
                status.append(message["status"])

        await app(scope, receive, send)
        if status != [200]:
            raise RuntimeError(f"{path} answered {status}")

    async def pair() -> None:
        member, item = plan.next()
        await call(CHECKOUT, b'{"member":"%s","item":"%s"}' % (member.encode(), item.encode()))
        await call(CHECKIN, b'{"item":"%s"}' % item.encode())

    async def main() -> Cost:
        async with app.router.lifespan_context(app):
            for _ in range(warmup):
                await pair()
            meter = _Meter(database)
            for _ in range(pairs):
                await pair()
            return meter.cost(2 * pairs)

    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvicorn[standard] brings it
        return asyncio.run(main())
    return uvloop.run(main())


def run(database_url: str | None, *, libraries: int = 2700, members: int = 1_000_000,
        copies_per_library: int = 40, transactions: int = 4000, pgbench: bool = True,
        pgbench_clients: int = 32, pgbench_seconds: float = 15.0, seed: int = 1,
        console: Console | None = None) -> str:
    """Measure; print a table and the RESULT line (also returned)."""
    from ..services.hub import Hub

    console = console or Console()
    shape = Shape(libraries, members, copies_per_library)
    postgres = bool(database_url) and is_postgres(database_url)
    url = prepare(database_url, shape, console=console)
    database = sa.engine.make_url(normalize_url(url)).database if postgres else None
    codes = library_codes(libraries)
    library = random.Random(seed).choice(codes)
    pairs = max(1, transactions // 2)
    warmup = max(10, pairs // 10)
    hub = Hub(url, secret=b"bench-cost-secret-" + b"0" * 16, pool_size=2)
    try:
        console.print(f"{2 * pairs:,} transactions through the services, then through the "
                      f"HTTP application, at library {library}")
        service = _service_cost(hub, _Pairs(codes, members, library, copies_per_library, seed),
                                pairs, warmup, database)
        http = _http_cost(hub, _Pairs(codes, members, library, copies_per_library, seed + 1),
                          pairs, warmup, database)
    finally:
        hub.close()
    cores = os.cpu_count() or 1
    ceiling = cores * 1000 / (http.app_ms + http.db_ms)
    pgbench_tps = None
    if postgres and pgbench:
        pgbench_tps, _ = run_pgbench(database_url, clients=pgbench_clients,
                                     duration=pgbench_seconds,
                                     scale=max(10, pgbench_clients), console=console)
    ratio = ceiling / pgbench_tps if pgbench_tps else None
    table = Table(title=f"bench cost — {'postgresql' if postgres else 'sqlite'}, "
                        f"{shape.libraries:,} libraries / {shape.members:,} members")
    for column in ("layer", "app CPU ms/tx", "database CPU ms/tx", "wall ms/tx"):
        table.add_column(column, justify="right" if column != "layer" else "left")
    for name, cost in (("services", service), ("HTTP application (in-process)", http)):
        table.add_row(name, fmt(cost.app_ms, 3), fmt(cost.db_ms, 3) if postgres else "—",
                      fmt(cost.wall_ms, 3))
    console.print(table)
    console.print(f"ceiling on {cores} cores: {ceiling:,.0f} tx/s"
                  + (f" = {ratio:.3f} × pgbench TPC-B ({pgbench_tps:,.1f} tps, "
                     f"{pgbench_clients} clients)" if ratio is not None else ""))
    line = (f"RESULT service_cpu_ms={fmt(service.app_ms, 3)} http_cpu_ms={fmt(http.app_ms, 3)} "
            f"db_cpu_ms={fmt(http.db_ms, 3) if postgres else 'na'} cores={cores} "
            f"ceiling_tx_per_s={fmt(ceiling)} pgbench_tps={fmt(pgbench_tps)} "
            f"ceiling_ratio={fmt(ratio, 3)} db={'postgresql' if postgres else 'sqlite'}")
    console.file.flush()
    print(line, flush=True)
    return line
