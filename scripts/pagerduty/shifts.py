"""Pure plan for PagerDuty's shift-based (v3) schedules: one owned rotation's events, overrides."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from dateutil import rrule

from scripts.pagerduty.plan import REASONS, Drift, Wanted, WantedOverride, local, pair, span, target
from scripts.plan import (
    Change,
    CustomShiftDelete,
    EventCreate,
    EventDelete,
    EventEnd,
    ShiftOverrideCreate,
    ShiftOverrideDelete,
    ShiftZoneUpdate,
    Write,
)
from scripts.rotation import schedule
from scripts.rotation.model import Rotation

MARK = "rotation.yaml"  # the names of the events this tool writes start with it
WEEKLY = ("RRULE:FREQ=WEEKLY",)
ROTATING = "rotating_member_assignment_strategy"
MAX_EVENTS = 5  # PagerDuty: at most 5 events a rotation (ended ones count too)
MAX_MEMBERS = 20  # assignment_strategy.members: maxItems 20


# -- what PagerDuty holds (the adapter maps API data to these)


@dataclass(frozen=True)
class ShiftEvent:
    """An event: `start`/`end` are naive wall-clock times in `time_zone`; members are user ids
    (None: an empty slot)."""

    name: str
    start: datetime
    end: datetime
    time_zone: str
    recurrence: tuple[str, ...]
    strategy: str
    members: tuple[str | None, ...]
    shifts_per_member: int
    effective_since: datetime
    effective_until: datetime | None = None
    id: str = ""  # PagerDuty's; "" for one not yet created

    def live(self, now: datetime) -> bool:
        """Still producing shifts (or yet to): not ended by `now`."""
        return self.effective_until is None or self.effective_until > now


@dataclass(frozen=True)
class ShiftRotation:
    id: str
    events: tuple[ShiftEvent, ...] = ()


@dataclass(frozen=True)
class ShiftOverride:
    start: datetime
    end: datetime
    overridden: str | None  # user ids; None: an empty member
    overriding: str | None
    rotation_id: str | None = None
    custom_shift_id: str | None = None
    id: str = ""


@dataclass(frozen=True)
class CustomShift:
    id: str
    start: datetime
    end: datetime
    user_id: str | None


@dataclass(frozen=True)
class ShiftSchedule:
    """One shift-based schedule as observed: its rotations (with events), overrides, shifts."""

    id: str
    name: str
    time_zone: str
    rotations: tuple[ShiftRotation, ...]
    overrides: tuple[ShiftOverride, ...] = ()
    custom_shifts: tuple[CustomShift, ...] = ()


# -- the desired event


def desired_event(rot: Rotation, want: Wanted, user_ids: Mapping[str, str]) -> ShiftEvent:
    """A weekly event from the handoff that starts the shift holding `layer_start`: handoff to
    handoff in the rotation's zone, members from whoever is on that week, in rotation order."""
    cycle = rot.cycle_of(want.key)
    week = schedule.week_of(rot, want.layer_start)
    start = schedule.handoff(rot, week).astimezone(rot.zone).replace(tzinfo=None)
    k = (week - cycle.since).days // 7
    people = [cycle.person_at(k + i) for i in range(len(cycle.order))]
    return ShiftEvent(
        name=f"{MARK} since {cycle.since}",
        start=start,
        end=start + timedelta(days=7),
        time_zone=rot.timezone,
        recurrence=WEEKLY,
        strategy=ROTATING,
        members=tuple(user_ids[p] for p in people),
        shifts_per_member=1,
        effective_since=want.layer_start,
    )


def same_rotation(rot: Rotation, event: ShiftEvent, new: ShiftEvent) -> bool:
    """An event from `new`'s start or before that puts the same person on every turn (it may
    have an end: a change planned for later and since taken back; the plan reopens it)."""
    if event.effective_since > new.effective_since:
        return False
    shape = (event.time_zone, event.recurrence, event.strategy, event.shifts_per_member)
    if (
        shape != (new.time_zone, WEEKLY, ROTATING, 1)
        or event.end - event.start != new.end - new.start
    ):
        return False
    if (event.start.weekday(), event.start.time()) != (new.start.weekday(), new.start.time()):
        return False
    if len(event.members) != len(new.members):
        return False
    return all(_member(event, new.start.date() + timedelta(weeks=i)) == m
               for i, m in enumerate(new.members))  # fmt: skip


def _member(event: ShiftEvent, week: date) -> str | None:
    turn = (week - event.start.date()).days // 7
    return event.members[turn % len(event.members)]


def occurrence_end(event: ShiftEvent, now: datetime) -> datetime | None:
    """End of the event's occurrence in progress at `now` (UTC), None if none is."""
    zone = ZoneInfo(event.time_zone)
    if event.effective_since > now:
        return None
    rules = rrule.rrulestr("\n".join(event.recurrence), dtstart=event.start, forceset=True)
    here = now.astimezone(zone).replace(tzinfo=None)
    began = rules.before(here, inc=True)
    if began is None:
        return None
    end = (began + (event.end - event.start)).replace(tzinfo=zone).astimezone(now.tzinfo)
    return end if end > now else None


# -- the plan


@dataclass(frozen=True)
class Owned:
    """The rotations this tool owns on a schedule, and where the desired event goes."""

    rotations: tuple[ShiftRotation, ...]
    foreign: tuple[ShiftRotation, ...]  # other rotations with events: drift


def owned(sched: ShiftSchedule) -> Owned:
    """Rotations holding an event this tool wrote; else the first rotation, adopted."""
    with_events = [r for r in sched.rotations if r.events]
    mine = [r for r in with_events if any(e.name.startswith(MARK) for e in r.events)]
    if not mine and sched.rotations:
        mine = [with_events[0] if with_events else sched.rotations[0]]
    return Owned(tuple(mine), tuple(r for r in with_events if r not in mine))


def plan_shifts(
    rot: Rotation,
    want: Wanted,
    sched: ShiftSchedule,
    user_ids: Mapping[str, str],
    now: datetime,
    prune: bool,
    timezone_line: int = 0,
) -> tuple[list[Change], list[Drift]]:
    """The writes that make a shift-based schedule match rotation.yaml, and the drift left."""
    where = target(rot, want.key)
    new = desired_event(rot, want, user_ids)
    mine = owned(sched)
    changes = _zone(rot, sched, where, timezone_line)
    events, rotation_id = _events(rot, want, sched, mine, new, now, where)
    changes += events
    creates, deletes, drift = _overrides(rot, want, sched, user_ids, now, prune, rotation_id)
    more, left = _foreign(rot, sched, mine, now, prune, where)
    return changes + deletes + more + creates, drift + left


def _zone(rot: Rotation, sched: ShiftSchedule, where: str, line: int) -> list[Change]:
    if sched.time_zone == rot.timezone:
        return []
    text = f"time zone {sched.time_zone} -> {rot.timezone}"
    data = ShiftZoneUpdate(sched.id, rot.timezone)
    return [Change("update", where, text, reason="timezone", line=line, data=data)]


def _events(
    rot: Rotation,
    want: Wanted,
    sched: ShiftSchedule,
    mine: Owned,
    new: ShiftEvent,
    now: datetime,
    where: str,
) -> tuple[list[Change], str | None]:
    """Ends and deletes of the owned rotations' events, and the new event if none is kept.

    Never rewrites an event that has started: one that differs is ended at `at` (the `since`
    handoff, or now), one that only starts later is deleted; the new event starts at `at`.
    """
    at, line = want.layer_start, rot.cycle_of(want.key).line
    live = [(r, e) for r in mine.rotations for e in r.events if e.live(now)]
    # PagerDuty moved a past effective_since to its own now, which can be a fraction of a second
    # after this run's `at` (a whole second): an event that has started counts as from `at`
    started = replace(new, effective_since=max(new.effective_since, now))
    keep = next(((r, e) for r, e in reversed(live) if same_rotation(rot, e, started)), None)
    changes: list[Change] = []

    def change(action: str, text: str, data: Write) -> None:
        changes.append(Change(action, where, text, reason="rotation", line=line, data=data))

    for r, e in live:
        if keep and e is keep[1]:
            continue
        if e.effective_since > now and e.effective_since >= at:
            since = local(rot, e.effective_since)
            change("delete", f"delete {e.name or e.id} (from {since}, not started)",
                   EventDelete(sched.id, r.id, e.id))  # fmt: skip
        elif e.effective_until is None or e.effective_until > at:
            change("update", f"end {e.name or e.id} at {local(rot, at)}",
                   EventEnd(sched.id, r.id, e.id, at))  # fmt: skip
    if keep:
        kept, event = keep
        if event.effective_until is not None:  # it was to end for a change since taken back
            was = local(rot, event.effective_until)
            change("update", f"keep {event.name or event.id} open (it was to end {was})",
                   EventEnd(sched.id, kept.id, event.id, None))  # fmt: skip
        return changes, kept.id
    home = _home(mine)
    people = ", ".join(rot.cycle_of(want.key).order)
    turns = local(rot, schedule.handoff(rot, schedule.week_of(rot, at)))
    text = f"new event from {local(rot, at)}: weekly turns from {turns} {rot.timezone}, " + (
        f"in the order {people}" + ("" if home else " (in a new rotation)")
    )
    change("create", text, EventCreate(sched.id, home, new))
    return changes, home


def _home(mine: Owned) -> str | None:
    """The owned rotation the new event goes in (one with room); None: a new rotation."""
    room = [r for r in mine.rotations if len(r.events) < MAX_EVENTS]
    return room[0].id if room else None


def _overrides(
    rot: Rotation,
    want: Wanted,
    sched: ShiftSchedule,
    user_ids: Mapping[str, str],
    now: datetime,
    prune: bool,
    rotation_id: str | None,
) -> tuple[list[Change], list[Change], list[Drift]]:
    """Creates of wanted overrides on the owned rotation; deletes (--prune) or drift for the rest
    (and for custom shifts). An observed override is ours when it overrides the owned rotation
    with the people of a wanted one, over its span (plan.pair)."""
    where = target(rot, want.key)

    def same(o: ShiftOverride, w: WantedOverride) -> bool:
        people = (o.rotation_id, o.overriding, o.overridden)
        return rotation_id is not None and people == (
            rotation_id,
            user_ids[w.person],
            user_ids[w.covers],
        )

    missing, unexplained = pair(sched.overrides, want, now, same)
    creates = [_create(rot, where, sched.id, rotation_id, w, user_ids, now) for w in missing]
    deletes, drift = [], []
    names = {uid: handle for handle, uid in user_ids.items()}
    for o in unexplained:
        who = names.get(o.overriding or "", o.overriding or "nobody")
        covered = names.get(o.overridden or "", o.overridden or "nobody")
        text = f"override {span(rot, o.start, o.end)}: {who} covers {covered} (not in {rot.file})"
        if prune and o.start >= now:
            data: Write = ShiftOverrideDelete(sched.id, o.id)
            deletes.append(Change("delete", where, text, reason="drift", data=data))
        else:
            drift.append(
                Drift(where, text + (", in progress" if o.start < now else ""), o.start < now)
            )
    for shift in sched.custom_shifts:
        if shift.end <= now:
            continue
        who = names.get(shift.user_id or "", shift.user_id or "nobody")
        text = f"custom shift {span(rot, shift.start, shift.end)}: {who} (not in {rot.file})"
        if prune and shift.start >= now:
            data = CustomShiftDelete(sched.id, shift.id)
            deletes.append(Change("delete", where, text, reason="drift", data=data))
        else:
            in_progress = shift.start < now
            drift.append(Drift(where, text + (", in progress" if in_progress else ""), in_progress))
    return creates, deletes, drift


def _create(
    rot: Rotation,
    where: str,
    schedule_id: str,
    rotation_id: str | None,
    w: WantedOverride,
    user_ids: Mapping[str, str],
    now: datetime,
) -> Change:
    start = max(w.start, now.replace(microsecond=0))  # in progress: covered from now
    summary = f"{span(rot, start, w.end)}: {w.person} covers {w.covers}"
    override = ShiftOverride(start, w.end, user_ids[w.covers], user_ids[w.person], rotation_id)
    data = ShiftOverrideCreate(schedule_id, override)
    return Change("create", where, summary, reason=REASONS[w.why], line=w.line, data=data)


def _foreign(
    rot: Rotation, sched: ShiftSchedule, mine: Owned, now: datetime, prune: bool, where: str
) -> tuple[list[Change], list[Drift]]:
    """Rotations rotation.yaml does not explain: drift; with --prune each live event is ended
    when its shift in progress ends (never cut in the middle), or deleted if not started."""
    changes, drift = [], []
    for r in mine.foreign:
        for e in (e for e in r.events if e.live(now)):
            label = f"rotation {r.id}, event {e.name or e.id}"
            text = f"{label} (not in {rot.file})"
            if not prune:
                drift.append(Drift(where, text, e.effective_since <= now))
            elif e.effective_since > now:
                data: Write = EventDelete(sched.id, r.id, e.id)
                changes.append(Change("delete", where, text, reason="drift", data=data))
            else:
                end = occurrence_end(e, now) or now.replace(microsecond=0)
                if e.effective_until is not None and e.effective_until <= end:
                    drift.append(
                        Drift(where, f"{text}, ends {local(rot, e.effective_until)}", True)
                    )
                    continue
                data = EventEnd(sched.id, r.id, e.id, end)
                text = f"end {label} at {local(rot, end)} (not in {rot.file})"
                changes.append(Change("update", where, text, reason="drift", data=data))
    return changes, drift
