"""Until pilot, a library's credentials reach only its sandbox (domain/sandbox.py).

- The conformance kit passes completely, over REST and SIP2, for a library at `building`
  (with the sandbox-only credentials issued for it, and with its ordinary ones), on
  SQLite and PostgreSQL, and leaves no sandbox data and every real table as it was.
- The rule table: every operation that names a member or a copy, for a caller before
  pilot, a sandbox-only caller and a live caller, on real and on sandbox targets.
- Registration issues the sandbox credentials; from pilot on the library's ordinary
  credentials reach real data, and its sandbox-only ones still do not.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from chaekieum.conformance.runner import Options, run
from chaekieum.domain import sandbox as rules
from chaekieum.domain.errors import Code, DomainError, message
from chaekieum.domain.onboarding import ORDER, Stage
from chaekieum.services import demo
from chaekieum.services.context import SYSTEM, Actor, Role
from chaekieum.store import tables

from ..conftest import LiveServer, free_port
from .apiclient import LibraryClient, library_key

BUILDING = "141099"  # 경기 새내기작은도서관, at `building` in the demo network
LIVE = "111001"


# -- the pure rule -------------------------------------------------------------------------
@pytest.mark.parametrize("status", [str(s) for s in Stage])
@pytest.mark.parametrize("environment", rules.ENVIRONMENTS)
def test_the_reach_of_every_stage_and_environment(status: str, environment: str) -> None:
    live = environment == "live" and status in ("pilot", "live")
    assert rules.reach(environment, status) == (rules.Reach.LIVE if live else rules.Reach.SANDBOX)
    lends = status in ("registered", "building", "final_test", "pilot", "live")
    assert rules.may_circulate(status) is lends
    # before registration nobody lends; from registration to final test, sandbox only
    assert ORDER.index(Stage.REGISTERED) == ORDER.index(Stage.APPLICATION) + 1
    rules.require(rules.Reach.SANDBOX, "141099", "141099", "copy")
    rules.require(rules.Reach.LIVE, "141099", None, "copy")
    for other in (None, "111001"):
        with pytest.raises(DomainError) as err:
            rules.require(rules.Reach.SANDBOX, "141099", other, "member")
        assert err.value.code == Code.SANDBOX_ONLY


# -- the kit for a library still building ----------------------------------------------------
def real_tables(hub) -> dict[str, Any]:  # noqa: ANN001
    """Every real row the kit could touch, in full (sandbox rows left out)."""
    t = tables
    with hub.db.read() as conn:
        def rows(query) -> list:  # noqa: ANN001
            return [tuple(r) for r in conn.execute(query).all()]

        real_members = sa.select(t.members.c.id).where(t.members.c.sandbox_of.is_(None))
        return {
            "members": rows(sa.select(t.members).where(t.members.c.sandbox_of.is_(None))
                            .order_by(t.members.c.id)),
            "copies": rows(sa.select(t.copies).where(t.copies.c.sandbox_of.is_(None))
                           .order_by(t.copies.c.id)),
            "memberships": rows(sa.select(t.memberships).where(
                t.memberships.c.member_id.in_(real_members)).order_by(
                    t.memberships.c.member_id, t.memberships.c.library_code)),
            "loans": rows(sa.select(t.loans).order_by(t.loans.c.id)),
            "suspensions": rows(sa.select(t.suspensions).order_by(t.suspensions.c.id)),
            "reservations": rows(sa.select(t.reservations).order_by(t.reservations.c.id)),
            "transits": rows(sa.select(t.transits).order_by(t.transits.c.id)),
            "exceptions": rows(sa.select(t.circulation_exceptions)
                               .order_by(t.circulation_exceptions.c.id)),
            "daily": rows(sa.select(t.daily_circulation).order_by(
                *t.daily_circulation.primary_key.columns)),
            "sandbox": conn.scalar(sa.select(sa.func.count()).select_from(t.members).where(
                t.members.c.sandbox_of.is_not(None))) + conn.scalar(
                sa.select(sa.func.count()).select_from(t.copies).where(
                    t.copies.c.sandbox_of.is_not(None))),
        }


@pytest.fixture
def hub_server(any_hub) -> Iterator[LiveServer]:  # noqa: ANN001
    from chaekieum.server import create_app

    sip2_port = free_port()
    server = LiveServer(create_app(any_hub, sip2_port=sip2_port, with_web=False),
                        free_port()).start()
    server.sip2_port = sip2_port  # type: ignore[attr-defined]
    yield server
    server.stop()


def _kit(server: LiveServer, key: str, login: str, password: str) -> Any:  # noqa: ANN401
    # the whole catalogue: the CONN-* scenarios do not apply to the hub, which leaves
    # the run complete (docs/conformance.md)
    return run(Options(target=server.url, library=BUILDING, key=key, timeout=20,
                       sip2=f"127.0.0.1:{server.sip2_port}",  # type: ignore[attr-defined]
                       terminal=login, password=password))


def _passed(outcome) -> None:  # noqa: ANN001
    failed = {r.scenario.id: (r.status, r.failure_code, r.reason) for r in outcome.results
              if r.status != ("not_applicable" if r.scenario.id.startswith("CONN-") else "pass")}
    assert failed == {}
    assert outcome.exit_code == 0
    assert outcome.cleanup["left"] == {"members": 0, "copies": 0}


def test_the_kit_passes_for_a_library_still_building(any_hub, hub_server) -> None:  # noqa: ANN001
    """With the sandbox-only credentials issued for the library (what its connector
    package carries); on SQLite also with its ordinary credentials, which reach the
    sandbox only as long as it is before pilot."""
    assert any_hub.network.library(BUILDING)["status"] == "building"
    before = real_tables(any_hub)
    issued = any_hub.credentials.issue_sandbox(SYSTEM, BUILDING)
    outcome = _kit(hub_server, issued["api_key"], issued["terminal"]["login"],
                   issued["terminal"]["password"])
    _passed(outcome)
    assert outcome.cleanup["removed"]["loans"] > 30
    assert real_tables(any_hub) == before  # no sandbox row left, no real row touched
    if any_hub.db.is_sqlite:
        login, password = demo.terminal_login(BUILDING)
        _passed(_kit(hub_server, library_key(BUILDING), login, password))
        assert real_tables(any_hub) == before


# -- the rule table, over the API ------------------------------------------------------------
Call = Callable[[LibraryClient, dict[str, str]], Any]


def _ok(r) -> bool:  # noqa: ANN001
    return 200 <= r.status_code < 300


# Every operation that names a member or a copy. Each gets a target: {member, item,
# loan_id} that is real, or the caller's own sandbox. `live_ok`: a live caller on a real
# target (and every caller on its sandbox target) must succeed, not only pass the rule.
OPERATIONS: list[tuple[str, Call, bool]] = [
    ("register", lambda c, t: c.post("/members", {"name": "새회원", "birth_year": 1990}), True),
    ("lookup", lambda c, t: c.get(f"/members/{t['member']}"), True),
    ("update", lambda c, t: c.client.patch(f"/api/v1/members/{t['member']}",
                                           json={"phone": "010-1111-2222"},
                                           headers=c.headers), True),
    ("loans", lambda c, t: c.get(f"/members/{t['member']}/loans"), True),
    ("suspensions", lambda c, t: c.get(f"/members/{t['member']}/suspensions"), True),
    ("card_lost", lambda c, t: c.post(f"/members/{t['member']}/card-lost"), True),
    ("lift_card_lost", lambda c, t: c.post(f"/members/{t['member']}/card-lost/lift"), True),
    ("copy", lambda c, t: c.get(f"/copies/{t['item']}"), True),
    # lent yesterday (an offline replay), so that today's renewal is allowed
    ("checkout", lambda c, t: c.checkout(t["member"], t["item"], offline=True,
                                         client_txn_id=f"co-{t['item']}",
                                         occurred_at="2026-03-03T10:00:00+09:00"), True),
    ("renew", lambda c, t: c.post("/circulation/renew", {"item": t["item"]}), True),
    ("checkin", lambda c, t: c.checkin(t["item"]), True),
    ("undo_checkin", lambda c, t: c.post("/circulation/undo-checkin",
                                         {"loan_id": t["returned_loan"]}), True),
    ("offline_replay", lambda c, t: c.post("/circulation/replay", {"writes": [
        {"kind": "checkin", "body": {"item": t["item"], "offline": True,
                                      "client_txn_id": f"rt-{t['item']}",
                                      "occurred_at": "2026-03-04T10:00:00+09:00"}}]}), True),
    ("checkout_again", lambda c, t: c.checkout(t["member"], t["item"]), True),
    ("reserve_for_other", lambda c, t: c.post("/reservations", {
        "member": t["other"], "item": t["item"]}), True),
    ("undo_checkout", lambda c, t: c.post("/circulation/undo-checkout",
                                          {"loan_id": t["active_loan"]}), True),
    ("bulk_copies", lambda c, t: c.post("/copies/bulk", {"copies": [
        {"registration_number": "EM0000000099", "title": "새 자료"}]}), True),
]


# what has no sandbox form: a real registration (sandbox members come from POST /sandbox)
# and a push of real holdings
ALWAYS_REAL = frozenset({"register", "bulk_copies"})


def _caller(client: TestClient, hub, kind: str) -> LibraryClient:  # noqa: ANN001
    """pre_pilot: a library at building, its ordinary key; sandbox_only: a live library's
    sandbox-only key; live: a live library's ordinary key."""
    c = LibraryClient(client, BUILDING if kind == "pre_pilot" else LIVE)
    if kind == "sandbox_only":
        key = hub.credentials.create_api_key(SYSTEM, "library", LIVE, "sandbox",
                                             environment="sandbox")["api_key"]
        c.headers = {"Authorization": f"Bearer {key}"}
    return c


def _targets(hub, caller: LibraryClient, members: list[str]) -> dict[str, dict]:  # noqa: ANN001
    made = caller.post("/sandbox", {"members": 2, "copies": 1}).json()
    sandbox = {"member": made["members"][0]["number"], "other": made["members"][1]["number"],
               "item": made["copies"][0]["item"]}
    # real: the live library's own member and copy (joined there, so the live caller may
    # change the member); for the library still building the same rows are foreign
    real = {"member": members[0], "other": members[1], "item": f"${LIVE}EM0000000003"}
    return {"real": real, "sandbox": sandbox}


def _walk(caller: LibraryClient, target: dict[str, Any]) -> dict[str, Any]:
    """Each operation in order; on a sandbox target the loans to undo are those of the
    steps before, on a real one real loans of the live library (set up by the test)."""
    answers = {}
    for name, call, _ in OPERATIONS:
        if name == "undo_checkin" and "returned_loan" not in target:
            target["returned_loan"] = answers["checkin"].json()["loan"]["id"]
        if name == "undo_checkout" and "active_loan" not in target:
            target["active_loan"] = answers["checkout_again"].json()["loan"]["id"]
        answers[name] = call(caller, dict(target))
    return answers


@pytest.mark.parametrize("kind", ["pre_pilot", "sandbox_only", "live"])
def test_every_operation_for_every_caller(client, any_hub, members, kind) -> None:  # noqa: ANN001
    caller = _caller(client, any_hub, kind)
    targets = _targets(any_hub, caller, members)
    restricted = kind != "live"
    if restricted:  # real loans, so that renew/checkin/undo could otherwise work
        live = LibraryClient(client, LIVE)
        returned = live.checkout(members[0], f"${LIVE}EM0000000004")
        assert _ok(live.checkin(f"${LIVE}EM0000000004"))
        real_loan = live.checkout(members[0], targets["real"]["item"])
        assert _ok(real_loan), real_loan.text
        targets["real"] |= {"returned_loan": returned.json()["loan"]["id"],
                            "active_loan": real_loan.json()["loan"]["id"]}
    before = real_tables(any_hub) if restricted else None
    for where in ("real", "sandbox") if restricted else ("sandbox", "real"):
        answers = _walk(caller, dict(targets[where]))
        for name, _, must_succeed in OPERATIONS:
            r = answers[name]
            code = r.json().get("code") if r.headers.get("content-type", "").startswith(
                "application/json") else None
            if name == "offline_replay":
                code = (r.json()["results"][0]["body"] or {}).get("code")
            assert r.status_code < 500, (name, r.text)
            if restricted and (where == "real" or name in ALWAYS_REAL):
                assert code == "SANDBOX_ONLY", (kind, where, name, r.status_code, r.text)
                if name != "offline_replay":  # (its refusal is inside a 200 answer)
                    assert r.status_code == 403
                    assert "샌드박스" in r.json()["message"]
            else:
                assert code != "SANDBOX_ONLY", (kind, where, name, r.text)
                if must_succeed:
                    assert _ok(r) and not code, (kind, where, name, r.status_code, r.text)
        if restricted and where == "real":
            assert real_tables(any_hub) == before  # refused means untouched
    # lists are filtered to the sandbox, never refused
    snapshot = caller.get("/connector/snapshot").json()
    numbers = {m["number"] for m in snapshot["members"]}
    if restricted:
        assert numbers <= {targets["sandbox"]["member"], targets["sandbox"]["other"]}
    found = {m["number"] for m in caller.get(
        "/members", q=targets["real"]["member"][:8]).json()["items"]}
    assert (targets["real"]["member"] in found) is not restricted
    if restricted:
        assert found <= {targets["sandbox"]["member"], targets["sandbox"]["other"]}


# The kiosks' side of the table (SIP2 on the socket): what a kiosk names, a patron or a
# copy, on a real target and on its library's own sandbox. Each operation has the check of
# its out-of-reach answer and of its ordinary one.
def _refused(reply) -> bool:  # noqa: ANN001
    return "샌드박스" in " ".join(reply.all("AF"))


def _unknown_item(reply) -> bool:  # noqa: ANN001
    """The 18 of a copy the hub does not have (docs/sip2.md trap 10): no title, no owner,
    no due date, status 01 and COPY_UNKNOWN's message; nothing of the real copy."""
    return (reply.code == "18" and reply.fixed["circulation_status"] == "01"
            and reply.get("AJ") == "" and not reply.all("AQ") and not reply.all("AH")
            and reply.all("AF") == [message(Code.COPY_UNKNOWN, "ko")])


def _item_shown(target: dict[str, str], status: str) -> Callable[[Any], bool]:
    return lambda r: (r.code == "18" and r.fixed["circulation_status"] == status
                      and r.get("AJ") == target["title"] and r.get("AQ") == target["owner"]
                      and bool(r.all("AH")) is (status == "04"))


SIP2_OPERATIONS: list[tuple[str, Callable, Callable, Callable]] = [
    # (name, call(sip, target), out of reach?, answered normally?(target))
    ("patron_status", lambda sip, t: sip.patron_status(t["member"]), _refused,
     lambda t: lambda r: r.get("AA") == t["member"] and not _refused(r) and r.get("AE")),
    ("item_information", lambda sip, t: sip.item_info(t["item"]), _unknown_item,
     lambda t: _item_shown(t, "03")),
    ("checkout", lambda sip, t: sip.checkout(t["member"], t["item"]),
     lambda r: r.fixed["ok"] == "0" and _refused(r), lambda t: lambda r: r.fixed["ok"] == "1"),
    ("item_information_lent", lambda sip, t: sip.item_info(t["item"]), _unknown_item,
     lambda t: _item_shown(t, "04")),
]


def test_sip2_for_every_caller(any_hub, hub_server, members) -> None:  # noqa: ANN001
    """A kiosk before pilot, a sandbox-only kiosk and a live kiosk, on a real and on a
    sandbox target: patron status, item information (17) and checkout. Out of reach a
    patron and a checkout are refused with SANDBOX_ONLY's message and a real copy is an
    unknown item; its own sandbox answers as any data does."""
    from chaekieum.sip2.client import Sip2Client

    issued = any_hub.credentials.issue_sandbox(SYSTEM, LIVE)
    kiosks = {"pre_pilot": (BUILDING, *demo.terminal_login(BUILDING)),
              "sandbox_only": (LIVE, issued["terminal"]["login"],
                               issued["terminal"]["password"]),
              "live": (LIVE, *demo.terminal_login(LIVE))}
    real_item = f"${LIVE}EM0000000005"  # lent only by the live kiosk, the last one
    real = {"member": members[0], "item": real_item, "owner": LIVE,
            "title": any_hub.copies.get(SYSTEM, real_item)["title"]}
    for kind, (code, login, password) in kiosks.items():
        made = any_hub.sandbox.create(Actor(Role.LIBRARY_SYSTEM, f"key:{code}", "api",
                                            library_code=code), 1, 1)
        sandbox = {"member": made["members"][0]["number"], "item": made["copies"][0]["item"],
                   "owner": code, "title": made["copies"][0]["title"]}
        restricted = kind != "live"
        with Sip2Client("127.0.0.1", hub_server.sip2_port,  # type: ignore[attr-defined]
                        institution=code) as sip:
            assert sip.login(login, password)
            for where, target in (("real", real), ("sandbox", sandbox)):
                before = real_tables(any_hub)
                for name, call, out_of_reach, normal in SIP2_OPERATIONS:
                    reply = call(sip, target)
                    if restricted and where == "real":
                        assert out_of_reach(reply), (kind, where, name, reply)
                    else:
                        assert normal(target)(reply), (kind, where, name, reply)
                        assert not out_of_reach(reply), (kind, where, name, reply)
                if restricted and where == "real":
                    assert real_tables(any_hub) == before  # refused means untouched


def test_registration_issues_sandbox_credentials_and_pilot_opens_real_data(
        client, any_hub, admin, members) -> None:  # noqa: ANN001
    r = admin.post("/libraries", {"code": "141077", "name": "경기 시험도서관",
                                  "region_code": "gyeonggi", "center_id": 6,
                                  "closed_weekdays": [0], "status": "application"})
    assert r.status_code == 201, r.text
    moved = admin.post("/libraries/141077/onboarding/transitions",
                       {"stage": "registered", "reason": "도서관부호 부여"}).json()
    issued = moved["sandbox_credentials"]
    assert issued["environment"] == "sandbox" and issued["api_key"].startswith("ck_")
    terminals = admin.get("/libraries/141077/terminals").json()["items"]
    assert [(t["login"], t["environment"]) for t in terminals] == [
        (issued["terminal"]["login"], "sandbox")]
    keys = admin.get("/libraries/141077/api-keys").json()["items"]
    assert [k["environment"] for k in keys] == ["sandbox"]
    # the next move issues nothing
    assert admin.post("/libraries/141077/onboarding/transitions",
                      {"stage": "building"}).json().get("sandbox_credentials") is None
    sandbox_key = LibraryClient(client, "141077")
    sandbox_key.headers = {"Authorization": f"Bearer {issued['api_key']}"}
    ordinary = LibraryClient(client, "141077")
    ordinary.headers = {"Authorization": "Bearer " + any_hub.credentials.create_api_key(
        SYSTEM, "library", "141077", "ILS")["api_key"]}
    made = sandbox_key.post("/sandbox", {"members": 1, "copies": 1}).json()
    assert _ok(sandbox_key.checkout(made["members"][0]["number"], made["copies"][0]["item"]))
    for who in (sandbox_key, ordinary):
        assert who.get(f"/members/{members[0]}").json()["code"] == "SANDBOX_ONLY"
    # pilot (its gate is test_onboarding.py's; here the stage is set as an admin would)
    with any_hub.db.write() as conn:
        conn.execute(sa.update(tables.libraries).where(tables.libraries.c.code == "141077")
                     .values(status="pilot"))
    any_hub.registry.invalidate()
    assert ordinary.get(f"/members/{members[0]}").status_code == 200
    assert sandbox_key.get(f"/members/{members[0]}").json()["code"] == "SANDBOX_ONLY"
    r = sandbox_key.checkout(members[0], "$141077EM0000000001")
    assert r.json()["code"] == "SANDBOX_ONLY"
