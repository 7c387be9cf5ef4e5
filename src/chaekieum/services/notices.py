"""Notices (docs/notices.md): the onboarding contacts of a joining library and the e-mail
of every stage transition (issue 11); members' channel choices, the scheduler of member
notices and the delivery of the outbox (issue 14).

Everything goes through one outbox, the `notices` table:
- a stage transition writes its e-mails in its own transaction (`enqueue_stage_change`),
  so a transition never waits for, or fails with, a mail server;
- the scheduler (`Notices.schedule`) writes member notices under a unique key per
  member/loan/kind/date/channel, so running it twice, or twice at once, queues one;
- delivery (`Notices.deliver`) claims a row (pending -> sending) in its own short
  transaction before handing it to a sender, so a row is sent at most once, however many
  workers deliver. A transient failure goes back to pending with a later `not_before`
  (retries with back-off); a row found still "sending" after the claim lease (a worker
  died mid-send) becomes `uncertain` and is not sent again by itself.
Member notices wait out the quiet hours (21:00-08:00 KST): deferred, never dropped.

Senders are adapters (`chaekieum.notify`: SMTP, SMS and 알림톡 providers, a log sink);
this module only knows the `Sender` protocol.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import Connection, delete, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite

from ..domain import notices as dn
from ..domain.errors import Code, DomainError
from ..domain.members import MemberStatus, mask_email, mask_phone
from ..domain.onboarding import PARTY_LABELS, Party
from ..store.db import Database
from ..store.tables import (
    copies,
    libraries,
    loans,
    member_notice_prefs,
    members,
    notices,
    onboarding_contacts,
    reservations,
    suspensions,
)
from . import audit
from .context import SEOUL, Actor, Clock, Role, local_date
from .onboarding_access import CONTACTS, require_library
from .tx import transactional

log = logging.getLogger("chaekieum.notices")
CONTACT_PARTIES = (Party.LIBRARY, Party.VENDOR, Party.REGIONAL_CENTER)
MAX_CONTACTS = 30
CHUNK = 500


class Sender(Protocol):
    """Delivers one message on one channel; raises `DeliveryError` (permanent or not)
    or any other exception (taken as transient)."""

    def send(self, message: dn.Message) -> None: ...


def _insert_new(conn: Connection, rows: list[dict[str, Any]]) -> int:
    """Insert outbox rows whose key is not there yet (one statement per chunk, ON
    CONFLICT DO NOTHING on the key's unique index); how many were new."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    count = 0
    for start in range(0, len(rows), CHUNK):
        stmt = dialect.insert(notices).values(rows[start:start + CHUNK])
        stmt = stmt.on_conflict_do_nothing(index_elements=["key"]).returning(notices.c.id)
        count += len(conn.execute(stmt).all())
    return count


def mask_to(channel: str, to: str | None) -> str:
    """A recipient as it may appear in a log line or a staff list."""
    if not to:
        return ""
    return mask_email(to) if channel == dn.Channel.EMAIL else mask_phone(to)


def enqueue_stage_change(conn: Connection, change: dn.StageChange, log_id: int) -> int:
    """Queue the e-mail of one stage transition to every contact of the library, in the
    transition's own transaction (called by `Onboarding.move`)."""
    emails = conn.execute(select(onboarding_contacts.c.email).where(
        onboarding_contacts.c.library_code == change.library_code)
        .order_by(onboarding_contacts.c.id)).scalars().all()
    if not emails:
        return 0
    subject, body = dn.stage_email(change)
    rows = [{"key": dn.onboarding_key(log_id, e), "kind": dn.Kind.ONBOARDING_STAGE,
             "channel": dn.Channel.EMAIL, "member_id": None, "recipient": e,
             "library_code": change.library_code, "subject": subject, "body": body,
             "params": {"stage": str(change.stage), "previous": change.previous,
                        "log_id": log_id},
             "status": "pending", "created_at": change.at, "not_before": change.at,
             "attempts": 0, "error": ""}
            for e in dict.fromkeys(x.lower() for x in emails)]
    return _insert_new(conn, rows)


class Notices:
    def __init__(self, db: Database, clock: Clock):
        self.db = db
        self.clock = clock

    # -- onboarding contacts (issue 11) --------------------------------------------
    def _library(self, conn: Connection, actor: Actor, code: str, what: str) -> None:
        require_library(conn, actor, code, what)

    def contacts(self, actor: Actor, code: str) -> dict[str, Any]:
        """The e-mail contacts of a joining library (its staff and admins: not its vendor,
        whose own contact comes with its assignment, services/vendors.py)."""
        with self.db.read() as conn:
            self._library(conn, actor, code, CONTACTS)
            return self._contacts(conn, code)

    @staticmethod
    def _contacts(conn: Connection, code: str) -> dict[str, Any]:
        rows = conn.execute(select(onboarding_contacts).where(
            onboarding_contacts.c.library_code == code).order_by(
            onboarding_contacts.c.party, onboarding_contacts.c.id)).all()
        return {"code": code, "contacts": [
            {"party": r.party, "party_label": PARTY_LABELS[Party(r.party)], "name": r.name,
             "email": r.email} for r in rows]}

    @transactional
    def put_contacts(self, conn: Connection, actor: Actor, code: str,
                     contacts: list[dict[str, str]]) -> dict[str, Any]:
        """Replace the library's contacts: [{party, name, email}] (the library's staff,
        its regional admin or the national admin)."""
        self._library(conn, actor, code, CONTACTS)
        if len(contacts) > MAX_CONTACTS:
            raise DomainError(Code.VALIDATION_ERROR, field="contacts",
                              problem=f"at most {MAX_CONTACTS}")
        clean: dict[tuple[str, str], str] = {}
        for i, c in enumerate(contacts):
            party, email = c.get("party", ""), c.get("email", "").strip()
            name = c.get("name", "").strip()
            if party not in [str(p) for p in CONTACT_PARTIES]:
                raise DomainError(Code.VALIDATION_ERROR, field=f"contacts.{i}.party",
                                  allowed=[str(p) for p in CONTACT_PARTIES])
            if not dn.EMAIL_RE.match(email) or len(email) > 200:
                raise DomainError(Code.VALIDATION_ERROR, field=f"contacts.{i}.email",
                                  problem="not an e-mail address")
            if len(name) > 100:
                raise DomainError(Code.VALIDATION_ERROR, field=f"contacts.{i}.name",
                                  problem="at most 100 chars")
            clean.setdefault((party, email.lower()), name)
        now = self.clock.now()
        conn.execute(delete(onboarding_contacts).where(
            onboarding_contacts.c.library_code == code))
        if clean:
            conn.execute(insert(onboarding_contacts), [
                {"library_code": code, "party": p, "name": n, "email": e, "at": now,
                 "actor": actor.label} for (p, e), n in clean.items()])
        per_party = Counter(p for p, _ in clean)
        audit.record(conn, actor, "onboarding.contacts", "library", code, now,
                     {str(p): per_party.get(str(p), 0) for p in CONTACT_PARTIES}, code)
        return self._contacts(conn, code)

    def library_notices(self, actor: Actor, code: str, limit: int = 100) -> dict[str, Any]:
        """The stage e-mails of a library, newest first, with their delivery state."""
        with self.db.read() as conn:
            self._library(conn, actor, code, CONTACTS)
            rows = conn.execute(select(notices).where(
                notices.c.library_code == code, notices.c.kind == dn.Kind.ONBOARDING_STAGE)
                .order_by(notices.c.id.desc()).limit(limit)).all()
        return {"code": code, "notices": [
            {"id": r.id, "stage": r.params.get("stage", ""), "to": r.recipient or "",
             "subject": r.subject, "status": r.status, "attempts": r.attempts,
             "created_at": _z(r.created_at), "sent_at": _z(r.sent_at) if r.sent_at else None}
            for r in rows]}

    # -- members' choices (issue 14) ------------------------------------------------
    @staticmethod
    def _self(conn: Connection, actor: Actor, number: str):  # noqa: ANN205
        if actor.role != Role.MEMBER or actor.ident != f"member:{number}":
            raise DomainError(Code.FORBIDDEN, problem="only the member themselves")
        m = conn.execute(select(members.c.id, members.c.email, members.c.phone,
                                members.c.status).where(members.c.number == number)).first()
        if m is None or m.status == MemberStatus.WITHDRAWN:
            raise DomainError(Code.MEMBER_UNKNOWN)
        return m

    @staticmethod
    def _prefs(conn: Connection, member_id: int) -> dn.Preferences:
        p = conn.execute(select(member_notice_prefs).where(
            member_notice_prefs.c.member_id == member_id)).first()
        return dn.Preferences(p.email, p.sms, p.kakao) if p else dn.Preferences()

    def preferences(self, actor: Actor, number: str) -> dict[str, Any]:
        """The member's channels, whether each has an address, and the latest notices."""
        with self.db.read() as conn:
            m = self._self(conn, actor, number)
            prefs = self._prefs(conn, m.id)
            recent = conn.execute(select(
                notices.c.kind, notices.c.channel, notices.c.status, notices.c.sent_at,
                notices.c.not_before).where(notices.c.member_id == m.id)
                .order_by(notices.c.id.desc()).limit(20)).all()
        return {"email": prefs.email, "sms": prefs.sms, "kakao": prefs.kakao,
                "has_email": bool(m.email), "has_phone": bool(m.phone),
                "recent": [{"kind": r.kind, "label": dn.KIND_LABELS[dn.Kind(r.kind)],
                            "channel": r.channel, "status": r.status,
                            # sent at, or (waiting) leaves at; Seoul time
                            "at": _kst(r.sent_at or r.not_before)} for r in recent]}

    @transactional
    def set_preferences(self, conn: Connection, actor: Actor, number: str, *, email: bool,
                        sms: bool, kakao: bool) -> dict[str, Any]:
        m = self._self(conn, actor, number)
        now = self.clock.now()
        conn.execute(delete(member_notice_prefs).where(
            member_notice_prefs.c.member_id == m.id))
        conn.execute(insert(member_notice_prefs).values(
            member_id=m.id, email=email, sms=sms, kakao=kakao, updated_at=now))
        audit.record(conn, actor, "member.notice_prefs", "member", number, now,
                     {"email": email, "sms": sms, "kakao": kakao}, None)
        return {"email": email, "sms": sms, "kakao": kakao}

    # -- the scheduler ----------------------------------------------------------------
    def schedule(self) -> dict[str, int]:
        """Queue the member notices due now: reminders 3 days before and on the due
        day, overdue loans, suspensions begun and ended, reservations ready for pickup.
        Safe to run at any time, twice, or in two processes at once."""
        now, today = self.clock.now(), self.clock.today()
        since = now - timedelta(days=dn.LOOKBACK_DAYS)
        found: list[tuple[dn.Kind, int, Any, Any, str | None, dict[str, Any]]] = []
        with self.db.read() as conn:
            q = (select(loans.c.id, loans.c.member_id, loans.c.due_on, loans.c.library_code,
                        copies.c.title, libraries.c.name.label("library"))
                 .join(copies, copies.c.id == loans.c.copy_id)
                 .join(libraries, libraries.c.code == loans.c.library_code)
                 .where(loans.c.state == "active", loans.c.member_id.is_not(None),
                        loans.c.due_on.between(
                            today - timedelta(days=dn.OVERDUE_LOOKBACK_DAYS),
                            today + timedelta(days=dn.DUE_SOON_DAYS))))
            for r in conn.execute(q):
                if r.due_on > today:
                    kind = dn.Kind.DUE_SOON
                elif r.due_on == today:
                    kind = dn.Kind.DUE_TODAY
                else:
                    kind = dn.Kind.OVERDUE
                found.append((kind, r.member_id, r.id, r.due_on, r.library_code, {
                    "title": r.title, "library": r.library, "due_on": r.due_on.isoformat(),
                    "days_left": (r.due_on - today).days}))
            q = (select(suspensions.c.id, suspensions.c.member_id, suspensions.c.ends_on,
                        suspensions.c.created_at, suspensions.c.library_code)
                 .where(suspensions.c.lifted_at.is_(None), suspensions.c.member_id.is_not(None),
                        suspensions.c.created_at >= since, suspensions.c.ends_on >= today))
            for r in conn.execute(q):
                found.append((dn.Kind.SUSPENSION_STARTED, r.member_id, r.id,
                              local_date(r.created_at), r.library_code,
                              {"until": r.ends_on.isoformat()}))
            q = select(members.c.id, members.c.suspended_until).where(
                members.c.suspended_until.between(
                    today - timedelta(days=dn.LOOKBACK_DAYS), today - timedelta(days=1)))
            for r in conn.execute(q):
                found.append((dn.Kind.SUSPENSION_ENDED, r.id, "end", r.suspended_until, None,
                              {"until": r.suspended_until.isoformat()}))
            q = (select(reservations.c.id, reservations.c.member_id, reservations.c.ready_at,
                        reservations.c.pickup_by, reservations.c.library_code,
                        copies.c.title, libraries.c.name.label("library"))
                 .join(copies, copies.c.id == reservations.c.copy_id)
                 .join(libraries, libraries.c.code == reservations.c.library_code)
                 .where(reservations.c.state == "ready",
                        reservations.c.member_id.is_not(None),
                        reservations.c.ready_at >= since))
            for r in conn.execute(q):
                found.append((dn.Kind.RESERVATION_READY, r.member_id, r.id,
                              local_date(r.ready_at), r.library_code, {
                                  "title": r.title, "library": r.library,
                                  "pickup_by": r.pickup_by.isoformat() if r.pickup_by
                                  else ""}))
            people = self._recipients(conn, {f[1] for f in found})
        rows = []
        leave = dn.not_before(now)
        for kind, member_id, ref, day, library_code, params in found:
            person = people.get(member_id)
            if person is None:
                continue
            params = {**params, "name": person["name"]}
            subject, body = dn.member_text(kind, params)
            for channel in person["channels"]:
                rows.append({
                    "key": dn.member_key(kind, member_id, ref, day, channel), "kind": kind,
                    "channel": channel, "member_id": member_id, "recipient": None,
                    "library_code": library_code, "subject": subject, "body": body,
                    "params": params, "status": "pending", "created_at": now,
                    "not_before": leave, "attempts": 0, "error": ""})
        queued = 0
        for start in range(0, len(rows), CHUNK):
            queued += self.db.run_write(lambda c, s=start: _insert_new(c, rows[s:s + CHUNK]))
        out = {"candidates": len(rows), "queued": queued}
        log.info("notice scheduler: %s candidates, %s queued", len(rows), queued)
        return out

    def _recipients(self, conn: Connection, ids: Iterable[int]) -> dict[int, dict[str, Any]]:
        """For each member (not withdrawn, not sandbox test data): name and the channels
        they chose that have an address."""
        out: dict[int, dict[str, Any]] = {}
        ids = sorted(ids)
        for start in range(0, len(ids), CHUNK):
            chunk = ids[start:start + CHUNK]
            q = (select(members.c.id, members.c.name, members.c.email, members.c.phone,
                        member_notice_prefs.c.email.label("p_email"),
                        member_notice_prefs.c.sms.label("p_sms"),
                        member_notice_prefs.c.kakao.label("p_kakao"))
                 .outerjoin(member_notice_prefs,
                            member_notice_prefs.c.member_id == members.c.id)
                 .where(members.c.id.in_(chunk), members.c.status != MemberStatus.WITHDRAWN,
                        members.c.sandbox_of.is_(None)))
            for r in conn.execute(q):
                prefs = (dn.Preferences(r.p_email, r.p_sms, r.p_kakao)
                         if r.p_email is not None else dn.Preferences())
                channels = [c for c in prefs.channels() if _address(c, r.email, r.phone)]
                if channels:
                    out[r.id] = {"name": r.name or "", "channels": channels}
        return out

    # -- delivery -----------------------------------------------------------------------
    def deliver(self, senders: Mapping[str, Sender], limit: int = 500) -> dict[str, int]:
        """Send the pending notices that are due, on the channels that have a sender
        (the others wait). Each row: claim, resolve the address, send, record."""
        now = self.clock.now()
        counts: Counter[str] = Counter()
        counts["uncertain"] = self.db.run_write(lambda c: c.execute(
            update(notices).where(notices.c.status == "sending",
                                  notices.c.claimed_at < now - dn.CLAIM_LEASE)
            .values(status="uncertain", error="interrupted while sending")).rowcount)
        channels = [str(c) for c in senders]
        with self.db.read() as conn:
            due = conn.execute(select(notices.c.id, notices.c.member_id).where(
                notices.c.status == "pending", notices.c.not_before <= now,
                notices.c.channel.in_(channels)).order_by(
                notices.c.not_before, notices.c.id).limit(limit)).all()
        quiet = dn.quiet(now)
        deferred = [r.id for r in due if r.member_id is not None and quiet]
        if deferred:  # a retry that fell into the quiet hours: 08:00
            counts["deferred"] = self.db.run_write(lambda c: c.execute(
                update(notices).where(notices.c.id.in_(deferred),
                                      notices.c.status == "pending")
                .values(not_before=dn.not_before(now))).rowcount)
        for row in due:
            if row.id in deferred:
                continue
            message = self.db.run_write(lambda c, i=row.id: self._claim(c, i, now))
            if message is None:
                counts["skipped"] += 1  # another worker has it, or it was cancelled
                continue
            counts[self._send(senders[message.channel], message, now)] += 1
        return {k: v for k, v in counts.items() if v}

    def _claim(self, conn: Connection, notice_id: int, now: datetime) -> dn.Message | None:
        claimed = conn.execute(update(notices).where(
            notices.c.id == notice_id, notices.c.status == "pending",
            notices.c.not_before <= now).values(
            status="sending", claimed_at=now, attempts=notices.c.attempts + 1)).rowcount
        if not claimed:
            return None
        n = conn.execute(select(notices).where(notices.c.id == notice_id)).one()
        to = n.recipient
        if n.member_id is not None:
            m = conn.execute(select(members.c.email, members.c.phone, members.c.status)
                             .where(members.c.id == n.member_id)).one()
            prefs = self._prefs(conn, n.member_id)
            to = _address(n.channel, m.email, m.phone)
            why = ("withdrawn" if m.status == MemberStatus.WITHDRAWN else
                   "channel turned off" if n.channel not in prefs.channels() else
                   "no address" if not to else "")
            if why:
                conn.execute(update(notices).where(notices.c.id == notice_id).values(
                    status="cancelled", error=why))
                log.info("notice %s (%s, %s) cancelled: %s", n.id, n.kind, n.channel, why)
                return None
        return dn.Message(n.id, dn.Channel(n.channel), dn.Kind(n.kind), to or "", n.subject,
                          n.body, dict(n.params or {}))

    def _send(self, sender: Sender, message: dn.Message, now: datetime) -> str:
        shown = mask_to(message.channel, message.to)
        try:
            sender.send(message)
        except Exception as exc:  # noqa: BLE001 - a sender's failure is data, not a crash
            permanent = isinstance(exc, dn.DeliveryError) and exc.permanent
            error = f"{type(exc).__name__}: {exc}"
            quoted = {message.to}  # a provider's message may quote the recipient
            if message.channel != dn.Channel.EMAIL:
                quoted.add("".join(c for c in message.to if c.isdigit()))
            for raw in sorted(quoted - {""}, key=len, reverse=True):
                error = error.replace(raw, shown)
            error = error[:300]

            def record(conn: Connection) -> str:
                attempts = conn.scalar(select(notices.c.attempts).where(
                    notices.c.id == message.notice_id))
                again = None if permanent else dn.retry_at(now, attempts)
                values: dict[str, Any] = ({"status": "failed"} if again is None else
                                          {"status": "pending", "not_before": again})
                conn.execute(update(notices).where(notices.c.id == message.notice_id)
                             .values(error=error, **values))
                return values["status"]

            status = self.db.run_write(record)
            log.warning("notice %s (%s, %s) to %s: %s (%s)", message.notice_id, message.kind,
                        message.channel, shown, error, "retry" if status == "pending"
                        else "failed")
            return "retry" if status == "pending" else "failed"
        self.db.run_write(lambda c: c.execute(update(notices).where(
            notices.c.id == message.notice_id).values(
            status="sent", sent_at=self.clock.now(), error="")))
        log.info("notice %s (%s, %s) sent to %s", message.notice_id, message.kind,
                 message.channel, shown)
        return "sent"

    # -- operators --------------------------------------------------------------------
    def status(self) -> dict[str, dict[str, int]]:
        """Rows per status and channel."""
        with self.db.read() as conn:
            rows = conn.execute(select(notices.c.status, notices.c.channel,
                                       func.count()).group_by(
                notices.c.status, notices.c.channel)).all()
        out: dict[str, dict[str, int]] = {}
        for status, channel, n in rows:
            out.setdefault(status, {})[channel] = n
        return out

    @transactional
    def requeue(self, conn: Connection, actor: Actor, ids: list[int]) -> int:
        """An operator sends failed or uncertain rows again (after checking that an
        uncertain one did not arrive): back to pending, attempts reset. Audited."""
        now = self.clock.now()
        n = conn.execute(update(notices).where(
            notices.c.id.in_(ids), notices.c.status.in_(("failed", "uncertain"))).values(
            status="pending", not_before=now, attempts=0, error="")).rowcount
        audit.record(conn, actor, "notice.requeue", "notice", ",".join(map(str, ids))[:60],
                     now, {"ids": ids[:100], "requeued": n}, None)
        return n


def erase_member(conn: Connection, member_id: int) -> int:
    """Withdrawal: the member's notices (texts with titles) and channel choices go."""
    conn.execute(delete(member_notice_prefs).where(member_notice_prefs.c.member_id == member_id))
    return conn.execute(delete(notices).where(notices.c.member_id == member_id)).rowcount


def _address(channel: str, email: str | None, phone: str | None) -> str | None:
    return (email if channel == dn.Channel.EMAIL else phone) or None


def _kst(utc_naive: datetime) -> str:
    return utc_naive.replace(tzinfo=UTC).astimezone(SEOUL).strftime("%Y-%m-%d %H:%M")


def _z(moment: datetime) -> str:
    return moment.isoformat() + "Z"

