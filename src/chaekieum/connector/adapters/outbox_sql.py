"""``outbox-sql``: the library system writes change records into a table of its OWN
database; the connector drains them, and writes the hub's events into an inbox table.

The shape follows the KOLAS III client's change-record table (record code 11 = member,
51 = loan/return, 61-64 = policy/holiday) so a vendor maps its existing triggers or
jobs onto it. Tables (the DDL for MariaDB/MySQL and PostgreSQL is in docs/connector.md):

``chaekieum_outbox`` (written by the library system, drained by the connector)
    id           auto-increment primary key, never reused: the change's ``source_id``
    record_code  11 member | 51 loan/return | 61-64 policy/holiday (not sent: rejected)
    operation    11: ``register``; 51: ``checkout`` | ``checkin`` | ``renew``
    payload      JSON text: the body of the hub's /api/v1 endpoint for that operation
    occurred_at  when it happened at the desk (a naive value is in ``local_timezone``)
    status       ``pending`` (default) -> ``sent`` (acknowledged) | ``rejected``
    acked_at     when the connector acknowledged it
    result       JSON text: the answer (hub or offline queue), or why it was rejected

``chaekieum_inbox`` (written by the connector, read by the library system)
    position     the hub feed position: primary key, so a resend cannot duplicate
    kind         event kind (``member.suspended``, ``transit.addressed``...)
    payload      JSON text
    created_at   the hub's time of the event (ISO 8601 text)
    received_at  when the connector wrote it
    read_at      NULL until the library system marks it processed (the connector never
                 touches it again)

A crash between ``fetch_changes`` and ``acknowledge`` leaves the row ``pending``: it is
fetched again with the same ``source_id`` and the core's ``client_txn_id`` makes the
resend exactly-once on the hub. SQLAlchemy Core, synchronous drivers (PyMySQL,
psycopg) run in a worker thread so the connector's event loop never blocks.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, ClassVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError, IntegrityError, SQLAlchemyError

from chaekieum.connector.adapters.base import (
    Adapter,
    Capability,
    Change,
    ConfigError,
    Delivery,
    DeliveryFailed,
)

log = logging.getLogger("chaekieum.connector.adapters.outbox_sql")

# (record_code, operation) -> Change.kind
RECORD_KINDS: dict[tuple[int, str], str] = {
    (11, "register"): "member_register",
    (51, "checkout"): "checkout",
    (51, "checkin"): "checkin",
    (51, "renew"): "renew",
}
POLICY_CODES = frozenset({61, 62, 63, 64})
PENDING, SENT, REJECTED = "pending", "sent", "rejected"
# The drivers this adapter installs with; a bare scheme gets one of them.
DRIVERS = {"mysql": "mysql+pymysql", "mariadb": "mariadb+pymysql",
           "postgresql": "postgresql+psycopg", "postgres": "postgresql+psycopg"}
DIALECTS = frozenset({"mysql", "mariadb", "postgresql", "sqlite"})
OPTIONS = frozenset({"url", "outbox_table", "inbox_table", "create_tables", "local_timezone"})


def tables(outbox_name: str = "chaekieum_outbox",
           inbox_name: str = "chaekieum_inbox") -> tuple[sa.Table, sa.Table]:
    """The two tables (the documented DDL is what ``create_all`` emits)."""
    meta = sa.MetaData()
    outbox = sa.Table(
        outbox_name, meta,
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True,
                  autoincrement=True),
        sa.Column("record_code", sa.SmallInteger, nullable=False),
        sa.Column("operation", sa.String(16), nullable=False),
        sa.Column("payload", sa.Text, nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(10), nullable=False, server_default=PENDING),
        sa.Column("acked_at", sa.DateTime(timezone=True)),
        sa.Column("result", sa.Text),
        sa.Index(f"ix_{outbox_name}_status_id", "status", "id"),
        mysql_charset="utf8mb4",
    )
    inbox = sa.Table(
        inbox_name, meta,
        sa.Column("position", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("payload", sa.Text, nullable=False),
        sa.Column("created_at", sa.String(40), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("read_at", sa.DateTime(timezone=True)),
        mysql_charset="utf8mb4",
    )
    return outbox, inbox


def normalize_url(url: str) -> sa.URL:
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if parsed.drivername in DRIVERS:
        parsed = parsed.set(drivername=DRIVERS[parsed.drivername])
    elif backend == "postgres":
        parsed = parsed.set(drivername="postgresql+" + parsed.get_driver_name())
    return parsed


def _problems(options: Mapping[str, Any]) -> tuple[list[str], sa.URL | None, ZoneInfo | None]:
    problems = [f"outbox-sql: unknown option {key!r}" for key in sorted(set(options) - OPTIONS)]
    url = None
    raw = options.get("url")
    if not isinstance(raw, str) or not raw.strip():
        problems.append("outbox-sql: url is required (e.g. mysql://user:pw@host/kolas)")
    else:
        try:
            url = normalize_url(raw.strip())
        except ArgumentError:
            problems.append("outbox-sql: url is not a database URL "
                            "(e.g. mysql://user:pw@host/kolas or postgresql://...)")
        else:
            if url.get_backend_name() not in DIALECTS:
                problems.append(f"outbox-sql: database {url.get_backend_name()!r} is not "
                                f"supported (MariaDB/MySQL, PostgreSQL or SQLite)")
                url = None
    for key in ("outbox_table", "inbox_table"):
        name = options.get(key, "x")
        if not isinstance(name, str) or not name.replace("_", "").isalnum() or len(name) > 60:
            problems.append(f"outbox-sql: {key} must be a plain table name (letters, digits, _)")
    if not isinstance(options.get("create_tables", False), bool):
        problems.append("outbox-sql: create_tables must be true or false")
    zone = None
    try:
        zone = ZoneInfo(str(options.get("local_timezone", "Asia/Seoul")))
    except (ZoneInfoNotFoundError, ValueError):
        problems.append("outbox-sql: local_timezone is not a time zone name (e.g. Asia/Seoul)")
    return problems, url, zone


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)


class OutboxSqlAdapter(Adapter):
    name: ClassVar[str] = "outbox-sql"
    capabilities: ClassVar[frozenset[Capability]] = frozenset(
        {Capability.UPLINK, Capability.EVENTS}
    )

    def __init__(self, options: Mapping[str, Any]) -> None:
        super().__init__(options)
        problems, url, zone = _problems(self.options)
        if problems:
            raise ConfigError(problems)
        assert url is not None and zone is not None
        self.url = url
        self.zone = zone
        self.outbox, self.inbox = tables(self.options.get("outbox_table", "chaekieum_outbox"),
                                         self.options.get("inbox_table", "chaekieum_inbox"))
        self.create_tables = bool(self.options.get("create_tables", False))
        self._engine: Engine | None = None

    @property
    def where(self) -> str:
        """The database, for logs: never the password."""
        return self.url.render_as_string(hide_password=True)

    # -- lifecycle ------------------------------------------------------------------
    async def start(self) -> None:
        pool = {} if self.url.get_backend_name() == "sqlite" else {"pool_size": 2,
                                                                       "max_overflow": 0}
        self._engine = sa.create_engine(self.url, pool_pre_ping=True, **pool)
        if self.create_tables:
            await asyncio.to_thread(self.outbox.metadata.create_all, self._engine)
        log.info("outbox-sql: draining %s and filling %s at %s", self.outbox.name,
                 self.inbox.name, self.where)

    async def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            raise RuntimeError("outbox-sql: start() was not called")
        return self._engine

    def _now(self) -> datetime:
        return datetime.now(UTC).replace(microsecond=0)

    def _stored_time(self, value: datetime) -> datetime:
        """What goes into a DateTime(timezone=True) column: aware for PostgreSQL
        (timestamptz); elsewhere (MariaDB DATETIME, SQLite) naive local time, the same
        convention as the library system's own ``occurred_at``."""
        if self.url.get_backend_name() == "postgresql":
            return value
        return value.astimezone(self.zone).replace(tzinfo=None)

    def _aware(self, value: datetime | str) -> datetime:
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        if value.tzinfo is None:
            return value.replace(tzinfo=self.zone)
        return value

    # -- UPLINK ---------------------------------------------------------------------
    async def fetch_changes(self, limit: int) -> list[Change]:
        if limit <= 0:
            return []
        return await asyncio.to_thread(self._fetch, limit)

    def _fetch(self, limit: int) -> list[Change]:
        """Pending rows, oldest first. A row that cannot be sent (unknown code, bad JSON)
        is marked ``rejected`` with the reason and skipped, so one bad row never holds up
        the rest; the batch is filled from the rows after it."""
        out = self.outbox
        changes: list[Change] = []
        with self.engine.begin() as conn:
            while len(changes) < limit:
                rows = conn.execute(
                    sa.select(out.c.id, out.c.record_code, out.c.operation, out.c.payload,
                              out.c.occurred_at)
                    .where(out.c.status == PENDING,
                           out.c.id > int(changes[-1].source_id) if changes else sa.true())
                    .order_by(out.c.id).limit(limit - len(changes))).all()
                if not rows:
                    break
                for row in rows:
                    change, problem = self._change(row)
                    if change is not None:
                        changes.append(change)
                        continue
                    log.warning("outbox-sql: row %s of %s rejected: %s", row.id, out.name,
                                problem)
                    conn.execute(out.update().where(out.c.id == row.id, out.c.status == PENDING)
                                 .values(status=REJECTED,
                                         acked_at=self._stored_time(self._now()),
                                         result=_json({"rejected": problem})))
        return changes

    def _change(self, row: sa.Row) -> tuple[Change | None, str]:
        code, operation = row.record_code, (row.operation or "").strip().lower()
        if code in POLICY_CODES:
            return None, (f"record code {code} (policy/holiday) is set in the hub's admin, "
                          f"not sent by the connector")
        kind = RECORD_KINDS.get((code, operation))
        if kind is None:
            return None, f"unknown record code/operation {code}/{operation!r}"
        try:
            payload = json.loads(row.payload)
        except (TypeError, ValueError):
            return None, "payload is not JSON"
        if not isinstance(payload, dict):
            return None, "payload is not a JSON object"
        try:
            occurred = self._aware(row.occurred_at)
        except (TypeError, ValueError):
            return None, "occurred_at is not a date and time"
        return Change(source_id=str(row.id), kind=kind, payload=payload,
                      occurred_at=occurred), ""

    async def acknowledge(self, change: Change, result: dict) -> None:
        await asyncio.to_thread(self._acknowledge, change, result)

    def _acknowledge(self, change: Change, result: dict) -> None:
        out = self.outbox
        with self.engine.begin() as conn:
            conn.execute(out.update()
                         .where(out.c.id == int(change.source_id), out.c.status == PENDING)
                         .values(status=SENT, acked_at=self._stored_time(self._now()),
                                 result=_json(result)))

    # -- EVENTS ---------------------------------------------------------------------
    async def deliver(self, event: Delivery) -> None:
        try:
            await asyncio.to_thread(self._deliver, event)
        except SQLAlchemyError as exc:
            raise DeliveryFailed(f"outbox-sql: inbox at {self.where} unavailable: "
                                 f"{type(exc).__name__}") from exc

    async def stored_event(self, position: int) -> dict | None:
        return await asyncio.to_thread(self._stored_event, position)

    def _stored_event(self, position: int) -> dict | None:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(self.inbox.c.kind, self.inbox.c.payload)
                               .where(self.inbox.c.position == position)).first()
        return None if row is None else {"kind": row.kind, "payload": json.loads(row.payload)}

    def _deliver(self, event: Delivery) -> None:
        inbox = self.inbox
        row = {"position": event.position, "kind": event.kind, "payload": _json(event.payload),
               "created_at": str(event.created_at)[:40],
               "received_at": self._stored_time(self._now())}
        try:
            with self.engine.begin() as conn:
                conn.execute(inbox.insert().values(**row))
        except IntegrityError:
            # A resend of a position already written (the core crashed before it
            # recorded the delivery): the library system keeps the first copy.
            with self.engine.connect() as conn:
                if conn.scalar(sa.select(sa.func.count()).select_from(inbox)
                               .where(inbox.c.position == event.position)):
                    return
            raise
