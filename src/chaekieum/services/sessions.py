"""Web sessions tracked server-side (staff console and desk, member portal).

The signed cookie carries only a random token; the database keeps its SHA-256 with the
account, when the session began and when it was last used. A request is signed in only
while that row exists, was used within the idle limit and is younger than the absolute
limit. Logout deletes the row; a password change, an admin disabling a staff account and
a member's withdrawal delete every row of the account (`end_all`, in the same
transaction as the change), so a copied or replayed cookie stops working at once.
See docs/web.md for why this and not a per-account session version.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from sqlalchemy import Connection, delete, insert, select, update

from ..store.db import Database
from ..store.tables import web_sessions
from .context import Clock
from .tx import transactional

STAFF = "staff"
MEMBER = "member"
DEFAULT_IDLE = timedelta(minutes=30)
MAX_AGE = timedelta(hours=12)  # a desk shift, whatever the activity
TOUCH_EVERY = timedelta(seconds=60)  # seen_at is written at most once a minute


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def end_all(conn: Connection, kind: str, account: str) -> int:
    """End every session of an account (inside the caller's transaction)."""
    return conn.execute(delete(web_sessions).where(
        web_sessions.c.kind == kind, web_sessions.c.account == account)).rowcount


class WebSessions:
    def __init__(self, db: Database, clock: Clock, idle: timedelta = DEFAULT_IDLE,
                 max_age: timedelta = MAX_AGE):
        self.db = db
        self.clock = clock
        self.idle = idle
        self.max_age = max_age

    @transactional
    def start(self, conn: Connection, kind: str, account: str) -> str:
        """A new session; returns the token for the cookie. Expired rows are swept here
        (an index-less scan of a small table, once per sign-in)."""
        now = self.clock.now()
        conn.execute(delete(web_sessions).where(
            (web_sessions.c.seen_at < now - self.idle)
            | (web_sessions.c.created_at < now - self.max_age)))
        token = secrets.token_urlsafe(32)
        conn.execute(insert(web_sessions).values(
            token_hash=_digest(token), kind=kind, account=account, created_at=now,
            seen_at=now))
        return token

    def resume(self, token: str | None, kind: str) -> str | None:
        """The account a live session of this kind belongs to, else None. Marks it used."""
        if not token:
            return None
        digest = _digest(token)
        now = self.clock.now()
        with self.db.read() as conn:
            row = conn.execute(select(web_sessions).where(
                web_sessions.c.token_hash == digest)).first()
        if row is None or row.kind != kind:
            return None
        if row.seen_at < now - self.idle or row.created_at < now - self.max_age:
            self.end(token)
            return None
        if now - row.seen_at >= TOUCH_EVERY:
            with self.db.write() as conn:
                conn.execute(update(web_sessions).where(web_sessions.c.token_hash == digest)
                             .values(seen_at=now))
        return row.account

    def end(self, token: str | None) -> None:
        if token:
            with self.db.write() as conn:
                conn.execute(delete(web_sessions).where(
                    web_sessions.c.token_hash == _digest(token)))
