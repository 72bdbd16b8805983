"""What each feed holds: one event per final shift over the horizon, and a person's time off."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta

from scripts.rotation import schedule
from scripts.rotation.model import Rotation
from scripts.rotation.schedule import Shift

DEFAULT_WEEKS = 26
DEFAULT_TITLE = "Support rotation"


@dataclass(frozen=True)
class Event:
    """One calendar event; `start`/`end` are instants, or dates for an all-day event."""

    uid: str
    start: datetime | date
    end: datetime | date  # exclusive (an all-day event: the day after its last)
    summary: str
    description: str
    person: str  # handle
    schedule: str | None  # None: time off
    why: str = "rotation"  # rotation | swap | hero | time-off
    sequence: int = 0

    @property
    def fingerprint(self) -> str:
        """What a calendar shows of it: equal fingerprints, nothing to update."""
        text = "\n".join(str(x) for x in (self.start, self.end, self.summary, self.description))
        return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Horizon:
    start: datetime  # the handoff starting the shift holding now
    end: datetime
    weeks: int


def horizon(rot: Rotation, now: datetime, weeks: int = DEFAULT_WEEKS) -> Horizon:
    """`weeks` weeks of handoffs from the one that starts the shift holding `now`."""
    first = schedule.week_of(rot, now)
    end = schedule.handoff(rot, first + timedelta(weeks=weeks))
    return Horizon(schedule.handoff(rot, first), end, weeks)


def title(rot: Rotation) -> str:
    """`calendar.title` in rotation.yaml, else a plain default."""
    return str(rot.section("calendar").get("title") or DEFAULT_TITLE)


def namespace(rot: Rotation) -> str:
    """Part of every UID: stable across builds, different between two organisations' sites."""
    seed = str(rot.section("links").get("rotation") or title(rot))
    return hashlib.sha256(seed.encode()).hexdigest()[:10]


def shift_events(rot: Rotation, span: Horizon) -> list[Event]:
    """Every final shift of every schedule (after swaps and hero-as-secondary, split as the
    engine splits it), by schedule then start. A shift's UID is its schedule and start: the
    same shift changing hands keeps it."""
    ns = namespace(rot)
    return [
        Event(
            uid=f"{s.schedule}-{s.start:%Y%m%dT%H%M%SZ}-{ns}@support-hero",
            start=s.start,
            end=s.end,
            summary=f"{rot.schedule_label(s.schedule)}: {rot.people[s.person].name}",
            description=describe(rot, s),
            person=s.person,
            schedule=s.schedule,
            why=s.why,
        )
        for s in schedule.shifts(rot, span.start, span.end)
    ]


def describe(rot: Rotation, s: Shift) -> str:
    """Why this person holds it, where rotation.yaml says so, and the link to it."""
    name = rot.people[s.person].name
    where = f"{rot.file}, line {s.line}" if s.line else rot.file
    if s.why == "swap":
        base = schedule.person_on(rot.cycle_of(s.schedule), rot, s.start)
        covered = rot.people[base].name if base and base in rot.people else "the rotation"
        why = f"A swap: {name} covers {covered} ({where})."
    elif s.why == "hero":
        team = rot.teams[s.schedule].name
        why = f"{name} is the Support Hero, and so covers {team}'s secondary too ({where})."
    else:
        why = f"{name}'s turn on the weekly rotation ({where})."
    url = rot.section("links").get("rotation")
    return why + (f"\nrotation.yaml: {url}" if url else "")


def time_off_events(rot: Rotation, span: Horizon) -> list[Event]:
    """Each time off overlapping the horizon, as an all-day event of its person's feed."""
    ns, zone = namespace(rot), rot.zone
    first_day, last_day = span.start.astimezone(zone).date(), span.end.astimezone(zone).date()
    return [
        Event(
            uid=f"time-off-{t.person}-{t.first:%Y%m%d}-{ns}@support-hero",
            start=t.first,
            end=t.last + timedelta(days=1),
            summary=f"Time off: {rot.people[t.person].name}",
            description=(t.reason + "\n" if t.reason else "") + f"{rot.file}, line {t.line}",
            person=t.person,
            schedule=None,
            why="time-off",
        )
        for t in rot.time_off
        if t.last >= first_day and t.first <= last_day
    ]


Previous = Mapping[str, tuple[int, str]]  # uid -> (SEQUENCE, fingerprint) of the last build


def sequenced(events: Sequence[Event], previous: Previous) -> list[Event]:
    """Each event with its SEQUENCE: the last build's, one higher when what it shows changed
    (a shift that changed hands, or ended earlier), 0 for a new one (RFC 5545 3.8.7.4)."""
    out = []
    for e in events:
        seq, seen = previous.get(e.uid, (0, e.fingerprint))
        out.append(replace(e, sequence=seq + (seen != e.fingerprint)))
    return out


@dataclass(frozen=True)
class Feeds:
    """Every feed's events: by person handle, and by schedule key."""

    people: Mapping[str, tuple[Event, ...]]
    schedules: Mapping[str, tuple[Event, ...]]


def feeds(rot: Rotation, span: Horizon, previous: Previous) -> Feeds:
    """A feed per person (their shifts on every schedule, and their time off) and per schedule."""
    shifts = sequenced(shift_events(rot, span), previous)
    off = sequenced(time_off_events(rot, span), previous)
    people = {
        h: tuple(sorted((e for e in [*shifts, *off] if e.person == h), key=lambda e: day(rot, e)))
        for h in rot.people
    }
    by_schedule = {k: tuple(e for e in shifts if e.schedule == k) for k in rot.schedules()}
    return Feeds(people, by_schedule)


def day(rot: Rotation, e: Event) -> date:
    """The day an event starts, in the rotation's zone."""
    return e.start.astimezone(rot.zone).date() if isinstance(e.start, datetime) else e.start
