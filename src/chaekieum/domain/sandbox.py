"""What a library's credentials reach: real data, or only the library's sandbox.

Until pilot, a library's credentials reach only sandbox data (issue 11): the test members
and copies marked `sandbox_of` = its 도서관부호 (services/sandbox.py). Sandbox-only
credentials (issued at registration, environment "sandbox") stay sandbox-only forever.

THE RULE, by caller (the acting library's stage and the credential's environment):

| caller                                  | reach   | circulation                         |
|-----------------------------------------|---------|-------------------------------------|
| live credential, library pilot or live  | LIVE    | real and sandbox data (never mixed) |
| any credential, library registered,     | SANDBOX | its own sandbox members and copies  |
| building or final_test (before pilot)   |         |                                     |
| sandbox-only credential, pilot or live  | SANDBOX | its own sandbox members and copies  |
| any other stage (before registration,   | SANDBOX | none: LIBRARY_NOT_LIVE              |
| on hold, suspended, withdrawn)          |         |                                     |

In SANDBOX reach every operation that names a member or a copy (circulation, member
reads and changes, reservations, copy reads and pushes, transits, exceptions) is
refused with SANDBOX_ONLY for anything but the library's own sandbox rows, and so is
the registration of a real member. What is not a member's or a copy's (the library's
own change feed, audit trail, statistics, onboarding) is unaffected.
"""

from __future__ import annotations

from enum import StrEnum

from .errors import Code, DomainError
from .onboarding import CIRCULATING, Stage

SANDBOX_ENVIRONMENT = "sandbox"  # api_keys.environment / sip2_terminals.environment
LIVE_ENVIRONMENT = "live"
ENVIRONMENTS = (LIVE_ENVIRONMENT, SANDBOX_ENVIRONMENT)

# Stages with a 도서관부호 but before pilot: circulation runs, on sandbox data only.
SANDBOX_STAGES = frozenset({Stage.REGISTERED, Stage.BUILDING, Stage.TESTING})


class Reach(StrEnum):
    LIVE = "live"  # real data (and sandbox data: the sandbox API is open to every library)
    SANDBOX = "sandbox"  # only the acting library's own sandbox rows


def reach(environment: str, status: str) -> Reach:
    """What a credential of `environment` reaches at a library at stage `status`."""
    if environment != SANDBOX_ENVIRONMENT and status in CIRCULATING:
        return Reach.LIVE
    return Reach.SANDBOX


def may_circulate(status: str) -> bool:
    """Whether a library at `status` lends and returns at all (in its reach)."""
    return status in CIRCULATING or status in SANDBOX_STAGES


def require(reach_: Reach, library_code: str, sandbox_of: str | None, what: str) -> None:
    """Refuse a row outside the reach: in SANDBOX reach only `library_code`'s own sandbox
    rows (`sandbox_of` of the member or copy) may be touched. `what`: member | copy."""
    if reach_ is Reach.SANDBOX and sandbox_of != library_code:
        raise DomainError(Code.SANDBOX_ONLY, library_code=library_code, target=what)
