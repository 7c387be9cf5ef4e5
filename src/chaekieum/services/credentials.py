"""Credentials: library/regional/national API keys, staff accounts, SIP2 terminals.

Secrets are stored as argon2 hashes. Verifying argon2 on every API request would only
burn CPU (and a burst of requests with a new key would verify it once each), so a
verified key is remembered in memory (by a SHA-256 of the key) for an hour, one
verification at a time per key. Revocation is checked on every request against a set of
revoked key ids that each process re-reads every few seconds: a revoked key stops at
once where it was revoked and within REVOKED_REFRESH seconds everywhere else.
"""

from __future__ import annotations

import functools
import hashlib
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Connection, insert, select, update
from sqlalchemy.exc import IntegrityError

from ..domain.errors import Code, DomainError
from ..domain.sandbox import ENVIRONMENTS, LIVE_ENVIRONMENT, SANDBOX_ENVIRONMENT
from ..store.db import Database
from ..store.tables import (
    api_keys,
    libraries,
    regions,
    sip2_terminals,
    staff_accounts,
    vendors,
)
from . import audit, sessions, throttle
from .context import CONSOLE_ROLES, Actor, Clock, Role
from .tx import transactional

KEY_PREFIX = "ck"
KEY_CACHE_SECONDS = 3600.0
REVOKED_REFRESH = 5.0
TERMINAL_MAX_FAILURES = throttle.TERMINAL.per_account  # wrong kiosk passwords in the window
TERMINAL_LOCKOUT = timedelta(minutes=30)
ENCODINGS = {"utf-8", "euc-kr", "cp949", "cp850"}

_hasher = PasswordHasher()
SYSTEM_ACTOR = Actor(Role.SYSTEM, "system:login", "auth")


def hash_secret(secret: str) -> str:
    return _hasher.hash(secret)


@functools.cache
def dummy_hash() -> str:
    """Checked against when there is no account, so that costs what a real check does."""
    return hash_secret(secrets.token_urlsafe(16))


def verify_secret(hash_: str, secret: str) -> bool:
    try:
        return _hasher.verify(hash_, secret)
    except (VerificationError, InvalidHashError):
        return False


class RevocationSet:
    """Revoked identifiers (API key ids, kiosk logins), re-read from the database at most
    every REVOKED_REFRESH seconds; `expire()` makes the next look-up re-read at once."""

    def __init__(self, db: Database, column):  # noqa: ANN001 - an identifier column
        self.db = db
        self.query = select(column).where(column.table.c.revoked_at.is_not(None))
        self._expires, self._ids = 0.0, frozenset()

    def known(self, ident: str) -> bool | None:
        """Whether `ident` is revoked, or None when the set must be re-read first."""
        return ident in self._ids if self._expires > time.monotonic() else None

    def __contains__(self, ident: str) -> bool:
        answer = self.known(ident)
        if answer is None:
            with self.db.read() as conn:
                self._ids = frozenset(conn.scalars(self.query))
            self._expires = time.monotonic() + REVOKED_REFRESH
            answer = ident in self._ids
        return answer

    def expire(self) -> None:
        self._expires = 0.0


@dataclass(frozen=True)
class ApiPrincipal:
    key_id: str
    scope: str  # library | region | national | vendor
    scope_code: str
    environment: str

    def actor(self) -> Actor:
        """The key's actor; its channel is always "api" (a property of the credential)."""
        if self.scope == "library":
            return Actor(Role.LIBRARY_SYSTEM, f"key:{self.key_id}", "api", self.scope_code,
                         environment=self.environment)
        if self.scope == "vendor":
            return Actor(Role.VENDOR, f"key:{self.key_id}", "api",
                         environment=self.environment, vendor=self.scope_code)
        role = Role.NATIONAL_ADMIN if self.scope == "national" else Role.REGIONAL_ADMIN
        region = self.scope_code if self.scope == "region" else None
        return Actor(role, f"key:{self.key_id}", "api", None, region, self.environment)


class Credentials:
    def __init__(self, db: Database, clock: Clock):
        self.db = db
        self.clock = clock
        self._cache: dict[str, tuple[float, ApiPrincipal]] = {}
        self._lock = threading.Lock()
        self._gates = [threading.Lock() for _ in range(64)]  # bounded, striped by key
        self._revoked_keys = RevocationSet(db, api_keys.c.key_id)
        self._revoked_terminals = RevocationSet(db, sip2_terminals.c.login)

    # -- API keys ------------------------------------------------------------------
    @transactional
    def create_api_key(self, conn: Connection, actor: Actor, scope: str, scope_code: str = "",
                       label: str = "", environment: str = "live",
                       secret: str | None = None) -> dict[str, Any]:
        """Issue a key; the plain key is returned once and never stored."""
        self._check_scope(conn, actor, scope, scope_code)
        if environment not in ENVIRONMENTS:
            raise DomainError(Code.VALIDATION_ERROR, field="environment")
        key_id = secrets.token_hex(6)
        secret = secret or secrets.token_urlsafe(32)
        at = self.clock.now()
        conn.execute(insert(api_keys).values(
            key_id=key_id, secret_hash=hash_secret(secret), scope=scope,
            scope_code=scope_code, environment=environment, label=label, created_at=at))
        audit.record(conn, actor, "credential.api_key.create", "api_key", key_id, at,
                     {"scope": scope, "scope_code": scope_code, "label": label,
                      "environment": environment},
                     scope_code if scope == "library" else None)
        return {"key_id": key_id, "api_key": f"{KEY_PREFIX}_{key_id}_{secret}", "scope": scope,
                "scope_code": scope_code, "environment": environment, "label": label}

    def _check_scope(self, conn: Connection, actor: Actor, scope: str, code: str) -> None:
        if scope == "national":
            actor.require_role(Role.NATIONAL_ADMIN)
        elif scope == "region":
            actor.require_role(Role.NATIONAL_ADMIN)
            if not conn.scalar(select(regions.c.code).where(regions.c.code == code)):
                raise DomainError(Code.REGION_UNKNOWN, region=code)
        elif scope == "library":
            region = conn.scalar(select(libraries.c.region_code).where(libraries.c.code == code))
            if region is None:
                raise DomainError(Code.LIBRARY_UNKNOWN, library_code=code)
            self.require_library_admin(actor, code, region)
        elif scope == "vendor":  # a vendor's staff and keys: issued by 국중
            actor.require_role(Role.NATIONAL_ADMIN)
            if not conn.scalar(select(vendors.c.brn).where(vendors.c.brn == code)):
                raise DomainError(Code.VENDOR_UNKNOWN, brn=code)
        else:
            raise DomainError(Code.VALIDATION_ERROR, field="scope")

    @staticmethod
    def require_library_admin(actor: Actor, library_code: str, region: str) -> None:
        """National admins everywhere; regional admins in their region; nobody else."""
        if actor.role in (Role.SYSTEM, Role.NATIONAL_ADMIN):
            return
        if actor.role == Role.REGIONAL_ADMIN and actor.region_code == region:
            return
        raise DomainError(Code.FORBIDDEN, library_code=library_code)

    def verify_api_key(self, token: str) -> ApiPrincipal:
        digest = hashlib.sha256(token.encode()).hexdigest()
        principal = self._cached(digest)
        if principal is None:
            # concurrent requests with a new key wait for one verification
            with self._gates[int(digest[:8], 16) % len(self._gates)]:
                principal = self._cached(digest) or self._verify_key(token, digest)
        if principal.key_id in self._revoked_keys:
            raise DomainError(Code.AUTH_INVALID)
        return principal

    def verified_without_io(self, token: str) -> ApiPrincipal | None:
        """The principal if it can be told from memory alone (a verified key and a fresh
        revocation set), else None: callers on an event loop then verify in a thread."""
        principal = self._cached(hashlib.sha256(token.encode()).hexdigest())
        revoked = None if principal is None else self._revoked_keys.known(principal.key_id)
        if revoked:
            raise DomainError(Code.AUTH_INVALID)
        return None if revoked is None else principal

    def _cached(self, digest: str) -> ApiPrincipal | None:
        hit = self._cache.get(digest)
        return hit[1] if hit and hit[0] > time.monotonic() else None

    def _verify_key(self, token: str, digest: str) -> ApiPrincipal:
        parts = token.split("_", 2)
        if len(parts) != 3 or parts[0] != KEY_PREFIX:
            raise DomainError(Code.AUTH_INVALID)
        with self.db.read() as conn:
            row = conn.execute(select(api_keys).where(api_keys.c.key_id == parts[1])).first()
        # an unknown key id costs one argon2 check too: the answer and its timing are
        # those of a known id with a wrong secret
        ok = verify_secret(row.secret_hash if row is not None else dummy_hash(), parts[2])
        if row is None or row.revoked_at is not None or not ok:
            raise DomainError(Code.AUTH_INVALID)
        principal = ApiPrincipal(row.key_id, row.scope, row.scope_code, row.environment)
        with self._lock:
            self._cache[digest] = (time.monotonic() + KEY_CACHE_SECONDS, principal)
        return principal

    @transactional
    def revoke_api_key(self, conn: Connection, actor: Actor, key_id: str) -> dict[str, Any]:
        row = conn.execute(select(api_keys).where(api_keys.c.key_id == key_id)).first()
        if row is None:
            raise DomainError(Code.NOT_FOUND, key_id=key_id)
        if row.scope == "library":
            region = conn.scalar(select(libraries.c.region_code)
                                 .where(libraries.c.code == row.scope_code))
            self.require_library_admin(actor, row.scope_code, region)
        else:
            actor.require_role(Role.NATIONAL_ADMIN)
        at = self.clock.now()
        conn.execute(update(api_keys).where(api_keys.c.id == row.id).values(revoked_at=at))
        audit.record(conn, actor, "credential.api_key.revoke", "api_key", key_id, at, {})
        with self._lock:
            self._cache = {k: v for k, v in self._cache.items() if v[1].key_id != key_id}
        self._revoked_keys.expire()
        return {"key_id": key_id, "revoked": True}

    def _check_listing(self, conn: Connection, actor: Actor, scope: str, code: str) -> None:
        """Who may list credentials: a library system its own library's; admins within
        their scope (as for issuing them)."""
        if not (scope == "library" and actor.role == Role.LIBRARY_SYSTEM
                and actor.library_code == code):
            self._check_scope(conn, actor, scope, code)

    def list_api_keys(self, actor: Actor, scope: str, scope_code: str) -> list[dict[str, Any]]:
        with self.db.read() as conn:
            self._check_listing(conn, actor, scope, scope_code)
            rows = conn.execute(select(api_keys).where(
                api_keys.c.scope == scope, api_keys.c.scope_code == scope_code)
                .order_by(api_keys.c.id)).all()
        return [{"key_id": r.key_id, "label": r.label, "environment": r.environment,
                 "created_at": r.created_at.isoformat() + "Z",
                 "revoked": r.revoked_at is not None} for r in rows]

    # -- staff accounts --------------------------------------------------------------
    @transactional
    def create_staff(self, conn: Connection, actor: Actor, username: str, password: str,
                     display_name: str, role: str, scope_code: str = "") -> dict[str, Any]:
        if role not in CONSOLE_ROLES:
            raise DomainError(Code.VALIDATION_ERROR, field="role")
        if len(password) < 8:
            raise DomainError(Code.VALIDATION_ERROR, field="password", problem="min 8 characters")
        if role == Role.LIBRARIAN:
            self._check_scope(conn, actor, "library", scope_code)
        elif role == Role.VENDOR:
            self._check_scope(conn, actor, "vendor", scope_code)
        else:
            self._check_scope(conn, actor, "national" if role == Role.NATIONAL_ADMIN else "region",
                              scope_code)
        at = self.clock.now()
        try:
            with conn.begin_nested():
                conn.execute(insert(staff_accounts).values(
                    username=username, password_hash=hash_secret(password),
                    display_name=display_name, role=role, scope_code=scope_code, created_at=at))
        except IntegrityError:
            raise DomainError(Code.VALIDATION_ERROR, field="username", problem="taken") from None
        audit.record(conn, actor, "credential.staff.create", "staff", username, at,
                     {"role": role, "scope": scope_code},
                     scope_code if role == Role.LIBRARIAN else None)
        return {"username": username, "role": role, "scope_code": scope_code}

    def staff_login(self, username: str, password: str, source: str,
                    channel: str = "desk") -> Actor:
        """AUTH_INVALID for a wrong password, an unknown or a disabled account alike (same
        status, same message, one argon2 check each); RATE_LIMITED once `source` spent
        its budget for this username (or the username its larger budget)."""
        actor = self._staff_check(username, password, source, channel)
        if actor is None:
            raise DomainError(Code.AUTH_INVALID)
        return actor

    @transactional
    def _staff_check(self, conn: Connection, username: str, password: str, source: str,
                     channel: str) -> Actor | None:
        now = self.clock.now()
        throttle.check(conn, throttle.STAFF, username, source, now)
        row = conn.execute(select(staff_accounts).where(
            staff_accounts.c.username == username)).first()
        ok = verify_secret(row.password_hash if row is not None else dummy_hash(), password)
        if row is None or row.disabled or not ok:
            throttle.failed(conn, throttle.STAFF, username, source, now)
            return None  # the failure is committed; the caller raises
        throttle.succeeded(conn, throttle.STAFF, username, source)
        return staff_actor(row, channel)

    @transactional
    def set_staff_disabled(self, conn: Connection, actor: Actor, username: str,
                           disabled: bool = True) -> dict[str, Any]:
        """Disable (or re-enable) a staff account: librarians by their library's admins,
        regional admins by national admins, never oneself. Disabling ends the account's
        web sessions in the same transaction."""
        row = self._staff_row_in_scope(conn, actor, username)
        if disabled and actor.ident == f"staff:{username}":
            raise DomainError(Code.FORBIDDEN, problem="an account cannot disable itself")
        at = self.clock.now()
        conn.execute(update(staff_accounts).where(staff_accounts.c.id == row.id)
                     .values(disabled=disabled))
        ended = sessions.end_all(conn, sessions.STAFF, username) if disabled else 0
        audit.record(conn, actor, "credential.staff.disable" if disabled
                     else "credential.staff.enable", "staff", username, at,
                     {"sessions_ended": ended},
                     row.scope_code if row.role == Role.LIBRARIAN else None)
        return {"username": username, "disabled": disabled, "sessions_ended": ended}

    def _staff_row_in_scope(self, conn: Connection, actor: Actor, username: str):  # noqa: ANN202
        row = conn.execute(select(staff_accounts).where(
            staff_accounts.c.username == username).with_for_update()).first()
        if row is None:
            raise DomainError(Code.NOT_FOUND, username=username)
        if row.role == Role.LIBRARIAN:
            self._check_scope(conn, actor, "library", row.scope_code)
        else:
            actor.require_role(Role.NATIONAL_ADMIN)
        return row

    def change_staff_password(self, actor: Actor, current: str, new: str,
                              source: str) -> None:
        """A signed-in staff member changes their own password. The current password is
        checked like a sign-in (throttled per account and source); every session of the
        account ends (the caller starts a new one for the browser that asked)."""
        if len(new) < 8:
            raise DomainError(Code.VALIDATION_ERROR, field="password", problem="min 8 characters")
        username = actor.ident.removeprefix("staff:")
        self.staff_login(username, current, source)
        self._set_staff_password(actor, username, new)

    @transactional
    def _set_staff_password(self, conn: Connection, actor: Actor, username: str,
                            new: str) -> None:
        row = conn.execute(select(staff_accounts).where(
            staff_accounts.c.username == username).with_for_update()).first()
        at = self.clock.now()
        conn.execute(update(staff_accounts).where(staff_accounts.c.id == row.id)
                     .values(password_hash=hash_secret(new)))
        ended = sessions.end_all(conn, sessions.STAFF, username)
        audit.record(conn, actor, "credential.staff.password", "staff", username, at,
                     {"sessions_ended": ended},
                     row.scope_code if row.role == Role.LIBRARIAN else None)

    def list_staff(self, actor: Actor, library_code: str) -> list[dict[str, Any]]:
        """A library's staff accounts, for its admins (as its other credentials)."""
        return self._list_staff(actor, "library", Role.LIBRARIAN, library_code)

    def list_vendor_staff(self, actor: Actor, brn: str) -> list[dict[str, Any]]:
        """A vendor's staff accounts, for national admins (who issue them)."""
        return self._list_staff(actor, "vendor", Role.VENDOR, brn)

    def _list_staff(self, actor: Actor, scope: str, role: str,
                    code: str) -> list[dict[str, Any]]:
        with self.db.read() as conn:
            self._check_scope(conn, actor, scope, code)
            rows = conn.execute(select(staff_accounts).where(
                staff_accounts.c.role == role, staff_accounts.c.scope_code == code)
                .order_by(staff_accounts.c.username)).all()
        return [{"username": r.username, "display_name": r.display_name,
                 "disabled": r.disabled} for r in rows]

    def staff_actor(self, username: str, channel: str = "desk") -> Actor | None:
        """Rebuild a signed-in staff member's actor (e.g. from a session cookie)."""
        with self.db.read() as conn:
            row = conn.execute(select(staff_accounts).where(
                staff_accounts.c.username == username)).first()
        if row is None or row.disabled:
            return None
        return staff_actor(row, channel)

    # -- SIP2 terminals --------------------------------------------------------------
    @transactional
    def create_terminal(self, conn: Connection, actor: Actor, library_code: str, login: str,
                        password: str, label: str = "", encoding: str = "utf-8",
                        terminator: str = "CR", error_detection: bool = True,
                        environment: str = LIVE_ENVIRONMENT) -> dict[str, Any]:
        """`environment` "sandbox": the kiosk reaches only the library's sandbox data,
        forever (domain/sandbox.py)."""
        self._check_scope(conn, actor, "library", library_code)
        if environment not in ENVIRONMENTS:
            raise DomainError(Code.VALIDATION_ERROR, field="environment")
        if actor.role == Role.LIBRARIAN and actor.library_code != library_code:
            raise DomainError(Code.FORBIDDEN)
        if encoding.lower() not in ENCODINGS:
            raise DomainError(Code.VALIDATION_ERROR, field="encoding", allowed=sorted(ENCODINGS))
        if terminator not in ("CR", "CRLF"):
            raise DomainError(Code.VALIDATION_ERROR, field="terminator", allowed=["CR", "CRLF"])
        if not login or "|" in login or len(login) > 60 or not password:
            raise DomainError(Code.VALIDATION_ERROR, field="login")
        at = self.clock.now()
        try:
            with conn.begin_nested():
                conn.execute(insert(sip2_terminals).values(
                    login=login, password_hash=hash_secret(password), library_code=library_code,
                    label=label, encoding=encoding.lower(), terminator=terminator,
                    error_detection=error_detection, environment=environment,
                    created_at=at))
        except IntegrityError:
            raise DomainError(Code.VALIDATION_ERROR, field="login", problem="taken") from None
        audit.record(conn, actor, "credential.terminal.create", "terminal", login, at,
                     {"encoding": encoding, "environment": environment}, library_code)
        return {"login": login, "library_code": library_code, "label": label,
                "encoding": encoding.lower(), "terminator": terminator,
                "error_detection": error_detection, "environment": environment}

    @transactional
    def issue_sandbox(self, conn: Connection, actor: Actor, library_code: str,
                      label: str = "") -> dict[str, Any]:
        """A library's sandbox-only credentials: an API key and a SIP2 kiosk login that
        reach only its sandbox data, whatever its stage (domain/sandbox.py). Issued at
        registration and for each connector package; the secrets are returned once."""
        label = label or "시험용(샌드박스) 인증정보"
        key = self.create_api_key(actor, "library", library_code, label=label,
                                  environment=SANDBOX_ENVIRONMENT, conn=conn)
        login, password = f"sandbox-{library_code}-{secrets.token_hex(3)}", \
            secrets.token_urlsafe(18)
        terminal = self.create_terminal(actor, library_code, login, password, label=label,
                                        environment=SANDBOX_ENVIRONMENT, conn=conn)
        return {"environment": SANDBOX_ENVIRONMENT, "api_key": key["api_key"],
                "key_id": key["key_id"],
                "terminal": {"login": login, "password": password,
                             "encoding": terminal["encoding"]}}

    def verify_terminal(self, login: str, password: str, source: str,
                        cached: bool = False) -> dict[str, Any] | None:
        """A kiosk login (93). After TERMINAL_MAX_FAILURES wrong passwords within the
        window, from any connection or address, the account is locked for
        TERMINAL_LOCKOUT (audited; an admin can unlock it sooner): while locked even the
        right password is refused. `cached`: the caller already verified this password
        recently (its login cache), so only the account's state is checked."""
        info = self._terminal_check(login, password, source, cached)
        return info or None

    @transactional
    def _terminal_check(self, conn: Connection, login: str, password: str, source: str,
                        cached: bool) -> dict[str, Any]:
        row = conn.execute(select(sip2_terminals).where(
            sip2_terminals.c.login == login)).first()
        now = self.clock.now()
        if row is None or row.revoked_at is not None:
            if not cached:
                verify_secret(dummy_hash(), password)
            return {}
        if row.locked_until is not None and row.locked_until > now:
            return {}
        if not cached and not verify_secret(row.password_hash, password):
            failures = throttle.failed(conn, throttle.TERMINAL, login, source, now)
            if failures >= TERMINAL_MAX_FAILURES:
                until = now + TERMINAL_LOCKOUT
                conn.execute(update(sip2_terminals).where(sip2_terminals.c.id == row.id)
                             .values(locked_until=until))
                throttle.clear_account(conn, throttle.TERMINAL, login)
                audit.record(conn, SYSTEM_ACTOR, "credential.terminal.locked", "terminal",
                             login, now, {"failed_logins": failures, "source": source[:64],
                                          "until": until.isoformat() + "Z"},
                             row.library_code)
            return {}
        if not cached:
            throttle.succeeded(conn, throttle.TERMINAL, login, source)
        return {"login": row.login, "library_code": row.library_code, "encoding": row.encoding,
                "terminator": row.terminator, "error_detection": row.error_detection,
                "environment": row.environment}

    @transactional
    def unlock_terminal(self, conn: Connection, actor: Actor, library_code: str,
                        login: str) -> dict[str, Any]:
        """An admin of the kiosk's library lifts its lock (and forgets its failures)."""
        row = conn.execute(select(sip2_terminals).where(sip2_terminals.c.login == login)
                           .with_for_update()).first()
        if row is None or row.library_code != library_code:
            raise DomainError(Code.NOT_FOUND, login=login)
        self._check_scope(conn, actor, "library", row.library_code)
        at = self.clock.now()
        conn.execute(update(sip2_terminals).where(sip2_terminals.c.id == row.id)
                     .values(locked_until=None))
        throttle.clear_account(conn, throttle.TERMINAL, login)
        audit.record(conn, actor, "credential.terminal.unlock", "terminal", login, at,
                     {"was_locked": bool(row.locked_until and row.locked_until > at)},
                     row.library_code)
        return {"login": login, "locked": False}

    def terminal_revoked(self, login: str) -> bool:
        """For open SIP2 sessions: a revoked kiosk is cut off within REVOKED_REFRESH s
        (at once in the process that revoked it)."""
        return login in self._revoked_terminals

    def list_terminals(self, actor: Actor, library_code: str) -> list[dict[str, Any]]:
        now = self.clock.now()
        with self.db.read() as conn:
            self._check_listing(conn, actor, "library", library_code)
            rows = conn.execute(select(sip2_terminals).where(
                sip2_terminals.c.library_code == library_code).order_by(sip2_terminals.c.id)).all()
        return [{"login": r.login, "label": r.label, "encoding": r.encoding,
                 "terminator": r.terminator, "error_detection": r.error_detection,
                 "environment": r.environment, "revoked": r.revoked_at is not None,
                 "locked": bool(r.locked_until and r.locked_until > now)} for r in rows]

    @transactional
    def revoke_terminal(self, conn: Connection, actor: Actor, login: str) -> dict[str, Any]:
        row = conn.execute(select(sip2_terminals).where(sip2_terminals.c.login == login)).first()
        if row is None:
            raise DomainError(Code.NOT_FOUND, login=login)
        self._check_scope(conn, actor, "library", row.library_code)
        at = self.clock.now()
        conn.execute(update(sip2_terminals).where(sip2_terminals.c.id == row.id)
                     .values(revoked_at=at))
        audit.record(conn, actor, "credential.terminal.revoke", "terminal", login, at, {},
                     row.library_code)
        self._revoked_terminals.expire()
        return {"login": login, "revoked": True}


def staff_actor(row, channel: str) -> Actor:  # noqa: ANN001
    if row.role == Role.VENDOR:
        return Actor(Role.VENDOR, f"staff:{row.username}", channel, vendor=row.scope_code)
    if row.role == Role.LIBRARIAN:
        return Actor(Role.LIBRARIAN, f"staff:{row.username}", channel, row.scope_code)
    if row.role == Role.REGIONAL_ADMIN:
        return Actor(Role.REGIONAL_ADMIN, f"staff:{row.username}", channel, None, row.scope_code)
    return Actor(Role.NATIONAL_ADMIN, f"staff:{row.username}", channel)
