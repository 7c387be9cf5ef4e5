"""Smoke test of `chaekieum bench connector` with tiny sizes: real hub and connector
processes; checks the plumbing and the RESULT line, not the figures."""

from __future__ import annotations

import io
import re

from rich.console import Console

from chaekieum.bench import connector as bench

from .connector_procs import hub_rows

RESULT = re.compile(r"^RESULT overhead_p50_ms=-?\d+\.\d\d overhead_p99_ms=-?\d+\.\d\d "
                    r"replay_per_s=(?P<rate>\d+\.\d)$")


def test_bench_connector_smoke(tmp_path, hub, capsys) -> None:  # noqa: ANN001
    url = hub.db.url
    hub.close()
    console = Console(file=io.StringIO(), width=120)
    line = bench.run(url, writes=20, queued=40, replay_batch=4, work_dir=tmp_path / "bench",
                     console=console)
    assert capsys.readouterr().out.strip().splitlines()[-1] == line
    m = RESULT.match(line)
    assert m, line
    assert float(m["rate"]) > 0
    assert "through connector" in console.file.getvalue()
    # every write reached the hub once: warm-up + measured pairs online, 20 pairs replayed
    rows = hub_rows(url, "SELECT offline, state, count(*) FROM loans WHERE library_code = "
                    "'111001' GROUP BY offline, state")
    counts = {(bool(r[0]), r[1]): r[2] for r in rows}
    assert counts == {(False, "returned"): 2 * (20 // 2 + 20), (True, "returned"): 20}
