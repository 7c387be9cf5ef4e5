"""Every failure has one JSON shape and a proper 4xx, never a 500."""

from __future__ import annotations

import pytest


def assert_error(r, status: int, code: str) -> dict:
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) == {"code", "message", "details", "reasons"}
    assert body["code"] == code
    assert body["message"] and not body["message"].isascii()  # Korean by default
    return body


def test_missing_and_invalid_credentials(client, libs):
    assert_error(client.get("/api/v1/regions"), 401, "AUTH_REQUIRED")
    r = client.get("/api/v1/regions", headers={"Authorization": "Bearer ck_nope_nope"})
    assert_error(r, 401, "AUTH_INVALID")
    r = client.get("/api/v1/regions", headers={"Authorization": "Basic abc"})
    assert_error(r, 401, "AUTH_REQUIRED")


def test_malformed_json(libs):
    lib = libs["111001"]
    r = lib.client.post("/api/v1/circulation/checkout", content=b'{"member": ',
                        headers={**lib.headers, "Content-Type": "application/json"})
    assert_error(r, 400, "MALFORMED_JSON")


@pytest.mark.parametrize("body", [
    {"member": 123, "item": "$111001EM0000000001"},
    {"member": "x"},
    {"member": ["a"], "item": {"b": 1}},
    [],
    "just a string",
])
def test_wrong_types_and_missing_fields(libs, body):
    body = assert_error(libs["111001"].post("/circulation/checkout", body), 422,
                        "VALIDATION_ERROR")
    assert body["details"]["problems"]


def test_unknown_fields_are_refused(libs, members):
    r = libs["111001"].post("/circulation/checkout", {
        "member": members[0], "item": "$111001EM0000000001", "membr": "typo"})
    body = assert_error(r, 422, "VALIDATION_ERROR")
    assert body["details"]["problems"][0]["field"] == "membr"


def test_huge_bodies_get_413(libs):
    lib = libs["111001"]
    blob = b'{"member": "' + b"1" * (2 * 1024 * 1024) + b'"}'
    r = lib.client.post("/api/v1/circulation/checkout", content=blob,
                        headers={**lib.headers, "Content-Type": "application/json"})
    assert_error(r, 413, "PAYLOAD_TOO_LARGE")


def test_unknown_route_and_method(client, libs):
    assert_error(libs["111001"].get("/no-such-thing"), 404, "NOT_FOUND")
    r = client.delete("/api/v1/circulation/checkout", headers=libs["111001"].headers)
    assert_error(r, 405, "METHOD_NOT_ALLOWED")


@pytest.mark.parametrize("item,code", [
    ("not a barcode!", "INVALID_BARCODE"),
    ("$12345", "INVALID_BARCODE"),
    ("#111001", "INVALID_BARCODE"),
    ("$111001EM0000009999", "COPY_UNKNOWN"),
])
def test_bad_items(libs, members, item, code):
    r = libs["111001"].checkout(members[0], item)
    assert r.json()["code"] == code


@pytest.mark.parametrize("member,code", [
    ("11100126000011", "INVALID_MEMBER_NUMBER"),  # wrong check digit
    ("99999926000010", "MEMBER_UNKNOWN"),
    ("unknown-card-uid", "MEMBER_UNKNOWN"),
])
def test_bad_members(libs, member, code):
    from chaekieum.domain.numbering import is_valid_member_number

    if code == "MEMBER_UNKNOWN" and member.isdigit():
        assert is_valid_member_number(member)
    r = libs["111001"].checkout(member, "$111001EM0000000001")
    assert r.json()["code"] == code


def test_refusal_lists_every_reason(libs, members, any_hub):
    from chaekieum.services.context import SYSTEM

    number = members[0]
    any_hub.members.report_card_lost(SYSTEM, number)
    r = libs["111001"].checkout(number, "$111001EM0000000012")  # copy 12 is not loanable
    body = assert_error(r, 409, "CARD_LOST")
    assert [x["code"] for x in body["reasons"]] == ["CARD_LOST", "COPY_NOT_LOANABLE"]


def test_english_messages_on_request(libs, members):
    lib = libs["111001"]
    r = lib.client.post("/api/v1/circulation/checkin", json={"item": lib.item(1)},
                        headers={**lib.headers, "Accept-Language": "en"})
    assert r.json()["message"] == "The item is not on loan."


def test_idempotency_key_replays_and_never_applies_twice(libs, members, any_hub):
    lib = libs["111001"]
    body = {"member": members[0], "item": lib.item(7)}
    first = lib.post("/circulation/checkout", body, **{"Idempotency-Key": "k-1"})
    again = lib.post("/circulation/checkout", body, **{"Idempotency-Key": "k-1"})
    assert first.status_code == again.status_code == 200
    assert first.json() == again.json()
    assert first.headers["Idempotent-Replayed"] == "false"
    assert again.headers["Idempotent-Replayed"] == "true"
    loans = lib.get(f"/members/{members[0]}/loans").json()["items"]
    assert len(loans) == 1
    # the same key with another body is a client bug, refused
    r = lib.post("/circulation/checkout", {**body, "item": lib.item(8)},
                 **{"Idempotency-Key": "k-1"})
    assert_error(r, 422, "IDEMPOTENCY_KEY_REUSED")
    # refusals are results too: a retry gets the same refusal
    bad = {"member": members[0], "item": lib.item(12)}
    r1 = lib.post("/circulation/checkout", bad, **{"Idempotency-Key": "k-2"})
    r2 = lib.post("/circulation/checkout", bad, **{"Idempotency-Key": "k-2"})
    assert r1.status_code == r2.status_code == 409 and r1.json() == r2.json()
    # keys are per caller: another library may use the same key string
    other = libs["111002"]
    r = other.post("/circulation/checkout", {"member": members[0], "item": other.item(1)},
                   **{"Idempotency-Key": "k-1"})
    assert r.status_code == 200 and r.headers["Idempotent-Replayed"] == "false"


def test_library_key_cannot_act_for_another_library(libs, admin):
    lib = libs["111001"]
    r = lib.post("/libraries/111002/terminals", {"login": "x", "password": "12345678"})
    assert_error(r, 403, "FORBIDDEN")
    r = lib.client.get("/api/v1/events", headers={**lib.headers, "X-Acting-Library": "111002"})
    assert r.status_code == 200  # the header is ignored for library keys: own feed only
    assert_error(lib.post("/libraries", {"code": "999999", "name": "x", "region_code": "seoul"}),
                 403, "FORBIDDEN")


def test_non_live_library_cannot_lend(client, members, any_hub):  # noqa: ANN001
    from chaekieum.services.context import SYSTEM

    from .apiclient import LibraryClient

    building = LibraryClient(client, "141099")
    # before pilot: its own sandbox data only, never a real member or copy
    body = assert_error(building.checkout(members[0], building.item(1)), 403, "SANDBOX_ONLY")
    assert body["details"]["library_code"] == "141099"
    any_hub.onboarding.move(SYSTEM, "141099", "on_hold", "예산 재편성")
    body = assert_error(building.checkout(members[0], building.item(1)), 409,
                        "LIBRARY_NOT_LIVE")
    assert body["details"]["status"] == "on_hold"
