"""The conformance kit (docs/conformance.md) against the hub itself (it must pass, over
REST and SIP2, on SQLite and PostgreSQL) and against deliberately broken integrations
built here (it must fail, naming the right scenario and failure code), and the sandbox
(nothing left behind, never in statistics)."""

from __future__ import annotations

import json
import re
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
    before = sandbox_rows(hub_server.hub)
    outcome = run(options(hub_server.url, hub_server.sip2_port))
    failed = {r.scenario.id: (r.failure_code, r.reason) for r in outcome.results
              if r.status != "pass" and not r.scenario.id.startswith("CONN-")}
    assert failed == {}
    # the connector scenarios do not apply to the hub (with the reason): the whole
    # catalogue against the hub passes
    not_applicable = {r.scenario.id: r.reason for r in outcome.results
                      if r.status == "not_applicable"}
    assert set(not_applicable) == {"CONN-01", "CONN-02"}
    assert all("not a library connector" in why for why in not_applicable.values())
    assert outcome.exit_code == 0
    assert outcome.cleanup["left"] == {"members": 0, "copies": 0}
    assert outcome.cleanup["removed"]["loans"] > 30  # the run lent, and took it all back
    # real members, loans and the daily statistics are as they were
    assert sandbox_rows(hub_server.hub) == before
    doc = reports.build(outcome)
    json_path, html_path = reports.write(doc, tmp_path)
    stored = reports.load_report(json_path.read_text(encoding="utf-8"))
    assert stored.summary.result == "pass" and len(stored.results) == len(CATALOGUE)
    assert (stored.summary.not_applicable, stored.summary.skipped) == (2, 0)
    assert json.loads(json_path.read_text())["schema"] == "chaekieum-conformance/2"
    html = html_path.read_text(encoding="utf-8")
    assert "결과: 통과" in html and "해당 없음 2" in html
    assert re.search(r'<tr id="CONN-01">.*?class="not_applicable">해당 없음<', html, re.S)


# -- deliberately broken integrations -------------------------------------------------
class BrokenProxy:
    """An HTTP front for the hub that breaks one thing: `request(method, path, headers,
    body) -> (headers, body)` and `response(path, status, body) -> body` rewrite what
    passes through. Served by uvicorn on a free port, like a library's own middleware."""

    def __init__(self, upstream: str, request=None, response=None) -> None:  # noqa: ANN001
        import httpx
        from starlette.applications import Starlette
        from starlette.responses import Response
        from starlette.routing import Route

        client = httpx.Client(base_url=upstream, timeout=30)

        async def forward(req):  # noqa: ANN001, ANN202
            from starlette.concurrency import run_in_threadpool

            body = await req.body()
            headers = {k: v for k, v in req.headers.items()
                       if k.lower() not in ("host", "content-length")}
            if request:
                headers, body = request(req.method, req.url.path, headers, body)
            r = await run_in_threadpool(client.request, req.method, req.url.path,
                                        params=dict(req.query_params), headers=headers,
                                        content=body)
            content = r.content
            if response and r.headers.get("content-type", "").startswith("application/json"):
                content = response(req.url.path, r.status_code, content)
            keep = {k: v for k, v in r.headers.items()
                    if k.lower() in ("content-type", "idempotent-replayed")}
            return Response(content, status_code=r.status_code, headers=keep)

        app = Starlette(routes=[Route("/{path:path}", forward,
                                      methods=["GET", "POST", "PUT", "PATCH", "DELETE"])])
        self.server = LiveServer(app, free_port())
        self.url = self.server.url

    def __enter__(self) -> BrokenProxy:
        self.server.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.stop()


def _json_edit(edit):  # noqa: ANN001, ANN202
    def response(path: str, status: int, content: bytes) -> bytes:
        doc = json.loads(content)
        edit(path, status, doc)
        return json.dumps(doc).encode()
    return response


def sandbox_rows(hub) -> dict:  # noqa: ANN001
    import sqlalchemy as sa

    from chaekieum.store.tables import copies, daily_circulation, loans, members

    with hub.db.read() as conn:
        return {
            "sandbox_members": conn.scalar(sa.select(sa.func.count()).select_from(members)
                                           .where(members.c.sandbox_of.is_not(None))),
            "sandbox_copies": conn.scalar(sa.select(sa.func.count()).select_from(copies)
                                          .where(copies.c.sandbox_of.is_not(None))),
            "members": conn.scalar(sa.select(sa.func.count()).select_from(members)),
            "loans": conn.scalar(sa.select(sa.func.count()).select_from(loans)),
            "daily": tuple(conn.execute(sa.select(sa.func.coalesce(sa.func.sum(
                daily_circulation.c.loans), 0), sa.func.coalesce(sa.func.sum(
                    daily_circulation.c.returns), 0))).one()),
        }


def test_a_proxy_that_drops_the_due_date_fails_rest_05(live_server) -> None:  # noqa: ANN001
    def drop(path: str, status: int, doc: dict) -> None:
        if path.startswith("/api/v1/circulation/") and isinstance(doc.get("loan"), dict):
            doc["loan"].pop("due_on", None)

    with BrokenProxy(live_server.url, response=_json_edit(drop)) as proxy:
        outcome = run(options(proxy.url, only="REST-05,REST-07"))
    results = by_id(outcome)
    assert (results["REST-05"].status, results["REST-05"].failure_code) == (
        "fail", "DUE_DATE_MISSING")
    assert results["REST-07"].status == "pass"  # nothing else is blamed
    assert outcome.exit_code == 1
    doc = reports.build(outcome)
    failing = next(r for r in doc.results if r.id == "REST-05")
    assert failing.fix_ko and "due_on" in failing.fix_ko
    assert failing.exchanges and all("시험회원" not in json.dumps(e, ensure_ascii=False)
                                     for e in failing.exchanges)
    html = reports.to_html(doc)
    assert "DUE_DATE_MISSING" in html and "REST-05" in html


def test_a_target_that_applies_a_retried_write_twice_fails_rest_14(live_server) -> None:  # noqa: ANN001
    def strip(method: str, path: str, headers: dict, body: bytes):  # noqa: ANN202
        # a middleware that drops what makes a resend recognisable
        headers = {k: v for k, v in headers.items() if k.lower() != "idempotency-key"}
        if path == "/api/v1/circulation/checkout" and body:
            doc = json.loads(body)
            doc.pop("client_txn_id", None)
            body = json.dumps(doc).encode()
        return headers, body

    with BrokenProxy(live_server.url, request=strip) as proxy:
        outcome = run(options(proxy.url, only="REST-14"))
    result = by_id(outcome)["REST-14"]
    assert (result.status, result.failure_code) == ("fail", "RETRY_APPLIED_TWICE")


def test_a_feed_that_repeats_an_event_fails_rest_16(live_server) -> None:  # noqa: ANN001
    def repeat(path: str, status: int, doc: dict) -> None:
        # an off-by-one cursor: the last event of every page comes again on the next
        if path == "/api/v1/events" and doc.get("events") and doc["next_after"] > 0:
            doc["next_after"] -= 1 if len(doc["events"]) > 1 or doc["has_more"] else 0
            doc["has_more"] = True if len(doc["events"]) > 1 else doc["has_more"]

    with BrokenProxy(live_server.url, response=_json_edit(repeat)) as proxy:
        outcome = run(options(proxy.url, only="REST-16"))
    result = by_id(outcome)["REST-16"]
    assert (result.status, result.failure_code) == ("fail", "EVENT_REPEATED")


class WrongChecksums:
    """A SIP2 front that passes frames both ways but writes every reply's AZ wrong (it
    sums characters, not bytes, and forgets the two's complement)."""

    def __init__(self, upstream_port: int) -> None:
        import socketserver
        import threading

        def wrong(line: bytes) -> bytes:
            import re

            m = re.search(rb"AZ[0-9A-F]{4}$", line)
            if not m:
                return line
            body = line[:m.start() + 2]
            return body + f"{sum(body.decode('utf-8', 'replace').encode('latin-1', 'replace')) & 0xFFFF:04X}".encode()

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:  # noqa: D401
                import socket

                up = socket.create_connection(("127.0.0.1", upstream_port))
                self.request.settimeout(30)
                up.settimeout(30)
                buf = b""
                try:
                    while True:
                        data = self.request.recv(65536)
                        if not data:
                            return
                        up.sendall(data)
                        while b"\r" not in buf:
                            chunk = up.recv(65536)
                            if not chunk:
                                return
                            buf += chunk
                        line, _, buf = buf.partition(b"\r")
                        self.request.sendall(wrong(line) + b"\r")
                except OSError:
                    return
                finally:
                    up.close()

        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> WrongChecksums:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_a_sip2_front_that_miscomputes_checksums_fails_sip_06(live_server) -> None:  # noqa: ANN001
    with WrongChecksums(live_server.sip2_port) as front:
        outcome = run(options(live_server.url, front.port, only="SIP-06,SIP-02"))
    results = by_id(outcome)
    assert (results["SIP-06"].status, results["SIP-06"].failure_code) == (
        "fail", "CHECKSUM_WRONG")
    assert results["SIP-02"].failure_code == "MALFORMED_ANSWER"  # the field check sees it
    assert "checksum" in results["SIP-02"].reason
    exchange = reports.build(outcome).results[1].exchanges
    assert exchange and exchange[0]["channel"] == "sip2"


def test_a_run_that_fails_halfway_leaves_no_test_data(live_server, monkeypatch) -> None:  # noqa: ANN001
    from chaekieum.conformance import checks

    before = sandbox_rows(live_server.hub)

    class Aborted(BaseException):  # like Ctrl-C in the middle of the run
        pass

    def crash(run_, sc) -> None:  # noqa: ANN001
        raise Aborted

    monkeypatch.setitem(checks.CHECKS, "REST-09", crash)
    with pytest.raises(Aborted):
        run(options(live_server.url, only="REST-0*,REST-1*"))
    assert sandbox_rows(live_server.hub) == before
    monkeypatch.undo()

    # and a target that starts failing in the middle: every scenario after it fails
    calls = {"n": 0}

    def flaky(method: str, path: str, headers: dict, body: bytes):  # noqa: ANN202
        if path.startswith("/api/v1/circulation/"):
            calls["n"] += 1
            if calls["n"] > 12:
                headers = {**headers, "authorization": "Bearer ck_x_y"}
        return headers, body

    with BrokenProxy(live_server.url, request=flaky) as proxy:
        outcome = run(options(proxy.url, only="REST-*"))
    assert outcome.exit_code == 1
    assert {r.status for r in outcome.results} >= {"pass", "fail"}
    assert outcome.cleanup["left"] == {"members": 0, "copies": 0}
    assert sandbox_rows(live_server.hub) == before


def test_euc_kr_terminal(live_server) -> None:  # noqa: ANN001
    from chaekieum.services.context import SYSTEM

    live_server.hub.credentials.create_terminal(SYSTEM, LIB, "kiosk-euckr", "kiosk-pass-euckr",
                                                encoding="euc-kr")
    opts = options(live_server.url, live_server.sip2_port, only="SIP-*", encoding="euc-kr")
    opts.terminal, opts.password = "kiosk-euckr", "kiosk-pass-euckr"
    assert [r.status for r in run(opts).results] == ["pass"] * 13
    opts.encoding = "utf-8"  # the kiosk is set up for another encoding than the port
    result = by_id(run(opts))["SIP-08"]
    assert (result.status, result.failure_code) == ("fail", "NAME_GARBLED")


def test_cp850_terminal(live_server) -> None:  # noqa: ANN001
    """A terminal configured for cp850 (no Hangul): the name comes one substitute per
    character and the checksum is over the bytes; a UTF-8 port read as cp850 fails."""
    from chaekieum.services.context import SYSTEM

    live_server.hub.credentials.create_terminal(SYSTEM, LIB, "kiosk-cp850", "kiosk-pass-cp850",
                                                encoding="cp850")
    opts = options(live_server.url, live_server.sip2_port, only="SIP-03,SIP-08",
                   encoding="cp850")
    opts.terminal, opts.password = "kiosk-cp850", "kiosk-pass-cp850"
    assert [r.status for r in run(opts).results] == ["pass"] * 2
    utf8 = options(live_server.url, live_server.sip2_port, only="SIP-08", encoding="cp850")
    result = by_id(run(utf8))["SIP-08"]  # the default terminal sends UTF-8
    assert (result.status, result.failure_code) == ("fail", "NAME_GARBLED")


def test_cli_list_and_run(live_server, tmp_path) -> None:  # noqa: ANN001
    from typer.testing import CliRunner

    from chaekieum.cli import app

    runner = CliRunner()
    listed = runner.invoke(app, ["conformance", "list"])
    assert listed.exit_code == 0
    assert all(s.id in listed.output for s in CATALOGUE) and "DUE_DATE_MISSING" in listed.output
    as_json = json.loads(runner.invoke(app, ["conformance", "list", "--json"]).output)
    assert len(as_json["scenarios"]) == len(CATALOGUE)
    args = ["conformance", "run", "--target", live_server.url, "--library", LIB,
            "--key", key(), "--report", str(tmp_path)]
    ok = runner.invoke(app, args + ["--only", "REST-01,REST-07"])
    assert ok.exit_code == 0, ok.output
    skipped = runner.invoke(app, args + ["--only", "REST-01,SIP-02"])  # no --sip2 given
    assert skipped.exit_code == 3 and "SIP-02" in skipped.output  # still incomplete
    assert "incomplete: 1 passed, 0 failed, 1 skipped, 0 not applicable" in skipped.output
    hub_only = runner.invoke(app, args + ["--only", "REST-01,CONN-*"])  # CONN: not the hub
    assert hub_only.exit_code == 0 and "해당 없음" in hub_only.output
    assert "pass: 1 passed, 0 failed, 0 skipped, 2 not applicable" in hub_only.output
    bad = runner.invoke(app, args[:-2] + ["--key", "ck_nope_nope", "--only", "REST-01"])
    assert bad.exit_code == 1
    stored = [reports.load_report(p.read_text(encoding="utf-8"))
              for p in sorted(tmp_path.glob("*.json"))]
    assert sorted(r.summary.result for r in stored) == ["incomplete", "pass", "pass"]
    assert runner.invoke(app, ["conformance", "run", "--target", "x", "--library", "12",
                               "--key", "k"]).exit_code == 2
    assert runner.invoke(app, args + ["--encoding", "latin-1"]).exit_code == 2
    schema = json.loads(runner.invoke(app, ["conformance", "schema"]).output)
    assert "results" in schema["properties"]
