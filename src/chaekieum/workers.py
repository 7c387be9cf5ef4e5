"""Several server processes on one port, each with its own SO_REUSEPORT socket.

With one shared listening socket (uvicorn --workers), whichever process wakes first
accepts most keep-alive connections, so one process (one GIL) ends up serving nearly
all clients. With a socket per process and SO_REUSEPORT, the kernel spreads incoming
connections evenly over the processes.

Run: `python -m chaekieum.workers --host 127.0.0.1 --port 8000 --workers 2` (settings from
the environment, as `chaekieum.server:app_from_env` reads them).
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import signal
import socket
import sys
import tempfile


def _serve(host: str, port: int, log_level: str) -> None:
    import uvicorn

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.set_inheritable(True)
    from .server import UVICORN_OPTIONS

    config = uvicorn.Config("chaekieum.server:app_from_env", factory=True, log_level=log_level,
                            access_log=False, **UVICORN_OPTIONS)
    uvicorn.Server(config).run(sockets=[sock])


MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"  # = metrics.MULTIPROC_ENV (not imported here:
# importing the metrics would create their files before the directory exists)


def _metrics_dir() -> None:
    """prometheus-client's multiprocess mode: every worker writes its samples under one
    directory, which /metrics merges; emptied at start (files of dead processes)."""
    path = os.environ.get(MULTIPROC_ENV) or tempfile.mkdtemp(prefix="chaekieum-metrics-")
    os.makedirs(path, exist_ok=True)
    for name in os.listdir(path):
        if name.endswith(".db"):
            os.unlink(os.path.join(path, name))
    os.environ[MULTIPROC_ENV] = path


def run(host: str, port: int, workers: int, log_level: str = "warning") -> int:
    """Start `workers` processes and wait; SIGTERM/SIGINT stop them all."""
    _metrics_dir()  # before the workers start: they read it when they import metrics
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_serve, args=(host, port, log_level), daemon=False)
             for _ in range(workers)]
    for p in procs:
        p.start()

    def stop(signum, _frame):  # noqa: ANN001
        for p in procs:
            if p.is_alive():
                os.kill(p.pid, signal.SIGTERM)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    from prometheus_client import multiprocess

    for p in procs:
        p.join()
        multiprocess.mark_process_dead(p.pid)  # its live gauges stop counting
    return max((p.exitcode or 0) for p in procs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--log-level", default="warning")
    args = parser.parse_args()
    sys.exit(run(args.host, args.port, args.workers, args.log_level))


if __name__ == "__main__":
    main()
