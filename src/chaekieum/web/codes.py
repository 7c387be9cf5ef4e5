"""Member card symbols on screen: the member number as Code 128 (python-barcode) and QR
(segno). Paper (cards and label sheets): services/printing.py."""

from __future__ import annotations

import io
import re

import barcode
import segno
from barcode.writer import SVGWriter


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
