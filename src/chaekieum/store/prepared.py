"""Hot-path statements compiled once per dialect and run below `Connection.execute`.

Around each driver call `Connection.execute` spends 20-40 µs of CPU (statement cache
lookup, parameter construction, an execution context, result metadata), as much as
SQLite needs to run a statement and a good part of a circulation transaction's budget
(issue #13). `Prepared` compiles a Core statement once per dialect and keeps what that
work produces: the SQL text (with the statement's own constants written in), the bind
processors and, after the first execution, the result processors. It runs inside the
caller's transaction.

On PostgreSQL every round trip costs the service CPU (the driver, the socket, a wake-up)
on top of the network's time, and psycopg spends one on BEGIN and one on COMMIT. Here the
statements go out through libpq's pipeline mode on the connection's own libpq handle:
`together` sends several statements in one round trip, the BEGIN of a transaction rides
with its first statements and, for a write that ends its transaction, the COMMIT with
the write (`commit=True`). Each statement is prepared on the server once per connection
(Parse, also in the same round trip) and then only bound and run. Statements in one
round trip still run one after the other, each with its own snapshot: one that follows a
row lock sees what committed while the lock was awaited. In a thread the round trip
waits in select(); on an event loop (store.db.Database.on_loop, psycopg's async
connection) it waits on the loop, which serves other requests meanwhile.

What stays as with `Connection.execute`:
- SQLAlchemy's `before_cursor_execute` event, once per statement (statement counts in
  the tests);
- the parameters adapted by the connection's own psycopg adapters, and results loaded by
  its loaders then SQLAlchemy's result processors;
- a driver error raised as SQLAlchemy's `DBAPIError` subclass, and a dead connection
  invalidated, by SQLAlchemy's own handler (so `run_write` retries deadlocks and lost
  connections, and the API answers CONFLICT to an IntegrityError).

Statements whose SQL depends on the caller's parameters (an IN list of them,
literal_execute) cannot be prepared: they are refused when compiled. An IN list of the
statement's own constants is written into the SQL like any other constant.
"""

from __future__ import annotations

import re
import select
from collections import namedtuple
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import anyio
from psycopg import errors as pg_errors
from psycopg.adapt import PyFormat, Transformer
from psycopg.pq import ExecStatus, TransactionStatus
from sqlalchemy import Connection, literal, literal_column
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import CompileError, DBAPIError
from sqlalchemy.sql import ClauseElement, Executable, visitors
from sqlalchemy.sql.elements import BindParameter
from sqlalchemy.util.concurrency import await_, in_greenlet

_PLACEHOLDER = re.compile(r"%%|%\(([^)]+)\)s")


def _numbered(sql: str) -> tuple[bytes, tuple[str, ...]]:
    """psycopg's `%(name)s` SQL as libpq's `$n` SQL, and the names in `$n` order."""
    names: list[str] = []

    def number(match: re.Match[str]) -> str:
        name = match.group(1)
        if name is None:
            return "%"
        if name not in names:
            names.append(name)
        return f"${names.index(name) + 1}"

    return _PLACEHOLDER.sub(number, sql).encode(), tuple(names)


def _constants_inlined(statement: Executable, dialect: Dialect) -> Executable:
    """`statement` with its constants (the statement's own literals, `state == 'ready'`,
    LIMIT 1; not the caller's parameters) written into the SQL. A constant sent as a
    parameter costs SQLite a new query plan on every execution when it is compared with a
    column of a partial index (`WHERE state = 'active'`): the plan that may use the index
    holds only for the value last bound. Written into the SQL, the planner sees it once."""
    def inline(element: ClauseElement) -> ClauseElement | None:
        if not isinstance(element, BindParameter) or element.required or element.callable:
            return None
        if element.type._isnull:  # noqa: SLF001 - e.g. `.values(state="returned")`
            element = literal(element.effective_value)
        try:
            text = str(element.compile(dialect=dialect,
                                       compile_kwargs={"literal_binds": True}))
        except CompileError:  # no literal form for its type: left a parameter
            return None
        # a percent sign would need the driver's escaping: left a parameter
        return None if "%" in text else literal_column(text, element.type)

    return visitors.replacement_traverse(statement, {}, inline)  # type: ignore[return-value]


class _Compiled:
    __slots__ = ("sql", "order", "constants", "processors", "columns", "row", "result",
                 "pg_sql", "pg_order")

    def __init__(self, statement: Executable, dialect: Dialect):
        compiled = _constants_inlined(statement, dialect).compile(dialect=dialect)
        if compiled.post_compile_params or compiled.literal_execute_params:
            raise ValueError("a prepared statement's SQL must not depend on its parameters")
        if compiled.escaped_bind_names:
            raise ValueError("prepared statements take plain parameter names")
        self.sql = compiled.string
        self.order = tuple(compiled.positiontup) if compiled.positional else None
        processors = {k: v for k, v in compiled._bind_processors.items() if v is not None}  # noqa: SLF001
        self.constants = {}
        for param, name in compiled.bind_names.items():
            if not param.required:  # a literal of the statement, not a caller's parameter
                value = param.effective_value
                self.constants[name] = processors.pop(name)(value) if name in processors \
                    else value
        self.processors: tuple[tuple[str, Callable[[Any], Any]], ...] = tuple(
            processors.items())
        self.columns = tuple(compiled._result_columns or ())  # noqa: SLF001
        self.row = (namedtuple("Row", [c.keyname for c in self.columns], rename=True)  # noqa: PYI024
                    if self.columns else None)
        self.result: tuple[Callable[[Any], Any] | None, ...] | None = None
        self.pg_sql, self.pg_order = (_numbered(self.sql) if dialect.name == "postgresql"
                                      else (b"", ()))

    def parameters(self, params: Mapping[str, Any]) -> dict[str, Any] | tuple[Any, ...]:
        values = {**self.constants, **params}
        for name, process in self.processors:
            if name in values:
                values[name] = process(values[name])
        return values if self.order is None else tuple(values[k] for k in self.order)

    def result_processors(self, dialect: Dialect, types: Sequence[Any]) -> None:
        self.result = tuple(
            column.type._cached_result_processor(dialect, type_)  # noqa: SLF001
            for column, type_ in zip(self.columns, types, strict=True))

    def make_rows(self, raw: Sequence[Sequence[Any]]) -> list[tuple]:
        make, processors = self.row, self.result
        if not any(processors):
            return [make(*r) for r in raw]
        return [make(*(v if p is None else p(v) for p, v in zip(processors, r, strict=True)))
                for r in raw]


class Prepared:
    """A Core statement run without `Connection.execute`'s per-call work."""

    __slots__ = ("statement", "_by_dialect")

    def __init__(self, statement: Executable):
        self.statement = statement
        self._by_dialect: dict[str, _Compiled] = {}

    def _compiled(self, dialect: Dialect) -> _Compiled:
        compiled = self._by_dialect.get(dialect.name)
        if compiled is None:
            compiled = self._by_dialect[dialect.name] = _Compiled(self.statement, dialect)
        return compiled

    def rows(self, conn: Connection, params: Mapping[str, Any], *, commit: bool = False
             ) -> list[tuple]:
        """Run it; the result rows as named tuples (attribute and index access).
        `commit`: it is the transaction's last statement; on PostgreSQL the COMMIT goes
        with it (the caller must then write nothing more in this transaction)."""
        return together(conn, (self, params), commit=commit)[0]

    def first(self, conn: Connection, params: Mapping[str, Any], *, commit: bool = False
              ) -> tuple | None:
        found = self.rows(conn, params, commit=commit)
        return found[0] if found else None

    def scalar(self, conn: Connection, params: Mapping[str, Any], *, commit: bool = False
               ) -> Any:  # noqa: ANN401
        found = self.rows(conn, params, commit=commit)
        return found[0][0] if found else None

    def many(self, conn: Connection, params: Sequence[Mapping[str, Any]]) -> None:
        """Run it once per parameter set, in one driver call (executemany)."""
        compiled = self._compiled(conn.dialect)
        parameters = [compiled.parameters(p) for p in params]
        _on_cursor(conn, compiled.sql, parameters, many=True)
        _run_cursor(conn, compiled, parameters, many=True)


def together(conn: Connection, *steps: tuple[Prepared, Mapping[str, Any]],
             commit: bool = False) -> list[list[tuple]]:
    """Run the statements in order, in the caller's transaction: on PostgreSQL in one
    round trip (with the transaction's BEGIN, if it has not begun, and with the COMMIT if
    `commit`), elsewhere one after the other. The rows of each, in order."""
    dialect = conn.dialect
    work = []
    for prepared, params in steps:
        compiled = prepared._compiled(dialect)  # noqa: SLF001
        parameters = compiled.parameters(params)
        _on_cursor(conn, compiled.sql, parameters, many=False)
        work.append((compiled, parameters))
    if dialect.name == "postgresql":
        return _pipeline(conn, work, commit=commit)
    return [_run_cursor(conn, compiled, parameters, many=False)
            for compiled, parameters in work]


def _on_cursor(conn: Connection, sql: str, parameters: Any, *, many: bool) -> None:  # noqa: ANN401
    if conn._has_events or conn.engine._has_events:  # noqa: SLF001
        conn.dispatch.before_cursor_execute(conn, None, sql, parameters, None, many)


def _run_cursor(conn: Connection, compiled: _Compiled, parameters: Any, *, many: bool  # noqa: ANN401
                ) -> list[tuple]:
    """On the DB-API cursor (SQLite, and executemany)."""
    cursor = conn.connection.dbapi_connection.cursor()
    try:
        if many:
            cursor.executemany(compiled.sql, parameters)
            return []
        cursor.execute(compiled.sql, parameters)
        if compiled.row is None:
            return []
        raw = cursor.fetchall()
        if compiled.result is None:
            compiled.result_processors(conn.dialect, [d[1] for d in cursor.description])
        return compiled.make_rows(raw)
    except Exception as exc:  # noqa: BLE001 - SQLAlchemy's handler re-raises it wrapped
        conn._handle_dbapi_exception(exc, compiled.sql, parameters, cursor, None)  # noqa: SLF001
        raise  # unreachable: the handler always raises
    finally:
        cursor.close()


# -- PostgreSQL: libpq's pipeline mode -----------------------------------------------------
class _Session:
    """What one PostgreSQL connection keeps for the hot path: its adaptation context
    (dumpers and loaders, reused from call to call) and the statements prepared on it, by
    SQL and parameter types. A rollback may deallocate them all (psycopg does, for its
    own prepared statements): `stale` then says to close and prepare them again."""

    __slots__ = ("raw", "tx", "names", "stale", "serial")

    def __init__(self, raw: Any):  # noqa: ANN401 - psycopg's Connection
        self.raw = raw
        self.tx = Transformer(raw)
        self.names: dict[tuple[bytes, tuple[int, ...]], bytes] = {}
        self.stale = False
        self.serial = 0  # names are never reused: one may outlive a failed round trip


_SESSION = "chaekieum.prepared"
_BEGIN, _COMMIT, _CLOSE = "BEGIN", "COMMIT", "Close"


def _session(conn: Connection) -> _Session:
    fairy = conn.connection
    raw = fairy.driver_connection  # psycopg's Connection or AsyncConnection
    session = fairy.info.get(_SESSION)
    if session is None or session.raw is not raw:  # a new or a reconnected connection
        session = fairy.info[_SESSION] = _Session(raw)
    return session


def forgetting_rollback(do_rollback: Callable[[Any], None]) -> Callable[[Any], None]:
    """A PostgreSQL dialect's `do_rollback` that first notes, when a transaction really
    rolls back, that the session's prepared statements may go with it (psycopg then
    deallocates all of them). It sees every rollback SQLAlchemy makes (a connection's and
    the pool's on return) without an engine event, whose dispatch would cost every
    transaction."""
    def rollback(connection: Any) -> None:  # noqa: ANN401 - the pool's connection proxy
        try:
            session = connection.info.get(_SESSION)
        except NotImplementedError:  # the dialect's first connect: no pool entry yet
            session = None
        if session is not None and session.names and \
                session.raw.pgconn.transaction_status != TransactionStatus.IDLE:
            session.stale = True
        do_rollback(connection)

    return rollback


def _pipeline(conn: Connection, work: list[tuple[_Compiled, Any]], *, commit: bool
              ) -> list[list[tuple]]:
    session = _session(conn)
    failed = work[0]  # the statement an error is reported with
    queued, answers = False, None
    try:
        # every parameter adapted first: a value the driver refuses (a NUL in a text) is
        # a DataError before anything is queued
        adapted = [_adapted(session.tx, compiled, parameters) for compiled, parameters in work]
        queued = True
        answers = _exchange(session, adapted, commit=commit)
        out: list[list[tuple]] = [[] for _ in work]
        error = None
        for what, results in answers:
            result = results[-1]
            if result.status == ExecStatus.FATAL_ERROR:
                if error is None:
                    error = pg_errors.error_from_result(
                        result, session.raw.pgconn._encoding)  # noqa: SLF001
                    failed = work[what] if type(what) is int else failed
            elif type(what) is int:
                out[what] = _loaded(conn.dialect, session.tx, work[what][0], result)
            elif type(what) is tuple and result.status == ExecStatus.COMMAND_OK:
                session.names[what[0]] = what[1]  # prepared: bind and run it from now on
        if error is not None:
            raise error
        return out
    except Exception as exc:  # noqa: BLE001 - SQLAlchemy's handler re-raises it wrapped
        try:
            conn._handle_dbapi_exception(exc, failed[0].sql, failed[1], None, None)  # noqa: SLF001
        except DBAPIError as wrapped:
            if commit and queued and answers is None:  # the COMMIT went out, no answer came
                mark_commit_in_doubt(wrapped)
            raise
        raise  # unreachable: the handler always raises


def mark_commit_in_doubt(exc: DBAPIError) -> None:
    """Note on `exc` that the transaction's COMMIT was sent and its outcome is unknown
    (the connection was lost before the answer)."""
    exc.commit_in_doubt = True  # type: ignore[attr-defined]


def commit_in_doubt(exc: DBAPIError) -> bool:
    """Whether `exc` left the COMMIT's outcome unknown: retrying could apply the write
    twice."""
    return getattr(exc, "commit_in_doubt", False)


def _adapted(tx: Any, compiled: _Compiled, parameters: Any) -> tuple:  # noqa: ANN401
    """(SQL, the parameters as libpq takes them, their types, their formats)."""
    values = [parameters[k] for k in compiled.pg_order]
    dumped = tx.dump_sequence(values, [PyFormat.AUTO] * len(values))
    return compiled.pg_sql, dumped, tx.types, tx.formats


def _exchange(session: _Session, adapted: list[tuple], *, commit: bool
              ) -> list[tuple[Any, list[Any]]]:
    """One round trip: send everything, then a sync point; (what was sent, its results)
    for each command. What was sent is a statement's index in `adapted`, (key, name) for
    a statement prepared, or a marker (BEGIN, COMMIT, a Close)."""
    raw = session.raw
    pgconn = raw.pgconn
    sent: list[Any] = []
    # asked before anything is queued: in pipeline mode libpq answers "active" from then on
    begin = not raw.autocommit and pgconn.transaction_status == TransactionStatus.IDLE
    pgconn.enter_pipeline_mode()
    try:
        if session.stale:  # closing a statement that is gone is no error
            for name in session.names.values():
                pgconn.send_close_prepared(name)
                sent.append(_CLOSE)
            session.names.clear()
            session.stale = False
        if begin:
            pgconn.send_query_params(raw._get_tx_start_command(), None)  # noqa: SLF001
            sent.append(_BEGIN)
        for index, (sql, dumped, types, formats) in enumerate(adapted):
            key = (sql, types)
            name = session.names.get(key)
            if name is None:
                session.serial += 1
                name = f"chaekieum_{session.serial}".encode()
                pgconn.send_prepare(name, sql, param_types=types)
                sent.append((key, name))
            pgconn.send_query_prepared(name, dumped, param_formats=formats)
            sent.append(index)
        if commit:
            pgconn.send_query_params(b"COMMIT", None)
            sent.append(_COMMIT)
        pgconn.pipeline_sync()
        while pgconn.flush():
            _wait(pgconn.socket, write=True)
        return list(zip(sent, _results(pgconn), strict=True))
    finally:
        try:
            pgconn.exit_pipeline_mode()
        except Exception:
            # left mid-pipeline: SQLAlchemy invalidates a closed connection
            closing = raw.close()
            if closing is not None:  # AsyncConnection's
                await_(closing)
            raise


def _results(pgconn: Any) -> list[list[Any]]:  # noqa: ANN401
    """Every command's results up to the pipeline's sync point."""
    answers: list[list[Any]] = []
    current: list[Any] = []
    while True:
        while pgconn.is_busy():
            _wait(pgconn.socket, write=False)
            pgconn.consume_input()
        result = pgconn.get_result()
        if result is None:
            answers.append(current)
            current = []
        elif result.status == ExecStatus.PIPELINE_SYNC:
            return answers
        else:
            current.append(result)


def _wait(fd: int, *, write: bool) -> None:
    """Until the socket is ready: in a thread, blocked in select(); on an event loop
    (Database.on_loop), the loop runs other work meanwhile."""
    if in_greenlet():
        await_(anyio.wait_writable(fd) if write else anyio.wait_readable(fd))
    elif write:
        select.select([], [fd], [])
    else:
        select.select([fd], [], [])


def _loaded(dialect: Dialect, tx: Any, compiled: _Compiled, result: Any) -> list[tuple]:  # noqa: ANN401
    if compiled.row is None or not result.ntuples:
        return []
    tx.set_pgresult(result)
    raw = tx.load_rows(0, result.ntuples, tuple)
    if compiled.result is None:
        compiled.result_processors(dialect, [result.ftype(i) for i in range(result.nfields)])
    return compiled.make_rows(raw)
