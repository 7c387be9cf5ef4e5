"""The load driver's open loop corrects coordinated omission: a server that stalls for
half a second shows the stall in every request scheduled during it, where the closed
loop shows it in one request only."""

from __future__ import annotations

import asyncio
import random

from chaekieum.bench.load import drive, make_desks

STALL_S = 0.5


async def _serve(stall_at: float, counter: dict) -> asyncio.Server:
    """A minimal HTTP/1.1 keep-alive server answering `{}`; the first request that
    arrives after `stall_at` (loop time) waits STALL_S before its answer."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                low = head.lower()
                at = low.find(b"content-length:")
                if at >= 0:
                    await reader.readexactly(int(low[at + 15:low.find(b"\r\n", at)]))
                now = asyncio.get_running_loop().time()
                if now >= stall_at and not counter["stalled"]:
                    counter["stalled"] = True
                    await asyncio.sleep(STALL_S)
                counter["requests"] += 1
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()

    return await asyncio.start_server(handle, "127.0.0.1", 0)


def _run(rate: float | None):  # noqa: ANN202
    async def main():  # noqa: ANN202
        counter = {"stalled": False, "requests": 0}
        loop = asyncio.get_running_loop()
        server = await _serve(loop.time() + 0.2 + 1.0, counter)  # 1 s into the window
        port = server.sockets[0].getsockname()[1]
        desks = make_desks(["111001"], 2, 40, random.Random(1))
        try:
            return await drive("127.0.0.1", port, desks, ["111001"], 100, duration=2.5,
                               warmup=0.2, rate=rate)
        finally:
            server.close()
            await server.wait_closed()

    return asyncio.run(main())


def test_a_stall_shows_in_every_request_scheduled_during_it() -> None:
    opened = _run(rate=100.0)  # 2 desks, one request every 20 ms each
    assert opened.rate == 100.0 and opened.unsent == 0
    assert 230 <= opened.transactions <= 270  # the offered 100/s over 2.5 s, kept
    late = [ms for ms in opened.latencies_ms if ms >= 100]
    # the stalled desk's requests due during the 0.5 s (about 25) all waited
    assert len(late) >= 15, sorted(opened.latencies_ms)[-30:]
    assert opened.percentile(99) >= 0.8 * STALL_S * 1000 - 100

    closed = _run(rate=None)
    # the closed loop records the stall once (a loaded machine may add a hiccup or two)
    assert max(closed.tx_latencies_ms) >= 0.9 * STALL_S * 1000
    assert len([ms for ms in closed.tx_latencies_ms if ms >= 100]) <= 3
    assert closed.percentile(99) < 100
