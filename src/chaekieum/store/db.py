"""Engine set-up for SQLite (embedded default) and PostgreSQL (production).

Write transactions on SQLite start with BEGIN IMMEDIATE so that two writers never both
read and then fail to upgrade their lock; on PostgreSQL the services take row locks.

SQLite has one writer at a time, so a process commits its writes in groups: the writes
that queued while another held the turn run in the next turn, in one transaction, each
in its own savepoint, and each is answered once the group's COMMIT is done. BEGIN, the
COMMIT and the page cache's refill are paid once a group. A read inside a write (on the
same thread) reads the write's own transaction, so a write sees its group's earlier
writes exactly as if each had committed alone.

On PostgreSQL the API's hot writes run on the event loop (`on_loop`): the same blocking
code in a greenlet, whose connections come from the loop's own engine (psycopg's async
driver), so every wait for the server lets the loop serve other requests.
"""

from __future__ import annotations

import asyncio
import contextvars
import fcntl
import logging
import sqlite3
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.util.concurrency import await_, greenlet_spawn, in_greenlet

from .prepared import commit_in_doubt, forgetting_rollback, mark_commit_in_doubt

T = TypeVar("T")
log = logging.getLogger("chaekieum.store.db")

# SQLite: this process's writes between two WAL checkpoints. A checkpoint copies the
# WAL's pages into the database file and syncs it; SQLite's own (every 1,000 pages)
# would run inside a writer's turn and make every other writer wait for the sync. A
# PASSIVE checkpoint after the turn runs beside the next writer.
CHECKPOINT_EVERY = 100
# SQLite's own checkpoint stays as a safety net, far above what those checkpoints let
# the WAL reach (about 14 pages a circulation write): for writes that do not go through
# Database.write, such as a migration's
AUTOCHECKPOINT_PAGES = 10_000
# SQLite: the most writes one group commit runs (a bound on the wait of the group's first)
GROUP_MAX = 16

_RETRYABLE_PG = {"40001", "40P01", "55P03"}  # serialization failure, deadlock, lock timeout


def normalize_url(url: str) -> str:
    """SQLAlchemy URL of a database URL. A libpq multi-host URL (a primary and its
    standbys: `postgresql://user@h1:5432,h2:5432/db?target_session_attrs=read-write`)
    becomes SQLAlchemy's form with one `host=` parameter per host, so the driver connects
    to whichever host is the writable primary (a switchover needs no restart)."""
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    if url.startswith("postgresql+psycopg://"):
        rest = url.removeprefix("postgresql+psycopg://")
        netloc, slash, tail = rest.partition("/")
        user, at, hosts = netloc.rpartition("@")
        if "," in hosts:
            path, question, query = tail.partition("?")
            params = "&".join(f"host={h}" for h in hosts.split(",") if h)
            url = (f"postgresql+psycopg://{user}{at}/{path}?{params}"
                   + (f"&{query}" if query else ""))
    return url


def sqlite_path(url: str) -> Path | None:
    if url.startswith("sqlite:///") and ":memory:" not in url:
        return Path(url.removeprefix("sqlite:///"))
    return None


class Database:
    def __init__(self, url: str, *, pool_size: int = 10, read_url: str | None = None):
        self.url = normalize_url(url)
        self.is_sqlite = self.url.startswith("sqlite")
        path = sqlite_path(self.url)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        self._write_lock = threading.Lock()  # SQLite: this process's writers take turns
        self._writes = 0  # counted in the writer's turn (SQLite)
        self._queued: list[_Queued] = []  # SQLite: writes waiting for the next group
        self._queue_lock = threading.Lock()
        self._in_write = threading.local()  # SQLite: the connection of this thread's write
        self._lock_file = open(f"{path}.writelock", "a+b") if path is not None else None  # noqa: SIM115
        if self.is_sqlite:
            self.engine = create_engine(
                self.url, connect_args={"check_same_thread": False, "timeout": 30},
                pool_size=pool_size, max_overflow=pool_size,
                # the connection used last has the warmest page cache (SQLite keeps one
                # per connection and drops it when another connection has written)
                pool_use_lifo=True,
            )
            _configure_sqlite(self.engine)
        else:
            # No pre-ping (a round trip per transaction): a connection that died with a
            # server restart is invalidated on first use and run_write retries it.
            self.engine = create_engine(self.url, pool_size=pool_size, max_overflow=pool_size)
            _forget_on_rollback(self.engine)
        self._pool_size = pool_size
        # PostgreSQL: what work run on an event loop (`on_loop`) uses, one a loop
        self._loops: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop,
                                               _Loop] = weakref.WeakKeyDictionary()
        self._watchers: list[Callable[[Engine], None]] = []
        # read-only pages (dashboards, statistics, the audit viewer) may read a standby
        self.replica_engine = (create_engine(normalize_url(read_url), pool_size=pool_size,
                                             max_overflow=pool_size) if read_url else None)

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """A write transaction of its own, never grouped (the caller's block runs inside
        the turn) and never retried: `run_write` is the usual way to write.
        On SQLite the writer's turn lasts only the transaction: the connection is taken
        before it and given back after it, and the WAL checkpoint runs after it."""
        with self._engine().connect() as conn:
            if not self.is_sqlite:  # PostgreSQL writers take row locks
                with conn.begin():
                    yield conn
                return
            with self._write_lock, self._file_lock():
                with self._sqlite_write(conn) as conn:
                    yield conn
                checkpoint = self._counted(1)
            if checkpoint:
                _checkpoint(conn)

    @contextmanager
    def _sqlite_write(self, conn: Connection) -> Iterator[Connection]:
        """A write transaction (BEGIN IMMEDIATE) in the writer's turn; this thread's reads
        read it until it ends."""
        conn = conn.execution_options(chaekieum_write=True)
        self._in_write.conn = conn
        try:
            with conn.begin():
                yield conn
        finally:
            self._in_write.conn = None

    def _counted(self, writes: int) -> bool:
        """Count committed writes; whether a WAL checkpoint is due (after the turn)."""
        before = self._writes
        self._writes += writes
        return (self._lock_file is not None
                and self._writes // CHECKPOINT_EVERY != before // CHECKPOINT_EVERY)

    @contextmanager
    def _file_lock(self) -> Iterator[None]:
        """SQLite has one writer at a time. A writer's turn is this process's write lock
        and this file lock (the other processes): both wake a waiting writer the moment
        the writer before it commits, where SQLite's busy handler sleeps and polls
        (seconds of p99). No file (an in-memory database): one process, no file lock."""
        if self._lock_file is None:
            yield
            return
        fcntl.flock(self._lock_file, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(self._lock_file, fcntl.LOCK_UN)

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A read transaction. On SQLite, inside a write on the same thread, the write's
        own (it sees what the write and its group wrote before it)."""
        writing = getattr(self._in_write, "conn", None)  # set on SQLite only
        if writing is not None:
            yield writing
            return
        with self._engine().connect() as conn, conn.begin():
            yield conn

    def _engine(self) -> Engine:
        """The engine for this thread's work: inside `on_loop`, the running loop's own
        (PostgreSQL's async driver, each wait a switch back to the loop)."""
        return self._loop().engine.sync_engine if in_greenlet() else self.engine

    def _loop(self) -> _Loop:
        loop = asyncio.get_running_loop()
        found = self._loops.get(loop)
        if found is None:
            engine = create_async_engine(
                self.url.replace("postgresql+psycopg://", "postgresql+psycopg_async://", 1),
                pool_size=self._pool_size, max_overflow=self._pool_size)
            _forget_on_rollback(engine.sync_engine)
            for watch in self._watchers:
                watch(engine.sync_engine)
            found = self._loops[loop] = _Loop(engine, asyncio.Semaphore(self._pool_size))
        return found

    def on_engine(self, watch: Callable[[Engine], None]) -> None:
        """Call `watch` with every engine this database uses, now and later (an event
        loop's is made on its first use): for event listeners, such as the pool's
        metrics."""
        self._watchers.append(watch)
        for engine in (self.engine, self.replica_engine,
                       *(state.engine.sync_engine for state in self._loops.values())):
            if engine is not None:
                watch(engine)

    async def on_loop(self, work: Callable[[], T]) -> T:
        """Run `work` (blocking code: `run_write`, `read`) on this event loop, with no
        thread: PostgreSQL only. Its database waits go back to the loop, as a
        coroutine's would (a greenlet), so other requests run meanwhile. At most the
        pool's size run at once: a use case may hold two pooled connections (its write
        and a read), and the pool holds twice its size, so it can never run dry."""
        if self.is_sqlite:
            raise ValueError("SQLite's writes wait in threads")
        async with self._loop().slots:
            return await greenlet_spawn(work)

    async def close_loop(self) -> None:
        """Close this loop's engine (at the end of the loop's life)."""
        found = self._loops.pop(asyncio.get_running_loop(), None)
        if found is not None:
            await found.engine.dispose()

    @contextmanager
    def read_replica(self) -> Iterator[Connection]:
        """A read for pages that may lag the primary by a moment (dashboards, statistics,
        the audit viewer): on the standby when `read_url` is set. Anything a user must see
        right after their own write uses `read()`, always the primary."""
        engine = self.replica_engine or self.engine
        with engine.connect() as conn, conn.begin():
            yield conn

    def run_write(self, work: Callable[[Connection], T], *, attempts: int = 5) -> T:
        """Run `work` in one write transaction, retrying on deadlocks, busy locks and
        lost connections - but never a transaction whose COMMIT was sent and not
        answered: it may have committed, so that error goes to the caller (the API
        answers 503, and a retry with the same Idempotency-Key is applied once)."""
        for attempt in range(attempts):
            try:
                return self._grouped(work) if self.is_sqlite else self._alone(work)
            except DBAPIError as exc:  # OperationalError included
                if attempt == attempts - 1 or commit_in_doubt(exc) or not self._retryable(exc):
                    raise
                pause = 0.01 * (2**attempt)
                if in_greenlet():  # on the event loop: the other requests go on
                    await_(asyncio.sleep(pause))
                else:
                    time.sleep(pause)
        raise AssertionError("unreachable")

    def _alone(self, work: Callable[[Connection], T]) -> T:
        """PostgreSQL: `work` in a transaction of its own (concurrent writers take row
        locks), as a group of one."""
        queued = _Queued(work, contextvars.copy_context())
        _run_group(self.write(), [queued])
        return queued.outcome()

    def _grouped(self, work: Callable[[Connection], T]) -> T:
        """SQLite: queue `work` and wait for the turn; whoever gets the turn first runs
        every queued write as one group. Returns (or raises) once the group committed."""
        queued = _Queued(work, contextvars.copy_context())
        with self._queue_lock:
            self._queued.append(queued)
        checkpoint = False
        with self._write_lock:  # the group's leader holds it to the end
            try:
                while not queued.done:  # another thread's group may have run it meanwhile
                    checkpoint = self._lead() or checkpoint
            except BaseException:
                if queued.done:  # it ran: its own outcome is the answer (never run it twice)
                    log.exception("after a group commit")
                else:  # the turn failed before the group was taken: it never ran
                    with self._queue_lock:
                        if queued in self._queued:
                            self._queued.remove(queued)
                    raise
        if checkpoint:  # after the turn, on the connection the group used (LIFO pool)
            with self.engine.connect() as conn:
                _checkpoint(conn)
        return queued.outcome()

    def _lead(self) -> bool:
        """Run the queued writes as one group in one turn (this thread holds the
        process's write lock). A write that raises is rolled back to its savepoint and
        the others go on; if the group cannot commit, every write in it gets the error.
        Whether a WAL checkpoint is due."""
        with self.engine.connect() as conn, self._file_lock():
            with self._queue_lock:  # the writes queued while this one waited join
                group = self._queued[:GROUP_MAX]
                del self._queued[:GROUP_MAX]
            _run_group(self._sqlite_write(conn), group)
            return self._counted(sum(q.error is None for q in group))

    def _retryable(self, exc: DBAPIError) -> bool:
        if exc.connection_invalidated:
            return True
        if self.is_sqlite:
            return "locked" in str(exc.orig) or "busy" in str(exc.orig)
        return getattr(exc.orig, "sqlstate", None) in _RETRYABLE_PG

    def dispose(self) -> None:
        self.engine.dispose()
        if not _loop_running():  # a loop's engine left without close_loop (else its own)
            for state in list(self._loops.values()):
                asyncio.run(state.engine.dispose())
        self._loops.clear()
        if self.replica_engine is not None:
            self.replica_engine.dispose()
        if self._lock_file is not None:
            self._lock_file.close()
            self._lock_file = None


@dataclass(frozen=True)
class _Loop:
    """An event loop's engine (psycopg's async driver) and the slots of its work."""

    engine: AsyncEngine
    slots: asyncio.Semaphore


@dataclass(eq=False)
class _Queued:
    """A write and its outcome, with the context of the thread that asked: queued for a
    group commit (SQLite), or a group of one (PostgreSQL)."""

    work: Callable[[Connection], Any]
    context: contextvars.Context
    done: bool = False
    result: Any = None
    error: BaseException | None = None

    def outcome(self) -> Any:  # noqa: ANN401 - the work's own result
        if self.error is not None:
            raise self.error
        return self.result


def _run_group(transaction: Any, group: list[_Queued]) -> None:
    """Run `group` in `transaction` (a context manager giving the connection). One write
    runs alone, as it would without groups; several each run in a savepoint."""
    committing = False
    try:
        with transaction as conn:
            if len(group) == 1:
                group[0].result = group[0].context.run(group[0].work, conn)
            else:
                # savepoints on the driver's connection (about 3 µs a write; SQLAlchemy's
                # begin_nested() costs about 60)
                for queued in group:
                    _driver_sql(conn, "SAVEPOINT chaekieum_group")
                    try:
                        queued.result = queued.context.run(queued.work, conn)
                    except Exception as exc:  # this write's refusal or failure alone
                        queued.error = exc
                        _driver_sql(conn, "ROLLBACK TO chaekieum_group")
                    _driver_sql(conn, "RELEASE chaekieum_group")
            committing = True  # leaving the block commits
    except BaseException as exc:
        if committing and isinstance(exc, DBAPIError) and exc.connection_invalidated:
            mark_commit_in_doubt(exc)
        for queued in group:  # nothing of the group committed
            if queued.error is None:
                queued.result, queued.error = None, exc
        if not isinstance(exc, Exception):
            raise
    finally:
        for queued in group:
            queued.done = True


def _loop_running() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def _forget_on_rollback(engine: Engine) -> None:
    dialect = engine.dialect
    dialect.do_rollback = forgetting_rollback(dialect.do_rollback)  # type: ignore[method-assign]


def _checkpoint(conn: Connection) -> None:
    """A PASSIVE WAL checkpoint on the driver's connection (autocommit, no transaction).
    The write has committed: a failure here must not fail it (run_write would apply it
    again), so it is logged; the next checkpoint catches up."""
    try:
        conn.connection.driver_connection.execute("PRAGMA wal_checkpoint(PASSIVE)").close()
    except sqlite3.Error as exc:
        log.warning("WAL checkpoint failed: %s", exc)


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):  # type: ignore[no-untyped-def]
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")  # WAL+NORMAL: durable across process kills
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.execute(f"PRAGMA wal_autocheckpoint={AUTOCHECKPOINT_PAGES}")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # a write takes SQLite's write lock at once; a read begins deferred
        _driver_sql(conn, "BEGIN IMMEDIATE" if conn.get_execution_options().get(
            "chaekieum_write") else "BEGIN")


def _driver_sql(conn: Connection, sql: str) -> None:
    """Run `sql` on the driver's connection, SQLAlchemy's execution path skipped (it was
    about an eighth of a writer's turn for BEGIN); an error is still raised as
    SQLAlchemy's, so run_write can retry it."""
    try:
        conn.connection.driver_connection.execute(sql).close()
    except sqlite3.Error as exc:
        conn._handle_dbapi_exception(exc, sql, (), None, None)  # noqa: SLF001 - raises
