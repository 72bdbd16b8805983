"""Pure comparison of two rotations: what an edit moves, and edits that rewrite started shifts."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from scripts.rotation import schedule
from scripts.rotation.model import Cycle, Rotation

Span = tuple[datetime, datetime, str]  # (start, end, person)


@dataclass(frozen=True, order=True)
class Move:
    """A span of one schedule whose person changes from `before` to `after` (None: undefined)."""

    schedule: str
    start: datetime
    end: datetime
    before: str | None
    after: str | None


def moves(base: Rotation, new: Rotation, start: datetime, end: datetime) -> list[Move]:
    """Every span in [start, end) where base and new put a different person on a schedule."""
    result: list[Move] = []
    for key in dict.fromkeys(base.schedules() + new.schedules()):
        old = _owner_spans(base, key, start, end)
        cur = _owner_spans(new, key, start, end)
        if key in new.schedules():
            # Before the new `since` is history, not managed: dropping it there moves nothing.
            history_end = schedule.handoff(new, schedule.defined_from(new, key))
            old = [s for s in old if s[1] > history_end]
        cuts = sorted({t for s in old + cur for t in (s[0], s[1])})
        for a, b in itertools.pairwise(cuts):
            before, after = _who(old, a), _who(cur, a)
            if before == after:
                continue
            last = result[-1] if result else None
            if last and (last.schedule, last.end, last.before, last.after) == (
                key,
                a,
                before,
                after,
            ):
                result[-1] = Move(key, last.start, b, before, after)
            else:
                result.append(Move(key, a, b, before, after))
    return result


def _owner_spans(rot: Rotation, key: str, start: datetime, end: datetime) -> list[Span]:
    if key not in rot.schedules():
        return []
    return [(s.start, s.end, s.person) for s in schedule.schedule_shifts(rot, key, start, end)]


def _who(spans: list[Span], at: datetime) -> str | None:
    for s, e, person in spans:
        if s <= at < e:
            return person
    return None


@dataclass(frozen=True)
class Rewrite:
    """A cycle change that alters a shift which has already started, and how to avoid it."""

    schedule: str
    week: datetime
    before: str
    after: str
    since: str  # the next handoff date: the `since.week` that keeps started shifts
    first: str  # who base had at that handoff: the `since.first` that keeps the next week


def rewrites(base: Rotation, new: Rotation, now: datetime) -> list[Rewrite]:
    """Per schedule whose order/since/first changed: the first started shift it gives to another."""
    found: list[Rewrite] = []
    for key in new.schedules():
        old_cycle, new_cycle = base.cycle(key), new.cycle_of(key)
        if old_cycle is None or _same_cycle(old_cycle, new_cycle):
            continue
        begin = schedule.handoff(new, schedule.defined_from(new, key))
        next_week = schedule.week_of(new, now) + timedelta(weeks=1)
        started_until = schedule.handoff(new, next_week)
        old = schedule.base_shifts(base, key, begin, started_until)
        cur = {s.start: s.person for s in schedule.base_shifts(new, key, begin, started_until)}
        for shift in old:
            if shift.start <= now and cur.get(shift.start, shift.person) != shift.person:
                found.append(
                    Rewrite(
                        key,
                        shift.start,
                        shift.person,
                        cur[shift.start],
                        next_week.isoformat(),
                        _keeper(base, new, key, next_week),
                    )
                )
                break
    return found


def _same_cycle(a: Cycle, b: Cycle) -> bool:
    return (a.order, a.since, a.first) == (b.order, b.since, b.first)


def _keeper(base: Rotation, new: Rotation, key: str, week: date) -> str:
    """Who base puts on at `week`, or the next of base's people who is still in the new order."""
    cycle, new_order = base.cycle_of(key), new.cycle_of(key).order
    index = (week - cycle.since).days // 7
    for step in range(len(cycle.order)):
        person = cycle.person_at(index + step)
        if person in new_order:
            return person
    return new_order[0]
