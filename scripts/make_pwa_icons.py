"""Draw the member app's icons (web manifest, src/chaekieum/web/static/icons/) with Pillow.

    .venv/bin/python scripts/make_pwa_icons.py

The PNGs are committed; rerun this after changing the drawing. The glyph is drawn in
NanumGothic Bold (fonts-nanum) when it is installed, else an open book is drawn alone.
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

OUT = Path(__file__).resolve().parents[1] / "src" / "chaekieum" / "web" / "static" / "icons"
BLUE, WHITE = (11, 92, 173), (255, 255, 255)
FONT = Path("/usr/share/fonts/truetype/nanum/NanumGothicBold.ttf")


def draw(size: int, maskable: bool) -> Image.Image:
    image = Image.new("RGB", (size, size), BLUE)
    pen = ImageDraw.Draw(image)
    # a maskable icon keeps its drawing inside the central 80 % safe zone
    unit = size * (0.8 if maskable else 1.0) / 100
    cx, cy = size / 2, size / 2
    # an open book: two pages meeting at the spine
    top, bottom, half = cy + 4 * unit, cy + 34 * unit, 34 * unit
    pen.polygon([(cx, top + 4 * unit), (cx - half, top), (cx - half, bottom),
                 (cx, bottom + 4 * unit)], fill=WHITE)
    pen.polygon([(cx, top + 4 * unit), (cx + half, top), (cx + half, bottom),
                 (cx, bottom + 4 * unit)], fill=(220, 232, 246))
    if FONT.exists():
        font = ImageFont.truetype(str(FONT), int(36 * unit))
        pen.text((cx, cy - 16 * unit), "책", fill=WHITE, font=font, anchor="mm")
    return image


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for name, size, maskable in (("icon-192.png", 192, False), ("icon-512.png", 512, False),
                                 ("maskable-512.png", 512, True)):
        draw(size, maskable).save(OUT / name, optimize=True)
        print(OUT / name)


if __name__ == "__main__":
    main()
