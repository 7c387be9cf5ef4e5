"""api.fastpath answers the hot circulation writes exactly as FastAPI's full path does.

Two hubs hold the same demo network at the same fixed time; one app serves with the fast
path, the other without (`create_app(fast_path=False)`). On PostgreSQL the fast app runs
its writes in request threads, and again on the event loop (`writes_on_loop`). The same requests, in the same
order, go to both: successes, refusals, idempotent retries, wrong, revoked and
sandbox-only keys, bad JSON, missing fields and wrong types, other media types. Every
answer must be the same status, headers and body bytes, each request must count the same
in /metrics, and both databases must end with the same audit trail. A spy on FastAPI's
route handling shows which requests the fast path answered itself and which it handed
on.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
import sqlalchemy as sa
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from chaekieum import metrics
from chaekieum.server import create_app
from chaekieum.services import demo
from chaekieum.services.context import SYSTEM, FixedClock
from chaekieum.services.hub import Hub
from chaekieum.store.tables import audit_log

from ..conftest import PG_URL, SECRET, T0, demo_hub_copy, pg_demo_database
from .apiclient import library_key

LIB, OTHER = "111001", "111002"
CHECKOUT, CHECKIN, RENEW = (f"/api/v1/circulation/{op}" for op in ("checkout", "checkin", "renew"))
# the same admin/sandbox/revoked key secret in both hubs (their key ids differ)
SECRETS = {"admin": "a" * 43, "sandbox": "s" * 43, "revoked": "r" * 43, "vendor": "v" * 43}
VENDOR = "2208162517"  # a valid 사업자등록번호


class Twin:
    """One hub and its app, with or without the fast path."""

    def __init__(self, hub: Hub, fast: bool, on_loop: bool = False):
        self.hub = hub
        self.client = TestClient(create_app(hub, with_web=False, fast_path=fast,
                                            writes_on_loop=on_loop),
                                 raise_server_exceptions=False)
        self.keys = {"library": library_key(LIB), "other": library_key(OTHER)}
        self.key_ids: dict[str, str] = {}
        hub.vendors.create(SYSTEM, VENDOR, "한빛정보(주)", "김구축", "build@hanbit.example")
        for name, secret in SECRETS.items():
            scope = {"admin": ("national", ""), "vendor": ("vendor", VENDOR)}
            made = hub.credentials.create_api_key(
                SYSTEM, *scope.get(name, ("library", LIB)),
                label=name, environment="sandbox" if name == "sandbox" else "live",
                secret=secret)
            self.keys[name], self.key_ids[name] = made["api_key"], made["key_id"]


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres),
                        pytest.param("postgres-loop", marks=pytest.mark.postgres)])
def twins(request, tmp_path: Path) -> Iterator[tuple[Twin, Twin]]:  # noqa: ANN001
    if request.param == "sqlite":
        for side in ("fast", "full"):
            (tmp_path / side).mkdir()
        hubs = [demo_hub_copy(tmp_path / side, FixedClock(T0)) for side in ("fast", "full")]
    else:
        if not PG_URL:
            pytest.skip("no PostgreSQL configured (set CHAEKIEUM_TEST_PG_URL)")
        hubs = [Hub(pg_demo_database(), secret=SECRET, clock=FixedClock(T0)) for _ in "ab"]
    fast = Twin(hubs[0], True, on_loop=request.param == "postgres-loop")
    full = Twin(hubs[1], False)
    with fast.client, full.client:
        yield fast, full
    for hub in hubs:
        hub.close()


@pytest.fixture
def route_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Paths FastAPI's own route handling served (the fast path's answers never get there)."""
    calls: list[str] = []
    handle = APIRoute.handle

    async def spy(self: APIRoute, scope: dict, receive: Any, send: Any) -> None:
        calls.append(scope["path"])
        await handle(self, scope, receive, send)

    monkeypatch.setattr(APIRoute, "handle", spy)
    return calls


def counters(route: str) -> dict[tuple[str, ...], float]:
    """The request and refusal counters in this process's /metrics text."""
    text = metrics.exposition()[0].decode()
    found = {}
    for line in text.splitlines():
        if line.startswith(("chaekieum_http_requests_total{", "chaekieum_refusals_total{")) \
                and (route in line or "refusals" in line):
            name, labels = line.split("{", 1)
            found[(name, labels.rsplit("}", 1)[0])] = float(line.rsplit(" ", 1)[1])
    return found


def delta(before: dict, after: dict) -> dict:
    return {k: v - before.get(k, 0) for k, v in after.items() if v != before.get(k, 0)}


def send(twin: Twin, path: str, body: Any, key: str | None = "library",
         headers: dict[str, str] | None = None) -> tuple[Any, dict]:
    """POST `body` (bytes as they are, anything else as JSON) with `key`; the response
    and what it added to the metrics counters."""
    sent = {"content-type": "application/json"}
    if key is not None:
        sent["authorization"] = f"Bearer {twin.keys.get(key, key)}"
    sent.update(headers or {})
    content = body if isinstance(body, bytes) else orjson.dumps(body)
    before = counters(path)
    response = twin.client.post(path, content=content, headers=sent)
    return response, delta(before, counters(path))


def same(fast: Twin, full: Twin, route_calls: list[str], path: str, body: Any,
         fast_path: bool, **kw: Any) -> Any:
    """The request through both apps: identical answers and counters; `fast_path`: the
    fast app answered it itself (else FastAPI did). Returns the fast app's response."""
    route_calls.clear()
    a, counted_a = send(fast, path, body, **kw)
    assert route_calls == ([] if fast_path else [path]), (path, body, kw)
    route_calls.clear()
    b, counted_b = send(full, path, body, **kw)
    assert route_calls == [path]
    assert (a.status_code, a.content) == (b.status_code, b.content), (path, body, kw)
    assert a.headers.items() == b.headers.items()
    assert counted_a == counted_b and counted_a, (counted_a, counted_b)
    return a


def audit_trail(twin: Twin) -> list[tuple]:
    """Every audit entry, the test keys' random ids put back as their names."""
    names = {v: k for k, v in twin.key_ids.items()}
    pattern = re.compile("|".join(map(re.escape, names)))
    with twin.hub.db.read() as conn:
        rows = conn.execute(sa.select(audit_log).order_by(audit_log.c.id)).all()
    return [tuple(pattern.sub(lambda m: names[m.group(0)], str(v)) for v in row)
            for row in rows]


def test_fast_path_answers_as_the_full_path(twins: tuple[Twin, Twin],
                                            route_calls: list[str]) -> None:
    fast, full = twins
    info = demo.info(fast.hub)
    members = [m["number"] for m in info["members"]]
    lib = next(x for x in info["libraries"] if x["code"] == LIB)
    other = next(x for x in info["libraries"] if x["code"] == OTHER)
    item, item2, item3 = lib["loanable_items"][:3]
    foreign = other["loanable_items"][0]

    def check(path: str, body: Any, fast_path: bool = True, **kw: Any) -> Any:
        return same(fast, full, route_calls, path, body, fast_path, **kw)

    # a key's first use is verified (argon2) in the worker thread, then cached
    assert check(CHECKIN, {"item": item}).json()["code"] == "NOT_ON_LOAN"
    # the hot path itself: a checkout, its renewal, a checkin, and their refusals
    loan = check(CHECKOUT, {"member": members[0], "item": item})
    assert loan.status_code == 200, loan.text
    assert "content-security-policy" in loan.headers
    assert check(CHECKOUT, {"member": members[1], "item": item}).status_code == 409
    assert check(RENEW, {"item": item, "member": members[0]}).json()["code"] == "RENEW_SAME_DAY"
    for twin in (fast, full):
        twin.hub.clock.advance(days=1)
    assert check(RENEW, {"item": item, "member": members[0]}).status_code == 200
    assert check(RENEW, {"item": item}, key="other").status_code >= 400  # owner only
    assert check(CHECKIN, {"item": item}).status_code == 200
    assert check(CHECKIN, {"item": item}).json()["code"] == "NOT_ON_LOAN"
    assert check(RENEW, {"item": item2}).json()["code"] == "NOT_ON_LOAN"
    unknown_member = members[0][:-5] + "99999"
    assert check(CHECKOUT, {"member": unknown_member, "item": item2}).status_code in (404, 422)
    assert check(CHECKOUT, {"member": members[0], "item": "$111001EM9999999999"}) \
        .json()["code"] == "COPY_UNKNOWN"
    assert check(CHECKOUT, {"member": members[0], "item": "$12"}).status_code >= 400
    assert check(CHECKOUT, {"member": "12345", "item": item2}).status_code >= 400
    # an item of another library, and a member number with surrounding blanks
    check(CHECKOUT, {"member": f"  {members[2]} ", "item": foreign})
    check(CHECKIN, {"item": foreign, "owner_library": OTHER})
    # every optional field
    check(CHECKOUT, {"member": members[3], "item": item3, "owner_library": LIB,
                     "copy": {"title": "책", "loanable": True}, "client_txn_id": "t-1",
                     "occurred_at": "2026-03-04T09:30:00+09:00", "offline": True,
                     "due_on": "2026-03-18"})
    check(CHECKIN, {"item": item3, "client_txn_id": "t-2", "offline": False})
    # English messages
    check(CHECKIN, {"item": item3}, headers={"accept-language": "en"})

    # Idempotency-Key: the first answer, its replay, another body under the same key,
    # a refusal replayed, and a key out of bounds
    idem = {"idempotency-key": "desk-7-0001"}
    first = check(CHECKOUT, {"member": members[4], "item": item2}, headers=idem)
    assert first.headers["idempotent-replayed"] == "false"
    again = check(CHECKOUT, {"member": members[4], "item": item2}, headers=idem)
    assert again.headers["idempotent-replayed"] == "true" and again.content == first.content
    assert check(CHECKOUT, {"member": members[1], "item": item2}, headers=idem) \
        .json()["code"] == "IDEMPOTENCY_KEY_REUSED"
    refused = {"idempotency-key": "desk-7-0002"}
    check(CHECKIN, {"item": "$111001EM9999999999"}, headers=refused)
    check(CHECKIN, {"item": "$111001EM9999999999"}, headers=refused)
    check(CHECKIN, {"item": item2}, headers={"idempotency-key": "x" * 201})
    check(CHECKIN, {"item": item2}, headers={"idempotency-key": "   "})
    check(CHECKIN, {"item": item2}, headers={"idempotency-key": "desk-7-0003"})

    # a sandbox-only key: a real copy is out of its reach
    check(CHECKOUT, {"member": members[0], "item": item}, key="sandbox")
    check(CHECKIN, {"item": item}, key="sandbox")

    # bodies that do not validate: the full path answers, in the error shape
    for body in (b'{"member": "1", "item": ', b"", b"[]", b"null", b'"x"', b"\xff\xfe",
                 b'{"member": NaN, "item": "x"}'):
        check(CHECKOUT, body, fast_path=False)
    for body in ({}, {"item": item}, {"member": members[0]}, {"member": 5, "item": item},
                 {"member": members[0], "item": item, "extra": 1},
                 {"member": members[0], "item": item, "offline": "maybe"},
                 {"member": members[0], "item": item, "due_on": "3001-01-01"},
                 {"member": members[0], "item": item, "owner_library": "12"},
                 {"member": "", "item": item}, {"member": members[0], "item": "x" * 41}):
        check(CHECKOUT, body, fast_path=False)
    check(CHECKIN, {"item": None}, fast_path=False)
    check(RENEW, {"item": item, "offline": []}, fast_path=False)
    # duplicate keys: the last one counts on both paths
    check(CHECKIN, b'{"item": "nothing", "item": "%s"}' % item2.encode())

    # keys: none, malformed, unknown, revoked after it was cached (refused before the
    # body is looked at, on both paths), another scheme
    check(CHECKIN, {"item": item2}, fast_path=False, key=None)
    check(CHECKIN, {"item": item2}, key="ck_nope")
    check(CHECKIN, {"item": item2}, key="ck_000000000000_" + "x" * 43)
    check(CHECKIN, {"item": item2}, key="revoked")  # verified, cached
    check(CHECKIN, {"item": item2}, key="revoked")  # from the cache
    for twin in (fast, full):
        twin.hub.credentials.revoke_api_key(SYSTEM, twin.key_ids["revoked"])
    assert check(CHECKIN, {"item": item2}, key="revoked").json()["code"] == "AUTH_INVALID"
    # (no longer cached, with a body that does not validate: the full path checks it)
    assert check(CHECKIN, {"item": 5}, fast_path=False, key="revoked") \
        .json()["code"] == "AUTH_INVALID"
    for twin in (fast, full):  # a stale revocation set is re-read in the worker thread
        twin.hub.credentials._revoked_keys.expire()
    assert check(CHECKIN, {"item": item2}, key="revoked").json()["code"] == "AUTH_INVALID"
    check(CHECKIN, {"item": item2}, fast_path=False,
          headers={"authorization": f"Basic {library_key(LIB)}"})

    # what the fast path leaves to FastAPI: an admin acting for a library, another media
    # type, a body over the limit
    check(CHECKIN, {"item": item2}, key="admin")  # no library to act for
    # a vendor's key reaches onboarding only: first use (verified in the thread), then
    # from the cache, with a valid and an invalid body
    for body in ({"item": item2}, {"item": item2}, {"item": 5}):
        assert check(CHECKIN, body, key="vendor").json()["code"] == "FORBIDDEN"
    check(CHECKIN, {"item": item2}, fast_path=False, key="admin",
          headers={"x-acting-library": LIB})
    check(CHECKIN, {"item": item2}, fast_path=False,
          headers={"content-type": "text/plain"})
    check(CHECKIN, {"item": item2}, fast_path=False,
          headers={"content-type": "application/vnd.api+json"})
    check(CHECKIN, {"item": "x" * (1024 * 1024 + 10)}, fast_path=True)  # 413 on the way in

    assert audit_trail(fast) == audit_trail(full)
    assert len(audit_trail(fast)) > 8
