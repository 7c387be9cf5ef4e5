"""Member conversion (issue 12): 14-digit numbers under the library's code, the desk's
rules, bad rows refused and reported, the rest converted; mapping file; idempotent;
dry run writes nothing."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from sqlalchemy import func, select
from typer.testing import CliRunner

from chaekieum.domain.actors import Actor, Role
from chaekieum.domain.numbering import is_valid_member_number
from chaekieum.store.tables import audit_log, member_imports, members, memberships

LIB = "111003"
ACTOR = Actor(Role.SYSTEM, "test:import", "cli", LIB)
HEADER = "이용자번호,성명,생년월일,휴대폰,연계정보,보호자,회원구분,비고\n"
ROWS = [
    "A-001,김철수,1980-05-01,010-1111-2222,CI-AAA,,,",  # 1 ok
    "A-002,이영희,1992,010-3333-4444,CI-BBB,,준회원,",  # 2 ok (year only)
    "A-003,박어린,2019-01-01,,CI-CCC,,,",  # 3 under 14 without a guardian: refused
    "A-004,최보호,2018-03-03,,CI-DDD,최부모,,",  # 4 under 14 with a guardian: ok
    "A-005,정주민,1970-01-01,,,,,주민 700101-1234567",  # 5 an RRN in a note: refused
    "A-006,한중복,1985-02-02,,CI-AAA,,,",  # 6 the identity of row 1: refused
    "A-001,김철수,1980-05-01,,,,,",  # 7 local number repeated: refused
    ",이름만,1990,,,,,",  # 8 no local number: refused
    "A-009,오류,19x0,,,,,",  # 9 bad birth year: refused
    "A-010,윤구분,1975,,,,VIP,",  # 10 unknown class: refused
    "A-011,강정상,1960-12-31,,,,,",  # 11 ok (no CI)
]
REFUSED = [("3", "GUARDIAN_REQUIRED"), ("5", "RRN_IN_INPUT"), ("6", "DUPLICATE_IDENTITY"),
           ("7", "DUPLICATE_LOCAL_NUMBER"), ("8", "MISSING_FIELD"),
           ("9", "INVALID_BIRTH_YEAR"), ("10", "INVALID_CLASS")]


def write(tmp_path: Path, rows: list[str], encoding: str = "utf-8") -> Path:
    path = tmp_path / "members.csv"
    path.write_bytes((HEADER + "\n".join(rows) + "\n").encode(encoding))
    return path


def report(path: Path) -> list[tuple[str, str]]:
    with path.open(encoding="utf-8-sig") as fh:
        return [(r["record_no"], r["code"]) for r in csv.DictReader(fh)]


def converted(hub) -> dict[str, tuple]:  # noqa: ANN001
    with hub.db.read() as conn:
        rows = conn.execute(select(member_imports.c.local_number, members).join(
            members, members.c.id == member_imports.c.member_id)).all()
    return {r.local_number: (r.number, r.name, r.birth_year, r.member_class, r.guardian_name,
                             r.updated_at) for r in rows}


def test_conversion_refuses_bad_rows_and_converts_the_rest(any_hub, tmp_path) -> None:
    path = write(tmp_path, ROWS, "cp949")
    s = any_hub.member_imports.run(ACTOR, path, report=tmp_path / "r.csv")
    assert report(tmp_path / "r.csv") == REFUSED
    assert (s.created, s.skipped) == (4, 7)
    got = converted(any_hub)
    assert set(got) == {"A-001", "A-002", "A-004", "A-011"}
    numbers = [v[0] for v in got.values()]
    assert all(n.startswith(LIB + "26") and is_valid_member_number(n) for n in numbers)
    assert len(set(numbers)) == 4
    assert got["A-001"][1:3] == ("김철수", 1980)  # birth date -> year only
    assert got["A-002"][3] == "준회원" and got["A-004"][4] == "최부모"
    with any_hub.db.read() as conn:
        everything = " ".join(str(tuple(r)) for r in conn.execute(select(members)))
        joined = conn.scalar(select(func.count()).select_from(memberships).where(
            memberships.c.library_code == LIB, memberships.c.actor.like("import:%")))
        audited = conn.scalar(select(func.count()).select_from(audit_log).where(
            audit_log.c.action == "member.register", audit_log.c.library_code == LIB))
    assert "1234567" not in everything and "정주민" not in everything  # never stored
    assert joined == 4 and audited == 4
    # the desk's service sees a converted member
    assert any_hub.members.get(ACTOR, got["A-001"][0])["issuing_library"] == LIB

    out = io.StringIO()
    assert any_hub.member_imports.mapping_file(s.batch_id, out) == 4
    lines = list(csv.reader(io.StringIO(out.getvalue())))
    assert lines[0] == ["record_no", "local_number", "member_number"]
    assert lines[1] == ["1", "A-001", got["A-001"][0]]


def test_reimport_updates_never_duplicates_and_dry_run_writes_nothing(any_hub,
                                                                       tmp_path) -> None:
    path = write(tmp_path, ROWS)

    def counts() -> tuple[int, int, int]:
        with any_hub.db.read() as conn:
            return tuple(conn.scalar(select(func.count()).select_from(t))
                         for t in (members, member_imports, audit_log))

    before = counts()
    dry = any_hub.member_imports.run(ACTOR, path, dry_run=True, report=tmp_path / "d.csv")
    assert counts() == before
    assert (dry.created, dry.skipped) == (4, 7)
    assert report(tmp_path / "d.csv") == REFUSED

    any_hub.member_imports.run(ACTOR, path)
    first = converted(any_hub)
    after = counts()
    again = any_hub.member_imports.run(ACTOR, path, report=tmp_path / "again.csv")
    assert converted(any_hub) == first
    assert (again.created, again.updated, again.unchanged) == (0, 0, 4)
    assert report(tmp_path / "again.csv") == REFUSED
    assert counts()[:2] == after[:2]

    changed = [ROWS[0].replace("김철수", "김철수2"), ROWS[1]]
    s = any_hub.member_imports.run(ACTOR, write(tmp_path, changed))
    assert (s.created, s.updated, s.unchanged) == (0, 1, 1)
    assert converted(any_hub)["A-001"][:2] == (first["A-001"][0], "김철수2")


def test_cli_member_conversion_with_a_column_mapping(hub, tmp_path, monkeypatch) -> None:
    from chaekieum.cli import app

    monkeypatch.setenv("CHAEKIEUM_SECRET_KEY", "test-secret")
    path = tmp_path / "export.csv"
    path.write_text("대출증,NAME,YEAR\nX1,홍길동,1990\nX2,주민,800101-2345678\n",
                    encoding="utf-8")
    result = CliRunner().invoke(app, [
        "import", "members", str(path), "--library", LIB, "--database-url", str(hub.db.url),
        "--map", "local_number=대출증", "--map", "name=NAME", "--map", "birth_year=YEAR"])
    assert result.exit_code == 0, result.output
    with (tmp_path / "export.csv.mapping.csv").open(encoding="utf-8-sig") as fh:
        mapping = list(csv.DictReader(fh))
    assert [m["local_number"] for m in mapping] == ["X1"]
    assert converted(hub)["X1"][0] == mapping[0]["member_number"]
    assert report(tmp_path / "export.csv.report.csv") == [("2", "RRN_IN_INPUT")]
    bad = CliRunner().invoke(app, ["import", "members", str(path), "--library", LIB,
                                   "--database-url", str(hub.db.url), "--map", "nope=x"])
    assert bad.exit_code == 1 and "VALIDATION_ERROR" in bad.output
