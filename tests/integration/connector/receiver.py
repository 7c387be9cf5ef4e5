"""A real HTTP receiver on a loopback port, standing in for a library system's webhook
endpoint: it checks signatures, records every request, can be down (port closed) and
can answer chosen attempts with an error (as if it crashed after storing the event)."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable
from dataclasses import dataclass

from chaekieum.connector.adapters import webhook


@dataclass
class Received:
    position: int
    body: dict
    signature_ok: bool
    status: int


class Receiver:
    def __init__(self, secret: str, port: int,
                 answer: Callable[[int, int], int] | None = None) -> None:
        self.secret = secret
        self.port = port
        self.answer = answer or (lambda position, attempt: 200)  # -> HTTP status
        self.requests: list[Received] = []
        self._server: asyncio.base_events.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/chaekieum/events"

    @property
    def up(self) -> bool:
        return self._server is not None

    @property
    def stored(self) -> list[int]:
        """Positions the library system kept (2xx answered), once each, in arrival order."""
        seen: list[int] = []
        for r in self.requests:
            if 200 <= r.status < 300 and r.position not in seen:
                seen.append(r.position)
        return seen

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port,
                                                  reuse_address=True)

    async def stop(self) -> None:
        if self._server is None:
            return
        self._server.close()
        for writer in list(self._writers):  # a crash: open keep-alive connections die too
            writer.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._server.wait_closed(), 2)
        self._server = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                headers = {}
                for line in lines[1:]:
                    if ":" in line:
                        key, value = line.split(":", 1)
                        headers[key.strip().lower()] = value.strip()
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                status = self._record(headers, body)
                writer.write(f"HTTP/1.1 {status} X\r\nContent-Length: 0\r\n\r\n".encode())
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
            pass
        finally:
            self._writers.discard(writer)
            writer.close()

    def _record(self, headers: dict[str, str], body: bytes) -> int:
        ok = webhook.verify(self.secret, headers.get("x-chaekieum-timestamp", ""), body,
                            headers.get("x-chaekieum-signature", ""))
        data = json.loads(body)
        position = int(data["position"])
        attempt = sum(1 for r in self.requests if r.position == position) + 1
        status = self.answer(position, attempt) if ok else 401
        if str(position) != headers.get("x-chaekieum-position"):
            status = 400
        self.requests.append(Received(position, data, ok, status))
        return status
