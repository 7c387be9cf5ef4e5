"""The step function of each catalogue scenario (catalogue.py holds what they mean).

Each takes the run (sandbox fixtures, the client, the kiosk port) and its catalogue row,
and raises `Fail(code, detail)` with a code of that row, or `Skip(reason)`. They talk
to the target only through the client SDK and raw SIP2 frames, as an integration would.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from time import monotonic, sleep
from zoneinfo import ZoneInfo

import holidays

from ..client import HubError
from ..client.api import Call, new_key
from .catalogue import Scenario
from .runner import Fail, Run, Skip
from .sip2wire import (
    BX_ORDER,
    DATE,
    Malformed,
    Reply,
    Wire,
    check_response,
    checksum,
    frame,
    parse,
)

SEOUL = ZoneInfo("Asia/Seoul")
WEIGHTS = (2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5, 6)
BLANK_DATE = " " * 18


# -- helpers ---------------------------------------------------------------------------
def check_digit(first13: str) -> int:
    """The member-number check digit (docs/domain.md §3), computed here on purpose."""
    x = sum(int(d) * w for d, w in zip(first13, WEIGHTS, strict=True)) % 11
    return 0 if x == 0 else 10 - x


def seoul_day(moment: datetime) -> date:
    return moment.astimezone(SEOUL).date()


def at_noon(day: date) -> datetime:
    return datetime.combine(day, time(12, 0), tzinfo=SEOUL)


def refusal(call: Callable[[], object]) -> HubError | None:
    """The refusal a call ends with (None if it was accepted)."""
    try:
        call()
    except HubError as exc:
        return exc
    return None


def codes_of(exc: HubError) -> set[str]:
    return {exc.code, *(r.get("code") for r in exc.reasons or [])}


def loan_of(result: dict) -> dict:
    loan = result.get("loan")
    if not isinstance(loan, dict) or "id" not in loan:
        raise Fail("MALFORMED_ANSWER", f"no loan in the answer: {sorted(result)}")
    return loan


def feed_end(run: Run) -> int:
    after = 0
    while True:
        page = run.hub.events(after=after, limit=1000)
        after = page["next_after"]
        if not page["has_more"]:
            return after


def feed_since(run: Run, after: int, limit: int = 100) -> tuple[list[dict], int]:
    seen: list[dict] = []
    for _ in range(1000):
        page = run.hub.events(after=after, limit=limit)
        seen.extend(page["events"])
        after = page["next_after"]
        if not page["has_more"]:
            break
    return seen, after


class Calendar:
    """The library's opening days as the hub describes them (closed weekdays, closed
    dates) plus Korean public holidays."""

    def __init__(self, info: dict) -> None:
        self.weekdays = set(info.get("closed_weekdays") or [])
        self.dates = {date.fromisoformat(d["day"]) for d in info.get("closed_dates") or []}
        self.holidays = holidays.KR()

    def closed(self, day: date) -> bool:
        return day.weekday() in self.weekdays or day in self.dates or day in self.holidays

    def next_open(self, day: date) -> date:
        for _ in range(400):
            if not self.closed(day):
                return day
            day += timedelta(days=1)
        raise Fail("KIT_ERROR", "no open day within 400 days")


def suspend(run: Run, member: str, item: str, *, at_peer: bool = False) -> dict:
    """A late return of `item` by `member` (an offline loan 30 days ago, due 16 days
    ago), at the sandbox peer or here. Returns the checkin result."""
    today = seoul_day(run.hub_now)
    loaned = at_noon(today - timedelta(days=30))
    due = today - timedelta(days=16)
    if at_peer:
        run.hub.sandbox_peer("checkout", member=member, item=item, occurred_at=loaned,
                             offline=True, due_on=due)
        out = run.hub.sandbox_peer("checkin", item=item, offline=True,
                                   occurred_at=run.hub_now)["result"]
    else:
        run.hub.checkout(member, item, occurred_at=loaned, offline=True, due_on=due)
        out = run.hub.checkin(item)
    if not out.get("suspension"):
        raise Fail("MALFORMED_ANSWER", "a return 16 days late earned no suspension")
    return out


# -- identity and numbering --------------------------------------------------------------
def rest_01(run: Run, sc: Scenario) -> None:
    number = run.member()["number"]
    lib = run.options.library
    yy = f"{seoul_day(run.hub_now).year % 100:02d}"
    if not (len(number) == 14 and number.isdigit() and number[:6] == lib
            and number[6:8] == yy):
        raise Fail("NUMBER_FORMAT", f"{number[:8]}…: expected {lib}{yy} + 6 digits")
    if int(number[13]) != check_digit(number[:13]):
        raise Fail("CHECK_DIGIT_WRONG", f"check digit {number[13]}, expected "
                   f"{check_digit(number[:13])}")
    if run.hub.member(number)["number"] != number:
        raise Fail("MALFORMED_ANSWER", "lookup answered another number")
    bad = number[:13] + str((int(number[13]) + 1) % 10)
    exc = refusal(lambda: run.hub.member(bad))
    if exc is None or exc.code != "INVALID_MEMBER_NUMBER":
        raise Fail("BAD_CHECK_DIGIT_ACCEPTED",
                   f"lookup with a wrong check digit: {exc.code if exc else 'accepted'}")


def rest_02(run: Run, sc: Scenario) -> None:
    member, item = run.member()["number"], run.copy()["item"]
    for form, code in ((item, "BARCODE_19_REFUSED"), (item[1:], "BARCODE_18_REFUSED")):
        exc = refusal(lambda f=form: run.hub.copy(f))
        if exc is not None:
            raise Fail(code, f"GET /copies/{form[:3]}…: {exc.code}")
        if run.hub.copy(form).get("item") != item:
            raise Fail("BARCODE_NOT_NORMALIZED", f"{form} answered as another item")
    exc = refusal(lambda: run.hub.checkout(member, item[1:]))
    if exc is not None:
        raise Fail("BARCODE_18_REFUSED", f"checkout with the 18-character form: {exc.code}")
    items = [x.get("item") for x in run.hub.member_loans(member)["items"]]
    if item not in items:
        raise Fail("BARCODE_NOT_NORMALIZED", f"loans list {items}, expected {item}")
    run.hub.checkin(item)


def rest_03(run: Run, sc: Scenario) -> None:
    member, copy = run.member()["number"], run.copy()
    lib = run.options.library
    exc = refusal(lambda: run.hub.checkout(member, "#" + lib))
    if exc is None:
        raise Fail("INSTITUTION_AS_ITEM_ACCEPTED", "checkout of '#'+도서관부호 was accepted")
    try:
        out = run.hub.checkout(member, copy["reg_no"], owner_library=lib)
    except HubError as exc:
        raise Fail("PLAIN_REGNO_REFUSED", f"{exc.code}: {exc.message}") from None
    if loan_of(out).get("item") != copy["item"]:
        raise Fail("WRONG_OWNER", f"loan of {loan_of(out).get('item')}, expected {copy['item']}")
    try:
        back = run.hub.checkin(copy["reg_no"], owner_library=lib)
    except HubError as exc:
        raise Fail("PLAIN_REGNO_REFUSED", f"checkin: {exc.code}") from None
    if loan_of(back).get("item") != copy["item"]:
        raise Fail("WRONG_OWNER", "checkin returned another item")


def rest_04(run: Run, sc: Scenario) -> None:
    member, item = run.member()["number"], run.copy()["item"]
    bad_member = member[:13] + str((int(member[13]) + 1) % 10)
    lib = run.options.library
    cases = [
        ("checkout: wrong check digit", {"member": bad_member, "item": item},
         {"INVALID_MEMBER_NUMBER"}),
        ("checkout: short 통합바코드", {"member": member, "item": "$" + lib + "EM01"},
         {"INVALID_BARCODE"}),
        ("checkout: 기관바코드 as the item", {"member": member, "item": "#" + lib},
         {"INVALID_BARCODE"}),
        ("checkout: 5-digit owner_library", {"member": member, "item": "EM0000000001",
                                             "owner_library": lib[:5]},
         {"INVALID_LIBRARY_CODE", "VALIDATION_ERROR"}),
        ("checkout: no item", {"member": member}, {"VALIDATION_ERROR"}),
        ("checkout: not JSON", "{not json", {"MALFORMED_JSON"}),
    ]
    for label, body, expected in cases:
        # sent raw: the client SDK cannot send a body that is not JSON, on purpose
        content = body.encode() if isinstance(body, str) else json.dumps(body).encode()
        r = run.hub._http.post(
            "/api/v1/circulation/checkout", content=content,
            headers={**run.hub.headers, "Content-Type": "application/json"})
        code = (r.json() or {}).get("code") if r.headers.get(
            "content-type", "").startswith("application/json") else None
        if r.status_code >= 500:
            raise Fail("SERVER_ERROR", f"{label}: {r.status_code}")
        if not (400 <= r.status_code < 500) or code not in expected:
            raise Fail("WRONG_CODE", f"{label}: {r.status_code} {code}, expected "
                       f"4xx {'/'.join(sorted(expected))}")


# -- circulation -------------------------------------------------------------------------
def rest_05(run: Run, sc: Scenario) -> None:
    member = run.foreign_member()["number"]
    first, second = run.copy()["item"], run.copy()["item"]
    out = run.hub.checkout(member, first)
    if out.get("auto_joined") is not True:
        raise Fail("AUTO_JOIN_NOT_REPORTED", f"first checkout: auto_joined = "
                   f"{out.get('auto_joined')!r}")
    due = loan_of(out).get("due_on")
    if not due:
        raise Fail("DUE_DATE_MISSING", "loan.due_on missing from the checkout answer")
    again = run.hub.checkout(member, second)
    if again.get("auto_joined") is not False:
        raise Fail("AUTO_JOIN_NOT_REPORTED", f"second checkout: auto_joined = "
                   f"{again.get('auto_joined')!r}")
    rows = run.hub.audit(action="member.auto_join", entity_id=member, limit=10)["items"]
    if not any(r.get("library_code") == run.options.library for r in rows):
        raise Fail("AUTO_JOIN_NOT_AUDITED", "no member.auto_join audit row at this library")
    run.hub.checkin(first)
    run.hub.checkin(second)


def rest_06(run: Run, sc: Scenario) -> None:
    member, item = run.member()["number"], run.copy()["item"]
    yesterday = at_noon(seoul_day(run.hub_now) - timedelta(days=1))
    loan = loan_of(run.hub.checkout(member, item, occurred_at=yesterday, offline=True))
    due = loan["due_on"]
    allowed = int(run.policy.get("renewals_allowed", 1))
    if allowed < 1:
        raise Skip("this library's policy allows no renewals")
    for n in range(allowed):
        try:
            renewed = loan_of(run.hub.renew(item))
        except HubError as exc:
            raise Fail("RENEW_REFUSED", f"renewal {n + 1}: {exc.code}: {exc.message}") from None
        if not renewed.get("due_on") or renewed["due_on"] <= due:
            raise Fail("DUE_NOT_EXTENDED", f"due {due} -> {renewed.get('due_on')}")
        due = renewed["due_on"]
    exc = refusal(lambda: run.hub.renew(item))
    if exc is None or "RENEW_LIMIT_REACHED" not in codes_of(exc):
        raise Fail("RENEW_LIMIT_NOT_ENFORCED", f"renewal {allowed + 1}: "
                   f"{exc.code if exc else 'accepted'}")
    run.hub.checkin(item)


def rest_07(run: Run, sc: Scenario) -> None:
    member, item = run.member()["number"], run.copy()["item"]
    run.hub.checkout(member, item)
    try:
        out = run.hub.checkin(item)
    except HubError as exc:
        raise Fail("CHECKIN_REFUSED", f"{exc.code}: {exc.message}") from None
    if out.get("route") != "home" or out.get("transit_id") is not None:
        raise Fail("WRONG_ROUTE", f"route {out.get('route')!r}, transit {out.get('transit_id')}")
    if loan_of(out).get("state") != "returned":
        raise Fail("MALFORMED_ANSWER", f"loan state {loan_of(out).get('state')!r}")
    exc = refusal(lambda: run.hub.checkin(item))
    if exc is None or exc.code != "NOT_ON_LOAN":
        raise Fail("DOUBLE_CHECKIN_ACCEPTED", f"second checkin: "
                   f"{exc.code if exc else 'accepted'}")


def rest_08(run: Run, sc: Scenario) -> None:
    member, item = run.member()["number"], run.copy()["item"]
    cursor = feed_end(run)
    run.hub.checkout(member, item)  # lent here (a library lends only its own copies)
    try:
        back = run.hub.sandbox_peer("checkin", item=item)["result"]
    except HubError as exc:
        if exc.code == "RETURN_NOT_ALLOWED_HERE":
            raise Skip("타관반납 is not allowed in this region (policy)") from None
        raise
    transit_id = back.get("transit_id")
    if not transit_id:
        raise Fail("MALFORMED_ANSWER", "the return at the peer made no transit")

    def incoming(state: str, done: bool = False) -> None:
        rows = run.hub.transits("incoming", include_done=done)["items"]
        mine = [t for t in rows if t.get("id") == transit_id]
        if not mine:
            raise Fail("TRANSIT_NOT_LISTED", f"transit {transit_id} not in the incoming list")
        if mine[0].get("state") != state:
            raise Fail("WRONG_STATE", f"transit {transit_id}: {mine[0].get('state')!r}, "
                       f"expected {state!r}")

    incoming("received")
    events, _ = feed_since(run, cursor)
    if not any(e["kind"] == "transit.addressed"
               and e["payload"].get("transit_id") == transit_id for e in events):
        raise Fail("EVENT_MISSING", f"no transit.addressed for transit {transit_id}")
    run.hub.sandbox_peer("send", transit_id=transit_id)
    incoming("sent")
    try:
        arrived = run.hub.checkin(item)
    except HubError as exc:
        raise Fail("ARRIVAL_REFUSED", f"checkin scan at home: {exc.code}") from None
    if arrived.get("action") != "transit_arrived":
        raise Fail("WRONG_STATE", f"checkin at home answered {arrived.get('action')!r}")
    incoming("home", done=True)


def rest_09(run: Run, sc: Scenario) -> None:
    member, item = run.member()["number"], run.copy()["item"]
    loan = loan_of(run.hub.checkout(member, item))
    try:
        undone = run.hub.undo_checkout(loan["id"])
    except HubError as exc:
        raise Fail("UNDO_REFUSED", f"undo-checkout: {exc.code}") from None
    if loan_of(undone).get("state") != "undone" or run.hub.copy(item).get("on_loan"):
        raise Fail("UNDO_NOT_APPLIED", "after undo-checkout the copy is still out")
    loan = loan_of(run.hub.checkout(member, item))
    run.hub.checkin(item)
    try:
        redone = run.hub.undo_checkin(loan["id"])
    except HubError as exc:
        raise Fail("UNDO_REFUSED", f"undo-checkin: {exc.code}") from None
    if loan_of(redone).get("state") != "active" or not run.hub.copy(item).get("on_loan"):
        raise Fail("UNDO_NOT_APPLIED", "after undo-checkin the loan is not active again")
    run.hub.checkin(item)


def rest_10(run: Run, sc: Scenario) -> None:
    member, item = run.member()["number"], run.copy()["item"]
    cal = Calendar(run.library_info)
    period = int(run.policy.get("loan_period_days", 14))
    today = seoul_day(run.hub_now)
    online = loan_of(run.hub.checkout(member, item))
    due = date.fromisoformat(online["due_on"])
    expected = cal.next_open(today + timedelta(days=period))
    if cal.closed(due):
        raise Fail("DUE_ON_CLOSED_DAY", f"due {due} ({due:%a}) is a closed day")
    if due != expected:
        raise Fail("DUE_NOT_FIRST_OPEN_DAY", f"due {due}, expected {expected}")
    run.hub.checkin(item)
    # a loan day whose plain due date falls on a closed day (an offline replay, dated)
    day = next((today - timedelta(days=n) for n in range(1, 120)
                if cal.closed(today - timedelta(days=n - period))), None)
    if day is None:
        raise Skip("no closed day in the last 120 days to test against")
    loan = loan_of(run.hub.checkout(member, item, occurred_at=at_noon(day), offline=True))
    due = date.fromisoformat(loan["due_on"])
    expected = cal.next_open(day + timedelta(days=period))
    if cal.closed(due):
        raise Fail("DUE_ON_CLOSED_DAY", f"loan of {day}: due {due} ({due:%a}) is closed")
    if due != expected:
        raise Fail("DUE_NOT_FIRST_OPEN_DAY", f"loan of {day}: due {due}, expected {expected}")


# -- shared rules -----------------------------------------------------------------------
def rest_11(run: Run, sc: Scenario) -> None:
    member = run.member()["number"]
    limit = int(run.policy.get("shared_loan_limit", 20))
    if limit > 150:
        raise Skip(f"shared limit {limit} is too large to fill with sandbox copies")
    copies = [run.copy()["item"] for _ in range(min(limit + 1, sc.copies))]
    if len(copies) < limit + 1:
        extra = run.hub.create_sandbox(members=0, copies=limit + 1 - len(copies))["copies"]
        copies += [c["item"] for c in extra]
    hour_ago = run.hub_now - timedelta(hours=1)
    for item in copies[:limit]:  # recorded as facts even past the library's own limit
        run.hub.checkout(member, item, occurred_at=hour_ago, offline=True)
    exc = refusal(lambda: run.hub.checkout(member, copies[limit]))
    if exc is None:
        raise Fail("LIMIT_NOT_ENFORCED", f"loan {limit + 1} accepted (shared limit {limit})")
    if "SHARED_LIMIT_REACHED" not in codes_of(exc):
        raise Fail("LIMIT_CODE_MISSING", f"refused with {sorted(codes_of(exc))}")


def rest_12(run: Run, sc: Scenario) -> None:
    member = run.member()["number"]
    first, second = run.copy()["item"], run.copy()["item"]
    cursor = feed_end(run)
    suspend(run, member, first, at_peer=True)
    warn_only = run.policy.get("suspension_sharing") == "warn"
    exc = refusal(lambda: run.hub.checkout(member, second))
    if warn_only:
        if exc is not None:
            raise Fail("SUSPENSION_NOT_ENFORCED", f"warn-only policy, but refused: {exc.code}")
    elif exc is None or "MEMBER_SUSPENDED" not in codes_of(exc):
        raise Fail("SUSPENSION_NOT_ENFORCED",
                   f"checkout here after a suspension at {run.peer}: "
                   f"{sorted(codes_of(exc)) if exc else 'accepted'}")
    events, _ = feed_since(run, cursor)
    if not any(e["kind"] == "member.suspended" and e["payload"].get("member") == member
               for e in events):
        raise Fail("SUSPENSION_EVENT_MISSING", "no member.suspended in the change feed")


def rest_13(run: Run, sc: Scenario) -> None:
    member = run.member()["number"]
    first, second = run.copy()["item"], run.copy()["item"]
    suspend(run, member, first)
    run.hub.report_card_lost(member)
    try:
        exc = refusal(lambda: run.hub.checkout(member, second))
    finally:
        run.hub.lift_card_lost(member)
    wanted = {"MEMBER_SUSPENDED", "CARD_LOST"}
    if exc is None or not wanted <= codes_of(exc):
        raise Fail("REASONS_INCOMPLETE", f"expected {sorted(wanted)}, got "
                   f"{sorted(codes_of(exc)) if exc else 'accepted'}")


# -- robustness ---------------------------------------------------------------------------
def rest_14(run: Run, sc: Scenario) -> None:
    member, item = run.member()["number"], run.copy()["item"]
    call = Call("POST", "/circulation/checkout",
                json={"member": member, "item": item, "client_txn_id": new_key()},
                idempotency_key=new_key())
    first = run.hub.send(call, retry=False)
    if first.status != 200:
        raise Fail("UNEXPECTED_REFUSAL", f"first checkout: {first.status} {first.content[:200]!r}")
    again = run.hub.send(call, retry=False)
    loan_id = loan_of(first.json())["id"]
    active = [x for x in run.hub.member_loans(member)["items"]
              if x.get("item") == item and x.get("state") == "active"]
    if again.status != 200 or len(active) != 1 or active[0].get("renewals"):
        raise Fail("RETRY_APPLIED_TWICE", f"retry answered {again.status}; "
                   f"{len(active)} active loan(s), renewals "
                   f"{[x.get('renewals') for x in active]}")
    body = again.json()
    if loan_of(body)["id"] != loan_id or again.headers.get("idempotent-replayed") != "true":
        raise Fail("RETRY_DIFFERENT_ANSWER", "the retry did not get the first answer back "
                   f"(Idempotent-Replayed: {again.headers.get('idempotent-replayed')})")
    # the same client_txn_id under a new key (a resend after a restart): recognised
    resend = run.hub.send(Call("POST", "/circulation/checkout", json=call.json,
                               idempotency_key=new_key()), retry=False)
    if resend.status != 200 or loan_of(resend.json())["id"] != loan_id or not resend.json().get(
            "replayed"):
        raise Fail("RETRY_APPLIED_TWICE", f"resend with the same client_txn_id: "
                   f"{resend.status} {resend.content[:200]!r}")
    run.hub.checkin(item)


def rest_15(run: Run, sc: Scenario) -> None:
    member, item = run.member()["number"], run.copy()["item"]
    txn = new_key()
    run.hub.report_card_lost(member)
    try:
        when = run.hub_now - timedelta(hours=2)
        try:
            out = run.hub.checkout(member, item, occurred_at=when, offline=True,
                                   client_txn_id=txn)
        except HubError as exc:
            raise Fail("REPLAY_REFUSED", f"{exc.code}: {exc.message}") from None
        loan = loan_of(out)
        flagged = {e.get("code") for e in out.get("exceptions") or []}
        if "CARD_LOST" not in flagged or not loan.get("offline"):
            raise Fail("REPLAY_NOT_FLAGGED", f"exceptions {sorted(flagged)}, offline "
                       f"{loan.get('offline')}")
        again = run.hub.checkout(member, item, occurred_at=when, offline=True,
                                 client_txn_id=txn)
        if not again.get("replayed") or loan_of(again)["id"] != loan["id"]:
            raise Fail("REPLAY_APPLIED_TWICE", "a resend of the replay was applied again")
        listed = [x for x in run.hub.exceptions()["items"] if x.get("loan_id") == loan["id"]]
        if not listed:
            raise Fail("EXCEPTION_NOT_LISTED", f"loan {loan['id']} not in GET /exceptions")
        if len(listed) > 1:
            raise Fail("REPLAY_APPLIED_TWICE", f"{len(listed)} exception records for one loan")
    finally:
        run.hub.lift_card_lost(member)


def rest_16(run: Run, sc: Scenario) -> None:
    one, two = run.member()["number"], run.member()["number"]
    cursor = feed_end(run)
    for number in (one, two):
        run.hub.report_card_lost(number)
        run.hub.lift_card_lost(number)
    events, end = feed_since(run, cursor, limit=1)  # one event per page: every cursor step
    positions = [e["position"] for e in events]
    if len(set(positions)) != len(positions):
        raise Fail("EVENT_REPEATED", f"positions {positions}")
    if positions != sorted(positions) or any(p <= cursor for p in positions):
        raise Fail("POSITIONS_NOT_INCREASING", f"after {cursor}: positions {positions}")
    for number in (one, two):
        mine = [e for e in events if e["kind"] == "member.card_lost"
                and e["payload"].get("member") == number]
        if not mine:
            raise Fail("EVENT_MISSING", "member.card_lost of a sandbox member not delivered")
        if len(mine) > 1:
            raise Fail("EVENT_REPEATED", "member.card_lost delivered twice")
    later, _ = feed_since(run, end)
    if any(e["position"] in positions for e in later):
        raise Fail("EVENT_REPEATED", "events delivered again after next_after")


# -- SIP2 -----------------------------------------------------------------------------------
def sip_now() -> str:
    return datetime.now(SEOUL).strftime("%Y%m%d    %H%M%S")


def expect(reply: Reply, code: str) -> Reply:
    problems = check_response(reply, code)
    if problems:
        raise Fail("MALFORMED_ANSWER", "; ".join(problems))
    return reply


def patron_info(w: Wire, lib: str, number: str) -> Reply:
    return expect(w.ask(f"63000{sip_now()}{' ' * 10}AO{lib}|AA{number}|AC|"), "64")


def checkout_text(lib: str, number: str, item: str, ao: str | None = None) -> str:
    return f"11YN{sip_now()}{BLANK_DATE}AO{lib if ao is None else ao}|AA{number}|AB{item}|AC|"


def sip_01(run: Run, sc: Scenario) -> None:
    with run.wire() as w:
        login = f"9300CN{run.options.terminal}|CO{run.options.password}|CPconformance|"
        reply = expect(w.ask(login), "94")
        if reply.fixed["ok"] != "1":
            raise Fail("LOGIN_FAILED", "94 ok=0 for the terminal's credentials")
    with run.wire() as w:
        reply = expect(w.ask(f"9300CN{run.options.terminal}|CO{run.options.password}x|"), "94")
        if reply.fixed["ok"] != "0":
            raise Fail("WRONG_PASSWORD_ACCEPTED", "94 ok=1 for a wrong password")


def sip_02(run: Run, sc: Scenario) -> None:
    with run.kiosk() as w:
        reply = expect(w.ask("9900802.00"), "98")
    if reply.get("AO") != run.options.library:
        raise Fail("MALFORMED_ANSWER", f"98 AO = {reply.get('AO')!r}")
    flags = {k: reply.fixed[k] for k in ("online", "checkin_ok", "checkout_ok")}
    if set(flags.values()) != {"Y"}:
        raise Fail("NOT_ONLINE", f"98: {flags}")


def sip_03(run: Run, sc: Scenario) -> None:
    number, lib = run.member()["number"], run.options.library
    unknown = f"{lib}{number[6:8]}99999"
    unknown += str(check_digit(unknown))
    with run.kiosk() as w:
        status = expect(w.ask(f"23000{sip_now()}AO{lib}|AA{number}|AC|"), "24")
        info = patron_info(w, lib, number)
        nobody = expect(w.ask(f"23000{sip_now()}AO{lib}|AA{unknown}|AC|"), "24")
    for reply in (status, info):
        if reply.get("BL") != "Y" or reply.get("AA") != number:
            raise Fail("PATRON_NOT_VALID", f"{reply.code}: BL={reply.get('BL')!r}")
    if nobody.get("BL") != "N" or nobody.get("AE"):
        raise Fail("UNKNOWN_PATRON_VALID", f"24 for an unknown number: BL={nobody.get('BL')!r}")


def sip_04(run: Run, sc: Scenario) -> None:
    number, lib = run.member()["number"], run.options.library
    first, second = run.copy()["item"], run.copy()["item"]
    yesterday = at_noon(seoul_day(run.hub_now) - timedelta(days=1))
    rest_due = loan_of(run.hub.checkout(number, second, occurred_at=yesterday,
                                        offline=True))["due_on"]
    with run.kiosk() as w:
        out = expect(w.ask(checkout_text(lib, number, first)), "12")
        if out.fixed["ok"] != "1":
            raise Fail("CHECKOUT_REFUSED", f"12 ok=0: {out.get('AF')}")
        if not re.fullmatch(DATE, out.get("AH") or ""):
            raise Fail("DUE_DATE_MISSING", f"12 AH = {out.get('AH')!r}")
        back = expect(w.ask(f"09N{sip_now()}{sip_now()}AP{lib}|AO{lib}|AB{first}|AC|"), "10")
        if back.fixed["ok"] != "1":
            raise Fail("CHECKIN_REFUSED", f"10 ok=0: {back.get('AF')}")
        renew = expect(w.ask(f"29NN{sip_now()}{BLANK_DATE}AO{lib}|AA{number}|AB{second}|AC|"),
                       "30")
        if renew.fixed["ok"] != "1":
            raise Fail("RENEW_REFUSED", f"30 ok=0: {renew.get('AF')}")
        if not (renew.get("AH") or "")[:8] > rest_due.replace("-", ""):
            raise Fail("DUE_DATE_MISSING", f"30 AH {renew.get('AH')!r} not after {rest_due}")
    run.hub.checkin(second)


def sip_05(run: Run, sc: Scenario) -> None:
    number, lib, item = run.member()["number"], run.options.library, run.copy()["item"]
    with run.kiosk() as w:
        data = frame(checkout_text(lib, number, item), w.next_seq(), w.encoding)
        first = w.send_bytes(data)
        second = w.send_bytes(data)
    if parse(first, run.options.encoding).fixed.get("ok") != "1":
        raise Fail("UNEXPECTED_REFUSAL", "the first checkout was refused")
    active = [x for x in run.hub.member_loans(number)["items"] if x.get("item") == item]
    if second != first or len(active) != 1 or active[0].get("renewals"):
        raise Fail("DUPLICATE_APPLIED_TWICE", f"second answer {'differs' if second != first else 'same'}; "
                   f"{len(active)} loan(s), renewals {[x.get('renewals') for x in active]}")
    run.hub.checkin(item)


def sip_06(run: Run, sc: Scenario) -> None:
    number, lib, item = run.member()["number"], run.options.library, run.copy()["item"]
    with run.kiosk() as w:
        w.log.clear()
        status_line = w.send_bytes(_frame_lower(w, "9900802.00", lower=False))
        status = parse(status_line, w.encoding)
        if status.checksum_ok is None:
            raise Skip("error detection is off for this terminal (no AY/AZ in replies)")
        if not status.checksum_ok:
            raise Fail("CHECKSUM_WRONG", f"98 ends {status_line[-8:]!r}")
        data = bytearray(_frame_lower(w, checkout_text(lib, number, item), lower=False))
        data[-2] = ord("0") if data[-2] != ord("0") else ord("1")  # spoil the checksum
        bad = parse(w.send_bytes(bytes(data)), w.encoding)
        if bad.code != "96":
            raise Fail("BAD_CHECKSUM_NOT_REJECTED", f"answered {bad.code}, not 96")
        lower = parse(w.send_bytes(_frame_lower(w, "9900802.00", lower=True)), w.encoding)
        if lower.code != "98":
            raise Fail("LOWERCASE_CHECKSUM_REFUSED", f"answered {lower.code}")
    if run.hub.copy(item).get("on_loan"):
        raise Fail("BAD_CHECKSUM_NOT_REJECTED", "the request with a bad checksum was applied")


def _frame_lower(w: Wire, text: str, *, lower: bool) -> bytes:
    data = text.encode(w.encoding) + f"AY{w.next_seq()}AZ".encode()
    digits = checksum(data)
    return data + (digits.lower() if lower else digits).encode() + b"\r"


def sip_07(run: Run, sc: Scenario) -> None:
    number, lib, item = run.member()["number"], run.options.library, run.copy()["item"]
    other = run.peer or ("999999" if lib != "999999" else "999998")
    with run.kiosk() as w:
        reply = expect(w.ask(checkout_text(lib, number, item, ao=other)), "12")
    if reply.fixed["ok"] != "0" or run.hub.copy(item).get("on_loan"):
        raise Fail("FOREIGN_AO_ACCEPTED", f"checkout with AO={other} was applied")
    if reply.get("AO") != lib:
        raise Fail("REPLY_AO_WRONG", f"reply AO = {reply.get('AO')!r}")


def sip_08(run: Run, sc: Scenario) -> None:
    member, lib = run.member(), run.options.library
    with run.kiosk() as w:
        try:
            reply = patron_info(w, lib, member["number"])
        except Malformed as exc:
            raise Fail("NAME_GARBLED", str(exc)) from None
    name, shown = member["name"], reply.get("AE") or ""
    try:
        name.encode(run.options.encoding)
        garbled = shown != name
    except UnicodeEncodeError:  # e.g. cp850: no Hangul, one substitute per character
        garbled = len(shown) != len(name) or shown[-1:] != name[-1:]
    if garbled:
        raise Fail("NAME_GARBLED", f"AE has {len(shown)} characters, not the name registered "
                   f"({len(name)}); encoding {run.options.encoding}")
    if reply.checksum_ok is False:
        raise Fail("CHECKSUM_OVER_CHARACTERS", "the 64 with a Korean name fails its checksum")


def item_info_text(lib: str, item: str) -> str:
    return f"17{sip_now()}AO{lib}|AB{item}|AC|"


def _same_item(value: str | None, item: str) -> bool:
    return (value or "").lstrip("$") == item.lstrip("$")


def sip_09(run: Run, sc: Scenario) -> None:
    number, lib, item = run.member()["number"], run.options.library, run.copy()["item"]
    with run.kiosk() as w:
        shelf = expect(w.ask(item_info_text(lib, item)), "18")
        if shelf.fixed["circulation_status"] != "03" or not _same_item(shelf.get("AB"), item):
            raise Fail("ITEM_STATUS_WRONG", f"a copy on the shelf: status "
                       f"{shelf.fixed['circulation_status']}, AB {shelf.get('AB')!r}")
        run.hub.checkout(number, item)
        lent = expect(w.ask(item_info_text(lib, item)), "18")
        if lent.fixed["circulation_status"] != "04" or not re.fullmatch(DATE, lent.get("AH")
                                                                         or ""):
            raise Fail("ITEM_STATUS_WRONG", f"a copy on loan: status "
                       f"{lent.fixed['circulation_status']}, AH {lent.get('AH')!r}")
        try:
            nothing = w.ask(item_info_text(lib, f"${lib}ZX9999999999"))
        except Malformed as exc:
            raise Fail("UNKNOWN_ITEM_NO_REPLY", str(exc)) from None
    problems = check_response(nothing, "18")
    if problems or nothing.fixed.get("circulation_status") != "01":
        raise Fail("UNKNOWN_ITEM_NO_REPLY", "; ".join(problems) or
                   f"status {nothing.fixed.get('circulation_status')} for an unknown item")
    run.hub.checkin(item)


def sip_10(run: Run, sc: Scenario) -> None:
    number, lib = run.member()["number"], run.options.library
    items = [run.copy()["item"], run.copy()["item"]]
    if int(run.policy.get("renewals_allowed", 1)) < 1:
        raise Skip("this library's policy allows no renewals")
    yesterday = at_noon(seoul_day(run.hub_now) - timedelta(days=1))
    due = {item: loan_of(run.hub.checkout(number, item, occurred_at=yesterday,
                                          offline=True))["due_on"] for item in items}
    with run.kiosk() as w:
        reply = expect(w.ask(f"65{sip_now()}AO{lib}|AA{number}|AC|"), "66")
    if reply.fixed["ok"] != "1":
        raise Fail("RENEW_ALL_REFUSED", f"66 ok=0: {reply.get('AF')}")
    renewed = reply.fields.get("BM", [])
    if (int(reply.fixed["renewed_count"]) != 2 or int(reply.fixed["unrenewed_count"]) != 0
            or sorted(x.lstrip("$") for x in renewed) != sorted(x.lstrip("$") for x in items)):
        raise Fail("RENEWED_COUNT_WRONG", f"renewed {reply.fixed['renewed_count']} "
                   f"({len(renewed)} BM), unrenewed {reply.fixed['unrenewed_count']}")
    now = {x.get("item"): x.get("due_on") for x in run.hub.member_loans(number)["items"]
           if x.get("state") == "active"}
    if any(not now.get(item) or now[item] <= due[item] for item in items):
        raise Fail("RENEWED_COUNT_WRONG", f"due dates {due} -> {now} after 66 ok=1")
    for item in items:
        run.hub.checkin(item)


def sip_11(run: Run, sc: Scenario) -> None:
    number, lib = run.member()["number"], run.options.library
    with run.kiosk() as w:
        reply = expect(w.ask(f"35{sip_now()}AO{lib}|AA{number}|AC|"), "36")
    if reply.fixed["end_session"] != "Y" or reply.get("AA") != number:
        raise Fail("SESSION_NOT_ENDED", f"36 end session {reply.fixed['end_session']}, AA "
                   f"{'echoed' if reply.get('AA') == number else 'not echoed'}")
    if reply.get("AO") != lib:
        raise Fail("MALFORMED_ANSWER", f"36 AO = {reply.get('AO')!r}")


def sip_12(run: Run, sc: Scenario) -> None:
    holder, reserver = run.member()["number"], run.member()["number"]
    lib, item = run.options.library, run.copy()["item"]
    with run.kiosk() as w:
        status = expect(w.ask("9900802.00"), "98")
        if (status.get("BX") or "N" * 16)[BX_ORDER.index("15")] != "Y":
            raise Skip("the kiosk port does not offer holds (98 BX says N for 15)")
        run.hub.checkout(holder, item)
        placed = expect(w.ask(f"15+{sip_now()}AO{lib}|AA{reserver}|AB{item}|AC|"), "16")
        if placed.fixed["ok"] != "1":
            raise Fail("HOLD_REFUSED", f"16 ok=0: {placed.get('AF')}")
        if placed.get("BR") != "1" or placed.get("BS") != lib:
            raise Fail("HOLD_QUEUE_WRONG", f"BR {placed.get('BR')!r}, BS {placed.get('BS')!r}")
        cancelled = expect(w.ask(f"15-{sip_now()}AO{lib}|AA{reserver}|AB{item}|AC|"), "16")
        if cancelled.fixed["ok"] != "1":
            raise Fail("HOLD_CANCEL_REFUSED", f"16 ok=0: {cancelled.get('AF')}")
    run.hub.checkin(item)


def sip_13(run: Run, sc: Scenario) -> None:
    number, lib = run.member()["number"], run.options.library
    with run.kiosk() as w:
        status = expect(w.ask("9900802.00"), "98")
        if (status.get("BX") or "N" * 16)[BX_ORDER.index("01")] != "Y":
            raise Skip("the kiosk port does not offer block patron (98 BX says N for 01)")
        try:
            reply = expect(w.ask(f"01N{sip_now()}AO{lib}|AL적합성 검사|AA{number}|AC|"),
                           "24")
        finally:
            lost = bool(run.hub.member(number).get("card_lost"))
            if lost:
                run.hub.lift_card_lost(number)
    if not lost:
        raise Fail("BLOCK_NOT_APPLIED", "after 01 the hub does not show the card as lost")
    if reply.fixed["patron_status"][4] != "Y":
        raise Fail("BLOCK_NOT_SHOWN", f"24 patron status {reply.fixed['patron_status']!r}")


# -- against a library connector ------------------------------------------------------------
UPLINK = "/connector/acceptance/uplink"
CONNECTOR_WAIT = 60.0  # seconds for a replay or a delivery to happen


def _poll(probe: Callable[[], object], timeout: float = CONNECTOR_WAIT) -> object:
    """Call `probe` until it returns something true (or the time is up: the last value)."""
    deadline = monotonic() + timeout
    while True:
        value = probe()
        if value or monotonic() > deadline:
            return value
        sleep(0.3)


def _queue_depth(run: Run) -> int:
    status = run.connector_status()
    if status is None:
        raise Fail("MALFORMED_ANSWER", "GET /connector/status no longer answers")
    return int(status["queue_depth"])


def _desk(run: Run, path: str, body: dict, key: str):  # noqa: ANN202
    return run.hub.send(Call("POST", path, json=body, idempotency_key=key), retry=False)


def conn_01(run: Run, sc: Scenario) -> None:
    member = run.member()["number"]
    lent, returned = run.copy()["item"], run.copy()["item"]
    run.hub.checkout(member, returned)  # online, before the outage
    switched = run.local("POST", UPLINK, {"state": "down", "seconds": 120})
    if switched.status_code != 200:
        raise Fail("SWITCH_UNAVAILABLE", f"{switched.status_code} {switched.text[:300]}")
    try:
        key = new_key()
        out = _desk(run, "/circulation/checkout", {"member": member, "item": lent}, key)
        body = out.json() if out.status == 202 else {}
        if not body.get("accepted_offline"):
            raise Fail("OFFLINE_NOT_ACCEPTED", f"checkout while the hub is unreachable: "
                       f"{out.status} {out.content[:300]!r}")
        if not (body.get("loan") or {}).get("due_on"):
            raise Fail("DUE_DATE_MISSING", "the offline checkout answer has no loan.due_on")
        depth = _queue_depth(run)
        again = _desk(run, "/circulation/checkout", {"member": member, "item": lent}, key)
        if again.status != 202 or _queue_depth(run) != depth:
            raise Fail("QUEUED_TWICE", f"resend answered {again.status}; queue depth "
                       f"{depth} -> {_queue_depth(run)}")
        back = _desk(run, "/circulation/checkin", {"item": returned}, new_key())
        if back.status != 202:
            raise Fail("OFFLINE_NOT_ACCEPTED", f"checkin while the hub is unreachable: "
                       f"{back.status} {back.content[:300]!r}")
    finally:
        run.local("POST", UPLINK, {"state": "up"})
    if not _poll(lambda: _queue_depth(run) == 0):
        raise Fail("NOT_REPLAYED", f"{_queue_depth(run)} write(s) still queued "
                   f"{CONNECTOR_WAIT:.0f} s after the hub came back")
    loans = run.hub.member_loans(member, history=True)["items"]
    mine = [x for x in loans if _same_item(x.get("item"), lent)]
    if not mine:
        raise Fail("REPLAY_LOST", "the offline checkout never reached the hub")
    if len(mine) > 1:
        raise Fail("REPLAY_APPLIED_TWICE", f"{len(mine)} loans for one offline checkout")
    if mine[0].get("state") != "active" or not mine[0].get("offline"):
        raise Fail("REPLAY_NOT_FLAGGED", f"state {mine[0].get('state')!r}, offline "
                   f"{mine[0].get('offline')!r}")
    if [x.get("state") for x in loans if _same_item(x.get("item"), returned)] != ["returned"]:
        raise Fail("REPLAY_LOST", "the offline return never reached the hub")
    run.hub.checkin(lent)


def conn_02(run: Run, sc: Scenario) -> None:
    adapters = [a for a in run.local("GET", "/connector/adapters").json()["adapters"]
                if "events" in a.get("capabilities", [])]
    if not adapters:
        raise Skip("the connector has no adapter with the events capability")
    member, item = run.member()["number"], run.copy()["item"]
    cursor = feed_end(run)
    event = None
    if run.peer:  # a 타관반납: this library's copy comes back at the peer
        run.hub.checkout(member, item)
        try:
            transit = run.hub.sandbox_peer("checkin", item=item)["result"].get("transit_id")
        except HubError as exc:
            if exc.code != "RETURN_NOT_ALLOWED_HERE":
                raise
            transit = None
        if transit:
            events, _ = feed_since(run, cursor)
            event = next((e for e in events if e["kind"] == "transit.addressed"
                          and e["payload"].get("transit_id") == transit), None)
    if event is None:
        run.hub.report_card_lost(member)
        run.hub.lift_card_lost(member)
        events, _ = feed_since(run, cursor)
        event = next((e for e in events if e["kind"] == "member.card_lost"
                      and e["payload"].get("member") == member), None)
    if event is None:
        raise Fail("EVENT_NOT_DELIVERED", "the hub's feed (read through the connector) has "
                   "no event for the step")
    for adapter in adapters:
        path = f"/connector/adapters/{adapter['name']}/events/{event['position']}"

        def check(path: str = path) -> dict:
            r = run.local("GET", path)
            return r.json() if r.status_code == 200 else {}

        seen = _poll(lambda check=check: (a := check()).get("passed") and a) or check()
        if not seen.get("passed"):
            raise Fail("EVENT_NOT_DELIVERED", f"adapter {adapter['name']}: feed cursor "
                       f"{seen.get('cursor')} < event {event['position']} ({event['kind']}) "
                       f"after {CONNECTOR_WAIT:.0f} s")
        if not seen.get("checkable"):
            continue  # delivered and acknowledged; the library system cannot be asked
        stored = seen.get("stored")
        if stored is None:
            raise Fail("EVENT_NOT_STORED", f"adapter {adapter['name']}: event "
                       f"{event['position']} ({event['kind']}) passed but not in the library "
                       "system")
        if stored.get("kind") != event["kind"] or stored.get("payload") != event["payload"]:
            raise Fail("EVENT_ALTERED", f"adapter {adapter['name']}: stored "
                       f"{stored.get('kind')!r}, expected {event['kind']!r} and its payload")


CHECKS: dict[str, Callable[[Run, Scenario], None]] = {
    "REST-01": rest_01, "REST-02": rest_02, "REST-03": rest_03, "REST-04": rest_04,
    "REST-05": rest_05, "REST-06": rest_06, "REST-07": rest_07, "REST-08": rest_08,
    "REST-09": rest_09, "REST-10": rest_10, "REST-11": rest_11, "REST-12": rest_12,
    "REST-13": rest_13, "REST-14": rest_14, "REST-15": rest_15, "REST-16": rest_16,
    "SIP-01": sip_01, "SIP-02": sip_02, "SIP-03": sip_03, "SIP-04": sip_04,
    "SIP-05": sip_05, "SIP-06": sip_06, "SIP-07": sip_07, "SIP-08": sip_08,
    "SIP-09": sip_09, "SIP-10": sip_10, "SIP-11": sip_11, "SIP-12": sip_12,
    "SIP-13": sip_13,
    "CONN-01": conn_01, "CONN-02": conn_02,
}
