"""Connector config parsing and the offline checkout gate (no network)."""

from __future__ import annotations

from datetime import date

import pytest

from chaekieum.connector.config import ConfigProblems, OfflinePolicy, parse
from chaekieum.connector.snapshot import Snapshot
from chaekieum.connector.store import Store

GOOD = {"hub_url": "https://hub.example", "library": "111001", "api_key": "ck_abc_def",
        "listen": "0.0.0.0:8700", "data_dir": "/tmp/x", "offline_policy": "allow:2",
        "tokens": {"desk-1": "0123456789abcdef"}, "adapters": [{"type": "manual"}]}


def test_good_config_parses() -> None:
    config = parse(GOOD)
    assert (config.host, config.port, config.offline_policy) == ("0.0.0.0", 8700,
                                                                 OfflinePolicy(2))
    assert [name for name, _ in config.adapters] == ["manual"]


def test_every_problem_is_reported_once() -> None:
    bad = GOOD | {"library": "abc", "listen": "8700", "tokens": {"d": "short"},
                  "forward_timeout": -1, "adapters": [{"type": "mock", "options": {"x": 1}},
                                                      {"type": "manual", "name": "mock"}]}
    with pytest.raises(ConfigProblems) as caught:
        parse(bad)
    problems = caught.value.problems
    assert [p.split(":")[0] for p in problems] == [
        "library", "listen", "tokens.d", "adapters[1] (mock)", "adapters[2].name",
        "forward_timeout"]


PAGE = {"library": {"code": "111001", "closed_weekdays": [0], "closed_dates": ["2026-03-19"],
                    "policies": {"": {"shared_loan_limit": 3, "library_loan_limit": 3,
                                      "loan_period_days": 14}}},
        "members": [
            {"number": "S", "blocked": "MEMBER_SUSPENDED", "until": "2026-03-10",
             "member_class": "정회원", "on_loan": None, "here": None, "overdue": None},
            {"number": "L", "blocked": None, "until": None, "member_class": "정회원",
             "on_loan": 2, "here": 0, "overdue": 0},
            {"number": "Z", "blocked": None, "until": None, "member_class": "정회원",
             "on_loan": None, "here": None, "overdue": None},
            {"number": "B", "blocked": "MEMBER_BARRED_HERE", "until": None,
             "member_class": "정회원", "on_loan": 1, "here": 0, "overdue": 0}]}


def test_checkout_gate_uses_the_domain_rules(tmp_path) -> None:  # noqa: ANN001
    store = Store(tmp_path / "c.db")
    snap = Snapshot(store)
    snap.apply_page(PAGE, 1)
    today = date(2026, 3, 5)  # Thursday; +14 = Thu 19th is closed -> Fri 20th
    refuse = OfflinePolicy()
    suspended = snap.checkout_gate("S", refuse, today)
    assert not suspended.allowed and suspended.reasons[0].code == "MEMBER_SUSPENDED"
    assert snap.checkout_gate("S", refuse, date(2026, 3, 11)).allowed  # it ended
    ok = snap.checkout_gate("L", refuse, today)
    assert ok.allowed and ok.due_on == date(2026, 3, 20)
    # one offline loan queued: the member is at the shared limit of 3
    store.enqueue(kind="checkout", path="/circulation/checkout", body={}, idem_key="k1",
                  origin="d", occurred_at=None, attempted=False, member="L", item="$1",
                  answer={})
    full = snap.checkout_gate("L", refuse, today)
    assert [r.code for r in full.reasons] == ["SHARED_LIMIT_REACHED"]
    # its return, queued too, frees the slot
    store.enqueue(kind="checkin", path="/circulation/checkin", body={}, idem_key="k2",
                  origin="d", occurred_at=None, attempted=False, member=None, item="$1",
                  answer={})
    assert snap.checkout_gate("L", refuse, today).allowed
    # unknown members (Z tells nothing): the offline policy
    assert snap.checkout_gate("Z", refuse, today).reasons[0].code == \
        "OFFLINE_MEMBER_UNVERIFIED"
    assert snap.member("Z") is None
    assert snap.checkout_gate("nobody", OfflinePolicy(1), today).allowed
    # barred by this library (its own status, in its snapshot): refused offline too
    barred = snap.checkout_gate("B", refuse, today)
    assert [r.code for r in barred.reasons] == ["MEMBER_BARRED_HERE"]
    store.close()


def test_a_pass_of_own_members_keeps_the_blocks_of_others(tmp_path) -> None:  # noqa: ANN001
    """After a full pass of everything, a pass of own members only forgets own members it
    no longer sees (and their counts) but keeps other libraries' blocked members; the next
    pass of everything forgets what it no longer sees."""
    store = Store(tmp_path / "c.db")
    snap = Snapshot(store)
    snap.apply_page(PAGE, 1)
    snap.finish_full_pass(1, "2026-03-05T00:00:00Z")
    own_pass = {"members": [{"number": "M", "blocked": None, "until": None,
                             "member_class": "정회원", "on_loan": 1, "here": 1, "overdue": 0}]}
    snap.apply_page(own_pass, 2)
    snap.finish_full_pass(2, "2026-03-05T00:15:00Z", own_only=True)
    assert snap.member("S")["blocked"] == "MEMBER_SUSPENDED"  # another library's block kept
    assert snap.member("L") is None  # no longer ours, not blocked: forgotten
    assert snap.member("M")["on_loan"] == 1
    assert store.get_meta("snapshot_all_at") is not None
    # an own member that is also blocked and leaves: the block stays, the counts go
    snap.apply_page({"members": [{"number": "B", "blocked": "CARD_LOST", "until": None,
                                  "member_class": "정회원", "on_loan": 0, "here": 0,
                                  "overdue": 0}]}, 2)
    snap.apply_page(own_pass, 3)
    snap.finish_full_pass(3, "2026-03-05T00:30:00Z", own_only=True)
    assert (snap.member("B")["blocked"], snap.member("B")["on_loan"]) == ("CARD_LOST", None)
    # a pass of everything that no longer sees S: S is forgotten
    snap.apply_page(own_pass, 4)
    snap.finish_full_pass(4, "2026-03-06T00:00:00Z")
    assert snap.member("S") is None and snap.member("B") is None
    store.close()
