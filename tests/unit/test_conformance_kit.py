"""The conformance kit's own pieces: its SIP2 table and parser (independent of the
server's codec), the member-number check digit, the report's masking and schema."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from chaekieum.conformance import report as reports
from chaekieum.conformance.catalogue import BY_ID, CATALOGUE, GENERIC
from chaekieum.conformance.checks import check_digit
from chaekieum.conformance.runner import Options, Outcome, Result
from chaekieum.conformance.sip2wire import Malformed, check_response, checksum, frame, parse
from chaekieum.domain.numbering import make_member_number

NOW = "20260304    100000"


def reply(text: str) -> bytes:
    data = text.encode() + b"AY1AZ"
    return data + checksum(data).encode()


def test_checksum_matches_the_worked_example() -> None:
    assert checksum(b"9900802.00AY1AZ") == "FCA0"
    assert frame("9900802.00", 1) == b"9900802.00AY1AZFCA0\r"


def test_check_digit_agrees_with_the_numbering_standard() -> None:
    for serial in (1, 7, 12345, 99999):
        number = make_member_number("111001", 2026, serial)
        assert check_digit(number[:13]) == int(number[13])


def test_a_well_formed_12_passes_field_by_field() -> None:
    r = parse(reply(f"121NNY{NOW}AO111001|AA11100126000013|AB$111001EM0000000001|AJ제목|"
                    f"AH20260318    235959|"), "utf-8")
    assert r.checksum_ok and check_response(r, "12") == []


@pytest.mark.parametrize("text, problem", [
    (f"121NNY{NOW}AO111001|AA1|AB2|AJ3|", "required field AH missing"),
    (f"121NNY{NOW}AO1110|AA1|AB2|AJ3|AH|", "field AO"),
    (f"121NNY{NOW}AO111001|AA1|AB2|AJ3|AH2026-03-18|", "field AH"),
])
def test_missing_or_malformed_fields_are_named(text: str, problem: str) -> None:
    problems = check_response(parse(reply(text), "utf-8"), "12")
    assert any(problem in p for p in problems), problems


@pytest.mark.parametrize("text, code, problem", [
    (f"6610002   0{NOW}AO111001|BM$111001ZS0000000001|BM$111001ZS0000000002|", "66", None),
    (f"661   2   0{NOW}AO111001|", "66", None),  # counts may be space-padded
    (f"661{NOW}AO111001|", "66", "fixed part"),
    (f"161N{NOW}BR1|BS111001|AO111001|AA11100126000013|AB$111001ZS0000000001|", "16", None),
    (f"161N{NOW}BR1|BS1110|AO111001|AA1|", "16", "field BS"),
    (f"161Y{NOW}BWsoon|AO111001|AA1|", "16", "field BW"),
    (f"160N{NOW}AO111001|", "16", "required field AA missing"),
    (f"18040001{NOW}AB$111001ZS0000000001|AJ|AH20260318    235959|", "18", None),
    (f"18040001{NOW}AB1|AJ|AH18 March|", "18", "field AH"),
    (f"36Y{NOW}AO111001|AA11100126000013|", "36", None),
])
def test_renew_all_hold_item_and_end_session_replies(text: str, code: str,
                                                     problem: str | None) -> None:
    if problem == "fixed part":
        with pytest.raises(Malformed, match=problem):
            parse(reply(text), "utf-8")
        return
    problems = check_response(parse(reply(text), "utf-8"), code)
    assert (problems == []) if problem is None else any(problem in p for p in problems), \
        problems


@pytest.mark.parametrize("text, problem", [
    (f"121NN{NOW}AO111001|", "fixed part"),  # one flag short
    (f"12XNNY{NOW}AO111001|", "fixed part ok"),
    ("98YYYYNN00500320260304    1000002.0AO111001|", "fixed part"),
    ("42xyz", "unexpected response code"),
])
def test_bad_fixed_parts_are_refused(text: str, problem: str) -> None:
    with pytest.raises(Malformed, match=problem):
        parse(reply(text), "utf-8")


def test_a_wrong_checksum_is_reported() -> None:
    line = bytearray(reply("941"))
    line[-1] = ord("0") if line[-1] != ord("0") else ord("1")
    r = parse(bytes(line), "utf-8")
    assert r.checksum_ok is False
    assert "checksum" in check_response(r, "94")[0]


def test_euc_kr_read_as_utf8_is_malformed() -> None:
    data = f"64              000{NOW}   0   0   0   0   0   0AO111001|AA1|AE".encode() + \
        "시험회원1".encode("euc-kr") + b"|"
    with pytest.raises(Malformed, match="utf-8"):
        parse(data, "utf-8")
    assert parse(data, "euc-kr").get("AE") == "시험회원1"


def test_every_failure_code_has_fix_it_text_and_is_stable() -> None:
    for s in CATALOGUE:
        codes = [f.code for f in s.failures + GENERIC]
        assert len(codes) == len(set(codes)), s.id
        assert all(s.fix(c) for c in codes)
    with pytest.raises(KeyError):
        BY_ID["REST-05"].fix("NO_SUCH_CODE")


def test_report_masks_personal_data_and_validates() -> None:
    number = make_member_number("111001", 2026, 13)
    rest = {"channel": "rest", "method": "GET", "url": f"http://h/api/v1/members/{number}",
            "request_body": "", "status": 200,
            "response_body": json.dumps({"number": number, "name": "김하늘",
                                         "phone": "010-1234-5678", "loan": {"due_on": "x"}},
                                        ensure_ascii=False)}
    sip = {"channel": "sip2", "sent": f"63000{NOW}          AO111001|AA{number}|ADsecret|",
           "received": f"64...AO111001|AA{number}|AE김하늘|BEa@b.kr|BLY|"}
    scenario = BY_ID["SIP-03"]
    at = datetime(2026, 3, 4, tzinfo=UTC)
    outcome = Outcome(Options(target="http://h", library="111001", key="k"),
                      [Result(scenario, "fail", f"member {number}", "PATRON_NOT_VALID",
                              exchanges=[rest, sip])], at, at, {"peer": "111002"},
                      {"removed": {"members": 1}, "left": {"members": 0, "copies": 0}})
    doc = reports.build(outcome)
    text = reports.to_json(doc) + reports.to_html(doc)
    for secret in (number, "김하늘", "010-1234-5678", "a@b.kr", "secret"):
        assert secret not in text
    assert "11100126****" in text and '"due_on": "x"' in reports.to_json(doc).replace(
        '\\"', '"')
    again = reports.load_report(reports.to_json(doc))
    assert again.summary.result == "fail" and again.results[0].fix_ko
    with pytest.raises(ValueError):
        reports.load_report(reports.to_json(doc).replace('"fail"', '"maybe"', 1))


@pytest.mark.parametrize(("statuses", "result", "exit_code"), [
    (["pass", "not_applicable", "not_applicable"], "pass", 0),
    (["pass", "pass"], "pass", 0),
    (["pass", "skipped", "not_applicable"], "incomplete", 3),  # skipped for another reason
    (["pass", "fail", "not_applicable"], "fail", 1),
    (["not_applicable", "not_applicable"], "incomplete", 3),  # nothing was checked
])
def test_not_applicable_does_not_make_a_run_incomplete(statuses: list[str], result: str,
                                                       exit_code: int) -> None:
    at = datetime(2026, 3, 4, tzinfo=UTC)
    outcome = Outcome(Options(target="http://h", library="111001", key="k"),
                      [Result(CATALOGUE[n], s, "why") for n, s in enumerate(statuses)],
                      at, at, {}, {"removed": {}, "left": {"members": 0, "copies": 0}})
    doc = reports.build(outcome)
    assert (doc.summary.result, outcome.exit_code) == (result, exit_code)
    assert doc.summary.not_applicable == statuses.count("not_applicable")
    assert doc.schema_ == "chaekieum-conformance/2"
    assert reports.load_report(reports.to_json(doc)) == doc
    assert ("해당 없음" in reports.to_html(doc)) is ("not_applicable" in statuses)


def test_version_1_reports_still_load() -> None:
    """A report the kit wrote before version 2 (no not_applicable anywhere) loads as it
    was; version 1 with the new status, or an unknown version, is refused."""
    at = datetime(2026, 3, 4, tzinfo=UTC)
    outcome = Outcome(Options(target="http://h", library="111001", key="k"),
                      [Result(CATALOGUE[0], "pass"), Result(CATALOGUE[1], "skipped", "x")],
                      at, at, {}, {"removed": {}, "left": {"members": 0, "copies": 0}})
    v1 = json.loads(reports.to_json(reports.build(outcome)))
    v1["schema"] = "chaekieum-conformance/1"
    del v1["summary"]["not_applicable"]
    old = reports.load_report(json.dumps(v1))
    assert (old.schema_, old.summary.result, old.summary.not_applicable) == (
        "chaekieum-conformance/1", "incomplete", 0)
    assert "건너뜀" in reports.to_html(old)
    v1["results"][1]["status"] = "not_applicable"
    with pytest.raises(ValueError, match="not_applicable"):
        reports.load_report(json.dumps(v1))
    v1["schema"] = "chaekieum-conformance/3"
    with pytest.raises(ValueError):
        reports.load_report(json.dumps(v1))
