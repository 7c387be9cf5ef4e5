"""Console: the onboarding workflow (issue 11, domain.md section 7).

- `/console/onboarding`: the pipeline board. Libraries by stage with the party that must
  act and the overdue flag, and the timeline of planned against actual dates (web/
  timeline.py). A national admin sees the network (filter by region), a regional admin
  the region (the service's to-do rule scopes it), a librarian goes to their own page.
- `/console/onboarding/{code}`: one library's onboarding. It shows the stage, the
  responsible party, the moves an admin may make (with a reason and a confirmation),
  the checklists, the linked systems, the conformance reports, the documents
  (services/onboarding_docs.py: upload, download, remove), the connector package
  (services/connector_package.py: from `registered` on; placeholders for anyone who may
  read the page, new sandbox credentials only for its admins and only after a
  confirmation that says so), the schedule (세부일정), the launch date and the history. The service decides who may read or change what
  (services/onboarding.py). A refusal renders its Korean message: a 403 page for a
  library the user may not see, a flash message for a refused change.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse, JSONResponse, Response

from ..conformance.report import load_report, to_html
from ..domain import onboarding as ob
from ..domain.errors import Code, DomainError
from ..services import connector_package as pkg
from ..services.context import Actor, Role
from ..services.onboarding import NATIONAL_TARGETS
from ..services.onboarding_access import PLAN, may
from ..services.vendors import may_assign
from .common import (
    Forbidden,
    console_user,
    flash,
    flash_refusal,
    form_data,
    hub_of,
    local_time,
    redirect,
    region_name,
    render,
    templates,
    unconfirmed,
)
from .i18n import label, pick_lang, translate
from .timeline import Point, Row, Words, timeline_svg

router = APIRouter(prefix="/console/onboarding")
templates.env.filters["who"] = lambda label: (label or "").removeprefix("staff:")
BOARD = "/console/onboarding"
COLUMNS = [*ob.ORDER[:-1], ob.Stage.ON_HOLD]  # libraries still joining; live ones are counted
COUNTED = (ob.Stage.LIVE, ob.Stage.SUSPENDED, ob.Stage.WITHDRAWN)
REPORT_BYTES = 1 << 20  # a kit report is tens of kB; the body cap is 1 MiB anyway


def _day(value: str | None) -> date | None:
    """An ISO date, or a UTC moment ('...Z') as its Seoul date."""
    if not value:
        return None
    return date.fromisoformat(local_time(value, False) if value.endswith("Z") else value)


def _words(lang: str) -> Words:
    t = lambda key: translate(key, lang)  # noqa: E731
    return Words(title=t("onb.timeline"), planned=t("onb.planned"), actual=t("onb.actual"),
                 late=t("onb.overdue"), today=t("onb.today"), month=t("onb.month"),
                 summary=t("onb.timeline_summary"))


def _row(view: dict[str, Any], lang: str) -> Row:
    return Row(view["code"], view["name"], [
        Point(n, label("stage", p["stage"], lang), _day(p["planned_on"]), _day(p["reached_at"]),
              p["overdue"])
        for n, p in enumerate(view["plan"], start=1)])


# -- the board ------------------------------------------------------------------------------
@router.get("")
def board(request: Request, actor: Actor = Depends(console_user), region: str = "") -> Response:
    if actor.role == Role.LIBRARIAN and actor.library_code:
        return redirect(f"{BOARD}/{actor.library_code}")
    if actor.role not in (Role.NATIONAL_ADMIN, Role.REGIONAL_ADMIN, Role.VENDOR):
        raise Forbidden()
    hub = hub_of(request)
    vendor = actor.role == Role.VENDOR  # its libraries only (the service's to-do rule)
    if actor.role == Role.REGIONAL_ADMIN:
        region = actor.region_code or ""
    elif vendor:
        region = ""
    region = region.strip()[:20]
    todo = hub.onboarding.todo(actor, region or None)["items"]
    # the timeline needs each library's plan and history (the to-do carries neither)
    views = {it["code"]: hub.onboarding.view(actor, it["code"]) for it in todo}
    lang = pick_lang(request)
    columns = [{"stage": str(s), "items": [it for it in todo if it["stage"] == s]}
               for s in COLUMNS]
    counts = [] if vendor else [{"stage": str(s), "count": hub.network.libraries(
        region=region or None, status=str(s), limit=1)["total"]} for s in COUNTED]
    rows = [_row(views[it["code"]], lang) for it in todo]
    today = hub.clock.today()
    return render(request, "console_onboarding.html", {
        "columns": columns, "counts": counts, "items": todo, "views": views,
        # a vendor's home: what it must do itself, for its libraries
        "mine": [it for it in todo if it["party"] == ob.Party.VENDOR] if vendor else None,
        "region": region,
        "regions": hub.network.regions() if actor.role == Role.NATIONAL_ADMIN else [],
        "overdue": sum(1 for it in todo if it["overdue"]),
        "chart": timeline_svg(rows, today, _words(lang)) if rows else None,
        "stages": [str(s) for s in ob.ORDER]})


# -- one library ----------------------------------------------------------------------------
def _view(request: Request, actor: Actor, code: str) -> dict[str, Any]:
    """The library's onboarding if the actor may read it; else the refusal page (403
    with the Korean message: another library's page is never shown)."""
    return hub_of(request).onboarding.view(actor, code[:10])


def _is_admin(actor: Actor, view: dict[str, Any]) -> bool:
    return actor.role == Role.NATIONAL_ADMIN or (
        actor.role == Role.REGIONAL_ADMIN and actor.region_code == view["region_code"])


@router.get("/{code}")
def library_page(request: Request, code: str, actor: Actor = Depends(console_user)) -> Response:
    view = _view(request, actor, code)
    hub = hub_of(request)
    today = hub.clock.today()
    national = actor.role == Role.NATIONAL_ADMIN
    moves = [s for s in view["allowed_next"]
             if (_is_admin(actor, view) and (national or s not in NATIONAL_TARGETS))
             or (actor.role == Role.VENDOR and ob.vendor_may_move(view["stage"], s))]
    reports = [{**r, "age_days": (today - _day(r["finished_at"])).days} for r in view["reports"]]
    lang = pick_lang(request)
    return render(request, "console_onboarding_library.html", {
        "v": view, "national": national, "moves": moves, "reports": reports,
        "rules": hub.onboarding.rules, "kinds": ob.SYSTEM_KINDS,
        "region_label": region_name(request, view["region_code"]),
        "chart": timeline_svg([_row(view, lang)], today, _words(lang)),
        "item_label": lambda key: getattr(ob.ITEMS[key][1], "en" if lang == "en" else "ko"),
        "docs": hub.documents.list(actor, view["code"]),
        "package": {"adapters": pkg.ADAPTERS, "may_issue": _is_admin(actor, view)}
        if view["stage"] in pkg.READY else None, **_vendor_block(hub, actor, view)})


def _vendor_block(hub: Any, actor: Actor, view: dict[str, Any]) -> dict[str, Any]:  # noqa: ANN401
    """The library's vendor (사업자), the choices when this user may choose it, and
    whether the schedule is a form for this user (the rules: services/vendors.py and
    services/onboarding_access.py)."""
    registry = hub.vendors.list(actor)
    return {"vendor": next((x for x in registry if x["brn"] == view["vendor"]), None),
            "vendor_choices": registry if may_assign(actor, view) else [],
            "may_plan": may(actor, PLAN, view["code"], view["region_code"], view["vendor"])}


def _back(code: str, anchor: str) -> str:
    return f"{BOARD}/{code}#{anchor}"


@router.post("/{code}/move")
def move(request: Request, code: str, actor: Actor = Depends(console_user),
         form: Any = Depends(form_data)) -> Response:
    view = _view(request, actor, code)
    if not (_is_admin(actor, view) or actor.role == Role.VENDOR):  # the vendor: its steps
        raise DomainError(Code.FORBIDDEN, library_code=view["code"], action="move")
    target = str(form.get("target", ""))[:20]
    if ask := unconfirmed(request, form, "confirm.onboarding_move", _back(code, "moves")):
        return ask
    with flash_refusal(request):
        result = hub_of(request).onboarding.move(actor, view["code"], target,
                                                 str(form.get("reason", "")).strip()[:500])
        flash(request, "ok", "onb.moved", result["label"])
    return redirect(_back(view["code"], "moves"))


@router.post("/{code}/checks")
def tick(request: Request, code: str, actor: Actor = Depends(console_user),
         form: Any = Depends(form_data)) -> Response:
    view = _view(request, actor, code)
    item = str(form.get("item", ""))[:60]
    with flash_refusal(request):
        hub_of(request).onboarding.tick(actor, view["code"], item, form.get("done") == "yes",
                                        str(form.get("note", "")).strip()[:500])
        flash(request, "ok", "onb.saved", ob.ITEMS[item][1].ko if item in ob.ITEMS else "")
    stage = ob.ITEMS[item][0] if item in ob.ITEMS else ""
    return redirect(_back(view["code"], f"checklist-{stage}"))


@router.post("/{code}/systems")
def put_system(request: Request, code: str, actor: Actor = Depends(console_user),
               form: Any = Depends(form_data)) -> Response:
    view = _view(request, actor, code)
    name = str(form.get("name", ""))[:80]
    with flash_refusal(request):
        hub_of(request).onboarding.put_system(
            actor, view["code"], name, str(form.get("kind", ""))[:20],
            form.get("integrated") == "yes", form.get("tested") == "yes")
        flash(request, "ok", "onb.saved", name.strip())
    return redirect(_back(view["code"], "systems"))


@router.post("/{code}/systems/remove")
def remove_system(request: Request, code: str, actor: Actor = Depends(console_user),
                  form: Any = Depends(form_data)) -> Response:
    view = _view(request, actor, code)
    name = str(form.get("name", ""))[:80]
    if ask := unconfirmed(request, form, "confirm.remove_system", _back(code, "systems")):
        return ask
    with flash_refusal(request):
        hub_of(request).onboarding.remove_system(actor, view["code"], name)
        flash(request, "ok", "onb.removed", name)
    return redirect(_back(view["code"], "systems"))


def _file_of(form: Any) -> Any:  # noqa: ANN401
    """The form's uploaded `file`, or VALIDATION_ERROR when none was chosen."""
    upload = form.get("file")
    if not hasattr(upload, "read") or not upload.filename:
        raise DomainError(Code.VALIDATION_ERROR, field="file")
    return upload


@router.post("/{code}/reports")
def upload_report(request: Request, code: str, actor: Actor = Depends(console_user),
                  form: Any = Depends(form_data)) -> Response:
    view = _view(request, actor, code)
    with flash_refusal(request):
        upload = _file_of(form)
        data = upload.file.read(REPORT_BYTES + 1)
        try:
            if len(data) > REPORT_BYTES:
                raise ValueError("too large")
            report = json.loads(data.decode("utf-8-sig"))
        except ValueError:  # not UTF-8 or not JSON (the service checks the kit's schema)
            raise DomainError(Code.ONBOARDING_REPORT_INVALID, field="file") from None
        if not isinstance(report, dict):
            raise DomainError(Code.ONBOARDING_REPORT_INVALID, field="file")
        stored = hub_of(request).onboarding.store_report(actor, view["code"], report)
        flash(request, "ok", "onb.report_stored", label("verdict", stored["result"],
                                                       pick_lang(request)))
    return redirect(_back(view["code"], "reports"))


@router.get("/{code}/reports/{report_id}")
def show_report(request: Request, code: str, report_id: int, format: str = "",  # noqa: A002
                actor: Actor = Depends(console_user)) -> Response:
    """The stored report as the kit renders it (HTML), or its JSON."""
    view = _view(request, actor, code)
    if not 0 < report_id < 2**31:
        raise DomainError(Code.NOT_FOUND, report_id=report_id)
    doc = hub_of(request).onboarding.report(actor, view["code"], report_id)
    if format == "json":
        return JSONResponse(doc, headers={
            "Content-Disposition": f'attachment; filename="conformance-{view["code"]}-'
                                   f'{report_id}.json"'})
    # the kit's self-contained page carries its own <style>: allow that, and nothing else
    return Response(to_html(load_report(json.dumps(doc))), media_type="text/html; charset=utf-8",
                    headers={"Content-Security-Policy":
                             "default-src 'none'; style-src 'unsafe-inline'"})


@router.post("/{code}/plan")
def set_plan(request: Request, code: str, actor: Actor = Depends(console_user),
             form: Any = Depends(form_data)) -> Response:
    view = _view(request, actor, code)
    with flash_refusal(request):
        planned: dict[str, date] = {}
        for stage in ob.ORDER:
            raw = str(form.get(f"plan_{stage}", "")).strip()[:10]
            if raw:
                try:
                    planned[str(stage)] = date.fromisoformat(raw)
                except ValueError:
                    raise DomainError(Code.VALIDATION_ERROR, field=f"plan_{stage}") from None
        hub_of(request).onboarding.set_plan(actor, view["code"], planned)
        flash(request, "ok", "onb.plan_saved")
    return redirect(_back(view["code"], "plan"))


@router.post("/{code}/launch")
def announce_launch(request: Request, code: str, actor: Actor = Depends(console_user),
                    form: Any = Depends(form_data)) -> Response:
    view = _view(request, actor, code)
    raw = str(form.get("launch_date", "")).strip()[:10]
    if ask := unconfirmed(request, form, "confirm.announce_launch", _back(code, "launch")):
        return ask
    with flash_refusal(request):
        try:
            day = datetime.strptime(raw, "%Y-%m-%d").date()
        except ValueError:
            raise DomainError(Code.VALIDATION_ERROR, field="launch_date") from None
        result = hub_of(request).onboarding.announce_launch(actor, view["code"], day)
        flash(request, "ok", "onb.launch_announced", result["launch_date"])
    return redirect(_back(view["code"], "launch"))


# -- documents (services/onboarding_docs.py) -----------------------------------------------
@router.post("/{code}/documents")
def upload_document(request: Request, code: str, actor: Actor = Depends(console_user),
                    form: Any = Depends(form_data)) -> Response:
    view = _view(request, actor, code)
    with flash_refusal(request):
        upload = _file_of(form)
        doc = hub_of(request).documents.upload(
            actor, view["code"], upload.file, upload.filename,
            kind=str(form.get("kind", "other"))[:30],
            note=str(form.get("note", "")).strip()[:500])
        flash(request, "ok", "onb.document_stored", doc["filename"])
    return redirect(_back(view["code"], "documents"))


@router.get("/{code}/documents/{doc_id}")
def download_document(request: Request, code: str, doc_id: int,
                      actor: Actor = Depends(console_user)) -> Response:
    """The file as uploaded, as an attachment (never shown inline)."""
    view = _view(request, actor, code)
    if not 0 < doc_id < 2**31:
        raise DomainError(Code.NOT_FOUND, document_id=doc_id)
    doc, path = hub_of(request).documents.open(actor, view["code"], doc_id)
    return FileResponse(path, media_type=doc["media_type"], filename=doc["filename"],
                        content_disposition_type="attachment")


@router.post("/{code}/documents/remove")
def remove_document(request: Request, code: str, actor: Actor = Depends(console_user),
                    form: Any = Depends(form_data)) -> Response:
    view = _view(request, actor, code)
    raw = str(form.get("document", ""))[:10]
    if ask := unconfirmed(request, form, "confirm.remove_document", _back(code, "documents")):
        return ask
    with flash_refusal(request):
        if not raw.isdigit():
            raise DomainError(Code.NOT_FOUND, document=raw)
        hub_of(request).documents.remove(actor, view["code"], int(raw))
        flash(request, "ok", "onb.removed")
    return redirect(_back(view["code"], "documents"))


# -- the connector package (services/connector_package.py) --------------------------------
@router.post("/{code}/connector-package")
def connector_package(request: Request, code: str, actor: Actor = Depends(console_user),
                      form: Any = Depends(form_data)) -> Response:
    """The package as a zip attachment. With issue_credentials=yes (the library's admins)
    it carries new sandbox credentials: asked for only after the confirmation that says
    so (the existing keys stay valid; a live key is never touched)."""
    view = _view(request, actor, code)
    issue = form.get("issue_credentials") == "yes"
    if issue and (ask := unconfirmed(request, form, "confirm.package_issue",
                                     _back(code, "package"))):
        return ask
    with flash_refusal(request):
        package = hub_of(request).connector_packages.build(
            actor, view["code"], str(request.base_url).rstrip("/"),
            adapter=str(form.get("adapter", "manual"))[:20], issue_credentials=issue)
        return Response(package.content, media_type="application/zip", headers={
            "Content-Disposition": f'attachment; filename="{package.filename}"',
            "Cache-Control": "no-store"})
    return redirect(_back(view["code"], "package"))


# -- the library's vendor (services/vendors.py) ----------------------------------------------
@router.post("/{code}/vendor")
def assign_vendor(request: Request, code: str, actor: Actor = Depends(console_user),
                  form: Any = Depends(form_data)) -> Response:
    view = _view(request, actor, code)
    brn = str(form.get("brn", "")).strip()[:14]
    with flash_refusal(request):
        result = hub_of(request).vendors.assign(actor, view["code"], brn or None)
        flash(request, "ok", "vendor.assigned",
              result["vendor"]["name"] if result["vendor"] else "")
    return redirect(_back(view["code"], "vendor"))
