"""Vendors (사업자, issue 11): the companies that build a joining library's integration.

- 국중 (national admins) registers a vendor by its 사업자등록번호 (checked by its check
  digit, domain/vendors.py), with a name and a contact, and issues its staff accounts
  (role `vendor`, services/credentials.py) and API keys (scope `vendor`).
- A library chooses its vendor at the vendor-selection stage (사업자 선정); its regional
  admin or 국중 may assign or change it at any stage while the library is joining. A
  vendor may serve many libraries. On assignment the vendor's contact becomes the
  library's vendor contact for the stage e-mails (replacing the previous vendor's).
- What a vendor may then do, and only for the libraries that selected it, is the rule
  in services/onboarding.py (VENDOR_MAY).

Who may read the registry: every admin, and a library's own staff (to choose a vendor);
a vendor only itself. The libraries a vendor serves: national admins all of them, a
regional admin those of the region, the vendor itself its own.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from ..domain import onboarding as ob
from ..domain import vendors as dv
from ..domain.errors import Code, DomainError
from ..domain.notices import EMAIL_RE
from ..store.db import Database
from ..store.tables import libraries, onboarding_contacts, vendors
from . import audit
from .context import Actor, Clock, Role
from .onboarding_access import ASSIGN, may, require_library
from .tx import transactional

PHONE_RE = re.compile(r"^[0-9+\-() ]{0,20}$")
READERS = (Role.NATIONAL_ADMIN, Role.REGIONAL_ADMIN, Role.LIBRARIAN, Role.LIBRARY_SYSTEM)
JOINING = frozenset({*ob.IN_PROGRESS, ob.Stage.ON_HOLD})


def stage_allows_assignment(actor: Actor, stage: str) -> bool:
    """A library's admins choose its vendor while it is joining; the library itself at
    the vendor-selection stage."""
    admin = actor.role in (Role.SYSTEM, Role.NATIONAL_ADMIN, Role.REGIONAL_ADMIN)
    return stage in JOINING and (admin or stage == ob.Stage.VENDOR)


def may_assign(actor: Actor, view: dict[str, Any]) -> bool:
    """Whether `assign` would let the actor choose the vendor of this library (its
    onboarding view): for the console, which shows the choice only then."""
    return stage_allows_assignment(actor, view["stage"]) and may(
        actor, ASSIGN, view["code"], view["region_code"], view["vendor"])


def _clean(name: str, contact_name: str, contact_email: str, contact_phone: str
           ) -> dict[str, str]:
    name, contact_name = name.strip(), contact_name.strip()
    contact_email, contact_phone = contact_email.strip(), contact_phone.strip()
    if not name or len(name) > 100:
        raise DomainError(Code.VALIDATION_ERROR, field="name", problem="1-100 chars")
    if len(contact_name) > 100:
        raise DomainError(Code.VALIDATION_ERROR, field="contact_name", problem="at most 100")
    if contact_email and (len(contact_email) > 200 or not EMAIL_RE.match(contact_email)):
        raise DomainError(Code.VALIDATION_ERROR, field="contact_email",
                          problem="not an e-mail address")
    if not PHONE_RE.match(contact_phone):
        raise DomainError(Code.VALIDATION_ERROR, field="contact_phone")
    return {"name": name, "contact_name": contact_name, "contact_email": contact_email,
            "contact_phone": contact_phone}


def _out(row: Any) -> dict[str, Any]:
    return {"brn": row.brn, "brn_formatted": dv.formatted(row.brn), "name": row.name,
            "contact_name": row.contact_name, "contact_email": row.contact_email,
            "contact_phone": row.contact_phone}


class Vendors:
    def __init__(self, db: Database, clock: Clock):
        self.db = db
        self.clock = clock

    @transactional
    def create(self, conn: Connection, actor: Actor, brn: str, name: str,
               contact_name: str = "", contact_email: str = "",
               contact_phone: str = "") -> dict[str, Any]:
        """Register a vendor (national admins)."""
        actor.require_role(Role.NATIONAL_ADMIN)
        number = dv.brn(brn)
        values = _clean(name, contact_name, contact_email, contact_phone)
        at = self.clock.now()
        try:
            with conn.begin_nested():
                conn.execute(insert(vendors).values(brn=number, created_at=at, **values))
        except IntegrityError:
            raise DomainError(Code.VENDOR_EXISTS, brn=number) from None
        audit.record(conn, actor, "vendor.create", "vendor", number, at,
                     {"name": values["name"], "contact_email": values["contact_email"]})
        return {**_out(conn.execute(select(vendors).where(vendors.c.brn == number)).one()),
                "libraries": []}

    @transactional
    def update(self, conn: Connection, actor: Actor, brn: str, name: str,
               contact_name: str = "", contact_email: str = "",
               contact_phone: str = "") -> dict[str, Any]:
        """Change a vendor's name or contact (national admins). The libraries it serves
        get the new contact as their vendor contact."""
        actor.require_role(Role.NATIONAL_ADMIN)
        self._row(conn, brn)
        values = _clean(name, contact_name, contact_email, contact_phone)
        conn.execute(update(vendors).where(vendors.c.brn == brn).values(**values))
        row = self._row(conn, brn)
        served = conn.scalars(select(libraries.c.code).where(
            libraries.c.vendor_brn == brn, libraries.c.status.in_([str(s) for s in JOINING]))
        ).all()
        for code in served:
            self._contact(conn, actor, code, row)
        audit.record(conn, actor, "vendor.update", "vendor", brn, self.clock.now(),
                     {"name": values["name"], "contact_email": values["contact_email"]})
        return self._view(conn, actor, row)

    @staticmethod
    def _row(conn: Connection, brn: str):  # noqa: ANN205
        row = conn.execute(select(vendors).where(vendors.c.brn == brn)).first()
        if row is None:
            raise DomainError(Code.VENDOR_UNKNOWN, brn=brn[:20])
        return row

    def list(self, actor: Actor) -> list[dict[str, Any]]:
        """The registry (a vendor sees only itself)."""
        q = select(vendors).order_by(vendors.c.name, vendors.c.brn)
        if actor.role == Role.VENDOR:
            q = q.where(vendors.c.brn == (actor.vendor or ""))
        else:
            actor.require_role(*READERS)
        with self.db.read() as conn:
            return [_out(r) for r in conn.execute(q).all()]

    def get(self, actor: Actor, brn: str) -> dict[str, Any]:
        """One vendor with the libraries it serves (as the actor may see them)."""
        if actor.role == Role.VENDOR:
            if actor.vendor != brn:
                raise DomainError(Code.FORBIDDEN, brn=brn[:20])
        else:
            actor.require_role(Role.NATIONAL_ADMIN, Role.REGIONAL_ADMIN)
        with self.db.read() as conn:
            return self._view(conn, actor, self._row(conn, brn))

    @staticmethod
    def _view(conn: Connection, actor: Actor, row: Any) -> dict[str, Any]:
        q = select(libraries.c.code, libraries.c.name, libraries.c.region_code,
                   libraries.c.status).where(libraries.c.vendor_brn == row.brn)
        if actor.role == Role.REGIONAL_ADMIN:
            q = q.where(libraries.c.region_code == actor.region_code)
        served = conn.execute(q.order_by(libraries.c.code)).all()
        return {**_out(row), "libraries": [
            {"code": r.code, "name": r.name, "region_code": r.region_code, "stage": r.status,
             "label": ob.LABELS.get(r.status, r.status)} for r in served]}

    @transactional
    def assign(self, conn: Connection, actor: Actor, code: str,
               brn: str | None) -> dict[str, Any]:
        """Set (or, with None, clear) the library's vendor. The library's own staff do it
        at the vendor-selection stage; its admins at any stage while it is joining."""
        row = require_library(conn, actor, code, ASSIGN, lock=True)
        if not stage_allows_assignment(actor, row.status):
            raise DomainError(Code.VENDOR_ASSIGN_STAGE, library_code=code, stage=row.status)
        vendor = self._row(conn, dv.brn(brn)) if brn else None
        conn.execute(update(libraries).where(libraries.c.code == code).values(
            vendor_brn=vendor.brn if vendor else None))
        self._contact(conn, actor, code, vendor)
        audit.record(conn, actor, "onboarding.vendor", "library", code, self.clock.now(),
                     {"from": row.vendor_brn, "to": vendor.brn if vendor else None}, code)
        return {"code": code, "vendor": _out(vendor) if vendor else None}

    def _contact(self, conn: Connection, actor: Actor, code: str, vendor: Any) -> None:
        """The library's vendor contact for the stage e-mails: the vendor's own."""
        conn.execute(delete(onboarding_contacts).where(
            onboarding_contacts.c.library_code == code,
            onboarding_contacts.c.party == ob.Party.VENDOR))
        if vendor is not None and vendor.contact_email:
            conn.execute(insert(onboarding_contacts).values(
                library_code=code, party=ob.Party.VENDOR,
                name=vendor.contact_name or vendor.name, email=vendor.contact_email.lower(),
                at=self.clock.now(), actor=actor.label))
