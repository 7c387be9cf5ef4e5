"""Hub and connector as separate OS processes on free ports (connector fault tests)."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from chaekieum.services import demo
from chaekieum.services.hub import Hub

from ..conftest import SECRET, free_port
from .apiclient import library_key
from .servers import ManagedProcess, ServerProcess

DESK_TOKEN = "desk-token-0123456789"
LIBRARY = "111001"


def demo_hub_db(hub: Hub) -> tuple[str, list[str]]:
    """The `hub` fixture's SQLite database (demo network, copied from a template); returns
    (url, member numbers). The hub process runs on the real clock."""
    numbers = [m["number"] for m in demo.info(hub)["members"]]
    url = hub.db.url
    hub.close()
    return url, numbers


def start_hub(url: str, port: int | None = None) -> ServerProcess:
    return ServerProcess(url, port=port).start(timeout=120)  # a busy CI machine


def write_config(path: Path, hub_url: str, data_dir: Path, port: int,
                 library: str = LIBRARY, tables: str = "", **extra: Any) -> Path:
    lines = [f'hub_url = "{hub_url}"', f'library = "{library}"',
             f'api_key = "{library_key(library)}"', f'listen = "127.0.0.1:{port}"',
             f'data_dir = "{data_dir}"']
    for key, value in extra.items():
        lines.append(f'{key} = "{value}"' if isinstance(value, str) else
                     f"{key} = {str(value).lower()}" if isinstance(value, bool) else
                     f"{key} = {value!r}")
    lines += ["[tokens]", f'desk-1 = "{DESK_TOKEN}"', tables]
    path.write_text("\n".join(lines) + "\n")
    return path


class ConnectorProcess(ManagedProcess):
    """`chaekieum connector run` with its config file; log beside the config."""

    what = "connector"

    def __init__(self, config: Path, port: int) -> None:
        self.config = config
        self.port = port
        super().__init__(f"http://127.0.0.1:{port}", config.with_suffix(".log"))

    def start(self) -> ConnectorProcess:
        env = {**os.environ, "CHAEKIEUM_SECRET_KEY": SECRET.decode()}
        self._spawn([sys.executable, "-m", "chaekieum.cli", "connector", "run", "--config",
                     str(self.config)], env, 120)
        return self

    def client(self, timeout: float = 15) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=timeout,
                            headers={"Authorization": f"Bearer {DESK_TOKEN}"})

    def status(self) -> dict:
        with self.client() as c:
            return c.get("/connector/status").json()

    def wait_snapshot(self, timeout: float = 60) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            status = self.status()
            if status["snapshot_at"]:
                return status
            time.sleep(0.1)
        raise AssertionError(f"no snapshot: {self.status()}")

    def wait_drained(self, timeout: float = 120) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            status = self.status()
            if status["queue_depth"] == 0:
                return status
            time.sleep(0.2)
        raise AssertionError(f"queue not drained: {self.status()}")


def hub_rows(url: str, sql: str, **params: Any) -> list[tuple]:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(text(sql), params).all()]
    finally:
        engine.dispose()


def start_connector(tmp_path: Path, hub_url: str, name: str = "connector",
                    library: str = LIBRARY, tables: str = "", **extra: Any) -> ConnectorProcess:
    port = free_port()
    settings = {"forward_timeout": 1.0, "snapshot_interval": 1, "poll_interval": 0.2} | extra
    config = write_config(tmp_path / f"{name}.toml", hub_url, tmp_path / f"{name}-data", port,
                          library, tables, **settings)
    connector = ConnectorProcess(config, port).start()
    try:
        connector.wait_snapshot()
    except BaseException:
        connector.stop()
        raise
    return connector
