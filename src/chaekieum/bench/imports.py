"""`chaekieum bench import`: holdings import throughput and memory.

1. Write a KORMARC-style ISO 2709 file of `records` records with pymarc (Korean titles,
   UTF-8, one or two copies under 049 ▾l, some with a 별치기호), streamed to disk.
2. Import it into a fresh hub (the demo network on SQLite in a temporary folder, or a
   given PostgreSQL database) in a child process, so that its peak RSS is the import's
   alone; time the import.
3. Import it again (idempotent re-import: every copy unchanged).

Last line: `RESULT records=… records_per_s=… peak_rss_mb=…` (the first import; RSS is
the importing process plus its parsing process, summed).
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from pymarc import Field, Indicators, Record, Subfield
from rich.console import Console
from rich.table import Table

LIBRARY = "111001"
WORDS = ("한국", "문학", "역사", "도서관", "과학", "이야기", "세계", "바다", "산", "사람",
         "시간", "경제", "철학", "어린이", "그림책", "여행", "음식", "음악")
SURNAMES = ("김", "이", "박", "최", "정", "강", "조", "윤", "장", "임")


def write_marc(path: Path, records: int, seed: int = 12) -> int:
    """Write `records` records; returns the number of copies."""
    rng = random.Random(seed)
    n_copies = 0
    with path.open("wb") as out:
        for i in range(1, records + 1):
            r = Record(leader="00000nam a2200000 k 4500")
            r.add_field(Field(tag="001", data=f"BENCH{i:09d}"))
            r.add_field(Field(tag="090", indicators=Indicators(" ", " "), subfields=[
                Subfield("a", f"{rng.randrange(1000)}.{rng.randrange(10)}"),
                Subfield("b", f"{rng.choice(SURNAMES)}{rng.randrange(10, 99)}")]))
            author = rng.choice(SURNAMES) + rng.choice(WORDS)
            r.add_field(Field(tag="100", indicators=Indicators("1", " "),
                              subfields=[Subfield("a", author)]))
            title = " ".join(rng.choice(WORDS) for _ in range(3))
            r.add_field(Field(tag="245", indicators=Indicators("1", "0"), subfields=[
                Subfield("a", title + " /"), Subfield("d", author)]))
            subs = []
            for _ in range(1 if rng.random() < 0.8 else 2):
                n_copies += 1
                subs.append(Subfield("l", f"EB{n_copies:010d}"))
                if rng.random() < 0.1:
                    subs.append(Subfield("f", rng.choice(("R", "정", "아"))))
            r.add_field(Field(tag="049", indicators=Indicators("0", " "), subfields=subs))
            out.write(r.as_marc())
    return n_copies


def _child(database_url: str, path: str) -> None:
    """Import in this (child) process; print one JSON line of figures."""
    import resource

    from ..domain.actors import Actor, Role
    from ..services.hub import Hub

    hub = Hub(database_url, secret=b"bench")
    actor = Actor(Role.SYSTEM, "bench:import", "cli", LIBRARY)
    out = {}
    for run in ("first", "again"):
        t0 = time.perf_counter()
        s = hub.imports.holdings(actor, Path(path))
        out[run] = {"seconds": time.perf_counter() - t0, "records": s.records,
                    "created": s.created, "updated": s.updated, "unchanged": s.unchanged,
                    "skipped": s.skipped,
                    # this process plus its biggest child (the parsing process): an
                    # upper bound of what the import held at once
                    "peak_rss_mb": (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
                                    + resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
                    / 1024}
    hub.close()
    print(json.dumps(out))


def run(database_url: str | None, records: int, keep: str | None = None) -> str:
    from ..services import demo
    from ..services.hub import Hub

    console = Console()
    with tempfile.TemporaryDirectory(prefix="chaekieum-bench-import-") as tmp:
        work = Path(keep or tmp)
        work.mkdir(parents=True, exist_ok=True)
        if database_url is None:  # a fresh hub each run (the MARC file may be kept)
            for old in work.glob("hub.db*"):
                old.unlink()
        url = database_url or f"sqlite:///{work / 'hub.db'}"
        hub = Hub(url, secret=b"bench")
        hub.migrate()
        if not demo.is_loaded(hub):
            demo.load(hub)
        hub.close()
        marc = work / f"holdings-{records}.mrc"
        if not marc.exists():  # kept from an earlier run with --keep
            t0 = time.perf_counter()
            part = marc.with_suffix(".part")
            copies = write_marc(part, records)
            part.rename(marc)
            console.print(f"wrote {records:,} records ({copies:,} copies, "
                          f"{marc.stat().st_size / 1e6:.0f} MB) in "
                          f"{time.perf_counter() - t0:.0f} s")
        proc = subprocess.run([sys.executable, "-c",
                               "import sys; from chaekieum.bench.imports import _child; "
                               "_child(sys.argv[1], sys.argv[2])", url, str(marc)],
                              capture_output=True, text=True, env=os.environ.copy())
        if proc.returncode != 0:
            raise RuntimeError(proc.stderr[-3000:])
        figures = json.loads(proc.stdout.strip().splitlines()[-1])
    table = Table(title=f"bench import ({'PostgreSQL' if 'postgres' in url else 'SQLite'})")
    for col in ("run", "records", "created", "unchanged", "seconds", "records/s",
                "peak RSS MB"):
        table.add_column(col, justify="right")
    for name, f in figures.items():
        table.add_row(name, f"{f['records']:,}", f"{f['created']:,}", f"{f['unchanged']:,}",
                      f"{f['seconds']:.1f}", f"{f['records'] / f['seconds']:,.0f}",
                      f"{f['peak_rss_mb']:.0f}")
    console.print(table)
    first = figures["first"]
    line = (f"RESULT records={first['records']} "
            f"records_per_s={first['records'] / first['seconds']:.0f} "
            f"peak_rss_mb={first['peak_rss_mb']:.0f}")
    print(line)
    return line
