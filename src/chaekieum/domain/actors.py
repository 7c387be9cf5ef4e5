"""Who is acting and through which channel: plain values every adapter shares (the hub's
services, and the SIP2 handlers wherever they run, at the hub or at a library connector)."""

from __future__ import annotations

from dataclasses import dataclass
from zoneinfo import ZoneInfo

from .errors import Code, DomainError

SEOUL = ZoneInfo("Asia/Seoul")


class Role:
    NATIONAL_ADMIN = "national_admin"
    REGIONAL_ADMIN = "regional_admin"
    LIBRARIAN = "librarian"  # staff account of one library
    LIBRARY_SYSTEM = "library"  # a library's API key (its ILS, homepage, app)
    TERMINAL = "terminal"  # a SIP2 kiosk / RFID pad / book drop
    MEMBER = "member"
    VENDOR = "vendor"  # staff or API key of a vendor (사업자): onboarding of its libraries only
    SYSTEM = "system"  # CLI, migrations, demo loader


STAFF_ROLES = {Role.NATIONAL_ADMIN, Role.REGIONAL_ADMIN, Role.LIBRARIAN}
# Accounts that sign in at the console: staff, and vendors' staff (scope: the vendor's
# 사업자등록번호)
CONSOLE_ROLES = {*STAFF_ROLES, Role.VENDOR}


@dataclass(frozen=True)
class Actor:
    role: str
    ident: str  # e.g. "key:ab12cd", "staff:kim", "sip2:kiosk-1"
    channel: str  # api | desk | sip2 | portal | cli | connector
    library_code: str | None = None  # the library this actor acts for
    region_code: str | None = None  # for regional admins
    environment: str = "live"
    vendor: str | None = None  # for vendors: the 사업자등록번호 (10 digits)

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
                     self.environment, self.vendor)


SYSTEM = Actor(Role.SYSTEM, "system", "cli")
