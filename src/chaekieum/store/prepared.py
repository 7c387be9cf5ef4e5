"""Hot-path statements compiled once per dialect and run on the driver's cursor.

Around each driver call `Connection.execute` spends 20-40 µs of CPU (statement cache
lookup, parameter construction, an execution context, result metadata), as much as
SQLite needs to run a statement and a good part of a circulation transaction's budget
(issue #13). `Prepared` compiles a Core statement once per dialect and keeps what that
work produces: the SQL text, the constant parameters, the bind processors and, after the
first execution, the result processors. It runs the statement on the connection's own
DBAPI connection, inside the caller's transaction.

What stays as with `Connection.execute`:
- the same SQL text, so psycopg prepares it server-side after `prepare_threshold`
  executions (one parse and plan per connection, not per call);
- SQLAlchemy's `before_cursor_execute` event (statement counts in the tests);
- a driver error raised as SQLAlchemy's `DBAPIError` subclass, and a dead connection
  invalidated, by SQLAlchemy's own handler (so `run_write` retries deadlocks and lost
  connections, and the API answers CONFLICT to an IntegrityError).

Statements whose SQL depends on the parameters (IN lists, literal_execute) cannot be
prepared: they are refused when compiled.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.engine import Dialect
from sqlalchemy.sql import Executable


class _Compiled:
    __slots__ = ("sql", "order", "constants", "processors", "columns", "row", "result")

    def __init__(self, statement: Executable, dialect: Dialect):
        compiled = statement.compile(dialect=dialect)
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

    def parameters(self, params: Mapping[str, Any]) -> dict[str, Any] | tuple[Any, ...]:
        values = {**self.constants, **params}
        for name, process in self.processors:
            if name in values:
                values[name] = process(values[name])
        return values if self.order is None else tuple(values[k] for k in self.order)

    def result_processors(self, dialect: Dialect, description: Sequence[Any]) -> None:
        self.result = tuple(
            column.type._cached_result_processor(dialect, desc[1])  # noqa: SLF001
            for column, desc in zip(self.columns, description, strict=True))


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

    def rows(self, conn: Connection, params: Mapping[str, Any]) -> list[tuple]:
        """Run it; the result rows as named tuples (attribute and index access)."""
        compiled = self._compiled(conn.dialect)
        return self._run(conn, compiled, compiled.parameters(params), many=False)

    def first(self, conn: Connection, params: Mapping[str, Any]) -> tuple | None:
        found = self.rows(conn, params)
        return found[0] if found else None

    def scalar(self, conn: Connection, params: Mapping[str, Any]) -> Any:  # noqa: ANN401
        found = self.rows(conn, params)
        return found[0][0] if found else None

    def many(self, conn: Connection, params: Sequence[Mapping[str, Any]]) -> None:
        """Run it once per parameter set, in one driver call (executemany)."""
        compiled = self._compiled(conn.dialect)
        self._run(conn, compiled, [compiled.parameters(p) for p in params], many=True)

    @staticmethod
    def _run(conn: Connection, compiled: _Compiled, parameters: Any, *, many: bool  # noqa: ANN401
             ) -> list[tuple]:
        cursor = conn.connection.dbapi_connection.cursor()
        try:
            if conn._has_events or conn.engine._has_events:  # noqa: SLF001
                conn.dispatch.before_cursor_execute(conn, cursor, compiled.sql, parameters,
                                                    None, many)
            if many:
                cursor.executemany(compiled.sql, parameters)
                return []
            cursor.execute(compiled.sql, parameters)
            if compiled.row is None:
                return []
            raw = cursor.fetchall()
            if compiled.result is None:
                compiled.result_processors(conn.dialect, cursor.description)
            make, processors = compiled.row, compiled.result
            if not any(processors):
                return [make(*r) for r in raw]
            return [make(*(v if p is None else p(v) for p, v in zip(processors, r,
                                                                    strict=True)))
                    for r in raw]
        except Exception as exc:  # noqa: BLE001 - SQLAlchemy's handler re-raises it wrapped
            conn._handle_dbapi_exception(exc, compiled.sql, parameters, cursor, None)  # noqa: SLF001
            raise  # unreachable: the handler always raises
        finally:
            cursor.close()
