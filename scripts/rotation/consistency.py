"""Checks that need the schedule engine: swaps that match shifts, time off that is covered."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from scripts.rotation import schedule
from scripts.rotation.model import Rotation, TimeOff
from scripts.rotation.problems import Problem
from scripts.rotation.schedule import Shift
from scripts.rotation.yaml_source import Source


def check(rot: Rotation, src: Source) -> list[Problem]:
    """Every swap and time-off problem of a structurally valid rotation."""
    return _swap_problems(rot, src) + _time_off_problems(rot, src)


def _swap_problems(rot: Rotation, src: Source) -> list[Problem]:
    problems = []
    for i, swap in enumerate(rot.swaps):
        cycle = rot.cycle_of(swap.schedule)
        first = schedule.defined_from(rot, swap.schedule)
        kind = "days" if swap.single_day else "dates"
        for j, (start, _end, on, _cover) in enumerate(schedule.swap_spans(rot, swap)):
            path = ("swaps", i, kind, j)
            day = swap.dates[j]
            if start < schedule.handoff(rot, first):
                problems.append(
                    src.problem(
                        path, f"{day} is before the {swap.schedule} rotation starts ({first})"
                    )
                )
                continue
            actual = schedule.person_on(cycle, rot, start)
            if actual != on:
                problems.append(
                    src.problem(
                        path,
                        f"{on} is not on {swap.schedule} on {day}: "
                        f"{actual} is{_next_turn(rot, swap.schedule, on, day)}",
                    )
                )
    return problems


def _next_turn(rot: Rotation, name: str, person: str, day: date) -> str:
    """' (dave is on 2026-12-14)': the person's nearest own week, a hint for fixing the date."""
    cycle = rot.cycle_of(name)
    week = schedule.week_of(rot, schedule.handoff(rot, day))
    for offset in range(len(cycle.order)):
        for candidate in (week + timedelta(weeks=offset), week - timedelta(weeks=offset)):
            if (
                candidate >= cycle.since
                and cycle.person_at((candidate - cycle.since).days // 7) == person
            ):
                return f" ({person} is on the week of {candidate})"
    return ""


def time_off_span(rot: Rotation, entry: TimeOff) -> tuple[datetime, datetime]:
    """Time off from midnight of its first day to midnight after its last, in the rotation zone."""
    start = datetime.combine(entry.first, datetime.min.time(), tzinfo=rot.zone)
    end = datetime.combine(entry.last + timedelta(days=1), datetime.min.time(), tzinfo=rot.zone)
    return start, end


def _time_off_problems(rot: Rotation, src: Source) -> list[Problem]:
    problems = []
    for i, entry in enumerate(rot.time_off):
        start, end = time_off_span(rot, entry)
        for shift in schedule.shifts(rot, start, end):
            if shift.person != entry.person or shift.why == "hero":
                continue  # a hero week on the team schedule is reported once, as the hero shift
            held = schedule.on_call(rot, shift.schedule, shift.start) or shift
            helpers = _who_could_swap(rot, shift.schedule, entry, held)
            hint = f"; {', '.join(helpers)} could swap" if helpers else ""
            problems.append(
                src.problem(
                    ("time_off", i),
                    f"{entry.person} is off {entry.first}..{entry.last} but holds {shift.schedule} "
                    f"{_local(rot, held.start)} -> {_local(rot, held.end)}{hint}",
                )
            )
    return problems


def _who_could_swap(rot: Rotation, name: str, entry: TimeOff, shift: Shift) -> list[str]:
    """Up to three others on the rotation, free then, whose own week the person could take."""
    cycle = rot.cycle_of(name)
    off = list(rot.time_off)
    busy = {
        t.person
        for t in off
        if time_off_span(rot, t)[0] < shift.end and time_off_span(rot, t)[1] > shift.start
    }
    start, end = time_off_span(rot, entry)
    week = schedule.week_of(rot, shift.start)
    found: list[str] = []
    for offset in range(1, 2 * len(cycle.order) + 1):
        for candidate_week in (week + timedelta(weeks=offset), week - timedelta(weeks=offset)):
            if candidate_week < schedule.defined_from(rot, name):
                continue
            person = cycle.person_at((candidate_week - cycle.since).days // 7)
            week_start = schedule.handoff(rot, candidate_week)
            week_end = schedule.handoff(rot, candidate_week + timedelta(weeks=1))
            if person in busy or person == entry.person or (week_start < end and week_end > start):
                continue
            if person not in [f.split(" ")[0] for f in found]:
                found.append(f"{person} (on the week of {candidate_week})")
        if len(found) >= 3:
            break
    return found[:3]


def _local(rot: Rotation, instant: datetime) -> str:
    return instant.astimezone(rot.zone).strftime("%a %Y-%m-%d %H:%M")
