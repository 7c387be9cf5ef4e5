"""What the API answers: the one error body and each operation's success body, for the
OpenAPI document (and the schemathesis conformance test that holds the API to it).

These models document the bodies; they never filter them: the routes pass them as
`responses=` (not `response_model=`), so a field added by a service reaches clients at
once. The schemas therefore list the fields every client may rely on, and allow more.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from ..domain.errors import Code
from .schemas import DbId, ReservationOut


class Out(BaseModel):
    pass


# -- the one error shape -----------------------------------------------------------------
class ReasonOut(Out):
    code: Code
    message: str
    details: dict[str, Any]


class ErrorOut(Out):
    """Every 4xx and 5xx answer: the first reason's code, message and details, and every
    reason the request was refused for. Messages are Korean (`Accept-Language: en`:
    English)."""

    code: Code = Field(..., description="stable machine-readable code (domain/errors.py)")
    message: str
    details: dict[str, Any]
    reasons: list[ReasonOut] = Field(..., min_length=1)


# -- circulation ---------------------------------------------------------------------------
class LoanOut(Out):
    id: DbId
    member_number: str
    member_number_masked: str
    item: str = Field(..., description="통합바코드")
    registration_number: str
    title: str
    owner_library: str
    library_code: str = Field(..., description="the lending library")
    state: str = Field(..., description="active | returned | undone")
    loaned_at: str
    due_on: str
    renewals: int
    returned_at: str | None
    return_library: str | None
    channel: str
    offline: bool


class OutcomeOut(Out):
    """What a checkout, checkin, renewal or undo did."""

    action: str
    loan: LoanOut | None
    warnings: list[ReasonOut]
    exceptions: list[ReasonOut] = Field(
        ..., description="rules an offline replay broke (recorded for follow-up)")
    replayed: bool = Field(..., description="a resend of a write already applied")
    auto_joined: bool | None = Field(None, description="checkout: the member joined here")
    reservation: ReservationOut | None = Field(
        None, description="the reservation the copy was set aside for")
    route: str | None = Field(None, description="checkin: home | transit | ...")
    transit_id: DbId | None = None
    home_library: str | None = None
    home_library_name: str | None = None
    suspension: dict[str, Any] | None = None


class ReplayResultOut(Out):
    status: int | None = Field(..., description="the write's own HTTP status; null: not "
                                                "attempted after a retryable refusal")
    body: dict[str, Any] = Field(..., description="its answer, or the error body")


class ReplayOut(Out):
    results: list[ReplayResultOut]


class CopiesBulkOut(Out):
    created: int
    updated: int
    unchanged: int


class CopyOut(Out):
    item: str
    library_code: str
    registration_number: str
    title: str
    loanable: bool
    on_loan: bool
    due_on: str | None
    reserved: bool
    reservation_queue: int


class TransitOut(Out):
    id: DbId
    item: str | None
    title: str | None
    from_library: str
    to_library: str
    state: str
    state_label: str
    courier_fee: bool
    received_at: str
    sent_at: str | None
    arrived_at: str | None


class TransitListOut(Out):
    items: list[TransitOut]


class ExceptionOut(Out):
    id: DbId
    loan_id: DbId | None
    action: str
    reasons: list[ReasonOut]
    created_at: str
    resolved_at: str | None
    resolved_by: str | None


class ExceptionListOut(Out):
    items: list[ExceptionOut]


class ResolvedOut(Out):
    id: DbId
    resolved: bool


# -- members ---------------------------------------------------------------------------------
class MembershipOut(Out):
    library_code: str
    library_name: str
    how: str
    joined_at: str
    by: str | None
    status: str


class GuardianOut(Out):
    name: str | None
    phone: str | None


class MemberOut(Out):
    """A member as the caller may see them: personal data masked (and no birth year, no
    libraries) unless `personal_data_visible`."""

    number: str
    number_masked: str
    name: str | None
    birth_year: int | None
    phone: str | None
    email: str | None
    issuing_library: str
    joined_at: str
    status: str
    status_label: str
    member_class: str
    card_lost: bool
    card_uid_linked: bool
    suspended_until: str | None
    guardian: GuardianOut | None
    loans_active: int
    loans_overdue: int
    libraries: list[MembershipOut]
    joined_here: bool
    personal_data_visible: bool
    id_check_pending: bool = Field(False, description="signed up online (준회원): the first "
                                   "ID check at a desk (`POST /members/{ref}/join`) makes "
                                   "them a full member (정회원)")
    consents: dict[str, Any] | None = Field(None, description="only with personal data")


class MemberListOut(Out):
    items: list[MemberOut]


class WithdrawnOut(Out):
    number: str
    status: str
    personal_data_erased: bool


class MemberLoanOut(LoanOut):
    owner_library_name: str
    library_name: str
    overdue: bool


class MemberLoansOut(Out):
    items: list[MemberLoanOut]


class HiddenOut(Out):
    hidden: int = Field(..., description="returned loans hidden now")


class SuspensionOut(Out):
    library_code: str
    library_name: str
    days_late: int
    days: int
    ends_on: str
    created_at: str
    lifted: bool


class SuspensionListOut(Out):
    items: list[SuspensionOut]


# -- network -------------------------------------------------------------------------------
class LiveOut(Out):
    status: str


class HealthOut(LiveOut):
    database: str = Field(..., description="sqlite | postgresql")


class RegionOut(Out):
    code: str
    name: str
    name_en: str
    libraries: int


class RegionListOut(Out):
    items: list[RegionOut]


class CenterOut(Out):
    id: DbId
    region_code: str
    region_name: str
    name: str
    host_library: str | None
    phone: str | None


class CenterListOut(Out):
    items: list[CenterOut]


class LibraryOut(Out):
    code: str
    name: str
    region_code: str
    center_id: DbId | None
    center: str | None
    status: str
    status_label: str
    closed_weekdays: list[int]
    ils: str | None
    live_since: str | None


class LibraryListOut(Out):
    total: int
    items: list[LibraryOut]


class LibraryDetailOut(LibraryOut):
    closed_dates: list[Any]
    onboarding_log: list[dict[str, Any]]
    policy: dict[str, Any] = Field(..., description="the effective policy")


class LibraryRegisteredOut(Out):
    code: str
    name: str
    region_code: str
    status: str


class LibraryChangedOut(Out):
    code: str = Field(..., description="the library; the other fields echo the changes")


class CountOut(Out):
    count: int


class SandboxTerminalOut(Out):
    login: str
    password: str = Field(..., description="shown this once; stored only as a hash")
    encoding: str


class SandboxCredentialsOut(Out):
    """Sandbox-only credentials (domain/sandbox.py): they reach only the library's sandbox
    (test) members and copies, whatever its stage."""

    environment: str = Field(..., description='always "sandbox"')
    api_key: str = Field(..., description="shown this once; stored only as a hash")
    key_id: str
    terminal: SandboxTerminalOut


class StageOut(Out):
    code: str
    status: str
    label: str
    sandbox_credentials: SandboxCredentialsOut | None = Field(
        None, description="at registration (application -> registered) only: the library's "
        "sandbox credentials, shown this once")


class PolicyLevelOut(Out):
    level: str
    scope: str
    member_class: str
    settings: dict[str, Any] = Field(..., description="the overrides stored at this level")


class EffectivePolicyOut(Out):
    """Every policy setting, as the cascade resolves it (domain/policy.py)."""

    shared_loan_limit: int
    library_loan_limit: int
    class_loan_limit: int
    loan_period_days: int
    renewals_allowed: int
    renewal_days: int
    renew_on_loan_day: bool
    refuse_when_overdue: bool
    suspension_add1: int
    suspension_weight: float
    suspension_add2: int
    suspension_mode: str
    suspension_cap_days: int
    suspension_counts_closed_days: bool
    suspension_sharing: str
    cross_return_allowed: bool
    courier_fee: bool
    can_borrow: bool
    reservation_limit: int
    reservation_pickup_days: int


class ApiKeyOut(Out):
    key_id: str
    label: str
    environment: str
    created_at: str
    revoked: bool


class ApiKeyListOut(Out):
    items: list[ApiKeyOut]


class ApiKeyCreatedOut(Out):
    key_id: str
    api_key: str = Field(..., description="the plain key: shown this once")
    scope: str
    scope_code: str
    environment: str
    label: str


class ApiKeyRevokedOut(Out):
    key_id: str
    revoked: bool


class TerminalOut(Out):
    login: str
    label: str
    encoding: str
    terminator: str
    error_detection: bool
    environment: str
    revoked: bool
    locked: bool


class TerminalListOut(Out):
    items: list[TerminalOut]


class TerminalCreatedOut(Out):
    login: str
    library_code: str
    label: str
    encoding: str
    terminator: str
    error_detection: bool
    environment: str


class TerminalUnlockedOut(Out):
    login: str
    locked: bool


class TerminalRevokedOut(Out):
    login: str
    revoked: bool


class EventOut(Out):
    position: int
    kind: str
    payload: dict[str, Any]
    created_at: str


class EventPageOut(Out):
    events: list[EventOut]
    next_after: int = Field(..., description="send as ?after= for the next page")
    has_more: bool


class AuditEntryOut(Out):
    id: DbId
    at: str
    actor: str
    library_code: str | None
    action: str
    entity: str
    entity_id: str | None
    details: dict[str, Any]


class AuditListOut(Out):
    items: list[AuditEntryOut]


class SnapshotOut(Out):
    """One page of a library connector's offline snapshot (docs/connector.md)."""

    library_code: str
    as_of: str
    today: str
    full: bool
    members: list[dict[str, Any]]
    next_after: int
    has_more: bool
    library: dict[str, Any] | None = Field(
        None, description="policies and calendar (first page)")


# -- sandbox (conformance kit) -------------------------------------------------------------
class SandboxMemberOut(Out):
    number: str
    name: str
    issuing_library: str | None


class SandboxCopyOut(Out):
    item: str
    reg_no: str
    title: str


class SandboxCreatedOut(Out):
    library: str
    peer: str | None = Field(..., description="the sandbox peer; null: none in the region")
    members: list[SandboxMemberOut]
    foreign_members: list[SandboxMemberOut]
    copies: list[SandboxCopyOut]
    as_of: str = Field(..., description="the hub's clock")


class SandboxListOut(Out):
    library: str
    members: list[str]
    copies: list[str]
    active_loans: int


class SandboxCleanedOut(Out):
    library: str
    removed: dict[str, int]


class SandboxPeerOut(Out):
    peer: str
    result: dict[str, Any] = Field(..., description="the step's answer, as the circulation "
                                                    "or transit endpoint gives it")


class VerificationStartOut(Out):
    provider: str
    purpose: str
    state: str = Field(..., description="send back with the provider's answer")
    url: str = Field(..., description="the provider's page: send the person there")


# -- the member API (/api/v1/me, OpenID Connect) -------------------------------------------
class MyLibraryOut(Out):
    library_code: str
    library_name: str


class MyProfileOut(Out):
    sub: str = Field(..., description="the member's subject, as in the id_token")
    name: str
    member_number_masked: str
    status: str
    status_label: str
    card_lost: bool
    suspended_until: str | None
    loans_active: int
    loans_overdue: int
    libraries: list[MyLibraryOut]


class CodeValueOut(Out):
    format: str = Field(..., description="code128 | qr")
    value: str


class MyCardOut(Out):
    number: str = Field(..., description="the 14-digit member number")
    name: str
    status: str
    card_lost: bool
    barcode: CodeValueOut
    qr: CodeValueOut
