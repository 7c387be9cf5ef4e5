"""Smoke test of `chaekieum bench checkout`: a tiny network end to end on SQLite.

Seeds 5 libraries / 200 members, starts the hub (uvicorn, one worker), drives 2 desks
for 2 s and checks the RESULT line. It checks the plumbing, not the figures.
"""

from __future__ import annotations

import io
import re
import subprocess
from pathlib import Path

import pytest
import sqlalchemy as sa
from rich.console import Console

from chaekieum.bench import checkout
from chaekieum.bench.seed import Shape, member_number, seeded_shape

RESULT = re.compile(
    r"^RESULT tx_per_s=(?P<tps>\d+\.\d) p50_ms=(?P<p50>\d+\.\d+) p99_ms=(?P<p99>\d+\.\d+) "
    r"pgbench_tps=na ratio=na clients=2 libraries=5 members=200 db=sqlite$"
)


def test_bench_checkout_smoke(tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)  # var/bench/ (database, server log) under the test's dir
    url = f"sqlite:///{tmp_path / 'bench.db'}"
    console = Console(file=io.StringIO(), width=120)
    line = checkout.run(url, libraries=5, members=200, clients=2, duration=2.0,
                        copies_per_library=10, workers=1, warmup=0.5, console=console)

    assert capsys.readouterr().out.strip().splitlines()[-1] == line
    m = RESULT.match(line)
    assert m, line
    assert float(m["tps"]) > 0
    assert float(m["p50"]) <= float(m["p99"])
    assert "transactions/s" in console.file.getvalue()

    # the network is what was asked for, with valid member numbers, and every copy lent
    # during the run was returned
    assert seeded_shape(url) == Shape(5, 200, 10)
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        first = conn.scalar(sa.text("SELECT number FROM members ORDER BY id LIMIT 1"))
        active = conn.scalar(sa.text("SELECT count(*) FROM loans WHERE state = 'active'"))
        done = conn.scalar(sa.text("SELECT count(*) FROM loans WHERE state = 'returned'"))
    engine.dispose()
    assert first == member_number(first[:6], 1)
    assert active == 0
    assert done > 0

    # open loop at a fixed rate, then the SLO search
    opened = checkout.run(url, libraries=5, members=200, clients=2, duration=1.0,
                          copies_per_library=10, workers=1, warmup=0.2, console=console,
                          rate=20.0, find_slo=500.0, slo_duration=1.0)
    m = re.match(r"^RESULT tx_per_s=(\d+\.\d) .* db=sqlite rate=20\.0 p999_ms=\d+\.\d\d "
                 r"slo_rate=(\d+\.\d)$", opened)
    assert m, opened
    assert float(m[1]) >= 15  # the offered 20/s was kept
    assert float(m[2]) > 0  # a rate within 500 ms was found
    assert "open loop, 20.0/s offered" in console.file.getvalue()

    # a rerun re-uses the seeded network
    again = checkout.run(url, libraries=5, members=200, clients=2, duration=1.0,
                         copies_per_library=10, workers=1, warmup=0.2, console=console)
    assert RESULT.match(again), again
    assert "re-using the seeded network" in console.file.getvalue()


COST = re.compile(
    r"^RESULT service_cpu_ms=(?P<svc>\d+\.\d{3}) http_cpu_ms=(?P<http>\d+\.\d{3}) "
    r"db_cpu_ms=na cores=(?P<cores>\d+) ceiling_tx_per_s=(?P<ceiling>\d+\.\d) "
    r"pgbench_tps=na ceiling_ratio=na db=sqlite$"
)


def test_bench_cost_smoke(tmp_path: Path, monkeypatch, capsys) -> None:
    """`chaekieum bench cost` on a tiny SQLite network: both layers run real checkouts
    and checkins (every copy comes back), and the ceiling follows from the HTTP cost."""
    from chaekieum.bench import cost

    monkeypatch.chdir(tmp_path)
    url = f"sqlite:///{tmp_path / 'cost.db'}"
    console = Console(file=io.StringIO(), width=120)
    line = cost.run(url, libraries=5, members=200, copies_per_library=10, transactions=40,
                    console=console)
    assert capsys.readouterr().out.strip().splitlines()[-1] == line
    m = COST.match(line)
    assert m, line
    http_ms, cores = float(m["http"]), int(m["cores"])
    assert float(m["svc"]) > 0 and http_ms > 0
    assert abs(float(m["ceiling"]) - cores * 1000 / http_ms) <= 0.05 * float(m["ceiling"]) + 1
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        active = conn.scalar(sa.text("SELECT count(*) FROM loans WHERE state = 'active'"))
        done = conn.scalar(sa.text("SELECT count(*) FROM loans WHERE state = 'returned'"))
    engine.dispose()
    assert active == 0
    assert done >= 2 * 20  # warm-up and measured pairs of both layers
    assert "HTTP application" in console.file.getvalue()


SNAPSHOT = re.compile(
    r"^RESULT all_pass_cpu_ms=(?P<full>\d+\.\d) all_pass_rows=(?P<rows>\d+) "
    r"own_pass_cpu_ms=\d+\.\d\d own_pass_rows=(?P<own>\d+) "
    r"delta_cpu_ms=(?P<delta>\d+\.\d\d) hub_cores=\d+\.\d\d db=sqlite$")


def test_bench_snapshot_smoke(tmp_path: Path, capsys) -> None:
    """`chaekieum bench snapshot` on a tiny network: a full pass of everything sends exactly
    the blocked members network-wide plus the connector library's own members, a pass of
    own members only the latter."""
    from chaekieum.bench import snapshot

    url = f"sqlite:///{tmp_path / 'bench.db'}"
    console = Console(file=io.StringIO(), width=160)
    line = snapshot.run(url, libraries=5, members=500, copies_per_library=10, blocked=0.1,
                        passes=1, deltas=2, console=console)
    assert capsys.readouterr().out.strip().splitlines()[-1] == line
    m = SNAPSHOT.match(line)
    assert m, line
    assert float(m["full"]) > 0 and float(m["delta"]) > 0
    library = console.file.getvalue().split("connector of library ")[1][:6]
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        blocked = conn.scalar(sa.text(
            "SELECT count(*) FROM members WHERE card_lost OR suspended_until IS NOT NULL"))
        wanted = conn.scalar(sa.text(
            "SELECT count(*) FROM members WHERE card_lost OR suspended_until IS NOT NULL "
            "OR id IN (SELECT member_id FROM memberships WHERE library_code = :code)"),
            {"code": library})
        own = conn.scalar(sa.text("SELECT count(*) FROM memberships WHERE library_code = :code"),
                          {"code": library})
        active = conn.scalar(sa.text("SELECT count(*) FROM loans WHERE state = 'active'"))
    engine.dispose()
    assert int(m["own"]) == own == 100
    assert blocked == 50  # every 10th member: 48 suspended, 2 card lost
    assert int(m["rows"]) == wanted
    assert active == 5 * 10  # one loan on every copy


def test_bench_sip2_and_web_smoke(tmp_path: Path, capsys) -> None:
    """`chaekieum bench sip2` and `bench web` run end to end on tiny SQLite networks."""
    from chaekieum.bench import sip2, web

    sip2.run(f"sqlite:///{tmp_path / 'sip2.db'}", terminals=2, duration=1.0)
    line = capsys.readouterr().out.strip().splitlines()[-1]
    m = re.match(r"^RESULT sip2_tps=(\d+\.\d) rest_tps=(\d+\.\d) ratio=\d+\.\d\d$", line)
    assert m and float(m[1]) > 0 and float(m[2]) > 0, line
    web.run(f"sqlite:///{tmp_path / 'web.db'}", 5, 200)
    line = capsys.readouterr().out.strip().splitlines()[-1]
    assert re.match(r"^RESULT anonymous\.login=\d+\.\d .* ok=(true|false)$", line), line
    assert "librarian.desk=" in line and "member.portal=" in line


def test_bench_cost_against_a_baseline_revision(capsys) -> None:
    """`bench cost --baseline REV`: an older revision (from git) and this tree, measured
    alternately in their own processes and databases; the RESULT line gives the ratios."""
    from chaekieum.bench import compare

    rev = subprocess.run(["git", "-C", str(compare.ROOT), "rev-parse", "--short", "HEAD"],
                         capture_output=True, text=True)
    if rev.returncode != 0:
        pytest.skip("not a git checkout")
    console = Console(file=io.StringIO(), width=120)
    line = compare.run("HEAD", ["--libraries", "5", "--members", "200",
                                "--copies-per-library", "10", "--transactions", "40"],
                       rounds=1, console=console)
    m = re.match(rf"^RESULT baseline={rev.stdout.strip()} service_ratio=(\d+\.\d+) "
                 r"http_ratio=(\d+\.\d+) db_ratio=na rounds=1$", line)
    assert m, line
    assert 0.2 < float(m[1]) < 5 and 0.2 < float(m[2]) < 5  # the same code, both sides
    assert "round 1/1: baseline" in console.file.getvalue()
