"""Synthetic national-scale network for benchmarks: libraries, members, copies, keys.

Everything here is made up and deterministic: library codes, member numbers and
등록번호 follow from the network's shape, so the load driver can compute any member
number or copy barcode without asking the database. No real personal data: names are
drawn from common syllables, there are no phones, e-mails or CI hashes.

PostgreSQL: the network goes into a dedicated throw-away database (`chaekieum_bench`)
on the cluster of the given URL, created (dropped first) by this module, never into
the database the URL names; rows are bulk-loaded with COPY. SQLite: a file (by
default under ./var/bench/) filled with executemany in large transactions.

API keys: every library gets its own key (distinct key_id, scope = that library), but
all keys share ONE secret hashed once with argon2, because hashing 2,700 argon2 hashes
would take minutes. Fine for a throw-away benchmark database, never for a real one.
"""

from __future__ import annotations

import os
import random
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import sqlalchemy as sa
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from ..domain.numbering import make_member_number, member_number_prefix
from ..domain.onboarding import Stage
from ..domain.policy import MemberClass
from ..store.db import normalize_url, sqlite_path
from ..store.migrate import upgrade

# the throw-away database; `bench cost --baseline` gives the code under test its own, so
# an older revision's schema and this one's never share a database
PG_BENCH_DB = os.environ.get("CHAEKIEUM_BENCH_DB", "chaekieum_bench")
ISSUE_YEAR = 2024  # every synthetic member was issued in 2024 (2-digit year "24")
KEY_SECRET = "bench-shared-secret-not-for-production"
KEY_LABEL = "chaekieum bench desk key"
ACTOR = "system:bench"
CHUNK = 50_000

# (region code, Korean name, share of libraries): roughly the real spread, Gyeonggi and
# Seoul the largest. The 6-digit 도서관부호 is a 2-digit region number + a 4-digit serial.
REGIONS = [
    ("seoul", "서울", 0.15), ("busan", "부산", 0.05), ("daegu", "대구", 0.04),
    ("incheon", "인천", 0.05), ("gwangju", "광주", 0.03), ("daejeon", "대전", 0.03),
    ("ulsan", "울산", 0.02), ("sejong", "세종", 0.01), ("gyeonggi", "경기", 0.25),
    ("gangwon", "강원", 0.05), ("chungbuk", "충북", 0.04), ("chungnam", "충남", 0.05),
    ("jeonbuk", "전북", 0.05), ("jeonnam", "전남", 0.06), ("gyeongbuk", "경북", 0.05),
    ("gyeongnam", "경남", 0.06), ("jeju", "제주", 0.01),
]
SURNAMES = "김이박최정강조윤장임한오서신권황안송류전홍고문양손배백허유남심노하곽성차주우구민진지엄채원천방공현함변염여추도소석선설마길연위표명기반왕금옥육인맹제모탁국어은편용"
GIVEN = "민서지현수윤하은도준예진우주원연성영유시재건태정혜소나다경승호아동채희은빈찬린결"
TITLES = [
    "채식주의자", "소년이 온다", "82년생 김지영", "아몬드", "불편한 편의점", "달러구트 꿈 백화점",
    "미움받을 용기", "코스모스", "사피엔스", "총, 균, 쇠", "토지 1", "태백산맥 1", "어린 왕자",
    "나미야 잡화점의 기적", "작별하지 않는다", "파친코 1", "역사의 쓸모", "데미안", "구름빵",
]


@dataclass(frozen=True)
class Shape:
    libraries: int
    members: int
    copies_per_library: int

    def check(self) -> None:
        if self.libraries < 1 or self.members < 1 or self.copies_per_library < 1:
            raise ValueError("libraries, members and copies per library must be >= 1")
        if -(-self.members // self.libraries) > 99_999:
            raise ValueError("more than 99,999 members per library: add libraries")


# -- deterministic identifiers ----------------------------------------------------------
def library_plan(n: int) -> list[tuple[str, str, str]]:
    """(code, region, name) of n libraries, spread over the 17 regions by share."""
    shares = [s for _, _, s in REGIONS]
    total = sum(shares)
    counts = [int(n * s / total) for s in shares]
    rest = sorted(range(len(REGIONS)), key=lambda i: -(n * shares[i] / total - counts[i]))
    for i in rest[: n - sum(counts)]:
        counts[i] += 1
    if max(counts) > 9999:
        raise ValueError("too many libraries for 4-digit serials per region")
    out: list[tuple[str, str, str]] = []
    for r, ((region, ko, _), count) in enumerate(zip(REGIONS, counts, strict=True)):
        for s in range(1, count + 1):
            out.append((f"{11 + r:02d}{s:04d}", region, f"{ko} 벤치{s:04d}도서관"))
    return out


def library_codes(n: int) -> list[str]:
    return [code for code, _, _ in library_plan(n)]


def member_home(i: int, n_libraries: int) -> tuple[int, int]:
    """(library index, serial) of member i (0-based): round-robin over libraries."""
    return i % n_libraries, i // n_libraries + 1


def member_number(code: str, serial: int) -> str:
    return make_member_number(code, ISSUE_YEAR, serial)


def random_member(rng: random.Random, codes: list[str], members: int) -> str:
    """The member number of a random member of the network."""
    lib, serial = member_home(rng.randrange(members), len(codes))
    return member_number(codes[lib], serial)


def reg_no(j: int) -> str:
    """등록번호 of a library's j-th copy (0-based): EM + 10 digits."""
    return f"EM{j + 1:010d}"


def barcode(code: str, j: int) -> str:
    """통합바코드 of library `code`'s j-th copy."""
    return f"${code}{reg_no(j)}"


def key_id(code: str) -> str:
    return f"bench{code}"


def api_key(code: str) -> str:
    return f"ck_{key_id(code)}_{KEY_SECRET}"


def member_name(i: int) -> str:
    return (SURNAMES[i % len(SURNAMES)] + GIVEN[(i // 7) % len(GIVEN)]
            + GIVEN[(i // 331) % len(GIVEN)])


# -- where the bench database lives ---------------------------------------------------------
def is_postgres(url: str) -> bool:
    return normalize_url(url).startswith("postgresql")


def default_sqlite_url(shape: Shape) -> str:
    path = Path.cwd() / "var" / "bench" / (
        f"checkout-{shape.libraries}x{shape.members}x{shape.copies_per_library}.db")
    return f"sqlite:///{path}"


def pg_database_url(url: str, database: str) -> str:
    return sa.engine.make_url(normalize_url(url)).set(database=database).render_as_string(
        hide_password=False)


def pg_admin_url(url: str) -> str:
    """A maintenance database on the cluster (the URL's own unless it is a bench one)."""
    u = sa.engine.make_url(normalize_url(url))
    if u.database in (None, "", PG_BENCH_DB, "chaekieum_bench", "chaekieum_pgbench"):
        u = u.set(database="postgres")
    return u.render_as_string(hide_password=False)


def psycopg_conninfo(url: str) -> str:
    return normalize_url(url).replace("postgresql+psycopg://", "postgresql://", 1)


@contextmanager
def _pg_admin(url: str) -> Iterator[sa.Connection]:
    """An autocommit connection to the cluster's maintenance database."""
    admin = sa.create_engine(pg_admin_url(url), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            yield conn
    finally:
        admin.dispose()


def pg_drop_database(url: str, name: str) -> None:
    with _pg_admin(url) as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def pg_recreate_database(url: str, name: str) -> None:
    with _pg_admin(url) as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')


def pg_database_exists(url: str, name: str) -> bool:
    with _pg_admin(url) as conn:
        return bool(conn.scalar(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"),
                                {"n": name}))


# -- seeded? -------------------------------------------------------------------------------
def seeded_shape(url: str) -> Shape | None:
    """The shape of the bench network already in `url`, or None if there is none."""
    engine = sa.create_engine(normalize_url(url))
    try:
        with engine.connect() as conn:
            names = set(sa.inspect(conn).get_table_names())
            if not {"libraries", "members", "copies", "api_keys"} <= names:
                return None
            keys = conn.scalar(sa.text("SELECT count(*) FROM api_keys WHERE label = :l"),
                               {"l": KEY_LABEL})
            libs = conn.scalar(sa.text("SELECT count(*) FROM libraries"))
            if not keys or keys != libs:
                return None
            mems = conn.scalar(sa.text("SELECT count(*) FROM members"))
            cops = conn.scalar(sa.text("SELECT count(*) FROM copies"))
            if not libs or cops % libs:
                return None
            return Shape(libs, mems, cops // libs)
    except sa.exc.OperationalError:
        return None
    finally:
        engine.dispose()


def has_foreign_data(url: str) -> bool:
    """True if the SQLite file holds tables that are not a bench network (refuse to wipe)."""
    engine = sa.create_engine(normalize_url(url))
    try:
        with engine.connect() as conn:
            if "libraries" not in sa.inspect(conn).get_table_names():
                return False
            libs = conn.scalar(sa.text("SELECT count(*) FROM libraries"))
            keys = conn.scalar(sa.text("SELECT count(*) FROM api_keys WHERE label = :l"),
                               {"l": KEY_LABEL})
            return bool(libs) and keys != libs
    finally:
        engine.dispose()


# -- rows --------------------------------------------------------------------------------
def _ts(at: datetime) -> str:
    return at.strftime("%Y-%m-%d %H:%M:%S.%f")


def _rows_libraries(shape: Shape, centers: dict[str, int], at: str) -> Iterator[tuple]:
    for code, region, name in library_plan(shape.libraries):
        yield (code, name, region, centers.get(region), str(Stage.LIVE), "0", "bench ILS", at,
               at[:10])


def _rows_members(shape: Shape, codes: list[str], at: str, start: int, stop: int) -> Iterator[tuple]:
    n = shape.libraries
    full = str(MemberClass.FULL)
    for i in range(start, stop):
        lib, serial = member_home(i, n)
        yield (i + 1, member_number(codes[lib], serial), member_name(i), 1950 + i % 56,
               codes[lib], at, "active", full, "{}", at)


def _rows_memberships(shape: Shape, codes: list[str], at: str, start: int, stop: int) -> Iterator[tuple]:
    n = shape.libraries
    for i in range(start, stop):
        yield (i + 1, codes[i % n], at, "direct", ACTOR)


def _rows_copies(shape: Shape, codes: list[str], at: str) -> Iterator[tuple]:
    cid = 0
    for li, code in enumerate(codes):
        for j in range(shape.copies_per_library):
            cid += 1
            yield (cid, code, reg_no(j), TITLES[(j + li) % len(TITLES)], at)


def _rows_keys(codes: list[str], secret_hash: str, at: str) -> Iterator[tuple]:
    for n, code in enumerate(codes, start=1):
        yield (n, key_id(code), secret_hash, "library", code, "live", KEY_LABEL, at)


def _rows_counters(shape: Shape, codes: list[str]) -> Iterator[tuple]:
    n = shape.libraries
    for li, code in enumerate(codes):
        count = shape.members // n + (1 if li < shape.members % n else 0)
        if count:
            yield (member_number_prefix(code, ISSUE_YEAR), count)


COLUMNS = {
    "libraries": "code, name, region_code, center_id, status, closed_weekdays, ils, created_at, "
                 "live_since",
    "members": "id, number, name, birth_year, issuing_library, joined_at, status, member_class, "
               "consents, updated_at",
    "memberships": "member_id, library_code, joined_at, how, actor",
    "copies": "id, library_code, reg_no, title, updated_at",
    "api_keys": "id, key_id, secret_hash, scope, scope_code, environment, label, created_at",
    "member_number_counters": "prefix, last_serial",
}


def _copy_text(rows: Iterator[tuple]) -> str:
    """PostgreSQL COPY text format (our synthetic values contain no tab/newline/backslash)."""
    return "".join("\t".join(r"\N" if v is None else str(v) for v in row) + "\n" for row in rows)


# -- seeding -----------------------------------------------------------------------------
def _batches(total: int, size: int = CHUNK) -> Iterator[tuple[int, int]]:
    for start in range(0, total, size):
        yield start, min(total, start + size)


def seed(url: str, shape: Shape, console: Console | None = None) -> dict[str, float]:
    """Migrate an empty database and load the network into it. Returns seconds per table."""
    from argon2 import PasswordHasher

    console = console or Console()
    shape.check()
    t0 = time.perf_counter()
    upgrade(url)
    timings = {"migrate": time.perf_counter() - t0}
    at = _ts(datetime(ISSUE_YEAR, 3, 2, 0, 0, 0))
    codes = library_codes(shape.libraries)
    secret_hash = PasswordHasher().hash(KEY_SECRET)  # once, shared by every library key
    engine = sa.create_engine(normalize_url(url))
    with engine.connect() as conn:
        centers: dict[str, int] = {}
        for cid, region in conn.execute(sa.text(
                "SELECT id, region_code FROM regional_centers ORDER BY id")):
            centers.setdefault(region, cid)
    engine.dispose()

    # (table, total rows, generator of row batches)
    plan: list[tuple[str, int, Callable[[], Iterator[list[tuple]]]]] = [
        ("libraries", shape.libraries, lambda: iter([list(_rows_libraries(shape, centers, at))])),
        ("members", shape.members, lambda: (
            list(_rows_members(shape, codes, at, a, b)) for a, b in _batches(shape.members))),
        ("memberships", shape.members, lambda: (
            list(_rows_memberships(shape, codes, at, a, b)) for a, b in _batches(shape.members))),
        ("copies", shape.libraries * shape.copies_per_library, lambda: (
            lambda rows: (rows[a:b] for a, b in _batches(len(rows))))(
                list(_rows_copies(shape, codes, at)))),
        ("api_keys", shape.libraries, lambda: iter([list(_rows_keys(codes, secret_hash, at))])),
        ("member_number_counters", shape.libraries,
         lambda: iter([list(_rows_counters(shape, codes))])),
    ]
    progress = Progress(TextColumn("{task.description:<24}"), BarColumn(), MofNCompleteColumn(),
                        TimeElapsedColumn(), console=console, transient=False)
    with progress:
        tasks = {name: progress.add_task(name, total=total) for name, total, _ in plan}
        if is_postgres(url):
            timings.update(_seed_postgres(url, plan, progress, tasks))
        else:
            timings.update(_seed_sqlite(url, plan, progress, tasks))
    timings["total"] = time.perf_counter() - t0
    return timings


def _seed_postgres(url, plan, progress, tasks) -> dict[str, float]:  # noqa: ANN001
    import psycopg

    timings: dict[str, float] = {}
    with psycopg.connect(psycopg_conninfo(url)) as conn:
        conn.execute("SET synchronous_commit = off")
        for table, _total, batches in plan:
            t = time.perf_counter()
            with conn.cursor() as cur, cur.copy(
                    f"COPY {table} ({COLUMNS[table]}) FROM STDIN") as copy:
                for rows in batches():
                    copy.write(_copy_text(iter(rows)))
                    progress.advance(tasks[table], len(rows))
            conn.commit()
            timings[table] = time.perf_counter() - t
        t = time.perf_counter()
        for table in ("members", "copies", "api_keys"):
            conn.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                         f"(SELECT max(id) FROM {table}))")
        conn.commit()
        conn.autocommit = True
        conn.execute("VACUUM ANALYZE")
        timings["analyze"] = time.perf_counter() - t
    return timings


def _seed_sqlite(url, plan, progress, tasks) -> dict[str, float]:  # noqa: ANN001
    path = sqlite_path(normalize_url(url))
    assert path is not None, "benchmarks need a SQLite file, not :memory:"
    timings: dict[str, float] = {}
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=OFF")
        conn.execute("PRAGMA cache_size=-262144")  # 256 MiB while loading
        for table, _total, batches in plan:
            t = time.perf_counter()
            cols = COLUMNS[table]
            marks = ", ".join("?" for _ in cols.split(","))
            conn.execute("BEGIN")
            for rows in batches():
                conn.executemany(f"INSERT INTO {table} ({cols}) VALUES ({marks})", rows)
                progress.advance(tasks[table], len(rows))
            conn.execute("COMMIT")
            timings[table] = time.perf_counter() - t
        t = time.perf_counter()
        conn.execute("ANALYZE")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        timings["analyze"] = time.perf_counter() - t
    finally:
        conn.close()
    return timings


# -- one bench run per database ---------------------------------------------------------------
LOCKED_ENV = "CHAEKIEUM_BENCH_DB_LOCKED"  # set by a parent that holds the lock for its children
_held: dict[str, int] = {}


def claim(name: str, console: Console | None = None) -> None:
    """Wait until no other bench process on this machine uses the PostgreSQL bench database
    `name`, then keep it until this process exits. Two runs on one database would drop it
    under each other, or share its loans (`bench cost --baseline` holds it for the older
    revision's runs, which know nothing of this)."""
    if name in _held or os.environ.get(LOCKED_ENV) == name:
        return
    import fcntl
    import tempfile

    fd = os.open(Path(tempfile.gettempdir()) / f"chaekieum-bench-{name}.lock",
                 os.O_CREAT | os.O_RDWR, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        (console or Console()).print(f"waiting for another bench run on database {name}")
        fcntl.flock(fd, fcntl.LOCK_EX)
    _held[name] = fd


# -- entry point -----------------------------------------------------------------------------
def prepare(database_url: str | None, shape: Shape, *, reseed: bool = False,
            console: Console | None = None) -> str:
    """Make sure a bench network of `shape` exists; return the URL the server should use.

    Re-uses an already-seeded bench database of the same shape unless `reseed`.
    """
    console = console or Console()
    shape.check()
    if database_url and is_postgres(database_url):
        claim(PG_BENCH_DB, console)
        url = pg_database_url(database_url, PG_BENCH_DB)
        if not reseed and pg_database_exists(database_url, PG_BENCH_DB) \
                and seeded_shape(url) == shape:
            console.print(f"[green]re-using the seeded network in database {PG_BENCH_DB}[/green] "
                          "(--reseed to rebuild)")
            reset_loans(url)
            return url
        console.print(f"creating throw-away database [bold]{PG_BENCH_DB}[/bold] "
                      "(dropped first) on the cluster")
        pg_recreate_database(database_url, PG_BENCH_DB)
    else:
        url = database_url or default_sqlite_url(shape)
        path = sqlite_path(normalize_url(url))
        if path is None:
            raise ValueError("the SQLite benchmark needs a file URL (sqlite:///path)")
        if path.exists():
            if not reseed and seeded_shape(url) == shape:
                console.print(f"[green]re-using the seeded network in {path}[/green] "
                              "(--reseed to rebuild)")
                reset_loans(url)
                return url
            if has_foreign_data(url) and not reseed:
                raise ValueError(f"{path} holds a database that is not a benchmark network; "
                                 "pass another --database-url (or --reseed to wipe it)")
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
        path.parent.mkdir(parents=True, exist_ok=True)
    console.print(f"seeding {shape.libraries:,} libraries, {shape.members:,} members, "
                  f"{shape.libraries * shape.copies_per_library:,} copies")
    timings = seed(url, shape, console)
    console.print("seed timings: " + ", ".join(f"{k} {v:.1f}s" for k, v in timings.items()))
    return url


def reset_loans(url: str) -> None:
    """Bring a re-used bench database to the current schema (new migrations), close loans
    a previous (interrupted) run left open, lift any suspension and lost-card block (e.g.
    those `bench snapshot` sets)."""
    upgrade(url)
    engine = sa.create_engine(normalize_url(url))
    try:
        with engine.begin() as conn:
            conn.execute(sa.text(
                "UPDATE loans SET state = 'returned', returned_at = loaned_at, "
                "return_library = library_code WHERE state = 'active'"))
            conn.execute(sa.text(
                "UPDATE members SET suspended_until = NULL WHERE suspended_until IS NOT NULL"))
            conn.execute(sa.text("UPDATE members SET card_lost = false WHERE card_lost"))
            conn.execute(sa.text("DELETE FROM transits WHERE state <> 'home'"))
    finally:
        engine.dispose()
