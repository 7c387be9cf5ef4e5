"""SQLite: WAL checkpoints run after a writer's turn, never inside it.

SQLite's automatic checkpoint runs in the commit that crosses 1,000 WAL pages, while that
writer still holds the turn every other writer waits for, and it syncs the database file.
store/db.py checkpoints (PASSIVE) every CHECKPOINT_EVERY writes of the process, once the
turn is over, and keeps SQLite's own only as a safety net far above that. A failed
checkpoint never fails the write that has committed (run_write would apply it again)."""

from __future__ import annotations

import logging
import sqlite3
from types import SimpleNamespace

import pytest
from sqlalchemy import event, text

from chaekieum.store import db as store_db
from chaekieum.store.db import Database


def test_checkpoints_run_after_the_writers_turn(tmp_path, monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.setattr(store_db, "CHECKPOINT_EVERY", 5)
    db = Database(f"sqlite:///{tmp_path / 'x.db'}")
    seen: list[tuple[str, bool]] = []

    @event.listens_for(db.engine, "connect")
    def trace(dbapi_conn, _record):  # noqa: ANN001, ANN202
        dbapi_conn.set_trace_callback(lambda sql: seen.append((sql, db._write_lock.locked())))  # noqa: SLF001

    try:
        with db.write() as conn:
            conn.execute(text("CREATE TABLE t (x INTEGER)"))
        for i in range(11):
            db.run_write(lambda c, i=i: c.execute(text("INSERT INTO t VALUES (:x)"), {"x": i}))
        checkpoints = [held for sql, held in seen if "wal_checkpoint" in sql]
        assert checkpoints == [False, False]  # after writes 5 and 10, outside the turn
        assert all(held for sql, held in seen if sql.startswith(("BEGIN", "INSERT", "COMMIT")))
        with db.read() as conn:
            assert conn.scalar(text("SELECT count(*) FROM t")) == 11
            # SQLite's own: only a safety net, far above CHECKPOINT_EVERY's writes
            assert conn.scalar(text("PRAGMA wal_autocheckpoint")) == store_db.AUTOCHECKPOINT_PAGES
    finally:
        db.dispose()


def test_a_failed_checkpoint_is_logged_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    closed = sqlite3.connect(":memory:")
    closed.close()
    conn = SimpleNamespace(connection=SimpleNamespace(driver_connection=closed))
    with caplog.at_level(logging.WARNING, logger="chaekieum.store.db"):
        store_db._checkpoint(conn)  # noqa: SLF001
    assert "WAL checkpoint failed" in caplog.text
