"""bench.seed.claim: one bench process per PostgreSQL bench database on the machine."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid

from chaekieum.bench import seed

HOLD = ("import sys, time; from chaekieum.bench.seed import claim; claim(sys.argv[1]); "
        "print('held', flush=True); time.sleep(float(sys.argv[2]))")


def test_a_second_run_waits_for_the_first(monkeypatch) -> None:  # noqa: ANN001
    name = f"probe_{uuid.uuid4().hex[:8]}"
    first = subprocess.Popen([sys.executable, "-c", HOLD, name, "1.5"], stdout=subprocess.PIPE,
                             text=True)
    try:
        assert first.stdout.readline().strip() == "held"
        start = time.monotonic()
        monkeypatch.setattr(seed, "_held", {})
        seed.claim(name)  # blocks until the first process exits
        assert time.monotonic() - start > 0.5
        assert first.wait(timeout=10) == 0  # it got the lock only as the first one ended
        seed.claim(name)  # held already: returns at once
    finally:
        first.wait()


def test_a_parent_that_holds_it_lets_its_children_through(monkeypatch) -> None:  # noqa: ANN001
    name = f"probe_{uuid.uuid4().hex[:8]}"
    monkeypatch.setattr(seed, "_held", {})
    seed.claim(name)
    child = subprocess.run([sys.executable, "-c", HOLD, name, "0"], capture_output=True,
                           text=True, timeout=30, env={**os.environ, seed.LOCKED_ENV: name})
    assert child.stdout.strip() == "held"
