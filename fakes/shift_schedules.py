"""The shift-based (v3) schedules of the PagerDuty fake: their state, and the final schedule.

A schedule holds rotations; a rotation holds events; an event repeats a window (`start_time` to
`end_time`) by its RFC 5545 `recurrence`, evaluated in the event's own time zone with dateutil's
rrule, and assigns its members by its strategy, only within [`effective_since`,
`effective_until`). Overrides replace the `overridden_member` of one rotation (or custom shift)
with the `overriding_member` for exact instants; custom shifts are one-off windows. The final
schedule is every rotation's and custom shift's assignments together
(specs/pagerduty-schedules-v3.json).

Where the description is silent, the fake chooses:
- `ZonedDateTime.date_time`: its date and time are read as wall-clock time in `time_zone` and
  its offset is ignored (the description's own example: "2025-03-03T09:00:00Z" with
  America/New_York is "9 AM ... every Monday in New York"). Answers give the local time with
  the zone's offset, which reads the same either way.
- An occurrence ends at its start plus the wall-clock length of `end_time - start_time`, so a
  weekly shift lasts 167 or 169 hours across a DST change (handoffs stay at the local time).
- Member turns count occurrences from the event's `start_time` (the recurrence's DTSTART),
  before `effective_since` too, as a v2 layer's turns count from `rotation_virtual_start`;
  `effective_since`/`effective_until` only cut the shifts. EXDATE removes an occurrence
  without skipping a member.
- Rotations have no priority: where two rotations (or a custom shift) cover one instant, all
  their members are on call at once.
- Of two overrides of one member, the one created last wins.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from dateutil import rrule

MAX_OCCURRENCES = 200_000  # an hourly event over 20 years; past it an event is refused


@dataclass
class FakeEvent:
    id: str
    name: str
    start_time: datetime  # naive: wall-clock time in `time_zone`
    end_time: datetime
    time_zone: str
    effective_since: datetime
    effective_until: datetime | None
    recurrence: list[str]
    strategy: dict  # the API's assignment_strategy, as sent

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)


@dataclass
class FakeRotation:
    id: str
    events: list[FakeEvent] = field(default_factory=list)
    deleted: bool = False  # its past shifts stay in the final schedule (history)


@dataclass
class FakeShiftOverride:
    id: str
    start: datetime
    end: datetime
    overridden: dict  # ShiftMember
    overriding: dict
    seq: int
    rotation_id: str | None = None
    custom_shift_id: str | None = None


@dataclass
class FakeCustomShift:
    id: str
    start: datetime
    end: datetime
    member: dict  # ShiftMember
    assignment_id: str


@dataclass
class FakeScheduleV3:
    id: str
    name: str
    time_zone: str
    description: str = ""
    rotations: list[FakeRotation] = field(default_factory=list)
    overrides: list[FakeShiftOverride] = field(default_factory=list)
    custom_shifts: list[FakeCustomShift] = field(default_factory=list)

    def rotation(self, rotation_id: str) -> FakeRotation | None:
        return next((r for r in self.rotations if r.id == rotation_id and not r.deleted), None)


def user_member(user_id: str | None) -> dict:
    return {"type": "user_member", "user_id": user_id} if user_id else {"type": "empty_member"}


def member_user(member: dict) -> str | None:
    return member.get("user_id") if member.get("type") == "user_member" else None


# -- times


def utc_time(text: str) -> datetime:
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if value.tzinfo is None:
        raise ValueError(f"{text!r} has no UTC offset")
    return value.astimezone(UTC)


def wall_clock(zoned: dict) -> tuple[datetime, str]:
    """A ZonedDateTime as (naive wall-clock time, zone): the offset is ignored (module doc)."""
    zone = zoned["time_zone"]
    ZoneInfo(zone)  # ZoneInfoNotFoundError for a name that is not IANA's
    local = datetime.fromisoformat(zoned["date_time"].replace("Z", "+00:00"))
    return local.replace(tzinfo=None), zone


def zoned_json(local: datetime, zone: str) -> dict:
    return {"date_time": local.replace(tzinfo=ZoneInfo(zone)).isoformat(), "time_zone": zone}


def instant(local: datetime, zone: ZoneInfo) -> datetime:
    return local.replace(tzinfo=zone).astimezone(UTC)


# -- the final schedule


def recurrence_set(event: FakeEvent) -> rrule.rruleset:
    rules = rrule.rrulestr("\n".join(event.recurrence), dtstart=event.start_time, forceset=True)
    assert isinstance(rules, rrule.rruleset)
    return rules


def occurrences(event: FakeEvent, until: datetime) -> Iterator[tuple[int, datetime, datetime]]:
    """(turn, start, end) in UTC of every occurrence that starts before `until`."""
    length, zone = event.end_time - event.start_time, event.zone
    for k, local in enumerate(recurrence_set(event)):
        start = instant(local, zone)
        if start >= until or k >= MAX_OCCURRENCES:
            return
        yield k, start, instant(local + length, zone)


def event_members(event: FakeEvent, turn: int) -> list[str | None]:
    strategy, members = event.strategy, event.strategy["members"]
    if strategy["type"] == "every_member_assignment_strategy":
        return [member_user(m) for m in members]
    per = int(strategy.get("shifts_per_member") or 1)
    return [member_user(members[(turn // per) % len(members)])]


def event_shifts(event: FakeEvent, since: datetime, until: datetime):
    """(start, end, user id) of an event's shifts within [since, until) and its effective range."""
    lo = max(since, event.effective_since)
    hi = min(until, event.effective_until or until)
    out = []
    if lo >= hi:
        return out
    for turn, start, end in occurrences(event, hi):
        if end <= lo:
            continue
        a, b = max(start, lo), min(end, hi)
        out += [(a, b, u) for u in event_members(event, turn) if u and a < b]
    return out


def _apply_overrides(pieces, overrides, source_type: str, key: str, owner: str):
    """Pieces (start, end, original user, user, source) with `owner`'s overrides applied."""
    for o in sorted(overrides, key=lambda o: o.seq):
        if getattr(o, key) != owner:
            continue
        cut = []
        for a, b, orig, user, source in pieces:
            if orig != member_user(o.overridden) or b <= o.start or o.end <= a:
                cut.append((a, b, orig, user, source))
                continue
            lo, hi = max(a, o.start), min(b, o.end)
            cut += [(a, lo, orig, user, source)] if a < lo else []
            src = {"type": source_type, "override_id": o.id} | {
                k: v for k, v in source.items() if k in ("rotation_id", "shift_id")
            }
            cut.append((lo, hi, orig, member_user(o.overriding), src))
            cut += [(hi, b, orig, user, source)] if hi < b else []
        pieces = cut
    return pieces


def render_v3(sched: FakeScheduleV3, since: datetime, until: datetime):
    """Every assignment over [since, until): (start, end, user id, source), by start."""
    out = []
    for rotation in sched.rotations:
        source = {"type": "schedule_rotation", "rotation_id": rotation.id}
        pieces = [
            (a, b, u, u, source)
            for event in rotation.events
            for a, b, u in event_shifts(event, since, until)
        ]
        pieces = _apply_overrides(
            pieces, sched.overrides, "schedule_rotation_override", "rotation_id", rotation.id
        )
        out += [(a, b, u, s) for a, b, _, u, s in pieces if u]
    for shift in sched.custom_shifts:
        a, b, user = max(since, shift.start), min(until, shift.end), member_user(shift.member)
        if a >= b or not user:
            continue
        source = {"type": "custom_shift", "shift_id": shift.id}
        pieces = _apply_overrides(
            [(a, b, user, user, source)],
            sched.overrides,
            "custom_shift_override",
            "custom_shift_id",
            shift.id,
        )
        out += [(a, b, u, s) for a, b, _, u, s in pieces if u]
    return sorted(out, key=lambda x: (x[0], x[1], x[2]))


def on_call(sched: FakeScheduleV3, since: datetime, until: datetime):
    """Merged (start, end, who): who is one user id, or "id1+id2" where several are on at once."""
    rows = render_v3(sched, since, until)
    cuts = sorted({since, until} | {t for a, b, _, _ in rows for t in (a, b)})
    out: list[tuple[datetime, datetime, str]] = []
    for a, b in itertools.pairwise(cuts):
        users = sorted({u for s, e, u, _ in rows if s <= a < e})
        if not users:
            continue
        who = "+".join(users)
        if out and out[-1][1] == a and out[-1][2] == who:
            out[-1] = (out[-1][0], b, who)
        else:
            out.append((a, b, who))
    return out
