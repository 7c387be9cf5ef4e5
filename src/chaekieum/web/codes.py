"""Member card symbols: the member number as Code 128 (python-barcode) and QR (segno)."""

from __future__ import annotations

import io
import re

import barcode
import segno
from barcode.writer import SVGWriter

from ..domain.numbering import mask_member_number


def code128_svg(text: str) -> bytes:
    """A Code 128 barcode as SVG, bars only (the number is printed beside it in HTML)."""
    out = io.BytesIO()
    barcode.Code128(text, writer=SVGWriter()).write(out, options={
        "module_width": 0.38, "module_height": 16.0, "quiet_zone": 6.5,
        "write_text": False, "background": "white", "foreground": "black"})
    return _scalable(out.getvalue())


MM = 96 / 25.4  # CSS px per mm


def _scalable(svg: bytes) -> bytes:
    """Give python-barcode's mm-sized SVG a viewBox so it scales to any width."""
    text = svg.decode()
    m = re.search(r'width="([\d.]+)mm" height="([\d.]+)mm"', text)
    if m:
        w, h = float(m.group(1)) * MM, float(m.group(2)) * MM
        text = text.replace(m.group(0), f'width="{w:.1f}" height="{h:.1f}" '
                            f'viewBox="0 0 {w:.2f} {h:.2f}" preserveAspectRatio="none"', 1)
    return text.encode()


def qr_svg(text: str) -> bytes:
    out = io.BytesIO()
    segno.make(text, error="m", micro=False).save(out, kind="svg", scale=10, border=4,
                                                  xmldecl=True, svgns=True)
    return out.getvalue()


CARD_W_MM, CARD_H_MM = 85.6, 53.98  # ISO/IEC 7810 ID-1 (a bank-card-sized 이용증)


def member_card_pdf(number: str, name: str, library: str) -> bytes:
    """A printable member card (ID-1 size PDF): Korean text, Code 128 of the number."""
    from reportlab.graphics.barcode.code128 import Code128
    from reportlab.lib.units import mm
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    if "HYGothic-Medium" not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont("HYGothic-Medium"))  # Korean, no file needed
    out = io.BytesIO()
    width, height = CARD_W_MM * mm, CARD_H_MM * mm
    pdf = canvas.Canvas(out, pagesize=(width, height), pageCompression=0)
    pdf.setTitle(f"책이음 이용증 {mask_member_number(number)}")
    pdf.setFillColorRGB(0.05, 0.36, 0.68)
    pdf.rect(0, height - 12 * mm, width, 12 * mm, stroke=0, fill=1)
    pdf.setFillColorRGB(1, 1, 1)
    pdf.setFont("HYGothic-Medium", 11)
    pdf.drawString(5 * mm, height - 8 * mm, "책이음 통합 이용증")
    pdf.setFillColorRGB(0, 0, 0)
    pdf.setFont("HYGothic-Medium", 12)
    pdf.drawString(5 * mm, height - 19 * mm, name or "")
    pdf.setFont("HYGothic-Medium", 7.5)
    pdf.drawString(5 * mm, height - 24 * mm, library)
    bars = Code128(number, barHeight=12 * mm, barWidth=0.3 * mm, quiet=False)
    bars.drawOn(pdf, (width - bars.width) / 2, 9 * mm)
    pdf.setFont("Helvetica", 9)
    pdf.drawCentredString(width / 2, 4.5 * mm, number)
    pdf.showPage()
    pdf.save()
    return out.getvalue()
