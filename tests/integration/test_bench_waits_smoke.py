"""Smoke test of `chaekieum bench waits`: the hub's checkouts and checkins run both in
request threads and on the event loop, every one commits, and the RESULT line is
printed. It checks the plumbing, not the figures."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from chaekieum.bench import waits
from chaekieum.store.db import normalize_url

pytestmark = pytest.mark.postgres

RESULT = re.compile(
    r"^RESULT threads_cpu_us=\d+\.\d loop_cpu_us=\d+\.\d cpu_ratio=\d+\.\d{3} "
    r"threads_switches=\d+\.\d loop_switches=\d+\.\d rate_ratio=\d+\.\d{3} rounds=1$")


def test_bench_waits_smoke(pg_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    line = waits.run(pg_url, rounds=1, seconds=0.5)
    assert RESULT.match(line), line
    out = capsys.readouterr().out
    assert "round 1 threads" in out and "round 1 loop" in out
    engine = sa.create_engine(normalize_url(pg_url))
    with engine.connect() as conn:  # every desk's loan came back, none is left open
        returned, active = conn.execute(sa.text(
            "SELECT count(*) FILTER (WHERE state = 'returned'), "
            "count(*) FILTER (WHERE state = 'active') FROM loans")).one()
    engine.dispose()
    assert returned > 0 and active == 0
