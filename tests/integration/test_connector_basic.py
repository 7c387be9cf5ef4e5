"""The connector daemon as a real process in front of a real hub process: online answers
pass through unchanged, offline writes are queued durably and replayed, config errors
stop it before it starts."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text

from ..conftest import free_port
from .apiclient import library_key
from .connector_procs import (
    LIBRARY,
    ConnectorProcess,
    demo_hub_db,
    start_hub,
    write_config,
)
from .netproxy import FaultProxy


@pytest.fixture
def setup(tmp_path: Path, hub):  # noqa: ANN001, ANN201
    url, numbers = demo_hub_db(hub)
    hub = start_hub(url)
    proxy = FaultProxy(hub.port).start()
    port = free_port()
    config = write_config(tmp_path / "connector.toml", proxy.url, tmp_path / "data", port,
                          forward_timeout=1.0, snapshot_interval=1, poll_interval=0.2)
    connector = ConnectorProcess(config, port).start()
    connector.wait_snapshot()
    yield hub, proxy, connector, numbers, url
    connector.stop()
    proxy.stop()
    hub.stop()


def _direct(hub, path: str, body: dict) -> httpx.Response:  # noqa: ANN001
    return httpx.post(f"{hub.url}/api/v1{path}", json=body, timeout=10,
                      headers={"Authorization": f"Bearer {library_key(LIBRARY)}"})


def test_online_answers_pass_through_and_offline_writes_replay(setup) -> None:  # noqa: ANN001
    hub, proxy, connector, numbers, url = setup
    with connector.client() as desk:
        assert desk.post("/api/v1/circulation/checkout",
                         json={"member": numbers[0], "item": "EM0000000001"}).status_code == 200
        # a refusal comes back exactly as the hub gives it
        refused = desk.post("/api/v1/circulation/checkout",
                            json={"member": numbers[1], "item": "EM0000000001"})
        direct = _direct(hub, "/circulation/checkout",
                         {"member": numbers[1], "item": "EM0000000001"})
        assert refused.status_code == direct.status_code == 409
        assert refused.json() == direct.json()
        assert desk.get("/api/v1/members/" + numbers[0]).json()["number"] == numbers[0]
        # no token, wrong token
        assert httpx.post(f"{connector.url}/api/v1/circulation/checkin",
                          json={"item": "x"}).json()["code"] == "AUTH_REQUIRED"

        proxy.set_mode(FaultProxy.REFUSE)
        out = desk.post("/api/v1/circulation/checkout",
                        json={"member": numbers[0], "item": "EM0000000002"})
        assert out.status_code == 202, out.text
        assert out.json()["accepted_offline"] is True and out.json()["loan"]["due_on"]
        back = desk.post("/api/v1/circulation/checkin", json={"item": "EM0000000001"})
        assert back.status_code == 202
        joined = desk.post("/api/v1/members", json={"name": "오프라인", "birth_year": 1990})
        assert joined.status_code == 503 and joined.json()["code"] == "HUB_UNREACHABLE"
        bad = desk.post("/api/v1/circulation/checkout", json={"item": "EM0000000003"})
        assert bad.status_code == 422 and bad.json()["code"] == "VALIDATION_ERROR"
        status = connector.status()
        assert status["queue_depth"] == 2 and status["oldest_unsent"]

        proxy.set_mode(FaultProxy.FORWARD)
        assert connector.wait_drained(30)["open_exceptions"] == []
    engine = create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT c.reg_no, l.state, l.offline FROM loans l JOIN copies c ON c.id = l.copy_id"
            " WHERE l.library_code = :lib ORDER BY l.id"), {"lib": LIBRARY}).all()
    engine.dispose()
    assert [(r[0], r[1], bool(r[2])) for r in rows] == [
        ("EM0000000001", "returned", False), ("EM0000000002", "active", True)]


def test_bad_config_lists_every_problem_and_does_not_start(tmp_path: Path) -> None:
    config = tmp_path / "connector.toml"
    config.write_text('hub_url = "ftp://x"\nlibrary = "11100"\nlisten = "nowhere"\n'
                      'offline_policy = "maybe"\ncolour = "blue"\n'
                      '[[adapters]]\ntype = "no-such-adapter"\n')
    run = subprocess.run([sys.executable, "-m", "chaekieum.cli", "connector", "run",
                          "--config", str(config)], capture_output=True, text=True,
                         timeout=60)
    assert run.returncode == 2
    errors = [line for line in run.stderr.splitlines() if line.startswith("config error:")]
    joined = "\n".join(errors)
    for field in ("hub_url", "library", "api_key", "listen", "data_dir", "offline_policy",
                  "colour", "adapters[1].type"):
        assert f"config error: {field}" in joined, (field, joined)
    assert len(errors) == 8, joined


def test_status_command_reads_the_queue_while_the_daemon_is_stopped(setup, tmp_path) -> None:  # noqa: ANN001
    hub, proxy, connector, numbers, _ = setup
    proxy.set_mode(FaultProxy.REFUSE)
    with connector.client() as desk:
        assert desk.post("/api/v1/circulation/checkout",
                         json={"member": numbers[0], "item": "EM0000000005"}).status_code == 202
    connector.stop()
    run = subprocess.run([sys.executable, "-m", "chaekieum.cli", "connector", "status",
                          "--config", str(connector.config), "--json"],
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    status = json.loads(run.stdout)
    assert status["queue_depth"] == 1 and status["last_hub_contact"]
