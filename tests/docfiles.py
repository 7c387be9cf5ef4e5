"""Small, real files of each kind a joining library uploads (PDF, HWP, HWPX, PNG, JPEG,
XLSX), and a few that must be refused, made here so the tests need no binary fixtures.

HWP 5 is an OLE compound file (MS-CFB) with a `FileHeader` stream that starts with
"HWP Document File"; `ole()` writes a minimal version-3 compound file holding the given
small streams (each under the 4096-byte cutoff, so they live in the mini stream), which
olefile reads like any other.
"""

from __future__ import annotations

import io
import struct
import zipfile

FREE, END, FAT, NOSTREAM = 0xFFFFFFFF, 0xFFFFFFFE, 0xFFFFFFFD, 0xFFFFFFFF


def _dir_entry(name: str, kind: int, child: int = NOSTREAM, right: int = NOSTREAM,
               start: int = 0, size: int = 0) -> bytes:
    encoded = (name.encode("utf-16-le") + b"\0\0") if name else b""
    return (encoded.ljust(64, b"\0") + struct.pack("<HBB", len(encoded), kind, 1)
            + struct.pack("<III", NOSTREAM, right, child) + b"\0" * 16
            + struct.pack("<IQQIQ", 0, 0, 0, start if name else 0, size))


def ole(streams: dict[str, bytes]) -> bytes:
    """A compound file: sector 0 FAT, 1 directory, 2.. mini stream, then the mini FAT."""
    assert len(streams) <= 3 and all(len(d) < 4096 for d in streams.values())
    mini = b""
    minifat: list[int] = []
    entries = []
    names = list(streams)
    for n, name in enumerate(names):
        data = streams[name]
        first = len(mini) // 64
        count = max(1, -(-len(data) // 64))
        minifat += [first + i + 1 for i in range(count - 1)] + [END]
        mini += data.ljust(count * 64, b"\0")
        # siblings as a right-leaning chain: entry n+1's right is entry n+2
        entries.append(_dir_entry(name, 2, right=n + 2 if n + 1 < len(names) else NOSTREAM,
                                  start=first, size=len(data)))
    mini_sectors = max(1, -(-len(mini) // 512))
    minifat_sector = 2 + mini_sectors
    fat = [FAT, END] + [3 + i for i in range(mini_sectors - 1)] + [END, END]
    root = _dir_entry("Root Entry", 5, child=1, start=2, size=len(mini))
    directory = (root + b"".join(entries)).ljust(512, b"\0")
    directory = b"".join(
        directory[i:i + 128] if directory[i:i + 2] != b"\0\0" else
        _dir_entry("", 0) for i in range(0, 512, 128))
    header = (bytes.fromhex("D0CF11E0A1B11AE1") + b"\0" * 16
              + struct.pack("<HHHHH", 0x3E, 3, 0xFFFE, 9, 6) + b"\0" * 6
              + struct.pack("<IIIIIIIII", 0, 1, 1, 0, 4096, minifat_sector, 1, END, 0)
              + struct.pack("<I", 0) + struct.pack("<I", FREE) * 108)
    assert len(header) == 512
    body = struct.pack(f"<{128}I", *(fat + [FREE] * (128 - len(fat))))
    body += directory + mini.ljust(mini_sectors * 512, b"\0")
    body += struct.pack(f"<{128}I", *(minifat + [FREE] * (128 - len(minifat))))
    return header + body


def hwp() -> bytes:
    """An HWP 5.0 document's container: FileHeader (signature, version 5.1.0.1)."""
    header = b"HWP Document File".ljust(32, b"\0") + struct.pack("<II", 0x05010001, 0)
    return ole({"FileHeader": header.ljust(256, b"\0"), "DocInfo": b"\0" * 100})


def word_doc() -> bytes:
    """An OLE file that is not HWP (an old Word document's container)."""
    return ole({"WordDocument": b"\xec\xa5" + b"\0" * 200})


def _zip(entries: dict[str, bytes], stored_first: str | None = None) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        for name, data in entries.items():
            z.writestr(name, data, compress_type=zipfile.ZIP_STORED if name == stored_first
                       else zipfile.ZIP_DEFLATED)
    return out.getvalue()


def hwpx() -> bytes:
    """An HWPX (OWPML) package: `mimetype` first and stored, then the contents."""
    return _zip({
        "mimetype": b"application/hwp+zip",
        "version.xml": b'<?xml version="1.0"?><hv:HCFVersion xmlns:hv="http://www.hancom.co.kr/hwpml/2011/version"/>',
        "Contents/content.hpf": b'<?xml version="1.0"?><opf:package xmlns:opf="http://www.idpf.org/2007/opf/"/>',
        "Contents/section0.xml": b'<?xml version="1.0"?><hs:sec xmlns:hs="http://www.hancom.co.kr/hwpml/2011/section"/>',
        "META-INF/container.xml": b'<?xml version="1.0"?><container/>',
    }, stored_first="mimetype")


def xlsx() -> bytes:
    """A minimal SpreadsheetML workbook (one empty sheet)."""
    return _zip({
        "[Content_Types].xml": b'<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/></Types>',
        "_rels/.rels": b'<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"/>',
        "xl/workbook.xml": b'<?xml version="1.0"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheets/></workbook>',
        "xl/worksheets/sheet1.xml": b'<?xml version="1.0"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"/>',
    })


def docx() -> bytes:
    """A Word package: a zip like XLSX, but not a spreadsheet."""
    return _zip({
        "[Content_Types].xml": b'<?xml version="1.0"?><Types/>',
        "word/document.xml": b'<?xml version="1.0"?><w:document xmlns:w="x"/>',
    })


def plain_zip() -> bytes:
    return _zip({"readme.txt": b"hello"})


def pdf(text: str = "참여신청서") -> bytes:
    from reportlab.pdfgen import canvas

    out = io.BytesIO()
    c = canvas.Canvas(out)
    c.drawString(72, 720, text.encode("ascii", "replace").decode())
    c.save()
    return out.getvalue()


def image(fmt: str) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 30, 30)).save(out, format=fmt)
    return out.getvalue()
