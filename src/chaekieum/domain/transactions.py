"""The requests and outcome of a circulation use case: plain values shared by the hub's
services and every adapter that renders them (REST, desk, SIP2 at the hub or at a library
connector)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any


@dataclass(frozen=True)
class CheckoutRequest:
    member: str
    item: str
    owner_hint: str | None = None  # from a 기관바코드 scan
    copy: dict[str, Any] | None = None  # title / loanable, as the ILS knows them
    client_txn_id: str | None = None
    occurred_at: datetime | None = None
    offline: bool = False  # a replay of a loan made while the hub was unreachable
    due_on: date | None = None  # offline replays may carry the due date they printed
    # the id is derived from a kiosk's clock (SIP2) and may come back for a new
    # transaction: it names a loan only while that loan is still the copy's latest
    txn_id_recurs: bool = False


@dataclass(frozen=True)
class CheckinRequest:
    item: str
    owner_hint: str | None = None
    client_txn_id: str | None = None
    occurred_at: datetime | None = None
    offline: bool = False
    txn_id_recurs: bool = False  # as in CheckoutRequest


@dataclass
class Outcome:
    """What a circulation call did, for every adapter to render."""

    action: str
    loan: dict[str, Any] | None = None
    warnings: list[dict[str, Any]] = field(default_factory=list)
    exceptions: list[dict[str, Any]] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)
    replayed: bool = False

    def as_dict(self) -> dict[str, Any]:
        out = {"action": self.action, "loan": self.loan, "warnings": self.warnings,
               "exceptions": self.exceptions, "replayed": self.replayed}
        out.update(self.extra)
        return out
