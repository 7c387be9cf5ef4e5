"""Holdings import (issue 12): KORMARC/MARC 21 in ISO 2709 and MARCXML, UTF-8 and
EUC-KR, broken records reported and skipped, idempotent re-import, dry run, resume."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from chaekieum.domain.actors import Actor, Role
from chaekieum.domain.imports import ShelfMarks
from chaekieum.services import imports as imports_module
from chaekieum.store.tables import audit_log, copies, import_batches, import_problems
from tests import marcdata
from tests.marcdata import Bib

LIB = "111001"
ACTOR = Actor(Role.SYSTEM, "test:import", "cli", LIB)

GOOD1 = Bib("KMO001", "토지", "박경리", ("813.6", "박14"),
            [("KM0000000001", ""), ("KM0000000002", "R")])
GOOD2 = Bib("KMO002", "태백산맥", "조정래", ("813.6", "조74"), [("KM0000000003", "정")])
BROKEN = Bib("KMO003", "깨진 레코드", "누군가", copies=[("KM0000000004", "")])
NO_REG = Bib("KMO004", "등록번호 없는 책", "무명")
BAD_REG = Bib("KMO005", "잘못된 등록번호", "무명", copies=[("12345", "")])
DUP = Bib("KMO006", "중복 복본", "무명", copies=[("KM0000000001", ""), ("KM0000000005", "")])
GOOD3 = Bib("KMO007", "Moby Dick", "Melville, Herman", ("823", "M531"),
            [("KM0000000006", ""), ("KM0000000007", "")])

EXPECTED_REGS = {"KM0000000001", "KM0000000002", "KM0000000003", "KM0000000005",
                 "KM0000000006", "KM0000000007"}


def iso_file(tmp_path: Path, encoding: str) -> Path:
    data = marcdata.iso2709([GOOD1, GOOD2, marcdata.broken_directory(BROKEN, encoding),
                             NO_REG, BAD_REG, DUP, marcdata.broken_leader(BROKEN, encoding),
                             GOOD3], encoding)
    path = tmp_path / f"holdings-{encoding}.mrc"
    path.write_bytes(data)
    return path


def imported(hub) -> dict[str, tuple]:  # noqa: ANN001
    with hub.db.read() as conn:
        rows = conn.execute(select(copies).where(copies.c.library_code == LIB,
                                                 copies.c.reg_no.like("KM%"))).all()
    return {r.reg_no: (r.title, r.author, r.call_number, r.shelf_mark, r.loanable, r.bib_id,
                       r.updated_at) for r in rows}


def report_rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.mark.parametrize("encoding", ["utf-8", "euc-kr"])
def test_iso2709_import_skips_broken_records_and_imports_the_rest(any_hub, tmp_path,
                                                                  encoding) -> None:
    path = iso_file(tmp_path, encoding)
    report = tmp_path / "report.csv"
    s = any_hub.imports.holdings(ACTOR, path, report=report)
    assert s.status == "done" and s.records == 8
    got = imported(any_hub)
    assert set(got) == EXPECTED_REGS
    assert got["KM0000000001"][:6] == ("토지", "박경리", "813.6 박14", "", True, "KMO001")
    assert got["KM0000000002"][3:5] == ("R", False)  # reference: not loanable
    assert got["KM0000000003"][3:5] == ("정", False)  # periodical
    assert got["KM0000000006"][:3] == ("Moby Dick", "Melville, Herman", "823 M531")
    rows = report_rows(report)
    assert [(r["record_no"], r["code"]) for r in rows] == [
        ("3", "BROKEN_RECORD"), ("4", "NO_REG_NO"), ("5", "INVALID_REG_NO"),
        ("6", "DUPLICATE_IN_FILE"), ("7", "BROKEN_RECORD")]
    assert rows[3]["key"] == "KM0000000001" and rows[3]["detail"] == "record 1"
    assert rows[0]["reason"].startswith("레코드 구조")
    assert (s.created, s.updated, s.skipped) == (6, 0, 5)


def test_marcxml_utf8_and_euckr_with_a_broken_record(any_hub, tmp_path) -> None:
    for encoding in ("utf-8", "euc-kr"):
        path = tmp_path / f"h-{encoding}.xml"
        path.write_bytes(marcdata.marcxml([GOOD1, marcdata.BAD_LEADER_XML, NO_REG, GOOD2],
                                          encoding))
        report = tmp_path / f"r-{encoding}.csv"
        s = any_hub.imports.holdings(ACTOR, path, report=report)
        assert [(r["record_no"], r["code"]) for r in report_rows(report)] == [
            ("2", "BROKEN_RECORD"), ("3", "NO_REG_NO")]
        assert s.records == 4
    got = imported(any_hub)
    assert set(got) == {"KM0000000001", "KM0000000002", "KM0000000003"}
    assert got["KM0000000003"][:2] == ("태백산맥", "조정래")


def test_reimport_changes_nothing_and_dry_run_writes_nothing(any_hub, tmp_path) -> None:
    path = iso_file(tmp_path, "euc-kr")

    def counts() -> tuple[int, ...]:
        with any_hub.db.read() as conn:
            return tuple(conn.scalar(select(func.count()).select_from(t))
                         for t in (copies, import_batches, import_problems, audit_log))

    before = counts()
    dry = any_hub.imports.holdings(ACTOR, path, dry_run=True, report=tmp_path / "dry.csv")
    assert counts() == before
    assert (dry.created, dry.updated, dry.skipped) == (6, 0, 5)
    assert len(report_rows(tmp_path / "dry.csv")) == 5

    first = any_hub.imports.holdings(ACTOR, path)
    snapshot = imported(any_hub)
    after_first = counts()
    again = any_hub.imports.holdings(ACTOR, path)
    assert imported(any_hub) == snapshot  # updated_at included: nothing rewritten
    assert (again.created, again.updated, again.unchanged, again.skipped) == (0, 0, 6, 5)
    assert counts()[0] == after_first[0]
    assert again.batch_id != first.batch_id
    # a dry run after the import predicts the same: nothing to create
    dry2 = any_hub.imports.holdings(ACTOR, path, dry_run=True)
    assert (dry2.created, dry2.updated, dry2.unchanged) == (0, 0, 6)

    # a changed record updates its copies, never duplicates them
    changed = Bib(GOOD2.bib_id, "태백산맥 1", GOOD2.author, GOOD2.call, GOOD2.copies)
    path2 = tmp_path / "changed.mrc"
    path2.write_bytes(marcdata.iso2709([GOOD1, changed], "utf-8"))
    s = any_hub.imports.holdings(ACTOR, path2)
    assert (s.created, s.updated, s.unchanged) == (0, 1, 2)
    assert imported(any_hub)["KM0000000003"][0] == "태백산맥 1"
    assert counts()[0] == after_first[0]


def test_a_reg_no_of_another_record_at_the_hub_is_refused(any_hub, tmp_path) -> None:
    path = tmp_path / "a.mrc"
    path.write_bytes(marcdata.iso2709([GOOD2]))
    any_hub.imports.holdings(ACTOR, path)
    other = Bib("OTHER9", "다른 책", copies=[("KM0000000003", ""), ("KM0000000008", "")])
    path2 = tmp_path / "b.mrc"
    path2.write_bytes(marcdata.iso2709([other]))
    report = tmp_path / "b.csv"
    s = any_hub.imports.holdings(ACTOR, path2, report=report)
    assert (s.created, s.skipped) == (1, 1)
    assert [(r["code"], r["key"]) for r in report_rows(report)] == [
        ("DUPLICATE_IN_HUB", "KM0000000003")]
    assert imported(any_hub)["KM0000000003"][0] == "태백산맥"


def test_interrupted_import_resumes_after_the_last_committed_chunk(hub, tmp_path,
                                                                   monkeypatch) -> None:
    monkeypatch.setattr(imports_module, "CHUNK", 3)
    monkeypatch.setattr(imports_module, "PARALLEL_FROM_BYTES", 0)  # the reading process
    path = iso_file(tmp_path, "utf-8")
    calls = []

    def stop_after_first_chunk(summary) -> None:  # noqa: ANN001
        calls.append(summary.records)
        if len(calls) == 1:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        hub.imports.holdings(ACTOR, path, progress=stop_after_first_chunk)
    assert calls == [3]
    with hub.db.read() as conn:
        batch = conn.execute(select(import_batches)).one()
    assert (batch.status, batch.position) == ("interrupted", 3)
    assert set(imported(hub)) == {"KM0000000001", "KM0000000002", "KM0000000003"}

    report = tmp_path / "r.csv"
    s = hub.imports.holdings(ACTOR, path, report=report)
    assert (s.batch_id, s.resumed_from, s.status) == (batch.id, 3, "done")
    assert (s.created, s.skipped) == (6, 5)
    assert set(imported(hub)) == EXPECTED_REGS
    assert [r["record_no"] for r in report_rows(report)] == ["3", "4", "5", "6", "7"]


def test_cli_imports_csv_with_a_configured_shelf_mark_mapping(hub, tmp_path,
                                                              monkeypatch) -> None:
    from chaekieum.cli import app

    monkeypatch.setenv("CHAEKIEUM_SECRET_KEY", "test-secret")
    path = tmp_path / "holdings.csv"
    path.write_bytes("등록번호,서명,저자,청구기호,별치기호\n"
                     "KM0000000101,어린 왕자,생텍쥐페리,863 생54,아\n"
                     "KM0000000102,사전,편집부,713,R\n"
                     "KM-bad,깨진 행,,,\n".encode("cp949"))
    args = ["import", "holdings", str(path), "--library", LIB, "--database-url",
            str(hub.db.url), "--not-loanable", "아"]
    dry = CliRunner().invoke(app, [*args, "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "dry run" in dry.output and not imported(hub)
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    got = imported(hub)
    assert got["KM0000000101"][:5] == ("어린 왕자", "생텍쥐페리", "863 생54", "아", False)
    assert got["KM0000000102"][4] is True  # R is lent under this library's own mapping
    rows = report_rows(path.with_name("holdings.csv.report.csv"))
    assert [(r["record_no"], r["code"]) for r in rows] == [("3", "INVALID_REG_NO")]


def test_shelf_marks_mapping() -> None:
    default = ShelfMarks()
    assert not default.loanable("r") and not default.loanable("참고")
    assert default.loanable("아") and default.loanable("")
    assert ShelfMarks.parse("M, 비").loanable("R")
    assert not ShelfMarks.parse("M, 비").loanable("비")
