"""`chaekieum bench web`: server time of the main web pages on a national-scale network.

Seeds a synthetic network (default 2,700 libraries, 1,000,000 members, with loans,
returns, suspensions, transits and an audit trail) by bulk inserts through SQLAlchemy
Core -- the one place the web package writes tables directly, and only for made-up
data -- then signs in as each role through an in-process client and times every main
page (the server's own X-Response-Time, median of several runs after a warm-up).

Real data is never touched: the benchmark always works in a dedicated database derived
from the URL it is given (SQLite: `web-bench-<libraries>-<members>.db` beside the given
file; PostgreSQL: database `chaekieum_web_bench` on the same cluster, recreated when the
shape differs). A database of the right shape is reused, so a second run only times.
"""

from __future__ import annotations

import random
import re
import statistics
import time
from collections.abc import Callable, Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from ..domain.numbering import make_member_number
from ..domain.onboarding import Stage
from ..domain.policy import MemberClass
from ..services import daily
from ..services.context import SYSTEM, FixedClock, Role
from ..services.hub import Hub
from ..store import tables as t
from ..store.db import normalize_url, sqlite_path

NOW = datetime(2026, 3, 4, 1, 0, 0)  # 10:00 in Seoul, a Wednesday
TODAY = date(2026, 3, 4)
CHUNK = 20_000
COPIES_PER_LIBRARY = 40
LOAN_DAYS = 60
PASSWORD = "bench-password-1"
PG_DATABASE = "chaekieum_web_bench"
BUDGET_MS = 200.0
RUNS = 7

SURNAMES = "김이박최정강조윤장임한오서신권황안송류전홍고문양손배백허유남심노하곽성차주우구민진지"
GIVEN = "민서지현수윤하은도준예진우주원연성영유시재건태정혜소나다경승호아동채희빈찬린결"


# -- database selection -------------------------------------------------------------------
def bench_url(database_url: str, libraries: int, members: int) -> str:
    url = normalize_url(database_url)
    if url.startswith("sqlite"):
        path = sqlite_path(url) or Path("var") / "web-bench.db"
        target = path.parent / f"web-bench-{libraries}-{members}.db"
        return f"sqlite:///{target}"
    base, _, _ = url.rpartition("/")
    return f"{base}/{PG_DATABASE}"


def _pg_recreate(url: str) -> None:
    base, _, name = url.rpartition("/")
    admin = sa.create_engine(f"{base}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    admin.dispose()


def _shape(hub: Hub) -> tuple[int, int]:
    try:
        with hub.db.read() as conn:
            return (conn.scalar(sa.select(sa.func.count()).select_from(t.libraries)) or 0,
                    conn.scalar(sa.select(sa.func.max(t.members.c.id))) or 0)
    except sa.exc.DBAPIError:
        return 0, 0


# -- synthetic rows -------------------------------------------------------------------------
def library_code(i: int) -> str:
    return f"{300000 + i:06d}"


def member_number(i: int, n_libraries: int) -> str:
    return make_member_number(library_code(i % n_libraries), 2025, i // n_libraries + 1)


def member_name(i: int) -> str:
    r = (i * 2654435761) & 0xFFFFFFFF
    return SURNAMES[r % len(SURNAMES)] + GIVEN[(r >> 8) % len(GIVEN)] + GIVEN[(r >> 16) % len(GIVEN)]


def _batches(rows: Iterator[dict[str, Any]], size: int = CHUNK) -> Iterator[list[dict]]:
    batch: list[dict] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def seed(hub: Hub, n_libraries: int, n_members: int, log: Callable[[str], None] = print
         ) -> dict[str, int]:
    """Fill an empty, migrated hub database with a synthetic network."""
    at = NOW - timedelta(days=400)
    counts: dict[str, int] = {}
    with hub.db.read() as conn:
        region_rows = conn.execute(sa.select(t.regions.c.code)).scalars().all()
        centers = dict(conn.execute(sa.select(t.regional_centers.c.region_code,
                                              sa.func.min(t.regional_centers.c.id))
                                    .group_by(t.regional_centers.c.region_code)).all())
    regions = sorted(region_rows)
    stages = [s for s in Stage if s not in (Stage.LIVE,)]

    def put(table: sa.Table, rows: Iterator[dict[str, Any]]) -> None:
        started, n = time.perf_counter(), 0
        for batch in _batches(rows):
            with hub.db.write() as conn:
                conn.execute(sa.insert(table), batch)
            n += len(batch)
        counts[table.name] = n
        log(f"  {table.name:<14} {n:>10,} rows  {time.perf_counter() - started:6.1f}s")

    lib_region = [regions[i % len(regions)] for i in range(n_libraries)]
    put(t.libraries, ({
        "code": library_code(i), "name": f"{lib_region[i]} 벤치도서관 {i:04d}",
        "region_code": lib_region[i], "center_id": centers.get(lib_region[i]),
        "status": Stage.LIVE if i % 20 else stages[(i // 20) % len(stages)],
        "closed_weekdays": "0", "ils": "KOLAS III", "created_at": at,
        "live_since": TODAY - timedelta(days=300) if i % 20 else None}
        for i in range(n_libraries)))
    suspended_until = TODAY + timedelta(days=10)
    put(t.members, ({
        "id": i + 1, "number": member_number(i, n_libraries), "name": member_name(i),
        "birth_year": 1940 + i % 70, "phone": f"010-{i % 10000:04d}-{(i * 7) % 10000:04d}",
        "email": None, "ci_hash": None, "issuing_library": library_code(i % n_libraries),
        "joined_at": at, "status": "active", "member_class": MemberClass.FULL,
        "card_lost": False, "card_uid": None,
        "suspended_until": suspended_until if i % 200 == 7 else None,
        "guardian_name": None, "guardian_phone": None, "consents": {},
        "password_hash": None, "updated_at": at}
        for i in range(n_members)))
    put(t.memberships, _memberships(n_libraries, n_members, at))
    put(t.member_number_counters, ({
        "prefix": f"{library_code(i)}25",
        "last_serial": (n_members - i - 1) // n_libraries + 1 if i < n_members else 0}
        for i in range(min(n_libraries, n_members))))
    n_copies = n_libraries * COPIES_PER_LIBRARY
    put(t.copies, ({
        "id": c + 1, "library_code": library_code(c // COPIES_PER_LIBRARY),
        "reg_no": f"EM{c % COPIES_PER_LIBRARY + 1:010d}", "title": f"벤치 자료 {c % 997}",
        "loanable": True, "updated_at": at}
        for c in range(n_copies)))
    put(t.loans, _loans(n_libraries, n_members, n_copies))
    put(t.transits, _transits(n_libraries, n_members, n_copies))
    put(t.suspensions, ({
        "id": k + 1, "member_id": i + 1, "library_code": library_code(i % n_libraries),
        "loan_id": None, "days_late": 10, "days": 10,
        "ends_on": suspended_until, "created_at": NOW - timedelta(days=1), "lifted_at": None}
        for k, i in enumerate(range(7, n_members, 200))))
    put(t.audit_log, _audit(n_libraries, n_members, n_copies))
    with hub.db.write() as conn:
        daily.rebuild(conn)  # the dashboard's counters, as circulation would have kept them
    if not hub.db.is_sqlite:
        with hub.db.write() as conn:
            for table in ("members", "copies", "loans", "transits", "suspensions",
                          "audit_log"):
                conn.exec_driver_sql(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"(SELECT COALESCE(MAX(id), 1) FROM {table}))")
            conn.exec_driver_sql("ANALYZE")
    else:
        with hub.db.engine.connect() as conn:
            conn.exec_driver_sql("ANALYZE")
    return counts


def _memberships(n_libraries: int, n_members: int, at: datetime) -> Iterator[dict]:
    for i in range(n_members):
        home = i % n_libraries
        yield {"member_id": i + 1, "library_code": library_code(home), "joined_at": at,
               "how": "direct", "actor": "system:bench", "status": "active"}
        if i % 10 == 3 and n_libraries > 1:  # one in ten also joined a second library
            yield {"member_id": i + 1, "library_code": library_code((home + 7) % n_libraries),
                   "joined_at": at, "how": "auto", "actor": "system:bench",
                   "status": "active"}


LOANS_PER_COPY = 4


def _copy_loans(c: int, n_libraries: int, n_members: int) -> list[dict[str, Any]]:
    """The loans of copy `c` over LOAN_DAYS days (deterministic per copy): the newest
    may be active, the older ones were returned, a few at another library."""
    rng = random.Random(c)
    lib = c // COPIES_PER_LIBRARY
    out = []
    for k in range(LOANS_PER_COPY):
        span = LOAN_DAYS // LOANS_PER_COPY
        age = LOAN_DAYS - 1 - k * span - rng.randrange(span)
        loaned_on = TODAY - timedelta(days=max(0, age))
        loaned_at = datetime.combine(loaned_on, datetime.min.time()) + timedelta(
            hours=rng.randrange(0, 9))
        if rng.random() < 0.7:  # a member of the lending library
            m = (lib + n_libraries * rng.randrange(max(1, n_members // n_libraries))) % n_members
        else:
            m = rng.randrange(n_members)
        last = k == LOANS_PER_COPY - 1
        active = last and rng.random() < 0.5
        returned_at = None if active else min(
            loaned_at + timedelta(days=rng.randrange(1, 12), hours=3), NOW)
        elsewhere = not active and rng.random() < 0.08
        out.append({
            "id": c * LOANS_PER_COPY + k + 1, "copy_id": c + 1, "member_id": m + 1,
            "library_code": library_code(lib), "owner_library": library_code(lib),
            "state": "active" if active else "returned", "loaned_at": loaned_at,
            "loaned_on": loaned_on, "due_on": loaned_on + timedelta(days=14), "renewals": 0,
            "returned_at": returned_at,
            "return_library": None if active else library_code(
                (lib + 1) % n_libraries if elsewhere else lib),
            "return_txn_id": None, "channel": "desk", "actor": "system:bench",
            "client_txn_id": None, "offline": False, "history_hidden": False})
    return out


def _loans(n_libraries: int, n_members: int, n_copies: int) -> Iterator[dict[str, Any]]:
    for c in range(n_copies):
        yield from _copy_loans(c, n_libraries, n_members)


def _transits(n_libraries: int, n_members: int, n_copies: int) -> Iterator[dict[str, Any]]:
    """Copies whose last loan came back at another library are in transit home."""
    n = 0
    for c in range(n_copies):
        last = _copy_loans(c, n_libraries, n_members)[-1]
        if last["state"] == "returned" and last["return_library"] != last["library_code"]:
            n += 1
            yield {"id": n, "copy_id": c + 1, "loan_id": last["id"],
                   "from_library": last["return_library"], "to_library": last["library_code"],
                   "state": "received" if n % 3 else "sent", "courier_fee": False,
                   "received_at": last["returned_at"],
                   "sent_at": None if n % 3 else last["returned_at"], "arrived_at": None}


def _audit(n_libraries: int, n_members: int, n_copies: int) -> Iterator[dict]:
    for row in _loans(n_libraries, n_members, n_copies):
        if row["id"] % 2:
            yield {"at": row["loaned_at"], "actor": "system:bench",
                   "library_code": row["library_code"], "action": "loan.checkout",
                   "entity": "loan", "entity_id": str(row["id"]),
                   "details": {"item": f"${row['owner_library']}EM"}}
        if row["returned_at"] is not None:  # every return is audited (the dashboard's source)
            yield {"at": row["returned_at"], "actor": "system:bench",
                   "library_code": row["return_library"], "action": "loan.checkin",
                   "entity": "loan", "entity_id": str(row["id"]), "details": {}}
    for i in range(0, n_members, 10):
        yield {"at": NOW - timedelta(days=400), "actor": "system:bench",
               "library_code": library_code(i % n_libraries), "action": "member.register",
               "entity": "member", "entity_id": member_number(i, n_libraries),
               "details": {"library": library_code(i % n_libraries)}}


# -- timing -------------------------------------------------------------------------------
def _login(client: Any, path: str, data: dict[str, str]) -> None:
    r = client.post(path, data={**data, "csrf": _csrf(client, path)})
    if r.status_code != 303:
        raise RuntimeError(f"bench sign-in failed at {path}: {r.status_code}")


def _csrf(client: Any, page: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', client.get(page).text).group(1)


def _time(client: Any, method: str, path: str, data: dict | None = None,
          runs: int = RUNS) -> tuple[float, float, int]:
    """(median server ms, median wall ms, status) over `runs` calls after a warm-up."""
    def once() -> tuple[float, float, int]:
        started = time.perf_counter()
        if method == "GET":
            r = client.get(path)
        else:
            r = client.post(path, data={**(data or {}), "csrf": _csrf(client, "/desk")})
        wall = (time.perf_counter() - started) * 1000
        server = float(r.headers.get("x-response-time", "0ms").removesuffix("ms"))
        return server, wall, r.status_code

    once()
    results = [once() for _ in range(runs)]
    return (statistics.median(x[0] for x in results), statistics.median(x[1] for x in results),
            results[-1][2])


def _setup_accounts(hub: Hub, n_libraries: int) -> dict[str, str]:
    lib = library_code(0)
    with hub.db.read() as conn:
        have = set(conn.scalars(sa.select(t.staff_accounts.c.username)))
        region = conn.scalar(sa.select(t.libraries.c.region_code)
                             .where(t.libraries.c.code == lib))
    accounts = {"bench-admin": (Role.NATIONAL_ADMIN, ""),
                "bench-region": (Role.REGIONAL_ADMIN, region),
                "bench-lib": (Role.LIBRARIAN, lib)}
    for username, (role, scope) in accounts.items():
        if username not in have:
            hub.credentials.create_staff(SYSTEM, username, PASSWORD, username, role, scope)
    number = member_number(0, n_libraries)
    hub.members.set_password(SYSTEM, number, PASSWORD)
    return {"library": lib, "region": region, "member": number}


def measure(hub: Hub, n_libraries: int, n_members: int) -> list[dict[str, Any]]:
    from fastapi.testclient import TestClient

    from ..web.routes import create_web_app

    ids = _setup_accounts(hub, n_libraries)
    app = create_web_app(hub)
    member_no = ids["member"]
    other_no = member_number(n_libraries * 3 + 1, n_libraries)  # another library's member
    name_prefix = member_name(12345 % max(1, n_members))[:2]
    rows: list[dict[str, Any]] = []

    def record(role: str, name: str, method: str, path: str, data: dict | None = None
               ) -> None:
        server, wall, status = _time(client, method, path, data)
        rows.append({"page": name, "role": role, "path": path, "status": status,
                     "server_ms": round(server, 1), "wall_ms": round(wall, 1)})

    with TestClient(app, follow_redirects=False) as client:
        record("anonymous", "login", "GET", "/login")
        _login(client, "/login", {"username": "bench-admin", "password": PASSWORD})
        started = time.perf_counter()  # the first view after start: nothing warm yet
        client.get("/console")
        rows.append({"page": "dashboard_first_view", "role": "national", "path": "/console",
                     "status": 200, "server_ms": None,
                     "wall_ms": round((time.perf_counter() - started) * 1000, 1)})
        record("national", "dashboard", "GET", "/console")
        record("national", "dashboard_region", "GET", f"/console?region={ids['region']}")
        record("national", "dashboard_csv", "GET", "/console/export.csv?table=per_library")
        record("national", "centers", "GET", "/console/centers")
        record("national", "libraries", "GET", "/console/libraries")
        record("national", "library_search", "GET", "/console/libraries?q=0042")
        record("national", "library_detail", "GET", f"/console/libraries/{ids['library']}")
        record("national", "member_search_number", "GET",
               f"/console/members?q={member_no[:10]}")
        record("national", "member_search_name", "GET", f"/console/members?q={name_prefix}")
        record("national", "member_detail", "GET", f"/console/members/{member_no}")
        record("national", "transits", "GET", f"/console/transits?library={ids['library']}")
        record("national", "audit", "GET", "/console/audit")
        record("national", "audit_member", "GET",
               f"/console/audit?entity=member&entity_id={member_no}")
    with TestClient(app, follow_redirects=False) as client:
        _login(client, "/login", {"username": "bench-region", "password": PASSWORD})
        record("regional", "dashboard", "GET", "/console")
        record("regional", "member_search_name", "GET", f"/console/members?q={name_prefix}")
        record("regional", "audit", "GET", "/console/audit")
    with TestClient(app, follow_redirects=False) as client:
        _login(client, "/login", {"username": "bench-lib", "password": PASSWORD})
        record("librarian", "dashboard", "GET", "/console")
        record("librarian", "member_search_name", "GET", f"/console/members?q={name_prefix}")
        record("librarian", "desk_scan_member", "POST", "/desk/scan", {"scan": other_no})
        record("librarian", "desk", "GET", "/desk")
        record("librarian", "transits", "GET", "/console/transits")
        record("librarian", "audit", "GET", "/console/audit")
    with TestClient(app, follow_redirects=False) as client:
        _login(client, "/my/login", {"number": member_no, "password": PASSWORD})
        record("member", "portal", "GET", "/my")
        record("member", "mobile_card", "GET", "/my/card")
        record("member", "card_barcode", "GET", "/my/card/barcode.svg")
    return rows


def run(database_url: str, libraries: int = 2700, members: int = 1_000_000) -> dict[str, Any]:
    url = bench_url(database_url, libraries, members)
    print(f"web bench database: {url.split('@')[-1]}")
    hub = Hub(url, secret=b"web-bench-secret", clock=FixedClock(NOW))
    try:
        if _shape(hub) != (libraries, members):
            hub.close()
            if url.startswith("sqlite"):
                path = sqlite_path(url)
                for suffix in ("", "-wal", "-shm"):
                    Path(f"{path}{suffix}").unlink(missing_ok=True)
            else:
                _pg_recreate(url)
            hub = Hub(url, secret=b"web-bench-secret", clock=FixedClock(NOW))
            hub.migrate()
            print(f"seeding {libraries:,} libraries and {members:,} members ...")
            started = time.perf_counter()
            seed(hub, libraries, members)
            print(f"seeded in {time.perf_counter() - started:.1f}s")
        else:
            hub.migrate()  # a network seeded by older code gets the current schema
        rows = measure(hub, libraries, members)
    finally:
        hub.close()
    width = max(len(r["page"]) + len(r["role"]) for r in rows) + 3
    print(f"\n{'page (role)':<{width}} {'status':>6} {'server ms':>10} {'wall ms':>9}")
    timed = [r for r in rows if r["server_ms"] is not None]
    for r in rows:
        server = "-" if r["server_ms"] is None else f"{r['server_ms']:.1f}"
        flag = "  OVER BUDGET" if r["server_ms"] is not None and r["server_ms"] > BUDGET_MS else ""
        print(f"{r['page'] + ' (' + r['role'] + ')':<{width}} {r['status']:>6} "
              f"{server:>10} {r['wall_ms']:>9.1f}{flag}")
    worst = max(r["server_ms"] for r in timed)
    first = next((r["wall_ms"] for r in rows if r["page"] == "dashboard_first_view"), None)
    result = {"libraries": libraries, "members": members, "pages": rows,
              "max_server_ms": worst, "within_budget": worst <= BUDGET_MS,
              "budget_ms": BUDGET_MS, "dashboard_first_view_ms": first}
    print("RESULT " + " ".join(f"{r['role']}.{r['page']}={r['server_ms']:.1f}" for r in timed)
          + f" dashboard_first_view={first} max={worst:.1f} budget={BUDGET_MS:.0f}"
          f" ok={str(worst <= BUDGET_MS).lower()}")
    return result

