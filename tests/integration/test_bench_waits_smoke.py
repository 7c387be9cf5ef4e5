"""Smoke test of `chaekieum bench waits`: both ways of waiting for PostgreSQL serve real
requests that commit, and the RESULT line is printed. It checks the plumbing, not the
figures."""

from __future__ import annotations

import re

import psycopg
import pytest

from chaekieum.bench import waits
from chaekieum.bench.seed import psycopg_conninfo

pytestmark = pytest.mark.postgres

RESULT = re.compile(
    r"^RESULT threads_cpu_us=\d+\.\d async_cpu_us=\d+\.\d cpu_ratio=\d+\.\d{3} "
    r"threads_switches=\d+\.\d async_switches=\d+\.\d rate_ratio=\d+\.\d{3} rounds=1$")


def test_bench_waits_smoke(pg_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    line = waits.run(pg_url, rounds=1, seconds=0.5)
    assert RESULT.match(line), line
    out = capsys.readouterr().out
    assert "round 1 threads" in out and "round 1 async" in out
    with psycopg.connect(psycopg_conninfo(pg_url)) as conn:  # every answered request committed its UPDATE
        updated = conn.execute("SELECT sum(n) FROM r").fetchone()[0]
    assert updated > 0
