"""The 책이음 numbering standard (docs/domain.md section 3).

Member number = 도서관부호(6) + issue year(2) + serial(5) + check digit(1), the check digit
being computed with weights 2,3,4,5,6,7,8,9,2,3,4,5,6; x = sum mod 11; check = 0 when
x = 0, else 10 - x. Expected check digits here are computed independently of the code
under test (by hand for the literal examples, by `reference_check` for the properties).

A note on what the check digit guarantees. Because both x = 0 and x = 10 give check 0,
the scheme is *not* a true mod-11 code: a single-digit substitution that moves x between
0 and 10 goes undetected (a concrete pair is in `test_single_digit_change_can_escape`).
What IS guaranteed, and tested below:
- every substitution of the check digit itself is detected;
- every substitution in the first 13 digits changes x (11 is prime and every weight and
  every digit difference is non-zero mod 11), so it is detected unless {x, x'} = {0, 10};
- hence a number whose check digit is non-zero detects every single-digit substitution
  and every transposition of two different adjacent digits.
"""

from __future__ import annotations

import string

import pytest
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from chaekieum.domain.errors import Code, DomainError
from chaekieum.domain.numbering import (
    MAX_SERIAL,
    WEIGHTS,
    InstitutionBarcode,
    MemberNumber,
    RegistrationNumber,
    UnifiedBarcode,
    check_digit,
    is_valid_member_number,
    make_member_number,
    mask_member_number,
    normalize_registration_number,
    parse_scan,
    validate_library_code,
    validate_member_number,
)

SPEC_WEIGHTS = (2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5, 6)


def reference_x(first13: str) -> int:
    total = 0
    for i, ch in enumerate(first13):
        total += int(ch) * SPEC_WEIGHTS[i]
    return total % 11


def reference_check(first13: str) -> int:
    x = reference_x(first13)
    return 0 if x == 0 else 10 - x


digits = st.text(alphabet="0123456789", min_size=1, max_size=1)
library_codes = st.text(alphabet="0123456789", min_size=6, max_size=6)
years = st.integers(min_value=1990, max_value=2099)
serials = st.integers(min_value=1, max_value=MAX_SERIAL)
first13s = st.text(alphabet="0123456789", min_size=13, max_size=13)


# --- check digit -------------------------------------------------------------------------

def test_weights_are_the_standard_ones():
    assert WEIGHTS == SPEC_WEIGHTS


# Worked by hand:
#   0110012600001: 0*2+1*3+1*4+0*5+0*6+1*7+2*8+6*9+0*2+0*3+0*4+0*5+1*6 = 90; 90 % 11 = 2 -> 8
#   1210012500042: 2+6+4+0+0+7+16+45+0+0+0+20+12 = 112; 112 % 11 = 2 -> 8
#   1230012400007: 2+6+12+0+0+7+16+36+0+0+0+0+42 = 121; 121 % 11 = 0 -> 0 (x = 0)
#   0110012600006: 84 + 6*6 = 120; 120 % 11 = 10 -> 0 (x = 10 also gives 0)
#   0110012600010: 84 + 1*5 = 89; 89 % 11 = 1 -> 9
#   0000000000000: 0 -> 0
#   9999999999999: 9 * 64 = 576; 576 % 11 = 4 -> 6 (the weights sum to 64)
@pytest.mark.parametrize(
    ("first13", "expected"),
    [
        ("0110012600001", 8),
        ("1210012500042", 8),
        ("1230012400007", 0),
        ("0110012600006", 0),
        ("0110012600010", 9),
        ("0000000000000", 0),
        ("9999999999999", 6),
    ],
)
def test_check_digit_hand_worked(first13, expected):
    assert check_digit(first13) == expected
    assert reference_check(first13) == expected


@given(first13s)
def test_check_digit_matches_reference(first13):
    assert check_digit(first13) == reference_check(first13)
    assert 0 <= check_digit(first13) <= 9


@pytest.mark.parametrize("bad", ["", "123", "01100126000010", "011001260000a", " 011001260000"])
def test_check_digit_needs_exactly_13_digits(bad):
    with pytest.raises(ValueError):
        check_digit(bad)


# --- issuing numbers ----------------------------------------------------------------------

def test_make_member_number_layout():
    number = make_member_number("011001", 2026, 1)
    assert number == "01100126000018"
    assert number[:6] == "011001"  # 도서관부호
    assert number[6:8] == "26"  # last two digits of the year
    assert number[8:13] == "00001"  # serial, zero-padded to 5
    assert number[13] == "8"


@pytest.mark.parametrize(
    ("code", "year", "serial", "expected"),
    [
        ("121001", 2025, 42, "12100125000428"),
        ("123001", 2024, 7, "12300124000070"),
        ("011001", 2026, 6, "01100126000060"),
        ("011001", 2026, 10, "01100126000109"),
        ("011001", 2000, 99_999, "011001009999" + "9" + str(reference_check("0110010099999"))),
        ("011001", 26, 1, "01100126000018"),  # a two-digit year works as well
    ],
)
def test_make_member_number_examples(code, year, serial, expected):
    assert make_member_number(code, year, serial) == expected
    assert is_valid_member_number(expected)


@given(library_codes, years, serials)
def test_every_issued_number_validates(code, year, serial):
    number = make_member_number(code, year, serial)
    assert len(number) == 14 and number.isdigit()
    assert number.startswith(code)
    assert number[6:8] == f"{year % 100:02d}"
    assert int(number[8:13]) == serial
    assert int(number[13]) == reference_check(number[:13])
    assert is_valid_member_number(number)
    assert validate_member_number(number) == number
    assert MemberNumber(number).issuing_library == code
    assert parse_scan(number) == MemberNumber(number)


@given(library_codes, years, serials, serials)
def test_distinct_serials_give_distinct_numbers(code, year, s1, s2):
    assume(s1 != s2)
    assert make_member_number(code, year, s1) != make_member_number(code, year, s2)


@pytest.mark.parametrize("serial", [0, -1, MAX_SERIAL + 1, 1_000_000])
def test_serial_out_of_range_is_exhausted(serial):
    with pytest.raises(DomainError) as err:
        make_member_number("011001", 2026, serial)
    assert err.value.code is Code.MEMBER_NUMBERS_EXHAUSTED
    assert err.value.details["library_code"] == "011001"


def test_serial_bounds_are_inclusive():
    assert make_member_number("011001", 2026, 1)[8:13] == "00001"
    assert make_member_number("011001", 2026, MAX_SERIAL)[8:13] == "99999"


@pytest.mark.parametrize("code", ["", "01100", "0110011", "01100a", "abcdef", " 011001", 11001, None])
def test_make_member_number_rejects_bad_library_code(code):
    with pytest.raises(DomainError) as err:
        make_member_number(code, 2026, 1)
    assert err.value.code is Code.INVALID_LIBRARY_CODE


# --- validation ---------------------------------------------------------------------------

@pytest.mark.parametrize(
    "bad",
    [
        "",
        "01100126000017",  # wrong check digit
        "0110012600001",  # 13 digits
        "011001260000180",  # 15 digits
        "0110012600001X",
        "011001-26-00001-8",
    ],
)
def test_invalid_member_numbers(bad):
    assert not is_valid_member_number(bad)
    with pytest.raises(DomainError) as err:
        validate_member_number(bad)
    assert err.value.code is Code.INVALID_MEMBER_NUMBER


def test_validate_member_number_strips_spaces():
    assert validate_member_number("  01100126000018\n") == "01100126000018"


def test_validate_member_number_truncates_value_in_details():
    with pytest.raises(DomainError) as err:
        validate_member_number("9" * 100)
    assert len(err.value.details["value"]) == 40


@pytest.mark.parametrize("code", ["011001", "121001", "126999", "123456", "000000"])
def test_valid_library_codes(code):
    assert validate_library_code(code) == code


@pytest.mark.parametrize("code", ["", "12345", "1234567", "12345a", "12 345", 123456, None, b"123456"])
def test_invalid_library_codes(code):
    with pytest.raises(DomainError) as err:
        validate_library_code(code)
    assert err.value.code is Code.INVALID_LIBRARY_CODE


# --- error detection ----------------------------------------------------------------------

def _substitute(number: str, pos: int, digit: str) -> str:
    return number[:pos] + digit + number[pos + 1:]


def test_single_digit_change_can_escape():
    """x = 10 and x = 0 both give check 0, so a substitution between them is missed."""
    a = make_member_number("011001", 2026, 6)  # x = 10
    b = make_member_number("011001", 2026, 8)  # 84 + 6*8 = 132, x = 0
    assert (a, b) == ("01100126000060", "01100126000080")
    assert reference_x(a[:13]) == 10 and reference_x(b[:13]) == 0
    assert sum(1 for p, q in zip(a, b, strict=True) if p != q) == 1
    assert is_valid_member_number(a) and is_valid_member_number(b)


@given(first13s, st.integers(0, 13), digits)
@example("0110012600006", 12, "8")  # the escaping substitution above
def test_single_digit_change_detected_unless_x_moves_between_0_and_10(first13, pos, digit):
    number = first13 + str(reference_check(first13))
    assume(number[pos] != digit)
    changed = _substitute(number, pos, digit)
    if pos == 13:
        assert not is_valid_member_number(changed)  # the check digit itself: always caught
        return
    x_old, x_new = reference_x(number[:13]), reference_x(changed[:13])
    assert x_old != x_new  # a substitution in the body always changes x
    if {x_old, x_new} == {0, 10}:
        assert is_valid_member_number(changed)  # the documented blind spot
    else:
        assert not is_valid_member_number(changed)


@given(library_codes, years, serials, st.integers(0, 13), digits)
def test_nonzero_check_digit_detects_every_single_digit_change(code, year, serial, pos, digit):
    number = make_member_number(code, year, serial)
    assume(number[13] != "0")
    assume(number[pos] != digit)
    assert not is_valid_member_number(_substitute(number, pos, digit))


@given(library_codes, years, serials, st.integers(0, 12))
def test_nonzero_check_digit_detects_adjacent_transpositions(code, year, serial, pos):
    number = make_member_number(code, year, serial)
    assume(number[13] != "0")
    # a swap of the last two digits that moves a 0 into the check position lands on the
    # ambiguous check digit (x = 0 and x = 10 both give 0): 07456719148109 -> ...190
    assume(pos != 12 or number[12] != "0")
    assume(number[pos] != number[pos + 1])
    swapped = number[:pos] + number[pos + 1] + number[pos] + number[pos + 2:]
    assert not is_valid_member_number(swapped)


# --- masking ------------------------------------------------------------------------------

def test_mask_member_number_example():
    assert mask_member_number("01100126000018") == "01100126****18"


@given(library_codes, years, serials)
def test_mask_keeps_first_8_and_last_2(code, year, serial):
    number = make_member_number(code, year, serial)
    masked = mask_member_number(number)
    assert masked == number[:8] + "****" + number[-2:]
    assert len(masked) == 14
    assert number[8:12] not in masked[8:]  # the serial's leading digits are hidden


@pytest.mark.parametrize("value", ["", "1", "0110012600001", "011001260000180"])
def test_mask_of_wrong_length_hides_everything(value):
    assert mask_member_number(value) == "*" * len(value)


# --- 등록번호 -------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("EM0000131513", "EM0000131513"),
        ("EM131513", "EM0000131513"),
        ("em131513", "EM0000131513"),
        ("  EM131513 ", "EM0000131513"),
        ("EM1", "EM0000000001"),
        ("ABC1", "ABC000000001"),
        ("ABC123456789", "ABC123456789"),
        ("EM1234567890", "EM1234567890"),
    ],
)
def test_normalize_registration_number(raw, expected):
    assert normalize_registration_number(raw) == expected
    assert len(expected) == 12


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "EM",  # no digits
        "E1234",  # one letter
        "ABCD1234",  # four letters
        "EM12345678901",  # 11 digits: 13 characters
        "ABC1234567890",  # 3 letters + 10 digits: 13 characters
        "1234567890",  # no 등록구분
        "EM12A4",
        "EM 1234",
        "EM-1234",
    ],
)
def test_normalize_registration_number_rejects(raw):
    assert normalize_registration_number(raw) is None


# --- parse_scan ---------------------------------------------------------------------------

def test_parse_member_number():
    assert parse_scan("01100126000018") == MemberNumber("01100126000018")
    assert parse_scan(" 01100126000018\r\n") == MemberNumber("01100126000018")


def test_parse_member_number_with_bad_check_digit():
    with pytest.raises(DomainError) as err:
        parse_scan("01100126000017")
    assert err.value.code is Code.INVALID_MEMBER_NUMBER


@pytest.mark.parametrize(
    "raw",
    [
        "$011001EM0000131513",  # 19 characters
        "011001EM0000131513",  # 18 characters, no $
        "$011001em0000131513",
        "011001em0000131513",
        "  $011001EM0000131513  ",
        "\t011001EM0000131513\n",
    ],
)
def test_parse_unified_barcode(raw):
    parsed = parse_scan(raw)
    assert parsed == UnifiedBarcode("011001", "EM0000131513")
    assert parsed.text == "$011001EM0000131513"
    assert len(parsed.text) == 19


def test_parse_unified_barcode_with_three_letter_prefix():
    parsed = parse_scan("$121001ABC000000042")
    assert parsed == UnifiedBarcode("121001", "ABC000000042")


@pytest.mark.parametrize(
    "raw",
    [
        "$",
        "$011001",
        "$011001EM131513",  # 등록번호 not padded: the barcode form is always 12
        "$011001EM00001315130",  # 13-character 등록번호
        "$01100AEM0000131513",  # library code not 6 digits
        "$011001000000131513",  # 등록번호 without 등록구분
        "$011001EM00001315X3",
        "011001EM00001315X3",  # 18 characters, digits first, but not a valid 등록번호
        "011001000000131513",  # 18 digits
        "$$011001EM0000131513",
    ],
)
def test_parse_bad_unified_barcode(raw):
    with pytest.raises(DomainError) as err:
        parse_scan(raw)
    assert err.value.code is Code.INVALID_BARCODE


@pytest.mark.parametrize("raw", ["#011001", " #121001 ", "#000000"])
def test_parse_institution_barcode(raw):
    parsed = parse_scan(raw)
    assert isinstance(parsed, InstitutionBarcode)
    assert parsed.text == raw.strip()
    assert len(parsed.text) == 7


@pytest.mark.parametrize("raw", ["#", "#01100", "#0110011", "#01100a", "# 011001", "##011001"])
def test_parse_bad_institution_barcode(raw):
    with pytest.raises(DomainError) as err:
        parse_scan(raw)
    assert err.value.code is Code.INVALID_BARCODE


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("EM0000131513", "EM0000131513"),
        ("EM131513", "EM0000131513"),
        ("em131513", "EM0000131513"),
        ("  em131513  ", "EM0000131513"),
        ("ABC42", "ABC000000042"),
    ],
)
def test_parse_plain_registration_number(raw, expected):
    assert parse_scan(raw) == RegistrationNumber(expected)


@pytest.mark.parametrize(
    "raw",
    ["", "   ", "hello world", "12345", "EM12345678901", "ABCD1", "!@#", "0110012600001", "책이음"],
)
def test_parse_garbage_is_invalid_barcode(raw):
    with pytest.raises(DomainError) as err:
        parse_scan(raw)
    assert err.value.code is Code.INVALID_BARCODE


@pytest.mark.parametrize("raw", [None, 1100126000018, b"01100126000018", ["#011001"]])
def test_parse_non_string_is_invalid_barcode(raw):
    with pytest.raises(DomainError) as err:
        parse_scan(raw)
    assert err.value.code is Code.INVALID_BARCODE


_IDENTIFIERS = (MemberNumber, UnifiedBarcode, InstitutionBarcode, RegistrationNumber)


@settings(max_examples=500)
@given(st.text())
def test_parse_scan_never_raises_anything_but_domain_error(raw):
    try:
        parsed = parse_scan(raw)
    except DomainError as err:
        assert err.code in (Code.INVALID_BARCODE, Code.INVALID_MEMBER_NUMBER)
    else:
        assert isinstance(parsed, _IDENTIFIERS)


scan_alphabet = st.sampled_from(string.digits + "EMABCemabc$# \t" + "٠١٢")


@settings(max_examples=500)
@given(st.text(alphabet=scan_alphabet, max_size=22))
def test_parse_scan_near_miss_inputs(raw):
    """Inputs built from the characters real identifiers use, to reach every branch."""
    try:
        parsed = parse_scan(raw)
    except DomainError as err:
        assert err.code in (Code.INVALID_BARCODE, Code.INVALID_MEMBER_NUMBER)
    else:
        assert isinstance(parsed, _IDENTIFIERS)


@given(library_codes, st.sampled_from(["EM", "AB", "ABC", "XYZ"]), st.integers(0, 10**9 - 1),
       st.booleans(), st.booleans())
def test_unified_barcode_round_trip(code, prefix, num, dollar, lower):
    reg = prefix + str(num).zfill(12 - len(prefix))
    raw = ("$" if dollar else "") + code + (reg.lower() if lower else reg)
    parsed = parse_scan(raw)
    assert parsed == UnifiedBarcode(code, reg)
    assert parse_scan(parsed.text) == parsed


def _ascii_only(parsed) -> bool:
    return all(
        str(v).isascii() for v in vars(parsed).values()
    )


@pytest.mark.parametrize(
    "raw",
    [
        "٠١١٠٠١٢٦٠٠٠٠١٨",  # Arabic-Indic 01100126000018
        "０１１００１２６００００１８",  # full-width (an IME left in full-width mode)
        "#٠١١٠٠١",
        "EM١٢٣",
    ],
)
def test_non_ascii_digits_are_not_identifiers(raw):
    try:
        parsed = parse_scan(raw)
    except DomainError as err:
        assert err.code in (Code.INVALID_BARCODE, Code.INVALID_MEMBER_NUMBER)
    else:
        assert _ascii_only(parsed)  # acceptable only if normalised to ASCII digits


def test_validate_library_code_rejects_non_ascii_digits():
    with pytest.raises(DomainError):
        validate_library_code("٠١١٠٠١")
