"""What an uploaded document is, by its content (services/onboarding_docs.py), and the
uploaded name kept as metadata only."""

from __future__ import annotations

from pathlib import Path

import pytest

from chaekieum.services.onboarding_docs import clean_name, sniff

from .. import docfiles

KINDS = [
    (docfiles.pdf, "pdf"), (docfiles.hwp, "hwp"), (docfiles.hwpx, "hwpx"),
    (docfiles.xlsx, "xlsx"), (lambda: docfiles.image("PNG"), "png"),
    (lambda: docfiles.image("JPEG"), "jpeg"),
    (docfiles.word_doc, None), (docfiles.docx, None), (docfiles.plain_zip, None),
    (lambda: docfiles.image("GIF"), None), (lambda: docfiles.image("BMP"), None),
    (lambda: b"%PDF-1.7\n" + b"x" * 100, None),  # no %%EOF: cut short
    (lambda: docfiles.hwp()[:1024], None),  # a broken compound file
    (lambda: b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600, None),
    (lambda: b"PK\x03\x04" + b"\0" * 100, None),
    (lambda: "이름,연락처\n홍길동,010\n".encode(), None),
]


@pytest.mark.parametrize(("make", "expected"), KINDS)
def test_sniff_by_content(tmp_path: Path, make, expected) -> None:  # noqa: ANN001
    path = tmp_path / "upload.bin"
    path.write_bytes(make())
    assert sniff(path) == expected


@pytest.mark.parametrize(("raw", "clean"), [
    ("참여신청서.pdf", "참여신청서.pdf"),
    ("../../etc/passwd.pdf", "passwd.pdf"),
    ("C:\\Users\\도서관\\공문.hwp", "공문.hwp"),
    ("con\x00trol\x1b[31m\x7f.pdf", "control[31m.pdf"),
    ("abc\u202egnp.pdf", "abcgnp.pdf"),
    ('a<b>c:d"e|f?g*h.pdf', "a_b_c_d_e_f_g_h.pdf"),
    ("  ..  .hidden   file .pdf", "hidden file.pdf"),
    ("한글\u1100\u1161.pdf", "한글가.pdf"),  # NFD jamo become NFC
    ("", "document.pdf"),
    ("....", "document.pdf"),
    ("x" * 300 + ".pdf", "x" * 196 + ".pdf"),
])
def test_clean_name(raw: str, clean: str) -> None:
    assert clean_name(raw, "pdf") == clean
