"""Request bodies and the shared bounded types of every path, query and body field.

Unknown body fields are refused (a typo must not pass silently). Every integer the API
accepts is bounded by one of the types below, so an out-of-range value is a 422 in the
error shape, never a database driver's overflow (a 500).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from ..domain.onboarding import Stage

DB_ID_MAX = 2**63 - 1  # the largest value of a BIGINT column (PostgreSQL, SQLite)
DbId = Annotated[int, Field(ge=1, le=DB_ID_MAX, description="a database id")]
# a position in a feed or a snapshot: 0 = from the start, then the page's `next_after`
Position = Annotated[int, Field(ge=0, le=DB_ID_MAX)]
Weekday = Annotated[int, Field(ge=0, le=6, description="0 = Monday ... 6 = Sunday")]
BirthYear = Annotated[int, Field(ge=1890, le=2100)]
# Dates and times within years 1900..2999: far from the calendar's ends, where turning an
# offset into UTC or stepping a day overflows (a 500), and wide for any real record.
YEARS = (1900, 2999)


def _in_years(value: date) -> date:
    if not YEARS[0] <= value.year <= YEARS[1]:
        raise ValueError(f"year must be {YEARS[0]}..{YEARS[1]}")
    return value


Day = Annotated[date, AfterValidator(_in_years)]
Moment = Annotated[datetime, AfterValidator(_in_years),
                   Field(description=f"ISO 8601, years {YEARS[0]}..{YEARS[1]}")]


def page_size(maximum: int, description: str = "page size") -> Any:
    """A bounded page size (1..maximum), for `limit` query parameters."""
    return Annotated[int, Field(ge=1, le=maximum, description=description)]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class CopyInfo(Body):
    title: str | None = Field(None, max_length=300)
    loanable: bool | None = None


class CheckoutIn(Body):
    member: str = Field(..., min_length=1, max_length=64,
                        description="14-digit member number or linked card UID")
    item: str = Field(..., min_length=1, max_length=40,
                      description="통합바코드 ($+도서관부호+등록번호) or this library's 등록번호")
    owner_library: str | None = Field(None, pattern=r"^\d{6}$",
                                      description="owner selected by a 기관바코드 scan")
    copy_info: CopyInfo | None = Field(None, alias="copy")
    client_txn_id: str | None = Field(None, max_length=64)
    occurred_at: Moment | None = None
    offline: bool = False
    due_on: Day | None = None


class CheckinIn(Body):
    item: str = Field(..., min_length=1, max_length=40)
    owner_library: str | None = Field(None, pattern=r"^\d{6}$")
    client_txn_id: str | None = Field(None, max_length=64)
    occurred_at: Moment | None = None
    offline: bool = False


class ReplayWrite(Body):
    kind: str = Field(..., pattern="^(checkout|checkin)$")
    body: dict[str, Any]


class ReplayIn(Body):
    writes: list[ReplayWrite] = Field(..., min_length=1, max_length=500)


class RenewIn(Body):
    item: str = Field(..., min_length=1, max_length=40)
    member: str | None = Field(None, max_length=64)
    owner_library: str | None = Field(None, pattern=r"^\d{6}$")
    offline: bool = False  # a replay of a renewal made while the hub was unreachable
    due_on: Day | None = None  # the due date the offline desk gave


class UndoIn(Body):
    loan_id: DbId


class MemberIn(Body):
    name: str = Field(..., min_length=1, max_length=100)
    birth_year: BirthYear
    phone: str | None = Field(None, max_length=30)
    email: str | None = Field(None, max_length=200)
    ci: str | None = Field(None, max_length=200,
                           description="identity-verification CI; only a keyed hash is kept")
    guardian_name: str | None = Field(None, max_length=100)
    guardian_phone: str | None = Field(None, max_length=30)
    member_class: str = "정회원"
    consents: dict[str, bool] = Field(default_factory=dict)
    password: str | None = Field(None, min_length=8, max_length=200)
    card_uid: str | None = Field(None, max_length=64)


class VerificationStartIn(Body):
    provider: str = Field(..., min_length=1, max_length=20,
                          description="an identity provider the hub offers (e.g. \"test\" "
                                      "in development; refused in production)")
    purpose: Literal["self", "guardian"] = Field(
        ..., description="the applicant (from 14), or the guardian of an applicant under 14")
    return_url: str = Field(..., min_length=8, max_length=2000, pattern=r"^https?://",
                            description="where the provider sends the person back with its "
                                        "answer")


class VerificationIn(Body):
    """A provider's answer, as it reached the return URL, with the state it was for."""

    state: str = Field(..., min_length=1, max_length=1000)
    answer: dict[Annotated[str, Field(max_length=40)], Annotated[str, Field(max_length=4000)]] \
        = Field(..., max_length=20, description="the provider's query parameters")


class OnlineGuardianIn(Body):
    name: str = Field(..., min_length=1, max_length=100)
    phone: str = Field(..., min_length=1, max_length=30)
    verification: VerificationIn


class OnlineRegistrationIn(Body):
    """온라인 회원가입 at the acting library (a homepage or app with its library's key).
    From 14 the applicant's own verification is required; under 14, the guardian's."""

    name: str = Field(..., min_length=1, max_length=100)
    birth_year: BirthYear
    phone: str | None = Field(None, max_length=30)
    email: str | None = Field(None, max_length=200)
    password: str = Field(..., min_length=8, max_length=200,
                          description="for the member portal and sign-in")
    privacy_consent: bool
    verification: VerificationIn | None = None
    guardian: OnlineGuardianIn | None = None


class MemberPatch(Body):
    name: str | None = Field(None, min_length=1, max_length=100)
    birth_year: BirthYear | None = None
    phone: str | None = Field(None, max_length=30)
    email: str | None = Field(None, max_length=200)
    guardian_name: str | None = Field(None, max_length=100)
    guardian_phone: str | None = Field(None, max_length=30)
    member_class: str | None = None
    consents: dict[str, bool] | None = None


class CardUidIn(Body):
    card_uid: str = Field(..., min_length=1, max_length=64)


class StatusChangeIn(Body):
    """Expel (제적) or bar a member: why (kept with the member and in the audit log)."""

    reason: str = Field(..., min_length=1, max_length=500,
                        description="why, for the staff who read the record and the audit log")


class StatusLiftIn(Body):
    """Lift an expulsion or a bar; the reason is optional."""

    reason: str | None = Field(None, max_length=500)


class CopyIn(Body):
    registration_number: str = Field(..., min_length=3, max_length=20)
    title: str = Field("", max_length=300)
    loanable: bool = True


class CopiesIn(Body):
    copies: list[CopyIn] = Field(..., max_length=5000)


class LibraryIn(Body):
    code: str = Field(..., pattern=r"^\d{6}$")
    name: str = Field(..., min_length=1, max_length=100)
    region_code: str = Field(..., max_length=16)
    center_id: DbId | None = None
    closed_weekdays: list[Weekday] = Field(default_factory=list, max_length=7)
    ils: str = Field("", max_length=40)
    status: Stage = Stage.REGISTERED


class LibraryPatch(Body):
    name: str | None = Field(None, min_length=1, max_length=100)
    closed_weekdays: list[Weekday] | None = Field(None, max_length=7)
    ils: str | None = Field(None, max_length=40)
    center_id: DbId | None = None


class ClosedDay(Body):
    day: Day
    reason: str = Field("", max_length=100)


class ClosedDatesIn(Body):
    days: list[ClosedDay] = Field(..., max_length=400)


class StageIn(Body):
    stage: str = Field(..., max_length=24)
    note: str = Field("", max_length=500)


class PolicyIn(Body):
    settings: dict[str, Any]


class ApiKeyIn(Body):
    label: str = Field("", max_length=100)
    environment: str = "live"


class AdminKeyIn(Body):
    scope: str = Field(..., pattern="^(national|region)$")
    scope_code: str = Field("", max_length=16)
    label: str = Field("", max_length=100)


class TerminalIn(Body):
    login: str = Field(..., min_length=1, max_length=60)
    password: str = Field(..., min_length=8, max_length=200)
    label: str = Field("", max_length=100)
    encoding: str = "utf-8"
    terminator: str = "CR"
    error_detection: bool = True
    environment: Literal["live", "sandbox"] = "live"  # sandbox: reaches only sandbox data


class HistoryHideIn(Body):
    loan_ids: list[DbId] | None = Field(None, max_length=10_000)


class ReservationIn(Body):
    member: str = Field(..., min_length=1, max_length=64,
                        description="14-digit member number or linked card UID; the member "
                                    "must be registered at this library")
    item: str = Field(..., min_length=1, max_length=40,
                      description="통합바코드 or this library's 등록번호 of a copy on loan "
                                  "or in transit home")
    owner_library: str | None = Field(None, pattern=r"^\d{6}$")


class ReservationOut(BaseModel):
    """One reservation (예약), as every reservation endpoint returns it."""

    id: DbId
    item: str = Field(..., description="통합바코드 of the reserved copy")
    registration_number: str
    title: str
    library_code: str = Field(..., description="owning library = pickup library")
    library_name: str
    member_number: str | None = Field(None, description="none once the member withdrew")
    member_number_masked: str | None = None
    state: str = Field(..., description="waiting | ready | fulfilled | expired | cancelled")
    state_label: str
    position: int | None = Field(None, ge=1,
                                 description="1 = head of the copy's queue (active only)")
    channel: str
    placed_at: str
    ready_at: str | None = None
    pickup_by: str | None = Field(None, description="last pickup day (ready only)")
    closed_at: str | None = None
    loan_id: DbId | None = Field(None, description="the loan that fulfilled it")


class ReservationCancelOut(ReservationOut):
    next: ReservationOut | None = Field(
        None, description="the reservation the copy was set aside for instead")
    copy_to_shelf: bool = Field(False, description="a set-aside copy goes back to the shelf")


class ReservationListOut(BaseModel):
    items: list[ReservationOut]


class SandboxIn(Body):
    members: int = Field(1, ge=0, le=50)
    foreign_members: int = Field(0, ge=0, le=20)
    copies: int = Field(1, ge=0, le=200)


class SandboxPeerIn(Body):
    member: str | None = Field(None, max_length=64)
    item: str | None = Field(None, max_length=40)
    transit_id: DbId | None = None
    client_txn_id: str | None = Field(None, max_length=64)
    occurred_at: Moment | None = None
    offline: bool = False
    due_on: Day | None = None


# -- onboarding (services/onboarding.py) ------------------------------------------------
class TransitionIn(Body):
    stage: str = Field(..., max_length=24)
    reason: str = Field("", max_length=500)


class CheckIn(Body):
    done: bool
    note: str = Field("", max_length=500)


class SystemIn(Body):
    kind: str = Field(..., max_length=16)
    integrated: bool = False
    tested: bool = False


class ConformanceReportIn(Body):
    # the conformance kit's JSON report (schema chaekieum-conformance/2; /1 still loads)
    report: dict[str, Any]


class PlanIn(Body):
    planned: dict[str, Day] = Field(..., max_length=20)  # stage -> planned date (세부일정)


class LaunchIn(Body):
    launch_date: Day


class ConnectorPackageIn(Body):
    """What the connector package is built for (services/connector_package.py)."""

    adapter: Literal["manual", "webhook", "outbox-sql"] = "manual"
    issue_credentials: bool = Field(False, description="issue new sandbox credentials into "
                                    "the package (admins); else placeholders")
    hub_url: str | None = Field(None, max_length=200, pattern=r"^https?://\S+$",
                                description="the hub's public URL (default: this request's)")
    sip2_host: str | None = Field(None, max_length=200, pattern=r"^[A-Za-z0-9.\-:\[\]]+$")
    sip2_port: int = Field(6001, ge=1, le=65535)
