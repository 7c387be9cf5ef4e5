from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chaekieum.sip2.codec import (
    MAX_FIELD_CHARS,
    EmptyFrame,
    EncodeError,
    FixedPartTooShort,
    FrameError,
    MalformedFrame,
    UnknownCommand,
    amount,
    checksum,
    count,
    decode_request,
    decode_response,
    encode_request,
    encode_response,
    parse_amount,
    parse_sip_datetime,
    patron_status_flags,
    sanitize,
    sip_datetime,
    summary_field,
    supported_messages,
    verify_checksum,
    yn,
)
from chaekieum.sip2.messages import (
    BLANK_DATE,
    FIELD_NAMES,
    PATRON_STATUS_FLAGS,
    REQUESTS,
    RESPONSE_FOR,
    RESPONSES,
)

DATE = "20240301    103000"
ENCODINGS = ["utf-8", "euc-kr", "cp949", "cp850"]


def ref_checksum(data: bytes) -> str:
    """Independent reference: two's complement of the 16-bit byte sum."""
    return f"{(0x10000 - sum(data) % 0x10000) % 0x10000:04X}"


def with_checksum(body: str, encoding: str = "utf-8") -> bytes:
    data = body.encode(encoding)
    return data + ref_checksum(data).encode()


# --- tables -----------------------------------------------------------------------------


def test_table_lengths_match_the_3m_guide():
    assert {c: s.fixed_length for c, s in REQUESTS.items()} == {
        "93": 2, "99": 8, "23": 21, "63": 31, "11": 38, "09": 37, "29": 38, "65": 18,
        "17": 18, "35": 18, "37": 25, "01": 19, "15": 19, "97": 0, "96": 0,
    }
    # 98 is 34 (6x1 + 3 + 3 + 18 + 4) in the 3M guide, not 36 as sip2.md says.
    assert {c: s.fixed_length for c, s in RESPONSES.items()} == {
        "94": 1, "98": 34, "24": 35, "64": 59, "12": 22, "30": 22, "10": 22, "66": 27,
        "18": 24, "36": 19, "38": 19, "16": 20, "96": 0,
    }


def test_tables_are_consistent():
    for spec in [*REQUESTS.values(), *RESPONSES.values()]:
        assert spec.fields <= FIELD_NAMES.keys(), spec.code
        assert len(set(spec.fixed_names)) == len(spec.fixed_names), spec.code
    for request, response in RESPONSE_FOR.items():
        assert request in REQUESTS
        assert response is None or response in RESPONSES
    assert set(RESPONSE_FOR) == set(REQUESTS)
    assert len(PATRON_STATUS_FLAGS) == 14


# --- checksums --------------------------------------------------------------------------


def test_checksum_sip2md_example():
    assert checksum(b"9900802.00AY1AZ") == "FCA0"
    assert verify_checksum(b"9900802.00AY1AZFCA0")


def test_checksum_known_examples():
    assert checksum(b"97AZ") == "FEF5"
    assert checksum(b"941AY3AZ") == "FDFA"
    assert checksum(b"") == "0000"
    assert verify_checksum(b"97AZFEF5\r\n")
    assert verify_checksum(b" 97AZFEF5") and verify_checksum(b" 97AZFED5")  # with/without pad


def test_checksum_lower_case_and_three_digits_accepted():
    assert verify_checksum(b"9900802.00AY1AZfca0")
    # some clients drop the leading zero of a checksum like 0ABC
    for i in range(2_000):
        data = f"23000{DATE}AF{'x' * i}|AY1AZ".encode()
        cs = checksum(data)
        if cs.startswith("0"):
            break
    assert cs.startswith("0")
    assert verify_checksum(data + cs[1:].encode())
    assert verify_checksum(data + cs[1:].lower().encode())
    req = decode_request(data + cs[1:].lower().encode())
    assert req.checksum_ok and req.received_checksum == cs


def test_checksum_rejects_wrong_or_missing():
    assert not verify_checksum(b"9900802.00AY1AZFCA1")
    assert not verify_checksum(b"9900802.00AY1")
    assert not verify_checksum(b"9900802.00AY1AZ")
    assert not verify_checksum(b"")


@pytest.mark.parametrize(
    ("encoding", "expected"), [("utf-8", "E153"), ("euc-kr", "E46E")]
)
def test_checksum_over_korean_bytes(encoding, expected):
    body = (
        "29NN" + DATE + BLANK_DATE
        + "AO111001|AA11100100001234|AB$111001EM0000123|AJ채식주의자|AC|AY4AZ"
    ).encode(encoding)
    assert checksum(body) == expected == ref_checksum(body)
    frame = body + expected.encode()
    req = decode_request(frame, encoding)
    assert req.checksum_ok and req.sequence == 4
    assert req.get("AJ") == "채식주의자"
    # the same frame read as the wrong encoding still checks out: checksums are over bytes
    assert decode_request(frame, "cp850").checksum_ok


# --- decoding: one realistic request per table row --------------------------------------

REQUEST_CASES = [
    ("9300CNkiosk-111001-01|COs3cret|CP111001|AY0AZ", "login",
     {"uid_algorithm": "0", "pwd_algorithm": "0"},
     {"CN": ["kiosk-111001-01"], "CO": ["s3cret"], "CP": ["111001"]}),
    ("9900802.00AY1AZ", "sc_status",
     {"status_code": "0", "max_print_width": "080", "protocol_version": "2.00"}, {}),
    (f"23000{DATE}AO111001|AA11100100001234|AC|AD1234|AY2AZ", "patron_status",
     {"language": "000", "transaction_date": DATE},
     {"AO": ["111001"], "AA": ["11100100001234"], "AC": [""], "AD": ["1234"]}),
    (f"63000{DATE}  Y       AO111001|AA11100100001234|AC|AD1234|BP1|BQ5|AY3AZ",
     "patron_information", {"language": "000", "summary": "  Y       "},
     {"BP": ["1"], "BQ": ["5"]}),
    (f"11YN{DATE}{BLANK_DATE}AO111001|AA11100100001234|AB$111001EM0000123|AC|BON|AY4AZ",
     "checkout",
     {"sc_renewal_policy": "Y", "no_block": "N", "nb_due_date": BLANK_DATE},
     {"AB": ["$111001EM0000123"], "BO": ["N"]}),
    (f"09N{DATE}{DATE}AP111001|AO111001|AB111001EM0000123|AC|AY5AZ", "checkin",
     {"no_block": "N", "return_date": DATE}, {"AP": ["111001"], "AB": ["111001EM0000123"]}),
    (f"29NY{DATE}20240315    235959AO111001|AA11100100001234|AD1234|AB$111001EM0000123|AC|AY6AZ",
     "renew", {"third_party_allowed": "N", "no_block": "Y", "nb_due_date": "20240315    235959"},
     {"AD": ["1234"]}),
    (f"65{DATE}AO111001|AA11100100001234|AD1234|AC|AY7AZ", "renew_all",
     {"transaction_date": DATE}, {"AA": ["11100100001234"]}),
    (f"17{DATE}AO111001|AB$111001EM0000123|AC|AY8AZ", "item_information",
     {"transaction_date": DATE}, {"AB": ["$111001EM0000123"]}),
    (f"35{DATE}AO111001|AA11100100001234|AC|AD|AY9AZ", "end_patron_session",
     {"transaction_date": DATE}, {"AD": [""]}),
    (f"37{DATE}0100KRWBV1500.00|AO111001|AA11100100001234|AC|CGF-77|BKTX-1|AY0AZ",
     "fee_paid", {"fee_type": "01", "payment_type": "00", "currency_type": "KRW"},
     {"BV": ["1500.00"], "CG": ["F-77"], "BK": ["TX-1"]}),
    (f"01Y{DATE}AO111001|AL카드 회수됨|AA11100100001234|AC|AY1AZ", "block_patron",
     {"card_retained": "Y"}, {"AL": ["카드 회수됨"]}),
    (f"15+{DATE}AO111001|AA11100100001234|AB$111001EM0000123|AC|AY2AZ", "hold",
     {"hold_mode": "+"}, {"AB": ["$111001EM0000123"]}),
    ("97AZ", "request_acs_resend", {}, {}),
    ("96AZ", "request_sc_resend", {}, {}),
]


def test_every_request_row_has_a_case():
    assert {case[0][:2] for case in REQUEST_CASES} == set(REQUESTS)


@pytest.mark.parametrize("encoding", ["utf-8", "euc-kr"])
@pytest.mark.parametrize(("body", "name", "fixed", "fields"), REQUEST_CASES)
def test_decode_each_request(body, name, fixed, fields, encoding):
    frame = with_checksum(body, encoding) + b"\r"
    req = decode_request(frame, encoding)
    assert req.code == body[:2] and req.name == name
    assert list(req.fixed) == list(REQUESTS[req.code].fixed_names)
    for key, value in fixed.items():
        assert req.fixed[key] == value
    for key, value in fields.items():
        assert req.fields[key] == value
    assert req.checksum_present and req.checksum_ok
    assert req.unknown_fields == ()
    assert len(req.received_checksum) == 4
    expected_seq = body.split("AY")[1][0] if "AY" in body else None
    assert req.sequence == (int(expected_seq) if expected_seq else None)


def test_decode_without_error_detection_and_without_last_pipe():
    req = decode_request(f"17{DATE}AO111001|AB123|ACpw".encode())
    assert not req.checksum_present and not req.checksum_ok and req.sequence is None
    assert req.fields == {"AO": ["111001"], "AB": ["123"], "AC": ["pw"]}


def test_bad_checksum_is_flagged_not_raised():
    req = decode_request(b"9900802.00AY1AZFCA1")
    assert req.checksum_present and not req.checksum_ok and req.sequence == 1


def test_checksum_lookalike_inside_data_is_not_a_trailer():
    req = decode_request(f"17{DATE}AO111001|AJMy AZ1234".encode())
    assert req.fields["AJ"] == ["My AZ1234"] and not req.checksum_present


def test_repeated_unknown_and_empty_fields():
    body = f"23000{DATE}AO111001|AA1|AFone|AFtwo|ZZmystery|AC||AD|"
    req = decode_request(body.encode())
    assert req.fields["AF"] == ["one", "two"]
    assert req.fields["ZZ"] == ["mystery"]
    assert req.unknown_fields == ("AF", "ZZ")
    assert req.get("AD") == "" and req.get("BP") is None and req.all("AF") == ["one", "two"]


def test_barcodes_are_stripped_passwords_are_not():
    body = f"11NN{DATE}{BLANK_DATE}AO 111001 |AA 11100100001234 |AB  $111001EM0000123  |AD 12 |"
    req = decode_request(body.encode())
    assert req.get("AO") == "111001"
    assert req.get("AA") == "11100100001234"
    assert req.get("AB") == "$111001EM0000123"
    assert req.get("AD") == " 12 "


def test_no_block_blank_due_date_and_missing_fields():
    body = f"11YY{DATE}{BLANK_DATE}AO111001|AA1|AB2|"
    req = decode_request(body.encode())
    assert parse_sip_datetime(req.fixed["nb_due_date"]) is None
    assert req.get("AD") is None


def test_pipe_inside_multibyte_is_never_split_before_decoding():
    # cp949 trail bytes include ASCII letters: b"\x81A" is one Hangul syllable.
    frame = f"17{DATE}AO111001|AJ".encode() + "갂".encode("cp949") + b"|AB1|"
    req = decode_request(frame, "euc-kr")
    assert req.get("AJ") == "갂" and req.get("AB") == "1"


def test_invalid_bytes_are_replaced():
    frame = f"17{DATE}AJ".encode() + b"\xff\xfe|AB1|"
    req = decode_request(frame, "utf-8")
    assert req.get("AJ") == "\ufffd\ufffd" and req.get("AB") == "1"


@pytest.mark.parametrize(
    ("frame", "error"),
    [
        (b"", EmptyFrame),
        (b"\r\n  \x00", EmptyFrame),
        (b"\x16\x03\x01\x02\x00\x01\x00", MalformedFrame),
        (b"GET / HTTP/1.1", MalformedFrame),
        (b"9", MalformedFrame),
        (b"42hello", UnknownCommand),
        (b"990080", FixedPartTooShort),
        (b"11YN20240301", FixedPartTooShort),
    ],
)
def test_frame_errors(frame, error):
    with pytest.raises(error) as info:
        decode_request(frame)
    assert isinstance(info.value, FrameError) and str(info.value)


def test_unknown_command_carries_its_code():
    with pytest.raises(UnknownCommand) as info:
        decode_request(b"1920240301    103000")  # item status update: not served
    assert info.value.code == "19"
    with pytest.raises(FixedPartTooShort) as info:
        decode_request(b"63000")
    assert info.value.code == "63"


def test_responses_are_not_requests():
    with pytest.raises(UnknownCommand):
        decode_request(b"941")
    assert decode_response(b"941AY3AZFDFA").checksum_ok


# --- encoding: one response per table row -----------------------------------------------

STATUS = patron_status_flags(card_lost=True, excessive_fines=True)
RESPONSE_CASES = {
    "94": (["1"], []),
    "98": ({"online_status": "Y", "checkin_ok": "Y", "checkout_ok": "Y",
            "acs_renewal_policy": "Y", "status_update_ok": "N", "offline_ok": "Y",
            "timeout_period": "030", "retries_allowed": "003", "date_time_sync": DATE,
            "protocol_version": "2.00"},
           [("AO", "111001"), ("AM", "책이음 시립도서관"),
            ("BX", supported_messages(["23", "11", "09", "99", "97", "93", "63", "35",
                                       "37", "17", "29", "65", "01"])),
            ("AN", "1층 무인대출기")]),
    "24": ([STATUS, "000", DATE],
           [("AO", "111001"), ("AA", "11100100001234"), ("AE", "홍길동"), ("BL", "Y"),
            ("CQ", "N"), ("BH", "KRW"), ("BV", amount(1500)), ("AF", "연체료가 있습니다")]),
    "64": ({"patron_status": STATUS, "language": "000", "transaction_date": DATE,
            "hold_items_count": count(0), "overdue_items_count": count(1),
            "charged_items_count": count(3), "fine_items_count": count(1),
            "recall_items_count": count(None), "unavailable_holds_count": count(0)},
           [("AO", "111001"), ("AA", "11100100001234"), ("AE", "홍길동"), ("BZ", "0005"),
            ("CA", "0003"), ("CB", "0010"), ("BL", "Y"), ("CQ", "Y"),
            ("AU", "$111001EM0000123"), ("AU", "$111001EM0000124"), ("BD", None)]),
    "12": (["N", "N", "U", "N", DATE],
           [("AO", "111001"), ("AA", "11100100001234"), ("AB", "$111001EM0000123"),
            ("AJ", "채식주의자"), ("AH", "20240315    235959"), ("AF", "예약된 자료입니다")]),
    "30": (["1", "Y", "N", "Y", DATE],
           [("AO", "111001"), ("AA", "11100100001234"), ("AB", "$111001EM0000123"),
            ("AJ", "소년이 온다"), ("AH", "20240329    235959")]),
    "10": (["1", "Y", "N", "Y", DATE],
           [("AO", "111001"), ("AB", "$222002EM0000001"), ("AQ", "222002"), ("AJ", "토지"),
            ("CT", "222002"), ("CV", "04")]),
    "66": (["1", "0002", "0001", DATE],
           [("AO", "111001"), ("BM", "$111001EM1"), ("BM", "$111001EM2"),
            ("BN", "$111001EM3")]),
    "18": (["03", "00", "01", DATE],
           [("AB", "$111001EM0000123"), ("AJ", ""), ("AH", ""), ("AQ", "111001")]),
    "36": ("Y" + DATE, [("AO", "111001"), ("AA", "11100100001234")]),
    "38": (["Y", DATE], [("AO", "111001"), ("AA", "11100100001234"), ("BK", "TX-1")]),
    "16": (["1", "N", DATE],
           [("BR", "2"), ("BS", "111001"), ("AO", "111001"), ("AA", "11100100001234"),
            ("AB", "$111001EM0000123"), ("AJ", "채식주의자"), ("AF", "예약되었습니다")]),
    "96": ([], []),
}


def test_every_response_row_has_a_case():
    assert set(RESPONSE_CASES) == set(RESPONSES)


@pytest.mark.parametrize("encoding", ["utf-8", "euc-kr"])
@pytest.mark.parametrize("error_detection", [False, True])
@pytest.mark.parametrize("code", sorted(RESPONSE_CASES))
def test_encode_each_response(code, error_detection, encoding):
    fixed, fields = RESPONSE_CASES[code]
    spec = RESPONSES[code]
    frame = encode_response(code, fixed, fields, encoding=encoding,
                            error_detection=error_detection, sequence=7)
    assert frame.endswith(b"\r") and b"\n" not in frame and b"\x00" not in frame
    text = frame[:-1].decode(encoding)
    if isinstance(fixed, dict):
        expected_fixed = "".join(fixed[n] for n in spec.fixed_names)
    else:
        expected_fixed = "".join(fixed)
    assert text[:2] == code
    assert text[2 : 2 + spec.fixed_length] == expected_fixed
    resp = decode_response(frame, encoding)
    assert resp.code == code and "".join(resp.fixed.values()) == expected_fixed
    for fid, value in fields:
        if value is None:
            assert fid not in resp.fields
        else:
            assert value in resp.fields[fid]
    if error_detection:
        assert text[-9:-6] == "AY7" and text[-6:-4] == "AZ"
        assert frame[-5:-1] == ref_checksum(frame[:-5]).encode()
        assert resp.checksum_ok and resp.sequence == 7
    else:
        assert "AZ" not in text[-6:] and not resp.checksum_present


def test_encode_korean_checksum_depends_on_encoding():
    fixed = [patron_status_flags(), "000", DATE]
    utf8 = encode_response("24", fixed, [("AE", "홍길동")], error_detection=True, sequence=2)
    euckr = encode_response("24", fixed, [("AE", "홍길동")], encoding="euc-kr",
                            error_detection=True, sequence=2)
    assert "홍길동".encode() in utf8 and "홍길동".encode("euc-kr") in euckr
    assert utf8[-5:-1] != euckr[-5:-1]
    for frame in (utf8, euckr):
        assert verify_checksum(frame) and frame[-5:-1] == ref_checksum(frame[:-5]).encode()


def test_empty_ae_is_sent_none_is_skipped():
    frame = encode_response("24", [patron_status_flags(), "000", DATE],
                            [("AO", "111001"), ("AE", ""), ("BL", "N"), ("CQ", None)])
    assert frame.endswith(b"AO111001|AE|BLN|\r")


def test_field_sanitising_and_truncation():
    frame = encode_response("18", ["01", "00", "01", DATE],
                            [("AJ", "A | B\r\nC\rD\nE\x00F"), ("AF", "가" * 300)])
    text = frame.decode()
    assert "AJA / B C D EF|" in text
    assert "AF" + "가" * MAX_FIELD_CHARS + "|" in text
    assert sanitize("x" * 1000) == "x" * 255


def test_unencodable_characters_become_question_marks():
    frame = encode_response("18", ["01", "00", "01", DATE], [("AJ", "토지 Té")], encoding="cp850")
    assert b"AJ?? T\x82|" in frame


def test_terminator_and_default_sequence():
    frame = encode_response("94", "1", error_detection=True, terminator=b"\r\n")
    assert frame.startswith(b"941AY0AZ") and frame.endswith(b"\r\n")
    with pytest.raises(EncodeError):
        encode_response("94", "1", terminator=b"\x00")


@pytest.mark.parametrize(
    ("code", "fixed", "fields"),
    [
        ("95", "1", []),  # not a response
        ("94", "", []),  # too short
        ("94", ["YY"], []),
        ("94", ["1", "2"], []),
        ("36", {"end_session": "Y"}, []),  # missing transaction_date
        ("36", {"end_session": "Y", "transaction_date": DATE, "extra": "x"}, []),
        ("18", ["3", "00", "01", DATE], []),
        ("94", ["|"], []),
        ("94", ["가"], []),
        ("94", "1", [("A", "x")]),
        ("94", "1", [("ay", "x")]),
        ("94", "1", [("AY", "1")]),
        ("94", "1", [("AZ", "FFFF")]),
        ("94", "1", [("AF", 12)]),
    ],
)
def test_encode_rejects_invalid_input(code, fixed, fields):
    with pytest.raises(EncodeError):
        encode_response(code, fixed, fields)


def test_encode_rejects_bad_sequence():
    with pytest.raises(EncodeError):
        encode_response("94", "1", error_detection=True, sequence=100)


def test_encode_request_round_trip():
    frame = encode_request("93", ["0", "0"], [("CN", "kiosk"), ("CO", "pw"), ("CP", "111001")],
                           error_detection=True, sequence=3)
    req = decode_request(frame)
    assert req.checksum_ok and req.sequence == 3 and req.get("CN") == "kiosk"


# --- helpers ----------------------------------------------------------------------------


def test_sip_datetime_formats_local_time():
    assert sip_datetime(datetime(2024, 3, 1, 10, 30, 0)) == DATE
    kst = timezone(timedelta(hours=9))
    aware = datetime(2024, 3, 1, 1, 30, 0, tzinfo=UTC)
    assert sip_datetime(aware, kst) == DATE
    assert len(sip_datetime()) == 18 and sip_datetime()[8:12] == "    "


def test_parse_sip_datetime():
    assert parse_sip_datetime(DATE) == datetime(2024, 3, 1, 10, 30, 0)
    kst = timezone(timedelta(hours=9))
    assert parse_sip_datetime(DATE, kst) == datetime(2024, 3, 1, 10, 30, tzinfo=kst)
    assert parse_sip_datetime("20240301   Z013000", kst) == datetime(2024, 3, 1, 10, 30,
                                                                       tzinfo=kst)
    utc_naive = parse_sip_datetime("20240301   Z013000")
    assert utc_naive is not None and utc_naive.tzinfo is None


@pytest.mark.parametrize(
    "value",
    [BLANK_DATE, "", None, "2024030110300", "20241301    103000", "20240230    103000",
     "2024-03-01  103000", "00000000    000000", "２０２４0301    103000", "20240301    25000x",
     20240301],
)
def test_parse_sip_datetime_garbage_is_none(value):
    assert parse_sip_datetime(value) is None
    assert parse_sip_datetime(value, timezone(timedelta(hours=9))) is None


def test_parse_sip_datetime_overflow_is_none():
    assert parse_sip_datetime("99991231   Z235959", timezone(timedelta(hours=9))) is None


def test_flags_and_small_helpers():
    assert yn(True) == "Y" and yn(False) == "N"
    assert patron_status_flags() == " " * 14
    assert patron_status_flags(charge_denied=True, too_many_billed=True) == "Y" + " " * 12 + "Y"
    assert patron_status_flags(renew_denied=False) == " " * 14
    with pytest.raises(TypeError):
        patron_status_flags(bogus=True)
    bx = supported_messages(["23", "65"])
    assert len(bx) == 16 and bx == "Y" + "N" * 14 + "Y"
    assert summary_field("          ") is None
    assert summary_field("  Y       ") == "AU" and summary_field("Y") == "AS"
    assert count(3) == "0003" and count(None) == "    " and count(123456) == "9999"
    assert count(-1) == "0000" and count(7, 3) == "007"


@pytest.mark.parametrize(
    ("value", "text"),
    [(1500, "1500.00"), (Decimal("1234.5"), "1234.50"), ("0.005", "0.01"), (0, "0.00"),
     (Decimal("-0.001"), "0.00"), (2.5, "2.50"), (Decimal("-3"), "-3.00"),
     (Decimal("1E+3"), "1000.00")],
)
def test_amount_always_uses_a_dot(value, text):
    assert amount(value) == text
    assert amount(1500, places=0) == "1500"


def test_amount_rejects_non_finite():
    with pytest.raises(ValueError):
        amount(Decimal("NaN"))


@pytest.mark.parametrize(
    ("text", "value"),
    [("1500", Decimal("1500")), (" 1500.00 ", Decimal("1500.00")), ("1,500", Decimal("1500")),
     ("1,500.50", Decimal("1500.50")), ("15,50", Decimal("15.50")), ("-3", Decimal("-3")),
     (".5", Decimal(".5")), ("", None), ("abc", None), ("1.2.3", None), (None, None),
     ("1e5", None), ("NaN", None)],
)
def test_parse_amount(text, value):
    assert parse_amount(text) == value


# --- properties -------------------------------------------------------------------------


@settings(max_examples=300)
@given(st.binary(max_size=300), st.sampled_from(ENCODINGS))
def test_decode_request_raises_only_frame_error(data, encoding):
    try:
        req = decode_request(data, encoding)
    except FrameError:
        return
    assert req.code in REQUESTS


@settings(max_examples=300)
@given(st.sampled_from(sorted(REQUESTS)), st.binary(max_size=120), st.sampled_from(ENCODINGS))
def test_decode_request_with_valid_code_and_random_tail(code, tail, encoding):
    try:
        req = decode_request(code.encode() + tail, encoding)
    except (FixedPartTooShort, EmptyFrame):
        return
    assert req.code == code
    assert all("|" not in v for values in req.fields.values() for v in values)


@given(st.binary(max_size=200))
def test_checksum_property(body):
    body += b"AZ"
    cs = checksum(body)
    assert len(cs) == 4 and cs == cs.upper()
    assert (sum(body) + int(cs, 16)) & 0xFFFF == 0
    assert verify_checksum(body + cs.encode()) and verify_checksum(body + cs.lower().encode())


KOREAN = "가나다라마바사아자차카타파하홍길동책이음도서관채식주의자소년이온다토지"
VALUES = st.text(
    alphabet=st.sampled_from(
        [chr(c) for c in range(0x20, 0x7F)] + list(KOREAN) + ["|", "\r", "\n", "\x00"]
    ),
    max_size=300,
)


@settings(max_examples=200)
@given(
    st.lists(st.tuples(st.sampled_from(["AF", "AG", "AE", "AJ", "AH", "XX"]), VALUES),
             max_size=6),
    st.sampled_from(["utf-8", "euc-kr", "cp949"]),
    st.booleans(),
    st.integers(0, 9),
)
def test_encode_decode_round_trip(fields, encoding, error_detection, sequence):
    frame = encode_response("18", ["03", "00", "01", DATE], fields, encoding=encoding,
                            error_detection=error_detection, sequence=sequence)
    resp = decode_response(frame, encoding)
    expected: dict[str, list[str]] = {}
    for fid, value in fields:
        expected.setdefault(fid, []).append(sanitize(value))
    assert resp.fields == expected
    assert resp.fixed["circulation_status"] == "03"
    if error_detection:
        assert resp.checksum_ok and resp.sequence == sequence


@given(st.lists(st.tuples(st.sampled_from(["AA", "AB", "AO"]), VALUES), max_size=4))
def test_round_trip_of_id_fields_strips_spaces(fields):
    frame = encode_request("17", [DATE], fields)
    req = decode_request(frame)
    for fid, value in fields:
        assert sanitize(value).strip() in req.fields[fid]
