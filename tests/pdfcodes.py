"""Read bar codes back from rendered PDFs: pypdfium2 rasterises each page, zxing-cpp
decodes the Code 128 symbols (test extras)."""

from __future__ import annotations

from collections.abc import Iterator

import pypdfium2 as pdfium
import zxingcpp

from chaekieum.services.printing import A4_MM, Layout

DPI = 300


def pages(pdf: bytes) -> Iterator:  # noqa: ANN001
    doc = pdfium.PdfDocument(pdf)
    try:
        for i in range(len(doc)):
            yield doc[i].render(scale=DPI / 72).to_pil()
    finally:
        doc.close()


def decode_all(pdf: bytes) -> list[str]:
    """Every Code 128 on every page (page order; within a page as found)."""
    return [r.text for image in pages(pdf)
            for r in zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.Code128)]


def decode_slots(pdf: bytes, sheet: Layout) -> list[str | None]:
    """The bar code in each label slot, page by page in sheet order (None: empty)."""
    px = DPI / 25.4
    out: list[str | None] = []
    for image in pages(pdf):
        assert abs(image.size[1] - A4_MM[1] * px) < 3  # A4 portrait
        for x, y in sheet.positions():
            top = (A4_MM[1] - y - sheet.label_h) * px
            crop = image.crop((int(x * px), int(top), int((x + sheet.label_w) * px),
                               int(top + sheet.label_h * px)))
            found = zxingcpp.read_barcodes(crop, formats=zxingcpp.BarcodeFormat.Code128)
            assert len(found) <= 1
            out.append(found[0].text if found else None)
    return out


def text(pdf: bytes) -> str:
    doc = pdfium.PdfDocument(pdf)
    try:
        return "\n".join(doc[i].get_textpage().get_text_range() for i in range(len(doc)))
    finally:
        doc.close()
