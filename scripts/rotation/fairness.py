"""Pure fairness checks: hero weeks per person and hero weeks back to back with secondary weeks."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from scripts.rotation import public_holidays, schedule
from scripts.rotation.model import HERO, Rotation
from scripts.rotation.schedule import Shift

HORIZON = timedelta(weeks=52)


@dataclass(frozen=True)
class Load:
    """Shifts per person over the horizon, in weeks (a single-day swap counts 1/7)."""

    hero: dict[str, float]
    secondary: dict[str, float]


def load(rot: Rotation, now: datetime) -> Load:
    start = schedule.handoff(rot, schedule.week_of(rot, now))
    hero: dict[str, float] = {p: 0.0 for p in rot.hero.cycle.order}
    secondary: dict[str, float] = {}
    for shift in schedule.shifts(rot, start, start + HORIZON):
        # Whole days, so a 167- or 169-hour DST week still counts as exactly one week.
        weeks = round((shift.end - shift.start) / timedelta(days=1)) / 7
        counts = hero if shift.schedule == HERO else secondary
        counts[shift.person] = counts.get(shift.person, 0.0) + weeks
    return Load(hero, secondary)


def warnings(rot: Rotation, now: datetime) -> list[tuple[int, str]]:
    """(rotation.yaml line, message) for uneven hero load and hero weeks next to secondary weeks."""
    found: list[tuple[int, str]] = []
    counts = load(rot, now).hero
    if counts:
        most, least = max(counts.values()), min(counts.values())
        if most - least > 1:
            busiest = max(counts, key=counts.__getitem__)
            idlest = min(counts, key=counts.__getitem__)
            found.append(
                (
                    rot.hero.cycle.line,
                    f"uneven hero load over the next 52 weeks: "
                    f"{busiest} has {most:.3g} weeks, {idlest} {least:.3g}",
                )
            )
    found += _back_to_back(rot, now)
    found += _holidays_on_call(rot, now)
    return found


def holidays_on_call(rot: Rotation, now: datetime) -> dict[str, int]:
    """Per person with a `country`: how many of their own public holidays their shifts hold
    over the next 52 weeks (a day held on two schedules counts twice)."""
    start = schedule.handoff(rot, schedule.week_of(rot, now))
    counts = {h: 0 for h, p in rot.people.items() if p.country}
    for shift in schedule.shifts(rot, start, start + HORIZON):
        if shift.person in counts:
            counts[shift.person] += len(public_holidays.held_by_shift(rot, shift))
    return counts


def _holidays_on_call(rot: Rotation, now: datetime) -> list[tuple[int, str]]:
    counts = holidays_on_call(rot, now)
    if len(counts) < 2 or max(counts.values()) - min(counts.values()) <= 1:
        return []
    busiest = max(counts, key=counts.__getitem__)
    idlest = min(counts, key=counts.__getitem__)
    return [(
        rot.hero.cycle.line,
        f"uneven public holidays on call over the next 52 weeks: {busiest} holds "
        f"{counts[busiest]} of theirs, {idlest} {counts[idlest]}; `check_rotation --weeks 52` "
        "names a one-day swap for each",
    )]  # fmt: skip


def _back_to_back(rot: Rotation, now: datetime) -> list[tuple[int, str]]:
    """One warning per person whose hero weeks touch one of their own secondary weeks, only
    where another `first` in the team's secondary order would touch fewer: with a 10-week hero
    cycle and a 3-person team some touching cannot be avoided, and a warning nobody can act on
    only teaches people to ignore warnings."""
    start = schedule.handoff(rot, schedule.week_of(rot, now))
    end = start + HORIZON
    hero = schedule.schedule_shifts(rot, HERO, start, end)
    found: list[tuple[int, str]] = []
    for team_key in rot.schedules()[1:]:
        touching = _touching(rot, team_key, hero, start, end)
        count = sum(map(len, touching.values()))
        better = _better_first(rot, team_key, hero, start, end, count)
        if better is None:
            continue
        first, fewer = better
        for person, days in sorted(touching.items()):
            shown = ", ".join(sorted(set(days), key=days.index)[:3])
            found.append(
                (
                    rot.cycle_of(team_key).line,
                    f"{person} has a hero week back to back with a {team_key} secondary "
                    f"week {len(days)} time{'s' if len(days) > 1 else ''} in the next 52 "
                    f"weeks (from {shown}{', ...' if len(set(days)) > 3 else ''}); "
                    f"`first: {first}` in its secondary `since` makes it {fewer} in the team, "
                    f"not {count}",
                )
            )
    return found


def _touching(
    rot: Rotation, team_key: str, hero: Sequence[Shift], start: datetime, end: datetime
) -> dict[str, list[str]]:
    """Person -> the days their rotation secondary week starts or ends at a hero week."""
    touching: dict[str, list[str]] = {}
    for t in schedule.schedule_shifts(rot, team_key, start, end):
        if t.why != "rotation":
            continue
        for h in hero:
            if h.person == t.person and (t.start == h.end or t.end == h.start):
                day = min(t.start, h.start).astimezone(rot.zone)
                touching.setdefault(t.person, []).append(f"{day:%d %b}")
    return touching


def _better_first(
    rot: Rotation,
    team_key: str,
    hero: Sequence[Shift],
    start: datetime,
    end: datetime,
    count: int,
) -> tuple[str, int] | None:
    """(first, touches) for the `first` of the team's secondary that touches fewest, when that
    is fewer than `count`; None when no other first does better."""
    team, secondary = rot.teams[team_key], rot.cycle_of(team_key)
    best: tuple[str, int] | None = None
    for first in secondary.order:
        if first == secondary.first:
            continue
        cycle = replace(secondary, first=first)
        teams = {**rot.teams, team_key: replace(team, secondary=cycle)}
        n = sum(map(len, _touching(replace(rot, teams=teams), team_key, hero, start, end).values()))
        if n < count and (best is None or n < best[1]):
            best = (first, n)
    return best
