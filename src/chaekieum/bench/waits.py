"""`chaekieum bench waits`: what the hub's way of waiting for PostgreSQL costs.

The hub runs a write in a request thread (a synchronous psycopg connection; the event
loop hands the request over and gets the answer back). An alternative is an asynchronous
connection used from the event loop itself, with no thread. This measures the two side by
side on the same cluster, for the shape of a circulation write (BEGIN, a locking
`SELECT ... FOR UPDATE` of one row, an UPDATE of it, COMMIT) behind a minimal ASGI app in
one uvicorn process, with 32 keep-alive clients in this process:

- requests per second;
- the server process's CPU per request (/proc);
- its context switches per request (every thread's, /proc).

The modes alternate, so a ratio within one round holds when the machine's speed drifts.
The service's rules are not involved: this isolates the waiting model alone.
"""

from __future__ import annotations

import os
import random
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass

from .checkout import HOST, free_port, proc_stat
from .seed import psycopg_conninfo

ROWS = 10_000
THREADS = 8  # the hub's request threads per process on PostgreSQL (server.POSTGRES_THREADS)
BODY = b'{"ok":true}'
REQUEST = b"POST /w HTTP/1.1\r\nHost: bench\r\nContent-Length: 0\r\n\r\n"
MODES = ("threads", "async")


@dataclass
class Figures:
    requests_per_s: float
    cpu_us: float  # server CPU per request
    switches: float  # server context switches per request


def _app(dsn: str, mode: str):  # noqa: ANN202 - an ASGI callable
    import asyncio

    import anyio
    import psycopg

    head = [(b"content-type", b"application/json"),
            (b"content-length", str(len(BODY)).encode())]
    local = threading.local()
    pool: asyncio.Queue = asyncio.Queue()

    def write_in_thread(row: int) -> None:
        conn = getattr(local, "conn", None)
        if conn is None:
            conn = local.conn = psycopg.connect(dsn)
        with conn.transaction():
            conn.execute("SELECT n FROM r WHERE id = %s FOR UPDATE", (row,)).fetchone()
            conn.execute("UPDATE r SET n = n + 1 WHERE id = %s", (row,))

    async def write_on_loop(row: int) -> None:
        conn = await pool.get()
        try:
            async with conn.transaction():
                cur = await conn.execute("SELECT n FROM r WHERE id = %s FOR UPDATE", (row,))
                await cur.fetchone()
                await conn.execute("UPDATE r SET n = n + 1 WHERE id = %s", (row,))
        finally:
            pool.put_nowait(conn)

    async def app(scope, receive, send):  # noqa: ANN001, ANN202
        if scope["type"] == "lifespan":
            while (await receive())["type"] == "lifespan.startup":
                anyio.to_thread.current_default_thread_limiter().total_tokens = THREADS
                if mode == "async":
                    for _ in range(THREADS):
                        pool.put_nowait(await psycopg.AsyncConnection.connect(dsn))
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        await receive()
        row = random.randint(1, ROWS)
        if mode == "async":
            await write_on_loop(row)
        else:
            await anyio.to_thread.run_sync(write_in_thread, row)
        await send({"type": "http.response.start", "status": 200, "headers": head})
        await send({"type": "http.response.body", "body": BODY})

    return app


def serve(port: int, dsn: str, mode: str) -> None:
    """The server process (`python -m chaekieum.bench.waits PORT DSN MODE`)."""
    import uvicorn

    uvicorn.run(_app(dsn, mode), host=HOST, port=port, log_level="warning",
                access_log=False)


def _cpu(pid: int) -> float:
    stat = proc_stat(pid)
    if stat is None:
        raise RuntimeError("the bench server exited")
    return stat[1]


def _switches(pid: int) -> int:
    total = 0
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{task}/status") as status:  # noqa: PTH123
                total += sum(int(line.split()[1]) for line in status
                             if "ctxt_switches" in line)
        except FileNotFoundError:  # a thread that ended
            continue
    return total


def _wait_listening(port: int, proc: subprocess.Popen, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the bench server exited ({proc.returncode})")
        try:
            socket.create_connection((HOST, port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("the bench server did not start")


def measure(dsn: str, mode: str, *, seconds: float, clients: int = 32) -> Figures:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "chaekieum.bench.waits", str(port), dsn,
                             mode])
    try:
        _wait_listening(port, proc)
        stop = threading.Event()
        measuring = threading.Event()
        counted = [0] * clients

        def client(i: int) -> None:
            with socket.create_connection((HOST, port)) as s:
                s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                while not stop.is_set():
                    s.sendall(REQUEST)
                    answer = b""
                    while not answer.endswith(BODY):
                        chunk = s.recv(65536)
                        if not chunk:
                            raise RuntimeError("the bench server closed the connection")
                        answer += chunk
                    if measuring.is_set():
                        counted[i] += 1

        threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
        for t in threads:
            t.start()
        time.sleep(min(2.0, seconds / 2))  # warm-up: connections, plans, caches
        cpu, switches = _cpu(proc.pid), _switches(proc.pid)
        started = time.perf_counter()
        measuring.set()
        time.sleep(seconds)
        measuring.clear()
        wall = time.perf_counter() - started
        cpu, switches = _cpu(proc.pid) - cpu, _switches(proc.pid) - switches
        stop.set()
        for t in threads:
            t.join()
        n = max(1, sum(counted))
        return Figures(n / wall, cpu / n * 1e6, switches / n)
    finally:
        proc.terminate()
        proc.wait(10)


def prepare(dsn: str) -> None:
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS r")
        conn.execute("CREATE TABLE r (id integer PRIMARY KEY, n integer NOT NULL)")
        conn.execute("INSERT INTO r SELECT g, 0 FROM generate_series(1, %s) g", (ROWS,))
        conn.execute("VACUUM ANALYZE r")


def run(url: str, *, rounds: int = 3, seconds: float = 10.0) -> str:
    """Alternate the modes `rounds` times on the database `url`; print each run and the
    RESULT line."""
    dsn = psycopg_conninfo(url)
    prepare(dsn)
    by_mode: dict[str, list[Figures]] = {m: [] for m in MODES}
    for r in range(1, rounds + 1):
        for mode in MODES:
            f = measure(dsn, mode, seconds=seconds)
            by_mode[mode].append(f)
            print(f"round {r} {mode:7s}: {f.requests_per_s:8.1f} req/s, server CPU "
                  f"{f.cpu_us:6.1f} µs/request, {f.switches:5.1f} context switches/request",
                  flush=True)

    def mean(mode: str, attr: str) -> float:
        values = [getattr(f, attr) for f in by_mode[mode]]
        return sum(values) / len(values)

    line = (f"RESULT threads_cpu_us={mean('threads', 'cpu_us'):.1f} "
            f"async_cpu_us={mean('async', 'cpu_us'):.1f} "
            f"cpu_ratio={mean('async', 'cpu_us') / mean('threads', 'cpu_us'):.3f} "
            f"threads_switches={mean('threads', 'switches'):.1f} "
            f"async_switches={mean('async', 'switches'):.1f} "
            f"rate_ratio={mean('async', 'requests_per_s') / mean('threads', 'requests_per_s'):.3f} "
            f"rounds={rounds}")
    print(line, flush=True)
    return line


if __name__ == "__main__":
    serve(int(sys.argv[1]), sys.argv[2], sys.argv[3])
