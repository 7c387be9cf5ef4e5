"""Network registry use cases: regions, regional centers, libraries, calendars,
policies and the onboarding stages of joining libraries."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import Connection, delete, func, insert, select, update

from ..domain import onboarding
from ..domain import policy as policy_rules
from ..domain.calendar import format_weekdays, parse_weekdays
from ..domain.errors import Code, DomainError
from ..domain.numbering import validate_library_code
from ..store.db import Database
from ..store.tables import (
    libraries,
    library_closed_dates,
    library_stage_log,
    policies,
    regional_centers,
    regions,
)
from . import audit
from .context import Actor, Clock, Role
from .credentials import Credentials
from .registry import Registry
from .tx import transactional

LEVELS = ("national", "region", "library")


def library_view(row, center: str | None = None) -> dict[str, Any]:  # noqa: ANN001
    return {
        "code": row.code, "name": row.name, "region_code": row.region_code,
        "center_id": row.center_id, "center": center, "status": row.status,
        "status_label": onboarding.LABELS.get(row.status, row.status),
        "closed_weekdays": sorted(parse_weekdays(row.closed_weekdays)), "ils": row.ils,
        "live_since": row.live_since.isoformat() if row.live_since else None,
    }


class Network:
    def __init__(self, db: Database, registry: Registry, clock: Clock):
        self.db = db
        self.registry = registry
        self.clock = clock

    # -- reading -------------------------------------------------------------------
    def regions(self) -> list[dict[str, Any]]:
        with self.db.read() as conn:
            counts = dict(conn.execute(select(libraries.c.region_code, func.count())
                                       .group_by(libraries.c.region_code)).all())
            rows = conn.execute(select(regions).order_by(regions.c.code)).all()
        return [{"code": r.code, "name": r.name, "name_en": r.name_en,
                 "libraries": counts.get(r.code, 0)} for r in rows]

    def centers(self, region: str | None = None) -> list[dict[str, Any]]:
        q = select(regional_centers, regions.c.name.label("region_name")).join(
            regions, regions.c.code == regional_centers.c.region_code)
        if region:
            q = q.where(regional_centers.c.region_code == region)
        with self.db.read() as conn:
            rows = conn.execute(q.order_by(regional_centers.c.id)).all()
        return [{"id": r.id, "region_code": r.region_code, "region_name": r.region_name,
                 "name": r.name, "host_library": r.host_library, "phone": r.phone} for r in rows]

    def libraries(self, region: str | None = None, query: str | None = None,
                  status: str | None = None, limit: int = 100, offset: int = 0
                  ) -> dict[str, Any]:
        q = select(libraries, regional_centers.c.name.label("center_name")).outerjoin(
            regional_centers, regional_centers.c.id == libraries.c.center_id)
        if region:
            q = q.where(libraries.c.region_code == region)
        if status:
            q = q.where(libraries.c.status == status)
        if query:
            q = q.where(libraries.c.name.contains(query) | libraries.c.code.startswith(query))
        with self.db.read() as conn:
            total = conn.scalar(select(func.count()).select_from(q.subquery()))
            rows = conn.execute(q.order_by(libraries.c.code).limit(limit).offset(offset)).all()
        return {"total": total, "items": [library_view(r, r.center_name) for r in rows]}

    def library(self, code: str) -> dict[str, Any]:
        with self.db.read() as conn:
            row = conn.execute(select(libraries, regional_centers.c.name.label("center_name"))
                               .outerjoin(regional_centers,
                                          regional_centers.c.id == libraries.c.center_id)
                               .where(libraries.c.code == code)).first()
            if row is None:
                raise DomainError(Code.LIBRARY_UNKNOWN, library_code=code)
            closed = conn.execute(select(library_closed_dates).where(
                library_closed_dates.c.library_code == code)
                .order_by(library_closed_dates.c.day)).all()
            stages = conn.execute(select(library_stage_log).where(
                library_stage_log.c.library_code == code)
                .order_by(library_stage_log.c.id)).all()
        view = library_view(row, row.center_name)
        view["closed_dates"] = [{"day": c.day.isoformat(), "reason": c.reason} for c in closed]
        view["onboarding_log"] = [{"stage": s.stage, "label": onboarding.LABELS.get(s.stage),
                                   "at": s.at.isoformat() + "Z", "actor": s.actor,
                                   "note": s.note} for s in stages]
        view["policy"] = self.registry.policy(code).as_dict()
        return view

    # -- changing libraries ----------------------------------------------------------
    @transactional
    def register_library(self, conn: Connection, actor: Actor, code: str, name: str,
                         region_code: str, center_id: int | None = None,
                         closed_weekdays: list[int] | None = None, ils: str = "",
                         status: str = onboarding.Stage.REGISTERED) -> dict[str, Any]:
        """참여도서관 등록 by 국중: a library enters the network at a given stage."""
        actor.require_role(Role.NATIONAL_ADMIN)
        validate_library_code(code)
        onboarding.Stage(status)
        if not conn.scalar(select(regions.c.code).where(regions.c.code == region_code)):
            raise DomainError(Code.REGION_UNKNOWN, region=region_code)
        if conn.scalar(select(libraries.c.code).where(libraries.c.code == code)):
            raise DomainError(Code.LIBRARY_EXISTS, library_code=code)
        weekdays = _weekdays(closed_weekdays or [])
        at = self.clock.now()
        conn.execute(insert(libraries).values(
            code=code, name=name, region_code=region_code, center_id=center_id, status=status,
            closed_weekdays=weekdays, ils=ils, created_at=at,
            live_since=self.clock.today() if status == onboarding.Stage.LIVE else None))
        conn.execute(insert(library_stage_log).values(
            library_code=code, stage=status, at=at, actor=actor.label, note="registered"))
        audit.record(conn, actor, "library.register", "library", code, at,
                     {"name": name, "region": region_code, "status": status}, code)
        self.registry.invalidate()
        return {"code": code, "name": name, "region_code": region_code, "status": status}

    def _library_for_admin(self, conn: Connection, actor: Actor, code: str):  # noqa: ANN202
        row = conn.execute(select(libraries).where(libraries.c.code == code)
                           .with_for_update()).first()
        if row is None:
            raise DomainError(Code.LIBRARY_UNKNOWN, library_code=code)
        Credentials.require_library_admin(actor, code, row.region_code)
        return row

    @transactional
    def update_library(self, conn: Connection, actor: Actor, code: str,
                       changes: dict[str, Any]) -> dict[str, Any]:
        self._library_for_admin(conn, actor, code)
        allowed = {"name", "closed_weekdays", "ils", "center_id"}
        if set(changes) - allowed:
            raise DomainError(Code.VALIDATION_ERROR, unknown_fields=sorted(set(changes) - allowed))
        values = dict(changes)
        if "closed_weekdays" in values:
            values["closed_weekdays"] = _weekdays(values["closed_weekdays"])
        at = self.clock.now()
        conn.execute(update(libraries).where(libraries.c.code == code).values(**values))
        audit.record(conn, actor, "library.update", "library", code, at,
                     {"fields": sorted(changes)}, code)
        self.registry.invalidate()
        return {"code": code, **changes}

    @transactional
    def set_closed_dates(self, conn: Connection, actor: Actor, code: str,
                         days: list[tuple[date, str]]) -> int:
        self._library_for_admin(conn, actor, code)
        conn.execute(delete(library_closed_dates).where(library_closed_dates.c.library_code == code))
        unique = {d: reason for d, reason in days}
        if unique:
            conn.execute(insert(library_closed_dates), [
                {"library_code": code, "day": d, "reason": r[:100]} for d, r in unique.items()])
        audit.record(conn, actor, "library.closed_dates", "library", code, self.clock.now(),
                     {"count": len(unique)}, code)
        self.registry.invalidate()
        return len(unique)

    # -- policies --------------------------------------------------------------------
    def get_policy(self, level: str, scope: str = "", member_class: str = "") -> dict[str, Any]:
        with self.db.read() as conn:
            row = conn.execute(select(policies.c.settings).where(
                policies.c.level == level, policies.c.scope == scope,
                policies.c.member_class == member_class)).first()
        return {"level": level, "scope": scope, "member_class": member_class,
                "settings": row.settings if row else {}}

    @transactional
    def set_policy(self, conn: Connection, actor: Actor, level: str, scope: str,
                   member_class: str, settings: dict[str, Any]) -> dict[str, Any]:
        if level not in LEVELS:
            raise DomainError(Code.VALIDATION_ERROR, field="level", allowed=list(LEVELS))
        if level == "national":
            actor.require_role(Role.NATIONAL_ADMIN)
            scope = ""
        elif level == "region":
            if not (actor.role == Role.REGIONAL_ADMIN and actor.region_code == scope):
                actor.require_role(Role.NATIONAL_ADMIN)
            if not conn.scalar(select(regions.c.code).where(regions.c.code == scope)):
                raise DomainError(Code.REGION_UNKNOWN, region=scope)
        else:
            self._library_for_admin(conn, actor, scope)
        if member_class and member_class not in policy_rules.MEMBER_CLASSES:
            raise DomainError(Code.VALIDATION_ERROR, field="member_class")
        clean = policy_rules.validate_level_overrides(level, member_class, settings)
        stored = {k: (str(v) if isinstance(v, policy_rules.StrEnum) else v)
                  for k, v in clean.items()}
        at = self.clock.now()
        conn.execute(delete(policies).where(policies.c.level == level, policies.c.scope == scope,
                                            policies.c.member_class == member_class))
        conn.execute(insert(policies).values(level=level, scope=scope, member_class=member_class,
                                             settings=stored, updated_at=at))
        audit.record(conn, actor, "policy.set", "policy", f"{level}:{scope}:{member_class}", at,
                     stored, scope if level == "library" else None)
        self.registry.invalidate()
        return {"level": level, "scope": scope, "member_class": member_class, "settings": stored}


def _weekdays(days: list[int]) -> str:
    if any(not isinstance(d, int) or isinstance(d, bool) or not 0 <= d <= 6 for d in days):
        raise DomainError(Code.VALIDATION_ERROR, field="closed_weekdays", expected="0..6")
    return format_weekdays(days)
