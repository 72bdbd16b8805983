"""Pure fairness checks: hero weeks per person and hero weeks back to back with secondary weeks."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta

from scripts import schedule
from scripts.model import HERO, Rotation

HORIZON = timedelta(weeks=52)


@dataclass(frozen=True)
class Load:
    """Shifts per person over the horizon, in weeks (a single-day swap counts 1/7)."""

    hero: dict[str, float]
    secondary: dict[str, float]


def load(rot: Rotation, now: datetime) -> Load:
    start = schedule.handoff(rot, schedule.week_of(rot, now))
    hero: Counter = Counter({p: 0.0 for p in rot.hero.cycle.order})
    secondary: Counter = Counter()
    for shift in schedule.shifts(rot, start, start + HORIZON):
        # Whole days, so a 167- or 169-hour DST week still counts as exactly one week.
        weeks = round((shift.end - shift.start) / timedelta(days=1)) / 7
        (hero if shift.schedule == HERO else secondary)[shift.person] += weeks
    return Load(dict(hero), dict(secondary))


def warnings(rot: Rotation, now: datetime) -> list[tuple[int, str]]:
    """(rotation.yaml line, message) for uneven hero load and hero weeks next to secondary weeks."""
    found = []
    counts = load(rot, now).hero
    if counts:
        most, least = max(counts.values()), min(counts.values())
        if most - least > 1:
            busiest = max(counts, key=counts.get)
            idlest = min(counts, key=counts.get)
            found.append(
                (
                    rot.hero.cycle.line,
                    f"uneven hero load over the next 52 weeks: "
                    f"{busiest} has {most:.3g} weeks, {idlest} {least:.3g}",
                )
            )
    found += _back_to_back(rot, now)
    return found


def _back_to_back(rot: Rotation, now: datetime) -> list[tuple[int, str]]:
    """One warning per person whose hero weeks touch one of their own secondary weeks."""
    start = schedule.handoff(rot, schedule.week_of(rot, now))
    end = start + HORIZON
    hero = schedule.schedule_shifts(rot, HERO, start, end)
    found = []
    for team_key in rot.schedules()[1:]:
        touching: dict[str, list[str]] = {}
        for t in schedule.schedule_shifts(rot, team_key, start, end):
            if t.why != "rotation":
                continue
            for h in hero:
                if h.person == t.person and (t.start == h.end or t.end == h.start):
                    day = min(t.start, h.start).astimezone(rot.zone)
                    touching.setdefault(t.person, []).append(f"{day:%d %b}")
        for person, days in sorted(touching.items()):
            found.append(
                (
                    rot.teams[team_key].secondary.line,
                    f"{person} has a hero week back to back with a {team_key} secondary "
                    f"week {len(days)} time{'s' if len(days) > 1 else ''} in the next 52 "
                    f"weeks (from {', '.join(sorted(set(days), key=days.index)[:3])}"
                    f"{', ...' if len(set(days)) > 3 else ''})",
                )
            )
    return found
