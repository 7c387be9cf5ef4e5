"""Console: a librarian uploads holdings (MARC/CSV) or a member export; the import runs as
a background job (chaekieum.jobs, huey) and its page shows the progress, the validation
report, and the labels or cards to print for what it brought in."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response

from ..domain.errors import Code, DomainError
from ..domain.imports import MEMBER_FIELDS, Problem, ShelfMarks, message
from ..jobs import Jobs
from ..services.context import Actor, Role
from ..services.import_sources import FORMATS, guess_format
from ..services.imports import write_report
from ..services.printing import label_sheet_pdf, layout, member_cards_pdf
from .common import Forbidden, flash_error, form_data, hub_of, redirect, render, staff

router = APIRouter(prefix="/console/imports")
UPLOAD_PATH = "/console/imports"  # its body cap: UPLOADS in web/__init__.py
PROBLEMS_SHOWN = 100


def jobs_of(request: Request) -> Jobs:
    """The job queue, made on first use (pages that never import never open it)."""
    state = request.app.state
    if getattr(state, "jobs", None) is None:
        state.jobs = Jobs(hub_of(request))
    return state.jobs


def librarian(actor: Actor = Depends(staff)) -> Actor:
    """Imports belong to one library: its librarians run them."""
    if actor.role != Role.LIBRARIAN or not actor.library_code:
        raise Forbidden()
    return actor


@router.get("")
def imports_page(request: Request, actor: Actor = Depends(librarian)) -> Response:
    batches = [{**b, "created_at": b["created_at"].isoformat() + "Z"}
               for b in hub_of(request).imports.batches(actor.library_code)]
    return render(request, "console_imports.html", {
        "batches": batches, "formats": FORMATS, "fields": list(MEMBER_FIELDS),
        "not_loanable": ",".join(sorted(ShelfMarks().not_loanable))})


@router.post("")
async def upload(request: Request, actor: Actor = Depends(librarian)) -> Response:
    form = await form_data(request)
    upload_file = form.get("file")
    kind = form.get("kind")
    if kind not in ("holdings", "members") or not hasattr(upload_file, "read") \
            or not upload_file.filename:
        flash_error(request, DomainError(Code.VALIDATION_ERROR, field="file"))
        return redirect(UPLOAD_PATH)
    jobs = jobs_of(request)
    name = Path(upload_file.filename).name[:200]
    options: dict[str, Any] = {}
    if kind == "holdings":
        fmt = form.get("format") or guess_format(name)
        if fmt not in FORMATS:
            flash_error(request, DomainError(Code.VALIDATION_ERROR, field="format"))
            return redirect(UPLOAD_PATH)
        options["format"] = fmt
        marks = str(form.get("not_loanable") or "")
        options["not_loanable"] = sorted(ShelfMarks.parse(marks).not_loanable)
    else:
        options["mapping"] = {f: str(form.get(f"map_{f}")).strip() for f in MEMBER_FIELDS
                              if str(form.get(f"map_{f}") or "").strip()}

    def blocks() -> Any:
        upload_file.file.seek(0)
        while block := upload_file.file.read(1 << 20):
            yield block
    path = jobs.save_upload(blocks(), Path(name).suffix)
    batch_id = jobs.submit(actor, kind, path, name, options)
    return redirect(f"{UPLOAD_PATH}/{batch_id}")


def _batch(request: Request, actor: Actor, batch_id: int) -> dict[str, Any]:
    try:
        return hub_of(request).imports.batch(batch_id, actor.library_code)
    except DomainError:
        raise Forbidden() from None


@router.get("/{batch_id}")
def batch_page(request: Request, batch_id: int, format: str = "",  # noqa: A002
               actor: Actor = Depends(librarian)) -> Response:
    batch = _batch(request, actor, batch_id)
    progress = {k: batch[k] for k in ("id", "kind", "status", "percent", "position",
                                      "created", "updated", "unchanged", "skipped")}
    if format == "json":
        return JSONResponse(progress)
    hub = hub_of(request)
    problems = []
    for n, p in enumerate(hub.imports.problems(batch_id)):
        if n >= PROBLEMS_SHOWN:
            break
        problems.append({**p, "reason": message(Problem(p["code"]), "ko")})
    return render(request, "console_import.html", {
        "b": batch, "problems": problems, "more": batch["skipped"] > len(problems),
        "running": batch["status"] in ("queued", "running")})


@router.post("/{batch_id}/resume")
def resume(request: Request, batch_id: int, actor: Actor = Depends(librarian)) -> Response:
    _batch(request, actor, batch_id)
    jobs_of(request).resume(batch_id, actor.library_code)
    return redirect(f"{UPLOAD_PATH}/{batch_id}")


def _download(data: bytes | str, name: str, media: str) -> Response:
    return Response(data, media_type=media,
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


@router.get("/{batch_id}/report.csv")
def report_csv(request: Request, batch_id: int, actor: Actor = Depends(librarian)) -> Response:
    _batch(request, actor, batch_id)
    out = io.StringIO()
    out.write("\ufeff")
    write_report(hub_of(request).imports.problems(batch_id), out)
    return _download(out.getvalue(), f"import-{batch_id}-report.csv", "text/csv; charset=utf-8")


@router.get("/{batch_id}/mapping.csv")
def mapping_csv(request: Request, batch_id: int, actor: Actor = Depends(librarian)
                ) -> Response:
    batch = _batch(request, actor, batch_id)
    if batch["kind"] != "members":
        raise Forbidden()
    out = io.StringIO()
    out.write("\ufeff")
    hub_of(request).member_imports.mapping_file(batch_id, out)
    return _download(out.getvalue(), f"import-{batch_id}-mapping.csv",
                     "text/csv; charset=utf-8")


@router.get("/{batch_id}/print.pdf")
def print_pdf(request: Request, batch_id: int, preset: str = "a4-21",
              actor: Actor = Depends(librarian)) -> Response:
    """통합바코드 labels of a holdings batch, or the cards of a member conversion."""
    batch = _batch(request, actor, batch_id)
    printing = hub_of(request).printing
    if batch["kind"] == "holdings":
        data = label_sheet_pdf(printing.item_labels(actor.library_code, batch_id=batch_id),
                               layout(preset))
    else:
        data = member_cards_pdf(printing.member_cards(actor.library_code, batch_id=batch_id))
    return _download(data, f"import-{batch_id}.pdf", "application/pdf")
