"""Time off asked for: the entry, and for every shift of the person's it collides with (on every
schedule) the best swap, each chosen on the rotation as the ones before it leave it."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any

from scripts.rotation import consistency, schedule
from scripts.rotation.model import Rotation, TimeOff
from scripts.swaps import candidates
from scripts.swaps.candidates import Candidate, Span
from scripts.swaps.report import entry as swap_entry


@dataclass(frozen=True)
class Collision:
    """One shift of the person's inside the time off, and who takes it (None: nobody can)."""

    span: Span
    taker: Candidate | None
    why_not: str = ""  # when nobody can, or it cannot be swapped at all


@dataclass(frozen=True)
class Plan:
    entry: dict[str, Any]  # the time_off entry
    collisions: tuple[Collision, ...]
    after: Rotation  # with the time off and every swap found


def plan(rot: Rotation, person: str, first: date, last: date, reason: str,
         now: datetime) -> Plan:  # fmt: skip
    """The time off, then a swap for each of the person's own weeks it touches, in order."""
    off = TimeOff(person, first, last, reason)
    entry: dict[str, Any] = {"person": person, "from": str(first), "to": str(last)}
    if reason:
        entry["reason"] = reason
    current = replace(rot, time_off=(*rot.time_off, off))
    start, end = consistency.time_off_span(rot, off)
    found = []
    for key, day in _weeks_held(rot, person, start, end):
        span = candidates.span_of(rot, key, day, False)
        if candidates.base_person(rot, span) != person:
            found.append(Collision(span, None, f"{person} holds it by a swap already: change that"))
            continue
        if taken := candidates.swapped(rot, person, span):
            why = f"{taken.person} holds part of it by a swap (line {taken.line}): change that"
            found.append(Collision(span, None, why))
            continue
        best = next((c for c in candidates.candidates(current, person, span, now) if c.can), None)
        if best is None or best.give_back is None:
            found.append(Collision(span, None, "nobody on the rotation can take it"))
            continue
        found.append(Collision(span, best))
        current = candidates.with_swap(current, person, best.person, span, best.give_back)
    return Plan(entry, tuple(found), current)


def _weeks_held(
    rot: Rotation, person: str, start: datetime, end: datetime
) -> list[tuple[str, date]]:
    """(schedule, week) of each shift the person holds in [start, end); a team secondary they
    hold as the hero goes with the hero week."""
    weeks = []
    for s in schedule.shifts(rot, start, end):
        if s.person == person and s.why != "hero":
            week = (s.schedule, schedule.week_of(rot, s.start))
            if week not in weeks:
                weeks.append(week)
    return weeks


def entries(person: str, p: Plan, reason: str) -> list[tuple[str, dict[str, Any]]]:
    """What the pull request adds: the time off, then each swap found."""
    swaps = [("swaps", swap_entry(person, c.taker, c.span, reason)) for c in p.collisions
             if c.taker is not None]  # fmt: skip
    return [("time_off", p.entry), *swaps]
