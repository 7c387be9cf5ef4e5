"""Staff console: dashboard, regional centers, libraries (policy, calendar, credentials,
onboarding), members, transit queues and the audit log. Every page is scoped:
national admins see the network, regional admins their region, librarians their
library."""

from __future__ import annotations

import csv
import io
from dataclasses import fields
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from ..domain.errors import Code, DomainError
from ..domain.onboarding import LABELS as STAGE_LABELS
from ..domain.onboarding import allowed_next
from ..domain.policy import NATIONAL_ONLY, Policy, sets_national_only
from ..services.access import Op
from ..services.context import Actor, Role, to_utc_naive
from ..services.printing import member_card_pdf
from .codes import code128_svg
from .common import (
    Forbidden,
    flash,
    flash_error,
    flash_refusal,
    form_data,
    hub_of,
    redirect,
    region_name,
    render,
    staff,
    stats_of,
    toggle_staff,
    unconfirmed,
)
from .desk import CLASSES
from .i18n import label, pick_lang

router = APIRouter(prefix="/console")
PAGE = 50
SEARCH_LIMIT = 15  # each hit is a full member view (masked per role)
DASH_TABLES = ("per_day", "per_region", "per_library", "stages", "summary")


# -- scope --------------------------------------------------------------------------------
def scope(actor: Actor) -> tuple[str | None, str | None]:
    """(region, library) the actor is limited to; (None, None) for the whole network."""
    if actor.role == Role.NATIONAL_ADMIN:
        return None, None
    if actor.role == Role.REGIONAL_ADMIN:
        return actor.region_code, None
    return None, actor.library_code


def can_admin_library(actor: Actor, region_code: str | None) -> bool:
    return actor.role == Role.NATIONAL_ADMIN or (
        actor.role == Role.REGIONAL_ADMIN and actor.region_code == region_code)


def can_view_library(actor: Actor, code: str, region_code: str | None) -> bool:
    if can_admin_library(actor, region_code):
        return True
    return actor.role == Role.LIBRARIAN and actor.library_code == code


def _library_or_403(request: Request, actor: Actor, code: str, admin: bool) -> str:
    region = stats_of(request).library_region(code)
    if region is None:
        raise DomainError(Code.LIBRARY_UNKNOWN, library_code=code[:10])
    allowed = can_admin_library(actor, region) if admin else can_view_library(actor, code, region)
    if not allowed:
        raise Forbidden()
    return region


def csv_response(name: str, rows: list[dict[str, Any]], columns: list[str]) -> Response:
    out = io.StringIO()
    out.write("\ufeff")  # BOM so spreadsheet programs read the Korean text as UTF-8
    writer = csv.DictWriter(out, fieldnames=columns, extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: _cell(row.get(k)) for k in columns})
    return Response(out.getvalue(), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}.csv"'})


def _cell(value: Any) -> Any:
    text = "" if value is None else str(value)
    # no formula injection when the file is opened in a spreadsheet
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


def _date(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


# -- dashboard ----------------------------------------------------------------------------
def _dashboard_data(request: Request, actor: Actor) -> dict[str, Any]:
    q = request.query_params
    region, library = scope(actor)
    if actor.role == Role.NATIONAL_ADMIN and q.get("region"):
        region = q.get("region")
    stats = stats_of(request)
    since, until = _date(q.get("since")), _date(q.get("until"))
    if not (since and until):
        try:
            days = int(q.get("days", "30"))
        except ValueError:
            days = 30
        since, until = stats.period(days)
    return stats.dashboard(since, until, region=region, library=library,
                           top=0 if q.get("format") == "csv" else 20)


@router.get("")
def dashboard(request: Request, actor: Actor = Depends(staff)) -> Response:
    data = _dashboard_data(request, actor)
    regions = hub_of(request).network.regions() if actor.role == Role.NATIONAL_ADMIN else []
    lang = pick_lang(request)
    for row in data["per_region"]:  # the chart's labels, in the page's language
        row["name"] = region_name(request, row["region"])
    for row in data["stages"]:
        row["label"] = label("stage", row["stage"], lang)
    return render(request, "console_dashboard.html", {"d": data, "regions": regions})


@router.get("/export.csv")
def dashboard_csv(request: Request, table: str = "per_day",
                  actor: Actor = Depends(staff)) -> Response:
    if table not in DASH_TABLES:
        raise DomainError(Code.VALIDATION_ERROR, field="table")
    d = _dashboard_data(request, actor)
    if table == "per_day":
        return csv_response("loans_per_day", d["per_day"], ["day", "loans", "returns"])
    if table == "per_region":
        return csv_response("loans_per_region", d["per_region"], ["region", "name", "loans"])
    if table == "per_library":
        return csv_response("loans_per_library", d["per_library"],
                            ["code", "name", "region", "loans"])
    if table == "stages":
        return csv_response("libraries_by_stage", d["stages"], ["stage", "label", "count"])
    summary = [{"metric": "loans", "value": d["totals"]["loans"]},
               {"metric": "returns", "value": d["totals"]["returns"]},
               {"metric": "loans_to_members_from_elsewhere", "value": d["elsewhere"]["elsewhere"]},
               {"metric": "share_from_elsewhere_percent", "value": d["elsewhere"]["share"]},
               {"metric": "active_suspensions", "value": d["active_suspensions"]},
               {"metric": "transits_received", "value": d["transits"]["received"]},
               {"metric": "transits_sent", "value": d["transits"]["sent"]}]
    return csv_response("summary", summary, ["metric", "value"])


# -- regional centers and libraries -----------------------------------------------------------
@router.get("/centers")
def centers(request: Request, actor: Actor = Depends(staff)) -> Response:
    hub = hub_of(request)
    region, _ = scope(actor)
    regions = hub.network.regions()
    if region:
        regions = [r for r in regions if r["code"] == region]
    rows = hub.network.centers(region)
    if request.query_params.get("format") == "csv":
        return csv_response("regional_centers", rows,
                            ["region_code", "region_name", "name", "host_library", "phone"])
    return render(request, "console_centers.html", {"centers": rows, "regions": regions})


@router.get("/libraries")
def libraries(request: Request, actor: Actor = Depends(staff), q: str = "",
              region: str = "", status: str = "", page: int = 1) -> Response:
    hub = hub_of(request)
    forced_region, own = scope(actor)
    if own:  # a librarian sees the libraries of their own region
        forced_region = stats_of(request).library_region(own)
    region = forced_region or region or None
    page = max(1, page)
    as_csv = request.query_params.get("format") == "csv"
    result = hub.network.libraries(region=region, query=q.strip()[:60] or None,
                                   status=status or None, limit=5000 if as_csv else PAGE,
                                   offset=0 if as_csv else (page - 1) * PAGE)
    if as_csv:
        return csv_response("libraries", result["items"],
                            ["code", "name", "region_code", "center", "status", "status_label",
                             "ils", "live_since"])
    for lib in result["items"]:  # no links to pages that would answer 403
        lib["viewable"] = can_view_library(actor, lib["code"], lib["region_code"])
    return render(request, "console_libraries.html", {
        "result": result, "q": q, "region": region or "", "status": status, "page": page,
        "pages": max(1, -(-result["total"] // PAGE)),
        "regions": hub.network.regions() if not forced_region else [],
        "stages": [str(k) for k in STAGE_LABELS]})


def _library_context(request: Request, actor: Actor, code: str) -> dict[str, Any]:
    hub = hub_of(request)
    region = _library_or_403(request, actor, code, admin=False)
    lib = hub.network.library(code)
    admin = can_admin_library(actor, region)
    ctx: dict[str, Any] = {"lib": lib, "admin": admin, "next_stages": [], "keys": [],
                           "terminals": []}
    if admin:
        ctx["next_stages"] = [str(s) for s in allowed_next(lib["status"])]
        ctx["keys"] = hub.credentials.list_api_keys(actor, "library", code)
        ctx["terminals"] = hub.credentials.list_terminals(actor, code)
        ctx["staff_accounts"] = hub.credentials.list_staff(actor, code)
    return ctx


@router.get("/libraries/{code}")
def library_detail(request: Request, code: str, actor: Actor = Depends(staff)) -> Response:
    return render(request, "console_library.html", _library_context(request, actor, code))


@router.post("/libraries/{code}/stage")
def advance_stage(request: Request, code: str, actor: Actor = Depends(staff),
                  form: Any = Depends(form_data)) -> Response:
    _library_or_403(request, actor, code, admin=True)
    with flash_refusal(request):
        result = hub_of(request).onboarding.move(
            actor, code, str(form.get("target", "")), str(form.get("note", ""))[:500])
        flash(request, "ok", "common.done", result["label"])
        issued = result.get("sandbox_credentials")
        if issued:  # shown this once (registration): the secrets are stored only hashed
            flash(request, "ok", "onboarding.sandbox_issued",
                  f"API key {issued['api_key']} · SIP2 {issued['terminal']['login']} / "
                  f"{issued['terminal']['password']}")
    return redirect(f"/console/libraries/{code}")


@router.post("/libraries/{code}/calendar")
def set_calendar(request: Request, code: str, actor: Actor = Depends(staff),
                 form: Any = Depends(form_data)) -> Response:
    _library_or_403(request, actor, code, admin=True)
    hub = hub_of(request)
    with flash_refusal(request):
        weekdays = sorted({int(v) for v in form.getlist("weekday") if str(v).isdigit()})
        days = []
        for line in str(form.get("closed_dates", "")).splitlines()[:400]:
            line = line.strip()
            if not line:
                continue
            day, _, reason = line.partition(" ")
            parsed = _date(day)
            if parsed is None:
                raise DomainError(Code.VALIDATION_ERROR, field="closed_dates", value=day[:20])
            days.append((parsed, reason.strip()))
        hub.network.update_library(actor, code, {"closed_weekdays": weekdays})
        hub.network.set_closed_dates(actor, code, days)
        flash(request, "ok", "common.done")
    return redirect(f"/console/libraries/{code}#calendar")


@router.post("/libraries/{code}/keys")
def create_key(request: Request, code: str, actor: Actor = Depends(staff),
               form: Any = Depends(form_data)) -> Response:
    _library_or_403(request, actor, code, admin=True)
    try:
        created = hub_of(request).credentials.create_api_key(
            actor, "library", code, label=str(form.get("label", ""))[:100],
            environment=str(form.get("environment", "live")))
    except DomainError as err:
        flash_error(request, err)
        return redirect(f"/console/libraries/{code}#credentials")
    # The plain key is shown once, in this response only (never put in the cookie).
    ctx = _library_context(request, actor, code)
    ctx["new_key"] = created
    return render(request, "console_library.html", ctx)


@router.post("/libraries/{code}/keys/{key_id}/revoke")
def revoke_key(request: Request, code: str, key_id: str, actor: Actor = Depends(staff),
               form: Any = Depends(form_data)) -> Response:
    _library_or_403(request, actor, code, admin=True)
    hub = hub_of(request)
    if key_id not in {k["key_id"] for k in hub.credentials.list_api_keys(actor, "library", code)}:
        raise Forbidden()
    if ask := unconfirmed(request, form, "confirm.revoke_key",
                          f"/console/libraries/{code}#credentials"):
        return ask
    with flash_refusal(request):
        hub.credentials.revoke_api_key(actor, key_id)
        flash(request, "ok", "net.revoked", key_id)
    return redirect(f"/console/libraries/{code}#credentials")


@router.post("/libraries/{code}/terminals")
def create_terminal(request: Request, code: str, actor: Actor = Depends(staff),
                    form: Any = Depends(form_data)) -> Response:
    _library_or_403(request, actor, code, admin=True)
    with flash_refusal(request):
        hub_of(request).credentials.create_terminal(
            actor, code, str(form.get("login", "")).strip()[:60],
            str(form.get("password", ""))[:200], label=str(form.get("label", ""))[:100],
            encoding=str(form.get("encoding", "utf-8")))
        flash(request, "ok", "common.done", str(form.get("login", ""))[:60])
    return redirect(f"/console/libraries/{code}#credentials")


@router.post("/libraries/{code}/terminals/{login}/unlock")
def unlock_terminal(request: Request, code: str, login: str, actor: Actor = Depends(staff)
                    ) -> Response:
    _library_or_403(request, actor, code, admin=True)
    with flash_refusal(request):
        hub_of(request).credentials.unlock_terminal(actor, code, login)
        flash(request, "ok", "common.done", login)
    return redirect(f"/console/libraries/{code}#credentials")


@router.post("/libraries/{code}/staff/{username}/{action}")
def set_staff_disabled(request: Request, code: str, username: str, action: str,
                       actor: Actor = Depends(staff)) -> Response:
    """Disable (ends the account's sessions at once) or re-enable a librarian account."""
    _library_or_403(request, actor, code, admin=True)
    listed = hub_of(request).credentials.list_staff(actor, code)
    return toggle_staff(request, actor, username, action, listed,
                        f"/console/libraries/{code}#credentials")


@router.post("/libraries/{code}/terminals/{login}/revoke")
def revoke_terminal(request: Request, code: str, login: str, actor: Actor = Depends(staff),
                    form: Any = Depends(form_data)) -> Response:
    _library_or_403(request, actor, code, admin=True)
    hub = hub_of(request)
    if login not in {t["login"] for t in hub.credentials.list_terminals(actor, code)}:
        raise Forbidden()
    if ask := unconfirmed(request, form, "confirm.revoke_terminal",
                          f"/console/libraries/{code}#credentials"):
        return ask
    with flash_refusal(request):
        hub.credentials.revoke_terminal(actor, login)
        flash(request, "ok", "net.revoked", login)
    return redirect(f"/console/libraries/{code}#credentials")


# -- circulation policy -----------------------------------------------------------------------
POLICY_LEVELS = ("national", "region", "library")
POLICY_FIELDS = [(f.name, getattr(Policy(), f.name)) for f in fields(Policy)]


def _policy_scope(request: Request, actor: Actor, level: str, wanted: str) -> tuple[str, bool]:
    """(scope, may edit) of a policy page. Who may change what mirrors Network.set_policy,
    which decides on every save; this only keeps the page from offering a form that
    would be refused."""
    if level == "national":
        return "", actor.role == Role.NATIONAL_ADMIN
    if level == "region":
        code = wanted or actor.region_code or ""
        return code, actor.role == Role.NATIONAL_ADMIN or (
            actor.role == Role.REGIONAL_ADMIN and actor.region_code == code)
    code = wanted or actor.library_code or ""
    region = stats_of(request).library_region(code)
    return code, region is not None and can_admin_library(actor, region)


def _policy_settings(form: Any) -> dict[str, Any]:
    """The form's non-blank fields, typed like the Policy defaults (blank = inherit)."""
    settings: dict[str, Any] = {}
    for name, default in POLICY_FIELDS:
        raw = str(form.get(name, "")).strip()[:20]
        if not raw:
            continue
        try:
            if isinstance(default, bool):
                if raw not in ("true", "false"):
                    raise ValueError(raw)
                settings[name] = raw == "true"
            elif isinstance(default, StrEnum):
                settings[name] = raw  # the service checks the choice
            elif isinstance(default, float):
                settings[name] = float(raw)
            else:
                settings[name] = int(raw)
        except ValueError:
            raise DomainError(Code.POLICY_INVALID, key=name, value=raw) from None
    return settings


@router.get("/policy")
def policy_page(request: Request, actor: Actor = Depends(staff), level: str = "",
                scope: str = "", region: str = "", library: str = "",
                member_class: str = "") -> Response:
    if actor.role not in (Role.NATIONAL_ADMIN, Role.REGIONAL_ADMIN):
        raise Forbidden()
    if level not in POLICY_LEVELS:
        level = "national" if actor.role == Role.NATIONAL_ADMIN else "region"
    if member_class not in CLASSES:
        member_class = ""
    hub = hub_of(request)
    wanted = scope or {"region": region, "library": library}.get(level, "")
    code, editable = _policy_scope(request, actor, level, wanted.strip()[:10])
    current = hub.network.get_policy(level, code, member_class)["settings"]
    effective = {}
    if level == "library" and stats_of(request).library_region(code) is not None:
        effective = hub.registry.policy(code, member_class).as_dict()
    return render(request, "console_policy.html", {
        "level": level, "scope": code, "member_class": member_class, "editable": editable,
        "current": current, "effective": effective, "levels": POLICY_LEVELS,
        "classes": CLASSES, "regions": hub.network.regions(),
        # one national number (대출책수제한공유): shown, never editable below it
        "national_only": (frozenset() if sets_national_only(level, member_class)
                          else NATIONAL_ONLY),
        "fields": [(name, default, _kind(default)) for name, default in POLICY_FIELDS]})


def _kind(default: Any) -> tuple[str, list[str]]:
    """How a setting is edited: (kind, choices)."""
    if isinstance(default, bool):
        return "bool", []
    if isinstance(default, StrEnum):
        return "choice", [str(c) for c in type(default)]
    return ("float" if isinstance(default, float) else "int"), []


@router.post("/policy")
def save_policy(request: Request, actor: Actor = Depends(staff),
                form: Any = Depends(form_data)) -> Response:
    level = str(form.get("level", ""))[:10]
    scope_code = str(form.get("scope", "")).strip()[:10]
    member_class = str(form.get("member_class", ""))[:10]
    with flash_refusal(request):
        hub_of(request).network.set_policy(actor, level, scope_code, member_class,
                                           _policy_settings(form))
        flash(request, "ok", "pol.saved")
    query = urlencode({"level": level, "scope": scope_code, "member_class": member_class})
    return redirect(f"/console/policy?{query}")


# -- members ------------------------------------------------------------------------------
@router.get("/members")
def members(request: Request, actor: Actor = Depends(staff), q: str = "") -> Response:
    q = q.strip()[:40]
    found = hub_of(request).members.search(actor, q, SEARCH_LIMIT) if q else []
    return render(request, "console_members.html", {"q": q, "found": found})


@router.get("/members/{number}")
def member_detail(request: Request, number: str, actor: Actor = Depends(staff)) -> Response:
    # the member-data rule (services/access.py) decides; a refusal renders its Korean
    # message (e.g. MEMBER_NOT_JOINED_HERE) with 403
    hub = hub_of(request)
    view = hub.members.get(actor, number, Op.READ)
    # the buttons the rule allows this actor (expulsion: the issuing library or national;
    # a bar: the actor's own library, where the member joined)
    may = {op: hub.members.may(actor, number, op) for op in (Op.EXPEL, Op.BAR)}
    return render(request, "console_member.html", {
        "m": view, "number": number, "may_expel": may[Op.EXPEL],
        "may_bar": may[Op.BAR] and bool(actor.library_code) and view["joined_here"],
        "loans": hub.members.loans(actor, number),
        "suspensions": hub.members.suspension_history(actor, number),
        "audit": hub.audit.search(actor, entity="member", entity_id=number, limit=100)})


# Member actions: a refusal of the member-data rule (services/access.py) renders the 403
# refusal page at once (before any confirmation); other refusals become flash messages.
@router.post("/members/{number}/lost")
def report_lost(request: Request, number: str, actor: Actor = Depends(staff),
                form: Any = Depends(form_data)) -> Response:
    hub_of(request).members.authorize(actor, number, Op.CARD_LOST)  # before asking
    if ask := unconfirmed(request, form, "confirm.report_lost", f"/console/members/{number}"):
        return ask
    with flash_refusal(request):
        hub_of(request).members.report_card_lost(actor, number)
        flash(request, "ok", "mem.lost_done")
    return redirect(f"/console/members/{number}")


@router.post("/members/{number}/lost/lift")
def lift_lost(request: Request, number: str, actor: Actor = Depends(staff)) -> Response:
    hub_of(request).members.authorize(actor, number, Op.LIFT_CARD_LOST)
    with flash_refusal(request):
        hub_of(request).members.lift_card_lost(actor, number)
        flash(request, "ok", "mem.lost_lifted")
    return redirect(f"/console/members/{number}")


@router.post("/members/{number}/card")
def link_card(request: Request, number: str, actor: Actor = Depends(staff),
              form: Any = Depends(form_data)) -> Response:
    hub_of(request).members.authorize(actor, number, Op.LINK_CARD)
    with flash_refusal(request):
        hub_of(request).members.link_card(actor, number, str(form.get("uid", ""))[:64])
        flash(request, "ok", "mem.linked")
    return redirect(f"/console/members/{number}")


def _status_change(request: Request, number: str, actor: Actor, form: Any, op: Op,
                   change: str, done: str, confirm: str | None = None) -> Response:
    """Expel, bar, or lift either, with the form's reason: the rule first, then (for the
    irreversible ones) the confirmation, then the change."""
    members = hub_of(request).members
    members.authorize(actor, number, op)  # before asking
    if confirm and (ask := unconfirmed(request, form, confirm, f"/console/members/{number}")):
        return ask
    with flash_refusal(request):
        getattr(members, change)(actor, number, str(form.get("reason", ""))[:500])
        flash(request, "ok", done)
    return redirect(f"/console/members/{number}")


@router.post("/members/{number}/expel")
def expel(request: Request, number: str, actor: Actor = Depends(staff),
          form: Any = Depends(form_data)) -> Response:
    return _status_change(request, number, actor, form, Op.EXPEL, "expel", "mem.expelled",
                          "confirm.expel")


@router.post("/members/{number}/expel/lift")
def lift_expulsion(request: Request, number: str, actor: Actor = Depends(staff),
                   form: Any = Depends(form_data)) -> Response:
    return _status_change(request, number, actor, form, Op.LIFT_EXPULSION, "lift_expulsion",
                          "mem.expulsion_lifted")


@router.post("/members/{number}/bar")
def bar(request: Request, number: str, actor: Actor = Depends(staff),
        form: Any = Depends(form_data)) -> Response:
    return _status_change(request, number, actor, form, Op.BAR, "bar", "mem.barred",
                          "confirm.bar")


@router.post("/members/{number}/bar/lift")
def lift_bar(request: Request, number: str, actor: Actor = Depends(staff),
             form: Any = Depends(form_data)) -> Response:
    return _status_change(request, number, actor, form, Op.LIFT_BAR, "lift_bar",
                          "mem.bar_lifted")


@router.post("/members/{number}/withdraw")
def withdraw(request: Request, number: str, actor: Actor = Depends(staff),
             form: Any = Depends(form_data)) -> Response:
    hub_of(request).members.authorize(actor, number, Op.WITHDRAW)  # before asking
    if form.get("confirm") != "yes":
        flash_error(request, DomainError(Code.VALIDATION_ERROR, field="confirm"))
        return redirect(f"/console/members/{number}")
    with flash_refusal(request):
        hub_of(request).members.withdraw(actor, number)
        flash(request, "ok", "mem.withdrawn")
    return redirect(f"/console/members/{number}")


@router.get("/members/{number}/print")
def print_card(request: Request, number: str, actor: Actor = Depends(staff)) -> Response:
    view = hub_of(request).members.get(actor, number, Op.READ)
    return render(request, "member_card_print.html", {"m": view, "number": number})


@router.get("/members/{number}/card.pdf")
def print_card_pdf(request: Request, number: str, actor: Actor = Depends(staff)) -> Response:
    view = hub_of(request).members.get(actor, number, Op.READ)
    home = next((j["library_name"] for j in view["libraries"]
                 if j["library_code"] == view["issuing_library"]), view["issuing_library"])
    return Response(member_card_pdf(number, view["name"] or "", home),
                    media_type="application/pdf",
                    headers={"Content-Disposition": "inline; filename=member-card.pdf"})


@router.get("/members/{number}/barcode.svg")
def member_barcode(request: Request, number: str, actor: Actor = Depends(staff)) -> Response:
    hub_of(request).members.get(actor, number, Op.READ)  # must exist, and be in scope
    return Response(code128_svg(number), media_type="image/svg+xml", headers={
        "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'"})


# -- transits -----------------------------------------------------------------------------
def _transit_library(request: Request, actor: Actor, wanted: str) -> str | None:
    region, own = scope(actor)
    if own:
        return own
    if not wanted:
        return None
    _library_or_403(request, actor, wanted, admin=True)
    return wanted


@router.get("/transits")
def transit_queue(request: Request, actor: Actor = Depends(staff),
                  library: str = "", region: str = "") -> Response:
    """One library's queues; a regional admin sees the whole region until a library is
    picked (a national admin picks a region or a library)."""
    hub = hub_of(request)
    code = _transit_library(request, actor, library.strip()[:6])
    own_region, _ = scope(actor)
    area = None if code else (own_region or (region.strip()[:20] or None))
    outgoing = incoming = []
    if code or area:
        outgoing = hub.transits.queue(code, "outgoing", region=area)
        incoming = hub.transits.queue(code, "incoming", region=area)
    if (code or area) and request.query_params.get("format") == "csv":
        rows = [dict(r, direction="outgoing") for r in outgoing] + [
            dict(r, direction="incoming") for r in incoming]
        return csv_response(f"transits_{code or area}", rows, [
            "direction", "id", "item", "title", "from_library", "to_library", "state",
            "courier_fee", "received_at", "sent_at"])
    choices = []
    if actor.role == Role.REGIONAL_ADMIN:  # a region's libraries fit a select box
        choices = hub.network.libraries(region=own_region, limit=1000)["items"]
    names = stats_of(request).library_names(list(
        {r["from_library"] for r in incoming + outgoing}
        | {r["to_library"] for r in incoming + outgoing}))
    regions = hub.network.regions() if actor.role == Role.NATIONAL_ADMIN else []
    return render(request, "console_transits.html", {
        "code": code, "area": area, "outgoing": outgoing, "incoming": incoming,
        "choices": choices, "regions": regions, "names": names})


@router.post("/transits/{transit_id}/{action}")
def move_transit(request: Request, transit_id: int, action: str,
                 actor: Actor = Depends(staff), form: Any = Depends(form_data)) -> Response:
    if action not in ("send", "arrive"):
        raise DomainError(Code.VALIDATION_ERROR, field="action")
    code = _transit_library(request, actor, str(form.get("library", ""))[:6])
    if code is None:
        raise Forbidden()
    acting = actor if actor.role == Role.LIBRARIAN else actor.acting_for(code)
    with flash_refusal(request):
        view = hub_of(request).transits.move(acting, transit_id, action)
        flash(request, "ok", "common.done", f"{view.get('title') or ''} · "
              f"{label('transit', view['state'], pick_lang(request))}")
    back = str(form.get("back", ""))  # the queue the button was on
    if actor.role == Role.LIBRARIAN:
        return redirect("/console/transits")
    if back.startswith("region="):
        return redirect(f"/console/transits?{urlencode({'region': back[7:27]})}")
    return redirect(f"/console/transits?{urlencode({'library': code})}")


# -- audit --------------------------------------------------------------------------------
@router.get("/audit")
def audit(request: Request, actor: Actor = Depends(staff), entity: str = "",
          entity_id: str = "", action: str = "", library: str = "", since: str = "",
          until: str = "", page: int = 1) -> Response:
    start, end = _date(since), _date(until)
    as_csv = request.query_params.get("format") == "csv"
    page = max(1, min(page, 10_000))
    rows = hub_of(request).audit.search(
        actor, entity=entity.strip()[:20] or None, entity_id=entity_id.strip()[:40] or None,
        action=action.strip()[:40] or None, library_code=library.strip()[:6] or None,
        since=_utc(start) if start else None,
        until=_utc(end + timedelta(days=1)) if end else None,
        limit=1000 if as_csv else PAGE + 1, offset=0 if as_csv else (page - 1) * PAGE)
    if as_csv:
        return csv_response("audit", [dict(r, details=str(r["details"])) for r in rows],
                            ["id", "at", "actor", "library_code", "action", "entity",
                             "entity_id", "details"])
    f = {"entity": entity, "entity_id": entity_id, "action": action, "library": library,
         "since": since, "until": until}
    return render(request, "console_audit.html", {
        "rows": rows[:PAGE], "f": f, "page": page, "more": len(rows) > PAGE,
        "filters": urlencode({k: v for k, v in f.items() if v})})


def _utc(day: date) -> datetime:
    """Start of a Seoul day as naive UTC."""
    return to_utc_naive(datetime.combine(day, time()))
