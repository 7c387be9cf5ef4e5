"""Member conversion: a library's member export (CSV) into 책이음 members.

Each row gets a 14-digit member number under the library's code (serials reserved a
chunk at a time from the same counter the desk uses); the old local number is kept in
member_imports, which makes a re-import an update (never a second member) and gives the
old-to-new mapping file. The desk's rules apply: birth year only, a legal guardian under
14, no duplicate identity (the keyed CI hash), and a row holding a resident registration
number is refused and nothing of it stored.
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from sqlalchemy import Connection, bindparam, insert, select, update

from ..domain import members as rules
from ..domain.errors import DomainError
from ..domain.imports import (
    MEMBER_FIELDS,
    MemberRow,
    Problem,
    RecordProblem,
    column_mapping,
    member_row,
)
from ..domain.numbering import MAX_SERIAL, make_member_number, member_number_prefix
from ..store.tables import audit_log, member_imports, members, memberships
from . import audit
from .context import Actor
from .import_sources import ENCODINGS, Read
from .imports import Apply, Counts, DryRun, Imports, Summary, problem_row
from .members import Members

COMPARED = ("name", "birth_year", "phone", "email", "guardian_name", "guardian_phone",
            "member_class")


class MemberImports:
    def __init__(self, imports: Imports, members_service: Members):
        self.imports = imports
        self.members = members_service

    def run(self, actor: Actor, path: Path, *, mapping: dict[str, str] | None = None,
            encoding: str = "auto", **run: Any) -> Summary:
        """Convert (or dry-run) a member CSV for the actor's library. `mapping`: field ->
        column for columns not found under the usual names (MEMBER_FIELDS)."""
        from ..domain.errors import Code

        if encoding not in ENCODINGS:
            raise DomainError(Code.VALIDATION_ERROR, field="encoding", allowed=list(ENCODINGS))
        unknown = set(mapping or {}) - set(MEMBER_FIELDS)
        if unknown:
            raise DomainError(Code.VALIDATION_ERROR, field="mapping", unknown=sorted(unknown))
        options = {"encoding": encoding, "mapping": mapping or {}}
        return self.imports.run(actor, "members", path, "csv", options, self._apply, **run)

    def mapping_file(self, batch_id: int, out: IO[str]) -> int:
        """The old-to-new number mapping of a batch (every row it carried) as CSV."""
        writer = csv.writer(out)
        writer.writerow(("record_no", "local_number", "member_number"))
        n = 0
        with self.imports.db.read() as conn:
            for r in conn.execute(select(member_imports.c.record_no,
                                         member_imports.c.local_number, members.c.number)
                                  .join(members, members.c.id == member_imports.c.member_id)
                                  .where(member_imports.c.batch_id == batch_id)
                                  .order_by(member_imports.c.record_no)):
                writer.writerow(tuple(r))
                n += 1
        return n

    def _apply(self, options: dict[str, Any]) -> Apply:
        overrides = options["mapping"]
        cache: dict[tuple[str, ...], dict[str, str]] = {}

        def mapping_for(row: dict[str, str]) -> dict[str, str]:
            key = tuple(row)
            if key not in cache:
                cache[key] = column_mapping(list(key), overrides)
            return cache[key]

        def apply(conn: Connection, s: Summary, chunk: list[Read], dry: DryRun | None
                  ) -> Counts:
            return self._apply_chunk(conn, s, chunk, dry, mapping_for)
        return apply

    def _apply_chunk(self, conn: Connection, s: Summary, chunk: list[Read],
                     dry: DryRun | None, mapping_for: Callable[[dict[str, str]], dict[str, str]]
                     ) -> Counts:
        today = self.members.clock.today()
        library = s.library_code
        problems: list[dict[str, Any]] = []
        rows: dict[str, tuple[int, MemberRow, str | None]] = {}  # local -> (record, row, ci)
        by_ci: dict[str, str] = {}

        def refuse(record: int, problem: Problem, key: str = "", detail: str = "") -> None:
            problems.append(problem_row(s.batch_id, record, RecordProblem(problem, key,
                                                                          detail)))
        for read in chunk:
            if isinstance(read.value, RecordProblem):
                problems.append(problem_row(s.batch_id, read.number, read.value))
                continue
            row = member_row(read.value, mapping_for(read.value), today.year)
            if isinstance(row, RecordProblem):
                problems.append(problem_row(s.batch_id, read.number, row))
                continue
            try:  # the desk's rule (domain/members.py)
                rules.check_registration(row.birth_year, bool(row.guardian_name), today)
            except DomainError:
                refuse(read.number, Problem.GUARDIAN_REQUIRED, row.local_number)
                continue
            if row.local_number in rows:
                refuse(read.number, Problem.DUPLICATE_LOCAL_NUMBER, row.local_number,
                       f"record {rows[row.local_number][0]}")
                continue
            ci = rules.hash_ci(row.ci, self.members.pepper) if row.ci else None
            if ci and ci in by_ci:
                refuse(read.number, Problem.DUPLICATE_IDENTITY, row.local_number,
                       f"local number {by_ci[ci]}")
                continue
            if ci:
                by_ci[ci] = row.local_number
            rows[row.local_number] = (read.number, row, ci)

        locals_ = list(rows)
        mapped = {r.local_number: r for r in conn.execute(select(member_imports).where(
            member_imports.c.library_code == library,
            member_imports.c.local_number.in_(locals_)))} if locals_ else {}
        holders = {r.ci_hash: r.id for r in conn.execute(select(
            members.c.id, members.c.ci_hash).where(members.c.ci_hash.in_(list(by_ci))))} \
            if by_ci else {}
        current = {r.id: r for r in conn.execute(select(members).where(
            members.c.id.in_([m.member_id for m in mapped.values()])))} if mapped else {}
        seen_local = dry.first_seen("local", locals_) if dry else {}
        seen_ci = dry.first_seen("ci", list(by_ci)) if dry else {}

        new: list[tuple[int, MemberRow, str | None]] = []
        changed: list[dict[str, Any]] = []
        carried: list[dict[str, Any]] = []  # member_imports rows to mark with this batch
        for local, (record, row, ci) in rows.items():
            link = mapped.get(local)
            earlier = seen_local.get(local)
            if earlier is None and link is not None and dry is None and \
                    link.batch_id == s.batch_id and link.record_no != record:
                earlier = link.record_no
            if earlier is not None:
                refuse(record, Problem.DUPLICATE_LOCAL_NUMBER, local, f"record {earlier}")
                continue
            holder = holders.get(ci) if ci else None
            if ci and ((holder is not None and (link is None or holder != link.member_id))
                       or ci in seen_ci):
                refuse(record, Problem.DUPLICATE_IDENTITY, local)
                continue
            if link is None:
                new.append((record, row, ci))
                continue
            carried.append({"_lib": library, "_local": local, "batch_id": s.batch_id,
                            "record_no": record})
            m = current[link.member_id]
            values = {k: getattr(row, k) for k in COMPARED}
            if ci and m.ci_hash is None:
                values["ci_hash"] = ci
            if any(getattr(m, k) != v for k, v in values.items()):
                changed.append({"_id": m.id, **values})
        if dry is not None:
            dry.add("local", [(local, rec) for local, (rec, _, _) in rows.items()])
            dry.add("ci", [(ci, rec) for rec, _, ci in rows.values() if ci])
            return Counts(len(new), len(changed), len(carried) - len(changed), problems)

        created = self._create(conn, s, new, problems) if new else 0
        at = self.members.clock.now()
        if changed:
            for c in changed:
                conn.execute(update(members).where(members.c.id == c.pop("_id")).values(
                    updated_at=at, **c))
        if carried:
            conn.execute(update(member_imports).where(
                member_imports.c.library_code == bindparam("_lib"),
                member_imports.c.local_number == bindparam("_local")).values(
                batch_id=bindparam("batch_id"), record_no=bindparam("record_no")), carried)
        return Counts(created, len(changed), len(carried) - len(changed), problems)

    def _create(self, conn: Connection, s: Summary,
                new: list[tuple[int, MemberRow, str | None]],
                problems: list[dict[str, Any]]) -> int:
        library = s.library_code
        today, at = self.members.clock.today(), self.members.clock.now()
        last = self.members.allocate_serials(
            conn, member_number_prefix(library, today.year), len(new))
        first = last - len(new) + 1
        rows, links = [], []
        for serial, (record, row, ci) in enumerate(new, start=first):
            if serial > MAX_SERIAL:
                problems.append(problem_row(s.batch_id, record, RecordProblem(
                    Problem.NUMBERS_EXHAUSTED, key=row.local_number)))
                continue
            rows.append({
                "number": make_member_number(library, today.year, serial), "name": row.name,
                "birth_year": row.birth_year, "phone": row.phone, "email": row.email,
                "ci_hash": ci, "issuing_library": library, "joined_at": at,
                "status": rules.MemberStatus.ACTIVE, "member_class": row.member_class,
                "guardian_name": row.guardian_name, "guardian_phone": row.guardian_phone,
                "consents": {}, "updated_at": at})
            links.append((record, row.local_number))
        if not rows:
            return 0
        ids = conn.execute(insert(members).returning(members.c.id, members.c.number,
                                                     sort_by_parameter_order=True),
                           rows).all()
        actor_label = f"import:{s.batch_id}"
        conn.execute(insert(memberships), [
            {"member_id": i.id, "library_code": library, "joined_at": at, "how": "direct",
             "actor": actor_label} for i in ids])
        conn.execute(insert(member_imports), [
            {"library_code": library, "local_number": local, "member_id": i.id,
             "batch_id": s.batch_id, "record_no": record}
            for i, (record, local) in zip(ids, links, strict=True)])
        conn.execute(insert(audit_log), [
            audit.row(Actor("system", actor_label, "import", library), "member.register",
                      "member", i.number, at, {"library": library, "import_batch": s.batch_id})
            for i in ids])
        return len(ids)
