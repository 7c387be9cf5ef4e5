"""Who is acting, through which channel, and what time it is."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from ..domain.errors import Code, DomainError

SEOUL = ZoneInfo("Asia/Seoul")


class Role:
    NATIONAL_ADMIN = "national_admin"
    REGIONAL_ADMIN = "regional_admin"
    LIBRARIAN = "librarian"  # staff account of one library
    LIBRARY_SYSTEM = "library"  # a library's API key (its ILS, homepage, app)
    TERMINAL = "terminal"  # a SIP2 kiosk / RFID pad / book drop
    MEMBER = "member"
    SYSTEM = "system"  # CLI, migrations, demo loader


STAFF_ROLES = {Role.NATIONAL_ADMIN, Role.REGIONAL_ADMIN, Role.LIBRARIAN}


@dataclass(frozen=True)
class Actor:
    role: str
    ident: str  # e.g. "key:ab12cd", "staff:kim", "sip2:kiosk-1"
    channel: str  # api | desk | sip2 | portal | cli | connector
    library_code: str | None = None  # the library this actor acts for
    region_code: str | None = None  # for regional admins
    environment: str = "live"

    @property
    def label(self) -> str:
        return self.ident

    def require_library(self) -> str:
        """The library this actor lends and returns for; admins must name one."""
        if not self.library_code:
            raise DomainError(Code.FORBIDDEN, problem="a library must act for circulation")
        return self.library_code

    def require_role(self, *roles: str) -> None:
        if self.role not in roles and self.role != Role.SYSTEM:
            raise DomainError(Code.FORBIDDEN, role=self.role, needs=list(roles))

    def acting_for(self, library_code: str) -> Actor:
        """An admin acting at one library (e.g. a national admin at a desk)."""
        return Actor(self.role, self.ident, self.channel, library_code, self.region_code,
                     self.environment)


SYSTEM = Actor(Role.SYSTEM, "system", "cli")


class Clock:
    """Wall clock; timestamps are naive UTC, business dates are Seoul dates."""

    def now(self) -> datetime:
        return datetime.now(UTC).replace(tzinfo=None)

    def today(self) -> date:
        return local_date(self.now())


class FixedClock(Clock):
    """A clock tests (and the demo loader) can set and move."""

    def __init__(self, at: datetime):
        self._at = at

    def now(self) -> datetime:
        return self._at

    def advance(self, **delta: float) -> None:
        self._at += timedelta(**delta)

    def set(self, at: datetime) -> None:
        self._at = at


def local_date(utc_naive: datetime) -> date:
    return utc_naive.replace(tzinfo=UTC).astimezone(SEOUL).date()


def to_utc_naive(moment: datetime) -> datetime:
    """Accept an aware or naive (assumed Seoul) datetime from a client."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=SEOUL)
    return moment.astimezone(UTC).replace(tzinfo=None)
