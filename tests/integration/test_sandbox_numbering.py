"""Sandbox copies take ZS + 10-digit 등록번호 that no copy of the library uses, also when
the library holds real ZS copies the sandbox did not make (services/sandbox.py): a third
letter (ZSA…) or the last serial (ZS9999999999) once made the numbering fail with a 500
(a serial parsed from 'A000000001', or a 13-character 등록번호)."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from chaekieum.store.tables import copies


def test_real_zs_registration_numbers_never_break_or_meet_sandbox_copies(libs, any_hub) -> None:  # noqa: ANN001
    lib = libs["111001"]
    real = ["ZSA000000001", "ZS0000000007", "ZS9999999999"]
    with any_hub.db.write() as conn:
        for reg_no in real:
            conn.execute(copies.insert().values(library_code="111001", reg_no=reg_no,
                                                title="실제 자료", loanable=True,
                                                updated_at=datetime(2026, 1, 1)))
    r = lib.post("/sandbox", {"members": 1, "copies": 3})
    assert r.status_code == 201, r.text
    made = [c["reg_no"] for c in r.json()["copies"]]
    assert made == ["ZS0000000001", "ZS0000000002", "ZS0000000003"]
    again = [c["reg_no"] for c in lib.post("/sandbox", {"members": 0, "copies": 5}).json()[
        "copies"]]
    assert again == ["ZS0000000004", "ZS0000000005", "ZS0000000006", "ZS0000000008",
                     "ZS0000000009"]  # the real ZS0000000007 is left alone
    number = r.json()["members"][0]["number"]
    assert lib.checkout(number, f"$111001{made[0]}").status_code == 200
    cleaned = lib.client.delete("/api/v1/sandbox", headers=lib.headers)
    assert cleaned.status_code == 200, cleaned.text
    with any_hub.db.read() as conn:
        left = sorted(conn.scalars(sa.select(copies.c.reg_no).where(
            copies.c.reg_no.like("ZS%"))))
    assert left == sorted(real)
