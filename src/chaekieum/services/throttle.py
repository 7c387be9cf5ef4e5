"""Login throttling: failed sign-ins counted per account and per source, in a sliding
window, in the database (so every process and every connection sees the same counts).

This replaces a per-account lock: locking an account after five failures let anyone
who knew a username or member number lock its owner out. Here a source (a client
address, a kiosk) that keeps failing for one account is refused first (`per_pair`);
an account attacked from many sources is refused only after a much larger budget
(`per_account`); one source failing across many accounts is refused too (`per_source`).
Unknown and known accounts are counted alike, so a refusal tells nothing about whether
an account exists. A success clears that account's failures from that source only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, delete, func, insert, select

from ..domain.errors import Code, DomainError
from ..store.tables import login_failures

WINDOW = timedelta(minutes=15)


@dataclass(frozen=True)
class Budget:
    kind: str  # staff | member | terminal | patron
    per_pair: int  # failures of one account from one source
    per_account: int  # failures of one account from all sources
    per_source: int  # failures from one source over all accounts
    window: timedelta = WINDOW


STAFF = Budget("staff", per_pair=5, per_account=50, per_source=50)
MEMBER = Budget("member", per_pair=5, per_account=50, per_source=50)
# patron passwords (AD) checked at a kiosk: the source is the kiosk, never the portal's
PATRON_AT_KIOSK = Budget("patron", per_pair=5, per_account=20, per_source=30)
# online registration (온라인 회원가입): every attempt counts, refused or not. On the web
# the source is the client address and the account the library chosen; over the API the
# source is the homepage's or app's key (one source for all of its users) and the
# account its library.
SIGNUP = Budget("signup", per_pair=5, per_account=300, per_source=10,
                window=timedelta(hours=1))
SIGNUP_API = Budget("signup_api", per_pair=300, per_account=300, per_source=300,
                    window=timedelta(hours=1))
# starting an identity verification (a real provider charges for each): per client
# address (web) or key (API); the account is the provider
VERIFY_START = Budget("verify", per_pair=10, per_account=2000, per_source=20,
                      window=timedelta(hours=1))
# kiosk logins (93): after per_account failures from any connection the kiosk account is
# locked (sip2_terminals.locked_until, see Credentials.verify_terminal), not refused here
TERMINAL = Budget("terminal", per_pair=5, per_account=5, per_source=5)


def _count(conn: Connection, budget: Budget, since: datetime, **match: str) -> int:
    q = select(func.count()).select_from(login_failures).where(
        login_failures.c.kind == budget.kind, login_failures.c.at > since)
    for column, value in match.items():
        q = q.where(login_failures.c[column] == value)
    return conn.scalar(q) or 0


def check(conn: Connection, budget: Budget, account: str, source: str, now: datetime) -> None:
    """RATE_LIMITED when any of the three budgets is spent (checked before the secret)."""
    account, source = account[:64], source[:64]
    since = now - budget.window
    if (_count(conn, budget, since, account=account, source=source) >= budget.per_pair
            or _count(conn, budget, since, account=account) >= budget.per_account
            or _count(conn, budget, since, source=source) >= budget.per_source):
        raise DomainError(Code.RATE_LIMITED, retry_after=int(budget.window.total_seconds()))


def failed(conn: Connection, budget: Budget, account: str, source: str,
           now: datetime) -> int:
    """Record one failure; returns the account's failures in the window (all sources).
    Rows older than the window are pruned here, so the table stays small."""
    account, source = account[:64], source[:64]
    conn.execute(delete(login_failures).where(login_failures.c.at <= now - budget.window,
                                              login_failures.c.kind == budget.kind))
    conn.execute(insert(login_failures).values(kind=budget.kind, account=account,
                                               source=source, at=now))
    return _count(conn, budget, now - budget.window, account=account)


def attempt(conn: Connection, budget: Budget, account: str, source: str,
            now: datetime) -> None:
    """A budget that counts every attempt (not only failures): RATE_LIMITED when spent,
    else this attempt is counted."""
    check(conn, budget, account, source, now)
    failed(conn, budget, account, source, now)


def succeeded(conn: Connection, budget: Budget, account: str, source: str) -> None:
    conn.execute(delete(login_failures).where(
        login_failures.c.kind == budget.kind, login_failures.c.account == account[:64],
        login_failures.c.source == source[:64]))


def clear_account(conn: Connection, budget: Budget, account: str) -> None:
    """An admin unlock: forget every failure of the account."""
    conn.execute(delete(login_failures).where(
        login_failures.c.kind == budget.kind, login_failures.c.account == account[:64]))
