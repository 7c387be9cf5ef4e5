"""Running the real service as separate OS processes (for multi-process and crash tests)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import httpx

from ..conftest import SECRET, free_port


class ServerProcess:
    def __init__(self, database_url: str, port: int | None = None):
        self.database_url = database_url
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 30) -> ServerProcess:
        env = {**os.environ, "CHAEKIEUM_DATABASE_URL": self.database_url,
               "CHAEKIEUM_SECRET_KEY": SECRET.decode(), "CHAEKIEUM_SIP2_PORT": "0",
               "CHAEKIEUM_POOL_SIZE": "20", "CHAEKIEUM_WEB": "0"}  # API node
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "--factory", "chaekieum.server:app_from_env",
             "--host", "127.0.0.1", "--port", str(self.port), "--log-level", "warning"],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(self.proc.stderr.read().decode()[-2000:])
            try:
                if httpx.get(f"{self.url}/api/v1/health", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError("server did not start")

    def kill(self) -> None:
        """SIGKILL: no shutdown hooks, no flushing — a crash."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()
