"""The onboarding workflow's access rule (services/onboarding.py, onboarding_docs.py,
notices.py contacts, connector_package.py, vendors.py): who may do what with a joining
library's onboarding.

Who may do what (the written rule, checked by `_require` below):
- the national admin (국중): everything;
- the regional admin of the library's region: everything except the steps 국중 takes
  (registration, launch, withdrawal) and announcing the launch date;
- the library's own staff (its librarian accounts and its API keys): read the library's
  onboarding, tick its checklists and linked systems, upload its conformance reports and
  documents, submit its schedule (세부일정), keep its e-mail contacts, choose its vendor
  (at the vendor-selection stage: services/vendors.py) and fetch its connector package
  (with placeholders). Never another library's.
- the vendor (사업자) the library selected (its staff accounts and API keys): read the
  library's onboarding (documents only of VENDOR_DOCUMENT_KINDS), tick its checklists
  and linked systems, upload its conformance reports and documents of those kinds, fetch
  its connector package (with placeholders), and move it one step forward from a stage
  where the vendor is responsible (domain/onboarding.py `vendor_may_move`). Not its
  schedule, contacts, credentials or anything outside onboarding; never a library that
  did not select it.
"""

from __future__ import annotations

from sqlalchemy import Connection, select

from ..domain import onboarding as ob
from ..domain.errors import Code, DomainError
from ..store.tables import libraries
from .context import Actor, Role

VIEW, FILL, PLAN, CONTACTS, ASSIGN, PACKAGE, MOVE, NATIONAL = (
    "view", "fill", "plan", "contacts", "assign_vendor", "package", "move", "national")
NATIONAL_TARGETS = frozenset({ob.Stage.REGISTERED, ob.Stage.LIVE, ob.Stage.WITHDRAWN})
# THE RULE for the library's own staff and for its vendor (admins: see `_require`)
LIBRARY_MAY = frozenset({VIEW, FILL, PLAN, CONTACTS, ASSIGN, PACKAGE})
VENDOR_MAY = frozenset({VIEW, FILL, PACKAGE, MOVE})  # MOVE: only `ob.vendor_may_move`
# the documents a vendor sees and uploads (services/onboarding_docs.py KINDS); the
# application papers (참여신청서, 수요조사서, 공문) stay between the library and 국중
VENDOR_DOCUMENT_KINDS = frozenset({"schedule", "other"})


def _require(actor: Actor, what: str, library_code: str, region: str,
             vendor: str | None = None) -> None:
    """`vendor`: the 사업자등록번호 of the vendor the library selected (None: none yet)."""
    if actor.role in (Role.SYSTEM, Role.NATIONAL_ADMIN):
        return
    if what != NATIONAL and actor.role == Role.REGIONAL_ADMIN and actor.region_code == region:
        return
    if (what in LIBRARY_MAY and actor.role in (Role.LIBRARIAN, Role.LIBRARY_SYSTEM)
            and actor.library_code == library_code):
        return
    if (what in VENDOR_MAY and actor.role == Role.VENDOR and vendor is not None
            and actor.vendor == vendor):
        return
    raise DomainError(Code.FORBIDDEN, library_code=library_code, action=what)


def require_library(conn: Connection, actor: Actor, code: str, what: str,
                    lock: bool = False):  # noqa: ANN201
    """The library's row if `actor` may do `what` there (LIBRARY_UNKNOWN, FORBIDDEN)."""
    q = select(libraries).where(libraries.c.code == code)
    row = conn.execute(q.with_for_update() if lock else q).first()
    if row is None:
        raise DomainError(Code.LIBRARY_UNKNOWN, library_code=code)
    _require(actor, what, code, row.region_code, row.vendor_brn)
    return row


def may(actor: Actor, what: str, library_code: str, region: str,
        vendor: str | None = None) -> bool:
    """Whether `_require` lets the actor do `what` (for pages that hide a form)."""
    try:
        _require(actor, what, library_code, region, vendor)
    except DomainError:
        return False
    return True
