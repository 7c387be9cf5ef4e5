"""SIP2 kiosks at the library connector: the project's own SIP2 server (codec, framing,
sessions, handlers) with a backend that goes through the connector's local write path.

Kiosks point at the connector's SIP2 port instead of the hub's. Writes (11 checkout,
09 checkin, 29 renew) go through the connector's write path: forwarded to the hub while it
answers, queued, gated by the snapshot and replayed when it does not. So a kiosk keeps
lending while the hub is down. Reads (23/63 patron, 17 item) ask the hub; when it does not
answer they degrade to what the connector knows. Kiosks log in (93) with a device name
from the connector's ``[tokens]`` table as CN and its token as CO.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import quote

from ..client import Call, TransportError
from ..domain.actors import SEOUL, Actor
from ..domain.errors import Code, DomainError, Reason
from ..domain.policy import Policy, resolve
from ..domain.transactions import CheckinRequest, CheckoutRequest, Outcome
from ..sip2.backend import ItemFacts, LibraryInfo, PatronFacts, build_patron_facts
from ..sip2.server import Sip2Server
from .store import token_digest

if TYPE_CHECKING:
    from .daemon import Connector

log = logging.getLogger("chaekieum.connector.sip2")

OFFLINE_ACCEPTED = ("본부(허브) 연결이 끊겨 이 도서관에서 먼저 처리했습니다. "
                    "연결되면 자동으로 전송됩니다.")
OFFLINE_PATRON = "본부(허브) 연결이 끊겨 회원 정보를 확인할 수 없습니다."
CALL_TIMEOUT = 30.0  # seconds a kiosk request may wait on the connector's loop


class LocalWrites(Protocol):
    """The connector's write path (``Connector.write``): online, forward; offline, queue.
    Returns the HTTP status and body the local API would answer (and possibly its
    headers): 200 the hub's answer, 202 accepted offline, 4xx/5xx a refusal in the hub's
    error shape."""

    async def write(self, kind: str, body: dict[str, Any], *, origin: str, key: str,
                    lang: str = "ko", channel: str | None = None) -> tuple[Any, ...]: ...


class Devices(Protocol):
    """The connector's device tokens (config ``[tokens]`` and ``connector token``)."""

    def check(self, name: str, token: str) -> bool: ...

    def known(self, name: str) -> bool: ...


class StaticDevices:
    """Devices from a name -> token table."""

    def __init__(self, tokens: Mapping[str, str]) -> None:
        self.tokens = tokens

    def check(self, name: str, token: str) -> bool:
        known = self.tokens.get(name)
        return known is not None and hmac.compare_digest(known.encode(), token.encode())

    def known(self, name: str) -> bool:
        return name in self.tokens


class HubReads(Protocol):
    """A read from the hub's /api/v1 (``GET path``): ``(status, json)``, or None when
    the hub does not answer."""

    async def get(self, path: str) -> tuple[int, Any] | None: ...

    async def send(self, method: str, path: str,
                   body: dict[str, Any] | None = None) -> tuple[int, Any] | None:
        """Any other call to the hub's /api/v1 (a write with a fresh Idempotency-Key)."""
        ...


def _json(body: bytes | dict[str, Any]) -> dict[str, Any]:
    if isinstance(body, bytes | bytearray):
        try:
            body = json.loads(body or b"{}")
        except ValueError:
            return {}
    return body if isinstance(body, dict) else {}


def _code(value: Any) -> Code:
    try:
        return Code(str(value))
    except ValueError:
        return Code.SERVICE_UNAVAILABLE


def refusal(body: dict[str, Any]) -> DomainError:
    """The hub's (or the connector's) error body as the DomainError the handlers expect."""
    reasons = [Reason(_code(r.get("code")), r.get("details") or {})
               for r in body.get("reasons") or [] if isinstance(r, dict)]
    if not reasons:
        reasons = [Reason(_code(body.get("code")), body.get("details") or {})]
    return DomainError(reasons)


def outcome(body: dict[str, Any], *, offline: bool) -> Outcome:
    known = {"action", "loan", "warnings", "exceptions", "replayed"}
    warnings = list(body.get("warnings") or [])
    if offline:
        warnings.append({"code": "ACCEPTED_OFFLINE", "message": OFFLINE_ACCEPTED})
    return Outcome(action=str(body.get("action") or ""), loan=body.get("loan"),
                   warnings=warnings, exceptions=list(body.get("exceptions") or []),
                   extra={k: v for k, v in body.items() if k not in known},
                   replayed=bool(body.get("replayed")))


async def _call(fn: Callable[..., Any], *args: Any) -> Any:
    """Run ``fn`` on the connector's loop (its store is not shared across threads)."""
    return fn(*args)


class ConnectorBackend:
    """``sip2.backend.Backend`` on the connector. Handlers run in the SIP2 server's
    worker threads; every call to the connector runs as a coroutine on ``loop``."""

    def __init__(self, writes: LocalWrites, reads: HubReads, library_code: str,
                 devices: Devices, loop: asyncio.AbstractEventLoop | None, *,
                 library_name: str = "", encoding: str = "utf-8", workers: int = 8,
                 clock: Callable[[], datetime] | None = None) -> None:
        self.writes = writes
        self.reads = reads
        self.library_code = library_code
        self.library_name = library_name
        self.devices = devices
        self.loop = loop  # the connector's event loop (set before the server starts)
        self.encoding = encoding
        self.workers = workers
        self.clock = clock or (lambda: datetime.now(UTC))
        self._policy: Policy | None = None

    def _run(self, coro: Any) -> Any:
        if self.loop is None:
            coro.close()
            raise RuntimeError("ConnectorBackend: no event loop to run on")
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(CALL_TIMEOUT)

    def max_workers(self) -> int:
        return self.workers

    def now(self) -> datetime:
        return self.clock().astimezone(UTC).replace(tzinfo=None)

    def today(self) -> date:
        return self.clock().astimezone(SEOUL).date()

    # -- terminals ---------------------------------------------------------------------
    def verify_terminal(self, login: str, password: str, source: str,
                        cached: bool = False) -> dict[str, Any] | None:
        if not self._run(_call(self.devices.check, login, password)):
            return None
        return {"login": login, "library_code": self.library_code, "encoding": self.encoding,
                "terminator": "CR", "error_detection": True}

    def terminal_revoked(self, login: str) -> bool:
        return not self._run(_call(self.devices.known, login))

    def library(self, code: str) -> LibraryInfo | None:
        if code != self.library_code:
            return None
        return LibraryInfo(code, self.library_name, True)

    # -- circulation -------------------------------------------------------------------
    def _write(self, kind: str, actor: Actor, body: dict[str, Any], txn: str | None) -> Outcome:
        origin = actor.ident  # "sip2:<terminal>"
        key = f"{origin}:{txn or uuid.uuid4().hex}"
        status, raw, *_headers = self._run(self.writes.write(
            kind, body, origin=origin, key=key, channel="sip2"))
        answer = _json(raw)
        if status in (200, 201):
            return outcome(answer, offline=False)
        if status == 202:
            return outcome(answer, offline=True)
        raise refusal(answer)

    def checkout(self, actor: Actor, request: CheckoutRequest) -> Outcome:
        body: dict[str, Any] = {"member": request.member, "item": request.item}
        if request.owner_hint:
            body["owner_library"] = request.owner_hint
        if request.client_txn_id:
            body["client_txn_id"] = request.client_txn_id
        if request.offline:  # the kiosk itself lent offline and now sends it
            body["offline"] = True
            if request.occurred_at:
                body["occurred_at"] = request.occurred_at.isoformat()
            if request.due_on:
                body["due_on"] = request.due_on.isoformat()
        return self._write("checkout", actor, body, request.client_txn_id)

    def checkin(self, actor: Actor, request: CheckinRequest) -> Outcome:
        body: dict[str, Any] = {"item": request.item}
        if request.owner_hint:
            body["owner_library"] = request.owner_hint
        if request.client_txn_id:
            body["client_txn_id"] = request.client_txn_id
        if request.offline:
            body["offline"] = True
            if request.occurred_at:
                body["occurred_at"] = request.occurred_at.isoformat()
        return self._write("checkin", actor, body, request.client_txn_id)

    def renew(self, actor: Actor, item: str, member: str | None, *, offline: bool = False,
              due_on: date | None = None) -> Outcome:
        body: dict[str, Any] = {"item": item}
        if member:
            body["member"] = member
        if offline:
            body["offline"] = True
            if due_on:
                body["due_on"] = due_on.isoformat()
        return self._write("renew", actor, body, None)

    # -- patrons and items -------------------------------------------------------------
    def _get(self, path: str) -> Any:
        answer = self._run(self.reads.get(path))
        if answer is None:
            raise DomainError(Code.SERVICE_UNAVAILABLE, problem="the hub does not answer")
        status, body = answer
        if status >= 400:
            raise refusal(body if isinstance(body, dict) else {})
        return body

    def member_loans(self, actor: Actor, ref: str) -> list[dict[str, Any]]:
        return list(self._get(f"/members/{quote(ref, safe='')}/loans").get("items") or [])

    def check_member_password(self, number: str, password: str, terminal: str) -> bool:
        # The hub does not check member passwords for library systems: a kiosk at the
        # connector gets CQ=N (no PIN check); 책이음 cards are used without a PIN.
        return False

    def block_patron(self, actor: Actor, ref: str, *, card_retained: bool, message: str,
                     terminal: str) -> None:
        """01 at the connector: the hub's POST /members/{ref}/card-lost with the library's
        key (audited there as member.card_lost; only for a member who joined this
        library, as at the desk)."""
        self._hub("POST", f"/members/{quote(ref, safe='')}/card-lost")

    def _hub(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        answer = self._run(self.reads.send(method, path, body))
        if answer is None:
            raise DomainError(Code.SERVICE_UNAVAILABLE, problem="the hub does not answer")
        status, doc = answer
        if status >= 400:
            raise refusal(doc if isinstance(doc, dict) else {})
        return doc

    def _barcode(self, item: str) -> str:
        item = item.strip()
        if item.startswith("$"):
            return item
        if len(item) == 18 and item[:6].isdigit():
            return "$" + item
        return f"${self.library_code}{item}"

    def _reservation(self, patron: str, item: str) -> dict[str, Any]:
        """The patron's active reservation of `item` at the hub."""
        wanted = self._barcode(item)
        listed = self._get(f"/reservations?member={quote(patron, safe='')}")
        for view in listed.get("items") or []:
            if view.get("item") == wanted:
                return view
        raise DomainError(Code.RESERVATION_UNKNOWN, item=wanted)

    def place_hold(self, actor: Actor, patron: str, item: str) -> dict[str, Any]:
        """15 + at the connector: the hub's POST /reservations with the library's key
        (so the member must have joined this library, as at the desk)."""
        try:
            return self._hub("POST", "/reservations", {"member": patron, "item": item})
        except DomainError as exc:
            if exc.code != Code.RESERVATION_DUPLICATE:
                raise
        return self._reservation(patron, item)  # a resend: the reservation placed before

    def cancel_hold(self, actor: Actor, patron: str, item: str) -> dict[str, Any]:
        view = self._reservation(patron, item)
        return self._hub("POST", f"/reservations/{int(view['id'])}/cancel")

    def _policy_for(self) -> Policy:
        if self._policy is None:
            try:
                body = self._get(f"/libraries/{self.library_code}/policy")
                fields = body if isinstance(body, dict) else {}  # the effective policy
                self._policy = resolve([{k: v for k, v in fields.items()
                                         if k in Policy.__dataclass_fields__}])
            except (DomainError, TypeError, ValueError):
                return Policy()  # the national defaults until the hub answers
        return self._policy

    def patron_facts(self, actor: Actor, library_code: str, ref: str) -> PatronFacts:
        path = f"/members/{quote(ref, safe='')}"
        try:
            view = self._get(path)
            # titles only where the hub's member-data rule lets this library see them
            loans = (list(self._get(path + "/loans").get("items") or [])
                     if view.get("personal_data_visible") else [])
        except DomainError as exc:
            if exc.code != Code.SERVICE_UNAVAILABLE:
                raise
            # Offline: the kiosk may go on; the checkout itself is gated by the snapshot.
            view = {"number": ref, "name": "", "status": "active", "card_lost": False,
                    "suspended_until": None}
            facts = build_patron_facts(view, [], [], Policy(), self.today(), library_code,
                                       False)
            facts.reasons = (Reason(Code.SERVICE_UNAVAILABLE,
                                    {"problem": OFFLINE_PATRON}),)
            return facts
        return build_patron_facts(view, loans, [], self._policy_for(), self.today(),
                                  library_code, False)

    def item_facts(self, actor: Actor, library_code: str, scanned: str) -> ItemFacts | None:
        """The copy as the hub shows it to this library's key: the hub applies the reach
        rule to the key (GET /copies answers SANDBOX_ONLY for a real copy before pilot),
        so an out-of-reach copy is unknown here as at the hub's own kiosk port."""
        try:
            copy = self._get(f"/copies/{quote(scanned, safe='')}")
        except DomainError:
            return None
        if not isinstance(copy, dict) or not copy.get("item"):
            return None
        due = copy.get("due_on")
        return ItemFacts(copy["item"], copy.get("library_code") or "",
                         copy.get("registration_number") or "", copy.get("title") or "",
                         bool(copy.get("loanable", True)), bool(copy.get("reserved")),
                         due_on=date.fromisoformat(due) if due else None)


class ConnectorBridge:
    """``HubReads`` and ``Devices`` over a running ``daemon.Connector`` (its own
    ``write`` is the ``LocalWrites``). Runs on the connector's loop: its store is not
    shared across threads."""

    def __init__(self, connector: Connector) -> None:
        self.connector = connector

    async def get(self, path: str) -> tuple[int, Any] | None:
        return await self.send("GET", path)

    async def send(self, method: str, path: str,
                   body: dict[str, Any] | None = None) -> tuple[int, Any] | None:
        key = None if method == "GET" else f"sip2:{uuid.uuid4().hex}"
        outcome = await self.connector._send(Call(method, path, json=body,
                                                  idempotency_key=key))
        if isinstance(outcome, TransportError) or outcome.status >= 500:
            return None
        try:
            return outcome.status, outcome.json()
        except ValueError:
            return None

    def check(self, name: str, token: str) -> bool:
        known = self.connector.config.tokens.get(name)
        if known is not None:
            return hmac.compare_digest(known.encode(), token.encode())
        return self.connector.store.token_names().get(token_digest(token)) == name

    def known(self, name: str) -> bool:
        return (name in self.connector.config.tokens
                or name in self.connector.store.token_names().values())


async def start_kiosks(connector: Connector, host: str, port: int) -> Sip2Server:
    """The connector's SIP2 port (config ``sip2_listen``), on the running loop."""
    bridge = ConnectorBridge(connector)
    backend = ConnectorBackend(connector, bridge, connector.config.library, bridge,
                               asyncio.get_running_loop(), clock=connector.clock)
    server = Sip2Server(backend, host, port)
    await server.start()
    return server
