"""`chaekieum bench snapshot`: what the connectors' offline snapshots cost the hub.

Every library connector keeps a snapshot for its offline gates (docs/connector.md): a
delta every `snapshot_interval` (30 s), a full pass of its own members every
`snapshot_full_interval` (900 s) and a full pass of everything (own members and every
member blocked network-wide) every `snapshot_blocked_interval` (a day). With 2,700
connectors that is 90 deltas and 3 own-member passes a second. This measures, on a
national-scale bench network, the CPU each kind of request costs (this process: services, driver, JSON; on PostgreSQL also the
database backends serving it, from /proc), the rows and bytes a full pass sends, and
from them the cores the hub spends on 2,700 connectors at the default intervals.

The network: the seeded bench network (`bench/seed.py`), then `--blocked` of its
members blocked network-wide (suspended; every 25th of them card lost instead) and one
active loan on every copy, spread over the members. Last line:
`RESULT all_pass_cpu_ms=… all_pass_rows=… own_pass_cpu_ms=… own_pass_rows=… delta_cpu_ms=…
hub_cores=…`
"""

from __future__ import annotations

import json
import os
import random
import time
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from rich.console import Console
from rich.table import Table

from ..services.context import Actor, Role
from ..store.db import normalize_url
from .checkout import cpu_snapshot, cpu_used, fmt
from .seed import Shape, is_postgres, library_codes, prepare

CONNECTORS = 2700
DELTA_INTERVAL_S = 30.0  # connector defaults (connector/config.py)
FULL_INTERVAL_S = 900.0  # full pass of own members
ALL_INTERVAL_S = 86400.0  # full pass of everything
PAGE = 2000  # the connector's page size
CHANGED_PER_DELTA = 100  # members changed network-wide in a delta's window


def _block_and_lend(url: str, members: int, blocked: float, today) -> int:  # noqa: ANN001
    """Block a share of the members and put one active loan on every copy; return the
    number of blocked members."""
    every = max(1, round(1 / blocked)) if blocked > 0 else 0
    engine = sa.create_engine(normalize_url(url))
    try:
        with engine.begin() as conn:
            conn.execute(sa.text("UPDATE members SET card_lost = false WHERE card_lost"))
            if every:
                conn.execute(sa.text(
                    "UPDATE members SET suspended_until = :until "
                    "WHERE id % :every = 0 AND id % (:every * 25) <> 0"),
                    {"until": today + timedelta(days=30), "every": every})
                conn.execute(sa.text(
                    "UPDATE members SET card_lost = true WHERE id % (:every * 25) = 0"),
                    {"every": every})
            now = datetime.now(UTC).replace(tzinfo=None)
            conn.execute(sa.text(
                "INSERT INTO loans (copy_id, member_id, library_code, owner_library, state, "
                "loaned_at, loaned_on, due_on, renewals, channel, actor, offline, "
                "history_hidden) "
                "SELECT id, (id * 7919) % :members + 1, library_code, library_code, 'active', "
                ":now, :today, :due, 0, 'api', 'system:bench', false, false FROM copies"),
                {"members": members, "now": now, "today": today,
                 "due": today + timedelta(days=14)})
            count = conn.execute(sa.text(
                "SELECT count(*) FROM members WHERE card_lost OR suspended_until >= :today"),
                {"today": today}).scalar_one()
    finally:
        engine.dispose()
    return int(count)


def _touch(url: str, members: int, n: int, rng: random.Random) -> None:
    """Make exactly n random members the ones changed in a delta's window (the members
    changed before are moved back an hour)."""
    ids = [rng.randrange(members) + 1 for _ in range(n)]
    now = datetime.now(UTC).replace(tzinfo=None)
    engine = sa.create_engine(normalize_url(url))
    try:
        with engine.begin() as conn:
            conn.execute(sa.text("UPDATE members SET updated_at = :old WHERE updated_at > :cut"),
                         {"old": now - timedelta(hours=1), "cut": now - timedelta(minutes=30)})
            conn.execute(sa.text("UPDATE members SET updated_at = :now WHERE id = :id"),
                         [{"now": now, "id": i} for i in ids])
    finally:
        engine.dispose()


class _Span:
    """CPU seconds of this process and of the database backends, and wall time."""

    def __init__(self, database: str | None):
        self.database = database
        self.before = cpu_snapshot(os.getpid(), database)
        self.cpu, self.wall = time.process_time(), time.perf_counter()

    def stop(self) -> tuple[float, float, float]:
        cpu, wall = time.process_time() - self.cpu, time.perf_counter() - self.wall
        db = (cpu_used(self.before, cpu_snapshot(os.getpid(), self.database))["postgres"]
              if self.database else 0.0)
        return cpu, db, wall


def _full_pass(hub, actor: Actor, own_only: bool) -> tuple[int, int]:  # noqa: ANN001
    """One full pass as a connector makes it: pages until no more. (rows, JSON bytes)"""
    rows = size = after = 0
    while True:
        page = hub.snapshot.page(actor, None, after, PAGE, own_only)
        rows += len(page["members"])
        size += len(json.dumps(page, ensure_ascii=False).encode())
        after = page["next_after"]
        if not page["has_more"]:
            return rows, size


def _mean_ms(spans: list[tuple[float, float, float]], i: int) -> float:
    """Mean milliseconds per request: CPU from /proc ticks (10 ms) only adds up over many
    requests, so the spans are summed, not their median taken."""
    return sum(s[i] for s in spans) * 1000 / len(spans)


def run(database_url: str | None, *, libraries: int = 2700, members: int = 1_000_000,
        copies_per_library: int = 40, blocked: float = 0.05, passes: int = 3,
        deltas: int = 50, seed: int = 1, console: Console | None = None) -> str:
    """Measure; print a table and the RESULT line (also returned)."""
    from ..services.hub import Hub

    console = console or Console()
    if not 0 <= blocked < 1:
        raise ValueError("--blocked is a share of the members: 0 ≤ blocked < 1")
    shape = Shape(libraries, members, copies_per_library)
    postgres = bool(database_url) and is_postgres(database_url)
    url = prepare(database_url, shape, console=console)
    database = sa.engine.make_url(normalize_url(url)).database if postgres else None
    library = random.Random(seed).choice(library_codes(libraries))
    hub = Hub(url, secret=b"bench-snapshot-secret-" + b"0" * 10, pool_size=2)
    measured: dict[str, tuple[list, int, int]] = {}  # kind -> (spans, rows, bytes)
    try:
        n_blocked = _block_and_lend(url, members, blocked, hub.clock.today())
        actor = Actor(Role.LIBRARY_SYSTEM, f"key:bench{library}", "api", library)
        console.print(f"{n_blocked:,} members blocked network-wide, one active loan on each of "
                      f"{libraries * copies_per_library:,} copies; connector of library {library}")
        for kind, own_only, n in (("all", False, passes), ("own", True, passes * 10)):
            _full_pass(hub, actor, own_only)  # warm the caches, as a running hub has them
            spans = []
            for _ in range(n):
                span = _Span(database)
                rows, size = _full_pass(hub, actor, own_only)
                spans.append(span.stop())
            measured[kind] = (spans, rows, size)
        rng = random.Random(seed)
        spans = []
        for _ in range(deltas):
            _touch(url, members, CHANGED_PER_DELTA, rng)
            since = datetime.now(UTC) - timedelta(seconds=DELTA_INTERVAL_S)
            span = _Span(database)
            page = hub.snapshot.page(actor, since, 0, PAGE)
            spans.append(span.stop())
        measured["delta"] = (spans, len(page["members"]),
                             len(json.dumps(page, ensure_ascii=False).encode()))
    finally:
        hub.close()

    per_s = {"all": CONNECTORS / ALL_INTERVAL_S, "own": CONNECTORS / FULL_INTERVAL_S,
             "delta": CONNECTORS / DELTA_INTERVAL_S}
    cpu_ms = {k: _mean_ms(spans, 0) + _mean_ms(spans, 1) for k, (spans, _, _) in measured.items()}
    cores = {k: per_s[k] * cpu_ms[k] / 1000 for k in measured}
    before = CONNECTORS / FULL_INTERVAL_S * cpu_ms["all"] / 1000 + cores["delta"]
    table = Table(title=f"bench snapshot — {'postgresql' if postgres else 'sqlite'}, "
                        f"{libraries:,} libraries / {members:,} members")
    for column in ("request", "rows", "KB", "app CPU ms", "database CPU ms", "wall ms",
                   f"per s for {CONNECTORS:,}", "cores"):
        table.add_column(column, justify="right")
    names = {"all": "full pass, everything", "own": "full pass, own members",
             "delta": "delta"}
    for kind, (spans, rows, size) in measured.items():
        table.add_row(names[kind], f"{rows:,}", fmt(size / 1024), fmt(_mean_ms(spans, 0), 2),
                      fmt(_mean_ms(spans, 1), 2) if postgres else "—",
                      fmt(_mean_ms(spans, 2), 2), fmt(per_s[kind], 3), fmt(cores[kind], 2))
    console.print(table)
    total = sum(cores.values())
    console.print(
        f"the hub spends {total:.2f} cores on {CONNECTORS:,} connectors' snapshots (everything "
        f"every {ALL_INTERVAL_S:.0f} s, own members every {FULL_INTERVAL_S:.0f} s, delta every "
        f"{DELTA_INTERVAL_S:.0f} s); full passes of everything every {FULL_INTERVAL_S:.0f} s "
        f"would cost {before:.2f}")
    line = (f"RESULT all_pass_cpu_ms={fmt(cpu_ms['all'])} all_pass_rows={measured['all'][1]} "
            f"own_pass_cpu_ms={fmt(cpu_ms['own'], 2)} own_pass_rows={measured['own'][1]} "
            f"delta_cpu_ms={fmt(cpu_ms['delta'], 2)} hub_cores={fmt(total, 2)} "
            f"db={'postgresql' if postgres else 'sqlite'}")
    console.file.flush()
    print(line, flush=True)
    return line
