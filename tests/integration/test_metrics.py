"""Prometheus metrics and health endpoints of the hub (issue #13, part 4)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time

import httpx
from fastapi.testclient import TestClient

from chaekieum.domain.numbering import make_member_number
from chaekieum.server import create_app
from chaekieum.services.demo import terminal_login
from chaekieum.services.hub import Hub
from chaekieum.sip2.client import Sip2Client

from ..conftest import SECRET, free_port
from .apiclient import library_key

LIB = "111001"


def sample(text: str, name: str, **labels: str) -> float:
    """The value of one sample of the exposition text (0 if absent)."""
    for line in text.splitlines():
        if not line.startswith(name + "{") and not line.startswith(name + " "):
            continue
        if all(f'{k}="{v}"' in line for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_metrics_of_requests_refusals_sip2_and_pool(live_server) -> None:  # noqa: ANN001
    key = {"Authorization": f"Bearer {library_key(LIB)}"}
    with httpx.Client(base_url=live_server.url, headers=key) as api:
        before = api.get("/metrics").text
        unknown = make_member_number(LIB, 26, 99_999)  # well-formed, nobody's number
        r = api.post("/api/v1/circulation/checkout",
                     json={"member": unknown, "item": "$111001EM0000000001"})
        assert r.status_code == 404
        api.get("/api/v1/health")
        api.get("/api/v1/events?after=0")
    login, password = terminal_login(LIB)
    with Sip2Client("127.0.0.1", live_server.sip2_port) as kiosk:
        assert kiosk.login(login, password)
        with httpx.Client(base_url=live_server.url) as api:
            during = api.get("/metrics").text
    time.sleep(0.2)
    with httpx.Client(base_url=live_server.url) as api:
        after = api.get("/metrics").text

    route = "/api/v1/circulation/checkout"
    assert sample(after, "chaekieum_http_requests_total", method="POST", route=route,
                  status="404") == sample(before, "chaekieum_http_requests_total",
                                          method="POST", route=route, status="404") + 1
    assert sample(after, "chaekieum_http_request_seconds_count", method="GET",
                  route="/api/v1/health") >= 1
    assert sample(after, "chaekieum_refusals_total", code="MEMBER_UNKNOWN", channel="api") >= 1
    assert sample(after, "chaekieum_sip2_message_seconds_count", message="93") >= 1
    assert sample(during, "chaekieum_sip2_sessions") >= 1
    assert "chaekieum_db_pool_connections_in_use" in after
    assert "chaekieum_feed_delivery_lag_seconds_bucket" in after
    assert unknown not in after  # labels are routes and codes, never personal values


def test_metrics_only_for_allowed_addresses(hub: Hub) -> None:
    app = create_app(hub, with_web=False, metrics_allow="10.9.9.9")
    with TestClient(app) as client:
        assert client.get("/metrics").status_code == 404


def test_liveness_and_readiness(hub: Hub) -> None:
    with TestClient(create_app(hub, with_web=False)) as client:
        assert client.get("/api/v1/health/live").json() == {"status": "ok"}
        assert client.get("/api/v1/health/ready").status_code == 200
    # a hub whose database does not answer: alive, not ready
    down = Hub(f"postgresql://postgres@127.0.0.1:{free_port()}/nothing", secret=SECRET)
    try:
        with TestClient(create_app(down, with_web=False)) as client:
            assert client.get("/api/v1/health/live").status_code == 200
            r = client.get("/api/v1/health/ready")
            assert r.status_code == 503 and r.json()["code"] == "SERVICE_UNAVAILABLE"
            assert client.get("/api/v1/health").status_code == 503
    finally:
        down.close()


def test_metrics_add_up_over_worker_processes(hub: Hub, tmp_path) -> None:  # noqa: ANN001
    url = hub.db.url
    hub.close()
    port = free_port()
    env = {**os.environ, "CHAEKIEUM_DATABASE_URL": url, "CHAEKIEUM_SECRET_KEY": SECRET.decode(),
           "CHAEKIEUM_SIP2_PORT": "0", "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "prom")}
    proc = subprocess.Popen([sys.executable, "-m", "chaekieum.workers", "--port", str(port),
                             "--workers", "2"], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(base + "/api/v1/health/live", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline and proc.poll() is None
            time.sleep(0.2)
        time.sleep(1.0)  # both workers up
        pids = set()
        for _ in range(40):  # new connections: SO_REUSEPORT spreads them over the workers
            with httpx.Client(base_url=base) as client:
                client.get("/api/v1/health/live")
        text = httpx.get(base + "/metrics").text
        pids = set(re.findall(r"pid=\"(\d+)\"", text))
        total = sample(text, "chaekieum_http_requests_total", method="GET",
                       route="/api/v1/health/live", status="200")
        assert total >= 40  # one sum over both processes, not one worker's share
        assert len(os.listdir(tmp_path / "prom")) >= 2  # both workers wrote samples
        assert not pids  # merged: no per-process series
    finally:
        proc.terminate()
        proc.wait(20)


def test_the_grafana_dashboard_queries_metrics_that_exist(live_server) -> None:  # noqa: ANN001
    """deploy/grafana-dashboard.json cannot rot: every metric it queries is one the hub
    (or the connector) exposes."""
    import json
    from pathlib import Path

    from chaekieum.connector.metrics import Metrics

    dashboard = json.loads((Path(__file__).parents[2] / "deploy" / "grafana-dashboard.json")
                           .read_text())
    exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    used = {m for e in exprs for m in re.findall(r"\b(chaekieum_[a-z0-9_]+)", e)}
    assert len(used) >= 7
    from prometheus_client import generate_latest

    exposed = httpx.get(live_server.url + "/metrics").text + generate_latest(
        Metrics().registry).decode()
    names = set(re.findall(r"^# TYPE (\w+) (\w+)", exposed, re.M))
    suffixes = {"histogram": ("_bucket", "_sum", "_count"), "counter": ("_total",)}
    known = {n + s for n, kind in names for s in ("", *suffixes.get(kind, ()))}
    assert used <= known, used - known
