"""Pure schedule engine: every schedule's shifts over a time range, swaps and heroes included."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta

from scripts.rotation.model import HERO, Cycle, Rotation, Swap

WEEK = timedelta(days=7)


@dataclass(frozen=True, order=True)
class Shift:
    """One contiguous span of one person on one schedule; start and end are aware UTC datetimes."""

    schedule: str
    start: datetime
    end: datetime
    person: str
    why: str = "rotation"  # rotation | swap | hero
    line: int = 0  # the rotation.yaml line that puts this person here


def handoff(rot: Rotation, day: date) -> datetime:
    """The handoff instant (UTC) at the handoff wall-clock time on `day` in the rotation's zone."""
    local = datetime.combine(day, rot.handoff_time, tzinfo=rot.zone)
    return local.astimezone(UTC)


def week_of(rot: Rotation, instant: datetime) -> date:
    """The handoff date that starts the shift holding `instant`."""
    day = instant.astimezone(rot.zone).date()
    day -= timedelta(days=(day.weekday() - rot.handoff_weekday) % 7)
    if handoff(rot, day) > instant:
        day -= WEEK
    return day


def defined_from(rot: Rotation, schedule: str) -> date:
    """The first handoff date a schedule is defined on: its since (hero teams: also the hero's)."""
    start = rot.cycle_of(schedule).since
    if schedule != HERO and rot.hero.hero_is_team_secondary and _supplies_heroes(rot, schedule):
        start = max(start, rot.hero.cycle.since)
    return start


def _supplies_heroes(rot: Rotation, team: str) -> bool:
    return any(rot.people[h].team == team for h in rot.hero.cycle.order)


def person_on(cycle: Cycle, rot: Rotation, instant: datetime) -> str | None:
    """Who the cycle (before swaps) puts on at `instant`, or None before its since."""
    week = week_of(rot, instant)
    if week < cycle.since:
        return None
    return cycle.person_at((week - cycle.since).days // 7)


def base_shifts(rot: Rotation, schedule: str, start: datetime, end: datetime) -> list[Shift]:
    """Whole weekly shifts of the cycle alone (no swaps) that overlap [start, end)."""
    cycle = rot.cycle_of(schedule)
    first = defined_from(rot, schedule)
    week = max(week_of(rot, start), first)
    shifts = []
    while handoff(rot, week) < end:
        index = (week - cycle.since).days // 7
        shifts.append(
            Shift(
                schedule,
                handoff(rot, week),
                handoff(rot, week + WEEK),
                cycle.person_at(index),
                "rotation",
                cycle.line,
            )
        )
        week += WEEK
    return shifts


def swap_spans(rot: Rotation, swap: Swap) -> list[tuple[datetime, datetime, str, str]]:
    """Each half of a swap as (start, end, who is on before the swap, who covers it)."""
    spans = []
    for day, (on, cover) in zip(swap.dates, (swap.people, swap.people[::-1]), strict=True):
        if swap.single_day:
            start, end = handoff(rot, day), handoff(rot, day + timedelta(days=1))
        else:
            week = week_of(rot, handoff(rot, day))
            start, end = handoff(rot, week), handoff(rot, week + WEEK)
        spans.append((start, end, on, cover))
    return spans


def paint(
    shifts: list[Shift], start: datetime, end: datetime, person: str, why: str, line: int
) -> list[Shift]:
    """Give [start, end) to `person` wherever `shifts` cover it; coverage never grows."""
    result = []
    for shift in shifts:
        if shift.end <= start or shift.start >= end:
            result.append(shift)
            continue
        if shift.start < start:
            result.append(replace(shift, end=start))
        result.append(
            replace(
                shift,
                start=max(shift.start, start),
                end=min(shift.end, end),
                person=person,
                why=why,
                line=line,
            )
        )
        if shift.end > end:
            result.append(replace(shift, start=end))
    return result


def schedule_shifts(rot: Rotation, schedule: str, start: datetime, end: datetime) -> list[Shift]:
    """Final shifts of one schedule overlapping [start, end), clipped to it."""
    if rot.cycle(schedule) is None:
        return []
    shifts = base_shifts(rot, schedule, start, end)
    if not shifts:
        return []
    span_start, span_end = shifts[0].start, shifts[-1].end
    for swap in rot.swaps:
        if swap.schedule != schedule:
            continue
        for s, e, _on, cover in swap_spans(rot, swap):
            if s < span_end and e > span_start:
                shifts = paint(shifts, s, e, cover, "swap", swap.line)
    if schedule != HERO and rot.hero.hero_is_team_secondary:
        for hero in schedule_shifts(rot, HERO, span_start, span_end):
            if rot.people[hero.person].team == schedule:
                shifts = paint(shifts, hero.start, hero.end, hero.person, "hero", hero.line)
    return _clip(_merge(shifts), start, end)


def _merge(shifts: list[Shift]) -> list[Shift]:
    """Join neighbours that are the same person for the same reason (painting can split them)."""
    merged: list[Shift] = []
    for shift in shifts:
        last = merged[-1] if merged else None
        if (
            last
            and last.end == shift.start
            and (last.person, last.why, last.line) == (shift.person, shift.why, shift.line)
            and shift.why != "rotation"
        ):
            merged[-1] = replace(last, end=shift.end)
        else:
            merged.append(shift)
    return merged


def _clip(shifts: Iterable[Shift], start: datetime, end: datetime) -> list[Shift]:
    return [
        replace(s, start=max(s.start, start), end=min(s.end, end))
        for s in shifts
        if s.end > start and s.start < end
    ]


def shifts(
    rot: Rotation, start: datetime, end: datetime, schedules: Iterable[str] | None = None
) -> list[Shift]:
    """Final shifts of every schedule (or those named) over [start, end), by schedule then start."""
    result = []
    for schedule in schedules or rot.schedules():
        result.extend(schedule_shifts(rot, schedule, start, end))
    return result


def on_call(rot: Rotation, schedule: str, at: datetime) -> Shift | None:
    """The final shift of `schedule` that holds the instant `at`, unclipped at its own ends."""
    week = week_of(rot, at)
    for shift in schedule_shifts(rot, schedule, handoff(rot, week), handoff(rot, week + WEEK)):
        if shift.start <= at < shift.end:
            return shift
    return None
