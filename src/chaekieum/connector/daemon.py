"""The connector daemon: local API, durable queue, replay, adapters, snapshot.

Online, a desk's write is forwarded to the hub with a short timeout and the hub's answer
(success or refusal) goes back unchanged. When the hub gives no answer (connection
refused, timeout, 5xx) the write is stored durably and answered 202 accepted-offline,
after the offline gates allowed it. One replayer sends queued writes in order, exactly
once: every write keeps the Idempotency-Key and client_txn_id it was first sent with.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import re
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..client import AsyncHubClient, Call, ConnectionFailed, Raw, RetryPolicy, TransportError
from ..client.errors import HubError
from ..domain.errors import Code, message
from .acceptance import Uplink
from .acceptance import routes as acceptance_routes
from .adapters import Adapter, Capability, Change, Delivery, DeliveryFailed
from .config import Config
from .metrics import Metrics
from .sip2 import start_kiosks
from .snapshot import Snapshot, seoul_today
from .store import Entry, Store, now_iso, token_digest

log = logging.getLogger("chaekieum.connector")

WRITE_PATHS = {"checkout": "/circulation/checkout", "checkin": "/circulation/checkin",
               "renew": "/circulation/renew", "member_register": "/members"}
_KIND_OF = {v: k for k, v in WRITE_PATHS.items() if k != "member_register"}
# other paths of /api/v1 a library system may call through the connector (online only)
_PASS = [
    ("POST", r"/circulation/undo-(checkout|checkin)"),
    ("GET", r"/copies/[^/]+"), ("GET", r"/exceptions"), ("GET", r"/transits"),
    ("POST", r"/members"), ("GET", r"/members"), ("GET", r"/members/[^/]+"),
    ("PATCH", r"/members/[^/]+"), ("PUT", r"/members/[^/]+/card-uid"),
    ("POST", r"/members/[^/]+/(join|card-lost|withdraw|history/hide)"),
    ("GET", r"/members/[^/]+/(loans|suspensions)"), ("POST", r"/members/[^/]+/card-lost/lift"),
    # what the conformance kit reads and the sandbox it works in (docs/conformance.md):
    # the hub scopes each to this library's key
    ("GET", r"/events"), ("GET", r"/audit"), ("GET", r"/libraries/\d{6}(/policy)?"),
    ("GET", r"/sandbox"), ("POST", r"/sandbox"), ("DELETE", r"/sandbox"),
    ("POST", r"/sandbox/peer/(checkout|checkin|send|arrive)"),
]
_PASS_RE = [(m, re.compile(f"^{p}$")) for m, p in _PASS]
_FIELDS = {
    "checkout": {"member", "item", "owner_library", "copy", "client_txn_id", "occurred_at",
                 "offline", "due_on"},
    "checkin": {"item", "owner_library", "client_txn_id", "occurred_at", "offline"},
    "renew": {"item", "member", "owner_library", "offline", "due_on"},
}
_REQUIRED = {"checkout": ("member", "item"), "checkin": ("item",), "renew": ("item",)}
RETRY_STATUSES = {409: "CONFLICT", 429: "RATE_LIMITED"}  # transient refusals
MAX_BACKOFF = 30.0
SANDBOX_TIMEOUT = 60.0  # seconds for the sandbox calls of the conformance kit


def error_body(code: Code, lang: str = "ko", **details: Any) -> dict[str, Any]:
    """The hub's error shape (docs/api.md), for refusals the connector gives itself."""
    reason = {"code": str(code), "message": message(code, lang), "details": details}
    return {"code": str(code), "message": reason["message"], "details": details,
            "reasons": [reason]}


def _json(body: Any, status: int = 200) -> Response:
    return Response(json.dumps(body, ensure_ascii=False).encode(), status,
                    media_type="application/json")


def _lang(request: Request) -> str:
    return "en" if request.headers.get("accept-language", "").lower().startswith("en") else "ko"


class Connector:
    def __init__(self, config: Config, *, clock: Callable[[], datetime] | None = None) -> None:
        self.config = config
        self.store = Store(config.db_path)
        self.snapshot = Snapshot(self.store)
        self.metrics = Metrics()
        self.clock = clock or (lambda: datetime.now(UTC))
        self.uplink = Uplink()  # the conformance kit may switch it off (acceptance.py)
        self.client = AsyncHubClient(config.hub_url, config.api_key,
                                     timeout=config.forward_timeout,
                                     retry=RetryPolicy(attempts=1), transport=self.uplink)
        self._restored = asyncio.Event()
        self.pending = self.store.depth()
        self.wake = asyncio.Event()
        self.online: bool | None = None
        self.last_contact: str | None = self.store.get_meta("last_contact")
        self._contact_saved = 0.0
        self._tasks: list[asyncio.Task] = []
        self._kiosks: Any = None  # the SIP2 server for kiosks (sip2_listen)
        self._stopping = False
        self._batches = True  # the hub takes replay batches (POST /circulation/replay)
        self.metrics.queue_depth.set(self.pending)

    # -- hub contact ---------------------------------------------------------------------
    def _contact(self, ok: bool) -> None:
        now = time.monotonic()
        changed = ok is not self.online
        self.online = ok
        self.metrics.hub_up.set(1 if ok else 0)
        if ok:
            self.last_contact = now_iso()
            self.metrics.last_contact.set(time.time())
            if changed or now - self._contact_saved > 5:
                self._contact_saved = now
                self.store.set_meta(last_contact=self.last_contact, online="1")
        elif changed:
            self.store.set_meta(online="0")
            log.warning("hub unreachable: writes are queued (%d waiting)", self.pending)

    def uplink_restored(self) -> None:
        """The uplink is back (switched on again): every loop waiting out a failure
        tries again now."""
        self._restored.set()
        self._restored = asyncio.Event()

    async def _pause(self, seconds: float) -> None:
        """Sleep, but wake up early when the uplink is restored."""
        try:
            await asyncio.wait_for(self._restored.wait(), seconds)
        except TimeoutError:
            pass

    async def _send(self, call: Call, timeout: float | None = None) -> Raw | TransportError:
        try:
            raw = await self.client.send(call, retry=False, timeout=timeout)
        except TransportError as exc:
            self._contact(False)
            return exc
        self._contact(raw.status < 500)
        return raw

    # -- the write path (desks and adapters) ------------------------------------------------
    async def write(self, kind: str, body: dict[str, Any], *, origin: str, key: str,
                    lang: str = "ko", gate: bool = True,
                    channel: str | None = None) -> tuple[int, bytes | dict[str, Any], dict]:
        """One write, online or queued. Returns (status, body, headers); a body in bytes is
        the hub's own answer."""
        # a resend of a write still queued here (once replayed, a resend goes to the hub,
        # which recognises it by its client_txn_id or key)
        stored = self.store.by_key(key) if self.pending else None
        if stored is not None:
            return 202, json.loads(stored["answer"]), {"Idempotent-Replayed": "true"}
        if kind in ("checkout", "checkin"):
            # the same for every resend of this write: the hub recognises it by this id
            body.setdefault("client_txn_id", "k" + hashlib.sha256(key.encode()).hexdigest()[:40])
        occurred = body.get("occurred_at") or self.clock().isoformat()
        path = WRITE_PATHS[kind]
        if self.pending:  # order: nothing overtakes a queued write
            return *await self._offline(kind, path, body, occurred, origin, key, False, lang,
                                        gate), {}
        started = time.perf_counter()
        headers = {"X-Channel": channel} if channel else None
        outcome = await self._send(Call("POST", path, json=body, idempotency_key=key,
                                        headers=headers))
        self.metrics.forward_seconds.observe(time.perf_counter() - started)
        if isinstance(outcome, TransportError) or outcome.status >= 500:
            attempted = not isinstance(outcome, ConnectionFailed)
            return *await self._offline(kind, path, body, occurred, origin, key, attempted,
                                        lang, gate), {}
        self.metrics.writes.labels(kind, "online").inc()
        if outcome.status == 200 and kind in ("checkout", "checkin"):
            self._count(kind, outcome)
        replayed = outcome.headers.get("idempotent-replayed")
        return outcome.status, outcome.content, (
            {"Idempotent-Replayed": replayed} if replayed else {})

    def _count(self, kind: str, raw: Raw) -> None:
        try:
            loan = (raw.json() or {}).get("loan") or {}
        except ValueError:
            return
        if loan.get("member_number") and not (raw.json() or {}).get("replayed"):
            self.snapshot.adjust_loans([(loan["member_number"],
                                         1 if kind == "checkout" else -1)])

    async def _offline(self, kind: str, path: str, body: dict[str, Any], occurred: str,
                       origin: str, key: str, attempted: bool, lang: str,
                       gate: bool) -> tuple[int, dict[str, Any]]:
        item = _item_key(body.get("item"), body.get("owner_library"), self.config.library)
        member = body.get("member")
        answer: dict[str, Any] = {"action": kind, "accepted_offline": True, "warnings": [],
                                  "exceptions": [], "replayed": False}
        if kind == "renew" and gate:
            # a renewal needs the loan's facts (renewals left, reservations): the hub's
            if attempted:  # the hub may have it: find out on replay, never force it
                self._enqueue(kind, path, body, occurred, origin, key, True, member, item,
                              answer, verify_only=True)
            self.metrics.writes.labels(kind, "refused").inc()
            return 503, error_body(Code.HUB_UNREACHABLE, lang, problem="renewal needs the hub")
        if kind == "member_register" and gate:
            self.metrics.writes.labels(kind, "refused").inc()
            return 503, error_body(Code.HUB_UNREACHABLE, lang,
                                   problem="new registrations wait for the hub")
        if kind == "checkout":
            decision = self.snapshot.checkout_gate(str(member), self.config.offline_policy,
                                                   seoul_today(self.clock()))
            if gate and not decision.allowed:
                if attempted:
                    self._enqueue(kind, path, body, occurred, origin, key, True, member, item,
                                  answer, verify_only=True)
                self.metrics.writes.labels(kind, "refused").inc()
                reasons = [{"code": str(r.code), "message": message(r.code, lang),
                            "details": r.details} for r in decision.reasons]
                first = reasons[0]
                return 409, {"code": first["code"], "message": first["message"],
                             "details": first["details"], "reasons": reasons,
                             "offline": True}
            answer["warnings"] = [{"code": str(w.code), "message": message(w.code, lang),
                                   "details": w.details} for w in decision.warnings]
            due = decision.due_on.isoformat() if decision.due_on else None
            answer["loan"] = {"member_number": member, "item": item, "due_on": due,
                              "state": "active", "offline": True,
                              "loaned_at": occurred}
            answer["member_known"] = decision.known
        elif kind == "checkin":
            answer["loan"] = {"item": item, "state": "returned", "offline": True,
                              "returned_at": occurred}
        seq = self._enqueue(kind, path, body, occurred, origin, key, attempted, member, item,
                            answer)
        answer["queued"] = seq
        self.metrics.writes.labels(kind, "queued").inc()
        return 202, answer

    def _enqueue(self, kind: str, path: str, body: dict[str, Any], occurred: str, origin: str,
                 key: str, attempted: bool, member: str | None, item: str | None,
                 answer: dict[str, Any], verify_only: bool = False) -> int:
        seq, new = self.store.enqueue(kind=kind, path=path, body=body, idem_key=key,
                                      origin=origin, occurred_at=occurred,
                                      attempted=attempted, member=member,
                                      item=item, answer=answer,
                                      verify_only=verify_only)
        if new:
            self.pending += 1
            self.metrics.queue_depth.set(self.pending)
            self.wake.set()
        return seq

    # -- replay ---------------------------------------------------------------------------
    async def replay_loop(self) -> None:
        backoff = 0.2
        while not self._stopping:
            entries = self.store.heads(self.config.replay_batch)
            if not entries:
                self.pending = 0
                self.metrics.queue_depth.set(0)
                self.wake.clear()
                try:
                    await asyncio.wait_for(self.wake.wait(), self.config.poll_interval)
                except TimeoutError:
                    pass
                continue
            batch = []
            for entry in entries:
                if entry.kind not in ("checkout", "checkin") or entry.verify_only:
                    break
                batch.append(entry)
            if len(batch) > 1 and self._batches:
                sent = await self.replay_batch(batch)
            else:
                sent = await self.replay_one(entries[0])
            if sent:
                backoff = 0.2
                continue
            self.store.tried(entries[0].seq)
            await self._pause(backoff)
            backoff = min(MAX_BACKOFF, backoff * 2)

    async def replay_batch(self, batch: list[Entry]) -> bool:
        """Consecutive queued checkouts/checkins in one request: the hub applies them in
        order, each in its own transaction, and answers each as its own POST would."""
        raw = await self._send(Call("POST", "/circulation/replay", json={"writes": [
            {"kind": e.kind, "body": self._offline_body(e)} for e in batch]}))
        if isinstance(raw, TransportError) or raw.status >= 500 or raw.status == 429:
            return False
        if raw.status != 200:  # a hub without the batch endpoint: one by one
            self._batches = False
            log.info("hub answered %d to a replay batch: replaying one by one", raw.status)
            return await self.replay_one(batch[0])
        done = []
        for entry, answer in zip(batch, raw.json()["results"], strict=False):
            status, result = answer["status"], answer["body"]
            if status is None or status in RETRY_STATUSES or status >= 500:
                break
            done.append((entry, "failed" if status >= 400 else _state(result), status, result))
        if not done:
            return False
        self.store.finish([(e.seq, state, status, result) for e, state, status, result in done])
        self.snapshot.adjust_loans([change for entry, state, _, result in done
                                    if (change := self._finished(entry, state, result))])
        return True

    def _offline_body(self, entry: Entry) -> dict[str, Any]:
        body = dict(entry.body, offline=True)
        if entry.kind in ("checkout", "checkin"):
            body.setdefault("occurred_at", entry.occurred_at)
        due = (entry.answer.get("loan") or {}).get("due_on")
        if entry.kind == "checkout" and due and "due_on" not in body:
            body["due_on"] = due
        return body

    async def replay_one(self, entry: Entry) -> bool:
        """Send one queued write; False when the hub gave no usable answer (retry later)."""
        if entry.verify_only or entry.kind == "member_register" or (
                entry.attempted and entry.kind == "renew"):
            # first the exact request sent before: if the hub applied it, it says so
            # (checkouts and checkins need not: their client_txn_id is recognised)
            raw = await self._send(Call("POST", entry.path, json=entry.body,
                                        idempotency_key=entry.idem_key))
            if self._transient(raw):
                return False
            assert isinstance(raw, Raw)
            result = raw.json()
            if raw.status < 400:
                state = "exception" if entry.verify_only else _state(result)
                if entry.verify_only:
                    result = {"applied_although_refused_at_desk": True, "hub": result}
                return self._finish(entry, state, raw.status, result)
            if entry.verify_only:
                return self._finish(entry, "done", raw.status, result)
            if entry.kind == "member_register":
                return self._finish(entry, "failed", raw.status, result)
        body = self._offline_body(entry)
        # checkouts and checkins are recognised by their client_txn_id; a renewal (or a
        # registration) has only its key
        key = None if entry.kind in ("checkout", "checkin") else (
            entry.idem_key + "/offline")[-200:]
        raw = await self._send(Call("POST", entry.path, json=body, idempotency_key=key))
        if self._transient(raw):
            return False
        assert isinstance(raw, Raw)
        result = raw.json()
        if raw.status < 400:
            return self._finish(entry, _state(result), raw.status, result)
        return self._finish(entry, "failed", raw.status, result)  # kept as a fact

    @staticmethod
    def _transient(raw: Raw | TransportError) -> bool:
        return (isinstance(raw, TransportError) or raw.status >= 500
                or raw.status in RETRY_STATUSES)

    def _finish(self, entry: Entry, state: str, status: int, result: Any) -> bool:
        self.store.finish([(entry.seq, state, status, result)])
        change = self._finished(entry, state, result)
        self.snapshot.adjust_loans([change] if change else [])
        return True

    def _finished(self, entry: Entry, state: str, result: Any) -> tuple[str, int] | None:
        """Bookkeeping after the hub answered a queued write; returns the loan-count change
        of the member, if any."""
        self.pending = max(0, self.pending - 1)
        self.metrics.queue_depth.set(self.pending)
        self.metrics.replayed.labels(state).inc()
        if state in ("exception", "failed"):
            self.metrics.open_exceptions.inc()
            codes = [e.get("code") for e in (result or {}).get("exceptions", [])] or [
                (result or {}).get("code")]
            log.warning("replayed %s #%d kept as an exception: %s", entry.kind, entry.seq,
                        ",".join(str(c) for c in codes))
        if state != "failed" and entry.kind in ("checkout", "checkin") and not (
                result or {}).get("replayed"):
            number = ((result or {}).get("loan") or {}).get("member_number")
            if number:
                return number, 1 if entry.kind == "checkout" else -1
        return None

    # -- adapters ---------------------------------------------------------------------------
    async def uplink_loop(self, name: str, adapter: Adapter) -> None:
        while not self._stopping:
            try:
                changes = await adapter.fetch_changes(100)
            except Exception:  # the library system's database may be down for a while
                log.exception("adapter %s: fetch_changes failed", name)
                changes = []
            for change in changes:
                status, body, _ = await self.submit_change(name, change)
                result = {"status": status,
                          "body": json.loads(body) if isinstance(body, bytes) else body}
                await adapter.acknowledge(change, result)
            if len(changes) < 100:
                await asyncio.sleep(self.config.poll_interval)

    async def submit_change(self, name: str, change: Change) -> tuple[int, Any, dict]:
        body = dict(change.payload)
        if change.kind in ("checkout", "checkin"):
            body.setdefault("client_txn_id", f"{name}:{change.source_id}"[:64])
            body.setdefault("occurred_at", change.occurred_at.isoformat())
        return await self.write(change.kind, body, origin=f"adapter:{name}",
                                key=f"uplink:{name}:{change.source_id}"[:200], gate=False)

    async def events_loop(self, name: str, adapter: Adapter) -> None:
        cursor_name = f"adapter:{name}"
        backoff = self.config.poll_interval

        async def deliver(event: dict[str, Any]) -> None:
            await adapter.deliver(Delivery(event["position"], event["kind"],
                                           event["payload"], event["created_at"]))
            self.store.set_cursor(cursor_name, event["position"])

        while not self._stopping:
            ok = await self._follow_feed(cursor_name, deliver)
            backoff = self.config.poll_interval if ok else min(MAX_BACKOFF, backoff * 2)
            await self._pause(backoff)

    async def _follow_feed(self, cursor_name: str,
                           handle: Callable[[dict[str, Any]], Awaitable[None]]) -> bool:
        """Read the feed from the cursor and hand each event over, in order."""
        while True:
            after = self.store.cursor(cursor_name)
            try:
                page = await self.client.events(after=after, limit=200)
                self._contact(True)
            except TransportError:
                self._contact(False)
                return False
            except HubError as exc:
                log.warning("feed: %s", exc)
                return False
            for event in page["events"]:
                try:
                    await handle(event)
                except DeliveryFailed as exc:
                    log.info("%s: event %d not delivered (%s); retrying later", cursor_name,
                             event["position"], exc)
                    return False
            if not page["has_more"]:
                return True

    # -- snapshot ---------------------------------------------------------------------------
    async def snapshot_loop(self) -> None:
        async def from_feed(event: dict[str, Any]) -> None:
            self.snapshot.apply_event(event["kind"], event["payload"])
            self.store.set_cursor("snapshot-feed", event["position"])

        last_full = last_all = 0.0
        while not self._stopping:
            await self._follow_feed("snapshot-feed", from_feed)
            now = time.monotonic()
            everything = (not self.snapshot.ready or self.store.get_meta("snapshot_as_of") is None
                          or self.store.get_meta("snapshot_all_at") is None
                          or now - last_all > self.config.snapshot_blocked_interval)
            scope = ("all" if everything else
                     "own" if now - last_full > self.config.snapshot_full_interval else None)
            try:
                await self.refresh_snapshot(scope)
                if scope:
                    last_full = now
                if scope == "all":
                    last_all = now
            except (TransportError, HubError) as exc:
                log.info("snapshot refresh failed: %s", exc)
            self._snapshot_metrics()
            await self._pause(self.config.snapshot_interval)

    async def refresh_snapshot(self, scope: str | None) -> None:
        """A full pass of everything (`all`) or of the library's own members (`own`), or a
        delta since the last pass (None)."""
        full = scope is not None
        pass_no = int(self.store.get_meta("snapshot_pass", "0") or 0) + (1 if full else 0)
        since = None if full else self.store.get_meta("snapshot_as_of")
        after, as_of = 0, None
        while True:
            try:
                page = await self.client.connector_snapshot(since=since, after=after,
                                                            scope=scope or "all")
            except TransportError:
                self._contact(False)
                raise
            self._contact(True)
            as_of = as_of or page["as_of"]
            self.snapshot.apply_page(page, pass_no)
            after = page["next_after"]
            if not page["has_more"]:
                break
        if full:
            self.snapshot.finish_full_pass(pass_no, as_of, own_only=scope == "own")
        else:
            self.store.set_meta(snapshot_as_of=as_of, snapshot_at=now_iso())

    def _snapshot_metrics(self) -> None:
        at = self.store.get_meta("snapshot_at")
        if at:
            self.metrics.snapshot_age.set(
                (datetime.now(UTC) - datetime.fromisoformat(at)).total_seconds())
        self.metrics.snapshot_members.set(self.snapshot.member_count())

    # -- lifecycle --------------------------------------------------------------------------
    async def start(self) -> None:
        self.metrics.open_exceptions.set(len(self.store.open_exceptions()))
        self._tasks.append(asyncio.create_task(self.replay_loop(), name="replay"))
        self._tasks.append(asyncio.create_task(self.snapshot_loop(), name="snapshot"))
        for name, adapter in self.config.adapters:
            await adapter.start()
            if Capability.UPLINK in adapter.capabilities:
                self._tasks.append(asyncio.create_task(self.uplink_loop(name, adapter)))
            if Capability.EVENTS in adapter.capabilities:
                self._tasks.append(asyncio.create_task(self.events_loop(name, adapter)))
        if self.config.sip2_port:
            self._kiosks = await start_kiosks(self, self.config.sip2_host,
                                              self.config.sip2_port)
        log.info("connector for library %s started: %d writes queued", self.config.library,
                 self.pending)

    async def stop(self) -> None:
        self._stopping = True
        if self._kiosks is not None:
            await self._kiosks.stop()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for _, adapter in self.config.adapters:
            await adapter.close()
        await self.client.aclose()
        self.store.close()

    # -- local API -------------------------------------------------------------------------
    def authenticate(self, request: Request) -> str | Response:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return _json(error_body(Code.AUTH_REQUIRED, _lang(request)), 401)
        token = token.strip()
        for name, known in self.config.tokens.items():
            if known == token:
                return name
        name = self.store.token_names().get(token_digest(token))
        if name is None:
            return _json(error_body(Code.AUTH_INVALID, _lang(request)), 401)
        return name

    async def api(self, request: Request) -> Response:
        lang = _lang(request)
        device = self.authenticate(request)
        if isinstance(device, Response):
            return device
        path = request.url.path.removeprefix("/api/v1")
        kind = _KIND_OF.get(path)
        if kind is not None and request.method == "POST":
            return await self._desk_write(request, kind, device, lang)
        if not any(m == request.method and p.match(path) for m, p in _PASS_RE):
            return _json(error_body(Code.NOT_FOUND, lang), 404)
        return await self._pass_through(request, path, device, lang)

    async def _desk_write(self, request: Request, kind: str, device: str,
                          lang: str) -> Response:
        try:
            body = json.loads(await request.body() or b"null")
        except ValueError:
            return _json(error_body(Code.MALFORMED_JSON, lang), 400)
        problems = _validate(kind, body)
        if problems:
            return _json(error_body(Code.VALIDATION_ERROR, lang, problems=problems), 422)
        desk_key = request.headers.get("idempotency-key", "").strip()
        if len(desk_key) > 150:
            return _json(error_body(Code.VALIDATION_ERROR, lang, field="Idempotency-Key",
                                    problem="1-150 chars"), 422)
        key = f"{device}:{desk_key or uuid.uuid4().hex}"
        status, out, headers = await self.write(kind, body, origin=device, key=key, lang=lang,
                                                channel=request.headers.get("x-channel"))
        if isinstance(out, bytes):
            return Response(out, status, headers, media_type="application/json")
        response = _json(out, status)
        response.headers.update(headers)
        return response

    async def _pass_through(self, request: Request, path: str, device: str,
                            lang: str) -> Response:
        body = await request.body()
        key = request.headers.get("idempotency-key")
        call = Call(request.method, path, params=dict(request.query_params),
                    json=json.loads(body) if body else None,
                    idempotency_key=f"{device}:{key or uuid.uuid4().hex}"
                    if request.method != "GET" else None)
        # making or removing a conformance run's test data is slow and never holds up lending
        timeout = SANDBOX_TIMEOUT if path.startswith("/sandbox") else None
        try:
            outcome = await self._send(call, timeout)
        except ValueError:
            return _json(error_body(Code.MALFORMED_JSON, lang), 400)
        if isinstance(outcome, TransportError) or outcome.status >= 500:
            return _json(error_body(Code.HUB_UNREACHABLE, lang), 503)
        return Response(outcome.content, outcome.status, media_type="application/json")

    def status(self) -> dict[str, Any]:
        return status_of(self.store) | {"online": self.online}

    def app(self) -> Starlette:
        async def health(request: Request) -> Response:
            return _json({"status": "ok", "library": self.config.library,
                          "hub": "up" if self.online else "down" if self.online is False
                          else "unknown", "queued": self.pending})

        async def metrics(request: Request) -> Response:
            self._snapshot_metrics()
            body, content_type = self.metrics.render()
            return Response(body, 200, media_type=content_type)

        async def status(request: Request) -> Response:
            device = self.authenticate(request)
            if isinstance(device, Response):
                return device
            return _json(self.status())

        methods = ["GET", "POST", "PUT", "PATCH", "DELETE"]
        return Starlette(routes=[
            Route("/api/v1/health", health),
            Route("/metrics", metrics),
            Route("/connector/status", status),
            *acceptance_routes(self),
            Route("/api/v1/{rest:path}", self.api, methods=methods),
        ])


def status_of(store: Store) -> dict[str, Any]:
    """What `chaekieum connector status` shows (read from data_dir; works while stopped)."""
    return {
        "queue_depth": store.depth(),
        "oldest_unsent": store.oldest(),
        "last_hub_contact": store.get_meta("last_contact"),
        "hub_online_at_last_attempt": store.get_meta("online") == "1",
        "snapshot_at": store.get_meta("snapshot_at"),
        "snapshot_full_at": store.get_meta("snapshot_full_at"),
        "snapshot_all_at": store.get_meta("snapshot_all_at"),
        "snapshot_members": store.query("SELECT count(*) FROM snapshot_members")[0][0],
        "open_exceptions": store.open_exceptions(),
    }


def _state(result: Any) -> str:
    return "exception" if isinstance(result, dict) and result.get("exceptions") else "done"


def _item_key(item: Any, owner: Any, library: str) -> str | None:
    if not isinstance(item, str):
        return None
    item = item.strip()
    if item.startswith("$"):
        return item
    return f"${owner or library}{item}"


def _validate(kind: str, body: Any) -> list[dict[str, str]]:
    """The hub's own checks of the fields a queued write needs (bad input is refused
    here the same way the hub would refuse it, not queued)."""
    if not isinstance(body, dict):
        return [{"field": "", "problem": "object expected"}]
    problems = [{"field": k, "problem": "extra_forbidden"} for k in body if k not in
                _FIELDS[kind]]
    for name in _REQUIRED[kind]:
        value = body.get(name)
        if not isinstance(value, str) or not value.strip():
            problems.append({"field": name, "problem": "missing"})
    for name in ("client_txn_id",):
        if name in body and (not isinstance(body[name], str) or len(body[name]) > 64):
            problems.append({"field": name, "problem": "string of at most 64"})
    if "occurred_at" in body:
        try:
            moment = datetime.fromisoformat(str(body["occurred_at"]).replace("Z", "+00:00"))
            if moment.tzinfo is None:
                raise ValueError
        except ValueError:
            problems.append({"field": "occurred_at", "problem": "ISO 8601 with a time zone"})
    return problems
