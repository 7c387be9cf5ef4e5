"""Public pages, no sign-in: the libraries joining 책이음 (`/joining`) and the same as an
Atom feed (`/joining.atom`, made with feedgen) for anyone to follow."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Request
from fastapi.responses import Response
from feedgen.feed import FeedGenerator

from .common import hub_of, render
from .i18n import label, translate

router = APIRouter()
FEED_HEADERS = {"Cache-Control": "public, max-age=300"}


@router.get("/joining")
def joining_page(request: Request) -> Response:
    board = hub_of(request).joining.board()
    return render(request, "joining.html", {"board": board})


def _aware(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC)  # the hub's timestamps are naive UTC


def entry_text(lib: dict, lang: str = "ko") -> str:
    stage = translate(f"stage.{lib['stage']}", lang)
    region = lib["region_name_en"] if lang == "en" else lib["region_name"]
    parts = [f"{translate('joining.region', lang)}: {region}",
             f"{translate('joining.stage', lang)}: {stage}"]
    if lib["launch_date"]:
        key = "joining.live_since" if lib["live_since"] else "joining.launch_date"
        parts.append(f"{translate(key, lang)}: {(lib['live_since'] or lib['launch_date'])}")
    return " · ".join(parts)


@router.get("/joining.atom")
def joining_feed(request: Request) -> Response:
    board = hub_of(request).joining.board()
    base = str(request.base_url).rstrip("/")
    feed = FeedGenerator()
    feed.id(f"{base}/joining")
    feed.title(translate("joining.title", "ko"))
    feed.subtitle(translate("joining.intro", "ko"))
    feed.language("ko")
    feed.author({"name": translate("app.name", "ko")})
    feed.link(href=f"{base}/joining.atom", rel="self", type="application/atom+xml")
    feed.link(href=f"{base}/joining", rel="alternate", type="text/html")
    feed.updated(_aware(board["updated"]))
    for lib in board["libraries"]:
        entry = feed.add_entry(order="append")
        entry.id(f"{base}/joining#lib-{lib['code']}")
        entry.title(f"{lib['name']} · {label('stage', lib['stage'], 'ko')}")
        entry.link(href=f"{base}/joining#lib-{lib['code']}", rel="alternate")
        entry.updated(_aware(lib["updated"]))
        entry.category(term=lib["stage"], label=label("stage", lib["stage"], "ko"))
        entry.summary(entry_text(lib))
    return Response(feed.atom_str(pretty=True), media_type="application/atom+xml",
                    headers=FEED_HEADERS)
