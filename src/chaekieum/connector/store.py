"""The connector's durable state: one SQLite file in data_dir.

- `queue`: writes waiting for the hub, in arrival order (`seq`). A row is committed with
  synchronous=FULL (fsync'd) before the desk gets its 202, and is marked done only after
  the hub answered it, so a crash at any point loses nothing; a resend after a crash
  carries the same Idempotency-Key and client_txn_id, so the hub applies it once.
- `snapshot_*`: the offline gates' facts (blocked members, loan counts, policies).
- `cursors`: per-adapter change-feed positions (saved only after a delivery succeeded).
- `tokens`: hashed local device tokens added with `chaekieum connector token add`.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS queue (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,              -- checkout | checkin | renew | member_register
    path TEXT NOT NULL,              -- the hub path (/circulation/checkout ...)
    body TEXT NOT NULL,              -- JSON body as first sent (online form)
    occurred_at TEXT,                -- when the desk did it (sent on the offline replay)
    idem_key TEXT NOT NULL UNIQUE,   -- Idempotency-Key of the online attempt
    origin TEXT NOT NULL,            -- device token name or adapter:<name>
    attempted INTEGER NOT NULL,      -- 1: sent online once without a usable answer
    verify_only INTEGER NOT NULL DEFAULT 0,  -- the desk was told "refused": never force it
    member TEXT,
    item TEXT,
    answer TEXT NOT NULL,            -- what the desk was told (202 body)
    created_at TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'queued',  -- queued | done | exception | failed
    status INTEGER,                  -- the hub's final HTTP status
    result TEXT,                     -- the hub's final answer
    tries INTEGER NOT NULL DEFAULT 0,
    done_at TEXT,
    resolved_at TEXT
);
CREATE INDEX IF NOT EXISTS ix_queue_state ON queue(state, seq);
CREATE TABLE IF NOT EXISTS offline_loans (  -- queued checkouts not returned since
    seq INTEGER PRIMARY KEY, member TEXT NOT NULL, item TEXT);
CREATE INDEX IF NOT EXISTS ix_offline_loans_member ON offline_loans(member);
CREATE INDEX IF NOT EXISTS ix_offline_loans_item ON offline_loans(item);
CREATE TABLE IF NOT EXISTS cursors (name TEXT PRIMARY KEY, position INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS snapshot_members (
    number TEXT PRIMARY KEY,
    blocked TEXT,                    -- refusal code, or NULL when not blocked
    until TEXT,                      -- suspension end (ISO date)
    member_class TEXT,
    on_loan INTEGER,                 -- network-wide active loans (own members only)
    here INTEGER,                    -- of which at this library
    overdue INTEGER,
    pass INTEGER NOT NULL DEFAULT 0  -- the full pass that last saw the row
);
CREATE TABLE IF NOT EXISTS tokens (name TEXT PRIMARY KEY, digest TEXT NOT NULL UNIQUE,
                                   created_at TEXT NOT NULL);
"""


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class Entry:
    seq: int
    kind: str
    path: str
    body: dict[str, Any]
    idem_key: str
    origin: str
    occurred_at: str | None
    attempted: bool
    verify_only: bool
    member: str | None
    item: str | None
    answer: dict[str, Any]
    created_at: str
    tries: int


class Store:
    """Thread-safe (one connection, one lock); every commit is fsync'd."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.RLock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")  # fsync before a commit returns
        self._db.execute("PRAGMA busy_timeout=5000")
        self._db.executescript(SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextmanager
    def tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def query(self, sql: str, args: tuple = ()) -> list[sqlite3.Row]:
        with self._lock:
            return self._db.execute(sql, args).fetchall()

    # -- queue ---------------------------------------------------------------------
    def enqueue(self, *, kind: str, path: str, body: dict[str, Any], idem_key: str,
                origin: str, occurred_at: str | None, attempted: bool, member: str | None, item: str | None,
                answer: dict[str, Any], verify_only: bool = False) -> tuple[int, bool]:
        """Store a write durably. Returns (seq, new); an idem_key seen before is not stored
        twice (a desk resending, an adapter change fetched again after a crash)."""
        with self.tx() as db:
            row = db.execute("SELECT seq FROM queue WHERE idem_key = ?", (idem_key,)).fetchone()
            if row is not None:
                return row["seq"], False
            cur = db.execute(
                "INSERT INTO queue (kind, path, body, idem_key, origin, occurred_at, attempted,"
                " verify_only, member, item, answer, created_at) VALUES "
                "(?,?,?,?,?,?,?,?,?,?,?,?)",
                (kind, path, json.dumps(body, ensure_ascii=False), idem_key, origin, occurred_at,
                 int(attempted), int(verify_only), member, item,
                 "{}", now_iso()))
            seq = int(cur.lastrowid)
            if kind == "checkout" and member and not verify_only:
                db.execute("INSERT INTO offline_loans (seq, member, item) VALUES (?, ?, ?)",
                           (seq, member, item))
            elif kind == "checkin" and item:
                db.execute("DELETE FROM offline_loans WHERE item = ?", (item,))
            db.execute("UPDATE queue SET answer = ? WHERE seq = ?",
                       (json.dumps(answer | {"queued": seq}, ensure_ascii=False), seq))
            return seq, True

    def by_key(self, idem_key: str) -> sqlite3.Row | None:
        rows = self.query("SELECT * FROM queue WHERE idem_key = ?", (idem_key,))
        return rows[0] if rows else None

    def head(self) -> Entry | None:
        entries = self.heads(1)
        return entries[0] if entries else None

    def heads(self, limit: int) -> list[Entry]:
        """The oldest `limit` queued writes, in order."""
        rows = self.query("SELECT * FROM queue WHERE state = 'queued' ORDER BY seq LIMIT ?",
                          (limit,))
        return [Entry(r["seq"], r["kind"], r["path"], json.loads(r["body"]), r["idem_key"],
                     r["origin"], r["occurred_at"], bool(r["attempted"]), bool(r["verify_only"]), r["member"],
                     r["item"], json.loads(r["answer"]), r["created_at"], r["tries"])
                for r in rows]

    @contextmanager
    def relaxed(self) -> Iterator[sqlite3.Connection]:
        """A transaction committed without waiting for fsync (WAL, synchronous=NORMAL):
        for state that is safe to lose in a power cut."""
        with self._lock:
            self._db.execute("PRAGMA synchronous=NORMAL")
            try:
                with self.tx() as db:
                    yield db
            finally:
                self._db.execute("PRAGMA synchronous=FULL")

    def finish(self, done: list[tuple[int, str, int, Any]]) -> None:
        """Mark writes answered: (seq, state, status, result). Not fsync'd: if a power cut
        loses this mark, the write is sent again and the hub recognises it (client_txn_id
        / Idempotency-Key)."""
        with self.relaxed() as db:
            at = now_iso()
            db.executemany(
                "UPDATE queue SET state = ?, status = ?, result = ?, done_at = ?, "
                "tries = tries + 1 WHERE seq = ?",
                [(state, status, json.dumps(result, ensure_ascii=False), at, seq)
                 for seq, state, status, result in done])
            db.executemany("DELETE FROM offline_loans WHERE seq = ?", [(seq,) for seq, *_ in done])

    def tried(self, seq: int) -> None:
        with self.tx() as db:
            db.execute("UPDATE queue SET tries = tries + 1 WHERE seq = ?", (seq,))

    def depth(self) -> int:
        return self.query("SELECT count(*) FROM queue WHERE state = 'queued'")[0][0]

    def queued_loans(self, member: str) -> int:
        """Offline loans of the member still waiting for the hub (not returned since)."""
        return self.query("SELECT count(*) FROM offline_loans WHERE member = ?", (member,))[0][0]

    def oldest(self) -> str | None:
        rows = self.query("SELECT min(created_at) FROM queue WHERE state = 'queued'")
        return rows[0][0]

    def open_exceptions(self) -> list[dict[str, Any]]:
        rows = self.query("SELECT seq, kind, state, item, member, status, result, created_at,"
                          " done_at FROM queue WHERE state IN ('exception', 'failed')"
                          " AND resolved_at IS NULL ORDER BY seq")
        return [dict(r) | {"result": json.loads(r["result"]) if r["result"] else None}
                for r in rows]

    def resolve(self, seq: int) -> bool:
        with self.tx() as db:
            cur = db.execute("UPDATE queue SET resolved_at = ? WHERE seq = ? AND state IN "
                             "('exception', 'failed') AND resolved_at IS NULL", (now_iso(), seq))
            return cur.rowcount == 1

    # -- meta and cursors ------------------------------------------------------------
    def get_meta(self, key: str, default: str | None = None) -> str | None:
        rows = self.query("SELECT value FROM meta WHERE key = ?", (key,))
        return rows[0][0] if rows else default

    def set_meta(self, **values: str) -> None:
        with self.tx() as db:
            db.executemany("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO "
                           "UPDATE SET value = excluded.value", list(values.items()))

    def cursor(self, name: str) -> int:
        rows = self.query("SELECT position FROM cursors WHERE name = ?", (name,))
        return rows[0][0] if rows else 0

    def set_cursor(self, name: str, position: int) -> None:
        with self.tx() as db:
            db.execute("INSERT INTO cursors (name, position) VALUES (?, ?) ON CONFLICT(name) "
                       "DO UPDATE SET position = excluded.position", (name, position))

    # -- tokens ----------------------------------------------------------------------
    def add_token(self, name: str, token: str) -> None:
        with self.tx() as db:
            db.execute("INSERT INTO tokens (name, digest, created_at) VALUES (?, ?, ?) "
                       "ON CONFLICT(name) DO UPDATE SET digest = excluded.digest",
                       (name, token_digest(token), now_iso()))

    def remove_token(self, name: str) -> bool:
        with self.tx() as db:
            return db.execute("DELETE FROM tokens WHERE name = ?", (name,)).rowcount == 1

    def token_names(self) -> dict[str, str]:
        """digest -> name"""
        return {r["digest"]: r["name"] for r in self.query("SELECT name, digest FROM tokens")}
