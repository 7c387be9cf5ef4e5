"""`chaekieum bench sip2`: SIP2 checkout+checkin throughput beside the REST API's.

1. prepare the database: migrate, load the demo network if empty, then bench members,
   copies and terminal accounts (bulk inserts; re-runs re-use them and close loans an
   interrupted run left open);
2. start the whole service (uvicorn + ``chaekieum.server:app_from_env``, REST API and
   SIP2 in one process, one event loop) on free ports in a subprocess;
3. drive ``terminals`` concurrent SIP2 kiosks for ``duration`` seconds (each: login once,
   then checkout / checkin of its own items in a loop), then the same number of
   concurrent REST clients doing the same through POST /api/v1/circulation/*;
4. print a table and, last, ``RESULT sip2_tps=... rest_tps=... ratio=...``.

A transaction is one successful checkout or one successful checkin.
"""

from __future__ import annotations

import asyncio
import os
import socket
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
from argon2 import PasswordHasher
from sqlalchemy import insert, select, update

from ..services import demo
from ..services.context import Actor, Role
from ..services.hub import Hub
from ..services.members import Registration
from ..sip2.client import AsyncSip2Client
from ..store.tables import copies, loans, members, sip2_terminals

HOST = "127.0.0.1"
LIBRARY = "111001"
ITEMS_PER_CLIENT = 10  # each client cycles through its own items
TARGET_RATIO = 0.8
SECRET = "chaekieum-bench-secret"


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


@dataclass
class Phase:
    name: str
    transactions: int = 0
    failures: int = 0
    elapsed: float = 0.0
    latencies: list[float] = field(default_factory=list)

    @property
    def tps(self) -> float:
        return self.transactions / self.elapsed if self.elapsed else 0.0

    def percentile(self, p: float) -> float:
        if not self.latencies:
            return 0.0
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(p * len(ordered)))] * 1000

    def as_dict(self) -> dict[str, Any]:
        return {"transactions": self.transactions, "failures": self.failures,
                "seconds": round(self.elapsed, 2), "tps": round(self.tps, 1),
                "p50_ms": round(self.percentile(0.5), 1),
                "p99_ms": round(self.percentile(0.99), 1),
                "mean_ms": round(statistics.fmean(self.latencies) * 1000, 1)
                if self.latencies else 0.0}


# -- preparation ----------------------------------------------------------------------------


def _bench_members(hub: Hub, prefix: str, count: int) -> list[str]:
    with hub.db.read() as conn:
        have = conn.scalars(select(members.c.number).where(members.c.name.like(f"{prefix}%"))
                            .order_by(members.c.id)).all()
    actor = Actor(Role.SYSTEM, "system:bench", "cli", LIBRARY)
    for i in range(len(have), count):
        have.append(hub.members.register(actor, Registration(
            name=f"{prefix}{i:04d}", birth_year=1990))["number"])
    return list(have[:count])


def _bench_items(hub: Hub, letters: str, clients: int) -> list[list[str]]:
    now = hub.clock.now()
    plan = [[f"{letters}{c:05d}{k:05d}" for k in range(ITEMS_PER_CLIENT)]
            for c in range(clients)]
    wanted = [reg for regs in plan for reg in regs]
    with hub.db.write() as conn:
        have = set(conn.scalars(select(copies.c.reg_no).where(
            copies.c.library_code == LIBRARY, copies.c.reg_no.like(f"{letters}%"))))
        new = [{"library_code": LIBRARY, "reg_no": reg, "title": f"벤치마크 도서 {reg}",
                "loanable": True, "updated_at": now} for reg in wanted if reg not in have]
        if new:
            conn.execute(insert(copies), new)
        ids = select(copies.c.id).where(copies.c.library_code == LIBRARY,
                                        copies.c.reg_no.like(f"{letters}%"))
        # loans an interrupted run left open would make the first checkouts fail
        conn.execute(update(loans).where(loans.c.copy_id.in_(ids), loans.c.state == "active")
                     .values(state="returned", returned_at=now, return_library=LIBRARY))
    return [[f"${LIBRARY}{reg}" for reg in regs] for regs in plan]


def _bench_terminals(hub: Hub, count: int) -> list[tuple[str, str]]:
    logins = [(f"bench-sip2-{i:03d}", f"bench-pass-{i:03d}") for i in range(count)]
    # cheap argon2 parameters: the bench measures circulation, not 50 password hashes
    hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    now = hub.clock.now()
    with hub.db.write() as conn:
        have = set(conn.scalars(select(sip2_terminals.c.login).where(
            sip2_terminals.c.login.like("bench-sip2-%"))))
        rows = [{"login": login, "password_hash": hasher.hash(pw), "library_code": LIBRARY,
                 "label": "benchmark", "encoding": "utf-8", "terminator": "CR",
                 "error_detection": True, "created_at": now}
                for login, pw in logins if login not in have]
        if rows:
            conn.execute(insert(sip2_terminals), rows)
    return logins


def prepare(database_url: str, terminals: int) -> dict[str, Any]:
    hub = Hub(database_url, secret=SECRET.encode())
    try:
        hub.migrate()
        demo.load(hub)
        return {
            "sip2_members": _bench_members(hub, "벤치SIP", terminals),
            "rest_members": _bench_members(hub, "벤치REST", terminals),
            "sip2_items": _bench_items(hub, "BS", terminals),
            "rest_items": _bench_items(hub, "BR", terminals),
            "terminals": _bench_terminals(hub, terminals),
        }
    finally:
        hub.close()


# -- the service under test -----------------------------------------------------------------


class Service:
    """The whole service (REST + SIP2 in one uvicorn process) on free ports."""

    def __init__(self, database_url: str, pool_size: int = 10):
        self.port, self.sip2_port = free_port(), free_port()
        self.url = f"http://{HOST}:{self.port}"
        env = dict(os.environ, CHAEKIEUM_DATABASE_URL=database_url,
                   CHAEKIEUM_SIP2_PORT=str(self.sip2_port), CHAEKIEUM_SIP2_HOST=HOST,
                   CHAEKIEUM_SECRET_KEY=SECRET, CHAEKIEUM_POOL_SIZE=str(pool_size))
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "--factory", "chaekieum.server:app_from_env",
             "--host", HOST, "--port", str(self.port), "--log-level", "warning",
             "--no-access-log"], env=env)

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"service exited with {self.proc.returncode}")
            try:
                httpx.get(f"{self.url}/api/v1/health", timeout=2).raise_for_status()
                with socket.create_connection((HOST, self.sip2_port), timeout=2):
                    return
            except (httpx.HTTPError, OSError):
                time.sleep(0.2)
        raise RuntimeError("service did not start")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


# -- load -----------------------------------------------------------------------------------


async def sip2_load(port: int, logins: list[tuple[str, str]], members_: list[str],
                    items: list[list[str]], duration: float) -> Phase:
    phase = Phase("SIP2")
    clients = [await AsyncSip2Client.connect(HOST, port) for _ in logins]
    for c, (login, pw) in zip(clients, logins, strict=True):
        if not await c.login(login, pw):
            raise RuntimeError(f"SIP2 login refused for {login}")
    deadline = time.perf_counter() + duration

    async def kiosk(c: AsyncSip2Client, member: str, own: list[str]) -> None:
        k = 0
        while time.perf_counter() < deadline:
            item = own[k % len(own)]
            k += 1
            for frame in (c.checkout_frame(member, item), c.checkin_frame(item)):
                t0 = time.perf_counter()
                r = await c.request(frame)
                phase.latencies.append(time.perf_counter() - t0)
                if r.fixed.get("ok") == "1":
                    phase.transactions += 1
                else:
                    phase.failures += 1

    start = time.perf_counter()
    await asyncio.gather(*(kiosk(c, m, own) for c, m, own
                           in zip(clients, members_, items, strict=True)))
    phase.elapsed = time.perf_counter() - start
    await asyncio.gather(*(c.close() for c in clients))
    return phase


async def rest_load(url: str, members_: list[str], items: list[list[str]], duration: float
                    ) -> Phase:
    phase = Phase("REST")
    key = "ck_{}_{}".format(*demo.api_key_secret(LIBRARY))
    limits = httpx.Limits(max_connections=len(members_), max_keepalive_connections=len(members_))
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=60,
                                 headers={"Authorization": f"Bearer {key}"}) as http:
        (await http.get("/api/v1/health")).raise_for_status()
        deadline = time.perf_counter() + duration

        async def desk(member: str, own: list[str]) -> None:
            k = 0
            while time.perf_counter() < deadline:
                item = own[k % len(own)]
                k += 1
                for path, body in (("/api/v1/circulation/checkout",
                                    {"member": member, "item": item}),
                                   ("/api/v1/circulation/checkin", {"item": item})):
                    t0 = time.perf_counter()
                    r = await http.post(path, json=body)
                    phase.latencies.append(time.perf_counter() - t0)
                    if r.status_code == 200:
                        phase.transactions += 1
                    else:
                        phase.failures += 1

        start = time.perf_counter()
        await asyncio.gather(*(desk(m, own) for m, own in zip(members_, items, strict=True)))
        phase.elapsed = time.perf_counter() - start
    return phase


def _table(result: dict[str, Any]) -> str:
    rows = [("", "SIP2", "REST")]
    for key in ("transactions", "failures", "seconds", "tps", "p50_ms", "p99_ms", "mean_ms"):
        rows.append((key, str(result["sip2"][key]), str(result["rest"][key])))
    width = [max(len(r[i]) for r in rows) for i in range(3)]
    return "\n".join("  ".join(cell.rjust(width[i]) if i else cell.ljust(width[i])
                               for i, cell in enumerate(row)) for row in rows)


def run(database_url: str, terminals: int = 50, duration: float = 20.0, *,
        warmup: float = 2.0, pool_size: int = 10, quiet: bool = False) -> dict[str, Any]:
    """Prepare, start the service, measure SIP2 then REST; print and return figures."""
    say = (lambda *a: None) if quiet else print  # noqa: E731
    say(f"preparing {terminals} terminals / clients on {database_url.split('@')[-1]} ...")
    data = prepare(database_url, terminals)
    service = Service(database_url, pool_size=pool_size)
    try:
        service.wait_ready()
        if warmup:
            asyncio.run(sip2_load(service.sip2_port, data["terminals"][:4],
                                  data["sip2_members"][:4], data["sip2_items"][:4], warmup))
            asyncio.run(rest_load(service.url, data["rest_members"][:4],
                                  data["rest_items"][:4], warmup))
        say(f"SIP2: {terminals} kiosks for {duration:.0f}s ...")
        sip2 = asyncio.run(sip2_load(service.sip2_port, data["terminals"],
                                     data["sip2_members"], data["sip2_items"], duration))
        say(f"REST: {terminals} clients for {duration:.0f}s ...")
        rest = asyncio.run(rest_load(service.url, data["rest_members"], data["rest_items"],
                                     duration))
    finally:
        service.stop()
    ratio = sip2.tps / rest.tps if rest.tps else 0.0
    result = {
        "database": "postgresql" if database_url.startswith("postgres") else "sqlite",
        "terminals": terminals, "duration": duration, "cpus": os.cpu_count(),
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "sip2": sip2.as_dict(), "rest": rest.as_dict(), "ratio": round(ratio, 3),
        "target_ratio": TARGET_RATIO, "ok": ratio >= TARGET_RATIO,
    }
    say(_table(result))
    say(f"RESULT sip2_tps={sip2.tps:.1f} rest_tps={rest.tps:.1f} ratio={ratio:.2f}")
    return result


if __name__ == "__main__":
    from ..config import default_database_url

    run(sys.argv[1] if len(sys.argv) > 1 else default_database_url())
