"""The typed client for the hub's REST API v1, sync (`HubClient`) and async
(`AsyncHubClient`). Both share one table of endpoints (`_Endpoints`): each method builds
a `Call`, and the client class sends it.

Retries are safe by construction: every write carries an `Idempotency-Key` (generated
unless given) that stays the same across the retries of one call, and circulation
writes carry a `client_txn_id` too, so the hub applies a write at most once however many
times it is sent. Reads are retried freely.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Generic, Literal, TypedDict, TypeVar

import httpx

from .errors import ConnectionFailed, HubError, HubTimeout, TransportError, error_from

DEFAULT_TIMEOUT = 10.0
USER_AGENT = "chaekieum-client/1"


class Loan(TypedDict, total=False):
    id: int
    member_number: str
    member_number_masked: str
    item: str
    registration_number: str
    title: str
    owner_library: str
    library_code: str
    state: str
    loaned_at: str
    due_on: str
    renewals: int
    returned_at: str | None
    return_library: str | None
    channel: str
    offline: bool


class CirculationResult(TypedDict, total=False):
    action: str  # checkout | renew | checkin | transit_arrived | undo_checkout | undo_checkin
    loan: Loan | None
    warnings: list[dict[str, Any]]
    exceptions: list[dict[str, Any]]  # rules an offline replay broke (kept as a fact)
    replayed: bool
    auto_joined: bool
    route: str
    transit_id: int | None
    suspension: dict[str, Any] | None


class Event(TypedDict):
    position: int
    kind: str
    payload: dict[str, Any]
    created_at: str


class EventPage(TypedDict):
    events: list[Event]
    next_after: int
    has_more: bool


def new_key() -> str:
    """A fresh Idempotency-Key / client_txn_id (32 hex characters)."""
    return uuid.uuid4().hex


def _iso(value: Any) -> Any:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("occurred_at must be timezone-aware")
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return value


def _body(**fields: Any) -> dict[str, Any]:
    """A JSON body without the fields left at None (the hub's defaults apply)."""
    return {k: _iso(v) for k, v in fields.items() if v is not None}


@dataclass(frozen=True)
class Call:
    method: str
    path: str
    params: Mapping[str, Any] | None = None
    json: Any = None
    idempotency_key: str | None = None  # set on every write
    headers: Mapping[str, str] | None = None  # extra headers for this call (X-Channel ...)
    # a file upload (multipart/form-data): name -> (filename, bytes, media type), fields
    files: Mapping[str, tuple[str, bytes, str]] | None = None
    form: Mapping[str, str] | None = None
    binary: bool = False  # the answer is bytes (a download), not JSON


@dataclass(frozen=True)
class Raw:
    """A hub answer as received (the connector passes these on unchanged)."""

    status: int
    headers: Mapping[str, str]
    content: bytes

    def json(self) -> Any:
        return json.loads(self.content) if self.content else None


@dataclass
class RetryPolicy:
    attempts: int = 3  # tries in all, including the first
    backoff: float = 0.2  # seconds before the 2nd try; doubles each time (with jitter)
    max_backoff: float = 5.0
    statuses: frozenset[int] = field(default_factory=lambda: frozenset({429, 502, 503, 504}))

    def delay(self, attempt: int) -> float:
        base = min(self.max_backoff, self.backoff * (2 ** (attempt - 1)))
        return base * (0.5 + random.random() / 2)


R = TypeVar("R")


def _write(method: str, path: str, body: Any = None, key: str | None = None) -> Call:
    return Call(method, path, json=body, idempotency_key=key or new_key())


def _get(path: str, **params: Any) -> Call:
    return Call("GET", path, params={k: _iso(v) for k, v in params.items() if v is not None})


class _Endpoints(Generic[R]):
    """Every /api/v1 endpoint. `R` is the result: a value (sync) or an awaitable."""

    def _run(self, call: Call) -> R:  # pragma: no cover - implemented by the clients
        raise NotImplementedError

    # -- health --------------------------------------------------------------
    def health(self) -> R:
        """The hub and its database answer (503 `SERVICE_UNAVAILABLE` if the database
        does not); the same as `health_ready`."""
        return self._run(_get("/health"))

    def health_ready(self) -> R:
        return self._run(_get("/health/ready"))

    def health_live(self) -> R:
        """The hub process answers, whatever its database does."""
        return self._run(_get("/health/live"))

    # -- circulation ---------------------------------------------------------
    def checkout(self, member: str, item: str, *, owner_library: str | None = None,
                 copy: Mapping[str, Any] | None = None, client_txn_id: str | None = None,
                 occurred_at: datetime | None = None, offline: bool | None = None,
                 due_on: date | None = None, idempotency_key: str | None = None) -> R:
        """대출. Returns a `CirculationResult`; `client_txn_id` is generated unless given."""
        return self._run(_write("POST", "/circulation/checkout", _body(
            member=member, item=item, owner_library=owner_library,
            copy=dict(copy) if copy else None, client_txn_id=client_txn_id or new_key(),
            occurred_at=occurred_at, offline=offline, due_on=due_on), idempotency_key))

    def checkin(self, item: str, *, owner_library: str | None = None,
                client_txn_id: str | None = None, occurred_at: datetime | None = None,
                offline: bool | None = None, idempotency_key: str | None = None) -> R:
        """반납 (타관반납 creates a transit)."""
        return self._run(_write("POST", "/circulation/checkin", _body(
            item=item, owner_library=owner_library, client_txn_id=client_txn_id or new_key(),
            occurred_at=occurred_at, offline=offline), idempotency_key))

    def renew(self, item: str, *, member: str | None = None, owner_library: str | None = None,
              offline: bool | None = None, due_on: date | None = None,
              idempotency_key: str | None = None) -> R:
        """반납연기 (owning library only)."""
        return self._run(_write("POST", "/circulation/renew", _body(
            item=item, member=member, owner_library=owner_library, offline=offline,
            due_on=due_on), idempotency_key))

    def replay(self, writes: list[Mapping[str, Any]], *,
               idempotency_key: str | None = None) -> R:
        """Queued offline writes in order (connectors): [{"kind": "checkout"|"checkin",
        "body": {... "offline": true, "occurred_at", "client_txn_id"}}], at most 500.
        Returns {"results": [{"status", "body"}]}; `status` None = not attempted."""
        return self._run(_write("POST", "/circulation/replay",
                                {"writes": [dict(w) for w in writes]}, idempotency_key))

    def undo_checkout(self, loan_id: int, *, idempotency_key: str | None = None) -> R:
        return self._run(_write("POST", "/circulation/undo-checkout", {"loan_id": loan_id},
                                idempotency_key))

    def undo_checkin(self, loan_id: int, *, idempotency_key: str | None = None) -> R:
        return self._run(_write("POST", "/circulation/undo-checkin", {"loan_id": loan_id},
                                idempotency_key))

    def exceptions(self, *, include_resolved: bool = False) -> R:
        """Offline replays that broke a rule: {"items": [...]}."""
        return self._run(_get("/exceptions", include_resolved=include_resolved))

    def resolve_exception(self, exception_id: int, *, idempotency_key: str | None = None) -> R:
        return self._run(_write("POST", f"/exceptions/{exception_id}/resolve",
                                key=idempotency_key))

    # -- reservations (예약) -------------------------------------------------
    def reserve(self, member: str, item: str, *, idempotency_key: str | None = None) -> R:
        """Reserve a copy of this library (on loan or in transit home) for a member."""
        return self._run(_write("POST", "/reservations", {"member": member, "item": item},
                                idempotency_key))

    def reservations(self, state: str = "active", *, member: str | None = None,
                     limit: int = 200) -> R:
        """This library's reservations; state=ready is the holds shelf."""
        return self._run(_get("/reservations", state=state, member=member, limit=limit))

    def reservation(self, reservation_id: int) -> R:
        return self._run(_get(f"/reservations/{reservation_id}"))

    def cancel_reservation(self, reservation_id: int, *,
                           idempotency_key: str | None = None) -> R:
        return self._run(_write("POST", f"/reservations/{reservation_id}/cancel",
                                key=idempotency_key))

    def delete_reservation(self, reservation_id: int, *,
                           idempotency_key: str | None = None) -> R:
        """Same as `cancel_reservation` (DELETE /reservations/{id})."""
        return self._run(_write("DELETE", f"/reservations/{reservation_id}",
                                key=idempotency_key))

    # -- copies and transits -------------------------------------------------
    def upsert_copies(self, copies: list[Mapping[str, Any]], *,
                      idempotency_key: str | None = None) -> R:
        """Register or refresh up to 5,000 own copies: registration_number, title, loanable."""
        return self._run(_write("POST", "/copies/bulk", {"copies": [dict(c) for c in copies]},
                                idempotency_key))

    def copy(self, item: str, *, owner_library: str | None = None) -> R:
        return self._run(_get(f"/copies/{_seg(item)}", owner_library=owner_library))

    def transits(self, direction: Literal["outgoing", "incoming"] = "outgoing", *,
                 include_done: bool = False) -> R:
        return self._run(_get("/transits", direction=direction, include_done=include_done))

    def move_transit(self, transit_id: int, action: Literal["send", "arrive"], *,
                     idempotency_key: str | None = None) -> R:
        return self._run(_write("POST", f"/transits/{transit_id}/{action}",
                                key=idempotency_key))

    # -- members -------------------------------------------------------------
    def register_member(self, name: str, birth_year: int, *, idempotency_key: str | None = None,
                        **fields: Any) -> R:
        """회원가입 at the acting library. Other fields: phone, email, ci, guardian_name,
        guardian_phone, member_class, consents, password, card_uid."""
        return self._run(_write("POST", "/members", _body(name=name, birth_year=birth_year,
                                                          **fields), idempotency_key))

    def search_members(self, q: str, *, limit: int = 20) -> R:
        return self._run(_get("/members", q=q, limit=limit))

    def member(self, ref: str) -> R:
        """A member by number or linked card UID (masked unless joined here)."""
        return self._run(_get(f"/members/{_seg(ref)}"))

    def update_member(self, ref: str, *, idempotency_key: str | None = None,
                      **changes: Any) -> R:
        return self._run(_write("PATCH", f"/members/{_seg(ref)}", changes, idempotency_key))

    def join_member(self, ref: str, *, idempotency_key: str | None = None) -> R:
        """The desk's ID check: registers the member at the acting library, and makes a
        member who signed up online (준회원) a full member (정회원)."""
        return self._run(_write("POST", f"/members/{_seg(ref)}/join", key=idempotency_key))

    # -- online registration (온라인 회원가입) ---------------------------------------
    def start_verification(self, provider: str, purpose: str, return_url: str) -> R:
        """Start an identity verification (본인인증; purpose "self" or "guardian"): the
        provider's `url` to send the person to, and the `state` to send back with its
        answer."""
        return self._run(_write("POST", "/identity/verifications", {
            "provider": provider, "purpose": purpose, "return_url": return_url}))

    def register_online(self, name: str, birth_year: int, password: str, *,
                        privacy_consent: bool, verification: dict[str, Any] | None = None,
                        guardian: dict[str, Any] | None = None,
                        idempotency_key: str | None = None, **contact: Any) -> R:
        """온라인 회원가입 at the acting library: an associate member (준회원).
        `verification` / guardian["verification"]: {"state": ..., "answer": {the
        provider's answer}}; contact: phone, email."""
        return self._run(_write("POST", "/registrations", _body(
            name=name, birth_year=birth_year, password=password,
            privacy_consent=privacy_consent, verification=verification, guardian=guardian,
            **contact), idempotency_key))

    def report_card_lost(self, ref: str, *, idempotency_key: str | None = None) -> R:
        return self._run(_write("POST", f"/members/{_seg(ref)}/card-lost",
                                key=idempotency_key))

    def lift_card_lost(self, ref: str, *, idempotency_key: str | None = None) -> R:
        """End a lost-card block (its own audited action; linking a card never does)."""
        return self._run(_write("POST", f"/members/{_seg(ref)}/card-lost/lift",
                                key=idempotency_key))

    def link_card(self, ref: str, card_uid: str, *, idempotency_key: str | None = None) -> R:
        return self._run(_write("PUT", f"/members/{_seg(ref)}/card-uid",
                                {"card_uid": card_uid}, idempotency_key))

    def withdraw_member(self, ref: str, *, idempotency_key: str | None = None) -> R:
        return self._run(_write("POST", f"/members/{_seg(ref)}/withdraw",
                                key=idempotency_key))

    def expel_member(self, ref: str, reason: str, *,
                     idempotency_key: str | None = None) -> R:
        """제적: refused loans everywhere (the issuing library or a national key)."""
        return self._run(_write("POST", f"/members/{_seg(ref)}/expel", {"reason": reason},
                                idempotency_key))

    def lift_expulsion(self, ref: str, reason: str | None = None, *,
                       idempotency_key: str | None = None) -> R:
        return self._run(_write("POST", f"/members/{_seg(ref)}/expel/lift",
                                _body(reason=reason), idempotency_key))

    def bar_member(self, ref: str, reason: str, *, idempotency_key: str | None = None) -> R:
        """Bar the member at this library only (no loans here; other libraries unaffected)."""
        return self._run(_write("POST", f"/members/{_seg(ref)}/bar", {"reason": reason},
                                idempotency_key))

    def lift_bar(self, ref: str, reason: str | None = None, *,
                 idempotency_key: str | None = None) -> R:
        return self._run(_write("POST", f"/members/{_seg(ref)}/bar/lift",
                                _body(reason=reason), idempotency_key))

    def member_loans(self, ref: str, *, history: bool = False) -> R:
        return self._run(_get(f"/members/{_seg(ref)}/loans", history=history))

    def hide_history(self, ref: str, loan_ids: list[int] | None = None, *,
                     idempotency_key: str | None = None) -> R:
        return self._run(_write("POST", f"/members/{_seg(ref)}/history/hide",
                                {"loan_ids": loan_ids}, idempotency_key))

    def member_suspensions(self, ref: str) -> R:
        return self._run(_get(f"/members/{_seg(ref)}/suspensions"))

    # -- the member API: construct the client with a member's OpenID Connect access
    # token (docs/oidc.md) instead of an API key -----------------------------------
    def me(self) -> R:
        return self._run(_get("/me"))

    def my_card(self) -> R:
        return self._run(_get("/me/card"))

    def my_loans(self, *, history: bool = False) -> R:
        return self._run(_get("/me/loans", history=history))

    def renew_my_loan(self, item: str, *, idempotency_key: str | None = None) -> R:
        return self._run(_write("POST", "/me/loans/renew", {"item": item}, idempotency_key))

    def my_suspensions(self) -> R:
        return self._run(_get("/me/suspensions"))

    def hide_my_history(self, loan_ids: list[int] | None = None, *,
                        idempotency_key: str | None = None) -> R:
        return self._run(_write("POST", "/me/history/hide", {"loan_ids": loan_ids},
                                idempotency_key))

    def my_reservations(self, *, closed: bool = False) -> R:
        return self._run(_get("/me/reservations", closed=closed))

    def reserve_for_me(self, item: str, library: str | None = None, *,
                       idempotency_key: str | None = None) -> R:
        return self._run(_write("POST", "/me/reservations", _body(item=item, library=library),
                                idempotency_key))

    def cancel_my_reservation(self, reservation_id: int, *,
                              idempotency_key: str | None = None) -> R:
        return self._run(_write("POST", f"/me/reservations/{reservation_id}/cancel", None,
                                idempotency_key))

    # -- network -------------------------------------------------------------
    def regions(self) -> R:
        return self._run(_get("/regions"))

    def regional_centers(self, region: str | None = None) -> R:
        return self._run(_get("/regional-centers", region=region))

    def libraries(self, *, region: str | None = None, q: str | None = None,
                  status: str | None = None, limit: int = 100, offset: int = 0) -> R:
        return self._run(_get("/libraries", region=region, q=q, status=status, limit=limit,
                              offset=offset))

    def library(self, code: str) -> R:
        return self._run(_get(f"/libraries/{_seg(code)}"))

    def register_library(self, code: str, name: str, region_code: str, *,
                         idempotency_key: str | None = None, **fields: Any) -> R:
        """참여도서관 등록 (national admin). Other fields: center_id, closed_weekdays, ils,
        status."""
        return self._run(_write("POST", "/libraries", _body(
            code=code, name=name, region_code=region_code, **fields), idempotency_key))

    def update_library(self, code: str, *, idempotency_key: str | None = None,
                       **changes: Any) -> R:
        return self._run(_write("PATCH", f"/libraries/{_seg(code)}", changes, idempotency_key))

    def set_closed_dates(self, code: str, days: list[Mapping[str, Any]], *,
                         idempotency_key: str | None = None) -> R:
        """Replace the extra closed dates: [{"day": "2026-05-05", "reason": "..."}]."""
        return self._run(_write("PUT", f"/libraries/{_seg(code)}/closed-dates",
                                {"days": [_body(**d) for d in days]}, idempotency_key))

    def advance_stage(self, code: str, stage: str, note: str = "", *,
                      idempotency_key: str | None = None) -> R:
        return self._run(_write("POST", f"/libraries/{_seg(code)}/stage",
                                {"stage": stage, "note": note}, idempotency_key))

    # -- onboarding (joining the network) -------------------------------------------
    def onboarding(self, code: str) -> R:
        """A library's onboarding: stage, responsible party, checklists, linked systems,
        conformance reports, planned dates (overdue flagged), launch date, history."""
        return self._run(_get(f"/libraries/{_seg(code)}/onboarding"))

    def onboarding_transition(self, code: str, stage: str, reason: str = "", *,
                              idempotency_key: str | None = None) -> R:
        """Move to another stage (on_hold / withdrawn need a reason); gates apply."""
        return self._run(_write("POST", f"/libraries/{_seg(code)}/onboarding/transitions",
                                {"stage": stage, "reason": reason}, idempotency_key))

    def onboarding_check(self, code: str, item: str, done: bool = True, note: str = "", *,
                         idempotency_key: str | None = None) -> R:
        return self._run(_write(
            "PUT", f"/libraries/{_seg(code)}/onboarding/checklist/{_seg(item)}",
            {"done": done, "note": note}, idempotency_key))

    def onboarding_system(self, code: str, name: str, kind: str, *, integrated: bool = False,
                          tested: bool = False, idempotency_key: str | None = None) -> R:
        return self._run(_write(
            "PUT", f"/libraries/{_seg(code)}/onboarding/systems/{_seg(name)}",
            {"kind": kind, "integrated": integrated, "tested": tested}, idempotency_key))

    def remove_onboarding_system(self, code: str, name: str, *,
                                 idempotency_key: str | None = None) -> R:
        return self._run(_write(
            "DELETE", f"/libraries/{_seg(code)}/onboarding/systems/{_seg(name)}",
            key=idempotency_key))

    def store_conformance_report(self, code: str, report: Mapping[str, Any], *,
                                 idempotency_key: str | None = None) -> R:
        """Store a conformance kit JSON report (validated against the kit's schema)."""
        return self._run(_write("POST", f"/libraries/{_seg(code)}/onboarding/reports",
                                {"report": dict(report)}, idempotency_key))

    def conformance_report(self, code: str, report_id: int) -> R:
        return self._run(_get(f"/libraries/{_seg(code)}/onboarding/reports/{int(report_id)}"))

    def onboarding_plan(self, code: str, planned: Mapping[str, date], *,
                        idempotency_key: str | None = None) -> R:
        """Submit the 세부일정: {stage: planned date}."""
        return self._run(_write("PUT", f"/libraries/{_seg(code)}/onboarding/plan",
                                {"planned": {k: _iso(v) for k, v in planned.items()}},
                                idempotency_key))

    def announce_launch(self, code: str, launch_date: date, *,
                        idempotency_key: str | None = None) -> R:
        return self._run(_write("PUT", f"/libraries/{_seg(code)}/onboarding/launch",
                                {"launch_date": _iso(launch_date)}, idempotency_key))

    def onboarding_contacts(self, code: str) -> R:
        """The e-mail contacts that get the stage e-mails (library, vendor, regional
        center)."""
        return self._run(_get(f"/libraries/{_seg(code)}/onboarding/contacts"))

    def set_onboarding_contacts(self, code: str, contacts: Sequence[Mapping[str, str]], *,
                                idempotency_key: str | None = None) -> R:
        """Replace the contacts: [{"party": "library"|"vendor"|"regional_center",
        "name": ..., "email": ...}]."""
        return self._run(_write("PUT", f"/libraries/{_seg(code)}/onboarding/contacts",
                                {"contacts": [dict(c) for c in contacts]}, idempotency_key))

    def onboarding_notices(self, code: str) -> R:
        """The stage e-mails of a library with their delivery state, newest first."""
        return self._run(_get(f"/libraries/{_seg(code)}/onboarding/notices"))

    def connector_package(self, code: str, *, adapter: str = "manual",
                          issue_credentials: bool = False, hub_url: str | None = None,
                          sip2_host: str | None = None, sip2_port: int | None = None) -> R:
        """The library's connector package, as the bytes of a zip (connector.toml, the
        systemd unit, INSTALL.md, the 구축연계 안내서 PDF). `issue_credentials` (admins):
        new sandbox credentials inside, shown this once; else placeholders."""
        return self._run(Call(
            "POST", f"/libraries/{_seg(code)}/onboarding/connector-package", json=_body(
                adapter=adapter, issue_credentials=issue_credentials, hub_url=hub_url,
                sip2_host=sip2_host, sip2_port=sip2_port), idempotency_key=new_key(),
            binary=True))

    def onboarding_todo(self, *, region: str | None = None) -> R:
        """What each party must do next, for the libraries this key may see."""
        return self._run(_get("/onboarding/todo", region=region))

    def upload_onboarding_document(self, code: str, content: bytes, filename: str, *,
                                   kind: str = "other", item: str | None = None,
                                   note: str = "", idempotency_key: str | None = None) -> R:
        """Upload a document (참여신청서 `application_form`, 수요조사서 `survey`, 공문
        `letter`, 세부일정 `schedule`, or `other`): PDF, HWP, HWPX, PNG, JPEG or XLSX,
        checked by content; `item` links the checklist item it satisfies."""
        form = {"kind": kind, "note": note, **({"item": item} if item else {})}
        return self._run(Call(
            "POST", f"/libraries/{_seg(code)}/onboarding/documents",
            idempotency_key=idempotency_key or new_key(), form=form,
            files={"file": (filename, bytes(content), "application/octet-stream")}))

    def onboarding_documents(self, code: str) -> R:
        """The library's documents (newest first), the size limit and accepted types."""
        return self._run(_get(f"/libraries/{_seg(code)}/onboarding/documents"))

    def download_onboarding_document(self, code: str, document_id: int) -> R:
        """A document's content (bytes)."""
        return self._run(Call(
            "GET", f"/libraries/{_seg(code)}/onboarding/documents/{int(document_id)}",
            binary=True))

    def remove_onboarding_document(self, code: str, document_id: int, *,
                                   idempotency_key: str | None = None) -> R:
        return self._run(_write(
            "DELETE", f"/libraries/{_seg(code)}/onboarding/documents/{int(document_id)}",
            key=idempotency_key))

    def policy(self, level: str, *, scope: str = "", member_class: str = "") -> R:
        return self._run(_get(f"/policies/{_seg(level)}", scope=scope,
                              member_class=member_class))

    def effective_policy(self, code: str, *, member_class: str = "") -> R:
        return self._run(_get(f"/libraries/{_seg(code)}/policy", member_class=member_class))

    def set_policy(self, level: str, settings: Mapping[str, Any], *, scope: str = "",
                   member_class: str = "", idempotency_key: str | None = None) -> R:
        return self._run(Call("PUT", f"/policies/{_seg(level)}",
                              params={"scope": scope, "member_class": member_class},
                              json={"settings": dict(settings)},
                              idempotency_key=idempotency_key or new_key()))

    # -- credentials ---------------------------------------------------------
    def api_keys(self, code: str) -> R:
        return self._run(_get(f"/libraries/{_seg(code)}/api-keys"))

    def create_api_key(self, code: str, label: str = "", environment: str = "live", *,
                       idempotency_key: str | None = None) -> R:
        return self._run(_write("POST", f"/libraries/{_seg(code)}/api-keys",
                                {"label": label, "environment": environment},
                                idempotency_key))

    def create_admin_key(self, scope: Literal["national", "region"], scope_code: str = "",
                         label: str = "", *, idempotency_key: str | None = None) -> R:
        return self._run(_write("POST", "/admin-keys", {
            "scope": scope, "scope_code": scope_code, "label": label}, idempotency_key))

    def revoke_api_key(self, key_id: str, *, idempotency_key: str | None = None) -> R:
        return self._run(_write("DELETE", f"/api-keys/{_seg(key_id)}", key=idempotency_key))

    def terminals(self, code: str) -> R:
        return self._run(_get(f"/libraries/{_seg(code)}/terminals"))

    def create_terminal(self, code: str, login: str, password: str, *,
                        idempotency_key: str | None = None, **fields: Any) -> R:
        """A SIP2 kiosk account. Other fields: label, encoding, terminator, error_detection,
        environment ("sandbox": the kiosk reaches only the library's sandbox data)."""
        return self._run(_write("POST", f"/libraries/{_seg(code)}/terminals", _body(
            login=login, password=password, **fields), idempotency_key))

    def unlock_terminal(self, code: str, login: str, *,
                        idempotency_key: str | None = None) -> R:
        """Lift a kiosk account's lock after repeated failed logins."""
        return self._run(_write("POST", f"/libraries/{_seg(code)}/terminals/{_seg(login)}"
                                f"/unlock", key=idempotency_key))

    def revoke_terminal(self, login: str, *, idempotency_key: str | None = None) -> R:
        return self._run(_write("DELETE", f"/terminals/{_seg(login)}", key=idempotency_key))

    # -- vendors (사업자) --------------------------------------------------------
    def vendors(self) -> R:
        """The registered vendors (a vendor's key: only itself)."""
        return self._run(_get("/vendors"))

    def vendor(self, brn: str) -> R:
        """A vendor and the libraries it serves (as this key may see them)."""
        return self._run(_get(f"/vendors/{_seg(brn)}"))

    def create_vendor(self, brn: str, name: str, *, contact_name: str = "",
                      contact_email: str = "", contact_phone: str = "",
                      idempotency_key: str | None = None) -> R:
        """Register a vendor by its 사업자등록번호 (national admin)."""
        return self._run(_write("POST", "/vendors", {
            "brn": brn, "name": name, "contact_name": contact_name,
            "contact_email": contact_email, "contact_phone": contact_phone}, idempotency_key))

    def update_vendor(self, brn: str, name: str, *, contact_name: str = "",
                      contact_email: str = "", contact_phone: str = "",
                      idempotency_key: str | None = None) -> R:
        return self._run(_write("PATCH", f"/vendors/{_seg(brn)}", {
            "name": name, "contact_name": contact_name, "contact_email": contact_email,
            "contact_phone": contact_phone}, idempotency_key))

    def assign_vendor(self, code: str, brn: str | None, *,
                      idempotency_key: str | None = None) -> R:
        """Choose the library's vendor (None clears it)."""
        return self._run(_write("PUT", f"/libraries/{_seg(code)}/onboarding/vendor",
                                {"brn": brn}, idempotency_key))

    def create_vendor_staff(self, brn: str, username: str, password: str,
                            display_name: str = "", *,
                            idempotency_key: str | None = None) -> R:
        """A console account for the vendor's staff (national admin)."""
        return self._run(_write("POST", f"/vendors/{_seg(brn)}/staff", {
            "username": username, "password": password, "display_name": display_name},
            idempotency_key))

    def vendor_api_keys(self, brn: str) -> R:
        return self._run(_get(f"/vendors/{_seg(brn)}/api-keys"))

    def create_vendor_api_key(self, brn: str, label: str = "", *,
                              idempotency_key: str | None = None) -> R:
        """A vendor's key for the onboarding API of the libraries that selected it."""
        return self._run(_write("POST", f"/vendors/{_seg(brn)}/api-keys",
                                {"label": label}, idempotency_key))

    # -- change feed, audit, connector snapshot ------------------------------
    def events(self, after: int = 0, limit: int = 100) -> R:
        """This library's change feed (an `EventPage`); store `next_after` and poll."""
        return self._run(_get("/events", after=after, limit=limit))

    def audit(self, **filters: Any) -> R:
        """Filters: entity, entity_id, action, library_code, since, until, limit."""
        return self._run(_get("/audit", **filters))

    def connector_snapshot(self, *, since: str | None = None, after: int = 0,
                           limit: int = 2000, scope: str = "all") -> R:
        """One page of the offline snapshot for the key's library (see docs/connector.md):
        `since` is the `as_of` of an earlier full pass (a delta), `after` the paging cursor;
        `scope="own"` makes a full pass of the library's own members only."""
        return self._run(_get("/connector/snapshot", since=since, after=after, limit=limit,
                              scope=scope))

    # -- sandbox (conformance kit) -----------------------------------------------
    def create_sandbox(self, *, members: int = 1, copies: int = 1, foreign_members: int = 0,
                       idempotency_key: str | None = None) -> R:
        """Test members and copies at this library, marked sandbox (lent only to each
        other, never in statistics); `foreign_members` are issued at the sandbox peer (a
        first checkout here auto-joins them). Returns numbers and item barcodes."""
        return self._run(_write("POST", "/sandbox", {
            "members": members, "copies": copies, "foreign_members": foreign_members},
            idempotency_key))

    def sandbox_peer(self, action: str, *, member: str | None = None, item: str | None = None,
                     transit_id: int | None = None, occurred_at: datetime | None = None,
                     offline: bool | None = None, due_on: date | None = None,
                     client_txn_id: str | None = None,
                     idempotency_key: str | None = None) -> R:
        """A step at the sandbox peer library on this library's sandbox data: action
        `checkout`, `checkin`, `send` or `arrive` (a transit)."""
        return self._run(_write("POST", f"/sandbox/peer/{_seg(action)}", _body(
            member=member, item=item, transit_id=transit_id, occurred_at=occurred_at,
            offline=offline, due_on=due_on, client_txn_id=client_txn_id), idempotency_key))

    def sandbox(self) -> R:
        """This library's sandbox members, copies and active sandbox loans."""
        return self._run(_get("/sandbox"))

    def clean_sandbox(self, *, idempotency_key: str | None = None) -> R:
        """Delete this library's sandbox data and everything that hangs off it."""
        return self._run(_write("DELETE", "/sandbox", key=idempotency_key))


def _seg(value: str) -> str:
    """One URL path segment (a member number, item barcode with `$`, login ...)."""
    from urllib.parse import quote

    return quote(str(value), safe="")


class _Base:
    def __init__(self, base_url: str, api_key: str | None = None, *,
                 acting_library: str | None = None, timeout: float = DEFAULT_TIMEOUT,
                 retry: RetryPolicy | None = None, lang: str = "ko",
                 channel: str | None = None, headers: Mapping[str, str] | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.retry = retry or RetryPolicy()
        self.timeout = timeout
        self.headers: dict[str, str] = {"User-Agent": USER_AGENT, "Accept-Language": lang}
        if api_key:
            self.headers["Authorization"] = f"Bearer {api_key}"
        if acting_library:
            self.headers["X-Acting-Library"] = acting_library
        if channel:
            self.headers["X-Channel"] = channel
        self.headers.update(headers or {})

    def _request_args(self, call: Call) -> dict[str, Any]:
        headers = dict(self.headers)
        headers.update(call.headers or {})
        if call.idempotency_key:
            headers["Idempotency-Key"] = call.idempotency_key
        args: dict[str, Any] = {"method": call.method, "url": "/api/v1" + call.path,
                                "headers": headers, "params": call.params}
        if call.files is not None:
            args["files"] = call.files
            args["data"] = call.form or {}
        elif call.json is not None:
            args["json"] = call.json
        elif call.method != "GET":
            args["content"] = b""
        return args

    def _retryable(self, call: Call, outcome: Raw | TransportError) -> bool:
        if isinstance(outcome, TransportError):
            # a write without a key could be applied twice: never resend it
            return call.method == "GET" or call.idempotency_key is not None
        return outcome.status in self.retry.statuses

    @staticmethod
    def _result(raw: Raw, binary: bool = False) -> Any:
        if raw.status >= 400:
            raise error_from(raw.status, raw.json() if raw.content else None)
        if binary:
            return raw.content
        return raw.json() if raw.content else None


def _transport_error(exc: httpx.HTTPError) -> TransportError:
    if isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout):
        return ConnectionFailed(str(exc) or type(exc).__name__)
    if isinstance(exc, httpx.TimeoutException):
        return HubTimeout(str(exc) or type(exc).__name__)
    return TransportError(str(exc) or type(exc).__name__)


class HubClient(_Base, _Endpoints[Any]):
    """Synchronous client. Use as a context manager, or call `close()`.

        with HubClient("https://hub.example", api_key="ck_...") as hub:
            result = hub.checkout("11100126000001", "$111001EM0000000001")
    """

    def __init__(self, base_url: str, api_key: str | None = None, *,
                 transport: httpx.BaseTransport | None = None, **options: Any) -> None:
        super().__init__(base_url, api_key, **options)
        self._http = httpx.Client(base_url=self.base_url, timeout=self.timeout,
                                  transport=transport)

    def __enter__(self) -> HubClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def send(self, call: Call, *, timeout: float | None = None, retry: bool = True) -> Raw:
        """Send one call (with retries) and return the answer without interpreting it.
        Raises `TransportError` when the hub gave no answer after the last try."""
        attempts = self.retry.attempts if retry else 1
        for attempt in range(1, attempts + 1):
            try:
                r = self._http.request(**self._request_args(call),
                                       timeout=timeout if timeout is not None else self.timeout)
                outcome: Raw | TransportError = Raw(r.status_code, r.headers, r.content)
            except httpx.HTTPError as exc:
                outcome = _transport_error(exc)
            if attempt == attempts or not self._retryable(call, outcome):
                if isinstance(outcome, TransportError):
                    raise outcome
                return outcome
            time.sleep(self.retry.delay(attempt))
        raise AssertionError("unreachable")

    def _run(self, call: Call) -> Any:
        return self._result(self.send(call), call.binary)


class AsyncHubClient(_Base, _Endpoints[Any]):
    """Asynchronous client (every endpoint method is a coroutine).

        async with AsyncHubClient("https://hub.example", api_key="ck_...") as hub:
            page = await hub.events(after=0)
    """

    def __init__(self, base_url: str, api_key: str | None = None, *,
                 transport: httpx.AsyncBaseTransport | None = None, **options: Any) -> None:
        super().__init__(base_url, api_key, **options)
        self._http = httpx.AsyncClient(base_url=self.base_url, timeout=self.timeout,
                                       transport=transport)

    async def __aenter__(self) -> AsyncHubClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def send(self, call: Call, *, timeout: float | None = None,
                   retry: bool = True) -> Raw:
        """Async `HubClient.send`."""
        attempts = self.retry.attempts if retry else 1
        for attempt in range(1, attempts + 1):
            try:
                r = await self._http.request(
                    **self._request_args(call),
                    timeout=timeout if timeout is not None else self.timeout)
                outcome: Raw | TransportError = Raw(r.status_code, r.headers, r.content)
            except httpx.HTTPError as exc:
                outcome = _transport_error(exc)
            if attempt == attempts or not self._retryable(call, outcome):
                if isinstance(outcome, TransportError):
                    raise outcome
                return outcome
            await asyncio.sleep(self.retry.delay(attempt))
        raise AssertionError("unreachable")

    async def _call(self, call: Call) -> Any:
        return self._result(await self.send(call), call.binary)

    def _run(self, call: Call) -> Any:
        return self._call(call)


__all__ = ["AsyncHubClient", "Call", "CirculationResult", "Event", "EventPage", "HubClient",
           "HubError", "Loan", "Raw", "RetryPolicy", "new_key"]
