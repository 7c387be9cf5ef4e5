"""Documents a joining library uploads (issue 11): 참여신청서, 수요조사서, 공문, 세부일정 and
the like.

- **Size**: at most `max_bytes` (Hub `document_max_bytes`, env
  `CHAEKIEUM_DOCUMENT_MAX_MB`, default 20 MB); a larger upload is cut off while it is
  written, never kept (`ONBOARDING_DOCUMENT_TOO_LARGE`).
- **Type, by content**: puremagic names the family from the file's first bytes, then a
  structural check confirms it: a PDF ends with `%%EOF`; PNG and JPEG open and verify
  with Pillow; HWP is an OLE compound file (olefile) whose `FileHeader` stream starts
  with "HWP Document File"; HWPX is a zip whose `mimetype` entry is
  `application/hwp+zip` with a `Contents/` part; XLSX is a zip with
  `[Content_Types].xml` and `xl/workbook.xml`. The name's extension must agree with
  the content. Anything else is `ONBOARDING_DOCUMENT_TYPE` (a Word file, a plain zip,
  an executable renamed `.pdf`, an empty file).
- **Storage**: under the documents directory (env `CHAEKIEUM_DOCUMENTS_DIR`, default
  `documents/` beside the SQLite file or under `./var`), never under a web root, as
  `<2 hex>/<32 hex>`: a name the server makes. The uploaded name is only metadata,
  sanitized (no path, no control characters) and offered back on download. The row
  keeps the SHA-256 and size of the content.
- **Who**: as for the rest of the library's onboarding (services/onboarding.py): the
  national admin, the admin of the library's region, and the library's own staff and
  API keys may upload, list, download and remove; nobody else (another library's staff
  are refused with FORBIDDEN). Every upload and removal is in the audit trail.
"""

from __future__ import annotations

import hashlib
import os
import re
import unicodedata
import uuid
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import olefile
import puremagic
from sqlalchemy import Connection, delete, insert, select

from ..config import var_dir
from ..domain import onboarding as ob
from ..domain.errors import Code, DomainError
from ..store.db import Database, sqlite_path
from ..store.tables import onboarding_documents
from . import audit
from .context import Actor, Clock, Role
from .onboarding import _z
from .onboarding_access import FILL, VENDOR_DOCUMENT_KINDS, VIEW, require_library
from .tx import transactional

DEFAULT_MAX_BYTES = 20 * 1024 * 1024
CHUNK = 1 << 16

# what a document is, and the checklist item it satisfies unless another is named
KINDS: dict[str, tuple[str, str | None]] = {
    "application_form": ("참여신청서", "application.form"),
    "survey": ("수요조사서", "application.survey"),
    "letter": ("공문", "application.letter"),
    "schedule": ("세부일정", "application.schedule"),
    "other": ("기타", None),
}

# file type -> (media type served on download, extensions a name may have)
TYPES: dict[str, tuple[str, tuple[str, ...]]] = {
    "pdf": ("application/pdf", (".pdf",)),
    "hwp": ("application/x-hwp", (".hwp",)),
    "hwpx": ("application/hwp+zip", (".hwpx",)),
    "png": ("image/png", (".png",)),
    "jpeg": ("image/jpeg", (".jpg", ".jpeg")),
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", (".xlsx",)),
}
MEDIA_TYPES = tuple(media for media, _ in TYPES.values())
STORED = re.compile(r"[0-9a-f]{2}/[0-9a-f]{32}")
MAX_ZIP_ENTRIES = 10_000


def documents_dir(database_url: str) -> Path:
    """Where documents live unless configured: beside the SQLite file, else ./var."""
    configured = os.environ.get("CHAEKIEUM_DOCUMENTS_DIR", "").strip()
    if configured:
        return Path(configured).resolve()
    path = sqlite_path(database_url)
    return (path.parent if path is not None else var_dir()) / "documents"


def max_bytes_from_env() -> int:
    value = os.environ.get("CHAEKIEUM_DOCUMENT_MAX_MB", "").strip()
    return int(float(value) * 1024 * 1024) if value else DEFAULT_MAX_BYTES


# -- what a file is, by its content ---------------------------------------------------------
def sniff(path: Path) -> str | None:
    """The file type (a key of TYPES) the content shows, or None if it is none of them."""
    with path.open("rb") as f:
        head = f.read(8192)
    try:
        candidates = puremagic.magic_string(head)
    except puremagic.PureError:
        candidates = []
    extensions = {m.extension.lower() for m in candidates}
    checks: list[tuple[bool, Callable[[Path], str | None]]] = [
        (".pdf" in extensions, _pdf),
        (".png" in extensions, lambda p: _image(p, "PNG", "png")),
        (bool(extensions & {".jpg", ".jpeg", ".jfif", ".jpe"}),
         lambda p: _image(p, "JPEG", "jpeg")),
        (olefile.isOleFile(data=head) if len(head) >= 512 else False, _hwp),
        (head.startswith(b"PK\x03\x04"), _zip_package),
    ]
    for applies, check in checks:
        if applies:
            return check(path)
    return None


def _pdf(path: Path) -> str | None:
    """A PDF starts with `%PDF-` and ends with `%%EOF` (a truncated upload does not)."""
    size = path.stat().st_size
    with path.open("rb") as f:
        start = f.read(8)
        f.seek(max(0, size - 2048))
        tail = f.read()
    return "pdf" if start.startswith(b"%PDF-") and b"%%EOF" in tail else None


def _image(path: Path, fmt: str, file_type: str) -> str | None:
    from PIL import Image

    try:
        with Image.open(path) as img:
            if img.format != fmt:
                return None
            img.verify()
    except Exception:  # Pillow raises many kinds for a broken file  # noqa: BLE001
        return None
    return file_type


def _hwp(path: Path) -> str | None:
    """HWP 5: an OLE compound file whose FileHeader stream names itself."""
    try:
        with olefile.OleFileIO(str(path)) as ole:
            if not ole.exists("FileHeader"):
                return None
            signature = ole.openstream("FileHeader").read(32)
    except Exception:  # a damaged compound file  # noqa: BLE001
        return None
    return "hwp" if signature.startswith(b"HWP Document File") else None


def _zip_package(path: Path) -> str | None:
    """HWPX or XLSX, from the zip's directory (nothing is extracted or decompressed
    beyond HWPX's few-byte `mimetype` entry)."""
    try:
        with zipfile.ZipFile(path) as z:
            infos = z.infolist()
            if len(infos) > MAX_ZIP_ENTRIES:
                return None
            names = {i.filename for i in infos}
            if "[Content_Types].xml" in names and "xl/workbook.xml" in names:
                return "xlsx"
            mimetype = z.getinfo("mimetype") if "mimetype" in names else None
            if mimetype is not None and mimetype.file_size < 100 and any(
                    n.startswith("Contents/") for n in names):
                with z.open(mimetype) as f:
                    if f.read(100).strip() == b"application/hwp+zip":
                        return "hwpx"
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, KeyError, ValueError,
            NotImplementedError, EOFError):
        return None
    return None


def clean_name(raw: str, file_type: str) -> str:
    """The uploaded name as metadata: the last path part only, NFC, without control
    characters or characters Windows refuses in a name, at most 200 characters (the
    extension kept). Never used as a path."""
    name = unicodedata.normalize("NFC", raw or "")
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join("_" if ch in '<>:"|?*' else ch for ch in name
                   if unicodedata.category(ch)[0] != "C")
    name = re.sub(r"\s+", " ", name).strip().lstrip(". ")
    stem, dot, ext = name.rpartition(".")
    if not dot:
        stem, ext = name, ""
    ext = ext[:10]
    stem = stem[:200 - len(ext) - 1].rstrip() or "document"
    return f"{stem}.{ext}" if ext else f"{stem}{TYPES[file_type][1][0]}"


def extension(raw: str) -> str:
    name = (raw or "").replace("\\", "/").rsplit("/", 1)[-1].strip()
    return os.path.splitext(name)[1].lower()


@dataclass
class Staged:
    """An uploaded file written to the incoming folder and checked, not yet recorded."""

    path: Path
    size: int
    sha256: str
    file_type: str
    filename: str

    def discard(self) -> None:
        self.path.unlink(missing_ok=True)


class OnboardingDocuments:
    def __init__(self, db: Database, clock: Clock, directory: Path,
                 max_bytes: int = DEFAULT_MAX_BYTES):
        self.db = db
        self.clock = clock
        self.directory = directory
        self.max_bytes = max_bytes

    def _folder(self, *parts: str) -> Path:
        folder = self.directory.joinpath(*parts)
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        return folder

    def _path(self, stored_as: str) -> Path:
        if not STORED.fullmatch(stored_as):  # only names this module made
            raise DomainError(Code.NOT_FOUND, document=stored_as[:80])
        return self.directory / stored_as

    def _library(self, conn: Connection, actor: Actor, code: str, what: str) -> None:
        require_library(conn, actor, code, what)

    @staticmethod
    def _may_see(actor: Actor, kind: str) -> bool:
        """A vendor sees and uploads only VENDOR_DOCUMENT_KINDS (services/onboarding.py)."""
        return actor.role != Role.VENDOR or kind in VENDOR_DOCUMENT_KINDS

    def _kind_allowed(self, actor: Actor, code: str, kind: str, doc_id: int | None = None) -> None:
        if not self._may_see(actor, kind):
            raise DomainError(Code.FORBIDDEN, library_code=code, kind=kind, document_id=doc_id)

    # -- upload: stage (write, hash, check), then record ---------------------------------
    def stage(self, actor: Actor, code: str, stream: BinaryIO, filename: str) -> Staged:
        """Write the upload to the incoming folder while hashing and counting it (cut off
        past `max_bytes`), then check its type by content. Refusals leave nothing."""
        with self.db.read() as conn:
            self._library(conn, actor, code, FILL)
        path = self._folder("incoming") / f"{uuid.uuid4().hex}.part"
        digest, size = hashlib.sha256(), 0
        try:
            with path.open("xb") as out:
                while block := stream.read(CHUNK):
                    size += len(block)
                    if size > self.max_bytes:
                        raise DomainError(Code.ONBOARDING_DOCUMENT_TOO_LARGE,
                                          max_bytes=self.max_bytes)
                    digest.update(block)
                    out.write(block)
            detected = sniff(path) if size else None
            if detected is None:
                raise DomainError(Code.ONBOARDING_DOCUMENT_TYPE, detected=None,
                                  allowed=sorted(TYPES), size=size)
            ext = extension(filename)
            if ext not in TYPES[detected][1]:
                raise DomainError(Code.ONBOARDING_DOCUMENT_TYPE, detected=detected,
                                  extension=ext[:10], allowed=sorted(TYPES))
        except BaseException:
            path.unlink(missing_ok=True)
            raise
        return Staged(path, size, digest.hexdigest(), detected, clean_name(filename, detected))

    @transactional
    def add(self, conn: Connection, actor: Actor, code: str, staged: Staged,
            kind: str = "other", item: str | None = None, note: str = "") -> dict[str, Any]:
        """Record a staged file as one of the library's documents (moving it to its
        stored name) and audit it."""
        self._library(conn, actor, code, FILL)
        if kind not in KINDS:
            raise DomainError(Code.VALIDATION_ERROR, field="kind", allowed=sorted(KINDS))
        self._kind_allowed(actor, code, kind)
        item = item or KINDS[kind][1]
        if item is not None:
            ob.checklist_item(item)
        name = uuid.uuid4().hex
        stored_as = f"{name[:2]}/{name}"
        target = self._folder(name[:2]) / name
        now = self.clock.now()
        os.replace(staged.path, target)
        try:
            doc_id = conn.execute(insert(onboarding_documents).values(
                library_code=code, kind=kind, item=item, filename=staged.filename,
                file_type=staged.file_type, media_type=TYPES[staged.file_type][0],
                size=staged.size, sha256=staged.sha256, stored_as=stored_as,
                note=note[:500], uploaded_at=now, actor=actor.label,
            ).returning(onboarding_documents.c.id)).scalar_one()
            audit.record(conn, actor, "onboarding.document", "library", code, now,
                         {"document_id": doc_id, "kind": kind, "item": item,
                          "filename": staged.filename, "size": staged.size,
                          "sha256": staged.sha256}, code)
        except BaseException:
            target.unlink(missing_ok=True)
            raise
        return _out(conn.execute(select(onboarding_documents).where(
            onboarding_documents.c.id == doc_id)).one())

    def upload(self, actor: Actor, code: str, stream: BinaryIO, filename: str,
               kind: str = "other", item: str | None = None, note: str = "") -> dict[str, Any]:
        """stage + add, for callers without an idempotency key (the console)."""
        staged = self.stage(actor, code, stream, filename)
        try:
            return self.add(actor, code, staged, kind, item, note)
        finally:
            staged.discard()

    # -- reading --------------------------------------------------------------------------
    def list(self, actor: Actor, code: str) -> dict[str, Any]:
        with self.db.read() as conn:
            self._library(conn, actor, code, VIEW)
            rows = conn.execute(select(onboarding_documents).where(
                onboarding_documents.c.library_code == code).order_by(
                onboarding_documents.c.uploaded_at.desc(),
                onboarding_documents.c.id.desc())).all()
        return {"code": code,
                "documents": [_out(r) for r in rows if self._may_see(actor, r.kind)],
                "max_bytes": self.max_bytes, "file_types": sorted(TYPES),
                "kinds": [{"kind": k, "label": label, "item": item}
                          for k, (label, item) in KINDS.items() if self._may_see(actor, k)]}

    def open(self, actor: Actor, code: str, doc_id: int) -> tuple[dict[str, Any], Path]:
        """A document's metadata and the path of its content, for download."""
        with self.db.read() as conn:
            self._library(conn, actor, code, VIEW)
            row = conn.execute(select(onboarding_documents).where(
                onboarding_documents.c.library_code == code,
                onboarding_documents.c.id == doc_id)).first()
        if row is None:
            raise DomainError(Code.NOT_FOUND, document_id=doc_id)
        self._kind_allowed(actor, code, row.kind, doc_id)
        path = self._path(row.stored_as)
        if not path.is_file():
            raise DomainError(Code.NOT_FOUND, document_id=doc_id, problem="file missing")
        return _out(row), path

    # -- removal --------------------------------------------------------------------------
    @transactional
    def remove(self, conn: Connection, actor: Actor, code: str, doc_id: int) -> dict[str, Any]:
        """Delete the record and the file. (Should the transaction fail after this, the
        record stays and answers NOT_FOUND on download: the file is gone either way.)"""
        self._library(conn, actor, code, FILL)
        row = conn.execute(select(onboarding_documents).where(
            onboarding_documents.c.library_code == code,
            onboarding_documents.c.id == doc_id)).first()
        if row is None:
            raise DomainError(Code.NOT_FOUND, document_id=doc_id)
        self._kind_allowed(actor, code, row.kind, doc_id)
        conn.execute(delete(onboarding_documents).where(onboarding_documents.c.id == doc_id))
        audit.record(conn, actor, "onboarding.document_remove", "library", code,
                     self.clock.now(), {"document_id": doc_id, "filename": row.filename,
                                        "sha256": row.sha256}, code)
        self._path(row.stored_as).unlink(missing_ok=True)
        return {"code": code, "removed": doc_id}


def _out(row: Any) -> dict[str, Any]:
    return {"id": row.id, "kind": row.kind, "kind_label": KINDS[row.kind][0],
            "item": row.item, "filename": row.filename, "file_type": row.file_type,
            "media_type": row.media_type, "size": row.size, "sha256": row.sha256,
            "note": row.note, "uploaded_at": _z(row.uploaded_at), "actor": row.actor}
