"""The site, pure: the rotation at a glance (index.html) and a page per person, as HTML text.

Jinja2 templates with autoescaping: every name comes from rotation.yaml, which a pull request
can edit. No email address is put in any page (the site may be public).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import jinja2

from scripts.calendar.events import Event, Feeds, Horizon, title
from scripts.rotation import fairness, schedule
from scripts.rotation.model import HERO, Rotation
from scripts.rotation.schedule import Shift

MARKS = {"swap": ("⇄", "swap"), "hero": ("★", "the Support Hero covers their own team")}
TEMPLATES = jinja2.Environment(
    loader=jinja2.PackageLoader("scripts.calendar", "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


@dataclass(frozen=True)
class Build:
    """Where and when: the UTC instant, the commit (may be empty), the site's public address
    (empty: links stay relative, and no webcal:// link can be given)."""

    now: datetime
    commit: str = ""
    base_url: str = ""


@dataclass(frozen=True)
class Cell:
    """Who holds one schedule in one week; `note` when not the whole week ("from Wed 16")."""

    handle: str
    name: str
    why: str
    note: str = ""


@dataclass(frozen=True)
class Week:
    label: str  # "Mon 14 Dec 2026, 09:00 GMT"
    start: datetime
    end: datetime
    now: bool  # the shift holding now is in this week
    cells: Sequence[Sequence[Cell]]  # per schedule, in rot.schedules() order
    off: Sequence[str]  # "Erin Edwards (Mon 21 Dec - Sun 27 Dec)"
    clocks: str  # "clocks change: GMT -> BST", or ""


def weeks(rot: Rotation, span: Horizon, shifts: Sequence[Shift], now: datetime) -> list[Week]:
    """The horizon week by week, handoff to handoff (wall-clock time across DST)."""
    zone, keys, first = rot.zone, rot.schedules(), schedule.week_of(rot, span.start)
    starts = [schedule.handoff(rot, first + timedelta(weeks=i)) for i in range(span.weeks + 1)]
    out = []
    for start, end in itertools.pairwise(starts):
        cells = [_cells(rot, shifts, k, start, end) for k in keys]
        a, b = start.astimezone(zone), end.astimezone(zone)
        clocks = f"clocks change: {a:%Z} → {b:%Z}" if a.utcoffset() != b.utcoffset() else ""
        when = f"{a:%a %d %b %Y, %H:%M %Z}"
        out.append(Week(when, start, end, start <= now < end, cells, _off(rot, start, end), clocks))
    return out


def _cells(
    rot: Rotation, shifts: Sequence[Shift], key: str, start: datetime, end: datetime
) -> list[Cell]:
    found = []
    for s in shifts:
        if s.schedule != key or s.end <= start or s.start >= end:
            continue
        note = ""
        if (s.start, s.end) != (start, end):
            a, b = s.start.astimezone(rot.zone), s.end.astimezone(rot.zone)
            note = f"{a:%a %d} – {b:%a %d}"
        found.append(Cell(s.person, rot.people[s.person].name, s.why, note))
    return found


def _off(rot: Rotation, start: datetime, end: datetime) -> list[str]:
    first, last = start.astimezone(rot.zone).date(), end.astimezone(rot.zone).date()
    return [
        f"{rot.people[t.person].name} ({t.first:%a %d %b} – {t.last:%a %d %b})"
        for t in rot.time_off
        if t.first < last and t.last >= first
    ]


@dataclass(frozen=True)
class Bar:
    handle: str
    name: str
    hero: float
    secondary: float


def load_bars(rot: Rotation, now: datetime) -> list[Bar]:
    """Hero and secondary weeks per person over the next 52 weeks (rotation/fairness.py)."""
    load = fairness.load(rot, now)
    return [
        Bar(h, p.name, load.hero.get(h, 0.0), load.secondary.get(h, 0.0))
        for h, p in sorted(rot.people.items(), key=lambda kv: kv[1].name.lower())
    ]


def index(rot: Rotation, span: Horizon, shifts: Sequence[Shift], build: Build) -> str:
    """The rotation at a glance: the weeks, who holds what, the legend, the fairness chart."""
    bars = load_bars(rot, build.now)
    most = max([b.hero + b.secondary for b in bars] + [1.0])
    return TEMPLATES.get_template("index.html").render(
        title=title(rot),
        zone=rot.timezone,
        columns=[rot.schedule_label(k) for k in rot.schedules()],
        weeks=weeks(rot, span, shifts, build.now),
        marks=MARKS,
        bars=bars,
        most=most,
        schedules=[(k, rot.schedule_label(k)) for k in rot.schedules()],
        built=_local(rot, build.now),
        commit=build.commit,
        feed=lambda name: feed_url(build, name),
        weeks_shown=span.weeks,
    )


def person(rot: Rotation, handle: str, feeds: Feeds, build: Build) -> str:
    """One person's coming shifts, their next hero shift first, and how to subscribe."""
    mine = feeds.people[handle]
    shifts = [e for e in mine if e.schedule is not None]
    hero = next((e for e in shifts if e.schedule == HERO), None)
    p = rot.people[handle]
    return TEMPLATES.get_template("person.html").render(
        title=title(rot),
        name=p.name,
        team=rot.teams[p.team].name if p.team in rot.teams else p.team,
        zone=rot.timezone,
        hero=_row(rot, hero) if hero else None,
        shifts=[_row(rot, e) for e in shifts],
        off=[_row(rot, e) for e in mine if e.schedule is None],
        marks=MARKS,
        feed=feed_url(build, handle, up="../"),
        webcal=webcal_url(build, handle),
        built=_local(rot, build.now),
        commit=build.commit,
    )


@dataclass(frozen=True)
class Row:
    what: str
    when: str
    why: str


def _row(rot: Rotation, e: Event) -> Row:
    if isinstance(e.start, datetime) and isinstance(e.end, datetime):
        a, b = e.start.astimezone(rot.zone), e.end.astimezone(rot.zone)
        when = f"{a:%a %d %b %Y %H:%M} – {b:%a %d %b %H:%M}"
    else:  # all day: the end is the day after the last
        when = f"{e.start:%a %d %b %Y} – {e.end - timedelta(days=1):%a %d %b}"
    what = e.summary.split(":", 1)[0] if e.schedule else "Time off"
    return Row(what, when, e.why)


def feed_url(build: Build, name: str, up: str = "") -> str:
    """A feed's address: absolute when the site's address is known, else relative to a page
    `up` levels below the root ("../")."""
    path = f"calendar/{name}.ics"
    return f"{build.base_url.rstrip('/')}/{path}" if build.base_url else up + path


def webcal_url(build: Build, name: str) -> str:
    """webcal://... opens a subscription in Apple Calendar and Outlook; needs the address."""
    url = feed_url(build, name)
    return "webcal://" + url.split("://", 1)[1] if "://" in url else ""


def _local(rot: Rotation, instant: datetime) -> str:
    return f"{instant.astimezone(rot.zone):%a %d %b %Y %H:%M %Z}"


def pages(rot: Rotation, span: Horizon, shifts: Sequence[Shift], feeds: Feeds,
          build: Build) -> Mapping[str, str]:  # fmt: skip
    """Every page by its path in the site."""
    out = {"index.html": index(rot, span, shifts, build)}
    for handle in rot.people:
        out[f"people/{handle}.html"] = person(rot, handle, feeds, build)
    return out
