"""The conformance kit (docs/conformance.md) against the hub itself (it must pass, over
REST and SIP2, on SQLite and PostgreSQL) and against deliberately broken integrations
built here (it must fail, naming the right scenario and failure code), and the sandbox
(nothing left behind, never in statistics)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from chaekieum.conformance import report as reports
from chaekieum.conformance.catalogue import CATALOGUE, select_ids
from chaekieum.conformance.checks import CHECKS
from chaekieum.conformance.runner import Options, run
from chaekieum.services import demo

from ..conftest import LiveServer, free_port

LIB = "111001"


def key(code: str = LIB) -> str:
    kid, secret = demo.api_key_secret(code)
    return f"ck_{kid}_{secret}"


def options(url: str, sip2_port: int | None = None, **kw) -> Options:  # noqa: ANN003
    login, password = demo.terminal_login(LIB)
    sip = {"sip2": f"127.0.0.1:{sip2_port}", "terminal": login, "password": password} \
        if sip2_port else {}
    return Options(target=url, library=LIB, key=key(), timeout=20, **sip, **kw)


def by_id(outcome) -> dict:  # noqa: ANN001
    return {r.scenario.id: r for r in outcome.results}


@pytest.fixture
def hub_server(any_hub) -> Iterator[LiveServer]:  # noqa: ANN001
    """API + SIP2 over the demo hub (SQLite and PostgreSQL), at the fixed test clock."""
    from chaekieum.server import create_app

    sip2_port = free_port()
    server = LiveServer(create_app(any_hub, sip2_port=sip2_port, with_web=False),
                        free_port()).start()
    server.sip2_port = sip2_port  # type: ignore[attr-defined]
    server.hub = any_hub  # type: ignore[attr-defined]
    yield server
    server.stop()


def test_catalogue_is_complete_data() -> None:
    ids = [s.id for s in CATALOGUE]
    assert len(ids) == len(set(ids)) and set(ids) == set(CHECKS)
    for s in CATALOGUE:
        assert s.title_ko and s.title_en and s.proves and s.failures
        assert all(f.code.isupper() and f.fix_ko for f in s.failures)
    assert [s.id for s in select_ids("REST-0*,SIP-02")][-1] == "SIP-02"
    with pytest.raises(ValueError):
        select_ids("REST-99")


def test_kit_passes_against_the_hub(hub_server, tmp_path) -> None:  # noqa: ANN001
    outcome = run(options(hub_server.url, hub_server.sip2_port))
    failed = {r.scenario.id: (r.failure_code, r.reason) for r in outcome.results
              if r.status != "pass"}
    assert failed == {}
    assert outcome.exit_code == 0
    assert outcome.cleanup["left"] == {"members": 0, "copies": 0}
    doc = reports.build(outcome)
    json_path, html_path = reports.write(doc, tmp_path)
    stored = reports.load_report(json_path.read_text(encoding="utf-8"))
    assert stored.summary.result == "pass" and len(stored.results) == len(CATALOGUE)
    assert json.loads(json_path.read_text())["schema"] == "chaekieum-conformance/1"
    assert "통과" in html_path.read_text(encoding="utf-8")
