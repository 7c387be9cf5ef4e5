"""A TCP proxy in a thread for network-fault tests: forward, refuse, black-hole, or
forward a request and cut its response (the hub applied the write, the reply is lost)."""

from __future__ import annotations

import asyncio
import threading

from ..conftest import free_port


class FaultProxy:
    FORWARD, REFUSE, BLACKHOLE = "forward", "refuse", "blackhole"

    def __init__(self, target_port: int, port: int | None = None) -> None:
        self.target_port = target_port
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.mode = self.FORWARD
        self.cut_responses = 0  # the next N responses to POSTs are dropped (connection closed)
        self.cut_done = 0
        self._loop = asyncio.new_event_loop()
        self._server: asyncio.base_events.Server | None = None
        self._conns: set[asyncio.StreamWriter] = set()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

    # -- control (from the test thread) ---------------------------------------
    def start(self) -> FaultProxy:
        self._thread.start()
        self._do(self._listen())
        return self

    def stop(self) -> None:
        self._do(self._close_listener(drop=True))
        self._do(self._cancel_all())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        self._loop.close()

    async def _cancel_all(self) -> None:
        tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def set_mode(self, mode: str) -> None:
        """REFUSE closes the listening socket (connection refused); BLACKHOLE accepts and
        never answers; FORWARD listens and relays again. Open connections are dropped."""
        self._do(self._set_mode(mode))

    def cut_next_responses(self, n: int = 1) -> None:
        self.cut_responses = n

    def _do(self, coro) -> None:  # noqa: ANN001
        asyncio.run_coroutine_threadsafe(coro, self._loop).result(10)

    # -- inside the loop -------------------------------------------------------
    async def _listen(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", self.port,
                                                  reuse_address=True)

    async def _close_listener(self, drop: bool) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        if drop:
            for w in list(self._conns):
                w.transport.abort()
            self._conns.clear()

    async def _set_mode(self, mode: str) -> None:
        self.mode = mode
        await self._close_listener(drop=True)
        if mode != self.REFUSE:
            await self._listen()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._conns.add(writer)
        try:
            if self.mode == self.BLACKHOLE:
                while await reader.read(65536):
                    pass  # swallow everything, answer nothing
                return
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            writer.transport.abort()
            self._conns.discard(writer)
            return

        last_method = [b""]

        async def pump_up() -> None:
            try:
                while data := await reader.read(65536):
                    if data[:8].split(b" ", 1)[0] in (b"GET", b"POST", b"PUT", b"PATCH",
                                                      b"DELETE"):
                        last_method[0] = data.split(b" ", 1)[0]
                    up_writer.write(data)
                    await up_writer.drain()
            except (OSError, ConnectionError):
                pass

        async def pump_down() -> None:
            try:
                while data := await up_reader.read(65536):
                    if self.cut_responses > 0 and last_method[0] == b"POST":
                        self.cut_responses -= 1
                        self.cut_done += 1
                        writer.transport.abort()  # the reply is lost on the way back
                        return
                    writer.write(data)
                    await writer.drain()
            except (OSError, ConnectionError):
                pass

        try:
            await asyncio.gather(pump_up(), pump_down())
        finally:
            up_writer.transport.abort()
            writer.transport.abort()
            self._conns.discard(writer)
