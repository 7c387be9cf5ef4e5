"""Circulation decisions (docs/domain.md section 5): checkout, due dates, renewal
(반납연기), return routing (타관반납) and same-day undo.

Every check must gather *every* reason that applies, so a refusal is explained in full.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chaekieum.domain.calendar import LibraryCalendar
from chaekieum.domain.circulation import (
    CopyFacts,
    LoanCounts,
    LoanFacts,
    MemberFacts,
    ReturnRoute,
    can_undo,
    copy_is_here,
    decide_checkout,
    decide_renewal,
    due_date,
    renewed_due_date,
    route_return,
)
from chaekieum.domain.errors import Code, Decision, Reason
from chaekieum.domain.members import MemberStatus
from chaekieum.domain.policy import (
    CLASS_DEFAULTS,
    MemberClass,
    Policy,
    SharingMode,
    resolve,
)

MON, TUE, WED, THU, FRI, SAT, SUN = range(7)
TODAY = date(2026, 3, 4)  # a Wednesday
YESTERDAY = TODAY - timedelta(1)
ACTIVE = MemberFacts(status=MemberStatus.ACTIVE, card_lost=False, suspended_until=None)
FREE = CopyFacts(loanable=True, on_loan=False)
NO_LOANS = LoanCounts(total=0, here=0, overdue=0)
POLICY = Policy()
WARN = Policy(suspension_sharing=SharingMode.WARN)


def codes(decision_or_reasons) -> list[Code]:
    reasons = (
        decision_or_reasons.reasons if isinstance(decision_or_reasons, Decision)
        else decision_or_reasons
    )
    return [r.code for r in reasons]


def checkout(member=ACTIVE, copy=FREE, counts=NO_LOANS, policy=POLICY, today=TODAY) -> Decision:
    return decide_checkout(member, copy, counts, policy, today)


# --- checkout: one reason at a time -------------------------------------------------------

def test_plain_checkout_is_allowed():
    decision = checkout()
    assert decision.allowed
    assert decision.reasons == () and decision.warnings == ()


def test_unknown_member():
    decision = checkout(member=None)
    assert codes(decision) == [Code.MEMBER_UNKNOWN]
    assert not decision.allowed


def test_unknown_member_skips_member_dependent_checks_but_still_checks_the_copy():
    counts = LoanCounts(total=99, here=99, overdue=5)
    decision = checkout(member=None, copy=None, counts=counts)
    assert codes(decision) == [Code.MEMBER_UNKNOWN, Code.COPY_UNKNOWN]


@pytest.mark.parametrize(
    ("status", "code"),
    [(MemberStatus.WITHDRAWN, Code.MEMBER_WITHDRAWN), (MemberStatus.EXPELLED, Code.MEMBER_EXPELLED),
     ("withdrawn", Code.MEMBER_WITHDRAWN), ("expelled", Code.MEMBER_EXPELLED)],
)
def test_withdrawn_and_expelled(status, code):
    assert codes(checkout(member=replace(ACTIVE, status=status))) == [code]


def test_non_member_class_cannot_borrow():
    policy = resolve([CLASS_DEFAULTS[MemberClass.NON_MEMBER]])
    decision = checkout(policy=policy)
    assert codes(decision) == [Code.MEMBER_NOT_ELIGIBLE]


def test_card_reported_lost():
    assert codes(checkout(member=replace(ACTIVE, card_lost=True))) == [Code.CARD_LOST]


def test_suspended_member_is_refused_when_sharing_is_enforced():
    member = replace(ACTIVE, suspended_until=TODAY + timedelta(5))
    decision = checkout(member=member)
    assert codes(decision) == [Code.MEMBER_SUSPENDED]
    assert decision.reasons[0].details == {"until": "2026-03-09"}
    assert decision.warnings == ()


def test_suspension_last_day_still_refuses():
    member = replace(ACTIVE, suspended_until=TODAY)
    assert codes(checkout(member=member)) == [Code.MEMBER_SUSPENDED]


def test_expired_suspension_does_not_refuse():
    member = replace(ACTIVE, suspended_until=YESTERDAY)
    decision = checkout(member=member)
    assert decision.allowed and decision.warnings == ()


def test_warn_only_sharing_gives_a_warning_not_a_refusal():
    member = replace(ACTIVE, suspended_until=TODAY + timedelta(5))
    decision = checkout(member=member, policy=WARN)
    assert decision.allowed
    assert codes(decision.warnings) == [Code.MEMBER_SUSPENDED]
    assert decision.warnings[0].details == {"until": "2026-03-09"}


def test_warn_only_still_refuses_a_suspension_earned_here():
    member = replace(ACTIVE, suspended_until=TODAY + timedelta(5), suspended_here=True)
    decision = checkout(member=member, policy=WARN)
    assert codes(decision) == [Code.MEMBER_SUSPENDED]
    assert decision.warnings == ()


def test_enforce_refuses_suspension_earned_here_too():
    member = replace(ACTIVE, suspended_until=TODAY + timedelta(5), suspended_here=True)
    assert codes(checkout(member=member)) == [Code.MEMBER_SUSPENDED]


def test_overdue_item_refuses_when_policy_says_so():
    decision = checkout(counts=LoanCounts(total=2, here=1, overdue=1))
    assert codes(decision) == [Code.MEMBER_HAS_OVERDUE]
    assert decision.reasons[0].details == {"overdue": 1}


def test_overdue_item_allowed_when_policy_does_not_refuse():
    decision = checkout(counts=LoanCounts(total=2, here=1, overdue=1),
                        policy=Policy(refuse_when_overdue=False))
    assert decision.allowed


@pytest.mark.parametrize(("total", "allowed"), [(0, True), (18, True), (19, True), (20, False),
                                                (25, False)])
def test_shared_limit_of_20_refuses_the_21st(total, allowed):
    decision = checkout(counts=LoanCounts(total=total, here=0, overdue=0))
    assert decision.allowed is allowed
    if not allowed:
        assert codes(decision) == [Code.SHARED_LIMIT_REACHED]
        assert decision.reasons[0].details == {"limit": 20, "on_loan": total}


def test_shared_limit_from_policy():
    policy = Policy(shared_loan_limit=5, library_loan_limit=50)
    assert checkout(counts=LoanCounts(4, 0, 0), policy=policy).allowed
    assert codes(checkout(counts=LoanCounts(5, 0, 0), policy=policy)) == [
        Code.SHARED_LIMIT_REACHED
    ]


def test_shared_limit_zero_refuses_everything():
    policy = Policy(shared_loan_limit=0)
    assert Code.SHARED_LIMIT_REACHED in codes(checkout(policy=policy))


@pytest.mark.parametrize(("here", "allowed"), [(0, True), (4, True), (5, False), (9, False)])
def test_library_limit(here, allowed):
    policy = Policy(library_loan_limit=5)
    decision = checkout(counts=LoanCounts(total=here, here=here, overdue=0), policy=policy)
    assert decision.allowed is allowed
    if not allowed:
        assert codes(decision) == [Code.LIBRARY_LIMIT_REACHED]
        assert decision.reasons[0].details == {"limit": 5, "on_loan": here}


def test_library_limit_counts_only_loans_here():
    policy = Policy(library_loan_limit=5)
    assert checkout(counts=LoanCounts(total=15, here=2, overdue=0), policy=policy).allowed


@pytest.mark.parametrize(("here", "allowed"), [(0, True), (2, True), (3, False)])
def test_class_limit(here, allowed):
    policy = Policy(class_loan_limit=3)
    decision = checkout(counts=LoanCounts(total=here, here=here, overdue=0), policy=policy)
    assert decision.allowed is allowed
    if not allowed:
        assert codes(decision) == [Code.CLASS_LIMIT_REACHED]
        assert decision.reasons[0].details == {"limit": 3, "on_loan": here}


def test_class_limit_zero_means_no_class_cap():
    policy = Policy(class_loan_limit=0)
    assert checkout(counts=LoanCounts(total=19, here=19, overdue=0), policy=policy).allowed


def test_unknown_copy():
    assert codes(checkout(copy=None)) == [Code.COPY_UNKNOWN]


def test_copy_not_loanable():
    assert codes(checkout(copy=replace(FREE, loanable=False))) == [Code.COPY_NOT_LOANABLE]


def test_copy_on_loan():
    assert codes(checkout(copy=replace(FREE, on_loan=True))) == [Code.COPY_ON_LOAN]


def test_copy_in_transit():
    assert codes(checkout(copy=replace(FREE, in_transit=True))) == [Code.COPY_IN_TRANSIT]


def test_on_loan_takes_precedence_over_in_transit():
    copy = replace(FREE, on_loan=True, in_transit=True)
    assert codes(checkout(copy=copy)) == [Code.COPY_ON_LOAN]


def test_copy_reserved_for_someone_else():
    assert codes(checkout(copy=replace(FREE, reserved_for_other=True))) == [Code.COPY_RESERVED]


def test_a_member_barred_here_is_refused_here_only():
    assert codes(checkout(member=replace(ACTIVE, barred_here=True))) == [
        Code.MEMBER_BARRED_HERE]
    assert checkout(member=replace(ACTIVE, barred_here=False)).allowed


def test_a_copy_not_at_the_acting_library_is_refused_naming_its_owner():
    decision = checkout(copy=replace(FREE, here=False, owner="121001"))
    assert codes(decision) == [Code.COPY_NOT_HERE]
    assert decision.reasons[0].details == {"owner": "121001"}


def test_a_copy_is_here_at_its_owner_or_where_the_hub_records_it():
    assert copy_is_here("111001", "111001", received_here=False)
    assert copy_is_here("111001", "111002", received_here=True)  # received here (타관반납)
    assert not copy_is_here("111001", "111002", received_here=False)
    assert not copy_is_here("111001", "121001", received_here=False)  # another region


# --- checkout: every reason at once -------------------------------------------------------

def test_every_reason_is_gathered():
    member = MemberFacts(status=MemberStatus.WITHDRAWN, card_lost=True,
                         suspended_until=TODAY + timedelta(3))
    copy = CopyFacts(loanable=False, on_loan=True, reserved_for_other=True)
    counts = LoanCounts(total=20, here=10, overdue=2)
    policy = Policy(library_loan_limit=10, class_loan_limit=5, can_borrow=False)
    decision = checkout(member=member, copy=copy, counts=counts, policy=policy)
    assert set(codes(decision)) == {
        Code.MEMBER_WITHDRAWN, Code.MEMBER_NOT_ELIGIBLE, Code.CARD_LOST, Code.MEMBER_SUSPENDED,
        Code.MEMBER_HAS_OVERDUE, Code.SHARED_LIMIT_REACHED, Code.LIBRARY_LIMIT_REACHED,
        Code.CLASS_LIMIT_REACHED, Code.COPY_NOT_LOANABLE, Code.COPY_ON_LOAN, Code.COPY_RESERVED,
    }
    assert len(decision.reasons) == 11  # no duplicates


def test_warning_and_refusal_together():
    member = replace(ACTIVE, suspended_until=TODAY + timedelta(3))
    decision = checkout(member=member, copy=replace(FREE, on_loan=True), policy=WARN)
    assert codes(decision) == [Code.COPY_ON_LOAN]
    assert codes(decision.warnings) == [Code.MEMBER_SUSPENDED]
    assert not decision.allowed


def expected_checkout_codes(member, copy, counts, policy, today) -> set[Code]:
    """An independent statement of the rules in domain.md section 5."""
    out: set[Code] = set()
    if member is None:
        out.add(Code.MEMBER_UNKNOWN)
    else:
        if member.status == "withdrawn":
            out.add(Code.MEMBER_WITHDRAWN)
        if member.status == "expelled":
            out.add(Code.MEMBER_EXPELLED)
        if not policy.can_borrow:
            out.add(Code.MEMBER_NOT_ELIGIBLE)
        if member.card_lost:
            out.add(Code.CARD_LOST)
        if member.barred_here:
            out.add(Code.MEMBER_BARRED_HERE)
        suspended = member.suspended_until is not None and member.suspended_until >= today
        if suspended and (policy.suspension_sharing == "enforce" or member.suspended_here):
            out.add(Code.MEMBER_SUSPENDED)
        if counts.overdue > 0 and policy.refuse_when_overdue:
            out.add(Code.MEMBER_HAS_OVERDUE)
        if counts.total >= policy.shared_loan_limit:
            out.add(Code.SHARED_LIMIT_REACHED)
        if counts.here >= policy.library_loan_limit:
            out.add(Code.LIBRARY_LIMIT_REACHED)
        if policy.class_loan_limit > 0 and counts.here >= policy.class_loan_limit:
            out.add(Code.CLASS_LIMIT_REACHED)
    if copy is None:
        out.add(Code.COPY_UNKNOWN)
    else:
        if not copy.here:
            out.add(Code.COPY_NOT_HERE)
        if not copy.loanable:
            out.add(Code.COPY_NOT_LOANABLE)
        if copy.on_loan:
            out.add(Code.COPY_ON_LOAN)
        elif copy.in_transit:
            out.add(Code.COPY_IN_TRANSIT)
        if copy.reserved_for_other:
            out.add(Code.COPY_RESERVED)
    return out


members = st.one_of(
    st.none(),
    st.builds(
        MemberFacts,
        status=st.sampled_from([str(s) for s in MemberStatus]),
        card_lost=st.booleans(),
        suspended_until=st.one_of(st.none(), st.integers(-5, 5).map(lambda n: TODAY + timedelta(n))),
        suspended_here=st.booleans(),
        barred_here=st.booleans(),
    ),
)
copies = st.one_of(st.none(), st.builds(CopyFacts, st.booleans(), st.booleans(), st.booleans(),
                                        st.booleans(), st.booleans(), st.just("121001")))
counts_ = st.builds(LoanCounts, st.integers(0, 30), st.integers(0, 30), st.integers(0, 3))
policies = st.builds(
    Policy,
    shared_loan_limit=st.integers(0, 25),
    library_loan_limit=st.integers(0, 25),
    class_loan_limit=st.integers(0, 10),
    refuse_when_overdue=st.booleans(),
    suspension_sharing=st.sampled_from(list(SharingMode)),
    can_borrow=st.booleans(),
)


@given(members, copies, counts_, policies)
def test_checkout_matches_the_rules(member, copy, counts, policy):
    decision = decide_checkout(member, copy, counts, policy, TODAY)
    got = codes(decision)
    assert len(got) == len(set(got))
    assert set(got) == expected_checkout_codes(member, copy, counts, policy, TODAY)
    assert decision.allowed is (not got)
    for w in decision.warnings:
        assert w.code is Code.MEMBER_SUSPENDED
        assert policy.suspension_sharing is SharingMode.WARN
        assert not member.suspended_here
    assert all(isinstance(r, Reason) for r in decision.reasons)


# --- due dates ----------------------------------------------------------------------------

def test_due_date_is_today_plus_loan_period():
    assert due_date(TODAY, 14, LibraryCalendar()) == date(2026, 3, 18)


def test_due_date_moves_off_a_closed_monday():
    # 2026-03-02 (Mon) + 14 = 2026-03-16, a Monday: due on Tuesday the 17th.
    cal = LibraryCalendar(closed_weekdays=frozenset({MON}))
    assert due_date(date(2026, 3, 2), 14, cal) == date(2026, 3, 17)


def test_due_date_moves_past_public_holidays():
    # 2026-09-10 + 14 = 9-24, the first day of 추석 (9-24..9-26); 9-27 is a closed Sunday.
    cal = LibraryCalendar(
        closed_weekdays=frozenset({SUN}),
        holidays=frozenset({date(2026, 9, 24), date(2026, 9, 25), date(2026, 9, 26)}),
    )
    assert due_date(date(2026, 9, 10), 14, cal) == date(2026, 9, 28)


def test_due_date_moves_past_extra_closed_dates():
    cal = LibraryCalendar(closed_dates=frozenset({date(2026, 3, 18)}))
    assert due_date(TODAY, 14, cal) == date(2026, 3, 19)


@given(st.frozensets(st.integers(0, 6), max_size=6), st.integers(0, 60),
       st.dates(date(2020, 1, 1), date(2035, 1, 1)))
def test_due_date_properties(closed, period, start):
    cal = LibraryCalendar(closed_weekdays=closed)
    due = due_date(start, period, cal)
    nominal = start + timedelta(period)
    assert due >= nominal
    assert cal.is_open(due)
    assert (due - nominal).days < 7  # at least one weekday is open
    assert all(not cal.is_open(nominal + timedelta(n)) for n in range((due - nominal).days))


# --- renewal ------------------------------------------------------------------------------

HOME = "011001"
OTHER = "011002"
LOAN = LoanFacts(owner_library=HOME, loaned_on=TODAY - timedelta(5), due_on=TODAY + timedelta(9),
                 renewals=0)


def renew(member=ACTIVE, loan=LOAN, acting=HOME, overdue=0, reserved=False, policy=POLICY,
          today=TODAY) -> Decision:
    return decide_renewal(member, loan, acting, overdue, reserved, policy, today)


def test_plain_renewal_is_allowed():
    decision = renew()
    assert decision.allowed and decision.warnings == ()


def test_renewal_only_at_the_owning_library():
    decision = renew(acting=OTHER)
    assert codes(decision) == [Code.RENEW_NOT_OWN_LIBRARY]
    assert decision.reasons[0].details == {"owner": HOME}


@pytest.mark.parametrize(
    "member",
    [
        replace(ACTIVE, status=MemberStatus.WITHDRAWN),
        replace(ACTIVE, status=MemberStatus.EXPELLED),
        replace(ACTIVE, card_lost=True),
        replace(ACTIVE, suspended_until=TODAY),
        replace(ACTIVE, suspended_until=TODAY + timedelta(30)),
    ],
    ids=["withdrawn", "expelled", "card-lost", "suspended-last-day", "suspended"],
)
def test_renewal_refused_for_a_member_who_is_not_active(member):
    assert codes(renew(member=member)) == [Code.RENEW_MEMBER_NOT_ACTIVE]


def test_renewal_refused_even_under_warn_only_sharing_when_suspended():
    member = replace(ACTIVE, suspended_until=TODAY + timedelta(3))
    policy = Policy(suspension_sharing=SharingMode.WARN)
    assert codes(renew(member=member, policy=policy)) == [Code.RENEW_MEMBER_NOT_ACTIVE]


def test_renewal_allowed_after_suspension_ended():
    assert renew(member=replace(ACTIVE, suspended_until=YESTERDAY)).allowed


def test_renewal_refused_with_an_overdue_item():
    decision = renew(overdue=2)
    assert codes(decision) == [Code.MEMBER_HAS_OVERDUE]
    assert decision.reasons[0].details == {"overdue": 2}


def test_renewal_refused_with_overdue_even_if_checkout_policy_tolerates_overdue():
    # "refused if the member has any overdue item": not a policy switch for renewals.
    assert codes(renew(overdue=1, policy=Policy(refuse_when_overdue=False))) == [
        Code.MEMBER_HAS_OVERDUE
    ]


def test_renewal_refused_when_reserved_by_someone_else():
    assert codes(renew(reserved=True)) == [Code.RENEW_RESERVED]


@pytest.mark.parametrize(("allowed", "used", "ok"), [(1, 0, True), (1, 1, False), (2, 1, True),
                                                     (2, 2, False), (0, 0, False), (1, 5, False)])
def test_renewal_count(allowed, used, ok):
    decision = renew(loan=replace(LOAN, renewals=used), policy=Policy(renewals_allowed=allowed))
    assert decision.allowed is ok
    if not ok:
        assert codes(decision) == [Code.RENEW_LIMIT_REACHED]
        assert decision.reasons[0].details == {"allowed": allowed, "used": used}


def test_renewal_on_the_loan_day_refused_by_default():
    assert codes(renew(loan=replace(LOAN, loaned_on=TODAY))) == [Code.RENEW_SAME_DAY]


def test_renewal_on_the_loan_day_allowed_by_setting():
    assert renew(loan=replace(LOAN, loaned_on=TODAY), policy=Policy(renew_on_loan_day=True)).allowed


def test_renewal_the_day_after_the_loan():
    assert renew(loan=replace(LOAN, loaned_on=YESTERDAY)).allowed


def test_renewal_gathers_every_reason():
    member = replace(ACTIVE, status=MemberStatus.EXPELLED)
    loan = replace(LOAN, loaned_on=TODAY, renewals=1)
    decision = renew(member=member, loan=loan, acting=OTHER, overdue=1, reserved=True)
    assert codes(decision) == [
        Code.RENEW_NOT_OWN_LIBRARY, Code.RENEW_MEMBER_NOT_ACTIVE, Code.MEMBER_HAS_OVERDUE,
        Code.RENEW_RESERVED, Code.RENEW_LIMIT_REACHED, Code.RENEW_SAME_DAY,
    ]


def test_renewed_due_date_extends_from_the_current_due_date():
    policy = Policy(renewal_days=7)
    assert renewed_due_date(LOAN, policy, LibraryCalendar()) == LOAN.due_on + timedelta(7)


def test_renewed_due_date_moves_to_next_open_day():
    # due 2026-03-09 (Mon) + 7 = 2026-03-16 (Mon, closed) -> Tuesday the 17th.
    loan = replace(LOAN, due_on=date(2026, 3, 9))
    cal = LibraryCalendar(closed_weekdays=frozenset({MON}))
    assert renewed_due_date(loan, Policy(renewal_days=7), cal) == date(2026, 3, 17)


# --- returns ------------------------------------------------------------------------------

BUSAN, INCHEON = "부산", "인천"


def test_return_at_the_owning_library_goes_home():
    assert route_return(HOME, BUSAN, HOME, BUSAN, POLICY) is ReturnRoute.HOME


def test_return_home_even_when_cross_return_is_disallowed():
    policy = Policy(cross_return_allowed=False)
    assert route_return(HOME, BUSAN, HOME, BUSAN, policy) is ReturnRoute.HOME


def test_cross_return_within_the_region_goes_into_transit():
    assert route_return(HOME, BUSAN, OTHER, BUSAN, POLICY) is ReturnRoute.TRANSIT


def test_cross_return_refused_when_region_disallows_it():
    result = route_return(HOME, BUSAN, OTHER, BUSAN, Policy(cross_return_allowed=False))
    assert isinstance(result, Reason)
    assert result.code is Code.RETURN_NOT_ALLOWED_HERE
    assert result.details == {"owner": HOME, "same_region": True}


@pytest.mark.parametrize("allowed", [True, False])
def test_return_in_another_region_is_refused(allowed):
    result = route_return(HOME, BUSAN, OTHER, INCHEON, Policy(cross_return_allowed=allowed))
    assert isinstance(result, Reason)
    assert result.code is Code.RETURN_NOT_ALLOWED_HERE
    assert result.details == {"owner": HOME, "same_region": False}


def test_return_route_values():
    assert str(ReturnRoute.HOME) == "home" and str(ReturnRoute.TRANSIT) == "transit"


# --- undo ---------------------------------------------------------------------------------

def test_undo_same_day():
    assert can_undo(TODAY, TODAY) is None


@pytest.mark.parametrize("action_day", [YESTERDAY, TODAY - timedelta(30)])
def test_undo_refused_on_a_later_day(action_day):
    reason = can_undo(action_day, TODAY)
    assert isinstance(reason, Reason)
    assert reason.code is Code.UNDO_NOT_SAME_DAY
