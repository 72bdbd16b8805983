"""Who could take a person's shift, best first, each with the shift of theirs given in return.

The rules, judged by the schedule engine on the rotation as it would be with the swap: the
other person is on the same rotation, not on time off then, holds no other shift on any schedule
then (hero-as-secondary included), is not put back to back by the swap, and is not made to hold
a public holiday of their own country; the same holds for the asker in the shift given back.
Ranked by fewest weeks on that rotation over the next 52 weeks, then by how soon the return is.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta

from scripts.rotation import consistency, fairness, public_holidays, schedule
from scripts.rotation.model import HERO, Rotation, Swap
from scripts.rotation.schedule import WEEK, Shift

SEARCH_WEEKS = 52  # how far from the asked shift a return shift is looked for, either way


@dataclass(frozen=True)
class Span:
    """A shift of one schedule: a week (`day` its handoff date), or with `single_day` one day."""

    schedule: str
    day: date  # the date a swap entry gives for it
    start: datetime
    end: datetime
    single_day: bool = False


def span_of(rot: Rotation, key: str, day: date, single_day: bool) -> Span:
    """The week holding `day` (from its handoff), or that day alone, as a swap date names it."""
    if single_day:
        start, end = schedule.handoff(rot, day), schedule.handoff(rot, day + timedelta(days=1))
        return Span(key, day, start, end, True)
    week = schedule.week_of(rot, schedule.handoff(rot, day))
    return Span(key, week, schedule.handoff(rot, week), schedule.handoff(rot, week + WEEK))


def base_person(rot: Rotation, span: Span) -> str | None:
    """Who the rotation (before swaps) puts on the span: whom a swap entry must name first."""
    return schedule.person_on(rot.cycle_of(span.schedule), rot, span.start)


def swapped(rot: Rotation, person: str, span: Span) -> Shift | None:
    """A shift of the span that rotation.yaml already gives to someone else (a swap, or the
    hero covering their team): a new swap entry for the span would fight it."""
    shifts = schedule.schedule_shifts(rot, span.schedule, span.start, span.end)
    return next((s for s in shifts if s.person != person), None)


@dataclass(frozen=True)
class Candidate:
    person: str
    give_back: Span | None  # the shift of theirs the asker covers; None: none found
    load: float  # weeks on this rotation over the next 52
    reasons: tuple[str, ...] = ()  # why they cannot; empty: they can

    @property
    def can(self) -> bool:
        return not self.reasons and self.give_back is not None


def candidates(
    rot: Rotation, asker: str, span: Span, now: datetime, only: str | None = None
) -> list[Candidate]:
    """Everyone else on the span's rotation (or `only` them), those who can first, best first."""
    load = fairness.load(rot, now)
    weeks = load.hero if span.schedule == HERO else load.secondary
    order = rot.cycle_of(span.schedule).order
    found = [_judge(rot, asker, q, span, now, weeks.get(q, 0.0)) for q in order
             if q != asker and (only is None or q == only)]  # fmt: skip
    return sorted(found, key=lambda c: (not c.can, c.load, _distance(span, c), c.person))


def _distance(span: Span, c: Candidate) -> float:
    return abs((c.give_back.start - span.start).total_seconds()) if c.give_back else 0.0


def _judge(
    rot: Rotation, asker: str, other: str, span: Span, now: datetime, load: float
) -> Candidate:
    reasons = conflicts(rot, other, span)
    back, why_not = _give_back(rot, asker, other, span, now)
    if back is None:
        reasons += why_not
    else:
        swapped = with_swap(rot, asker, other, span, back)
        reasons += _back_to_back(swapped, other, span) + _back_to_back(swapped, asker, back)
    return Candidate(other, back, load, tuple(dict.fromkeys(reasons)))


def conflicts(rot: Rotation, person: str, span: Span) -> list[str]:
    """Why `person` cannot hold `span` as the rotation stands: time off, another shift, a
    public holiday of theirs."""
    reasons = []
    for t in rot.time_off:
        off_start, off_end = consistency.time_off_span(rot, t)
        if t.person == person and off_start < span.end and off_end > span.start:
            reasons.append(f"{person} is on time off {t.first}..{t.last}")
    for s in schedule.shifts(rot, span.start, span.end):
        if s.person == person:
            reasons.append(f"{person} is already on {rot.schedule_label(s.schedule)} then")
    for day, name in public_holidays.held(rot, rot.people[person], span.start, span.end):
        country = rot.people[person].country
        reasons.append(f"{day:%a %d %b} is {name}, a public holiday for {person} ({country})")
    return reasons


def _give_back(
    rot: Rotation, asker: str, other: str, span: Span, now: datetime
) -> tuple[Span | None, list[str]]:
    """The nearest shift of `other` on the same rotation, not started, that `asker` can take."""
    nearest: list[str] = []
    for back in _shifts_of(rot, other, span, now):
        why = conflicts(rot, asker, back)
        if not why:
            return back, []
        nearest = nearest or [f"in return, {w}" for w in why]
    return None, nearest or [f"{other} has no shift in the next {SEARCH_WEEKS} weeks to give back"]


def _shifts_of(rot: Rotation, other: str, span: Span, now: datetime) -> Iterator[Span]:
    """`other`'s own shifts (before swaps) on the span's schedule, nearest first, not started."""
    cycle, week = rot.cycle_of(span.schedule), schedule.week_of(rot, span.start)
    first = schedule.defined_from(rot, span.schedule)
    for offset in sorted(range(-SEARCH_WEEKS, SEARCH_WEEKS + 1), key=lambda k: (abs(k), -k)):
        day = week + timedelta(weeks=offset)
        if offset == 0 or day < first:
            continue
        if schedule.person_on(cycle, rot, schedule.handoff(rot, day)) != other:
            continue
        back = span_of(rot, span.schedule, day + (span.day - week), span.single_day)
        if back.start > now:
            yield back


def with_swap(rot: Rotation, asker: str, other: str, span: Span, back: Span) -> Rotation:
    """The rotation with the swap entry that trades `span` for `back`."""
    swap = Swap((asker, other), (span.day, back.day), span.single_day, span.schedule)
    return replace(rot, swaps=(*rot.swaps, swap))


def _back_to_back(rot: Rotation, person: str, span: Span) -> list[str]:
    """A shift of `person` (any schedule) that ends where `span` starts or starts where it ends."""
    around = schedule.shifts(rot, span.start - WEEK, span.end + WEEK)
    mine = [s for s in around if s.person == person]
    inside = [s for s in mine if span.start <= s.start and s.end <= span.end]
    touching = [s for s in mine if s not in inside and (s.end == span.start or s.start == span.end)]
    return [f"{person} would be on {rot.schedule_label(s.schedule)} right {_side(s, span)}"
            for s in touching]  # fmt: skip


def _side(s: Shift, span: Span) -> str:
    return "before" if s.end == span.start else "after"


def rank_words(c: Candidate, schedule_key: str) -> str:
    """Why a candidate ranks where it does, in words."""
    kind = "hero" if schedule_key == HERO else "secondary"
    return f"{c.load:.3g} {kind} weeks in the next 52"


def describe(rot: Rotation, span: Span) -> str:
    """ "Support Hero, week of Mon 14 Dec 2026" or "... on Wed 16 Dec 2026"."""
    when = f"on {span.day:%a %d %b %Y}" if span.single_day else f"week of {span.day:%a %d %b %Y}"
    return f"{rot.schedule_label(span.schedule)}, {when}"


def holiday_warnings(rot: Rotation, now: datetime, weeks: int) -> list[tuple[int, str]]:
    """(line, message) for each shift in the next `weeks` weeks that holds a public holiday of
    its person, with the one-day swap that would free it; only where someone can take it."""
    start = schedule.handoff(rot, schedule.week_of(rot, now))
    found = []
    for s in schedule.shifts(rot, start, start + WEEK * weeks):
        for day, name in public_holidays.held_by_shift(rot, s):
            span = span_of(rot, s.schedule, day, True)
            if span.start <= now or base_person(rot, span) != s.person:
                continue  # started, or theirs by a swap already: a new entry could not name it
            best = next((c for c in candidates(rot, s.person, span, now) if c.can), None)
            if best is None or best.give_back is None:
                continue  # nobody can take it: a warning nobody can act on is noise
            country = rot.people[s.person].country
            found.append((s.line, (
                f"{s.person} holds {rot.schedule_label(s.schedule)} on {day:%a %d %b %Y}, {name} "
                f"({country}); a one-day swap with {best.person} (who {s.person} covers on "
                f"{best.give_back.day:%a %d %b}) frees it: python -m scripts.request_swap "
                f"--person {s.person} --date {day} --days"
                + ("" if s.schedule == HERO else f" --schedule {s.schedule}")
            )))  # fmt: skip
    return found
