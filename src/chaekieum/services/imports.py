"""Import batches: holdings from MARC/CSV files (members: services/member_import.py).

A batch streams its file in chunks of CHUNK records. Each chunk is one write
transaction that writes the copies, the problems found and the batch's checkpoint
together, so an interrupted import resumes exactly after the last committed chunk
(same library, same file content -> the unfinished batch is picked up again).

Idempotent: a copy is keyed by (library, 등록번호); a re-import updates what changed and
leaves the rest (updated_at untouched). Each copy remembers the batch and record that
last carried it (labels by batch; a 등록번호 already carried by an earlier record of the
same batch is a duplicate within the file). A dry run reads the hub and writes nothing.
"""

from __future__ import annotations

import csv
import hashlib
import multiprocessing
import sqlite3
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from queue import Empty
from typing import IO, Any

from sqlalchemy import Connection, bindparam, insert, select, text, update

from ..domain.errors import Code, DomainError
from ..domain.imports import (
    Holding,
    Problem,
    RecordProblem,
    ShelfMarks,
    check_reg_no,
    message,
)
from ..store.db import Database
from ..store.tables import copies, import_batches, import_problems
from . import audit
from .context import Actor, Clock
from .import_sources import ENCODINGS, FORMATS, Read, guess_format
from .import_sources import holdings as read_holdings
from .registry import Registry

CHUNK = 2000  # records per transaction
PARALLEL_FROM_BYTES = 16 << 20  # files from this size are parsed in a second process
UNFINISHED = ("queued", "running", "interrupted")
Progress = Callable[["Summary"], None]


@dataclass
class Summary:
    batch_id: int | None
    kind: str
    library_code: str
    filename: str
    dry_run: bool
    file_size: int
    done_bytes: int = 0
    records: int = 0  # records read (position in the file)
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0  # records or copies skipped with a problem
    resumed_from: int = 0
    status: str = "running"
    by_code: dict[str, int] = field(default_factory=dict)  # problems of this run, by code
    report_rows: int = 0

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)

    def count(self, problems: list[dict[str, Any]]) -> None:
        for p in problems:
            self.by_code[p["code"]] = self.by_code.get(p["code"], 0) + 1


def file_digest(path: Path) -> tuple[str, int]:
    h = hashlib.sha256()
    size = 0
    with path.open("rb") as fh:
        while block := fh.read(1 << 20):
            h.update(block)
            size += len(block)
    return h.hexdigest(), size


def problem_row(batch_id: int | None, record_no: int, p: RecordProblem) -> dict[str, Any]:
    return {"batch_id": batch_id, "record_no": record_no, "key": p.key[:40],
            "code": str(p.problem), "detail": p.detail[:200]}


REPORT_COLUMNS = ("record_no", "key", "code", "reason", "reason_en", "detail")


def write_report(rows: Iterator[dict[str, Any]], out: IO[str]) -> int:
    """The validation report as CSV (UTF-8 with BOM so spreadsheet programs read Korean)."""
    writer = csv.writer(out)
    writer.writerow(REPORT_COLUMNS)
    n = 0
    for r in rows:
        writer.writerow(report_line(r))
        n += 1
    return n


def report_line(r: dict[str, Any]) -> list[Any]:
    p = Problem(r["code"])
    return [r["record_no"], r["key"], r["code"], message(p, "ko"), message(p, "en"),
            r["detail"]]


def _chunks(path: Path, fmt: str, encoding: str, start: int, size: int
            ) -> Iterator[list[Read]]:
    with path.open("rb") as fh:
        chunk: list[Read] = []
        for read in read_holdings(fh, fmt, encoding, skip=start):
            if read.number <= start:
                continue
            chunk.append(read)
            if len(chunk) >= size:
                yield chunk
                chunk = []
        if chunk:
            yield chunk


def _produce(path: Path, fmt: str, encoding: str, start: int, size: int,
             queue: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    """The reading process: parse and map, hand over chunks (the queue is bounded, so
    memory is too)."""
    try:
        for chunk in _chunks(path, fmt, encoding, start, size):
            queue.put(chunk)
        queue.put(None)
    except BaseException as exc:  # noqa: BLE001 - handed to the importing process
        queue.put(exc)


def read_chunks(path: Path, fmt: str, encoding: str, start: int, size: int
                ) -> Iterator[list[Read]]:
    """Chunks of parsed records after record `start`. Big files are parsed in a second
    process while this one writes (parsing MARC in Python and writing to the database
    then overlap on two cores); small ones inline."""
    if path.stat().st_size < PARALLEL_FROM_BYTES:
        yield from _chunks(path, fmt, encoding, start, size)
        return
    ctx = multiprocessing.get_context("spawn")  # no fork of a threaded server
    queue = ctx.Queue(maxsize=4)
    proc = ctx.Process(target=_produce, args=(path, fmt, encoding, start, size, queue),
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


class _SeenInFile:
    """A dry run's memory of the 등록번호s met so far (a temporary SQLite file: bounded
    memory whatever the file size)."""

    def __init__(self) -> None:
        self._dir = tempfile.TemporaryDirectory(prefix="chaekieum-dry-")
        self.db = sqlite3.connect(Path(self._dir.name) / "seen.db")
        self.db.execute("CREATE TABLE seen (reg TEXT PRIMARY KEY, record INTEGER)")
        self.report: Any = None  # csv writer of the dry run's report

    def first_seen(self, regs: list[str]) -> dict[str, int]:
        out: dict[str, int] = {}
        for i in range(0, len(regs), 900):
            part = regs[i:i + 900]
            marks = ",".join("?" * len(part))
            out.update(self.db.execute(
                f"SELECT reg, record FROM seen WHERE reg IN ({marks})", part).fetchall())
        return out

    def add(self, pairs: list[tuple[str, int]]) -> None:
        self.db.executemany("INSERT OR IGNORE INTO seen VALUES (?, ?)", pairs)

    def close(self) -> None:
        self.db.close()
        self._dir.cleanup()


class Imports:
    def __init__(self, db: Database, registry: Registry, clock: Clock):
        self.db = db
        self.registry = registry
        self.clock = clock

    # -- batches ---------------------------------------------------------------------
    def open_batch(self, actor: Actor, kind: str, path: Path, fmt: str,
                   options: dict[str, Any], filename: str | None = None) -> tuple[int, bool]:
        """The unfinished batch of this library for the same file content (resume), or a
        new one. Returns (batch id, resumed)."""
        library = actor.require_library()
        self.registry.library(library)
        digest, size = file_digest(path)
        with self.db.write() as conn:
            row = conn.execute(select(import_batches.c.id).where(
                import_batches.c.library_code == library, import_batches.c.kind == kind,
                import_batches.c.file_sha256 == digest,
                import_batches.c.status.in_(UNFINISHED)).order_by(
                import_batches.c.id.desc())).first()
            if row is not None:
                return row.id, True
            batch_id = conn.execute(insert(import_batches).values(
                kind=kind, library_code=library, filename=(filename or path.name)[:300],
                file_sha256=digest, file_size=size, format=fmt, options=options,
                status="queued", actor=actor.label, created_at=self.clock.now(),
            ).returning(import_batches.c.id)).scalar_one()
        return batch_id, False

    def batch(self, batch_id: int, library_code: str | None = None) -> dict[str, Any]:
        with self.db.read() as conn:
            row = conn.execute(select(import_batches).where(
                import_batches.c.id == batch_id)).first()
        if row is None or (library_code and row.library_code != library_code):
            raise DomainError(Code.NOT_FOUND, batch=batch_id)
        out = dict(row._mapping)
        out["percent"] = (100 if row.status == "done" else
                          min(99, int(100 * row.done_bytes / row.file_size))
                          if row.file_size else 0)
        return out

    def batches(self, library_code: str, limit: int = 50) -> list[dict[str, Any]]:
        with self.db.read() as conn:
            rows = conn.execute(select(import_batches).where(
                import_batches.c.library_code == library_code).order_by(
                import_batches.c.id.desc()).limit(limit)).all()
        return [dict(r._mapping) for r in rows]

    def problems(self, batch_id: int) -> Iterator[dict[str, Any]]:
        """The batch's problems in record order, streamed in pages."""
        last = 0
        while True:
            with self.db.read() as conn:
                rows = conn.execute(select(import_problems).where(
                    import_problems.c.batch_id == batch_id, import_problems.c.id > last
                ).order_by(import_problems.c.id).limit(5000)).all()
            if not rows:
                return
            for r in rows:
                yield dict(r._mapping)
            last = rows[-1].id

    def mark(self, batch_id: int, status: str, error: str = "") -> None:
        with self.db.write() as conn:
            conn.execute(update(import_batches).where(import_batches.c.id == batch_id).values(
                status=status, error=error[:2000],
                finished_at=self.clock.now() if status in ("done", "failed") else None))

    # -- holdings --------------------------------------------------------------------
    def holdings(self, actor: Actor, path: Path, *, fmt: str | None = None,
                 encoding: str = "auto", shelf_marks: ShelfMarks | None = None,
                 dry_run: bool = False, progress: Progress | None = None,
                 batch_id: int | None = None, filename: str | None = None,
                 report: Path | None = None) -> Summary:
        """Import (or dry-run) a holdings file for the actor's library; `report`: where
        to write the validation report (CSV)."""
        library = actor.require_library()
        fmt = fmt or guess_format(path.name)
        if fmt not in FORMATS:
            raise DomainError(Code.VALIDATION_ERROR, field="format", allowed=list(FORMATS))
        if encoding not in ENCODINGS:
            raise DomainError(Code.VALIDATION_ERROR, field="encoding", allowed=list(ENCODINGS))
        marks = shelf_marks or ShelfMarks()
        options = {"encoding": encoding, "not_loanable": sorted(marks.not_loanable)}
        self.registry.library(library)
        size = path.stat().st_size
        summary = Summary(None, "holdings", library, filename or path.name, dry_run, size)
        seen: _SeenInFile | None = None
        sink: IO[str] | None = None
        start = 0
        if dry_run:
            seen = _SeenInFile()
            if report is not None:
                sink = report.open("w", encoding="utf-8-sig", newline="")
                seen.report = csv.writer(sink)
                seen.report.writerow(REPORT_COLUMNS)
        else:
            if batch_id is None:
                batch_id, _ = self.open_batch(actor, "holdings", path, fmt, options, filename)
            state = self.batch(batch_id, library)
            if state["status"] == "done":
                summary.batch_id = batch_id
                return self._finished(summary, state, report)
            start = state["position"]
            options = state["options"]
            marks = ShelfMarks(frozenset(options["not_loanable"]))
            encoding = options["encoding"]
            summary.batch_id = batch_id
            summary.resumed_from = start
            for k in ("created", "updated", "unchanged", "skipped", "done_bytes"):
                setattr(summary, k, state[k])
            summary.records = start
            self.mark(batch_id, "running")
        try:
            for chunk in read_chunks(path, fmt, encoding, start, CHUNK):
                self._chunk(actor, library, chunk, marks, summary, seen)
                if progress:
                    progress(summary)
            summary.done_bytes = size
            summary.status = "done"
            if not dry_run:
                self._finish(actor, summary)
                self.export_report(summary, report)
            if progress:
                progress(summary)
            return summary
        except BaseException as exc:
            if not dry_run and batch_id is not None:
                interrupted = isinstance(exc, KeyboardInterrupt | SystemExit)
                self.mark(batch_id, "interrupted" if interrupted else "failed",
                          "" if interrupted else repr(exc))
            raise
        finally:
            if seen is not None:
                seen.close()
            if sink is not None:
                sink.close()

    def _finished(self, summary: Summary, state: dict[str, Any],
                  report: Path | None) -> Summary:
        for k in ("created", "updated", "unchanged", "skipped", "done_bytes", "status"):
            setattr(summary, k, state[k])
        summary.records = state["position"]
        self.export_report(summary, report)
        return summary

    def export_report(self, summary: Summary, report: Path | None) -> None:
        """Write the batch's whole validation report (all runs of it) and count it."""
        summary.by_code = {}

        def counted() -> Iterator[dict[str, Any]]:
            for r in self.problems(summary.batch_id):
                summary.by_code[r["code"]] = summary.by_code.get(r["code"], 0) + 1
                yield r
        if report is None:
            summary.report_rows = sum(1 for _ in counted())
            return
        with report.open("w", encoding="utf-8-sig", newline="") as out:
            summary.report_rows = write_report(counted(), out)

    def _finish(self, actor: Actor, s: Summary) -> None:
        at = self.clock.now()
        with self.db.write() as conn:
            conn.execute(update(import_batches).where(import_batches.c.id == s.batch_id).values(
                status="done", finished_at=at, done_bytes=s.file_size))
            audit.record(conn, actor, f"import.{s.kind}", "import_batch", s.batch_id, at,
                         {"file": s.filename, "records": s.records, "created": s.created,
                          "updated": s.updated, "unchanged": s.unchanged,
                          "skipped": s.skipped})

    def _chunk(self, actor: Actor, library: str, chunk: list[Read], marks: ShelfMarks,
               s: Summary, seen: _SeenInFile | None) -> None:
        if seen is not None:
            with self.db.read() as conn:
                self._apply(conn, library, chunk, marks, s, seen)
        else:
            self.db.run_write(lambda conn: self._apply(conn, library, chunk, marks, s, None))

    def _insert_copies(self, conn: Connection, rows: list[dict[str, Any]]) -> None:
        if self.db.is_sqlite:
            conn.execute(insert(copies), rows)
            return
        # PostgreSQL: COPY is several times faster than a multi-row INSERT
        cols = list(rows[0])
        cursor = conn.connection.driver_connection.cursor()
        with cursor.copy(f"COPY copies ({', '.join(cols)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row([row[c] for c in cols])

    def _touch(self, conn: Connection, batch_id: int, rows: list[dict[str, Any]]) -> None:
        """Mark unchanged copies as carried by this batch (and record)."""
        if self.db.is_sqlite:
            conn.execute(update(copies).where(copies.c.id == bindparam("_id")).values(
                import_batch_id=bindparam("import_batch_id"),
                import_record=bindparam("import_record")), rows)
            return
        conn.execute(text(
            "UPDATE copies SET import_batch_id = :batch, import_record = v.rec"
            " FROM unnest(CAST(:ids AS BIGINT[]), CAST(:recs AS INTEGER[])) AS v(id, rec)"
            " WHERE copies.id = v.id"),
            {"batch": batch_id, "ids": [r["_id"] for r in rows],
             "recs": [r["import_record"] for r in rows]})

    def _apply(self, conn: Connection, library: str, chunk: list[Read], marks: ShelfMarks,
               s: Summary, seen: _SeenInFile | None) -> None:
        """Plan one chunk against the hub and (unless a dry run) write it with the
        batch's checkpoint. Counters are added to `s` only once the plan is complete
        (run_write may retry the whole transaction)."""
        dry = seen is not None
        problems: list[dict[str, Any]] = []
        wanted: dict[str, tuple[int, dict[str, Any]]] = {}  # reg -> (record, values)
        bad_records: set[int] = set()
        for read in chunk:
            value = read.value
            if isinstance(value, RecordProblem):
                problems.append(problem_row(s.batch_id, read.number, value))
                bad_records.add(read.number)
                continue
            holding: Holding = value
            if not holding.copies:
                problems.append(problem_row(s.batch_id, read.number,
                                            RecordProblem(Problem.NO_REG_NO)))
                bad_records.add(read.number)
                continue
            for c in holding.copies:
                reg = check_reg_no(c.reg_no)
                if reg is None:
                    problems.append(problem_row(s.batch_id, read.number, RecordProblem(
                        Problem.INVALID_REG_NO, key=c.reg_no)))
                    continue
                if reg in wanted:
                    problems.append(problem_row(s.batch_id, read.number, RecordProblem(
                        Problem.DUPLICATE_IN_FILE, key=reg,
                        detail=f"record {wanted[reg][0]}")))
                    continue
                wanted[reg] = (read.number, {
                    "title": holding.title, "author": holding.author,
                    "call_number": holding.call_number, "shelf_mark": c.shelf_mark[:20],
                    "bib_id": holding.bib_id, "loanable": marks.loanable(c.shelf_mark)})
        existing = {}
        regs = list(wanted)
        for i in range(0, len(regs), 5000):
            part = regs[i:i + 5000]
            existing.update((r.reg_no, r) for r in conn.execute(select(
                copies.c.id, copies.c.reg_no, copies.c.title, copies.c.author,
                copies.c.call_number, copies.c.shelf_mark, copies.c.bib_id,
                copies.c.loanable, copies.c.import_batch_id, copies.c.import_record,
            ).where(copies.c.library_code == library, copies.c.reg_no.in_(part))))
        earlier = seen.first_seen(regs) if seen is not None else {}
        at = self.clock.now()
        new, changed, touched = [], [], []
        for reg, (record, values) in wanted.items():
            row = existing.get(reg)
            first = earlier.get(reg)
            if first is None and row is not None and not dry and \
                    row.import_batch_id == s.batch_id and row.import_record != record:
                first = row.import_record
            if first is not None:
                problems.append(problem_row(s.batch_id, record, RecordProblem(
                    Problem.DUPLICATE_IN_FILE, key=reg, detail=f"record {first}")))
                continue
            if row is not None and row.bib_id and values["bib_id"] and \
                    row.bib_id != values["bib_id"]:
                problems.append(problem_row(s.batch_id, record, RecordProblem(
                    Problem.DUPLICATE_IN_HUB, key=reg, detail=f"001 {row.bib_id}")))
                continue
            mark = {"import_batch_id": s.batch_id, "import_record": record}
            if row is None:
                new.append({"library_code": library, "reg_no": reg, "updated_at": at,
                            **values, **mark})
            elif any(getattr(row, k) != v for k, v in values.items()):
                changed.append({"_id": row.id, "updated_at": at, **values, **mark})
            else:
                touched.append({"_id": row.id, **mark})
        if seen is not None:
            seen.add([(reg, rec) for reg, (rec, _) in wanted.items()])
        last = chunk[-1]
        skipped = len(problems)
        if not dry:
            if new:
                self._insert_copies(conn, new)
            if changed:
                conn.execute(update(copies).where(copies.c.id == bindparam("_id")).values(
                    {k: bindparam(k) for k in changed[0] if k != "_id"}), changed)
            if touched:
                self._touch(conn, s.batch_id, touched)
            if problems:
                conn.execute(insert(import_problems), problems)
            conn.execute(update(import_batches).where(import_batches.c.id == s.batch_id).values(
                position=last.number, done_bytes=last.position,
                created=import_batches.c.created + len(new),
                updated=import_batches.c.updated + len(changed),
                unchanged=import_batches.c.unchanged + len(touched),
                skipped=import_batches.c.skipped + skipped))
        elif seen.report is not None:
            seen.report.writerows(report_line(r) for r in problems)
        if dry:
            s.count(problems)
            s.report_rows += len(problems)
        s.created += len(new)
        s.updated += len(changed)
        s.unchanged += len(touched)
        s.skipped += skipped
        s.records = last.number
        s.done_bytes = last.position
