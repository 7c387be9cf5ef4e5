"""The offline gates: what the connector knows about members, policies and the calendar
while the hub is unreachable, and the checkout decision it makes from them.

The decision is the hub's own rule (`chaekieum.domain.circulation.decide_checkout`), fed
with the snapshot's facts: the member's block (withdrawn, expelled, card lost,
suspended until a date), their network-wide loans at the last refresh plus the offline
loans queued here since, and the library's policy for the member's class. Copy facts are
the library system's business (it knows its shelf); the hub re-checks on replay.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

from ..domain import circulation as rules
from ..domain.calendar import LibraryCalendar
from ..domain.errors import Code, Reason
from ..domain.members import MemberStatus
from ..domain.policy import Policy, resolve
from .config import OfflinePolicy
from .store import Store, now_iso

KST = timezone(timedelta(hours=9))  # Korea has no daylight saving time
_STATUS_OF = {"MEMBER_WITHDRAWN": MemberStatus.WITHDRAWN, "MEMBER_EXPELLED":
              MemberStatus.EXPELLED}


def seoul_today(now: datetime | None = None) -> date:
    return (now or datetime.now(UTC)).astimezone(KST).date()


@dataclass(frozen=True)
class Gate:
    allowed: bool
    reasons: tuple[Reason, ...] = ()
    warnings: tuple[Reason, ...] = ()
    due_on: date | None = None
    known: bool = True


class Snapshot:
    def __init__(self, store: Store) -> None:
        self.store = store
        self._library: dict[str, Any] | None = None
        raw = store.get_meta("library")
        if raw:
            self._library = json.loads(raw)

    # -- refresh (from the hub's pages) -------------------------------------------------
    def apply_page(self, page: dict[str, Any], pass_no: int) -> None:
        rows = [(m["number"], m.get("blocked"), m.get("until"), m.get("member_class"),
                 m.get("on_loan"), m.get("here"), m.get("overdue"), pass_no)
                for m in page["members"]]
        with self.store.tx() as db:
            # a delta row of a member who is neither blocked nor ours tells nothing useful
            keep = [r for r in rows if r[1] is not None or r[4] is not None]
            drop = [(r[0],) for r in rows if r[1] is None and r[4] is None]
            db.executemany(
                "INSERT INTO snapshot_members (number, blocked, until, member_class, on_loan,"
                " here, overdue, pass) VALUES (?,?,?,?,?,?,?,?) ON CONFLICT(number) DO UPDATE "
                "SET blocked = excluded.blocked, until = excluded.until, member_class = "
                "excluded.member_class, on_loan = excluded.on_loan, here = excluded.here, "
                "overdue = "
                "excluded.overdue, pass = max(pass, excluded.pass)", keep)
            db.executemany("DELETE FROM snapshot_members WHERE number = ?", drop)
            if "library" in page:
                db.execute("INSERT INTO meta (key, value) VALUES ('library', ?) ON CONFLICT"
                           "(key) DO UPDATE SET value = excluded.value",
                           (json.dumps(page["library"], ensure_ascii=False),))
        if "library" in page:
            self._library = page["library"]

    def finish_full_pass(self, pass_no: int, as_of: str, own_only: bool = False) -> None:
        """Members not seen by a complete full pass are no longer blocked nor ours; after
        a pass of own members only, those not seen are no longer ours (a block of theirs
        stays: blocks are kept by deltas between full passes of everything)."""
        with self.store.tx() as db:
            if own_only:
                db.execute("UPDATE snapshot_members SET on_loan = NULL, here = NULL, "
                           "overdue = NULL WHERE pass < ? AND on_loan IS NOT NULL", (pass_no,))
                db.execute("DELETE FROM snapshot_members WHERE blocked IS NULL AND "
                           "on_loan IS NULL")
            else:
                db.execute("DELETE FROM snapshot_members WHERE pass < ?", (pass_no,))
        stamps = {"snapshot_full_at": now_iso()}
        if not own_only:
            stamps["snapshot_all_at"] = now_iso()
        self.store.set_meta(snapshot_as_of=as_of, snapshot_at=now_iso(),
                            snapshot_pass=str(pass_no), **stamps)

    def apply_event(self, kind: str, payload: dict[str, Any]) -> None:
        """The feed tells a library at once about its own members' new blocks."""
        number = payload.get("member")
        if not number:
            return
        blocked = {"member.suspended": "MEMBER_SUSPENDED", "member.withdrawn":
                   "MEMBER_WITHDRAWN", "member.card_lost": "CARD_LOST"}.get(kind)
        if blocked is None:
            return
        with self.store.tx() as db:
            db.execute(
                "INSERT INTO snapshot_members (number, blocked, until) VALUES (?, ?, ?) "
                "ON CONFLICT(number) DO UPDATE SET blocked = excluded.blocked, "
                "until = coalesce(excluded.until, until)",
                (number, blocked, payload.get("until")))

    def adjust_loans(self, changes: list[tuple[str, int]]) -> None:
        """Online checkouts/checkins through this connector, and replayed ones, move the
        members' counts: (member number, +1 | -1). Not fsync'd: the snapshot is refreshed
        from the hub anyway."""
        changes = [(delta, delta, number) for number, delta in changes if number]
        if not changes:
            return
        with self.store.relaxed() as db:
            db.executemany("UPDATE snapshot_members SET on_loan = max(0, on_loan + ?), "
                           "here = max(0, here + ?) WHERE number = ? AND on_loan IS NOT NULL",
                           changes)

    # -- reading -------------------------------------------------------------------------
    @property
    def ready(self) -> bool:
        return self._library is not None

    def member_count(self) -> int:
        return self.store.query("SELECT count(*) FROM snapshot_members")[0][0]

    def member(self, number: str) -> dict[str, Any] | None:
        rows = self.store.query("SELECT * FROM snapshot_members WHERE number = ?", (number,))
        return dict(rows[0]) if rows else None

    def policy(self, member_class: str | None) -> Policy:
        policies = (self._library or {}).get("policies", {})
        values = policies.get(member_class or "") or policies.get("") or {}
        return resolve([values])

    def calendar(self) -> LibraryCalendar:
        lib = self._library or {}
        return LibraryCalendar(
            closed_weekdays=frozenset(lib.get("closed_weekdays", [])),
            closed_dates=frozenset(date.fromisoformat(d) for d in lib.get("closed_dates", [])))

    # -- the gate -------------------------------------------------------------------------
    def checkout_gate(self, number: str, offline: OfflinePolicy, today: date) -> Gate:
        """May the desk lend to `number` while the hub is unreachable?"""
        row = self.member(number)
        queued = self.store.queued_loans(number)
        if row is None or (row["blocked"] is None and row["on_loan"] is None):
            # not in the snapshot: the library's offline policy for unknown members
            if queued + 1 > offline.allow_unknown:
                return Gate(False, (Reason(Code.OFFLINE_MEMBER_UNVERIFIED, {
                    "offline_policy": str(offline), "queued": queued}),), known=False)
            policy = self.policy("")
            return Gate(True, due_on=rules.due_date(today, policy.loan_period_days,
                                                    self.calendar()), known=False)
        blocked = row["blocked"]
        until = date.fromisoformat(row["until"]) if row["until"] else None
        member = rules.MemberFacts(
            status=_STATUS_OF.get(blocked, MemberStatus.ACTIVE),
            card_lost=blocked == "CARD_LOST",
            suspended_until=until if blocked == "MEMBER_SUSPENDED" else None,
            barred_here=blocked == "MEMBER_BARRED_HERE")
        policy = self.policy(row["member_class"])
        counts = rules.LoanCounts(total=(row["on_loan"] or 0) + queued,
                                  here=(row["here"] or 0) + queued,
                                  overdue=row["overdue"] or 0)
        decision = rules.decide_checkout(member, rules.CopyFacts(loanable=True, on_loan=False),
                                         counts, policy, today)
        due = rules.due_date(today, policy.loan_period_days, self.calendar())
        return Gate(decision.allowed, decision.reasons, decision.warnings,
                    due if decision.allowed else None)
