"""The SIP2 TCP server: sockets, framing and one session per connection.

Runs in any asyncio loop (uvicorn's, next to the REST API, or its own for
``chaekieum sip2``, or a library connector's).  The backend (``hub_backend.HubBackend``
at the hub, ``chaekieum.connector.sip2.ConnectorBackend`` at a library) is synchronous,
so every frame is processed in a bounded thread pool and the event loop only moves
bytes: hundreds of kiosks stay responsive while some wait on the database.  One connection handles its requests in
order, one at a time (SIP2 is strictly request/response); different connections never
wait for each other except on the pool and the database.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

from .. import metrics
from .framing import FrameBuffer, Oversized, sniff_garbage
from .session import Session, Shared

if TYPE_CHECKING:
    from .backend import Backend

log = logging.getLogger("chaekieum.sip2")

DEFAULT_PORT = 6001
MAX_FRAME_BYTES = 64 * 1024  # frames over 4 KB are fine; a 64 KB "line" is not a kiosk
READ_SIZE = 64 * 1024
HTTP_REPLY = (b"HTTP/1.0 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\n"
              b"Connection: close\r\n\r\nThis port speaks SIP2 (3M SIP 2.00), not HTTP.\r\n")


class Sip2Server:
    def __init__(self, backend: Backend, host: str = "127.0.0.1", port: int = DEFAULT_PORT, *,
                 workers: int | None = None, max_frame_bytes: int = MAX_FRAME_BYTES,
                 idle_timeout: float | None = None, max_connections: int = 2000):
        self.backend = backend
        self.host = host
        self.port = port
        self.workers = workers or backend.max_workers()
        self.max_frame_bytes = max_frame_bytes
        self.idle_timeout = idle_timeout
        self.max_connections = max_connections
        self.shared = Shared(backend)
        self._server: asyncio.base_events.Server | None = None
        self._pool: ThreadPoolExecutor | None = None
        self._connections: dict[asyncio.Task, asyncio.StreamWriter] = {}

    @property
    def connections(self) -> int:
        return len(self._connections)

    async def start(self) -> None:
        self._pool = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="sip2")
        self._server = await asyncio.start_server(
            self._client, self.host, self.port, limit=READ_SIZE, backlog=1024,
            reuse_address=True)
        sockets = self._server.sockets or ()
        if sockets:
            self.port = sockets[0].getsockname()[1]  # the real port when 0 was asked
        log.info("SIP2 server on %s:%s (%d worker threads)", self.host, self.port,
                 self.workers)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        for task, writer in list(self._connections.items()):
            writer.close()
            task.cancel()
        if self._connections:
            await asyncio.gather(*self._connections, return_exceptions=True)
        if self._server is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 5)
            self._server = None
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None
        log.info("SIP2 server on %s:%s stopped", self.host, self.port)

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        address = writer.get_extra_info("peername") or ("?", 0)
        peer = f"{address[0]}:{address[1]}"
        if len(self._connections) >= self.max_connections:
            log.warning("sip2 %s: %d connections open; refusing this one", peer,
                        len(self._connections))
            writer.close()
            return
        assert task is not None
        self._connections[task] = writer
        session = Session(self.shared, peer)
        metrics.SIP2_SESSIONS.inc()
        try:
            await self._serve(session, reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            log.info("sip2 %s: connection of %s lost", peer, session.label)
        except TimeoutError:
            log.info("sip2 %s: %s idle for %ss; closing", peer, session.label, self.idle_timeout)
        except asyncio.CancelledError:
            pass
        except Exception:  # a bug must cost one connection, never the server
            log.exception("sip2 %s: connection of %s failed", peer, session.label)
        finally:
            metrics.SIP2_SESSIONS.dec()
            self._connections.pop(task, None)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()
            log.debug("sip2 %s: closed after %d requests", peer, session.requests)

    async def _read(self, reader: asyncio.StreamReader) -> bytes:
        if self.idle_timeout:
            return await asyncio.wait_for(reader.read(READ_SIZE), self.idle_timeout)
        return await reader.read(READ_SIZE)

    async def _serve(self, session: Session, reader: asyncio.StreamReader,
                     writer: asyncio.StreamWriter) -> None:
        loop = asyncio.get_running_loop()
        frames = FrameBuffer(self.max_frame_bytes)
        data = await self._read(reader)
        if data and await self._refused_garbage(session, data, writer):
            return
        while data:
            for frame in frames.feed(data):
                if isinstance(frame, Oversized):
                    log.warning("sip2 %s: %s from %s; closing", session.peer, frame,
                                session.label)
                    return
                action = await loop.run_in_executor(self._pool, session.process, frame)
                if action.delay:
                    await asyncio.sleep(action.delay)
                if action.data:
                    writer.write(action.data)  # one write per reply (trap 2)
                    await writer.drain()
                if action.close:
                    return
            data = await self._read(reader)

    async def _refused_garbage(self, session: Session, first: bytes,
                               writer: asyncio.StreamWriter) -> bool:
        """True when a connection's first bytes are TLS, HTTP or binary (it is closed)."""
        kind = sniff_garbage(first)
        if kind is None:
            return False
        what = {"tls": "a TLS handshake (use plain TCP, or a TLS proxy in front)",
                "http": "an HTTP request", "binary": "binary data"}[kind]
        log.warning("sip2 %s: %s on the plain SIP2 port; closing: %r", session.peer, what,
                    first[:24])
        if kind == "http":
            writer.write(HTTP_REPLY)
            await writer.drain()
        return True


async def serve_forever(backend: Backend, host: str = "127.0.0.1", port: int = DEFAULT_PORT,
                        **options: object) -> None:
    """``chaekieum sip2``: the SIP2 server alone, until cancelled or SIGINT/SIGTERM."""
    server = Sip2Server(backend, host, port, **options)  # type: ignore[arg-type]
    await server.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.remove_signal_handler(sig)
        await server.stop()


def run(backend: Backend, host: str = "127.0.0.1", port: int = DEFAULT_PORT,
        **options: object) -> None:
    """Blocking entry point for the CLI."""
    asyncio.run(serve_forever(backend, host, port, **options))


class BackgroundServer:
    """A Sip2Server on its own event loop in a daemon thread (tests, embedding)."""

    def __init__(self, backend: Backend, host: str = "127.0.0.1", port: int = 0,
                 **options: object):
        self.server = Sip2Server(backend, host, port, **options)  # type: ignore[arg-type]
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="sip2-loop",
                                        daemon=True)

    @property
    def port(self) -> int:
        return self.server.port

    def start(self) -> BackgroundServer:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self.server.start(), self.loop).result(10)
        return self

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self.server.stop(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(5)
        self.loop.close()

    def __enter__(self) -> BackgroundServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
