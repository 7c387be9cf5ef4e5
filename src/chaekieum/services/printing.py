"""Paper: 통합바코드 and 기관바코드 label sheets, and member cards (one, or many per A4).

Bar codes are Code 128 (reportlab's, which handles `$` and `#`; Code 39 has no `#`),
with the human-readable text under them. Korean text uses NanumGothic embedded from
the system's fonts-nanum when present (so any viewer shows it), else reportlab's built-in
CID font HYGothic-Medium (Adobe-Korea1, shown by viewers that have a Korean font).
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from sqlalchemy import select

from ..domain.errors import Code, DomainError
from ..domain.numbering import (
    InstitutionBarcode,
    RegistrationNumber,
    UnifiedBarcode,
    mask_member_number,
    normalize_registration_number,
    parse_scan,
)
from ..store.db import Database
from ..store.tables import copies, libraries, member_imports, members

A4_MM = (210.0, 297.0)
CARD_W_MM, CARD_H_MM = 85.6, 53.98  # ISO/IEC 7810 ID-1 (a bank-card-sized 이용증)
MAX_LABELS = 20_000  # one PDF; print bigger collections by batch or range in parts
NANUM = (Path("/usr/share/fonts/truetype/nanum/NanumGothic.ttf"),
         Path("/usr/share/fonts/truetype/nanum/NanumGothicBold.ttf"))


@dataclass(frozen=True)
class Layout:
    """An A4 label sheet, in millimetres: `gap_x`/`gap_y` between labels."""

    rows: int
    cols: int
    label_w: float
    label_h: float
    margin_top: float
    margin_left: float
    gap_x: float = 0.0
    gap_y: float = 0.0

    def check(self) -> Layout:
        w = self.margin_left + self.cols * self.label_w + (self.cols - 1) * self.gap_x
        h = self.margin_top + self.rows * self.label_h + (self.rows - 1) * self.gap_y
        if min(self.rows, self.cols) < 1 or min(self.label_w, self.label_h) < 15 \
                or min(self.margin_top, self.margin_left, self.gap_x, self.gap_y) < 0 \
                or w > A4_MM[0] + 0.01 or h > A4_MM[1] + 0.01:
            raise DomainError(Code.VALIDATION_ERROR, field="layout",
                              problem="labels must fit on A4 and be at least 15 mm")
        return self

    def positions(self) -> list[tuple[float, float]]:
        """Lower-left corners (mm from the page's lower left), row by row from the top."""
        out = []
        for r in range(self.rows):
            top = A4_MM[1] - self.margin_top - r * (self.label_h + self.gap_y)
            for c in range(self.cols):
                out.append((self.margin_left + c * (self.label_w + self.gap_x),
                            top - self.label_h))
        return out


# Two A4 layouts sold by the Korean label makers (폼텍, 애니라벨 and others under their
# own product numbers): check the package's template, and adjust with --rows/--cols/...
PRESETS: dict[str, Layout] = {
    "a4-21": Layout(rows=7, cols=3, label_w=63.5, label_h=38.1, margin_top=15.15,
                    margin_left=7.25, gap_x=2.5, gap_y=0.0),  # 3 x 7, 63.5 x 38.1 mm
    "a4-40": Layout(rows=10, cols=4, label_w=48.5, label_h=25.4, margin_top=21.5,
                    margin_left=8.0, gap_x=0.0, gap_y=0.0),  # 4 x 10, 48.5 x 25.4 mm
}


def layout(preset: str = "a4-21", **overrides: Any) -> Layout:
    if preset not in PRESETS:
        raise DomainError(Code.VALIDATION_ERROR, field="layout", allowed=sorted(PRESETS))
    given = {k: v for k, v in overrides.items() if v is not None}
    return replace(PRESETS[preset], **given).check()


@dataclass(frozen=True)
class Label:
    barcode: str  # what the bars encode
    text: str  # printed under the bars
    lines: tuple[str, ...] = ()  # small Korean text above (library, call number, title)


def korean_font() -> str:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfbase.ttfonts import TTFont

    registered = pdfmetrics.getRegisteredFontNames()
    if NANUM[0].exists():
        if "NanumGothic" not in registered:
            pdfmetrics.registerFont(TTFont("NanumGothic", str(NANUM[0])))
        return "NanumGothic"
    if "HYGothic-Medium" not in registered:
        pdfmetrics.registerFont(UnicodeCIDFont("HYGothic-Medium"))
    return "HYGothic-Medium"


def _fit(pdf: Any, text: str, font: str, size: float, width: float) -> str:
    """Cut `text` to `width` points (with an ellipsis)."""
    if pdf.stringWidth(text, font, size) <= width:
        return text
    while text and pdf.stringWidth(text + "…", font, size) > width:
        text = text[:-1]
    return text + "…"


def _bars(value: str, width: float, height: float) -> Any:
    """Code 128 as wide as fits `width` (bar width 0.19..0.33 mm, quiet zones kept)."""
    from reportlab.graphics.barcode.code128 import Code128
    from reportlab.lib.units import mm

    probe = Code128(value, barWidth=1, barHeight=height, quiet=True)
    bar = max(0.19 * mm, min(0.33 * mm, width / probe.width))
    return Code128(value, barWidth=bar, barHeight=height, quiet=True)


def label_sheet_pdf(labels: Sequence[Label], sheet: Layout, skip: int = 0,
                    title: str = "책이음 라벨") -> bytes:
    """Labels laid out on A4 sheets; `skip` leaves the first labels of the first sheet
    empty (a partly used sheet)."""
    from reportlab.lib.units import mm
    from reportlab.pdfgen import canvas

    if len(labels) > MAX_LABELS:
        raise DomainError(Code.PAYLOAD_TOO_LARGE, max_items=MAX_LABELS)
    font = korean_font()
    out = io.BytesIO()
    pdf = canvas.Canvas(out, pagesize=(A4_MM[0] * mm, A4_MM[1] * mm))
    pdf.setTitle(title)
    slots = sheet.positions()
    w, h = sheet.label_w * mm, sheet.label_h * mm
    pad = 2.5 * mm
    n = skip % len(slots)
    for label in labels:
        if n == len(slots):
            pdf.showPage()
            n = 0
        x, y = (v * mm for v in slots[n])
        n += 1
        text_size = min(8.0, h / 6)
        line_size = min(7.0, h / 7)
        room = h - 2 * pad - text_size * 1.3 - len(label.lines) * line_size * 1.25
        bars = _bars(label.barcode, w - 2 * pad, max(5 * mm, min(14 * mm, room)))
        bx = x + (w - bars.width) / 2
        by = y + pad + text_size * 1.3
        bars.drawOn(pdf, bx, by)
        pdf.setFont("Helvetica", text_size)
        pdf.drawCentredString(x + w / 2, y + pad, label.text)
        pdf.setFont(font, line_size)
        ty = by + bars.height + line_size * 0.4
        for line in reversed(label.lines):
            pdf.drawCentredString(x + w / 2, ty, _fit(pdf, line, font, line_size, w - 2 * pad))
            ty += line_size * 1.25
    pdf.showPage()
    pdf.save()
    return out.getvalue()


def _draw_card(pdf: Any, x: float, y: float, number: str, name: str, library: str,
               font: str) -> None:
    from reportlab.lib.units import mm

    width, height = CARD_W_MM * mm, CARD_H_MM * mm
    pdf.setFillColorRGB(0.05, 0.36, 0.68)
    pdf.rect(x, y + height - 12 * mm, width, 12 * mm, stroke=0, fill=1)
    pdf.setFillColorRGB(1, 1, 1)
    pdf.setFont(font, 11)
    pdf.drawString(x + 5 * mm, y + height - 8 * mm, "책이음 통합 이용증")
    pdf.setFillColorRGB(0, 0, 0)
    pdf.setFont(font, 12)
    pdf.drawString(x + 5 * mm, y + height - 19 * mm, name or "")
    pdf.setFont(font, 7.5)
    pdf.drawString(x + 5 * mm, y + height - 24 * mm, library)
    bars = _bars(number, width - 10 * mm, 12 * mm)
    bars.drawOn(pdf, x + (width - bars.width) / 2, y + 9 * mm)
    pdf.setFont("Helvetica", 9)
    pdf.drawCentredString(x + width / 2, y + 4.5 * mm, number)


def member_card_pdf(number: str, name: str, library: str) -> bytes:
    """One printable member card (ID-1 size PDF): Korean text, Code 128 of the number."""
    from reportlab.lib.units import mm
    from reportlab.pdfgen import canvas

    font = korean_font()
    out = io.BytesIO()
    pdf = canvas.Canvas(out, pagesize=(CARD_W_MM * mm, CARD_H_MM * mm), pageCompression=0)
    pdf.setTitle(f"책이음 이용증 {mask_member_number(number)}")
    _draw_card(pdf, 0, 0, number, name, library, font)
    pdf.showPage()
    pdf.save()
    return out.getvalue()


CARD_SHEET = Layout(rows=5, cols=2, label_w=CARD_W_MM, label_h=CARD_H_MM, margin_top=13.55,
                    margin_left=16.4, gap_x=4.0, gap_y=0.0)  # 10 cards per A4, cut lines


def member_cards_pdf(cards: Iterable[tuple[str, str, str]]) -> bytes:
    """Many cards, ten per A4 page, with thin cut lines: (number, name, library)."""
    from reportlab.lib.units import mm
    from reportlab.pdfgen import canvas

    font = korean_font()
    out = io.BytesIO()
    pdf = canvas.Canvas(out, pagesize=(A4_MM[0] * mm, A4_MM[1] * mm))
    pdf.setTitle("책이음 이용증 일괄 인쇄")
    slots = CARD_SHEET.positions()
    n = 0
    for count, (number, name, library) in enumerate(cards):
        if count >= MAX_LABELS:
            raise DomainError(Code.PAYLOAD_TOO_LARGE, max_items=MAX_LABELS)
        if n == len(slots):
            pdf.showPage()
            n = 0
        x, y = (v * mm for v in slots[n])
        n += 1
        pdf.setStrokeColorRGB(0.7, 0.7, 0.7)
        pdf.setLineWidth(0.3)
        pdf.rect(x, y, CARD_W_MM * mm, CARD_H_MM * mm, stroke=1, fill=0)
        _draw_card(pdf, x, y, number, name, library, font)
    pdf.showPage()
    pdf.save()
    return out.getvalue()


class Printing:
    """What to print, read from the hub: copies by range, batch or list; members."""

    def __init__(self, db: Database):
        self.db = db

    def _library_name(self, conn: Any, code: str) -> str:
        name = conn.scalar(select(libraries.c.name).where(libraries.c.code == code))
        if name is None:
            raise DomainError(Code.NOT_FOUND, library=code)
        return name

    def item_labels(self, library: str, *, first: str | None = None, last: str | None = None,
                    batch_id: int | None = None, items: Sequence[str] | None = None
                    ) -> list[Label]:
        """통합바코드 labels of the library's copies: a 등록번호 range (inclusive), an
        import batch, or a list (등록번호 or 통합바코드), in 등록번호 / list order."""
        q = select(copies.c.reg_no, copies.c.title, copies.c.call_number,
                   copies.c.shelf_mark).where(copies.c.library_code == library)
        if [first is not None or last is not None, batch_id is not None,
                items is not None].count(True) != 1:
            raise DomainError(Code.VALIDATION_ERROR, field="selection",
                              problem="one of: range, batch, list")
        order: list[str] | None = None
        if batch_id is not None:
            q = q.where(copies.c.import_batch_id == batch_id)
        elif items is not None:
            order = [self._reg_of(library, i) for i in items]
            if len(order) > MAX_LABELS:
                raise DomainError(Code.PAYLOAD_TOO_LARGE, max_items=MAX_LABELS)
            q = q.where(copies.c.reg_no.in_(order))
        else:
            lo, hi = (normalize_registration_number(v or "") for v in (first, last))
            if lo is None or hi is None or lo[:2] != hi[:2] or lo > hi:
                raise DomainError(Code.VALIDATION_ERROR, field="range",
                                  problem="two 등록번호 of one 등록구분, first <= last")
            q = q.where(copies.c.reg_no >= lo, copies.c.reg_no <= hi)
        with self.db.read() as conn:
            name = self._library_name(conn, library)
            rows = conn.execute(q.order_by(copies.c.reg_no).limit(MAX_LABELS + 1)).all()
        if len(rows) > MAX_LABELS:
            raise DomainError(Code.PAYLOAD_TOO_LARGE, max_items=MAX_LABELS)
        if order is not None:
            found = {r.reg_no: r for r in rows}
            missing = [r for r in order if r not in found]
            if missing:
                raise DomainError(Code.COPY_UNKNOWN, items=missing[:10])
            rows = [found[r] for r in order]
        return [Label(UnifiedBarcode(library, r.reg_no).text, UnifiedBarcode(
            library, r.reg_no).text, (name, " ".join(v for v in (r.shelf_mark, r.call_number)
                                                     if v) or r.title))
            for r in rows]

    @staticmethod
    def _reg_of(library: str, item: str) -> str:
        try:
            scan = parse_scan(item)
        except DomainError:
            raise DomainError(Code.INVALID_BARCODE, value=item[:40]) from None
        if isinstance(scan, UnifiedBarcode):
            if scan.library_code != library:
                raise DomainError(Code.INVALID_BARCODE, value=item[:40],
                                  problem="another library's copy")
            return scan.registration_number
        if isinstance(scan, RegistrationNumber):
            return scan.value
        raise DomainError(Code.INVALID_BARCODE, value=item[:40], expected="등록번호")

    def institution_labels(self, library: str, count: int) -> list[Label]:
        """기관바코드 labels (`#` + 도서관부호) for the library's older books."""
        if not 1 <= count <= MAX_LABELS:
            raise DomainError(Code.VALIDATION_ERROR, field="count", max=MAX_LABELS)
        with self.db.read() as conn:
            name = self._library_name(conn, library)
        code = InstitutionBarcode(library).text
        return [Label(code, code, (name, "기관바코드"))] * count

    def member_cards(self, library: str, *, batch_id: int | None = None,
                     numbers: Sequence[str] | None = None) -> list[tuple[str, str, str]]:
        """Cards of members the library issued: a conversion batch, or a list."""
        if (batch_id is None) == (numbers is None):
            raise DomainError(Code.VALIDATION_ERROR, field="selection",
                              problem="one of: batch, list")
        q = select(members.c.number, members.c.name).where(
            members.c.issuing_library == library, members.c.status == "active")
        if batch_id is not None:
            q = q.join(member_imports, member_imports.c.member_id == members.c.id).where(
                member_imports.c.batch_id == batch_id).order_by(member_imports.c.record_no)
        else:
            q = q.where(members.c.number.in_(list(numbers or []))).order_by(members.c.number)
        with self.db.read() as conn:
            name = self._library_name(conn, library)
            rows = conn.execute(q.limit(MAX_LABELS + 1)).all()
        if len(rows) > MAX_LABELS:
            raise DomainError(Code.PAYLOAD_TOO_LARGE, max_items=MAX_LABELS)
        if numbers is not None and len(rows) != len(set(numbers)):
            found = {r.number for r in rows}
            raise DomainError(Code.MEMBER_UNKNOWN, members=[mask_member_number(n) for n in numbers
                                       if n not in found][:10])
        return [(r.number, r.name or "", name) for r in rows]
