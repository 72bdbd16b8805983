"""Make PagerDuty's Support Hero and team secondary schedules match rotation.yaml."""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from datetime import datetime
from typing import TypeVar

from scripts import cli, runner
from scripts.clients.pagerduty import NotFound, PagerDuty, PagerDutyError
from scripts.markup.github_text import escape
from scripts.pagerduty import plan as pdp
from scripts.pagerduty.shifts import MAX_MEMBERS, ShiftOverride, ShiftSchedule
from scripts.plan import (
    Change,
    CustomShiftDelete,
    EventCreate,
    EventDelete,
    EventEnd,
    OverrideCreate,
    OverrideDelete,
    ScheduleUpdate,
    ShiftOverrideCreate,
    ShiftOverrideDelete,
    ShiftZoneUpdate,
    render_markdown,
    render_text,
)
from scripts.rotation.model import HERO, Rotation
from scripts.rotation.problems import ConfigError, Problem

W = TypeVar("W", OverrideCreate, ShiftOverrideCreate)
TITLE = "PagerDuty sync"
TOKEN = "PAGERDUTY_TOKEN"
BATCH = 50  # overrides per POST (v2's array form; v3 documents no limit, the same is used)


def main(argv: list[str] | None = None) -> int:
    return runner.start(JOB, parser(), argv)


def parser():
    p = cli.parser(__doc__)
    p.add_argument(
        "--prune",
        action="store_true",
        help="delete overrides rotation.yaml does not explain (never one in progress)",
    )
    p.add_argument(
        "--horizon",
        type=cli.count(1, 52),  # as pagerduty.horizon_weeks in rotation.schema.json
        metavar="WEEKS",
        help="write overrides this many weeks ahead (default: pagerduty.horizon_weeks "
        "in rotation.yaml, else 12); swaps are written however far ahead",
    )
    return p


@dataclass(frozen=True)
class Setup:
    rot: Rotation
    now: datetime
    weeks: int  # the horizon
    prune: bool


@dataclass(frozen=True)
class Observed:
    schedules: Mapping[str, pdp.Schedule | ShiftSchedule]  # by key, with their overrides
    user_ids: Mapping[str, str]  # person handle -> PagerDuty user id


def setup(args) -> Setup:
    rot, _warnings = cli.load(args.config)
    weeks = pdp.horizon_weeks(rot, args.horizon)
    if not 1 <= weeks <= 52:
        raise cli.UsageError(f"--horizon must be 1 to 52 weeks, not {weeks}")
    return Setup(rot, cli.now_or(args), weeks, args.prune)


def connect(s: Setup) -> PagerDuty | None:
    token = cli.token(TOKEN, False)
    try:
        return PagerDuty(token) if token else None
    except PagerDutyError as exc:
        raise cli.UsageError(str(exc)) from None


def observe_all(s: Setup, pd: PagerDuty | None) -> Observed | None:
    """What PagerDuty holds; None: it was not read (no token, or nothing to sync)."""
    if pd is None or not pdp.synced(s.rot):
        return None
    try:
        schedules, user_ids = observe(pd, s.rot, s.now, s.weeks)
    except PagerDutyError as exc:
        raise runner.Halted(f"reading PagerDuty: {exc}", exc) from None
    return Observed(schedules, user_ids)


def planned(s: Setup, seen: Observed | None, heading: str) -> runner.Planned:
    if not pdp.synced(s.rot):
        text = f"No schedule in {s.rot.file} has a pagerduty_schedule: nothing to sync."
        return runner.Planned([], text, text, json={"pagerduty_read": False, "desired": {}})
    if seen is None:
        return wanted_state(s, heading)
    timezone_line = _line_of(s.rot, "timezone")
    result = pdp.plan(s.rot, seen.schedules, seen.user_ids, s.now, s.weeks, s.prune, timezone_line)
    return render(s, result, heading)


# -- observe (read only)


def observe(
    pd: PagerDuty, rot: Rotation, now: datetime, weeks: int
) -> tuple[dict[str, pdp.Schedule | ShiftSchedule], dict[str, str]]:
    """Each synced schedule (either kind) with its overrides, and every person's user id.

    Raises ConfigError naming every email without a user and every schedule PagerDuty lacks.
    """
    by_email = {u.email.lower(): u.id for u in pd.users()}
    user_ids = {p.handle: by_email.get(p.email.lower()) for p in rot.people.values()}
    problems = [
        Problem(
            rot.file,
            p.line,
            1,
            f"people.{p.handle}.email",
            f"{p.email} is not the email of any PagerDuty user",
        )
        for p in rot.people.values()
        if user_ids[p.handle] is None
    ]
    observed: dict[str, pdp.Schedule | ShiftSchedule] = {}
    for key in pdp.synced(rot):
        sid = rot.pagerduty_schedule(key)
        try:
            sched = pd.schedule(sid)
        except NotFound:
            problems.append(_missing(rot, key, sid))
            continue
        if not isinstance(sched, pdp.Schedule) and (big := _too_big(rot, key, sid)):
            problems.append(big)
            continue
        since, until = pdp.observed_span(pdp.window(rot, key, now, weeks), now)
        observed[key] = _with_overrides(pd, sched, since, until)
    if problems:
        raise ConfigError(problems)
    return observed, user_ids


def _with_overrides(
    pd: PagerDuty, sched: pdp.Schedule | ShiftSchedule, since: datetime, until: datetime
) -> pdp.Schedule | ShiftSchedule:
    """The schedule with its overrides over [since, until) (shift-based: custom shifts too)."""
    if isinstance(sched, pdp.Schedule):
        return replace(sched, overrides=pd.overrides(sched.id, since, until))
    return replace(
        sched,
        overrides=pd.shift_overrides(sched.id, since, until),
        custom_shifts=pd.custom_shifts(sched.id, since, until),
    )


def _missing(rot: Rotation, key: str, sid: str) -> Problem:
    where = "support_hero" if key == HERO else f"teams.{key}"
    line = rot.hero.line if key == HERO else rot.teams[key].line
    return Problem(
        rot.file,
        line,
        1,
        f"{where}.pagerduty_schedule",
        f"PagerDuty has no schedule {sid}; create it in PagerDuty first (this job does not "
        "create schedules)",
    )


def _too_big(rot: Rotation, key: str, sid: str) -> Problem | None:
    """A rotation longer than a shift-based event can hold (PagerDuty: 20 members)."""
    cycle = rot.cycle_of(key)
    if len(cycle.order) <= MAX_MEMBERS:
        return None
    where = "support_hero" if key == HERO else f"teams.{key}.secondary"
    return Problem(
        rot.file,
        cycle.line,
        1,
        f"{where}.order",
        f"{len(cycle.order)} people, but {sid} is a shift-based PagerDuty schedule, whose "
        f"events take at most {MAX_MEMBERS} members; split the rotation, or point it at a "
        "layer-based schedule",
    )


def _line_of(rot: Rotation, key: str) -> int:
    """Line of a top-level key in the rotation file (the model keeps no line for it)."""
    return rot.source.where((key,), key=True)[0] if rot.source else 0


# -- render


def wanted_state(s: Setup, heading: str) -> runner.Planned:
    """Without a token: the desired state, saying PagerDuty was not read."""
    rot = s.rot
    note = f"PagerDuty was not read ({TOKEN} is not set): the desired state from {rot.file}"
    wants = [pdp.wanted(rot, key, s.now, s.weeks) for key in pdp.synced(rot)]
    desired = {
        w.key: {
            "schedule_id": w.schedule_id,
            "layer_people": w.people,
            "rotation_virtual_start": w.rotation_virtual_start,
            "overrides": [asdict(o) for o in w.overrides],
        }
        for w in wants
    }
    text = [heading, "", note]
    markdown = [f"### {escape(heading)}", "", f"_{escape(note)}_", ""]
    for w in wants:
        lines = pdp.describe(rot, w)
        text += ["", f"{pdp.target(rot, w.key)}:"] + [f"  {x}" for x in lines]
        markdown += [f"**{escape(pdp.target(rot, w.key))}**", ""]
        markdown += [f"- {escape(x)}" for x in lines] + [""]
    json = {"pagerduty_read": False, "desired": desired}
    return runner.Planned([], "\n".join(text), "\n".join(markdown), json=json)


def render(s: Setup, result: pdp.Plan, heading: str) -> runner.Planned:
    """Each schedule's kind, the plan, then the drift left in place (what --prune would delete
    or end, or in progress)."""
    drift_note = "Drift: what rotation.yaml does not explain, left in place" + (
        " (in progress)" if s.prune else "; --prune deletes or ends what is not in progress"
    )
    kinds = [f"{pdp.target(s.rot, k)}: {pdp.KINDS[v]}" for k, v in result.kinds.items()]
    markdown = render_markdown(result.changes, s.rot.file, heading)
    text = render_text(result.changes, s.rot.file, heading)
    if kinds:
        text += "\n\nSchedules:\n" + "\n".join(f"  {k}" for k in kinds)
        markdown += "\n\n#### Schedules\n\n" + "\n".join(f"- {escape(k)}" for k in kinds)
    if result.drift:
        markdown += f"\n\n#### {drift_note}\n\n" + "\n".join(
            f"- {escape(d.target)}: {escape(d.summary)}" for d in result.drift
        )
        text += f"\n\n{drift_note}:\n" + "\n".join(
            f"  {d.target}: {d.summary}" for d in result.drift
        )
    json = {
        "pagerduty_read": True,
        "kinds": dict(result.kinds),
        "drift": [asdict(d) for d in result.drift],
    }
    return runner.Planned(result.changes, text, markdown, json=json)


# -- apply


def writer(s: Setup, seen: Observed, pd: PagerDuty, changes: Sequence[Change]) -> runner.Batches:
    """Updates, deletes and events one by one; a schedule's override creates 50 to a POST."""
    made: dict[str, str] = {}  # schedule id -> the rotation this run created on it

    def one(change: Change) -> None:
        match change.data:
            case ScheduleUpdate() as u:
                pd.update_schedule(u.schedule_id, u.name, u.time_zone, u.layers)
            case OverrideDelete() as d:
                pd.delete_override(d.schedule_id, d.override_id)
            case ShiftZoneUpdate() as z:
                pd.update_shift_zone(z.schedule_id, z.time_zone)
            case EventEnd() as e:
                pd.end_event(e.schedule_id, e.rotation_id, e.event_id, e.until)
            case EventDelete() as e:
                pd.delete_event(e.schedule_id, e.rotation_id, e.event_id)
            case EventCreate() as e:
                made[e.schedule_id] = pd.create_event(e.schedule_id, e.rotation_id, e.event)
            case ShiftOverrideDelete() as d:
                pd.delete_shift_override(d.schedule_id, d.override_id)
            case CustomShiftDelete() as d:
                pd.delete_custom_shift(d.schedule_id, d.shift_id)
            case other:
                raise TypeError(f"not a PagerDuty sync write: {other!r}")

    def many(batch: Sequence[Change]) -> list[runner.Outcome]:
        first = batch[0].data
        if isinstance(first, ShiftOverrideCreate):
            rotation = made.get(first.schedule_id)
            overrides = [
                _rotation_of(_write(c, ShiftOverrideCreate).override, rotation) for c in batch
            ]
            pd.create_shift_overrides(first.schedule_id, overrides)
            return [None] * len(batch)
        creates = [_write(c, OverrideCreate) for c in batch]
        results = pd.create_overrides(
            creates[0].schedule_id, [c.override for c in creates], creates[0].time_zone
        )
        return [None if r.id else PagerDutyError("; ".join(r.errors)) for r in results]

    def batch_of(change: Change) -> tuple[str, str] | None:
        match change.data:
            case OverrideCreate() as c:
                return "v2", c.schedule_id
            case ShiftOverrideCreate() as c:
                return "v3", c.schedule_id
        return None

    return runner.Batches(one, many, batch_of, BATCH)


def _rotation_of(override: ShiftOverride, made: str | None) -> ShiftOverride:
    """An override of the rotation this run created (planned as None) names it now."""
    if override.rotation_id is not None:
        return override
    if made is None:
        raise PagerDutyError("the rotation for these overrides was not created; nothing was sent")
    return replace(override, rotation_id=made)


def _write(change: Change, kind: type[W]) -> W:
    """The change's write, which a batch of `kind` holds."""
    if not isinstance(change.data, kind):
        raise TypeError(f"not a {kind.__name__}: {change.data!r}")
    return change.data


JOB = runner.Job(
    title=TITLE,
    # PagerDuty failing a write after the retries most likely fails the next one too: stop
    # there, and the next run plans what is still missing
    policy=runner.Policy.STOP,
    setup=setup,
    connect=connect,
    observe=observe_all,
    plan=planned,
    writer=writer,
    tokens=runner.needs(TOKEN),
)


if __name__ == "__main__":
    sys.exit(main())
