"""SQLite: the writes a process queued while another held the writer's turn commit as one
group (store/db.py).

Each write of a group runs in its own savepoint, is answered only after the group's COMMIT,
and reads (through `Database.read`) what the group's earlier writes wrote, as if each had
committed alone. A write that raises is rolled back alone; a COMMIT that fails fails every
write of the group and commits none."""

from __future__ import annotations

import contextvars
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import Connection, event, text
from sqlalchemy.exc import IntegrityError

from chaekieum.store.db import Database

CALLER: contextvars.ContextVar[str] = contextvars.ContextVar("caller", default="nobody")


@pytest.fixture
def db(tmp_path) -> Iterator[Database]:  # noqa: ANN001
    database = Database(f"sqlite:///{tmp_path / 'group.db'}")
    with database.write() as conn:
        conn.execute(text("CREATE TABLE t (x INTEGER NOT NULL)"))
        conn.execute(text("CREATE TABLE parent (id INTEGER PRIMARY KEY)"))
        conn.execute(text("CREATE TABLE child (p INTEGER NOT NULL "
                          "REFERENCES parent (id) DEFERRABLE INITIALLY DEFERRED)"))
    yield database
    database.dispose()


def traced(db: Database) -> list[str]:
    """The SQL every new connection sends from now on."""
    db.engine.dispose()
    seen: list[str] = []

    @event.listens_for(db.engine, "connect")
    def trace(dbapi_conn, _record):  # noqa: ANN001, ANN202
        dbapi_conn.set_trace_callback(seen.append)

    return seen


def in_one_group(db: Database, works: list[Callable[[Connection], Any]]) -> list[Any]:
    """Run `works` from one thread each, queued in this order while this thread holds
    the writer's turn, then let them go: the first to get the turn runs them all. Each
    thread's result, or the exception it raised."""
    outcomes: list[Any] = [None] * len(works)

    def call(i: int) -> None:
        CALLER.set(f"thread {i}")
        try:
            outcomes[i] = db.run_write(works[i])
        except Exception as exc:  # noqa: BLE001 - the outcome under test
            outcomes[i] = exc

    threads = [threading.Thread(target=call, args=(i,)) for i in range(len(works))]
    with db.write():  # hold the turn
        for i, thread in enumerate(threads):
            thread.start()
            deadline = time.monotonic() + 10
            while len(db._queued) < i + 1:  # noqa: SLF001 - queued in order
                assert time.monotonic() < deadline, "a write never queued"
                time.sleep(0.001)
    for thread in threads:
        thread.join(10)
        assert not thread.is_alive()
    return outcomes


def insert(x: int) -> Callable[[Connection], int]:
    def work(conn: Connection) -> int:
        conn.execute(text("INSERT INTO t VALUES (:x)"), {"x": x})
        return x
    return work


def rows(db: Database) -> list[int]:
    with db.read() as conn:
        return sorted(conn.scalars(text("SELECT x FROM t")))


def test_queued_writes_commit_in_one_transaction(db: Database) -> None:
    seen = traced(db)
    outcomes = in_one_group(db, [insert(1), insert(2), insert(3)])
    assert outcomes == [1, 2, 3]
    assert rows(db) == [1, 2, 3]
    # one for the turn the test held, one for the group
    assert seen.count("BEGIN IMMEDIATE") == 2
    start = seen.index("BEGIN IMMEDIATE", 1)
    group = seen[start:seen.index("COMMIT", start) + 1]
    assert [sql for sql in group if sql.startswith("INSERT")] == [
        f"INSERT INTO t VALUES ({x})" for x in (1, 2, 3)]
    assert sum(sql.startswith("SAVEPOINT") for sql in group) == 3


def test_a_write_that_raises_is_rolled_back_alone(db: Database) -> None:
    def refused(conn: Connection) -> int:
        conn.execute(text("INSERT INTO t VALUES (20)"))
        raise ValueError("refused after writing")

    outcomes = in_one_group(db, [insert(1), refused, insert(3)])
    assert outcomes[0] == 1 and outcomes[2] == 3
    assert isinstance(outcomes[1], ValueError)
    assert rows(db) == [1, 3]


def test_a_write_reads_what_its_group_wrote_before_it(db: Database) -> None:
    def count(conn: Connection) -> int:
        with db.read() as reading:
            seen = reading.scalar(text("SELECT count(*) FROM t"))
        conn.execute(text("INSERT INTO t VALUES (:x)"), {"x": 100 + seen})
        return seen

    outcomes = in_one_group(db, [insert(1), count, insert(2), count])
    assert outcomes == [1, 1, 2, 3]
    assert rows(db) == [1, 2, 101, 103]


def test_a_failed_commit_fails_every_write_of_the_group(db: Database) -> None:
    def orphan(conn: Connection) -> str:
        # a deferred foreign key is checked by the COMMIT, not by the savepoint
        conn.execute(text("INSERT INTO child VALUES (99)"))
        return "orphan"

    outcomes = in_one_group(db, [insert(1), orphan, insert(3)])
    assert all(isinstance(outcome, IntegrityError) for outcome in outcomes)
    assert rows(db) == []
    with db.read() as conn:
        assert conn.scalar(text("SELECT count(*) FROM child")) == 0
    assert db.run_write(insert(4)) == 4  # the next group is not disturbed
    assert rows(db) == [4]


def test_each_write_runs_in_its_callers_context(db: Database) -> None:
    def whose(conn: Connection) -> str:
        conn.execute(text("INSERT INTO t VALUES (0)"))
        return CALLER.get()

    assert in_one_group(db, [whose, whose, whose]) == ["thread 0", "thread 1", "thread 2"]


def test_a_write_alone_runs_without_a_savepoint(db: Database) -> None:
    seen = traced(db)
    assert db.run_write(insert(7)) == 7
    assert [sql for sql in seen if not sql.startswith("PRAGMA")] == [
        "BEGIN IMMEDIATE", "INSERT INTO t VALUES (7)", "COMMIT"]


def test_a_turn_that_fails_before_its_group_forgets_the_write(db: Database, monkeypatch) -> None:  # noqa: ANN001, E501
    """The file lock (or a connection) fails: the caller gets the error and its write is
    not left queued for the next group (a retry would apply it twice)."""
    from chaekieum.store import db as store_db

    real_flock = store_db.fcntl.flock
    failures = iter([OSError("no lock")])

    def flaky_flock(fd, op):  # noqa: ANN001, ANN202
        if op == store_db.fcntl.LOCK_EX:
            failure = next(failures, None)
            if failure is not None:
                raise failure
        return real_flock(fd, op)

    monkeypatch.setattr(store_db.fcntl, "flock", flaky_flock)
    with pytest.raises(OSError, match="no lock"):
        db.run_write(insert(1))
    assert db._queued == []  # noqa: SLF001
    assert db.run_write(insert(2)) == 2
    assert rows(db) == [2]
