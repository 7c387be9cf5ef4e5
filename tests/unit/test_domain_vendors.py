"""The 사업자등록번호 check digit and the vendor's own stage moves (domain/vendors.py,
domain/onboarding.py)."""

from __future__ import annotations

import pytest

from chaekieum.domain import onboarding as ob
from chaekieum.domain import vendors as dv
from chaekieum.domain.errors import DomainError


@pytest.mark.parametrize("raw", ["220-81-62517", "2208162517", "124-81-00998",
                                 " 107 81 55843 ", "211-87-00620"])
def test_valid_numbers(raw: str) -> None:
    assert dv.brn(raw) == "".join(c for c in raw if c.isdigit())


@pytest.mark.parametrize("raw", ["220-81-62518", "2208162516", "220816251", "22081625170",
                                 "22O8162517", "２２０８１６２５１７", "", "abc-de-fghij"])
def test_invalid_numbers(raw: str) -> None:
    with pytest.raises(DomainError) as err:
        dv.brn(raw)
    assert err.value.code == "VENDOR_BRN_INVALID"


def test_every_wrong_check_digit_is_refused() -> None:
    """The ninth digit's carry (x5, tens digit) matters: 9 -> 45 adds 4."""
    assert dv.check_digit("220816251") == 7
    assert dv.check_digit("124810099") == 8
    for first9 in ("220816251", "124810099", "000000009", "999999999"):
        right = dv.check_digit(first9)
        for d in range(10):
            if d != right:
                with pytest.raises(DomainError):
                    dv.brn(first9 + str(d))
        assert dv.brn(first9 + str(right)) == first9 + str(right)
    assert dv.formatted("2208162517") == "220-81-62517"


def test_a_vendor_moves_only_forward_from_its_own_stage() -> None:
    vendor_stages = [s for s in ob.ORDER[:-1] if ob.RESPONSIBLE[s] is ob.Party.VENDOR]
    assert vendor_stages == [ob.Stage.BUILDING]
    for current in ob.Stage:
        for target in ob.Stage:
            expected = current is ob.Stage.BUILDING and target is ob.Stage.TESTING
            assert ob.vendor_may_move(current, target) is expected, (current, target)
