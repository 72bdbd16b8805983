"""Make PagerDuty's Support Hero and team secondary schedules match rotation.yaml."""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from datetime import datetime

from scripts import cli, runner
from scripts.clients.pagerduty import NotFound, PagerDuty, PagerDutyError
from scripts.markup.github_text import escape
from scripts.pagerduty import plan as pdp
from scripts.plan import (
    Change,
    OverrideCreate,
    OverrideDelete,
    ScheduleUpdate,
    render_markdown,
    render_text,
)
from scripts.rotation.model import HERO, Rotation
from scripts.rotation.problems import ConfigError, Problem

TITLE = "PagerDuty sync"
TOKEN = "PAGERDUTY_TOKEN"
BATCH = 50  # overrides per POST (the array form)


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
    schedules: Mapping[str, pdp.Schedule]  # by schedule key, each with its overrides
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
) -> tuple[dict[str, pdp.Schedule], dict[str, str]]:
    """Each synced schedule with its overrides, and every person's PagerDuty user id.

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
    observed = {}
    for key in pdp.synced(rot):
        sid = rot.pagerduty_schedule(key)
        try:
            sched = pd.schedule(sid)
        except NotFound:
            where = "support_hero" if key == HERO else f"teams.{key}"
            line = rot.hero.line if key == HERO else rot.teams[key].line
            problems.append(
                Problem(
                    rot.file,
                    line,
                    1,
                    f"{where}.pagerduty_schedule",
                    f"PagerDuty has no schedule {sid}; create it in "
                    "PagerDuty first (this job does not create schedules)",
                )
            )
            continue
        since, until = pdp.observed_span(pdp.window(rot, key, now, weeks), now)
        observed[key] = replace(sched, overrides=pd.overrides(sid, since, until))
    if problems:
        raise ConfigError(problems)
    return observed, user_ids


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
    """The plan, then the drift left in place (what --prune would delete, or in progress)."""
    drift_note = "Drift: overrides rotation.yaml does not explain, left in place" + (
        " (in progress)" if s.prune else "; --prune deletes those not in progress"
    )
    markdown = render_markdown(result.changes, s.rot.file, heading)
    text = render_text(result.changes, s.rot.file, heading)
    if result.drift:
        markdown += f"\n\n#### {drift_note}\n\n" + "\n".join(
            f"- {escape(d.target)}: {escape(d.summary)}" for d in result.drift
        )
        text += f"\n\n{drift_note}:\n" + "\n".join(
            f"  {d.target}: {d.summary}" for d in result.drift
        )
    json = {"pagerduty_read": True, "drift": [asdict(d) for d in result.drift]}
    return runner.Planned(result.changes, text, markdown, json=json)


# -- apply


def writer(s: Setup, seen: Observed, pd: PagerDuty, changes: Sequence[Change]) -> runner.Batches:
    """Schedule updates and deletes one by one; a schedule's creates 50 to a POST."""

    def one(change: Change) -> None:
        match change.data:
            case ScheduleUpdate() as u:
                pd.update_schedule(u.schedule_id, u.name, u.time_zone, u.layers)
            case OverrideDelete() as d:
                pd.delete_override(d.schedule_id, d.override_id)
            case other:
                raise TypeError(f"not a PagerDuty sync write: {other!r}")

    def many(batch: Sequence[Change]) -> list[runner.Outcome]:
        creates = [_create(c) for c in batch]
        first = creates[0]
        results = pd.create_overrides(
            first.schedule_id, [c.override for c in creates], first.time_zone
        )
        return [None if r.id else PagerDutyError("; ".join(r.errors)) for r in results]

    def schedule_of_create(change: Change) -> str | None:
        return change.data.schedule_id if isinstance(change.data, OverrideCreate) else None

    return runner.Batches(one, many, schedule_of_create, BATCH)


def _create(change: Change) -> OverrideCreate:
    match change.data:
        case OverrideCreate() as create:
            return create
        case other:
            raise TypeError(f"not an override create: {other!r}")


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
