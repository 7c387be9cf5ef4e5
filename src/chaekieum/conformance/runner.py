"""Running the catalogue against a target: sandbox set-up, one scenario after another,
clean-up that happens whatever went wrong, and the results for the report.

A scenario's step function raises `Fail(code, detail)` (a code of its catalogue row or
a generic one) or `Skip(reason)`; anything else it raises is reported as `KIT_ERROR`
A scenario that does not apply to the target at all (a connector's scenario against the
hub) is `not_applicable`, with that reason: unlike a skip it leaves nothing unchecked.
(`TransportError` as `NO_ANSWER`). Every HTTP exchange and SIP2 frame of the scenario
is recorded; a failing scenario's exchanges go into the report, personal data masked.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx

from ..client import HubClient, HubError, TransportError
from ..client.api import RetryPolicy
from .catalogue import Scenario, select_ids
from .sip2wire import Malformed, Wire


class Fail(Exception):
    def __init__(self, code: str, detail: str = "") -> None:
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.detail = detail


class Skip(Exception):
    pass


NOT_APPLICABLE = "not_applicable"


def verdict(statuses: list[str]) -> str:
    """`fail` when a scenario failed; `pass` when every applicable scenario passed (at
    least one did); else `incomplete` (something skipped, or nothing applied)."""
    if "fail" in statuses:
        return "fail"
    applicable = [s for s in statuses if s != NOT_APPLICABLE]
    return "pass" if applicable and all(s == "pass" for s in applicable) else "incomplete"


@dataclass
class Options:
    target: str
    library: str
    key: str
    sip2: str | None = None  # HOST:PORT of the kiosk port
    terminal: str | None = None
    password: str | None = None
    encoding: str = "utf-8"  # the terminal's configured encoding
    only: str | None = None
    timeout: float = 10.0


@dataclass
class Result:
    scenario: Scenario
    status: str  # pass | fail | skipped | not_applicable
    reason: str = ""
    failure_code: str | None = None
    duration_ms: int = 0
    exchanges: list[dict[str, Any]] = field(default_factory=list)


class RecordingTransport(httpx.BaseTransport):
    """Passes requests on and keeps each request/response pair for the report."""

    def __init__(self, inner: httpx.BaseTransport, log: list) -> None:
        self.inner = inner
        self.log = log

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        body = request.read()
        entry: dict[str, Any] = {
            "channel": "rest", "method": request.method, "url": str(request.url),
            "request_headers": {k: v for k, v in request.headers.items()
                                if k.lower() in ("idempotency-key", "content-type",
                                                 "x-acting-library")},
            "request_body": body.decode("utf-8", "replace")}
        self.log.append(entry)
        response = self.inner.handle_request(request)
        content = response.read()
        entry.update(status=response.status_code, response_headers={
            k: v for k, v in response.headers.items()
            if k.lower() in ("content-type", "idempotent-replayed")},
            response_body=content.decode("utf-8", "replace"))
        return httpx.Response(response.status_code, headers=response.headers,
                              content=content, request=request)

    def close(self) -> None:
        self.inner.close()


class Run:
    """The state one run shares between its scenarios."""

    def __init__(self, options: Options, scenarios: list[Scenario],
                 transport: httpx.BaseTransport | None = None) -> None:
        self.options = options
        self.scenarios = scenarios
        self.log: list[dict[str, Any]] = []
        inner = transport or httpx.HTTPTransport()
        self.hub = HubClient(options.target, options.key, timeout=options.timeout,
                             retry=RetryPolicy(attempts=1),
                             transport=RecordingTransport(inner, self.log))
        self.fixtures: dict[str, Any] = {}
        self._members: list[dict] = []
        self._foreign: list[dict] = []
        self._copies: list[dict] = []
        self.library_info: dict[str, Any] = {}
        self.policy: dict[str, Any] = {}
        self.cleanup: dict[str, Any] = {}
        self.connector: dict[str, Any] | None = None  # its status, when the target is one

    # -- fixtures --------------------------------------------------------------------
    def setup(self) -> None:
        """Remove what an earlier, interrupted run may have left, then create this run's
        sandbox members and copies (as many as the selected scenarios use)."""
        self.connector = self.connector_status()
        self.hub.clean_sandbox()
        need = {k: sum(getattr(s, k) for s in self.scenarios)
                for k in ("members", "foreign", "copies")}
        self.library_info = self.hub.library(self.options.library)
        self.policy = self.hub.effective_policy(self.options.library)
        made = self.hub.create_sandbox(members=need["members"], copies=need["copies"])
        self.fixtures = made
        foreign_needed = need["foreign"] and made.get("peer")
        if foreign_needed:
            more = self.hub.create_sandbox(members=0, copies=0,
                                           foreign_members=need["foreign"])
            made["foreign_members"] = more["foreign_members"]
        self._members = list(made["members"])
        self._foreign = list(made.get("foreign_members") or [])
        self._copies = list(made["copies"])

    def teardown(self) -> None:
        """Always runs. Records what was removed and what (if anything) is left."""
        try:
            self.cleanup = {"removed": self.hub.clean_sandbox()["removed"]}
            left = self.hub.sandbox()
            self.cleanup["left"] = {"members": len(left["members"]),
                                    "copies": len(left["copies"])}
        except (HubError, TransportError) as exc:
            self.cleanup = {"error": str(exc)}

    # -- a library connector as the target ------------------------------------------
    def local(self, method: str, path: str, body: dict | None = None,
              headers: dict[str, str] | None = None) -> httpx.Response:
        """A request to the target outside /api/v1 (the connector's own endpoints) or one
        the client SDK cannot make (recorded like every other exchange)."""
        try:
            return self.hub._http.request(method, path, json=body,
                                          headers={**self.hub.headers, **(headers or {})})
        except httpx.HTTPError as exc:
            raise TransportError(f"{method} {path}: {type(exc).__name__}") from None

    def connector_status(self) -> dict[str, Any] | None:
        """`GET /connector/status` of a library connector (None: the target is the hub)."""
        r = self.local("GET", "/connector/status")
        try:
            doc = r.json() if r.status_code == 200 else None
        except ValueError:
            return None
        return doc if isinstance(doc, dict) and "queue_depth" in doc else None

    @property
    def peer(self) -> str | None:
        return self.fixtures.get("peer")

    @property
    def hub_now(self) -> datetime:
        """The hub's clock when the sandbox was made (offline replays are dated by it)."""
        return datetime.fromisoformat(self.fixtures["as_of"].replace("Z", "+00:00"))

    def member(self) -> dict:
        return self._members.pop(0)

    def foreign_member(self) -> dict:
        return self._foreign.pop(0)

    def copy(self) -> dict:
        return self._copies.pop(0)

    # -- SIP2 ---------------------------------------------------------------------------
    def wire(self) -> Wire:
        host, _, port = (self.options.sip2 or "").rpartition(":")
        return Wire(host or "127.0.0.1", int(port), encoding=self.options.encoding,
                    timeout=self.options.timeout, log=self.log)

    def kiosk(self) -> Wire:
        """A connection logged in with the terminal's credentials."""
        w = self.wire()
        reply = w.ask(f"9300CN{self.options.terminal}|CO{self.options.password}|CPconformance|")
        if reply.code != "94" or reply.fixed.get("ok") != "1":
            w.close()
            raise Fail("LOGIN_FAILED", f"94 ok={reply.fixed.get('ok')}")
        return w


def _sip_log_entry(entry: dict[str, Any], encoding: str) -> dict[str, Any]:
    return {"channel": "sip2",
            "sent": entry["sent"].decode(encoding, "replace").rstrip("\r"),
            "received": entry["received"].decode(encoding, "replace")}


def run_scenario(run: Run, scenario: Scenario,
                 check: Callable[[Run, Scenario], None]) -> Result:
    run.log.clear()
    start = time.monotonic()
    if "sip2" in scenario.needs and not (run.options.sip2 and run.options.terminal):
        return Result(scenario, "skipped", "no kiosk port given (--sip2, --terminal, "
                      "--password)")
    if "connector" in scenario.needs and run.connector is None:
        return Result(scenario, NOT_APPLICABLE, "the target is the hub, not a library "
                      "connector (these scenarios run against a connector's local API)")
    if "peer" in scenario.needs and not run.peer:
        return Result(scenario, "skipped", "no sandbox peer: the hub found no other "
                      "circulating library in this library's region")
    try:
        check(run, scenario)
        result = Result(scenario, "pass")
    except Skip as exc:
        result = Result(scenario, "skipped", str(exc))
    except Fail as exc:
        try:
            scenario.fix(exc.code)
            result = Result(scenario, "fail", exc.detail, exc.code)
        except KeyError:  # a code the catalogue does not list: a bug in the kit
            result = Result(scenario, "fail", f"unlisted code {exc.code}: {exc.detail}",
                            "KIT_ERROR")
    except HubError as exc:
        result = Result(scenario, "fail", f"{exc.status} {exc.code}: {exc.message}",
                        "UNEXPECTED_REFUSAL")
    except (TransportError, ConnectionError, OSError) as exc:
        result = Result(scenario, "fail", f"{type(exc).__name__}: {exc}", "NO_ANSWER")
    except (Malformed, KeyError, TypeError, ValueError) as exc:
        result = Result(scenario, "fail", f"{type(exc).__name__}: {exc}", "MALFORMED_ANSWER")
    except Exception as exc:  # noqa: BLE001 - reported, never hidden
        result = Result(scenario, "fail", f"{type(exc).__name__}: {exc}", "KIT_ERROR")
    result.duration_ms = int((time.monotonic() - start) * 1000)
    if result.status == "fail":
        result.exchanges = [
            _sip_log_entry(e, run.options.encoding) if "sent" in e else dict(e)
            for e in run.log]
    return result


@dataclass
class Outcome:
    options: Options
    results: list[Result]
    started_at: datetime
    finished_at: datetime
    fixtures: dict[str, Any]
    cleanup: dict[str, Any]

    @property
    def exit_code(self) -> int:
        """0 only when every applicable scenario passed (`verdict` pass); 1 on a failure;
        3 when nothing failed but something was skipped (incomplete)."""
        return {"pass": 0, "fail": 1, "incomplete": 3}[
            verdict([r.status for r in self.results])]


def run(options: Options, transport: httpx.BaseTransport | None = None,
        progress: Callable[[Result], None] | None = None) -> Outcome:
    from .checks import CHECKS

    scenarios = select_ids(options.only)
    started = datetime.now(UTC)
    r = Run(options, scenarios, transport)
    results: list[Result] = []
    try:
        try:
            r.setup()
        except (HubError, TransportError) as exc:
            code = "NO_ANSWER" if isinstance(exc, TransportError) else "UNEXPECTED_REFUSAL"
            results = [Result(s, "fail", f"sandbox set-up: {exc}", code) for s in scenarios]
        else:
            for scenario in scenarios:
                result = run_scenario(r, scenario, CHECKS[scenario.id])
                results.append(result)
                if progress:
                    progress(result)
    finally:
        r.teardown()
        r.hub.close()
    return Outcome(options, results, started, datetime.now(UTC), r.fixtures, r.cleanup)
