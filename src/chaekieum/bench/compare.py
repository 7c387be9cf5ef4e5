"""`chaekieum bench cost --baseline REV`: this code's CPU per transaction beside another
revision's, in one run.

This VM's speed swings by 2x from day to day, so a figure from another day says little.
Here both revisions are measured back to back, alternating, `rounds` times each: the
baseline from `git archive REV` in a temporary directory, the code under test from this
tree, each `chaekieum bench cost` in its own process on its own bench database (an older
revision's schema never meets this one's). The ratio of the medians is what to quote.
Last line: `RESULT baseline=REV service_ratio=… http_ratio=… db_ratio=… rounds=N`.
"""

from __future__ import annotations

import os
import re
import statistics
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

import sqlalchemy as sa
from rich.console import Console
from rich.table import Table

from ..store.db import normalize_url
from .checkout import fmt
from .seed import (
    LOCKED_ENV,
    claim,
    is_postgres,
    pg_database_exists,
    pg_database_url,
    pg_drop_database,
)

BASELINE_DB = "chaekieum_bench"  # what an older revision's `bench cost` always seeds

ROOT = Path(__file__).resolve().parents[3]  # the repository (src/chaekieum/bench/..)
FIGURES = ("service_cpu_ms", "http_cpu_ms", "db_cpu_ms")
RESULT = re.compile(r"^RESULT .*$", re.M)


def _export(revision: str, into: Path) -> Path:
    """The `src` tree of `revision`, extracted under `into`; returns its src folder."""
    into.mkdir(parents=True, exist_ok=True)
    archive = into / "src.tar"
    with archive.open("wb") as out:
        subprocess.run(["git", "-C", str(ROOT), "archive", "--format=tar", revision, "src"],
                       stdout=out, check=True)
    with tarfile.open(archive) as tar:
        tar.extractall(into, filter="data")
    archive.unlink()
    return into / "src"


def _baseline_schema(database_url: str, src: Path) -> bool:
    """Whether the baseline's bench database holds a schema the migrations in `src` know
    (so that revision's `bench cost` re-uses its seeded network instead of a new seed)."""
    if not pg_database_exists(database_url, BASELINE_DB):
        return False
    engine = sa.create_engine(normalize_url(pg_database_url(database_url, BASELINE_DB)))
    try:
        with engine.connect() as conn:
            version = conn.scalar(sa.text("SELECT version_num FROM alembic_version"))
    except sa.exc.ProgrammingError:  # no schema at all
        return False
    finally:
        engine.dispose()
    versions = src / "chaekieum" / "store" / "migrations" / "versions"
    return version is not None and any(
        re.search(rf"^revision\s*=\s*['\"]{re.escape(version)}['\"]", p.read_text(), re.M)
        for p in versions.glob("*.py"))


def _figures(line: str) -> dict[str, float | None]:
    values = dict(part.split("=", 1) for part in line.split()[1:] if "=" in part)
    return {k: (None if values.get(k, "na") == "na" else float(values[k])) for k in FIGURES}


def _measure(src: Path, workdir: Path, args: list[str], bench_db: str) -> dict[str, float | None]:
    """One `bench cost` of the code in `src`, in its own process and working directory."""
    env = {**os.environ, "PYTHONPATH": str(src), "CHAEKIEUM_BENCH_DB": bench_db,
           LOCKED_ENV: BASELINE_DB}
    code = "import sys; from chaekieum.cli import app; sys.argv[0] = 'chaekieum'; app()"
    done = subprocess.run([sys.executable, "-c", code, "bench", "cost", "--no-pgbench", *args],
                          cwd=workdir, env=env, capture_output=True, text=True)
    lines = RESULT.findall(done.stdout)
    if done.returncode != 0 or not lines:
        raise RuntimeError(f"bench cost of {src} failed:\n{done.stdout[-2000:]}"
                           f"{done.stderr[-3000:]}")
    return _figures(lines[-1])


def run(baseline: str, args: list[str], *, database_url: str | None = None, rounds: int = 3,
        console: Console | None = None) -> str:
    """Measure the baseline and this tree alternately; print both and their ratios.
    `args`: further `bench cost` options for both (network size, transactions)."""
    console = console or Console()
    if database_url:
        args = ["--database-url", database_url, *args]
    rev = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", baseline],
                         capture_output=True, text=True, check=True).stdout.strip()
    results: dict[str, list[dict[str, float | None]]] = {"baseline": [], "current": []}
    postgres = bool(database_url) and is_postgres(database_url)
    if postgres:  # the older revision's runs do not claim their database themselves
        claim(BASELINE_DB, console)
    with tempfile.TemporaryDirectory(prefix="chaekieum-baseline-") as tmp:
        base_src = _export(rev, Path(tmp) / "tree")
        if postgres and not _baseline_schema(database_url, base_src):
            # an older revision's code uses the default bench database and knows nothing
            # of newer migrations: it seeds its own network there (once; a later run of
            # the same or another old revision re-uses it while its migrations know it)
            pg_drop_database(database_url, BASELINE_DB)
        sides = {"baseline": (base_src, Path(tmp) / "run-baseline", BASELINE_DB),
                 "current": (ROOT / "src", Path(tmp) / "run-current", "chaekieum_bench_current")}
        for _, workdir, _ in sides.values():
            workdir.mkdir()
        for n in range(rounds):
            for side, (src, workdir, db) in sides.items():
                console.print(f"round {n + 1}/{rounds}: {side} ({rev if side == 'baseline' else 'this tree'})")
                results[side].append(_measure(src, workdir, args, db))

    def median(side: str, key: str) -> float | None:
        values = [r[key] for r in results[side] if r[key] is not None]
        return statistics.median(values) if values else None

    table = Table(title=f"bench cost: this tree beside {rev}, {rounds} alternating rounds")
    for column in ("CPU ms per transaction", f"{rev} (median)", "this tree (median)", "ratio"):
        table.add_column(column, justify="right")
    ratios: dict[str, float | None] = {}
    for key in FIGURES:
        base, cur = median("baseline", key), median("current", key)
        ratios[key] = cur / base if base and cur is not None else None
        table.add_row(key, fmt(base, 3), fmt(cur, 3), fmt(ratios[key], 3))
    console.print(table)
    line = (f"RESULT baseline={rev} service_ratio={fmt(ratios['service_cpu_ms'], 3)} "
            f"http_ratio={fmt(ratios['http_cpu_ms'], 3)} db_ratio={fmt(ratios['db_cpu_ms'], 3)} "
            f"rounds={rounds}")
    console.file.flush()
    print(line, flush=True)
    return line
