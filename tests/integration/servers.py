"""Running the real service as separate OS processes (for multi-process and crash tests)."""

from __future__ import annotations

import atexit
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from ..conftest import SECRET, free_port

_RUNNING: set[subprocess.Popen] = set()


@atexit.register
def _kill_leftovers() -> None:
    """A test that failed before it could stop its processes leaves none behind."""
    for proc in list(_RUNNING):
        if proc.poll() is None:
            proc.kill()


class ManagedProcess:
    """A service run as its own OS process, healthy once `GET /api/v1/health` answers
    200; its stderr goes to a log file (a pipe nobody reads would block it)."""

    what = "process"

    def __init__(self, url: str, log: Path) -> None:
        self.url = url
        self.log = log
        self.proc: subprocess.Popen | None = None

    def _spawn(self, argv: list[str], env: dict[str, str], timeout: float) -> None:
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with self.log.open("ab") as err:
            self.proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=err)
        _RUNNING.add(self.proc)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.what} exited: {self.log_tail()}")
            try:
                if httpx.get(f"{self.url}/api/v1/health", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.kill()
        raise RuntimeError(f"{self.what} did not start in {timeout:.0f} s: {self.log_tail()}")

    def log_tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:] if self.log.exists() else ""

    def kill(self) -> None:
        """SIGKILL: no shutdown hooks, no flushing — a crash."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)
        _RUNNING.discard(self.proc)

    def stop(self, timeout: float = 15) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        _RUNNING.discard(self.proc)


class ServerProcess(ManagedProcess):
    """The hub's API node (uvicorn) on a free port."""

    what = "hub server"

    def __init__(self, database_url: str, port: int | None = None):
        self.database_url = database_url
        self.port = port or free_port()
        log = Path(tempfile.gettempdir()) / "chaekieum-test-servers" / f"hub-{self.port}.log"
        super().__init__(f"http://127.0.0.1:{self.port}", log)

    def start(self, timeout: float = 30) -> ServerProcess:
        env = {**os.environ, "CHAEKIEUM_DATABASE_URL": self.database_url,
               "CHAEKIEUM_SECRET_KEY": SECRET.decode(), "CHAEKIEUM_SIP2_PORT": "0",
               "CHAEKIEUM_POOL_SIZE": "20", "CHAEKIEUM_WEB": "0"}  # API node
        self._spawn([sys.executable, "-m", "uvicorn", "--factory", "chaekieum.server:app_from_env",
                     "--host", "127.0.0.1", "--port", str(self.port), "--log-level", "warning"],
                    env, timeout)
        return self
