"""store/prepared.py on PostgreSQL: statements sent together in libpq's pipeline mode,
with the transaction's BEGIN and, when asked, its COMMIT. The rows are what
`Connection.execute` gives; an error stops what follows and leaves the connection
usable; a rollback that drops the session's prepared statements, and a backend that
dies, are recovered from; a COMMIT whose answer is lost is never retried."""

from __future__ import annotations

from datetime import date, datetime

import psycopg
import pytest
import sqlalchemy as sa
from psycopg.pq import TransactionStatus
from sqlalchemy import insert, select

from chaekieum.store import prepared
from chaekieum.store.db import Database
from chaekieum.store.prepared import Prepared, together

from ..things import BY_NAME, INSERT, meta, row, things

_COUNT = Prepared(select(sa.func.count()).select_from(things))


@pytest.fixture
def db(pg_url: str):  # noqa: ANN201
    database = Database(pg_url, pool_size=1)
    meta.create_all(database.engine)
    yield database
    database.dispose()


def _status(conn: sa.Connection) -> TransactionStatus:
    return conn.connection.dbapi_connection.pgconn.transaction_status


def test_statements_together_begin_the_transaction_and_read_each_others_writes(db) -> None:  # noqa: ANN001
    with db.write() as conn:
        assert _status(conn) == TransactionStatus.IDLE
        inserted, found, counted = together(conn, (INSERT, row("a")), (BY_NAME, {"n": "a"}),
                                            (_COUNT, {}))
        assert _status(conn) == TransactionStatus.INTRANS  # BEGIN went with them
        got = found[0]
        assert (got.id, got.day, got.at, got.ok, got.data) == (
            inserted[0].id, date(2026, 3, 4), datetime(2026, 3, 4, 1, 2, 3), True,
            {"k": [1, "둘"]})
        assert got == tuple(conn.execute(BY_NAME.statement, {"n": "a"}).one())
        assert counted == [(1,)]
        assert BY_NAME.first(conn, {"n": "nobody"}) is None
    with db.read() as conn:
        assert conn.scalar(select(sa.func.count()).select_from(things)) == 1


def test_a_write_with_its_commit_is_committed_before_the_block_ends(db) -> None:  # noqa: ANN001
    with db.write() as conn:
        INSERT.scalar(conn, row("a"), commit=True)
        assert _status(conn) == TransactionStatus.IDLE
        with db.engine.connect() as other:  # another session sees it already
            assert other.scalar(select(things.c.name)) == "a"
    with db.read() as conn:
        assert conn.scalar(select(sa.func.count()).select_from(things)) == 1


def test_an_error_stops_what_follows_and_the_connection_stays_usable(db) -> None:  # noqa: ANN001
    INSERT.scalar(db.engine.connect(), row("a"), commit=True)
    for _ in range(2):  # the second time with the statements already prepared
        with pytest.raises(sa.exc.IntegrityError, match="things_name_key"), \
                db.write() as conn:
            together(conn, (INSERT, row("b")), (INSERT, row("a")), (INSERT, row("c")),
                     commit=True)
        with db.read() as conn:  # nothing of it was kept, not even what came before
            assert conn.scalars(select(things.c.name)).all() == ["a"]
    assert db.run_write(lambda conn: INSERT.scalar(conn, row("d"), commit=True)) > 0


def test_prepared_statements_dropped_by_a_rollback_are_prepared_again(db) -> None:  # noqa: ANN001
    for _ in range(8):  # psycopg prepares this one itself after a few runs
        with db.write() as conn:
            conn.execute(select(things.c.id).where(things.c.name == "x")).all()
            _COUNT.scalar(conn, {})
    with pytest.raises(RuntimeError), db.write() as conn:  # a real rollback
        INSERT.scalar(conn, row("a"))
        raise RuntimeError
    with db.write() as conn:  # psycopg deallocated every statement of the session
        assert conn.exec_driver_sql("SELECT count(*) FROM pg_prepared_statements").scalar() == 0
    with db.write() as conn:
        assert _COUNT.scalar(conn, {}) == 0
        assert _status(conn) == TransactionStatus.INTRANS  # closed, prepared, and begun
        assert BY_NAME.first(conn, {"n": "a"}) is None


def test_a_backend_that_died_is_a_lost_connection_that_run_write_retries(db) -> None:  # noqa: ANN001
    with db.write() as conn:
        _COUNT.scalar(conn, {})
        pid = conn.connection.dbapi_connection.pgconn.backend_pid
    admin = sa.create_engine(db.url)
    with admin.connect() as other, other.begin():
        other.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    admin.dispose()
    with pytest.raises(sa.exc.OperationalError) as lost, db.write() as conn:
        _COUNT.scalar(conn, {})
    assert lost.value.connection_invalidated
    assert db.run_write(lambda conn: INSERT.scalar(conn, row("a"), commit=True)) > 0
    assert db.run_write(lambda conn: _COUNT.scalar(conn, {})) == 1


def test_a_commit_whose_answer_is_lost_is_not_retried(db, monkeypatch) -> None:  # noqa: ANN001
    """The server commits, then the connection breaks before the answer arrives: the
    write may have been applied, so run_write gives the error to its caller (the API
    answers 503; a retry with the same Idempotency-Key returns the stored answer)."""
    answered = prepared._results
    exchanges: list[int] = []

    def lost(pgconn):  # noqa: ANN001, ANN202
        answered(pgconn)  # everything ran on the server, the COMMIT included
        exchanges.append(1)
        pgconn.finish()  # and the connection is gone before the client reads it
        raise psycopg.OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(prepared, "_results", lost)
    with pytest.raises(sa.exc.OperationalError) as error:
        db.run_write(lambda conn: INSERT.scalar(conn, row("a"), commit=True))
    assert prepared.commit_in_doubt(error.value) and error.value.connection_invalidated
    assert exchanges == [1]  # not run again
    with pytest.raises(sa.exc.OperationalError) as error:  # before the COMMIT: retried
        db.run_write(lambda conn: INSERT.scalar(conn, row("b")))
    assert not prepared.commit_in_doubt(error.value) and len(exchanges) == 6
    monkeypatch.undo()
    with db.read() as conn:
        assert conn.scalars(select(things.c.name)).all() == ["a"]


def test_a_separate_commit_whose_answer_is_lost_is_not_retried(db, monkeypatch) -> None:  # noqa: ANN001
    """The same when the COMMIT is SQLAlchemy's own (any write but the hot path's)."""
    commits: list[int] = []
    do_commit = db.engine.dialect.do_commit

    def lost(connection) -> None:  # noqa: ANN001
        do_commit(connection)
        commits.append(1)
        connection.dbapi_connection.close()
        raise psycopg.OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(db.engine.dialect, "do_commit", lost)
    with pytest.raises(sa.exc.OperationalError) as error:
        db.run_write(lambda conn: conn.execute(insert(things).values(name="a")))
    assert prepared.commit_in_doubt(error.value) and commits == [1]
    monkeypatch.undo()
    with db.read() as conn:
        assert conn.scalars(select(things.c.name)).all() == ["a"]


def test_a_value_the_driver_refuses_is_a_data_error_and_nothing_is_sent(db) -> None:  # noqa: ANN001
    with pytest.raises(sa.exc.DataError) as refused, db.write() as conn:
        together(conn, (INSERT, row("a")), (INSERT, row("b\x00")), commit=True)
    assert not prepared.commit_in_doubt(refused.value)  # nothing was sent
    with db.write() as conn:  # the same connection (pool_size 1), ready for the next one
        assert _status(conn) == TransactionStatus.IDLE
        assert together(conn, (_COUNT, {}))[0] == [(0,)]
