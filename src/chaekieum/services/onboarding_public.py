"""What the public and the members see of libraries joining 책이음 (issue 11).

- `board()`: the public list (web `/joining` and its Atom feed `/joining.atom`). It
  holds every library still joining (suitability check to pilot), with its stage and
  the announced launch date, and the libraries whose announced launch date is at most
  `recent_days` ago and that are live.
  A library on hold, withdrawn or suspended is not listed. Nothing internal is shown:
  no reasons, checklists or documents.
- `launch_notices(member)`: the member-portal notice "○○도서관이 ○월 ○일부터 책이음
  서비스를 시작합니다". A member sees it when their home region (the region of the
  library that issued their card) is the library's region, from the day the launch
  date is announced until launch day, and once the library is live ("시작했습니다")
  until `notice_after_days` after launch day. A launch put off past its date is not
  shown as begun.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import func, or_, select

from ..domain import onboarding as ob
from ..store.db import Database
from ..store.tables import audit_log, libraries, library_stage_log, members, regions
from .context import Clock

RECENT_DAYS = 60
NOTICE_AFTER_DAYS = 7
JOINING = sorted(str(s) for s in ob.IN_PROGRESS)


class Joining:
    def __init__(self, db: Database, clock: Clock, recent_days: int = RECENT_DAYS,
                 notice_after_days: int = NOTICE_AFTER_DAYS):
        self.db = db
        self.clock = clock
        self.recent_days = recent_days
        self.notice_after_days = notice_after_days

    def board(self) -> dict[str, Any]:
        today = self.clock.today()
        moved = (select(library_stage_log.c.library_code.label("code"),
                        func.max(library_stage_log.c.at).label("at"))
                 .group_by(library_stage_log.c.library_code).subquery())
        announced = (select(audit_log.c.library_code.label("code"),
                            func.max(audit_log.c.at).label("at"))
                     .where(audit_log.c.action == "onboarding.launch_date")
                     .group_by(audit_log.c.library_code).subquery())
        q = (select(libraries.c.code, libraries.c.name, libraries.c.region_code,
                    regions.c.name.label("region_name"),
                    regions.c.name_en.label("region_name_en"), libraries.c.status,
                    libraries.c.launch_date, libraries.c.live_since, libraries.c.created_at,
                    moved.c.at.label("moved_at"), announced.c.at.label("announced_at"))
             .join(regions, regions.c.code == libraries.c.region_code)
             .outerjoin(moved, moved.c.code == libraries.c.code)
             .outerjoin(announced, announced.c.code == libraries.c.code)
             .where(or_(libraries.c.status.in_(JOINING),
                        (libraries.c.status == ob.Stage.LIVE)
                        & (libraries.c.launch_date >= today - timedelta(days=self.recent_days)))))
        with self.db.read() as conn:
            rows = conn.execute(q).all()
        order = {str(s): n for n, s in enumerate(ob.ORDER)}
        items = [{
            "code": r.code, "name": r.name, "region_code": r.region_code,
            "region_name": r.region_name, "region_name_en": r.region_name_en,
            "stage": r.status, "label": ob.LABELS[ob.Stage(r.status)],
            "launch_date": r.launch_date, "live_since": r.live_since,
            "updated": max(t for t in (r.moved_at, r.announced_at, r.created_at) if t),
        } for r in rows]
        items.sort(key=lambda i: (i["launch_date"] or date.max, -order[i["stage"]], i["name"]))
        return {"libraries": items, "updated": max(
            (i["updated"] for i in items), default=self.clock.now())}

    def launch_notices(self, member_number: str) -> list[dict[str, Any]]:
        """The launches a member of this region is told about (soonest first)."""
        today = self.clock.today()
        home = (select(libraries.c.region_code)
                .join(members, members.c.issuing_library == libraries.c.code)
                .where(members.c.number == member_number).scalar_subquery())
        live = libraries.c.status == ob.Stage.LIVE
        q = (select(libraries.c.code, libraries.c.name, libraries.c.launch_date,
                    live.label("live"))
             .where(libraries.c.region_code == home,
                    libraries.c.launch_announced_on <= today,
                    # still to come (a launch put off past its date is not announced as
                    # begun), or begun at most `notice_after_days` ago
                    or_(libraries.c.status.in_(JOINING) & (libraries.c.launch_date >= today),
                        live & (libraries.c.launch_date >= today - timedelta(
                            days=self.notice_after_days))))
             .order_by(libraries.c.launch_date, libraries.c.name))
        with self.db.read() as conn:
            rows = conn.execute(q).all()
        return [{"code": r.code, "name": r.name, "launch_date": r.launch_date,
                 "started": bool(r.live),
                 "text": launch_sentence(r.name, r.launch_date, bool(r.live))}
                for r in rows]


def subject_particle(name: str) -> str:
    """이 after a final consonant (도서관이), 가 after a vowel (센터가); 이(가) when the
    name does not end in Hangul."""
    last = name.rstrip()[-1:] or " "
    if "가" <= last <= "힣":
        return "이" if (ord(last) - ord("가")) % 28 else "가"
    return "이(가)"


def launch_sentence(name: str, launch: date, started: bool) -> str:
    """"○○도서관이 ○월 ○일부터 책이음 서비스를 시작합니다" (시작했습니다 once begun)."""
    verb = "시작했습니다" if started else "시작합니다"
    return (f"{name}{subject_particle(name)} {launch.month}월 {launch.day}일부터 "
            f"책이음 서비스를 {verb}")

