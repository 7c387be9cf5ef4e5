"""Smoke test of `chaekieum bench import`: a small generated KORMARC file imported twice
into a fresh SQLite hub; checks the plumbing and the RESULT line, not the figures."""

from __future__ import annotations

import re
from pathlib import Path

from typer.testing import CliRunner

from chaekieum.bench.imports import write_marc
from chaekieum.services.import_sources import holdings


def test_bench_import_smoke(tmp_path: Path) -> None:
    from chaekieum.cli import app

    r = CliRunner().invoke(app, ["bench", "import", "--records", "400", "--keep",
                                 str(tmp_path)])
    assert r.exit_code == 0, r.output
    last = r.output.strip().splitlines()[-1]
    m = re.fullmatch(r"RESULT records=400 records_per_s=(\d+) peak_rss_mb=(\d+)", last)
    assert m and int(m[1]) > 0 and 0 < int(m[2]) < 1000, last
    assert re.search(r"again .*400 .*\b0 ", r.output)  # the re-import created nothing


def test_generated_file_reads_back(tmp_path: Path) -> None:
    path = tmp_path / "h.mrc"
    copies = write_marc(path, 50)
    with path.open("rb") as fh:
        read = [r.value for r in holdings(fh, "iso2709")]
    assert len(read) == 50 and sum(len(h.copies) for h in read) == copies
    assert all(h.title and h.author and h.call_number for h in read)
