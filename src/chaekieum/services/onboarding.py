"""The onboarding workflow (issue 11, domain.md section 7): stage transitions with who,
when and why, checklists, the linked-system inventory, stored conformance reports, the
schedule per stage, the launch announcement, and a to-do list per party.

Who may do what: the written rule in services/onboarding_access.py.
"""

from __future__ import annotations

import json
from datetime import UTC, date
from typing import Any

from pydantic import ValidationError
from sqlalchemy import Connection, delete, insert, select, update

from ..conformance.report import load_report
from ..domain import onboarding as ob
from ..domain.errors import Code, DomainError
from ..domain.notices import StageChange
from ..store.db import Database
from ..store.tables import (
    libraries,
    library_stage_log,
    onboarding_checks,
    onboarding_plan,
    onboarding_reports,
    onboarding_systems,
)
from . import audit, events, notices
from .context import Actor, Clock, Role
from .credentials import Credentials
from .onboarding_access import (
    FILL,
    MOVE,
    NATIONAL,
    NATIONAL_TARGETS,
    PLAN,
    VIEW,
    _require,
    require_library,
)
from .registry import Registry
from .tx import transactional


def _utc_naive(moment):  # noqa: ANN001, ANN202
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment


class Onboarding:
    def __init__(self, db: Database, registry: Registry, clock: Clock,
                 rules: ob.Rules | None = None, credentials: Credentials | None = None):
        self.db = db
        self.registry = registry
        self.clock = clock
        self.rules = rules or ob.Rules()
        self.credentials = credentials or Credentials(db, clock)

    def _library(self, conn: Connection, actor: Actor, code: str, what: str,
                 lock: bool = False):  # noqa: ANN202
        return require_library(conn, actor, code, what, lock)

    # -- reading -------------------------------------------------------------------
    def view(self, actor: Actor, code: str) -> dict[str, Any]:
        with self.db.read() as conn:
            row = self._library(conn, actor, code, VIEW)
            return self._view(conn, row)

    def _view(self, conn: Connection, row) -> dict[str, Any]:  # noqa: ANN001
        code, today = row.code, self.clock.today()
        log = conn.execute(select(library_stage_log).where(
            library_stage_log.c.library_code == code).order_by(library_stage_log.c.id)).all()
        checks = {c.item: c for c in conn.execute(select(onboarding_checks).where(
            onboarding_checks.c.library_code == code))}
        systems = conn.execute(select(onboarding_systems).where(
            onboarding_systems.c.library_code == code).order_by(onboarding_systems.c.name)).all()
        reports = conn.execute(select(
            onboarding_reports.c.id, onboarding_reports.c.schema, onboarding_reports.c.result,
            onboarding_reports.c.finished_at, onboarding_reports.c.passed,
            onboarding_reports.c.failed, onboarding_reports.c.skipped,
            onboarding_reports.c.not_applicable,
            onboarding_reports.c.uploaded_at, onboarding_reports.c.actor).where(
            onboarding_reports.c.library_code == code)
            .order_by(onboarding_reports.c.finished_at.desc(), onboarding_reports.c.id.desc())
        ).all()
        plan = dict(conn.execute(select(onboarding_plan.c.stage, onboarding_plan.c.planned_on)
                                 .where(onboarding_plan.c.library_code == code)).all())
        reached = {s.stage: s.at for s in log}
        status = row.status
        held_at = _held_at(log) if status == ob.Stage.ON_HOLD else None
        return {
            "code": code, "name": row.name, "region_code": row.region_code,
            "vendor": row.vendor_brn,
            "stage": status, "label": ob.LABELS.get(status, status),
            "responsible": str(ob.RESPONSIBLE[ob.Stage(status)]),
            "responsible_label": ob.PARTY_LABELS[ob.RESPONSIBLE[ob.Stage(status)]],
            "held_at": held_at,
            "allowed_next": sorted(str(s) for s in ob.allowed_next(status, held_at)),
            "checklists": [
                {"stage": str(stage), "label": ob.LABELS[stage], "items": [
                    {"key": i.key, "label": i.ko, "done": bool(checks[i.key].done)
                     if i.key in checks else False,
                     "note": checks[i.key].note if i.key in checks else "",
                     "at": _z(checks[i.key].at) if i.key in checks else None,
                     "actor": checks[i.key].actor if i.key in checks else None}
                    for i in items]}
                for stage, items in ob.CHECKLISTS.items()],
            "systems": [{"name": s.name, "kind": s.kind, "kind_label": ob.SYSTEM_KINDS[s.kind],
                         "integrated": s.integrated, "tested": s.tested, "at": _z(s.at),
                         "actor": s.actor} for s in systems],
            "reports": [{"id": r.id, "schema_id": r.schema, "result": r.result,
                         "finished_at": _z(r.finished_at), "passed": r.passed,
                         "failed": r.failed, "skipped": r.skipped,
                         "not_applicable": r.not_applicable,
                         "uploaded_at": _z(r.uploaded_at), "actor": r.actor} for r in reports],
            "plan": [{"stage": str(s), "label": ob.LABELS[s],
                      "planned_on": plan[s].isoformat() if s in plan else None,
                      "reached_at": _z(reached[s]) if s in reached else None,
                      "overdue": ob.overdue(plan.get(s), today,
                                            s in reached or _passed(s, status, held_at))}
                     for s in ob.ORDER],
            "launch_date": row.launch_date.isoformat() if row.launch_date else None,
            "launch_announced_on": (row.launch_announced_on.isoformat()
                                    if row.launch_announced_on else None),
            "history": [{"stage": s.stage, "label": ob.LABELS.get(s.stage, s.stage),
                         "at": _z(s.at), "actor": s.actor, "reason": s.note} for s in log],
        }

    def todo(self, actor: Actor, region: str | None = None) -> dict[str, Any]:
        """What each party must do next, for every library still joining (or on hold)
        that the actor may see: national all, regional admins their region, a vendor the
        libraries that selected it, a library itself."""
        q = select(libraries).where(libraries.c.status.in_(
            [str(s) for s in (*ob.IN_PROGRESS, ob.Stage.ON_HOLD)])).order_by(libraries.c.code)
        if actor.role == Role.REGIONAL_ADMIN:
            region = actor.region_code
        elif actor.role == Role.VENDOR:
            q = q.where(libraries.c.vendor_brn == (actor.vendor or ""))
        elif actor.role not in (Role.SYSTEM, Role.NATIONAL_ADMIN):
            q = q.where(libraries.c.code == (actor.library_code or ""))
        if region:
            q = q.where(libraries.c.region_code == region)
        items = []
        with self.db.read() as conn:
            for row in conn.execute(q).all():
                _require(actor, VIEW, row.code, row.region_code, row.vendor_brn)
                v = self._view(conn, row)
                open_items = [i["key"] for c in v["checklists"] if c["stage"] == row.status
                              for i in c["items"] if not i["done"]]
                plan = next((p for p in v["plan"] if p["stage"] == row.status), None)
                nxt = next((p for p in v["plan"] if p["reached_at"] is None
                            and not _passed(p["stage"], row.status, v["held_at"])), None)
                items.append({
                    "code": row.code, "name": row.name, "region_code": row.region_code,
                    "stage": row.status, "label": v["label"], "party": v["responsible"],
                    "party_label": v["responsible_label"], "next": v["allowed_next"],
                    "open_items": open_items,
                    "open_systems": [s["name"] for s in v["systems"]
                                     if not (s["integrated"] and s["tested"])],
                    "planned_on": nxt["planned_on"] if nxt else None,
                    "overdue": any(p["overdue"] for p in v["plan"]) or bool(
                        plan and plan["overdue"]),
                })
        parties: dict[str, list[str]] = {str(p): [] for p in ob.Party}
        for it in items:
            parties[it["party"]].append(it["code"])
        return {"items": items, "by_party": parties}

    # -- transitions ---------------------------------------------------------------
    @transactional
    def move(self, conn: Connection, actor: Actor, code: str, target: str,
             reason: str = "") -> dict[str, Any]:
        row = self._library(conn, actor, code, MOVE, lock=True)
        if target in NATIONAL_TARGETS:
            _require(actor, NATIONAL, code, row.region_code)
        if actor.role == Role.VENDOR and not ob.vendor_may_move(row.status, target):
            raise DomainError(Code.FORBIDDEN, library_code=code, action=MOVE, target=target)
        log = conn.execute(select(library_stage_log.c.stage, library_stage_log.c.at).where(
            library_stage_log.c.library_code == code).order_by(library_stage_log.c.id)).all()
        held_at = _held_at(log) if row.status == ob.Stage.ON_HOLD else None
        stage = ob.advance(row.status, target, held_at, reason)
        now = self.clock.now()
        if stage is ob.Stage.PILOT:
            latest = conn.execute(select(onboarding_reports.c.result,
                                         onboarding_reports.c.finished_at).where(
                onboarding_reports.c.library_code == code).order_by(
                onboarding_reports.c.finished_at.desc(), onboarding_reports.c.id.desc())
                .limit(1)).first()
            systems = conn.execute(select(onboarding_systems).where(
                onboarding_systems.c.library_code == code)).all()
            ob.pilot_gate(self.rules, now,
                          ob.ReportFacts(latest.result, latest.finished_at) if latest else None,
                          [ob.SystemFacts(s.name, s.integrated, s.tested) for s in systems])
        if stage is ob.Stage.LIVE and row.status == ob.Stage.PILOT:
            pilots = [s.at for s in log if s.stage == ob.Stage.PILOT]
            ob.launch_gate(self.rules, self.clock.today(), row.launch_date,
                           row.launch_announced_on, pilots[-1].date() if pilots else None)
        values: dict[str, Any] = {"status": stage}
        if stage is ob.Stage.LIVE and row.live_since is None:
            values["live_since"] = self.clock.today()
        conn.execute(update(libraries).where(libraries.c.code == code).values(**values))
        log_id = conn.execute(insert(library_stage_log).values(
            library_code=code, stage=stage, at=now, actor=actor.label, note=reason[:500])
        ).inserted_primary_key[0]
        # the stage e-mail to the library's contacts: queued in this transaction, sent
        # by the job worker (services/notices.py)
        notices.enqueue_stage_change(conn, StageChange(
            code, row.name, row.status, stage, actor.label, now, reason[:500]), log_id)
        audit.record(conn, actor, "library.stage", "library", code, now,
                     {"from": row.status, "to": str(stage), "reason": reason[:200]}, code)
        neighbours = conn.scalars(select(libraries.c.code).where(
            libraries.c.region_code == row.region_code, libraries.c.code != code,
            libraries.c.status.in_([ob.Stage.LIVE, ob.Stage.PILOT]))).all()
        events.emit_many(conn, [code, *neighbours], events.Kind.ONBOARDING_STAGE, {
            "library": code, "name": row.name, "region_code": row.region_code,
            "from": row.status, "to": str(stage), "label": ob.LABELS[stage],
            "reason": reason[:200], "at": _z(now),
            "launch_date": row.launch_date.isoformat() if row.launch_date else None}, now)
        self.registry.invalidate()
        out: dict[str, Any] = {"code": code, "status": str(stage), "label": ob.LABELS[stage]}
        if stage is ob.Stage.REGISTERED and row.status == ob.Stage.APPLICATION:
            # 참여도서관 등록: the library's sandbox credentials, shown this once
            out["sandbox_credentials"] = self.credentials.issue_sandbox(
                actor, code, label="등록 시 발급된 시험용 인증정보", conn=conn)
        return out

    # -- what the library fills in ---------------------------------------------------
    @transactional
    def tick(self, conn: Connection, actor: Actor, code: str, item: str, done: bool,
             note: str = "") -> dict[str, Any]:
        self._library(conn, actor, code, FILL)
        ob.checklist_item(item)
        now = self.clock.now()
        conn.execute(delete(onboarding_checks).where(
            onboarding_checks.c.library_code == code, onboarding_checks.c.item == item))
        conn.execute(insert(onboarding_checks).values(
            library_code=code, item=item, done=done, note=note[:500], at=now,
            actor=actor.label))
        audit.record(conn, actor, "onboarding.check", "library", code, now,
                     {"item": item, "done": done}, code)
        return {"code": code, "item": item, "done": done, "note": note[:500]}

    @transactional
    def put_system(self, conn: Connection, actor: Actor, code: str, name: str, kind: str,
                   integrated: bool, tested: bool) -> dict[str, Any]:
        self._library(conn, actor, code, FILL)
        if kind not in ob.SYSTEM_KINDS:
            raise DomainError(Code.VALIDATION_ERROR, field="kind", allowed=sorted(ob.SYSTEM_KINDS))
        name = name.strip()
        if not name or len(name) > 60:
            raise DomainError(Code.VALIDATION_ERROR, field="name", problem="1-60 chars")
        now = self.clock.now()
        conn.execute(delete(onboarding_systems).where(
            onboarding_systems.c.library_code == code, onboarding_systems.c.name == name))
        conn.execute(insert(onboarding_systems).values(
            library_code=code, name=name, kind=kind, integrated=integrated, tested=tested,
            at=now, actor=actor.label))
        audit.record(conn, actor, "onboarding.system", "library", code, now,
                     {"name": name, "kind": kind, "integrated": integrated, "tested": tested},
                     code)
        return {"code": code, "name": name, "kind": kind, "integrated": integrated,
                "tested": tested}

    @transactional
    def remove_system(self, conn: Connection, actor: Actor, code: str,
                      name: str) -> dict[str, Any]:
        self._library(conn, actor, code, FILL)
        gone = conn.execute(delete(onboarding_systems).where(
            onboarding_systems.c.library_code == code,
            onboarding_systems.c.name == name)).rowcount
        if not gone:
            raise DomainError(Code.NOT_FOUND, system=name)
        audit.record(conn, actor, "onboarding.system_remove", "library", code,
                     self.clock.now(), {"name": name}, code)
        return {"code": code, "removed": name}

    @transactional
    def store_report(self, conn: Connection, actor: Actor, code: str,
                     report: dict[str, Any]) -> dict[str, Any]:
        """Keep a conformance kit report (its JSON, validated against the kit's schema)
        for this library; the latest by run time is the one the pilot gate reads."""
        self._library(conn, actor, code, FILL)
        text = json.dumps(report, ensure_ascii=False)
        try:
            parsed = load_report(text)
        except ValidationError as exc:
            first = exc.errors()[0]
            raise DomainError(Code.ONBOARDING_REPORT_INVALID,
                              field=".".join(str(p) for p in first["loc"]),
                              problem=first["msg"]) from None
        if parsed.target.library != code:
            raise DomainError(Code.ONBOARDING_REPORT_INVALID, field="target.library",
                              problem=f"report is for {parsed.target.library}")
        now = self.clock.now()
        s = parsed.summary
        report_id = conn.execute(insert(onboarding_reports).values(
            library_code=code, schema=parsed.schema_, result=s.result,
            finished_at=_utc_naive(parsed.finished_at), passed=s.passed, failed=s.failed,
            skipped=s.skipped, not_applicable=s.not_applicable, report=text, uploaded_at=now,
            actor=actor.label,
        ).returning(onboarding_reports.c.id)).scalar_one()
        audit.record(conn, actor, "onboarding.report", "library", code, now,
                     {"report_id": report_id, "result": s.result}, code)
        return {"code": code, "id": report_id, "result": s.result,
                "finished_at": _z(_utc_naive(parsed.finished_at))}

    def report(self, actor: Actor, code: str, report_id: int) -> dict[str, Any]:
        """A stored report as uploaded (the kit's JSON)."""
        with self.db.read() as conn:
            self._library(conn, actor, code, VIEW)
            text = conn.scalar(select(onboarding_reports.c.report).where(
                onboarding_reports.c.library_code == code,
                onboarding_reports.c.id == report_id))
        if text is None:
            raise DomainError(Code.NOT_FOUND, report_id=report_id)
        return json.loads(text)

    @transactional
    def set_plan(self, conn: Connection, actor: Actor, code: str,
                 planned: dict[str, date]) -> dict[str, Any]:
        """The submitted 세부일정: a planned date per stage (replaces the previous one)."""
        self._library(conn, actor, code, PLAN)
        for stage in planned:
            if stage not in ob.ORDER:
                raise DomainError(Code.ONBOARDING_BAD_STEP, target=stage)
        conn.execute(delete(onboarding_plan).where(onboarding_plan.c.library_code == code))
        if planned:
            conn.execute(insert(onboarding_plan), [
                {"library_code": code, "stage": s, "planned_on": d} for s, d in planned.items()])
        audit.record(conn, actor, "onboarding.plan", "library", code, self.clock.now(),
                     {s: d.isoformat() for s, d in planned.items()}, code)
        return {"code": code, "plan": {s: d.isoformat() for s, d in sorted(planned.items())}}

    @transactional
    def announce_launch(self, conn: Connection, actor: Actor, code: str,
                        launch_date: date) -> dict[str, Any]:
        """국중 announces the 서비스 개시일 (today counts as the announcement day)."""
        self._library(conn, actor, code, NATIONAL, lock=True)
        today = self.clock.today()
        notice = (launch_date - today).days
        if notice < self.rules.launch_notice_days:
            raise DomainError(Code.ONBOARDING_LAUNCH_TOO_SOON, notice_days=notice,
                              required_days=self.rules.launch_notice_days)
        conn.execute(update(libraries).where(libraries.c.code == code).values(
            launch_date=launch_date, launch_announced_on=today))
        audit.record(conn, actor, "onboarding.launch_date", "library", code, self.clock.now(),
                     {"launch_date": launch_date.isoformat()}, code)
        return {"code": code, "launch_date": launch_date.isoformat(),
                "announced_on": today.isoformat()}


def _passed(stage: str, status: str, held_at: str | None) -> bool:
    """The library has reached `stage` or gone beyond it, logged or not (a library can
    enter the network at a later stage): never overdue. After launch, or withdrawn,
    nothing is left to be late for."""
    at = held_at or status
    if at in ob.ORDER:
        return ob.ORDER.index(stage) <= ob.ORDER.index(at)
    return status in (ob.Stage.SUSPENDED, ob.Stage.WITHDRAWN)


def _held_at(log) -> str | None:  # noqa: ANN001
    """The stage an on-hold library stood at: the last logged stage before the hold."""
    for entry in reversed(log):
        if entry.stage != ob.Stage.ON_HOLD:
            return entry.stage
    return None


def _z(moment) -> str:  # noqa: ANN001
    return moment.isoformat() + "Z"
