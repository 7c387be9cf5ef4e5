"""Streaming readers for the files a joining library brings (bounded memory).

- ISO 2709 (KORMARC / MARC 21): the file is split on the record terminator (0x1D) in
  1 MiB blocks and each record is parsed by pymarc. Splitting ourselves (instead of
  trusting each record's length prefix) means a record with a broken leader does not
  lose the rest of the file.
- MARCXML: pymarc's SAX handler, fed incrementally; EUC-KR/CP949 documents are decoded
  before expat (which reads no multi-byte legacy encodings).
- CSV: one row per copy (holdings) or per member.

Character sets: UTF-8 (leader/09 = 'a', or valid UTF-8) and the EUC-KR/CP949 that older
Korean systems write; `encoding="auto"` tries UTF-8 and falls back to CP949 (a superset
of EUC-KR).
"""

from __future__ import annotations

import codecs
import csv
import io
import logging
import multiprocessing
import re
import warnings
import xml.sax
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from queue import Empty
from typing import IO, Any

import pymarc

from ..domain.imports import Copy, Holding, Problem, RecordProblem, strip_marc_punctuation

BLOCK = 1 << 20
RT = b"\x1d"  # ISO 2709 record terminator
ENCODINGS = ("auto", "utf-8", "euc-kr", "cp949", "marc8")
FORMATS = ("iso2709", "marcxml", "csv")

logging.getLogger("pymarc").setLevel(logging.ERROR)  # indicator warnings per record


@dataclass
class Read:
    """One record of the file: `number` counts from 1 in file order (broken ones too);
    `position` is how far into the file (bytes) the reader is, for progress."""

    number: int
    position: int
    value: Any  # a pymarc.Record, a CSV row (dict) or a RecordProblem


def guess_format(name: str) -> str:
    lower = name.lower()
    if lower.endswith((".xml", ".marcxml")):
        return "marcxml"
    if lower.endswith((".csv", ".tsv")):
        return "csv"
    return "iso2709"


# -- ISO 2709 -----------------------------------------------------------------------
def iso2709(fh: IO[bytes], encoding: str = "auto", skip: int = 0) -> Iterator[Read]:
    """`skip`: records up to this number are only counted, not parsed (resume)."""
    number = 0
    position = 0
    rest = b""
    while True:
        block = fh.read(BLOCK)
        if not block:
            break
        parts = (rest + block).split(RT)
        rest = parts.pop()
        for raw in parts:
            number += 1
            position += len(raw) + 1
            if not raw.strip():
                number -= 1  # blank line between records (some exporters add one)
                continue
            yield Read(number, position, None if number <= skip else
                       _parse_iso(raw.lstrip(b"\r\n") + RT, encoding))
    if rest.strip():
        number += 1
        position += len(rest)
        yield Read(number, position, RecordProblem(Problem.BROKEN_RECORD,
                                                   detail="no record terminator"))


def _parse_iso(raw: bytes, encoding: str) -> pymarc.Record | RecordProblem:
    if len(raw) < 25 or not raw[:5].isdigit() or int(raw[:5]) != len(raw):
        return RecordProblem(Problem.BROKEN_RECORD, detail="record length in the leader")
    utf8 = raw[9:10] == b"a" or encoding == "utf-8"
    tries: list[tuple[bool, str]]
    if utf8:
        tries = [(True, "utf-8")]
    elif encoding == "auto":
        tries = [(True, "utf-8"), (False, "cp949")]
    elif encoding == "marc8":
        tries = [(False, "iso8859-1")]  # pymarc reads MARC-8 under this name
    else:
        tries = [(False, encoding)]
    problem = Problem.BAD_ENCODING
    for force_utf8, enc in tries:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                return pymarc.Record(data=raw, to_unicode=True, force_utf8=force_utf8,
                                     file_encoding=enc, utf8_handling="strict")
        except UnicodeDecodeError:
            problem = Problem.BAD_ENCODING
        except Exception as exc:  # noqa: BLE001 - pymarc raises many kinds for bad structure
            return RecordProblem(Problem.BROKEN_RECORD, detail=type(exc).__name__)
    return RecordProblem(problem)


# -- MARCXML ------------------------------------------------------------------------
class _Collect(pymarc.XmlHandler):
    def __init__(self) -> None:
        super().__init__(strict=False, normalize_form=None)
        self.records: list[pymarc.Record | RecordProblem] = []
        self._broken: str | None = None

    def endElementNS(self, name, qname) -> None:  # noqa: ANN001, N802 - SAX API
        try:
            super().endElementNS(name, qname)
        except Exception as exc:  # noqa: BLE001 - a bad leader or field: this record only
            self._broken = self._broken or type(exc).__name__
            self._text = []

    def process_record(self, record: pymarc.Record) -> None:
        if self._broken:
            self.records.append(RecordProblem(Problem.BROKEN_RECORD, detail=self._broken))
        else:
            self.records.append(_check_xml(record))
        self._broken = None


_XML_DECL = re.compile(rb"""<\?xml[^>]*encoding=["']([A-Za-z0-9_.-]+)["']""")


def marcxml(fh: IO[bytes], encoding: str = "auto") -> Iterator[Read]:
    handler = _Collect()
    parser = xml.sax.make_parser()
    parser.setFeature(xml.sax.handler.feature_namespaces, True)
    parser.setContentHandler(handler)
    first = fh.read(BLOCK)
    declared = _XML_DECL.search(first[:200])
    enc = encoding if encoding not in ("auto", "marc8") else (
        declared.group(1).decode().lower() if declared else "utf-8")
    decoder = None if enc in ("utf-8", "utf8", "ascii", "us-ascii") else \
        codecs.getincrementaldecoder(enc)()
    number = 0
    position = 0
    block = first
    while True:
        position += len(block)
        try:
            if decoder is not None:
                parser.feed(decoder.decode(block, final=not block))
            elif block:
                parser.feed(block)
            if not block:
                parser.close()
        except (xml.sax.SAXException, UnicodeDecodeError, LookupError) as exc:
            for record in handler.records:
                number += 1
                yield Read(number, position, record)
            yield Read(number + 1, position, RecordProblem(
                Problem.UNREADABLE_REST, detail=str(exc)[:200]))
            return
        for record in handler.records:
            number += 1
            yield Read(number, position, record)
        handler.records.clear()
        if not block:
            return
        block = fh.read(BLOCK)


def _check_xml(record: pymarc.Record) -> pymarc.Record | RecordProblem:
    leader = str(record.leader or "")
    if len(leader) != 24:
        return RecordProblem(Problem.BROKEN_RECORD, detail="leader is not 24 characters")
    return record


# -- CSV ----------------------------------------------------------------------------
def sniff_text_encoding(fh: IO[bytes], encoding: str = "auto") -> str:
    if encoding not in ("auto", "marc8"):
        return "utf-8-sig" if encoding == "utf-8" else encoding
    head = fh.read(BLOCK)
    fh.seek(0)
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
        return "utf-8-sig"
    except UnicodeDecodeError:
        return "cp949"


class _Counting(io.RawIOBase):
    """Counts the bytes read through it (progress of a text/CSV stream)."""

    def __init__(self, raw: IO[bytes]):
        self.raw = raw
        self.count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:  # noqa: ANN001
        data = self.raw.read(len(b))
        b[:len(data)] = data
        self.count += len(data)
        return len(data)


def csv_rows(fh: IO[bytes], encoding: str = "auto") -> Iterator[Read]:
    """Rows as dicts keyed by the (stripped) header names."""
    enc = sniff_text_encoding(fh, encoding)
    counting = _Counting(fh)
    text = io.TextIOWrapper(io.BufferedReader(counting, BLOCK), encoding=enc, newline="")
    reader = csv.reader(text)
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        return
    number = 0
    try:
        for row in reader:
            if not any(cell.strip() for cell in row):
                continue
            number += 1
            yield Read(number, counting.count, dict(zip(header, (c.strip() for c in row),
                                                        strict=False)))
    except (UnicodeDecodeError, csv.Error) as exc:
        yield Read(number + 1, counting.count, RecordProblem(
            Problem.UNREADABLE_REST, detail=str(exc)[:200]))


# -- mapping MARC to holdings -----------------------------------------------------
def holding_from_marc(record: pymarc.Record) -> Holding:
    """Title and author, call number, and one Copy per 049 ▾l (KORMARC holdings field:
    each ▾l starts a copy; ▾v 권차, ▾c 복본기호 and ▾f 별치기호 that follow belong to it)."""
    by_tag: dict[str, list[Any]] = {}
    for f in record.fields:  # one pass instead of a get_fields() per tag
        by_tag.setdefault(f.tag, []).append(f)

    def first(tag: str, code: str) -> str:
        for f in by_tag.get(tag, ()):
            for value in f.get_subfields(code):
                if value.strip():
                    return value.strip()
        return ""

    title = strip_marc_punctuation(first("245", "a"))
    part = strip_marc_punctuation(first("245", "b"))
    if part:
        title = f"{title} : {part}"
    author = (first("100", "a") or first("110", "a") or first("111", "a")
              or first("245", "d") or first("700", "a"))
    call_number = " ".join(v for v in (first("090", "a"), first("090", "b")) if v) \
        or first("056", "a") or first("082", "a") or first("050", "a")
    copies: list[Copy] = []
    for f in by_tag.get("049", ()):
        for sub in f.subfields:
            code, value = sub.code, sub.value.strip()
            if code == "l":
                copies.append(Copy(reg_no=value))
            elif copies and code == "f":
                copies[-1].shelf_mark = value
            elif copies and code == "v":
                copies[-1].volume = value
            elif copies and code == "c":
                copies[-1].copy_mark = value
    control = by_tag.get("001")
    bib_id = control[0].data.strip() if control and control[0].data else ""
    return Holding(bib_id=bib_id[:40], title=title[:300], author=strip_marc_punctuation(
        author)[:300], call_number=call_number[:100], copies=copies)


CSV_HOLDING_COLUMNS = {
    "reg_no": ("registration_number", "등록번호", "reg_no"),
    "title": ("title", "서명", "표제"),
    "author": ("author", "저자"),
    "call_number": ("call_number", "청구기호"),
    "shelf_mark": ("shelf_mark", "별치기호"),
    "bib_id": ("bib_id", "제어번호", "control_number"),
}


def pick(row: dict[str, str], names: tuple[str, ...]) -> str:
    for name in names:
        value = row.get(name)
        if value:
            return value
    return ""


def holding_from_csv(row: dict[str, str]) -> Holding:
    c = CSV_HOLDING_COLUMNS
    reg = pick(row, c["reg_no"])
    return Holding(bib_id=pick(row, c["bib_id"])[:40], title=pick(row, c["title"])[:300],
                   author=pick(row, c["author"])[:300],
                   call_number=pick(row, c["call_number"])[:100],
                   copies=[Copy(reg_no=reg, shelf_mark=pick(row, c["shelf_mark"]))]
                   if reg else [])


def holdings(fh: IO[bytes], fmt: str, encoding: str = "auto", skip: int = 0
             ) -> Iterator[Read]:
    """Read holdings records: `value` is a Holding or a RecordProblem (None for records
    up to `skip` that a reader did not need to parse)."""
    if fmt == "csv":
        for r in csv_rows(fh, encoding):
            if r.number > skip and not isinstance(r.value, RecordProblem):
                r.value = holding_from_csv(r.value)
            yield r
        return
    for r in (iso2709(fh, encoding, skip) if fmt == "iso2709" else marcxml(fh, encoding)):
        if isinstance(r.value, pymarc.Record):
            try:
                r.value = holding_from_marc(r.value)
            except Exception as exc:  # noqa: BLE001 - a malformed field in a parsed record
                r.value = RecordProblem(Problem.BROKEN_RECORD, detail=type(exc).__name__)
        yield r


# -- chunks, parsed inline or in a second process -----------------------------------
def _chunks(kind: str, path: Path, fmt: str, encoding: str, start: int, size: int
            ) -> Iterator[list[Read]]:
    with path.open("rb") as fh:
        chunk: list[Read] = []
        reads = holdings(fh, fmt, encoding, skip=start) if kind == "holdings" else \
            csv_rows(fh, encoding)
        for read in reads:
            if read.number <= start:
                continue
            chunk.append(read)
            if len(chunk) >= size:
                yield chunk
                chunk = []
        if chunk:
            yield chunk


def _produce(kind: str, path: Path, fmt: str, encoding: str, start: int, size: int,
             queue: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    """The reading process: parse and map, hand over chunks (the queue is bounded, so
    memory is too)."""
    try:
        for chunk in _chunks(kind, path, fmt, encoding, start, size):
            queue.put(chunk)
        queue.put(None)
    except BaseException as exc:  # noqa: BLE001 - handed to the importing process
        queue.put(exc)


def read_chunks(kind: str, path: Path, fmt: str, encoding: str, start: int, size: int,
                parallel_from: int) -> Iterator[list[Read]]:
    """Chunks of parsed records after record `start`. Files from `parallel_from` bytes
    are parsed in a second process while this one writes (parsing MARC in Python and
    writing to the database then overlap on two cores); smaller ones inline. The second
    process imports this module only (pymarc and the domain), not the hub."""
    if path.stat().st_size < parallel_from:
        yield from _chunks(kind, path, fmt, encoding, start, size)
        return
    ctx = multiprocessing.get_context("spawn")  # no fork of a threaded server
    queue = ctx.Queue(maxsize=4)
    proc = ctx.Process(target=_produce, args=(kind, path, fmt, encoding, start, size, queue),
                       daemon=True)
    proc.start()
    try:
        while True:
            try:
                item = queue.get(timeout=1)
            except Empty:
                if not proc.is_alive():
                    raise RuntimeError("the reading process stopped") from None
                continue
            if item is None:
                break
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        if proc.is_alive():
            proc.terminate()
        proc.join(timeout=10)
        queue.close()
