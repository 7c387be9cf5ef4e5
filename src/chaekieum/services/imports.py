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
import sqlite3
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
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
from .import_sources import ENCODINGS, FORMATS, Read, guess_format, read_chunks
from .registry import Registry

CHUNK = 2000  # records per transaction
PARALLEL_FROM_BYTES = 16 << 20  # files from this size are parsed in a second process
UNFINISHED = ("queued", "running", "interrupted")
STALE = timedelta(minutes=10)  # a running batch without a checkpoint for this long
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
        """Add a dry run's problems to by_code."""
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


class DryRun:
    """What a dry run remembers instead of writing: the keys met so far per kind (a
    temporary SQLite file: bounded memory whatever the file size) and the report."""

    def __init__(self, report: Path | None) -> None:
        self._dir = tempfile.TemporaryDirectory(prefix="chaekieum-dry-")
        self.db = sqlite3.connect(Path(self._dir.name) / "seen.db")
        self.db.execute("CREATE TABLE seen (kind TEXT, key TEXT, record INTEGER,"
                        " PRIMARY KEY (kind, key))")
        self._sink = report.open("w", encoding="utf-8-sig", newline="") if report else None
        self.report = csv.writer(self._sink) if self._sink else None
        if self.report:
            self.report.writerow(REPORT_COLUMNS)

    def first_seen(self, kind: str, keys: list[str]) -> dict[str, int]:
        out: dict[str, int] = {}
        for i in range(0, len(keys), 900):
            part = keys[i:i + 900]
            marks = ",".join("?" * len(part))
            out.update(self.db.execute(
                f"SELECT key, record FROM seen WHERE kind = ? AND key IN ({marks})",
                [kind, *part]).fetchall())
        return out

    def add(self, kind: str, pairs: list[tuple[str, int]]) -> None:
        self.db.executemany("INSERT OR IGNORE INTO seen VALUES (?, ?, ?)",
                            [(kind, k, r) for k, r in pairs])

    def close(self) -> None:
        self.db.close()
        self._dir.cleanup()
        if self._sink:
            self._sink.close()


Apply = Callable[[Connection, "Summary", list[Read], "DryRun | None"], "Counts"]


@dataclass
class Counts:
    """What one chunk did (or, in a dry run, would do)."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    problems: list[dict[str, Any]] = field(default_factory=list)


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
        out["stale"] = row.status == "running" and (
            row.heartbeat_at is None or self.clock.now() - row.heartbeat_at > STALE)
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
                status=status, error=error[:2000], heartbeat_at=self.clock.now(),
                finished_at=self.clock.now() if status in ("done", "failed") else None))

    # -- running a batch ---------------------------------------------------------------
    def run(self, actor: Actor, kind: str, path: Path, fmt: str, options: dict[str, Any],
            apply: Callable[[dict[str, Any]], Apply], *, dry_run: bool = False,
            progress: Progress | None = None, batch_id: int | None = None,
            filename: str | None = None, report: Path | None = None) -> Summary:
        """Stream `path` in chunks through `apply(options)` (one transaction per chunk,
        with the checkpoint), or resume the unfinished batch of the same file. A resumed
        batch keeps the options it started with."""
        library = actor.require_library()
        self.registry.library(library)
        size = path.stat().st_size
        s = Summary(None, kind, library, filename or path.name, dry_run, size)
        dry = DryRun(report) if dry_run else None
        start = 0
        if dry is None:
            if batch_id is None:
                batch_id, _ = self.open_batch(actor, kind, path, fmt, options, filename)
            state = self.batch(batch_id, library)
            s.batch_id = batch_id
            if state["status"] == "done":
                return self._finished(s, state, report)
            start = s.resumed_from = s.records = state["position"]
            options = state["options"]
            for k in ("created", "updated", "unchanged", "skipped", "done_bytes"):
                setattr(s, k, state[k])
            self.mark(batch_id, "running")
        chunk_apply = apply(options)
        try:
            for chunk in read_chunks(kind, path, fmt, options["encoding"], start, CHUNK,
                                     PARALLEL_FROM_BYTES):
                if dry is not None:
                    with self.db.read() as conn:
                        counts = chunk_apply(conn, s, chunk, dry)
                else:
                    counts = self.db.run_write(
                        lambda conn, chunk=chunk: self._write_chunk(conn, s, chunk,
                                                                    chunk_apply))
                s.created += counts.created
                s.updated += counts.updated
                s.unchanged += counts.unchanged
                s.skipped += len(counts.problems)
                s.records, s.done_bytes = chunk[-1].number, chunk[-1].position
                if dry is not None:
                    s.count(counts.problems)
                    s.report_rows += len(counts.problems)
                    if dry.report:
                        dry.report.writerows(report_line(r) for r in counts.problems)
                if progress:
                    progress(s)
            s.done_bytes = size
            s.status = "done"
            if dry is None:
                self._finish(actor, s)
                self.export_report(s, report)
            if progress:
                progress(s)
            return s
        except BaseException as exc:
            if dry is None and batch_id is not None:
                interrupted = isinstance(exc, KeyboardInterrupt | SystemExit)
                self.mark(batch_id, "interrupted" if interrupted else "failed",
                          "" if interrupted else repr(exc))
            raise
        finally:
            if dry is not None:
                dry.close()

    def _write_chunk(self, conn: Connection, s: Summary, chunk: list[Read],
                     chunk_apply: Apply) -> Counts:
        counts = chunk_apply(conn, s, chunk, None)
        if counts.problems:
            conn.execute(insert(import_problems), counts.problems)
        last = chunk[-1]
        conn.execute(update(import_batches).where(import_batches.c.id == s.batch_id).values(
            position=last.number, done_bytes=last.position, heartbeat_at=self.clock.now(),
            created=import_batches.c.created + counts.created,
            updated=import_batches.c.updated + counts.updated,
            unchanged=import_batches.c.unchanged + counts.unchanged,
            skipped=import_batches.c.skipped + len(counts.problems)))
        return counts

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

    # -- holdings --------------------------------------------------------------------
    def holdings(self, actor: Actor, path: Path, *, fmt: str | None = None,
                 encoding: str = "auto", shelf_marks: ShelfMarks | None = None,
                 **run: Any) -> Summary:
        """Import (or dry-run) a holdings file for the actor's library. `run`: dry_run,
        progress, batch_id, filename, report (the validation report CSV): see run()."""
        fmt = fmt or guess_format(path.name)
        if fmt not in FORMATS:
            raise DomainError(Code.VALIDATION_ERROR, field="format", allowed=list(FORMATS))
        if encoding not in ENCODINGS:
            raise DomainError(Code.VALIDATION_ERROR, field="encoding", allowed=list(ENCODINGS))
        marks = shelf_marks or ShelfMarks()
        options = {"encoding": encoding, "not_loanable": sorted(marks.not_loanable)}
        return self.run(actor, "holdings", path, fmt, options, self._holdings_apply, **run)

    def _holdings_apply(self, options: dict[str, Any]) -> Apply:
        marks = ShelfMarks(frozenset(options["not_loanable"]))
        return lambda conn, s, chunk, dry: self._apply_holdings(conn, s, chunk, dry, marks)

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

    def _apply_holdings(self, conn: Connection, s: Summary, chunk: list[Read],
                        dry: DryRun | None, marks: ShelfMarks) -> Counts:
        """Plan one chunk against the hub and (unless a dry run) write the copies."""
        library = s.library_code
        problems: list[dict[str, Any]] = []
        wanted: dict[str, tuple[int, dict[str, Any]]] = {}  # reg -> (record, values)
        for read in chunk:
            value = read.value
            if isinstance(value, RecordProblem):
                problems.append(problem_row(s.batch_id, read.number, value))
                continue
            holding: Holding = value
            if not holding.copies:
                problems.append(problem_row(s.batch_id, read.number,
                                            RecordProblem(Problem.NO_REG_NO)))
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
        earlier = dry.first_seen("reg", regs) if dry is not None else {}
        at = self.clock.now()
        new, changed, touched = [], [], []
        for reg, (record, values) in wanted.items():
            row = existing.get(reg)
            first = earlier.get(reg)
            if first is None and row is not None and dry is None and \
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
        if dry is not None:
            dry.add("reg", [(reg, rec) for reg, (rec, _) in wanted.items()])
        else:
            if new:
                self._insert_copies(conn, new)
            if changed:
                conn.execute(update(copies).where(copies.c.id == bindparam("_id")).values(
                    {k: bindparam(k) for k in changed[0] if k != "_id"}), changed)
            if touched:
                self._touch(conn, s.batch_id, touched)
        return Counts(len(new), len(changed), len(touched), problems)
