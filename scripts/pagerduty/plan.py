"""Pure PagerDuty plan: the layer and overrides each schedule needs to match rotation.yaml."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from scripts.plan import Change, OverrideCreate, OverrideDelete, ScheduleUpdate

if TYPE_CHECKING:
    from scripts.pagerduty.shifts import ShiftSchedule
from scripts.rotation import schedule
from scripts.rotation.model import HERO, Cycle, Rotation, Swap

WEEK_SECONDS = 604800
DEFAULT_HORIZON_WEEKS = 12
REASONS = {"swap": "swap", "hero": "hero-as-secondary"}


# -- what PagerDuty holds (the adapter maps API data to these)


@dataclass(frozen=True)
class Layer:
    """A schedule layer; `end` None means open. Restrictions are carried through untouched."""

    start: datetime
    rotation_virtual_start: datetime
    turn_seconds: int
    user_ids: tuple[str, ...]
    end: datetime | None = None
    id: str | None = None
    name: str = ""
    restrictions: tuple[Any, ...] = ()  # PagerDuty's JSON, as read


@dataclass(frozen=True)
class Override:
    start: datetime
    end: datetime
    user_id: str
    id: str | None = None
    user_name: str = ""


@dataclass(frozen=True)
class Schedule:
    """One PagerDuty schedule as observed: layers lowest priority first (later wins), overrides."""

    id: str
    name: str
    time_zone: str
    layers: tuple[Layer, ...]
    overrides: tuple[Override, ...] = ()


# -- what rotation.yaml wants


@dataclass(frozen=True)
class WantedOverride:
    """A span where the final schedule differs from the layer: `person` covers `covers`."""

    start: datetime
    end: datetime
    person: str
    covers: str
    why: str  # swap | hero
    line: int


@dataclass(frozen=True)
class Window:
    """Where overrides are managed: from the shift holding now to `horizon_end`, plus far swaps."""

    start: datetime  # the handoff that starts the shift holding now
    managed_from: datetime  # the first defined handoff: rotation.yaml says nothing before it
    horizon_end: datetime
    end: datetime  # >= horizon_end: the last future swap that concerns the schedule
    swap_spans: tuple[tuple[datetime, datetime], ...]


@dataclass(frozen=True)
class Wanted:
    """The desired state of one schedule."""

    key: str
    schedule_id: str
    people: tuple[str, ...]  # the layer's order, starting with `first`
    rotation_virtual_start: datetime  # the `since` handoff
    layer_start: datetime  # `since`, or now when `since` is past
    overrides: tuple[WantedOverride, ...]
    window: Window


@dataclass(frozen=True)
class Drift:
    """An override rotation.yaml does not explain, left in place."""

    target: str
    summary: str
    in_progress: bool


@dataclass(frozen=True)
class Plan:
    changes: tuple[Change, ...] = ()
    drift: tuple[Drift, ...] = ()  # reported, not deleted (no --prune, or in progress)
    kinds: Mapping[str, str] = field(default_factory=dict, compare=False)  # key -> v2 | v3


KINDS = {"v2": "layer-based (v2)", "v3": "shift-based (v3)"}


def synced(rot: Rotation) -> list[str]:
    """Schedule keys that have a rotation and a PagerDuty schedule."""
    return [key for key in rot.schedules() if rot.pagerduty_schedule(key)]


def horizon_weeks(rot: Rotation, override: int | None = None) -> int:
    """--horizon, else rotation.yaml pagerduty.horizon_weeks, else 12."""
    if override is not None:
        return override
    section = rot.section("pagerduty")
    return int(section.get("horizon_weeks", DEFAULT_HORIZON_WEEKS))


def target(rot: Rotation, key: str) -> str:
    return f"{rot.schedule_name(key)} ({rot.pagerduty_schedule(key)})"


# -- desired state


def window(rot: Rotation, key: str, now: datetime, weeks: int) -> Window:
    """The override window of a schedule; its end covers the shift holding now + `weeks`."""
    start = schedule.handoff(rot, schedule.week_of(rot, now))
    horizon_end = _shift_end(rot, now + timedelta(weeks=weeks))
    spans = tuple(
        (s, e)
        for swap in rot.swaps
        if _concerns(rot, key, swap)
        for s, e, _on, _cover in schedule.swap_spans(rot, swap)
        if e > now
    )
    end = max([horizon_end] + [_shift_end(rot, e - timedelta(seconds=1)) for _, e in spans])
    managed_from = schedule.handoff(rot, schedule.defined_from(rot, key))
    return Window(start, managed_from, horizon_end, end, spans)


def observed_span(win: Window, now: datetime) -> tuple[datetime, datetime]:
    """The range to read overrides over: what overlaps it may be ours or drift."""
    return max(now, win.managed_from), win.end


def _shift_end(rot: Rotation, instant: datetime) -> datetime:
    return schedule.handoff(rot, schedule.week_of(rot, instant) + schedule.WEEK)


def _concerns(rot: Rotation, key: str, swap: Swap) -> bool:
    """A swap moves this schedule: its own, or (hero-as-secondary) a hero swap of its people."""
    if swap.schedule == key:
        return True
    return (
        key != HERO
        and swap.schedule == HERO
        and rot.hero.hero_is_team_secondary
        and any(rot.people[p].team == key for p in swap.people)
    )


def layer_people(cycle: Cycle) -> tuple[str, ...]:
    """The cycle's order rotated to start with `first`: the layer's users at the `since` turn."""
    i = cycle.order.index(cycle.first)
    return cycle.order[i:] + cycle.order[:i]


def wanted(rot: Rotation, key: str, now: datetime, weeks: int) -> Wanted:
    """The layer and overrides rotation.yaml asks of one schedule."""
    cycle = rot.cycle_of(key)
    since = schedule.handoff(rot, cycle.since)
    win = window(rot, key, now, weeks)
    overrides = tuple(
        o
        for o in wanted_overrides(rot, key, win.start, win.end)
        if o.end > now and (o.start < win.horizon_end or _overlaps(o, win.swap_spans))
    )
    layer_start = since if since > now else _second(now)
    return Wanted(
        key, _schedule_id(rot, key), layer_people(cycle), since, layer_start, overrides, win
    )


def _schedule_id(rot: Rotation, key: str) -> str:
    """The PagerDuty schedule of a synced key."""
    if (found := rot.pagerduty_schedule(key)) is None:
        raise KeyError(f"{key!r} has no pagerduty_schedule")
    return found


def _overlaps(o: WantedOverride, spans: tuple[tuple[datetime, datetime], ...]) -> bool:
    return any(o.start < e and s < o.end for s, e in spans)


def _second(instant: datetime) -> datetime:
    return instant.replace(microsecond=0)


def wanted_overrides(
    rot: Rotation, key: str, start: datetime, end: datetime
) -> list[WantedOverride]:
    """Every span of [start, end) where the engine's final person is not the layer's person.

    Spans are cut at every handoff, so an override never depends on where the window ends.
    """
    cycle = rot.cycle_of(key)
    return [
        WantedOverride(a, b, shift.person, base, shift.why, shift.line)
        for shift in schedule.schedule_shifts(rot, key, start, end)
        for a, b, base in _layer_spans(rot, cycle, shift.start, shift.end)
        if base != shift.person
    ]


def _layer_spans(
    rot: Rotation, cycle: Cycle, start: datetime, end: datetime
) -> Iterator[tuple[datetime, datetime, str]]:
    """(start, end, person) of the cycle alone, week by week, within [start, end)."""
    week = schedule.week_of(rot, start)
    while (turn := schedule.handoff(rot, week)) < end:
        following = schedule.handoff(rot, week + schedule.WEEK)
        yield max(start, turn), min(end, following), cycle.person_at((week - cycle.since).days // 7)
        week += schedule.WEEK


# -- the plan


def plan(
    rot: Rotation,
    observed: Mapping[str, Schedule | ShiftSchedule],
    user_ids: Mapping[str, str],
    now: datetime,
    weeks: int,
    prune: bool = False,
    timezone_line: int = 0,
) -> Plan:
    """Changes that make each observed schedule match rotation.yaml, and the drift left alone;
    a layer-based schedule gets layers and overrides, a shift-based one (shifts.py) events."""
    from scripts.pagerduty import shifts  # it builds on this module: imported when used

    changes: list[Change] = []
    drift: list[Drift] = []
    kinds = {}
    for key in synced(rot):
        want, sched = wanted(rot, key, now, weeks), observed[key]
        if isinstance(sched, Schedule):
            layer = layer_change(rot, want, sched, user_ids, timezone_line)
            more, left = override_changes(rot, want, sched, user_ids, now, prune)
            more = ([layer] if layer else []) + more
        else:
            more, left = shifts.plan_shifts(rot, want, sched, user_ids, now, prune, timezone_line)
        kinds[key] = "v2" if isinstance(sched, Schedule) else "v3"
        changes += more
        drift += left
    return Plan(tuple(changes), tuple(drift), kinds)


def layer_change(
    rot: Rotation, want: Wanted, sched: Schedule, user_ids: Mapping[str, str], timezone_line: int
) -> Change | None:
    """One schedule update after which the winning layer from `layer_start` on is the rotation.

    Layers are never rewritten in the past and never removed (PagerDuty keeps a layer a PUT
    leaves out): the highest layer that already is the rotation is kept and every layer above it
    ends at `layer_start` (the `since` handoff, or now when that is past). Where none is, or a
    layer above it only starts later (it cannot be ended before it starts), a new layer goes on
    top (the layer created last wins) and the others end there; one that starts later stays,
    hidden below it.
    """
    new = Layer(
        want.layer_start,
        want.rotation_virtual_start,
        WEEK_SECONDS,
        tuple(user_ids[p] for p in want.people),
        name=f"rotation.yaml since {rot.cycle_of(want.key).since}",
    )
    layers, at = list(sched.layers), want.layer_start
    keep = next(
        (i for i in reversed(range(len(layers))) if _same_rotation(rot, layers[i], new)), None
    )
    if keep is not None and all(_can_end(x, at) for x in layers[keep + 1 :]):
        result = layers[: keep + 1] + [_end_at(x, at) for x in layers[keep + 1 :]]
    else:
        keep, result = None, [_end_at(x, at) for x in layers] + [new]
    zone_ok = sched.time_zone == rot.timezone
    if zone_ok and result == layers:
        return None
    parts = [] if zone_ok else [f"time zone {sched.time_zone} -> {rot.timezone}"]
    parts += _layer_edits(rot, layers, result, new if keep is None else None, want)
    cycle = rot.cycle_of(want.key)
    rotation_moved = result != layers
    return Change(
        "update",
        target(rot, want.key),
        "; ".join(parts),
        reason="rotation" if rotation_moved else "timezone",
        line=cycle.line if rotation_moved else timezone_line,
        data=ScheduleUpdate(sched.id, sched.name, rot.timezone, tuple(result)),
    )


def _same_rotation(rot: Rotation, layer: Layer, new: Layer) -> bool:
    """An open layer that already puts the same person on every turn from `new.start` on."""
    if layer.end is not None or layer.start > new.start or layer.restrictions:
        return False
    if layer.turn_seconds != WEEK_SECONDS or len(layer.user_ids) != len(new.user_ids):
        return False
    turn = layer.rotation_virtual_start.astimezone(rot.zone)
    if (turn.weekday(), turn.time()) != (rot.handoff_weekday, rot.handoff_time):
        return False
    week = schedule.week_of(rot, new.start)
    instants = [schedule.handoff(rot, week + k * schedule.WEEK) for k in range(len(new.user_ids))]
    return all(layer_user(rot, layer, t) == layer_user(rot, new, t) for t in instants)


def layer_user(rot: Rotation, layer: Layer, instant: datetime) -> str:
    """Whose turn it is on a layer at `instant`; turns run on wall-clock time in the zone."""
    local = instant.astimezone(rot.zone).replace(tzinfo=None)
    origin = layer.rotation_virtual_start.astimezone(rot.zone).replace(tzinfo=None)
    turn = (local - origin) // timedelta(seconds=layer.turn_seconds)
    return layer.user_ids[turn % len(layer.user_ids)]


def _can_end(layer: Layer, at: datetime) -> bool:
    """Whether the layer can be out of the way from `at`: ended by then, or started before."""
    return (layer.end is not None and layer.end <= at) or layer.start < at


def _end_at(layer: Layer, at: datetime) -> Layer:
    """The layer ended at `at`; unchanged if it ends by then or only starts then or later."""
    if not _can_end(layer, at) or (layer.end is not None and layer.end <= at):
        return layer
    return replace(layer, end=at)


def _layer_edits(
    rot: Rotation, before: list[Layer], after: list[Layer], new: Layer | None, want: Wanted
) -> list[str]:
    edits = []
    kept = {x.id: x for x in after if x.id}
    for old in before:
        label = old.name or old.id or "layer"
        ended = kept.get(old.id) if old.id else None
        if ended is not None and ended != old and ended.end is not None:
            edits.append(f"end {label} at {local(rot, ended.end)}")
        elif new is not None and not _can_end(old, want.layer_start):
            edits.append(f"{label} starts later: left below the new layer")
    if new is not None:
        edits.append(
            f"new layer on top from {local(rot, new.start)}: {', '.join(want.people)}, weekly "
            f"turns from {local(rot, want.rotation_virtual_start)} {rot.timezone}"
        )
    return edits


def override_changes(
    rot: Rotation,
    want: Wanted,
    sched: Schedule,
    user_ids: Mapping[str, str],
    now: datetime,
    prune: bool,
) -> tuple[list[Change], list[Drift]]:
    """Creates for wanted overrides PagerDuty lacks; deletes (with prune) or drift for the rest.

    An observed override is ours when it has the user, start and end of a wanted one; one
    created mid-shift counts too (it starts between the wanted start and now).
    """
    where = target(rot, want.key)
    missing, unexplained = pair(
        sched.overrides, want, now, lambda o, w: o.user_id == user_ids[w.person]
    )
    creates = [_create(rot, where, sched.id, w, user_ids, now) for w in missing]
    deletes, drift = [], []
    names = {uid: handle for handle, uid in user_ids.items()}
    for o in unexplained:
        who = names.get(o.user_id) or o.user_name or o.user_id
        text = f"{span(rot, o.start, o.end)}: {who} (not in {rot.file})"
        in_progress = o.start < now
        if prune and not in_progress:
            assert o.id is not None  # observed: PagerDuty gave it one
            data = OverrideDelete(sched.id, o.id)
            deletes.append(Change("delete", where, text, reason="drift", data=data))
        else:
            drift.append(Drift(where, text + (", in progress" if in_progress else ""), in_progress))
    return deletes + creates, drift


class Span(Protocol):
    """What pairing reads of an observed override, of either kind."""

    @property
    def start(self) -> datetime: ...
    @property
    def end(self) -> datetime: ...


S = TypeVar("S", bound=Span)


def pair(
    observed: Iterable[S], want: Wanted, now: datetime, same: Callable[[S, WantedOverride], bool]
) -> tuple[list[WantedOverride], list[S]]:
    """The wanted overrides PagerDuty lacks, and the observed ones no wanted one explains.

    An observed override is a wanted one when `same` (its people) and it ends with it and starts
    with it, or between its start and now (one written mid-shift). One that ended by now, or
    before the rotation starts, is not rotation.yaml's to judge and is left out.
    """
    missing, unexplained = list(want.overrides), []
    for o in sorted(observed, key=lambda o: (o.start, o.end)):
        if o.end <= max(now, want.window.managed_from):
            continue
        match = next((w for w in missing if same(o, w) and _spans(o, w, now)), None)
        if match:
            missing.remove(match)
        else:
            unexplained.append(o)
    return missing, unexplained


def _spans(o: Span, w: WantedOverride, now: datetime) -> bool:
    return o.end == w.end and (o.start == w.start or w.start < o.start <= now)


def _create(
    rot: Rotation,
    where: str,
    schedule_id: str,
    w: WantedOverride,
    user_ids: Mapping[str, str],
    now: datetime,
) -> Change:
    start = max(w.start, _second(now))  # a shift in progress is covered from now, not rewritten
    summary = f"{span(rot, start, w.end)}: {w.person} covers {w.covers}"
    override = Override(start, w.end, user_ids[w.person])
    data = OverrideCreate(schedule_id, override, rot.timezone)
    return Change("create", where, summary, reason=REASONS[w.why], line=w.line, data=data)


# -- words


def local(rot: Rotation, instant: datetime) -> str:
    """E.g. "Wed 16 Dec 09:00" in the rotation's zone."""
    return instant.astimezone(rot.zone).strftime("%a %d %b %H:%M")


def span(rot: Rotation, start: datetime, end: datetime) -> str:
    return f"{local(rot, start)} -> {local(rot, end)} {rot.timezone}"


def describe(rot: Rotation, want: Wanted) -> list[str]:
    """The desired state of a schedule in lines a person reads (no PagerDuty needed)."""
    lines = [
        f"layer from {local(rot, want.layer_start)}: {', '.join(want.people)}, weekly turns "
        f"from {local(rot, want.rotation_virtual_start)} {rot.timezone} ({rot.file}:"
        f"{rot.cycle_of(want.key).line})"
    ]
    for o in want.overrides:
        lines.append(
            f"override {span(rot, o.start, o.end)}: {o.person} covers "
            f"{o.covers} ({REASONS[o.why]}, {rot.file}:{o.line})"
        )
    return lines
