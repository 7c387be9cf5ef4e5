"""The conformance kit (docs/conformance.md) against a library's connector: a running
connector process in front of a hub process, with its SIP2 front for kiosks and the
`outbox-sql` adapter on MariaDB as the library system's own database. The whole
catalogue passes through it, the connector scenarios included (the uplink switched off
and on again by the kit; a 타관반납 event read back from the library system's inbox).
Against deliberately broken connectors the kit fails with the right scenario and code."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from chaekieum.conformance import report as reports
from chaekieum.conformance.catalogue import CATALOGUE
from chaekieum.conformance.runner import Options, run
from chaekieum.connector.adapters.outbox_sql import OutboxSqlAdapter
from chaekieum.connector.config import load
from chaekieum.connector.daemon import Connector
from chaekieum.connector.run import asgi_app

from ...conftest import LiveServer, free_port
from ..connector_procs import (
    DESK_TOKEN,
    LIBRARY,
    ConnectorProcess,
    demo_hub_db,
    hub_rows,
    start_hub,
    write_config,
)


def outbox(url: str) -> str:
    return (f'[[adapters]]\ntype = "outbox-sql"\nname = "kolas"\n[adapters.options]\n'
            f'url = "{url}"\ncreate_tables = true\n')


def kit(url: str, sip2_port: int | None = None, **kw) -> Options:  # noqa: ANN003
    sip = {"sip2": f"127.0.0.1:{sip2_port}", "terminal": "desk-1", "password": DESK_TOKEN} \
        if sip2_port else {}
    return Options(target=url, library=LIBRARY, key=DESK_TOKEN, timeout=20, **sip, **kw)


def by_id(outcome) -> dict:  # noqa: ANN001
    return {r.scenario.id: r for r in outcome.results}


def _hub_process(hub):  # noqa: ANN001, ANN202
    url, _ = demo_hub_db(hub)
    server = start_hub(url)
    yield server, url
    server.stop()


@pytest.fixture
def hub_process(hub):  # noqa: ANN001, ANN201
    """The demo hub (SQLite) as a process on the real clock."""
    yield from _hub_process(hub)


@pytest.fixture
def any_hub_process(any_hub):  # noqa: ANN001, ANN201
    """The same on SQLite and PostgreSQL."""
    yield from _hub_process(any_hub)


def test_the_kit_passes_against_a_connector(tmp_path: Path, any_hub_process,  # noqa: ANN001
                                            mariadb_url) -> None:  # noqa: ANN001
    server, url = any_hub_process
    port, sip2_port = free_port(), free_port()
    # forward_timeout: on a loaded test machine an online write must not go to the queue
    # (the kit expects the hub's answer); CONN-01 takes the uplink down itself
    config = write_config(tmp_path / "connector.toml", server.url, tmp_path / "data", port,
                          tables=outbox(mariadb_url), forward_timeout=10.0,
                          snapshot_interval=2, poll_interval=0.2,
                          sip2_listen=f"127.0.0.1:{sip2_port}", acceptance_switches=True)
    connector = ConnectorProcess(config, port).start()
    before = hub_rows(url, "SELECT count(*) FROM members WHERE sandbox_of IS NULL")
    try:
        connector.wait_snapshot()
        outcome = run(kit(connector.url, sip2_port))
        status = connector.status()
    finally:
        connector.stop()
    failed = {r.scenario.id: (r.failure_code, r.reason) for r in outcome.results
              if r.status != "pass"}
    assert failed == {}
    assert outcome.exit_code == 0 and len(outcome.results) == len(CATALOGUE)
    assert outcome.cleanup["left"] == {"members": 0, "copies": 0}
    assert status["queue_depth"] == 0
    assert hub_rows(url, "SELECT count(*) FROM members WHERE sandbox_of IS NULL") == before
    assert hub_rows(url, "SELECT count(*) FROM copies WHERE sandbox_of IS NOT NULL") == [(0,)]
    doc = reports.build(outcome)
    assert doc.summary.result == "pass"
    assert json.loads(doc.model_dump_json())["target"]["url"] == connector.url


def test_the_kit_fails_against_broken_connectors(tmp_path: Path, hub_process) -> None:  # noqa: ANN001
    """A connector that answers an offline write 202 but never stores it, with an adapter
    that acknowledges events without writing them into the inbox."""
    server, _ = hub_process

    class LosingConnector(Connector):
        def _enqueue(self, *args, **kwargs) -> int:  # noqa: ANN002, ANN003
            return 1  # "queued" (the answer says so), but nothing is stored

    class DroppingAdapter(OutboxSqlAdapter):
        async def deliver(self, event) -> None:  # noqa: ANN001
            return None  # acknowledged, never written

    port = free_port()
    ils = f"sqlite:///{tmp_path / 'ils.db'}"
    path = write_config(tmp_path / "broken.toml", server.url, tmp_path / "broken", port,
                        tables=outbox(ils), forward_timeout=10.0, snapshot_interval=2,
                        poll_interval=0.2, acceptance_switches=True)
    config = load(path)
    (name, real), = config.adapters
    config.adapters = [(name, DroppingAdapter(real.options))]
    config.data_dir.mkdir(parents=True, exist_ok=True)
    live = LiveServer(asgi_app(LosingConnector(config)), port).start()
    try:
        desk = {"Authorization": f"Bearer {DESK_TOKEN}"}
        # the switch is sandbox-only: no conformance run in progress, no outage
        r = httpx.post(f"{live.url}/connector/acceptance/uplink", json={"state": "down"},
                       headers=desk, timeout=10)
        assert r.status_code == 409 and r.json()["code"] == "FORBIDDEN", r.text
        assert httpx.post(f"{live.url}/connector/acceptance/uplink", json={"state": "down"},
                          timeout=10).status_code == 401
        outcome = run(kit(live.url, only="CONN-*,REST-07"))
    finally:
        live.stop()
    results = by_id(outcome)
    assert (results["CONN-01"].status, results["CONN-01"].failure_code) == (
        "fail", "REPLAY_LOST")
    assert (results["CONN-02"].status, results["CONN-02"].failure_code) == (
        "fail", "EVENT_NOT_STORED")
    assert results["REST-07"].status == "pass"  # nothing else is blamed
    assert outcome.exit_code == 1
    assert outcome.cleanup["left"] == {"members": 0, "copies": 0}
    failing = next(r for r in reports.build(outcome).results if r.id == "CONN-01")
    assert "대기열" in failing.fix_ko and failing.exchanges


def test_without_the_switch_the_offline_scenario_says_how_to_enable_it(
        tmp_path: Path, hub_process) -> None:  # noqa: ANN001
    server, _ = hub_process
    port = free_port()
    config = write_config(tmp_path / "plain.toml", server.url, tmp_path / "plain", port,
                          snapshot_interval=2, poll_interval=0.2)
    connector = ConnectorProcess(config, port).start()
    try:
        outcome = run(kit(connector.url, only="CONN-*"))
    finally:
        connector.stop()
    results = by_id(outcome)
    assert (results["CONN-01"].status, results["CONN-01"].failure_code) == (
        "fail", "SWITCH_UNAVAILABLE")
    assert "acceptance_switches" in results["CONN-01"].reason
    assert results["CONN-02"].status == "skipped"  # no adapter with events configured
    assert "events" in results["CONN-02"].reason
