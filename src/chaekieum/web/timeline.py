"""The onboarding timeline: planned (세부일정) against actual dates per stage per library,
drawn on the server as inline SVG (no script, no external library; the CSP allows no
inline style, so every colour is a presentation attribute).

Each library is one row with two lanes: the planned dates as hollow numbered circles on
the upper lane, the dates each stage was reached as filled numbered circles on the lower
one. A stage reached after its planned date has a red connector between the two; an
overdue stage (planned date passed, not reached) is a red circle. A dashed line marks
today. Markers of one lane keep a circle apart (stages reached the same day), and the
chart starts at most PAST_DAYS before today. The page shows the same facts as a table
(the text alternative), and each marker's <title> names library, stage and date.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from markupsafe import Markup, escape

WIDTH = 1000
LEFT = 230  # library names
PLOT = LEFT + 14  # where the dates start
RIGHT = 24
TOP = 58  # legend and month axis
ROW = 58
BOTTOM = 16
PAST_DAYS = 120
RADIUS = 8
INK, MUTED, LINE = "#1d2430", "#5b6574", "#c4cad3"
BRAND, LATE, LATE_BG, ON_TIME = "#0b5cad", "#b3261e", "#fdeceb", "#1d7a3a"


@dataclass(frozen=True)
class Point:
    number: int  # the stage's place in the process, 1..8 (the legend under the chart)
    label: str
    planned: date | None
    reached: date | None
    overdue: bool = False


@dataclass(frozen=True)
class Row:
    code: str
    name: str
    points: list[Point] = field(default_factory=list)


@dataclass(frozen=True)
class Words:
    """The chart's words in the page's language."""

    title: str
    planned: str
    actual: str
    late: str
    today: str
    month: str  # a format with {year} and {month}
    summary: str  # a format with {libraries} and {overdue}


def _domain(rows: list[Row], today: date) -> tuple[date, date]:
    """The dates shown: all of them, with a week either side, at least two months, and
    at most PAST_DAYS before today (a library long at one stage would squash everyone
    else's schedule; its older dates sit on the left edge)."""
    days = [today] + [d for r in rows for p in r.points for d in (p.planned, p.reached) if d]
    lo = max(min(days) - timedelta(days=7), today - timedelta(days=PAST_DAYS))
    hi = max(max(days) + timedelta(days=7), lo + timedelta(days=60))
    return lo, hi


def _dodge(xs: list[float]) -> list[float]:
    """Markers on one lane at least a circle apart, in stage order (two stages reached
    the same day stay readable)."""
    out: list[float] = []
    for value in xs:
        out.append(max(value, out[-1] + 2 * RADIUS + 2) if out else value)
    return out


def _months(lo: date, hi: date) -> list[date]:
    first = date(lo.year, lo.month, 1)
    months = []
    while first <= hi:
        if first >= lo:
            months.append(first)
        first = date(first.year + first.month // 12, first.month % 12 + 1, 1)
    step = max(1, -(-len(months) // 12))  # at most 12 labels
    return months[::step]


def _title(text: str) -> str:
    return f"<title>{escape(text)}</title>"


def _circle(x: float, y: float, number: int, fill: str, stroke: str, ink: str,
            tip: str, kind: str) -> str:
    return (f'<g class="tl-{kind}">{_title(tip)}'
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{RADIUS}" fill="{fill}" stroke="{stroke}" '
            f'stroke-width="2"/><text x="{x:.1f}" y="{y + 4:.1f}" font-size="11" '
            f'font-weight="700" text-anchor="middle" fill="{ink}">{number}</text></g>')


def timeline_svg(rows: list[Row], today: date, words: Words) -> Markup:
    lo, hi = _domain(rows, today)
    span = (hi - lo).days
    height = TOP + ROW * len(rows) + BOTTOM

    def x(day: date) -> float:
        return PLOT + (max(day, lo) - lo).days / span * (WIDTH - PLOT - RIGHT)

    overdue = sum(1 for r in rows if any(p.overdue for p in r.points))
    out = [
        f'<svg class="timeline" viewBox="0 0 {WIDTH} {height}" width="100%" role="img" '
        f'aria-labelledby="timeline-title timeline-desc" xmlns="http://www.w3.org/2000/svg" '
        f'font-family="Noto Sans KR, NanumGothic, sans-serif">',
        f'<title id="timeline-title">{escape(words.title)}</title>',
        f'<desc id="timeline-desc">'
        f'{escape(words.summary.format(libraries=len(rows), overdue=overdue))}</desc>',
    ]
    # legend
    lx = LEFT
    for fill, stroke, ink, text in (("#fff", MUTED, INK, words.planned),
                                    (BRAND, BRAND, INK, words.actual),
                                    (LATE_BG, LATE, LATE, words.late)):
        out.append(f'<circle cx="{lx + RADIUS}" cy="14" r="{RADIUS - 1}" fill="{fill}" '
                   f'stroke="{stroke}" stroke-width="2"/><text x="{lx + 2 * RADIUS + 6}" '
                   f'y="19" font-size="13" fill="{ink}">{escape(text)}</text>')
        lx += 2 * RADIUS + 18 + 14 * len(text)
    out.append(f'<line x1="{lx}" y1="14" x2="{lx + 22}" y2="14" stroke="{INK}" '
               f'stroke-dasharray="4 3" stroke-width="1.5"/><text x="{lx + 28}" y="19" '
               f'font-size="13" fill="{INK}">{escape(words.today)}</text>')
    # month axis with a faint grid line per month
    for month in _months(lo, hi):
        mx = x(month)
        if mx > WIDTH - RIGHT - 70:  # no label cut at the edge
            continue
        out.append(f'<line x1="{mx:.1f}" y1="{TOP - 8}" x2="{mx:.1f}" y2="{height - BOTTOM}" '
                   f'stroke="{LINE}" stroke-width="1"/><text x="{mx + 3:.1f}" y="{TOP - 12}" '
                   f'font-size="12" fill="{MUTED}">'
                   f'{escape(words.month.format(year=month.year, month=month.month))}</text>')
    tx = x(today)  # under the markers
    out.append(f'<line x1="{tx:.1f}" y1="{TOP - 6}" x2="{tx:.1f}" y2="{height - BOTTOM}" '
               f'stroke="{INK}" stroke-width="1.5" stroke-dasharray="4 3"/>')
    for i, row in enumerate(rows):
        y0 = TOP + i * ROW
        planned_y, actual_y = y0 + 18, y0 + 40
        if i:
            out.append(f'<line x1="0" y1="{y0}" x2="{WIDTH}" y2="{y0}" stroke="{LINE}"/>')
        late = any(p.overdue for p in row.points)
        out.append(f'<g class="tl-row" data-code="{escape(row.code)}">'
                   f'<text x="{LEFT - 14}" y="{y0 + 26}" font-size="14" font-weight="700" '
                   f'text-anchor="end" fill="{LATE if late else INK}">{escape(row.name)}</text>'
                   f'<text x="{LEFT - 14}" y="{y0 + 44}" font-size="12" text-anchor="end" '
                   f'fill="{MUTED}">{escape(row.code)}'
                   f'{" · " + escape(words.late) if late else ""}</text>')
        planned = [p for p in row.points if p.planned]
        reached = [p for p in row.points if p.reached]
        px = dict(zip([p.number for p in planned], _dodge([x(p.planned) for p in planned]),
                      strict=True))
        ax = dict(zip([p.number for p in reached], _dodge([x(p.reached) for p in reached]),
                      strict=True))
        for lane, xs in ((planned_y, px), (actual_y, ax)):
            if len(xs) > 1:
                points = " ".join(f"{v:.1f},{lane}" for v in xs.values())
                out.append(f'<polyline points="{points}" fill="none" stroke="{LINE}" '
                           f'stroke-width="2"/>')
        if reached:  # the stage in progress runs on to today
            out.append(f'<line x1="{ax[reached[-1].number]:.1f}" y1="{actual_y}" '
                       f'x2="{x(today):.1f}" y2="{actual_y}" stroke="{BRAND}" '
                       f'stroke-width="2" stroke-dasharray="2 3"/>')
        for p in row.points:  # planned against actual: a connector, red when late
            if p.planned and p.reached:
                colour = LATE if p.reached > p.planned else ON_TIME
                out.append(f'<line x1="{px[p.number]:.1f}" y1="{planned_y + RADIUS}" '
                           f'x2="{ax[p.number]:.1f}" y2="{actual_y - RADIUS}" '
                           f'stroke="{colour}" stroke-width="1.5"/>')
        for p in planned:
            tip = f"{row.name} · {p.number}. {p.label} · {words.planned} {p.planned}"
            if p.overdue:
                out.append(_circle(px[p.number], planned_y, p.number, LATE_BG, LATE, LATE,
                                   f"{tip} ({words.late})", "overdue"))
            else:
                out.append(_circle(px[p.number], planned_y, p.number, "#fff", MUTED, INK,
                                   tip, "planned"))
        for p in reached:
            out.append(_circle(ax[p.number], actual_y, p.number, BRAND, BRAND, "#fff",
                               f"{row.name} · {p.number}. {p.label} · {words.actual} "
                               f"{p.reached}", "actual"))
        out.append("</g>")
    out.append("</svg>")
    return Markup("".join(out))
