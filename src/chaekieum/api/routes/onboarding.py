"""The onboarding workflow of a joining library (services/onboarding.py): its stage and
history, checklists, linked systems, conformance reports, schedule, launch date, the
to-do list of every party, and its uploaded documents (services/onboarding_docs.py)."""

from __future__ import annotations

import base64
from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import FileResponse
from pydantic import BaseModel, Field

from ...conformance.report import Report
from ...services.context import Actor
from ...services.onboarding_docs import MEDIA_TYPES
from ..auth import hub_of, onboarding_actor
from ..openapi import ok
from ..outputs import StageOut
from ..routing import ApiRoute
from ..schemas import (
    CheckIn,
    ConformanceReportIn,
    DbId,
    LaunchIn,
    PlanIn,
    SystemIn,
    TransitionIn,
)
from ..writes import perform

router = APIRouter(tags=["onboarding"], route_class=ApiRoute)
ActorDep = Annotated[Actor, Depends(onboarding_actor)]  # vendors too


class CheckItemOut(BaseModel):
    key: str
    label: str
    done: bool
    note: str
    at: str | None
    actor: str | None


class ChecklistOut(BaseModel):
    stage: str
    label: str
    items: list[CheckItemOut]


class SystemOut(BaseModel):
    name: str
    kind: str
    kind_label: str
    integrated: bool
    tested: bool
    at: str
    actor: str


class ReportSummaryOut(BaseModel):
    id: int
    schema_id: str
    result: str
    finished_at: str
    passed: int
    failed: int
    skipped: int
    not_applicable: int  # scenarios that do not apply (report schema /2)
    uploaded_at: str
    actor: str


class PlanStageOut(BaseModel):
    stage: str
    label: str
    planned_on: str | None
    reached_at: str | None
    overdue: bool


class HistoryOut(BaseModel):
    stage: str
    label: str
    at: str
    actor: str
    reason: str


class OnboardingOut(BaseModel):
    code: str
    name: str
    region_code: str
    vendor: str | None = Field(description="the 사업자등록번호 of the vendor it selected")
    stage: str
    label: str
    responsible: str
    responsible_label: str
    held_at: str | None
    allowed_next: list[str]
    checklists: list[ChecklistOut]
    systems: list[SystemOut]
    reports: list[ReportSummaryOut]
    plan: list[PlanStageOut]
    launch_date: str | None
    launch_announced_on: str | None
    history: list[HistoryOut]


class CheckOut(BaseModel):
    code: str
    item: str
    done: bool
    note: str


class SystemPutOut(BaseModel):
    code: str
    name: str
    kind: str
    integrated: bool
    tested: bool


class SystemRemovedOut(BaseModel):
    code: str
    removed: str


class ReportStoredOut(BaseModel):
    code: str
    id: int
    result: str
    finished_at: str


class PlanOut(BaseModel):
    code: str
    plan: dict[str, str]


class LaunchOut(BaseModel):
    code: str
    launch_date: str
    announced_on: str


class TodoItemOut(BaseModel):
    code: str
    name: str
    region_code: str
    stage: str
    label: str
    party: str
    party_label: str
    next: list[str]
    open_items: list[str]
    open_systems: list[str]
    planned_on: str | None
    overdue: bool


class TodoOut(BaseModel):
    items: list[TodoItemOut]
    by_party: dict[str, list[str]]


BASE = "/libraries/{code}/onboarding"


@router.get(BASE, response_model=OnboardingOut,
            summary="A library's onboarding: stage, checklists, systems, reports, plan, history")
def view(code: str, request: Request, actor: ActorDep):
    return hub_of(request).onboarding.view(actor, code)


@router.post(f"{BASE}/transitions", response_model=StageOut,
             summary="Move a library's onboarding to another stage (with a reason)")
def transition(code: str, body: TransitionIn, request: Request, actor: ActorDep):
    hub = hub_of(request)
    return perform(request, actor, body, lambda conn: hub.onboarding.move(
        actor, code, body.stage, body.reason, conn=conn))


@router.put(f"{BASE}/checklist/{{item}}", response_model=CheckOut,
            summary="Tick (or untick) one checklist item")
def check(code: str, item: str, body: CheckIn, request: Request, actor: ActorDep):
    hub = hub_of(request)
    return perform(request, actor, body, lambda conn: hub.onboarding.tick(
        actor, code, item, body.done, body.note, conn=conn))


@router.put(f"{BASE}/systems/{{name}}", response_model=SystemPutOut,
            summary="Add or update a linked system, ticked integrated and tested")
def put_system(code: str, name: str, body: SystemIn, request: Request, actor: ActorDep):
    hub = hub_of(request)
    return perform(request, actor, body, lambda conn: hub.onboarding.put_system(
        actor, code, name, body.kind, body.integrated, body.tested, conn=conn))


@router.delete(f"{BASE}/systems/{{name}}", response_model=SystemRemovedOut,
               summary="Remove a linked system from the inventory")
def remove_system(code: str, name: str, request: Request, actor: ActorDep):
    hub = hub_of(request)
    return perform(request, actor, None, lambda conn: hub.onboarding.remove_system(
        actor, code, name, conn=conn))


@router.post(f"{BASE}/reports", response_model=ReportStoredOut, status_code=201,
             summary="Store a conformance kit report (JSON, validated against its schema)")
def store_report(code: str, body: ConformanceReportIn, request: Request, actor: ActorDep):
    hub = hub_of(request)
    return perform(request, actor, body, lambda conn: hub.onboarding.store_report(
        actor, code, body.report, conn=conn), status=201)


# a stored report is answered as it was uploaded: the kit's own schema documents it
@router.get(f"{BASE}/reports/{{report_id}}", response_model=None, responses=ok(Report),
            summary="A stored conformance report as uploaded")
def get_report(code: str, report_id: DbId, request: Request, actor: ActorDep):
    return hub_of(request).onboarding.report(actor, code, report_id)


@router.put(f"{BASE}/plan", response_model=PlanOut,
            summary="Submit the schedule (세부일정): a planned date per stage")
def set_plan(code: str, body: PlanIn, request: Request, actor: ActorDep):
    hub = hub_of(request)
    return perform(request, actor, body, lambda conn: hub.onboarding.set_plan(
        actor, code, body.planned, conn=conn))


@router.put(f"{BASE}/launch", response_model=LaunchOut,
            summary="Announce the launch date (서비스 개시일), national admin only")
def announce(code: str, body: LaunchIn, request: Request, actor: ActorDep):
    hub = hub_of(request)
    return perform(request, actor, body, lambda conn: hub.onboarding.announce_launch(
        actor, code, body.launch_date, conn=conn))


@router.get("/onboarding/todo", response_model=TodoOut,
            summary="What each party must do next, for the libraries the caller may see")
def todo(request: Request, actor: ActorDep, region: str | None = None):
    return hub_of(request).onboarding.todo(actor, region)


# -- documents (참여신청서, 수요조사서, 공문, 세부일정 ...) ---------------------------------------
class DocumentOut(BaseModel):
    id: int
    kind: str
    kind_label: str
    item: str | None
    filename: str
    file_type: str
    media_type: str
    size: int
    sha256: str
    note: str
    uploaded_at: str
    actor: str


class DocumentKindOut(BaseModel):
    kind: str
    label: str
    item: str | None


class DocumentListOut(BaseModel):
    code: str
    documents: list[DocumentOut]
    max_bytes: int
    file_types: list[str]
    kinds: list[DocumentKindOut]


class DocumentRemovedOut(BaseModel):
    code: str
    removed: int


class DocumentFingerprint(BaseModel):
    """What an Idempotency-Key is bound to for an upload: the content and the form."""

    sha256: str
    filename: str
    kind: str
    item: str | None
    note: str


DOCUMENTS = f"{BASE}/documents"
BINARY = {"schema": {"type": "string", "format": "binary"}}


@router.post(DOCUMENTS, status_code=201, responses=ok(DocumentOut, 201),
             summary="Upload a document (multipart: file, kind, item, note); PDF, HWP, "
                     "HWPX, PNG, JPEG or XLSX by content, up to the configured size")
def upload_document(
        code: str, request: Request, actor: ActorDep,
        file: Annotated[UploadFile, File(description="the document")],
        kind: Annotated[str, Form(max_length=16, description=(
            "application_form (참여신청서), survey (수요조사서), letter (공문), "
            "schedule (세부일정) or other"))] = "other",
        item: Annotated[str | None, Form(max_length=40, description=(
            "the checklist item it satisfies (default: the kind's own)"))] = None,
        note: Annotated[str, Form(max_length=500, description=(
            "e.g. the 공문's document number"))] = ""):
    docs = hub_of(request).documents
    staged = docs.stage(actor, code, file.file, file.filename or "")
    try:
        fingerprint = DocumentFingerprint(sha256=staged.sha256, filename=staged.filename,
                                          kind=kind, item=item, note=note)
        return perform(request, actor, fingerprint, lambda conn: docs.add(
            actor, code, staged, kind, item, note, conn=conn), status=201)
    finally:
        staged.discard()  # moved away when recorded; dropped when refused or replayed


@router.get(DOCUMENTS, responses=ok(DocumentListOut),
            summary="A library's uploaded documents (newest first) and what may be uploaded")
def list_documents(code: str, request: Request, actor: ActorDep):
    return hub_of(request).documents.list(actor, code)


@router.get(f"{DOCUMENTS}/{{document_id}}", response_class=FileResponse,
            responses={200: {"description": "The document's content, as an attachment "
                                             "(Repr-Digest: its SHA-256)",
                             "content": {media: BINARY for media in MEDIA_TYPES}}},
            summary="Download a document")
def download_document(code: str, document_id: DbId, request: Request, actor: ActorDep):
    doc, path = hub_of(request).documents.open(actor, code, document_id)
    digest = base64.b64encode(bytes.fromhex(doc["sha256"])).decode()
    return FileResponse(path, media_type=doc["media_type"], filename=doc["filename"],
                        headers={"Repr-Digest": f"sha-256=:{digest}:",
                                 "Cache-Control": "private, no-store"})


@router.delete(f"{DOCUMENTS}/{{document_id}}", responses=ok(DocumentRemovedOut),
               summary="Remove a document (its record and its file)")
def remove_document(code: str, document_id: DbId, request: Request, actor: ActorDep):
    hub = hub_of(request)
    return perform(request, actor, None, lambda conn: hub.documents.remove(
        actor, code, document_id, conn=conn))
