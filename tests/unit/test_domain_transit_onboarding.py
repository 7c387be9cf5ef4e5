"""The two state machines of the domain: 타관반납 transit (docs/domain.md section 5:
received (반납) -> sent (발송) -> back home (복귀)) and joining the network (section 7:
suitability check -> vendor selection -> application -> registration -> build and
integration -> final test and training -> pilot -> service launch)."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chaekieum.domain import onboarding, transit
from chaekieum.domain.errors import Code, DomainError
from chaekieum.domain.onboarding import ORDER, Stage, advance, allowed_next, can_circulate
from chaekieum.domain.transit import TRANSITIONS, TransitState, next_state

# --- transit ------------------------------------------------------------------------------

TRANSIT_ACTIONS = ["send", "arrive"]
TRANSIT_ALLOWED = {
    ("received", "send"): "sent",
    ("sent", "arrive"): "home",
    # The owning library may scan a copy in even if the receiving library never marked it
    # as sent: the copy is home either way.
    ("received", "arrive"): "home",
}


def test_transit_states():
    assert [str(s) for s in TransitState] == ["received", "sent", "home"]


def test_transit_labels_cover_every_state():
    assert transit.LABELS == {"received": "반납 접수", "sent": "발송", "home": "복귀"}


def test_transition_table_matches_the_spec():
    table = {
        (str(state), action): str(nxt)
        for state, actions in TRANSITIONS.items()
        for action, nxt in actions.items()
    }
    assert table == TRANSIT_ALLOWED


@pytest.mark.parametrize(("state", "action"), list(TRANSIT_ALLOWED))
def test_allowed_transit_transitions(state, action):
    result = next_state(state, action)
    assert result == TRANSIT_ALLOWED[(state, action)]
    assert isinstance(result, TransitState)


def test_the_full_journey():
    state = "received"
    for action in ("send", "arrive"):
        state = next_state(state, action)
    assert state is TransitState.HOME


REFUSED_TRANSIT = [
    (state, action)
    for state, action in itertools.product([str(s) for s in TransitState],
                                           [*TRANSIT_ACTIONS, "receive", "return", "", "SEND"])
    if (state, action) not in TRANSIT_ALLOWED
]


@pytest.mark.parametrize(("state", "action"), REFUSED_TRANSIT)
def test_refused_transit_transitions(state, action):
    with pytest.raises(DomainError) as err:
        next_state(state, action)
    assert err.value.code is Code.TRANSIT_BAD_STATE
    assert err.value.details == {"state": state, "action": action}


def test_home_is_final():
    for action in TRANSIT_ACTIONS:
        with pytest.raises(DomainError):
            next_state("home", action)


def test_a_copy_cannot_be_sent_twice():
    with pytest.raises(DomainError):
        next_state(next_state("received", "send"), "send")


def test_transit_accepts_enum_members():
    assert next_state(TransitState.RECEIVED, "send") is TransitState.SENT


def test_unknown_transit_state_is_not_silently_accepted():
    # A corrupt stored state is a programming error; it must never yield a next state.
    with pytest.raises((DomainError, ValueError)):
        next_state("lost", "arrive")


@given(st.lists(st.sampled_from(TRANSIT_ACTIONS), max_size=6))
def test_any_action_sequence_moves_forward_only(actions):
    rank = {"received": 0, "sent": 1, "home": 2}
    state = TransitState.RECEIVED
    for action in actions:
        try:
            nxt = next_state(state, action)
        except DomainError:
            continue
        assert rank[nxt] > rank[state]
        state = nxt


# --- onboarding ---------------------------------------------------------------------------

SPEC_ORDER = [
    "suitability_check", "vendor_selection", "application", "registered", "building",
    "final_test", "pilot", "live",
]
ALL_STAGES = [str(s) for s in Stage]


def expected_next(stage: str) -> set[str]:
    if stage == "live":
        return {"suspended"}
    if stage == "suspended":
        return {"live"}
    if stage == "on_hold":  # back to the stage it was held at: none known here
        return {"withdrawn"}
    if stage == "withdrawn":
        return set()
    return {SPEC_ORDER[SPEC_ORDER.index(stage) + 1], "on_hold", "withdrawn"}


def test_stages_follow_the_seed_order():
    assert [str(s) for s in ORDER] == SPEC_ORDER
    assert set(ALL_STAGES) == {*SPEC_ORDER, "suspended", "on_hold", "withdrawn"}


def test_onboarding_labels_cover_every_stage():
    assert set(onboarding.LABELS) == set(Stage)
    assert onboarding.LABELS[Stage.SUITABILITY] == "사전 영향성 검토"
    assert onboarding.LABELS[Stage.VENDOR] == "사업자 선정"
    assert onboarding.LABELS[Stage.PILOT] == "시범운영"
    assert onboarding.LABELS[Stage.LIVE] == "서비스 개시"
    assert all(onboarding.LABELS.values())


@pytest.mark.parametrize("stage", ALL_STAGES)
def test_allowed_next(stage):
    assert {str(s) for s in allowed_next(stage)} == expected_next(stage)


ALLOWED_PAIRS = [(a, b) for a in ALL_STAGES for b in ALL_STAGES if b in expected_next(a)]
REFUSED_PAIRS = [(a, b) for a in ALL_STAGES for b in ALL_STAGES if b not in expected_next(a)]


def test_every_pair_is_classified():
    assert len(ALLOWED_PAIRS) + len(REFUSED_PAIRS) == len(ALL_STAGES) ** 2
    # seven steps forward (each also to hold or withdrawal), live <-> suspended,
    # on hold -> withdrawn
    assert len(ALLOWED_PAIRS) == 7 * 3 + 2 + 1


@pytest.mark.parametrize(("current", "target"), ALLOWED_PAIRS)
def test_allowed_onboarding_steps(current, target):
    result = advance(current, target, reason="사유")
    assert result == target and isinstance(result, Stage)


@pytest.mark.parametrize(("current", "target"), REFUSED_PAIRS)
def test_refused_onboarding_steps(current, target):
    with pytest.raises(DomainError) as err:
        advance(current, target)
    assert err.value.code is Code.ONBOARDING_BAD_STEP
    assert err.value.details == {
        "current": current,
        "target": target,
        "allowed": sorted(expected_next(current)),
    }


def test_no_skipping_straight_to_live():
    with pytest.raises(DomainError):
        advance("application", "live")


def test_no_going_back():
    with pytest.raises(DomainError):
        advance("pilot", "building")


def test_only_a_live_library_can_be_suspended():
    for stage in SPEC_ORDER[:-1]:
        with pytest.raises(DomainError):
            advance(stage, "suspended")
    assert advance("live", "suspended") is Stage.SUSPENDED
    assert advance("suspended", "live") is Stage.LIVE


@pytest.mark.parametrize("target", ["", "LIVE", "launched", "서비스 개시"])
def test_unknown_target_stage(target):
    with pytest.raises(DomainError) as err:
        advance("pilot", target)
    assert err.value.code is Code.ONBOARDING_BAD_STEP
    assert err.value.details == {"target": target}


def test_unknown_current_stage_is_not_silently_accepted():
    with pytest.raises((DomainError, ValueError)):
        advance("nowhere", "vendor_selection")


def test_the_whole_path_to_launch():
    stage = Stage.SUITABILITY
    for target in SPEC_ORDER[1:]:
        stage = advance(stage, target)
    assert stage is Stage.LIVE and can_circulate(stage)


@pytest.mark.parametrize("stage", ALL_STAGES)
def test_only_pilot_and_live_libraries_circulate(stage):
    assert can_circulate(stage) is (stage in ("pilot", "live"))


@given(st.lists(st.sampled_from(ALL_STAGES), max_size=12))
def test_random_walk_stays_on_the_path(targets):
    stage = "suitability_check"
    for target in targets:
        try:
            nxt = advance(stage, target)
        except DomainError:
            continue
        assert str(nxt) in expected_next(stage)
        stage = str(nxt)
    if stage == "suspended":
        assert not can_circulate(stage)


# --- onboarding as data: parties, hold/resume, checklists, gates --------------------------
from datetime import date, datetime, timedelta  # noqa: E402

from chaekieum.domain.onboarding import (  # noqa: E402
    RESPONSIBLE,
    Party,
    ReportFacts,
    Rules,
    SystemFacts,
    launch_gate,
    overdue,
    pilot_gate,
)


def test_every_stage_has_a_responsible_party():
    assert set(RESPONSIBLE) == set(Stage)
    assert RESPONSIBLE[Stage.REGISTERED] is Party.NATIONAL
    assert RESPONSIBLE[Stage.BUILDING] is Party.VENDOR
    assert RESPONSIBLE[Stage.TESTING] is Party.REGIONAL_CENTER
    assert RESPONSIBLE[Stage.SUITABILITY] is Party.LIBRARY


def test_hold_needs_a_reason_and_resumes_where_it_was_held():
    with pytest.raises(DomainError) as err:
        advance("building", "on_hold", reason="  ")
    assert err.value.code is Code.ONBOARDING_REASON_REQUIRED
    assert advance("building", "on_hold", reason="예산 미확보") is Stage.ON_HOLD
    assert allowed_next("on_hold", held_at="building") == {Stage.BUILDING, Stage.WITHDRAWN}
    assert advance("on_hold", "building", held_at="building") is Stage.BUILDING
    with pytest.raises(DomainError):
        advance("on_hold", "final_test", held_at="building")
    with pytest.raises(DomainError) as err:
        advance("on_hold", "withdrawn", held_at="building")
    assert err.value.code is Code.ONBOARDING_REASON_REQUIRED
    assert allowed_next("withdrawn") == set()


def test_checklists_are_data_with_unique_keys():
    keys = [i.key for items in onboarding.CHECKLISTS.values() for i in items]
    assert len(keys) == len(set(keys)) == len(onboarding.ITEMS)
    assert {"equipment.rfid_pad", "rules.numbering", "application.survey"} <= set(keys)
    with pytest.raises(DomainError) as err:
        onboarding.checklist_item("equipment.teleporter")
    assert err.value.code is Code.ONBOARDING_UNKNOWN_ITEM


NOW = datetime(2026, 3, 4, 1, 0)
RULES = Rules(report_max_age_days=30, launch_notice_days=14, pilot_min_days=14)
TICKED = [SystemFacts("ILS", True, True)]


@pytest.mark.parametrize(("report", "systems", "code"), [
    (None, TICKED, Code.ONBOARDING_NO_REPORT),
    (ReportFacts("fail", NOW), TICKED, Code.ONBOARDING_REPORT_FAILED),
    (ReportFacts("incomplete", NOW), TICKED, Code.ONBOARDING_REPORT_FAILED),
    (ReportFacts("pass", NOW - timedelta(days=30, seconds=1)), TICKED,
     Code.ONBOARDING_REPORT_STALE),
    (ReportFacts("pass", NOW), [], Code.ONBOARDING_SYSTEMS_OPEN),
    (ReportFacts("pass", NOW), [*TICKED, SystemFacts("kiosk", True, False)],
     Code.ONBOARDING_SYSTEMS_OPEN),
])
def test_pilot_gate_refusals(report, systems, code):
    with pytest.raises(DomainError) as err:
        pilot_gate(RULES, NOW, report, systems)
    assert err.value.code is code


def test_pilot_gate_passes_with_a_fresh_passing_report_and_every_system_ticked():
    pilot_gate(RULES, NOW, ReportFacts("pass", NOW - timedelta(days=30)), TICKED)


D = date(2026, 4, 1)


@pytest.mark.parametrize(("today", "launch", "announced", "pilot", "code"), [
    (D, None, None, D - timedelta(days=30), Code.ONBOARDING_LAUNCH_NOT_ANNOUNCED),
    (D, D, D - timedelta(days=13), D - timedelta(days=30), Code.ONBOARDING_LAUNCH_TOO_SOON),
    (D - timedelta(days=1), D, D - timedelta(days=14), D - timedelta(days=30),
     Code.ONBOARDING_LAUNCH_NOT_YET),
    (D, D, D - timedelta(days=20), D - timedelta(days=13), Code.ONBOARDING_PILOT_TOO_SHORT),
    (D, D, D - timedelta(days=20), None, Code.ONBOARDING_PILOT_TOO_SHORT),
])
def test_launch_gate_refusals(today, launch, announced, pilot, code):
    with pytest.raises(DomainError) as err:
        launch_gate(RULES, today, launch, announced, pilot)
    assert err.value.code is code


def test_launch_gate_passes():
    launch_gate(RULES, D, D, D - timedelta(days=14), D - timedelta(days=14))


def test_overdue_only_when_past_and_not_reached():
    assert overdue(D, D + timedelta(days=1), reached=False)
    assert not overdue(D, D, reached=False)
    assert not overdue(D, D + timedelta(days=1), reached=True)
    assert not overdue(None, D, reached=False)
