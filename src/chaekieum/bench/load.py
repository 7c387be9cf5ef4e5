"""HTTP load driver: library desks lending and returning over the REST API.

The driver shares the machine with the server and the database, so it must cost as
little CPU as possible: one asyncio event loop (uvloop when installed) and a minimal
HTTP/1.1 keep-alive client over raw streams (one connection per desk), about ten
times cheaper per request than a general-purpose client. It only speaks to our own
server, which always answers with a Content-Length (JSON bodies).

Each desk is one library: it lends copies of its own library to random members of the
whole network (members auto-join on first use) and returns every copy it lent, oldest
first, keeping at most `hold` copies out, so checkouts and checkins alternate.

Closed loop (default): each desk sends its next request when the last one is answered.
Open loop (`rate`): the desks together offer `rate` requests/s on a fixed schedule,
whatever the server's speed, and a request's latency runs from the moment it was meant
to be sent, not from when the desk got round to it (the coordinated-omission correction
wrk2 makes): a server that stalls for a second shows that second in every request
scheduled during it. Requests scheduled inside the measured window are all sent and
measured, also when a backlog makes them finish after it.
"""

from __future__ import annotations

import asyncio
import math
import random
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field

import orjson

from .seed import api_key, barcode, random_member

CHECKOUT = b"/api/v1/circulation/checkout"
CHECKIN = b"/api/v1/circulation/checkin"


class HttpError(Exception):
    pass


class Http:
    """One keep-alive HTTP/1.1 connection, one request at a time."""

    def __init__(self, host: str, port: int, token: str):
        self.host, self.port = host, port
        self.prefix = (f"Host: {host}:{port}\r\nAuthorization: Bearer {token}\r\n"
                       "Content-Type: application/json\r\nContent-Length: ").encode()
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def connect(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            try:
                await self.writer.wait_closed()
            except OSError:
                pass
            self.writer = self.reader = None

    async def post(self, path: bytes, body: bytes, method: bytes = b"POST") -> tuple[int, bytes]:
        if self.writer is None:
            await self.connect()
        assert self.reader is not None and self.writer is not None
        self.writer.write(method + b" " + path + b" HTTP/1.1\r\n" + self.prefix
                          + str(len(body)).encode() + b"\r\n\r\n" + body)
        try:
            head = await self.reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, ConnectionError) as exc:
            await self.close()
            raise HttpError("connection closed") from exc
        status = int(head[9:12])
        low = head.lower()
        at = low.find(b"\r\ncontent-length:")
        if at < 0:
            await self.close()
            raise HttpError("response without Content-Length")
        end = low.find(b"\r\n", at + 2)
        payload = await self.reader.readexactly(int(low[at + 17:end]))
        if b"\r\nconnection: close" in low:
            await self.close()
        return status, payload


@dataclass
class Desk:
    """A library's circulation desk: its key, its copies, the copies it has lent."""

    library: str
    copies: list[str]  # 통합바코드 of the copies this desk lends
    hold: int
    lent: deque[str] = field(default_factory=deque)

    def __post_init__(self) -> None:
        self.free = list(self.copies)

    def take_free(self, rng: random.Random) -> str:
        i = rng.randrange(len(self.free))
        self.free[i], self.free[-1] = self.free[-1], self.free[i]
        return self.free.pop()


def make_desks(codes: list[str], clients: int, copies_per_library: int,
               rng: random.Random) -> list[Desk]:
    """One desk per client, each at a different library while there are enough of them
    (when clients outnumber libraries, desks of one library split its copies)."""
    if clients <= len(codes):
        chosen = rng.sample(codes, clients)
    else:
        chosen = [codes[i % len(codes)] for i in range(clients)]
    per_lib = Counter(chosen)
    seen: Counter[str] = Counter()
    desks = []
    for code in chosen:
        k, n = seen[code], per_lib[code]
        seen[code] += 1
        mine = [barcode(code, j) for j in range(copies_per_library) if j % n == k]
        if len(mine) < 2:
            raise ValueError("too few copies per desk: raise copies per library")
        desks.append(Desk(code, mine, hold=max(1, min(8, len(mine) // 2))))
    return desks


@dataclass
class LoadResult:
    seconds: float = 0.0
    checkouts: int = 0
    checkins: int = 0
    refusals: Counter[str] = field(default_factory=Counter)  # business answers (4xx codes)
    errors: Counter[str] = field(default_factory=Counter)  # 5xx, transport
    latencies_ms: list[float] = field(default_factory=list)  # every measured request
    tx_latencies_ms: list[float] = field(default_factory=list)  # successful ones
    rate: float | None = None  # open loop: the offered requests/s
    unsent: int = 0  # open loop: scheduled in the window, not sent by the deadline

    @property
    def transactions(self) -> int:
        return self.checkouts + self.checkins

    @property
    def tx_per_s(self) -> float:
        return self.transactions / self.seconds if self.seconds else 0.0

    def percentile(self, q: float, successful: bool = True) -> float:
        """Closed loop: of the successful transactions (or of every answer). Open loop:
        of every request scheduled in the window, answered or not: the latency a desk
        felt is the same whatever the answer."""
        data = sorted(self.tx_latencies_ms if successful and self.rate is None
                      else self.latencies_ms)
        if not data:
            return float("nan")
        return data[max(0, math.ceil(q / 100 * len(data)) - 1)]


class _Phase:
    WARMUP, MEASURE, STOP = 0, 1, 2


class _Schedule:
    """When a desk's next request is due, open loop: every `interval` seconds from
    `start`; closed loop (`interval` None): now."""

    def __init__(self, interval: float | None, start: float) -> None:
        self.interval, self.next = interval, start

    async def due(self) -> float:
        if self.interval is None:
            return time.perf_counter()
        at, self.next = self.next, self.next + self.interval
        wait = at - time.perf_counter()
        if wait > 0:
            await asyncio.sleep(wait)
        return at


def _running(state: dict, schedule: _Schedule) -> bool:
    """Closed loop: until the window closes. Open loop: until every request scheduled
    inside the window is sent (bounded by `state["deadline"]`)."""
    if state["phase"] != _Phase.STOP:
        return True
    return (schedule.interval is not None and schedule.next < state["end"]
            and time.perf_counter() < state["deadline"])


async def _desk_loop(desk: Desk, http: Http, members: int, codes: list[str], state: dict,
                     result: LoadResult, rng: random.Random, schedule: _Schedule) -> float:
    """Run the desk; return when its next request would have been due."""
    while _running(state, schedule):
        if len(desk.lent) < desk.hold and desk.free:
            item = desk.take_free(rng)
            body = b'{"member":"%s","item":"%s"}' % (
                random_member(rng, codes, members).encode(), item.encode())
            path, checkout = CHECKOUT, True
        else:
            item = desk.lent.popleft()
            body = b'{"item":"%s"}' % item.encode()
            path, checkout = CHECKIN, False
        t0 = await schedule.due()
        measuring = state["start"] <= t0 < state["end"]
        try:
            status, payload = await http.post(path, body)
        except (HttpError, OSError) as exc:
            # the request may or may not have been applied: keep the copy as lent so
            # that a later checkin settles it either way
            desk.lent.append(item)
            if measuring:
                result.errors[f"transport:{type(exc).__name__}"] += 1
            await asyncio.sleep(0.05)
            continue
        done = time.perf_counter()
        ms = (done - t0) * 1000.0
        if schedule.interval is None:  # closed loop: only what also finished in the window
            measuring = measuring and done < state["end"]
        if status == 200:
            if checkout:
                desk.lent.append(item)
            else:
                desk.free.append(item)
            if measuring:
                result.latencies_ms.append(ms)
                result.tx_latencies_ms.append(ms)
                if checkout:
                    result.checkouts += 1
                else:
                    result.checkins += 1
            continue
        try:
            code = orjson.loads(payload).get("code", str(status))
        except orjson.JSONDecodeError:
            code = str(status)
        if checkout:
            # COPY_ON_LOAN: left out by an earlier run; return it next. Anything else
            # (limits, suspension): the copy stays on the shelf.
            (desk.lent if code == "COPY_ON_LOAN" else desk.free).append(item)
        else:
            desk.free.append(item)  # NOT_ON_LOAN: it is on the shelf anyway
        if measuring:
            result.latencies_ms.append(ms)
            if status >= 500:
                result.errors[f"{status}:{code}"] += 1
            else:
                result.refusals[f"{'checkout' if checkout else 'checkin'}:{code}"] += 1
    return schedule.next


async def _drain(desk: Desk, http: Http) -> None:
    """Return whatever the desk still has out (not measured), so the next run of the same
    desks (the SLO search) starts with every copy on the shelf."""
    while desk.lent:
        item = desk.lent.popleft()
        try:
            await http.post(CHECKIN, b'{"item":"%s"}' % item.encode())
        except (HttpError, OSError):
            pass  # if it is still out, the next run's checkout meets COPY_ON_LOAN
        desk.free.append(item)


async def drive(host: str, port: int, desks: list[Desk], codes: list[str], members: int, *,
                duration: float, warmup: float, seed: int = 1, rate: float | None = None,
                on_phase: Callable[[str], None] | None = None) -> LoadResult:
    """Run every desk concurrently: `warmup` seconds unmeasured, then `duration` measured;
    closed loop, or open loop at `rate` requests/s in all.

    `on_phase("measure")` and `on_phase("stop")` run at the edges of the measured window
    (e.g. to read CPU counters)."""
    result = LoadResult(rate=rate)
    inf = float("inf")
    state = {"phase": _Phase.WARMUP, "start": inf, "end": inf, "deadline": inf}
    https = [Http(host, port, api_key(d.library)) for d in desks]
    await asyncio.gather(*(h.connect() for h in https))
    # Authenticate every desk once on the connection it keeps (the server verifies a key
    # with argon2 on first use, then caches it): a cold start is not steady state.
    await asyncio.gather(*(h.post(b"/api/v1/copies/" + d.copies[0].replace("$", "%24").encode(),
                                  b"", b"GET") for d, h in zip(desks, https, strict=True)))
    interval = len(desks) / rate if rate else None
    begin = time.perf_counter()
    tasks = [
        asyncio.create_task(_desk_loop(
            d, h, members, codes, state, result, random.Random(seed * 1000 + i),
            # desks spread evenly over one interval, so the offered load is smooth
            _Schedule(interval, begin + (interval * i / len(desks) if interval else 0))))
        for i, (d, h) in enumerate(zip(desks, https, strict=True))
    ]
    await asyncio.sleep(warmup)
    if on_phase:
        on_phase("measure")
    state["phase"] = _Phase.MEASURE
    t0 = state["start"] = time.perf_counter()
    state["end"] = t0 + duration
    await asyncio.sleep(duration)
    state["deadline"] = time.perf_counter() + max(10.0, duration)  # for an open-loop backlog
    state["phase"] = _Phase.STOP
    result.seconds = time.perf_counter() - t0
    if on_phase:
        on_phase("stop")
    await asyncio.gather(*tasks)
    # open loop: the requests scheduled in the window but never sent before the deadline
    # are counted late, with the latency they had reached
    if interval is not None:
        now = time.perf_counter()
        late = sum(max(0, math.ceil((state["end"] - max(s, state["start"])) / interval))
                   for s in (t.result() for t in tasks))
        result.unsent = late
        result.latencies_ms.extend([(now - state["end"]) * 1000.0] * late)
    await asyncio.gather(*(_drain(d, h) for d, h in zip(desks, https, strict=True)))
    await asyncio.gather(*(h.close() for h in https))
    return result


def run_load(host: str, port: int, desks: list[Desk], codes: list[str], members: int, *,
             duration: float, warmup: float, seed: int = 1, rate: float | None = None,
             on_phase: Callable[[str], None] | None = None) -> LoadResult:
    coro = drive(host, port, desks, codes, members, duration=duration, warmup=warmup,
                 seed=seed, rate=rate, on_phase=on_phase)
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvicorn[standard] brings it
        return asyncio.run(coro)
    return uvloop.run(coro)
