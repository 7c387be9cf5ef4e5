"""Running the daemon: logging, the local HTTP server, signals."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import sys
from collections.abc import AsyncIterator

import uvicorn
from starlette.applications import Starlette

from .. import logsafe
from .config import Config
from .daemon import Connector


class JsonFormatter(logging.Formatter):
    """One JSON object per line (member numbers are masked by logsafe before this)."""

    def format(self, record: logging.LogRecord) -> str:
        out = {"ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"), "level": record.levelname,
               "logger": record.name, "msg": record.getMessage()}
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False)


def setup_logging(level: str) -> None:
    logsafe.install()
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)


def asgi_app(connector: Connector) -> Starlette:
    """The local API, starting and stopping the connector with the server."""
    app = connector.app()

    @contextlib.asynccontextmanager
    async def lifespan(_app) -> AsyncIterator[None]:  # noqa: ANN001
        await connector.start()
        try:
            yield
        finally:
            await connector.stop()

    app.router.lifespan_context = lifespan
    return app


async def serve(config: Config) -> None:
    app = asgi_app(Connector(config))
    server = uvicorn.Server(uvicorn.Config(app, host=config.host, port=config.port,
                                           log_config=None, access_log=False,
                                           lifespan="on", timeout_graceful_shutdown=5))
    await server.serve()


def run(config: Config) -> None:
    setup_logging(config.log_level)
    config.data_dir.mkdir(parents=True, exist_ok=True)
    asyncio.run(serve(config))
