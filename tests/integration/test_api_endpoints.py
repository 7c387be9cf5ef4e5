"""Every endpoint of /api/v1, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta


def test_health_and_openapi(client):
    assert client.get("/api/v1/health").json()["status"] == "ok"
    spec = client.get("/api/v1/openapi.json").json()
    paths = spec["paths"]
    for path in ("/api/v1/circulation/checkout", "/api/v1/events", "/api/v1/members/{ref}",
                 "/api/v1/libraries/{code}/terminals", "/api/v1/policies/{level}"):
        assert path in paths
    assert client.get("/api/docs").status_code == 200


def test_register_member_and_manage_card(libs, clock):
    lib = libs["121001"]
    r = lib.post("/members", {"name": "한결", "birth_year": 1999, "phone": "010-2222-3333",
                              "ci": "ci-hangyeol", "consents": {"privacy": True}})
    assert r.status_code == 201, r.text
    member = r.json()
    number = member["number"]
    assert number.startswith("12100126") and len(number) == 14  # library code + year 26
    assert member["libraries"][0]["how"] == "direct"
    # the same person (same CI) cannot register twice, anywhere
    r = libs["111001"].post("/members", {"name": "한결", "birth_year": 1999, "ci": "ci-hangyeol"})
    assert r.status_code == 409 and r.json()["code"] == "DUPLICATE_MEMBER"
    # under 14 needs a guardian
    r = lib.post("/members", {"name": "어린이", "birth_year": clock.today().year - 8})
    assert r.json()["code"] == "GUARDIAN_REQUIRED"
    r = lib.post("/members", {"name": "어린이", "birth_year": clock.today().year - 8,
                              "guardian_name": "보호자", "guardian_phone": "010-1111-2222"})
    assert r.status_code == 201
    # update, lookup by card UID, lost card blocks lending; a new card does not unblock:
    # lifting the block is its own (audited) action
    assert lib.client.patch(f"/api/v1/members/{number}", json={"email": "h@example.kr"},
                            headers=lib.headers).json()["email"] == "h@example.kr"
    r = lib.client.put(f"/api/v1/members/{number}/card-uid", json={"card_uid": "04A1B2C3"},
                       headers=lib.headers)
    assert r.json()["card_uid_linked"] is True
    assert lib.get("/members/04A1B2C3").json()["number"] == number
    assert lib.checkout("04A1B2C3", lib.item(1)).status_code == 200
    assert lib.post(f"/members/{number}/card-lost").json()["card_lost"] is True
    r = lib.checkout(number, lib.item(2))
    assert r.json()["code"] == "CARD_LOST"
    r = lib.client.put(f"/api/v1/members/{number}/card-uid", json={"card_uid": "04FFFFFF"},
                       headers=lib.headers)
    assert r.status_code == 200 and r.json()["card_lost"] is True
    assert lib.checkout("04FFFFFF", lib.item(2)).json()["code"] == "CARD_LOST"
    r = lib.post(f"/members/{number}/card-lost/lift")
    assert r.status_code == 200 and r.json()["card_lost"] is False
    assert lib.post(f"/members/{number}/card-lost/lift").status_code == 200  # idempotent
    assert lib.checkout(number, lib.item(2)).status_code == 200
    # a UID linked to another member is refused
    other = lib.post("/members", {"name": "다른이", "birth_year": 1990}).json()["number"]
    r = lib.client.put(f"/api/v1/members/{other}/card-uid", json={"card_uid": "04FFFFFF"},
                       headers=lib.headers)
    assert r.status_code == 409 and r.json()["code"] == "CARD_UID_IN_USE"
    assert lib.get(f"/members/{other}").json()["card_uid_linked"] is False
    # search by number prefix and by name
    found = [m["number"] for m in lib.get("/members", q=number[:10]).json()["items"]]
    assert number in found and all(n.startswith(number[:10]) for n in found)
    assert lib.get("/members", q="한결").json()["items"][0]["number"] == number


def test_other_libraries_see_masked_personal_data(libs, members):
    home, other = libs["111001"], libs["121001"]
    full = home.get(f"/members/{members[0]}").json()
    masked = other.get(f"/members/{members[0]}").json()
    assert full["personal_data_visible"] and not masked["personal_data_visible"]
    assert full["name"] == "김하늘" and masked["name"] == "김*늘"
    assert masked["phone"] == "010-****-5678" and masked["birth_year"] is None
    # once the member joins there (auto-join on a loan), that library may see them
    other.checkout(members[0], other.item(1))
    assert other.get(f"/members/{members[0]}").json()["name"] == "김하늘"


def test_explicit_join(libs, members):
    r = libs["126001"].post(f"/members/{members[0]}/join")
    assert {j["library_code"] for j in r.json()["libraries"]} >= {"126001"}


def test_renew_rules_and_undo(libs, members, clock):
    lib = libs["111001"]
    loan = lib.checkout(members[0], lib.item(1)).json()["loan"]
    r = lib.post("/circulation/renew", {"item": lib.item(1)})
    assert r.json()["code"] == "RENEW_SAME_DAY"
    # renewal at another library is refused: own-library items only
    clock.advance(days=1)
    r = libs["111002"].post("/circulation/renew", {"item": lib.item(1)})
    assert r.json()["code"] == "RENEW_NOT_OWN_LIBRARY"
    r = lib.post("/circulation/renew", {"item": lib.item(1), "member": members[0]})
    assert r.status_code == 200, r.text
    renewed = r.json()["loan"]
    assert renewed["renewals"] == 1 and renewed["due_on"] > loan["due_on"]
    # checking out what you hold is a renewal too — none left now
    r = lib.checkout(members[0], lib.item(1))
    assert r.json()["code"] == "RENEW_LIMIT_REACHED"
    # undo checkout only on the same day
    r = lib.post("/circulation/undo-checkout", {"loan_id": loan["id"]})
    assert r.json()["code"] == "UNDO_NOT_SAME_DAY"
    fresh = lib.checkout(members[0], lib.item(2)).json()["loan"]
    r = lib.post("/circulation/undo-checkout", {"loan_id": fresh["id"]})
    assert r.json()["loan"]["state"] == "undone"
    assert lib.get(f"/copies/{lib.item(2)}").json()["on_loan"] is False


def test_undo_checkin_restores_loan_and_lifts_the_suspension(libs, members, clock):
    lib = libs["111001"]
    lib.checkout(members[1], lib.item(3))
    clock.advance(days=20)
    r = lib.checkin(lib.item(3))
    assert r.json()["suspension"] is not None
    loan_id = r.json()["loan"]["id"]
    assert lib.get(f"/members/{members[1]}").json()["status"] == "suspended"
    r = lib.post("/circulation/undo-checkin", {"loan_id": loan_id})
    assert r.status_code == 200, r.text
    assert r.json()["loan"]["state"] == "active"
    view = lib.get(f"/members/{members[1]}").json()
    assert view["status"] == "active" and view["suspended_until"] is None
    history = lib.get(f"/members/{members[1]}/suspensions").json()["items"]
    assert history[0]["lifted"] is True


def test_offline_replay_is_recorded_flagged_and_idempotent(libs, members, any_hub, clock):
    from chaekieum.services.context import SYSTEM

    lib = libs["111001"]
    any_hub.members.report_card_lost(SYSTEM, members[2])
    when = (clock.now() - timedelta(hours=3)).isoformat() + "+00:00"
    body = {"member": members[2], "item": lib.item(4), "offline": True, "occurred_at": when,
            "client_txn_id": "offline-0001", "due_on": "2026-03-18"}
    r = lib.post("/circulation/checkout", body)
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["loan"]["offline"] is True and out["loan"]["due_on"] == "2026-03-18"
    assert [e["code"] for e in out["exceptions"]] == ["CARD_LOST"]
    again = lib.post("/circulation/checkout", body).json()
    assert again["replayed"] is True and again["loan"]["id"] == out["loan"]["id"]
    follow_up = lib.get("/exceptions").json()["items"]
    assert [(x["loan_id"], x["action"]) for x in follow_up] == [(out["loan"]["id"], "checkout")]
    assert lib.post(f"/exceptions/{follow_up[0]['id']}/resolve").json()["resolved"] is True
    assert lib.get("/exceptions").json()["items"] == []
    # an offline return replayed twice is applied once
    ret = {"item": lib.item(4), "offline": True, "client_txn_id": "offline-r-1"}
    assert lib.checkin(**ret).json()["replayed"] is False
    assert lib.checkin(**ret).json()["replayed"] is True


def test_copies_bulk_and_lookup(libs, members):
    lib = libs["111002"]
    r = lib.post("/copies/bulk", {"copies": [
        {"registration_number": "JM77", "title": "새 책", "loanable": True},
        {"registration_number": "EM0000000001", "title": "바뀐 제목"},
    ]})
    assert r.json() == {"created": 1, "updated": 1, "unchanged": 0}
    copy = lib.get("/copies/JM0000000077").json()
    assert copy["item"] == "$111002JM0000000077" and copy["title"] == "새 책"
    assert lib.checkout(members[0], "JM77").status_code == 200  # plain 등록번호 at the owner
    assert lib.get("/copies/JM77").json()["on_loan"] is True


def test_institution_barcode_owner_hint(libs, members):
    owner, desk = libs["111001"], libs["111003"]
    owner.checkout(members[0], owner.item(5))
    # at another desk, a plain 등록번호 after a 기관바코드 scan of the owner
    r = desk.checkin("EM0000000005", owner_library="111001")
    assert r.status_code == 200 and r.json()["route"] == "transit"


def test_network_registry_and_onboarding(admin, libs):
    assert len(admin.get("/regional-centers").json()["items"]) == 22
    assert {r["code"] for r in admin.get("/regions").json()["items"]} >= {"seoul", "jeju"}
    r = admin.post("/libraries", {"code": "131001", "name": "대구 새도서관",
                                  "region_code": "daegu", "center_id": 16,
                                  "closed_weekdays": [0], "status": "suitability_check"})
    assert r.status_code == 201, r.text
    r = admin.post("/libraries", {"code": "131001", "name": "x", "region_code": "daegu"})
    assert r.json()["code"] == "LIBRARY_EXISTS"
    r = admin.post("/libraries/131001/stage", {"stage": "live"})
    assert r.json()["code"] == "ONBOARDING_BAD_STEP"
    for stage in ("vendor_selection", "application", "registered", "building", "final_test"):
        r = admin.post("/libraries/131001/stage", {"stage": stage, "note": "ok"})
        assert r.json()["status"] == stage, r.text
    # the pilot gate (test_onboarding.py walks the rest of the way)
    r = admin.post("/libraries/131001/stage", {"stage": "pilot"})
    assert r.status_code == 409 and r.json()["code"] == "ONBOARDING_NO_REPORT", r.text
    detail = admin.get("/libraries/131001").json()
    assert [s["stage"] for s in detail["onboarding_log"]][-1] == "final_test"
    assert detail["live_since"] is None
    r = admin.client.patch("/api/v1/libraries/131001", json={"closed_weekdays": [0, 6]},
                           headers=admin.headers)
    assert r.status_code == 200, r.text
    r = admin.client.put("/api/v1/libraries/131001/closed-dates", headers=admin.headers,
                         json={"days": [{"day": "2026-05-01", "reason": "개관기념일"}]})
    assert r.json() == {"count": 1}
    assert admin.get("/libraries/131001").json()["closed_dates"][0]["day"] == "2026-05-01"
    listing = admin.get("/libraries", region="daegu").json()
    assert listing["total"] == 1 and listing["items"][0]["closed_weekdays"] == [0, 6]


def test_policy_cascade_over_the_api(admin, libs, members):
    r = admin.client.put("/api/v1/policies/region?scope=seoul", headers=admin.headers,
                         json={"settings": {"loan_period_days": 21}})
    assert r.status_code == 200, r.text
    r = admin.client.put("/api/v1/policies/library?scope=111002", headers=admin.headers,
                         json={"settings": {"loan_period_days": 7, "library_loan_limit": 1}})
    assert r.status_code == 200
    assert admin.get("/libraries/111001/policy").json()["loan_period_days"] == 21
    assert admin.get("/libraries/111002/policy").json()["loan_period_days"] == 7
    assert admin.get("/libraries/121001/policy").json()["loan_period_days"] == 14
    stored = admin.get("/policies/library", scope="111002").json()
    assert stored["settings"] == {"loan_period_days": 7, "library_loan_limit": 1}
    lib = libs["111002"]
    assert lib.checkout(members[0], lib.item(1)).status_code == 200
    assert lib.checkout(members[0], lib.item(2)).json()["code"] == "LIBRARY_LIMIT_REACHED"
    r = admin.client.put("/api/v1/policies/national", headers=admin.headers,
                         json={"settings": {"suspension_mode": "maximum"}})
    assert r.json()["code"] == "POLICY_INVALID"
    # a library's own key cannot change policy
    r = lib.client.put("/api/v1/policies/library?scope=111002", headers=lib.headers,
                       json={"settings": {"loan_period_days": 30}})
    assert r.json()["code"] == "FORBIDDEN"


def test_credentials_lifecycle(admin, libs, client):
    r = admin.post("/libraries/111001/api-keys", {"label": "homepage"})
    assert r.status_code == 201
    key = r.json()["api_key"]
    headers = {"Authorization": f"Bearer {key}"}
    assert client.get("/api/v1/regions", headers=headers).status_code == 200
    keys = admin.get("/libraries/111001/api-keys").json()["items"]
    assert any(k["label"] == "homepage" for k in keys)
    assert admin.client.delete(f"/api/v1/api-keys/{r.json()['key_id']}",
                               headers=admin.headers).json()["revoked"] is True
    assert client.get("/api/v1/regions", headers=headers).status_code == 401
    r = admin.post("/libraries/111001/terminals", {"login": "kiosk-2f", "password": "s3cret-pw",
                                                   "encoding": "euc-kr"})
    assert r.status_code == 201 and r.json()["encoding"] == "euc-kr"
    assert "kiosk-2f" in [t["login"] for t in libs["111001"].get(
        "/libraries/111001/terminals").json()["items"]]
    assert admin.client.delete("/api/v1/terminals/kiosk-2f",
                               headers=admin.headers).json()["revoked"] is True
    r = admin.post("/admin-keys", {"scope": "region", "scope_code": "busan"})
    regional = {"Authorization": f"Bearer {r.json()['api_key']}"}
    # a regional key administers its own region only
    ok = client.post("/api/v1/libraries/121001/api-keys", json={}, headers=regional)
    assert ok.status_code == 201
    no = client.post("/api/v1/libraries/111001/api-keys", json={}, headers=regional)
    assert no.status_code == 403
    acting = client.get("/api/v1/events", headers={**regional, "X-Acting-Library": "111001"})
    assert acting.status_code == 403
    # ... and lists credentials in its own region only; a library key, its own library's
    for path in ("api-keys", "terminals"):
        assert client.get(f"/api/v1/libraries/121001/{path}", headers=regional).status_code == 200
        assert client.get(f"/api/v1/libraries/111001/{path}", headers=regional).status_code == 403
        assert libs["111001"].client.get(f"/api/v1/libraries/111002/{path}",
                                         headers=libs["111001"].headers).status_code == 403


def test_audit_trail_records_state_changes(libs, members, admin):
    lib = libs["111001"]
    loan = lib.checkout(members[0], lib.item(1)).json()["loan"]
    lib.checkin(lib.item(1))
    entries = lib.get("/audit", entity="loan", entity_id=str(loan["id"])).json()["items"]
    assert [e["action"] for e in entries] == ["loan.checkin", "loan.checkout"]
    assert all(e["actor"].startswith("key:") for e in entries)
    # masked member numbers only, in the audit details
    assert members[0] not in str(entries)
    # another library's key does not see this library's trail
    assert libs["121001"].get("/audit", entity="loan").json()["items"] == []
    assert admin.get("/audit", action="loan.").json()["items"]


def test_member_loans_and_history(libs, members):
    a, b = libs["111001"], libs["121001"]
    a.checkout(members[0], a.item(1))
    b.checkout(members[0], b.item(1))
    b.checkin(b.item(1))
    active = a.get(f"/members/{members[0]}/loans").json()["items"]
    assert [x["owner_library"] for x in active] == ["111001"]
    history = a.get(f"/members/{members[0]}/loans", history="true").json()["items"]
    assert len(history) == 2
    r = a.post(f"/members/{members[0]}/history/hide", {})
    assert r.json() == {"hidden": 1}
    assert len(a.get(f"/members/{members[0]}/loans", history="true").json()["items"]) == 1


def test_failed_logins_are_throttled_per_source_and_never_lock_the_owner_out(any_hub):
    """The old rule (5 failures lock the account for 15 minutes) let anyone lock anyone
    out. Now the source that keeps failing is refused; the owner elsewhere is not."""
    import pytest

    from chaekieum.domain.errors import DomainError
    from chaekieum.services import demo

    number = demo.info(any_hub)["members"][0]["number"]
    attacker, owner = "203.0.113.66", "198.51.100.7"
    for _ in range(5):
        with pytest.raises(DomainError) as failed:
            any_hub.members.authenticate(number, "wrong password", attacker)
        assert failed.value.code == "AUTH_INVALID"
    with pytest.raises(DomainError) as limited:
        any_hub.members.authenticate(number, "member-pass-1", attacker)  # right, but spent
    assert limited.value.code == "RATE_LIMITED"
    assert any_hub.members.authenticate(number, "member-pass-1", owner) == number
    for _ in range(5):
        with pytest.raises(DomainError):
            any_hub.credentials.staff_login("lib-111001", "wrong password", attacker)
    with pytest.raises(DomainError) as limited:
        any_hub.credentials.staff_login("lib-111001", "lib-111001-pass", attacker)
    assert limited.value.code == "RATE_LIMITED"
    assert any_hub.credentials.staff_login("lib-111001", "lib-111001-pass", owner).role \
        == "librarian"
