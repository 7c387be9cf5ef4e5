"""Policy values and their cascade: national default -> region -> library -> member class
(docs/domain.md section 5)."""

from __future__ import annotations

from dataclasses import fields

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chaekieum.domain.errors import Code, DomainError
from chaekieum.domain.policy import (
    BOUNDS,
    CLASS_DEFAULTS,
    MemberClass,
    Policy,
    SharingMode,
    SuspensionMode,
    effective_layer,
    resolve,
    validate_level_overrides,
    validate_overrides,
)

INT_KEYS = [
    "shared_loan_limit", "library_loan_limit", "class_loan_limit", "loan_period_days",
    "renewals_allowed", "renewal_days", "suspension_add1", "suspension_add2",
    "suspension_cap_days", "reservation_limit",
]
POSITIVE_INT_KEYS = ["reservation_pickup_days"]  # at least 1
BOOL_KEYS = [
    "renew_on_loan_day", "refuse_when_overdue", "suspension_counts_closed_days",
    "cross_return_allowed", "courier_fee", "can_borrow",
]
ENUM_KEYS = {"suspension_mode": SuspensionMode, "suspension_sharing": SharingMode}
FLOAT_KEYS = ["suspension_weight"]


def test_every_field_is_classified_by_these_tests():
    assert {f.name for f in fields(Policy)} == set(INT_KEYS) | set(BOOL_KEYS) | set(
        ENUM_KEYS
    ) | set(FLOAT_KEYS) | set(POSITIVE_INT_KEYS)


def test_national_defaults_match_the_spec():
    p = Policy()
    assert p.shared_loan_limit == 20  # 대출책수제한공유: default 20
    assert p.loan_period_days == 14  # typically 14 days
    assert p.renewals_allowed == 1 and p.renewal_days == 7  # typically 1 renewal of 7 days
    assert p.class_loan_limit == 0  # 0 = no class-specific cap
    assert p.suspension_cap_days == 0  # 0 = no cap
    assert p.suspension_add1 == 0 and p.suspension_add2 == 0 and p.suspension_weight == 1.0
    assert p.suspension_mode is SuspensionMode.SUM
    assert p.suspension_sharing is SharingMode.ENFORCE  # shared unless "warn only"
    assert p.suspension_counts_closed_days is False  # closed days excluded unless counted
    assert p.refuse_when_overdue is True
    assert p.renew_on_loan_day is False
    assert p.cross_return_allowed is True
    assert p.courier_fee is False
    assert p.can_borrow is True


def test_enum_values():
    assert SuspensionMode("sum") is SuspensionMode.SUM
    assert SuspensionMode("max") is SuspensionMode.MAX
    assert SharingMode("enforce") is SharingMode.ENFORCE
    assert SharingMode("warn") is SharingMode.WARN
    assert {str(c) for c in MemberClass} == {"정회원", "준회원", "비회원"}


def test_as_dict_renders_enums_as_strings():
    d = Policy(suspension_mode=SuspensionMode.MAX).as_dict()
    assert d["suspension_mode"] == "max" and type(d["suspension_mode"]) is str
    assert d["suspension_sharing"] == "enforce" and type(d["suspension_sharing"]) is str
    assert d["shared_loan_limit"] == 20
    assert set(d) == {f.name for f in fields(Policy)}


def test_as_dict_round_trips_through_validation():
    p = Policy(suspension_mode=SuspensionMode.MAX, suspension_sharing=SharingMode.WARN,
               suspension_weight=1.5, courier_fee=True)
    assert resolve([p.as_dict()]) == p


# --- validation ---------------------------------------------------------------------------

def _invalid(overrides):
    with pytest.raises(DomainError) as err:
        validate_overrides(overrides)
    assert err.value.code is Code.POLICY_INVALID
    return err.value


@pytest.mark.parametrize("key", ["shared_limit", "loan_days", "", "SHARED_LOAN_LIMIT", "as_dict"])
def test_unknown_key_is_refused(key):
    err = _invalid({key: 1})
    assert err.details["key"] == key
    assert err.details["problem"] == "unknown setting"


@pytest.mark.parametrize("key", [*INT_KEYS, *POSITIVE_INT_KEYS])
@pytest.mark.parametrize("value", ["3", 3.0, 2.5, None, True, False, [3]])
def test_integer_settings_refuse_other_types(key, value):
    err = _invalid({key: value})
    assert err.details == {"key": key, "expected": "integer"}


@pytest.mark.parametrize("key", BOOL_KEYS)
@pytest.mark.parametrize("value", [0, 1, "true", "false", None, 1.0])
def test_boolean_settings_refuse_other_types(key, value):
    err = _invalid({key: value})
    assert err.details == {"key": key, "expected": "boolean"}


@pytest.mark.parametrize("value", ["1.5", None, True, False, [1], float("nan"), float("inf")])
def test_number_setting_refuses_other_types_and_non_finite(value):
    err = _invalid({"suspension_weight": value})
    assert err.details == {"key": "suspension_weight", "expected": "finite number"}


@pytest.mark.parametrize(("key", "enum"), ENUM_KEYS.items())
@pytest.mark.parametrize("value", ["SUM", "Enforce", "", None, 1, ["sum"], {}])
def test_enum_settings_refuse_unknown_values(key, enum, value):
    err = _invalid({key: value})
    assert err.details["key"] == key
    assert err.details["allowed"] == [str(e) for e in enum]


@pytest.mark.parametrize("key", [*INT_KEYS, "suspension_weight"])
@pytest.mark.parametrize("value", [-1, -100])
def test_negative_values_are_refused(key, value):
    err = _invalid({key: value})
    assert err.details == {"key": key, "expected": ">= 0"}


@pytest.mark.parametrize("key", POSITIVE_INT_KEYS)
@pytest.mark.parametrize("value", [0, -1])
def test_positive_settings_refuse_zero_and_below(key, value):
    err = _invalid({key: value})
    assert err.details["key"] == key
    assert validate_overrides({key: 1}) == {key: 1}


def test_every_numeric_setting_is_bounded():
    """Every integer and number setting has a range, and the defaults are inside it."""
    assert set(BOUNDS) == set(INT_KEYS) | set(POSITIVE_INT_KEYS) | set(FLOAT_KEYS)
    defaults = Policy().as_dict()
    for key, (low, high) in BOUNDS.items():
        assert low <= defaults[key] <= high, key


@pytest.mark.parametrize("key", [*INT_KEYS, *POSITIVE_INT_KEYS, *FLOAT_KEYS])
@pytest.mark.parametrize("excess", [1, 10**6, 2**63, 10**30])
def test_values_above_the_bound_are_refused(key, excess):
    high = BOUNDS[key][1]
    assert validate_overrides({key: high}) == {key: high}
    err = _invalid({key: high + excess})
    assert err.details == {"key": key, "expected": f"<= {high}"}


def test_reservation_defaults():
    p = Policy()
    assert (p.reservation_limit, p.reservation_pickup_days) == (5, 3)


def test_negative_fractional_weight_is_refused():
    _invalid({"suspension_weight": -0.5})


@pytest.mark.parametrize("key", [*INT_KEYS, "suspension_weight"])
def test_zero_is_allowed(key):
    assert validate_overrides({key: 0}) == {key: 0}


def test_valid_values_are_returned_with_coercion():
    clean = validate_overrides({
        "shared_loan_limit": 30,
        "suspension_weight": 2,
        "suspension_mode": "max",
        "suspension_sharing": "warn",
        "courier_fee": True,
    })
    assert clean == {
        "shared_loan_limit": 30,
        "suspension_weight": 2.0,
        "suspension_mode": SuspensionMode.MAX,
        "suspension_sharing": SharingMode.WARN,
        "courier_fee": True,
    }
    assert type(clean["suspension_weight"]) is float
    assert clean["suspension_mode"] is SuspensionMode.MAX


def test_enum_members_are_accepted_as_themselves():
    assert validate_overrides({"suspension_mode": SuspensionMode.SUM}) == {
        "suspension_mode": SuspensionMode.SUM
    }


def test_empty_overrides():
    assert validate_overrides({}) == {}


def test_validation_does_not_mutate_input():
    layer = {"suspension_mode": "max", "suspension_weight": 1}
    validate_overrides(layer)
    assert layer == {"suspension_mode": "max", "suspension_weight": 1}


def test_one_bad_key_refuses_the_whole_layer():
    with pytest.raises(DomainError):
        resolve([{"shared_loan_limit": 5, "bogus": 1}])


# --- cascade ------------------------------------------------------------------------------

def test_resolve_without_layers_is_the_national_default():
    assert resolve([]) == Policy()
    assert resolve([{}, {}, {}, {}]) == Policy()


def test_resolve_skips_none_and_empty_layers():
    assert resolve([None, {"loan_period_days": 21}, {}, None]) == Policy(loan_period_days=21)


def test_cascade_national_region_library_class():
    national = {"shared_loan_limit": 20, "loan_period_days": 14}
    region = {"loan_period_days": 21, "cross_return_allowed": False, "suspension_mode": "max"}
    library = {"library_loan_limit": 10, "loan_period_days": 15}
    member_class = {"class_loan_limit": 5, "library_loan_limit": 7}
    p = resolve([national, region, library, member_class])
    assert p.shared_loan_limit == 20  # national
    assert p.cross_return_allowed is False  # region
    assert p.suspension_mode is SuspensionMode.MAX  # region, coerced
    assert p.loan_period_days == 15  # library beats region
    assert p.library_loan_limit == 7  # class beats library
    assert p.class_loan_limit == 5
    assert p.renewal_days == 7  # untouched: base default


def test_later_layer_wins_even_when_setting_back_to_default():
    p = resolve([{"refuse_when_overdue": False}, {"refuse_when_overdue": True}])
    assert p.refuse_when_overdue is True


def test_resolve_accepts_a_generator():
    p = resolve(layer for layer in [{"renewals_allowed": 2}, {"renewal_days": 10}])
    assert (p.renewals_allowed, p.renewal_days) == (2, 10)


def test_non_member_class_cannot_borrow():
    assert CLASS_DEFAULTS[MemberClass.NON_MEMBER] == {"can_borrow": False}
    assert CLASS_DEFAULTS["비회원"] == {"can_borrow": False}  # looked up by the stored label
    assert MemberClass.FULL not in CLASS_DEFAULTS
    assert MemberClass.ASSOCIATE not in CLASS_DEFAULTS
    p = resolve([{"library_loan_limit": 10}, CLASS_DEFAULTS[MemberClass.NON_MEMBER]])
    assert p.can_borrow is False and p.library_loan_limit == 10


def test_class_defaults_are_valid_overrides():
    for overrides in CLASS_DEFAULTS.values():
        validate_overrides(overrides)


_value_for = {
    **{k: st.integers(*BOUNDS[k]) for k in INT_KEYS + POSITIVE_INT_KEYS},
    **{k: st.booleans() for k in BOOL_KEYS},
    "suspension_weight": st.floats(0, 10, allow_nan=False),
    "suspension_mode": st.sampled_from([str(m) for m in SuspensionMode]),
    "suspension_sharing": st.sampled_from([str(m) for m in SharingMode]),
}
layers = st.lists(
    st.fixed_dictionaries({}, optional=_value_for), max_size=4
)


@given(layers)
def test_resolve_is_an_ordered_merge(layer_list):
    merged = Policy().as_dict()
    for layer in layer_list:
        merged.update(layer)
    result = resolve(layer_list).as_dict()
    for key, value in merged.items():
        if key == "suspension_weight":
            assert result[key] == float(value)
        else:
            assert result[key] == value


@given(layers)
def test_resolve_is_stable_under_re_resolving(layer_list):
    p = resolve(layer_list)
    assert resolve([p.as_dict()]) == p
    assert resolve([*layer_list, {}]) == p


# --- the shared limit is one national number (issue 8, item 11) ------------------------------

@pytest.mark.parametrize(("level", "member_class"), [
    ("region", ""), ("library", ""), ("library", "준회원"), ("national", "준회원")])
def test_the_shared_limit_is_refused_below_the_national_policy(level, member_class):
    with pytest.raises(DomainError) as refused:
        validate_level_overrides(level, member_class, {"shared_loan_limit": 30,
                                                       "library_loan_limit": 5})
    assert refused.value.code == Code.POLICY_NATIONAL_ONLY
    assert refused.value.details["key"] == "shared_loan_limit"
    # lower levels keep their own, lower limits
    assert validate_level_overrides(level, member_class, {"library_loan_limit": 5,
                                                          "class_loan_limit": 2}) == {
        "library_loan_limit": 5, "class_loan_limit": 2}


def test_the_national_policy_sets_the_shared_limit():
    assert validate_level_overrides("national", "", {"shared_loan_limit": 25}) == {
        "shared_loan_limit": 25}


def test_a_stored_shared_limit_below_the_national_policy_is_ignored():
    stored = {"shared_loan_limit": 30, "library_loan_limit": 8}
    assert effective_layer("library", "", stored) == {"library_loan_limit": 8}
    assert effective_layer("region", "", {"shared_loan_limit": 1}) == {}
    assert effective_layer("national", "", stored) is stored
    p = resolve([effective_layer("national", "", {"shared_loan_limit": 20}),
                 effective_layer("library", "", stored),
                 effective_layer("library", "준회원", {"shared_loan_limit": 40})])
    assert (p.shared_loan_limit, p.library_loan_limit) == (20, 8)
