"""/api/v1/reservations on SQLite and PostgreSQL: place, refusals, lists, the set-aside
return, cancel (POST and DELETE), idempotent retries, the change feed."""

from __future__ import annotations


def test_reservation_over_the_api(libs, members, client):
    lib, other = libs["111001"], libs["111002"]
    item = lib.item(1)
    assert lib.checkout(members[0], item).status_code == 200
    # on the shelf: borrow instead
    r = lib.post("/reservations", {"member": members[1], "item": lib.item(2)})
    assert r.status_code == 409 and r.json()["code"] == "RESERVATION_COPY_AVAILABLE"
    assert "서가" in r.json()["message"]
    # only the library's own members, only its own copies
    r = lib.post("/reservations", {"member": members[4], "item": item})
    assert r.status_code == 409 and r.json()["code"] == "RESERVATION_NOT_JOINED"
    r = other.post("/reservations", {"member": members[4], "item": item})
    assert r.json()["code"] == "RESERVATION_OTHER_LIBRARY"

    r = lib.post("/reservations", {"member": members[1], "item": item},
                 **{"Idempotency-Key": "res-1"})
    assert r.status_code == 201, r.text
    placed = r.json()
    assert (placed["state"], placed["position"], placed["item"]) == ("waiting", 1, item)
    again = lib.post("/reservations", {"member": members[1], "item": item},
                     **{"Idempotency-Key": "res-1"})
    assert again.headers["Idempotent-Replayed"] == "true" and again.json() == placed
    r = lib.post("/reservations", {"member": members[1], "item": item})
    assert r.status_code == 409 and r.json()["code"] == "RESERVATION_DUPLICATE"

    listed = lib.get("/reservations").json()["items"]
    assert [x["id"] for x in listed] == [placed["id"]]
    assert lib.get("/reservations", member=members[1]).json()["items"][0]["id"] == placed["id"]
    assert other.get("/reservations", member=members[1]).json()["items"] == []
    assert lib.get(f"/reservations/{placed['id']}").json()["state"] == "waiting"
    assert other.get(f"/reservations/{placed['id']}").json()["code"] == "RESERVATION_UNKNOWN"

    # the renewal is refused while someone waits; the return sets the copy aside
    r = lib.post("/circulation/renew", {"item": item})
    assert r.json()["code"] in ("RENEW_RESERVED", "RENEW_SAME_DAY")
    assert "RENEW_RESERVED" in [x["code"] for x in r.json()["reasons"]]
    back = lib.checkin(item).json()
    assert back["reservation"]["id"] == placed["id"]
    assert back["reservation"]["state"] == "ready" and back["reservation"]["pickup_by"]
    shelf = lib.get("/reservations", state="ready").json()["items"]
    assert [x["id"] for x in shelf] == [placed["id"]]
    r = lib.checkout(members[0], item)
    assert r.status_code == 409 and r.json()["code"] == "COPY_RESERVED"

    # cancel with DELETE; a second cancel is a refused state change
    r = client.delete(f"/api/v1/reservations/{placed['id']}", headers=lib.headers)
    assert r.status_code == 200 and r.json()["state"] == "cancelled"
    assert r.json()["copy_to_shelf"] is True
    r = lib.post(f"/reservations/{placed['id']}/cancel")
    assert r.status_code == 409 and r.json()["code"] == "RESERVATION_BAD_STATE"
    assert lib.get("/reservations", state="cancelled").json()["items"][0]["id"] == placed["id"]
    assert lib.checkout(members[0], item).status_code == 200

    kinds = [e["kind"] for e in lib.get("/events", limit=1000).json()["events"]
             if e["kind"].startswith("reservation.")]
    assert kinds == ["reservation.placed", "reservation.ready", "reservation.cancelled"]
    assert not [e for e in other.get("/events", limit=1000).json()["events"]
                if e["kind"].startswith("reservation.")]


def test_reservation_input_errors_never_500(libs, client):
    lib = libs["111001"]
    for body in ({}, {"member": "", "item": "x"}, {"member": "1", "item": "x", "extra": 1},
                 {"member": "1" * 65, "item": "x"}):
        r = lib.post("/reservations", body)
        assert r.status_code == 422, (body, r.text)
    r = lib.post("/reservations", {"member": "12345678901234", "item": lib.item(1)})
    assert r.status_code == 422 and r.json()["code"] == "INVALID_MEMBER_NUMBER"
    for path in ("/reservations/0", "/reservations/abc", f"/reservations/{2**63}"):
        assert lib.get(path).status_code == 422, path
    assert lib.get("/reservations/999999").status_code == 404
    assert lib.get("/reservations", state="bogus").status_code == 422
    r = client.delete("/api/v1/reservations/999999", headers=lib.headers)
    assert r.status_code == 404 and r.json()["code"] == "RESERVATION_UNKNOWN"
    assert client.get("/api/v1/reservations").status_code == 401
    spec = client.get("/api/v1/openapi.json").json()
    assert "/api/v1/reservations/{reservation_id}/cancel" in spec["paths"]
