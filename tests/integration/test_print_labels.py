"""Label sheets and member cards on paper (issue 12): the PDFs are rasterised and their
Code 128 symbols decoded (zxing-cpp) back to exactly what was asked for."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from chaekieum.domain.actors import Actor, Role
from chaekieum.domain.errors import Code, DomainError
from chaekieum.services.printing import (
    CARD_SHEET,
    Label,
    label_sheet_pdf,
    layout,
    member_card_pdf,
    member_cards_pdf,
)
from tests import marcdata, pdfcodes
from tests.marcdata import Bib

LIB = "111002"
ACTOR = Actor(Role.SYSTEM, "test:import", "cli", LIB)


def import_books(hub, tmp_path: Path, n: int = 25) -> int:  # noqa: ANN001
    bibs = [Bib(f"B{i:04d}", f"책 제목 {i}", "저자", ("813.6", f"가{i}"),
                [(f"KM{i:010d}", "R" if i % 5 == 0 else "")]) for i in range(1, n + 1)]
    path = tmp_path / "books.mrc"
    path.write_bytes(marcdata.iso2709(bibs, "euc-kr"))
    return hub.imports.holdings(ACTOR, path).batch_id


def test_item_labels_by_batch_range_and_list_decode_to_the_unified_barcodes(
        hub, tmp_path) -> None:  # noqa: ANN001
    batch = import_books(hub, tmp_path)
    sheet = layout("a4-21")
    labels = hub.printing.item_labels(LIB, batch_id=batch)
    pdf = label_sheet_pdf(labels, sheet, skip=2)
    expected = [None, None] + [f"${LIB}KM{i:010d}" for i in range(1, 26)]
    got = pdfcodes.decode_slots(pdf, sheet)
    assert got[:27] == expected and set(got[27:]) == {None}  # two pages, in order
    text = pdfcodes.text(pdf)
    assert "중랑구립정보도서관" in text and "R 813.6 가5" in text  # Korean renders
    assert f"${LIB}KM0000000001" in text  # human-readable under the bars

    by_range = hub.printing.item_labels(LIB, first="KM7", last="KM0000000012")
    sheet40 = layout("a4-40", rows=9, margin_top=25.0, gap_y=2.0)
    assert pdfcodes.decode_slots(label_sheet_pdf(by_range, sheet40), sheet40)[:7] == [
        f"${LIB}KM{i:010d}" for i in range(7, 13)] + [None]

    listed = hub.printing.item_labels(LIB, items=[f"${LIB}KM0000000020", "KM3"])
    assert pdfcodes.decode_all(label_sheet_pdf(listed, sheet)) == [
        f"${LIB}KM0000000020", f"${LIB}KM0000000003"]


def test_selection_and_layout_refusals(hub, tmp_path) -> None:  # noqa: ANN001
    import_books(hub, tmp_path, 3)
    with pytest.raises(DomainError) as e:
        hub.printing.item_labels(LIB, items=["KM0000000099"])
    assert e.value.code == Code.COPY_UNKNOWN
    with pytest.raises(DomainError) as e:
        hub.printing.item_labels(LIB, items=["$111001KM0000000001"])  # another library's
    assert e.value.code == Code.INVALID_BARCODE
    with pytest.raises(DomainError):
        hub.printing.item_labels(LIB, first="KM5", last="EM9")
    with pytest.raises(DomainError):
        hub.printing.item_labels(LIB, first="KM1", last="KM2", batch_id=1)
    with pytest.raises(DomainError) as e:
        layout("a4-21", cols=4)  # wider than A4
    assert e.value.code == Code.VALIDATION_ERROR
    with pytest.raises(DomainError):
        layout("letter")


def test_institution_labels_and_member_cards_decode(hub, tmp_path) -> None:  # noqa: ANN001
    sheet = layout("a4-40")
    pdf = label_sheet_pdf(hub.printing.institution_labels(LIB, 5), sheet)
    assert pdfcodes.decode_slots(pdf, sheet)[:6] == [f"#{LIB}"] * 5 + [None]
    assert "기관바코드" in pdfcodes.text(pdf)

    path = tmp_path / "members.csv"
    path.write_text("회원번호,성명,출생연도\n" + "\n".join(
        f"L{i},회원{i},{1960 + i}" for i in range(12)) + "\n", encoding="utf-8")
    s = hub.member_imports.run(ACTOR, path)
    cards = hub.printing.member_cards(LIB, batch_id=s.batch_id)
    assert [c[1] for c in cards] == [f"회원{i}" for i in range(12)]
    pdf = member_cards_pdf(cards)
    assert pdfcodes.decode_slots(pdf, CARD_SHEET)[:13] == [c[0] for c in cards] + [None]
    assert "회원11" in pdfcodes.text(pdf) and "책이음 통합 이용증" in pdfcodes.text(pdf)
    one = member_card_pdf(cards[0][0], "김하나", "중랑구립정보도서관")
    assert pdfcodes.decode_all(one) == [cards[0][0]]
    assert hub.printing.member_cards(LIB, numbers=[cards[3][0]]) == [cards[3]]


def test_cli_prints_labels_and_cards(hub, tmp_path, monkeypatch) -> None:  # noqa: ANN001
    from chaekieum.cli import app

    monkeypatch.setenv("CHAEKIEUM_SECRET_KEY", "test-secret")
    batch = import_books(hub, tmp_path, 4)
    url = str(hub.db.url)
    out = tmp_path / "labels.pdf"
    r = CliRunner().invoke(app, ["print", "labels", "--library", LIB, "--batch", str(batch),
                                 "-o", str(out), "--database-url", url])
    assert r.exit_code == 0, r.output
    assert pdfcodes.decode_all(out.read_bytes()) == [f"${LIB}KM{i:010d}" for i in range(1, 5)]
    listing = tmp_path / "list.txt"
    listing.write_text("KM0000000002\n")
    r = CliRunner().invoke(app, ["print", "labels", "--library", LIB, "--list", str(listing),
                                 "--layout", "a4-40", "-o", str(out), "--database-url", url])
    assert r.exit_code == 0 and pdfcodes.decode_all(out.read_bytes()) == [
        f"${LIB}KM0000000002"]
    r = CliRunner().invoke(app, ["print", "institution-labels", "--library", LIB, "--count",
                                 "2", "-o", str(out), "--database-url", url])
    assert r.exit_code == 0 and pdfcodes.decode_all(out.read_bytes()) == [f"#{LIB}"] * 2
    r = CliRunner().invoke(app, ["print", "labels", "--library", LIB, "--from", "KM1",
                                 "--to", "EM2", "-o", str(out), "--database-url", url])
    assert r.exit_code == 1 and "VALIDATION_ERROR" in r.output


def test_a_label_per_slot_at_every_preset() -> None:
    for preset in ("a4-21", "a4-40"):
        sheet = layout(preset)
        n = sheet.rows * sheet.cols
        labels = [Label(f"$123001EM{i:010d}", f"$123001EM{i:010d}", ("인천",))
                  for i in range(n)]
        assert pdfcodes.decode_slots(label_sheet_pdf(labels, sheet), sheet) == [
            lab.barcode for lab in labels]
