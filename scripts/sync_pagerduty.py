"""Make PagerDuty's Support Hero and team secondary schedules match rotation.yaml."""

from __future__ import annotations

import json
import sys
from dataclasses import asdict, replace
from datetime import datetime

from scripts import cli, runner
from scripts.clients.pagerduty import NotFound, PagerDuty, PagerDutyError, Unauthorized
from scripts.markup.github_text import escape
from scripts.pagerduty import plan as pdp
from scripts.plan import Change, render_json, render_markdown, render_text
from scripts.rotation.model import HERO, Rotation
from scripts.rotation.problems import ConfigError, Problem

TOKEN = "PAGERDUTY_TOKEN"
BATCH = 50  # overrides per POST (the array form)


def main(argv=None) -> int:
    return cli.guard(parser(), argv, run)


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


def run(args) -> int:
    rot, _warnings = cli.load(args.config)
    now = cli.now_or(args)
    weeks = pdp.horizon_weeks(rot, args.horizon)
    if not 1 <= weeks <= 52:
        raise cli.UsageError(f"--horizon must be 1 to 52 weeks, not {weeks}")
    token = cli.token(TOKEN, needed=args.apply)
    if not pdp.synced(rot):
        print(f"No schedule in {rot.file} has a pagerduty_schedule: nothing to sync.")
        return cli.EXIT_OK
    if token is None:
        return show_wanted(rot, now, weeks, args.format)
    try:
        pd = PagerDuty(token)
    except PagerDutyError as exc:
        raise cli.UsageError(str(exc)) from None
    try:
        observed, user_ids = observe(pd, rot, now, weeks)
    except Unauthorized as exc:
        raise cli.UsageError(f"{exc}; nothing was written") from None
    except PagerDutyError as exc:
        print(f"error: {exc}; PagerDuty could not be read, nothing was written", file=sys.stderr)
        return cli.EXIT_APPLY_FAILED
    result = pdp.plan(rot, observed, user_ids, now, weeks, args.prune, _line_of(rot, "timezone"))
    show_plan(rot, result, args)
    applied = None
    if args.apply and result.changes:
        applied = apply(pd, rot, observed, result.changes)
        runner.report(applied, args.format)
    if args.format == "json":
        extra = {"applied": asdict(applied)} if applied else {}
        drift = [asdict(d) for d in result.drift]
        print(render_json(result.changes, pagerduty_read=True, drift=drift, **extra))
    return cli.EXIT_APPLY_FAILED if applied and applied.failed else cli.EXIT_OK


# -- observe (read only)


def observe(pd: PagerDuty, rot: Rotation, now: datetime, weeks: int):
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


def show_wanted(rot: Rotation, now: datetime, weeks: int, fmt: str) -> int:
    """Without a token: the desired state, saying PagerDuty was not read."""
    note = f"PagerDuty was not read ({TOKEN} is not set): the desired state from {rot.file}"
    wants = [pdp.wanted(rot, key, now, weeks) for key in pdp.synced(rot)]
    if fmt == "json":
        desired = {
            w.key: {
                "schedule_id": w.schedule_id,
                "layer_people": w.people,
                "rotation_virtual_start": w.rotation_virtual_start,
                "overrides": [asdict(o) for o in w.overrides],
            }
            for w in wants
        }
        print(
            json.dumps(
                {"pagerduty_read": False, "changes": [], "desired": desired}, indent=2, default=str
            )
        )
    text = [note]
    markdown = ["### PagerDuty sync", "", f"_{note}_", ""]
    for w in wants:
        lines = pdp.describe(rot, w)
        text += ["", f"{pdp.target(rot, w.key)}:"] + [f"  {x}" for x in lines]
        markdown += [f"**{escape(pdp.target(rot, w.key))}**", ""]
        markdown += [f"- {escape(x)}" for x in lines] + [""]
    if fmt != "json":
        print("\n".join(markdown if fmt == "markdown" else text))
    cli.write_summary("\n".join(markdown))
    return cli.EXIT_OK


def show_plan(rot: Rotation, result: pdp.Plan, args) -> None:
    title = "PagerDuty sync" + ("" if args.apply else " (dry run)")
    drift_note = "Drift: overrides rotation.yaml does not explain, left in place" + (
        " (in progress)" if args.prune else "; --prune deletes those not in progress"
    )
    markdown = render_markdown(result.changes, rot.file, title)
    text = render_text(result.changes, rot.file, title)
    if result.drift:
        markdown += f"\n\n#### {drift_note}\n\n" + "\n".join(
            f"- {escape(d.target)}: {escape(d.summary)}" for d in result.drift
        )
        text += f"\n\n{drift_note}:\n" + "\n".join(
            f"  {d.target}: {d.summary}" for d in result.drift
        )
    cli.write_summary(markdown)
    if args.format != "json":  # json: one object at the end, with what was applied
        print(markdown if args.format == "markdown" else text)


# -- apply


def apply(pd: PagerDuty, rot: Rotation, observed: dict, changes) -> runner.Applied:
    """Schedule updates and deletes one by one, creates in batches; stop at the first failure."""
    by_id = {s.id: s for s in observed.values()}
    done = runner.Applied()
    todo = list(changes)
    while todo and not done.failed:
        head = todo[0]
        sched = by_id[head.data["schedule_id"]]
        if head.action == "create":
            batch = [c for c in todo if c.action == "create" and c.data["schedule_id"] == sched.id][
                :BATCH
            ]
            _create(pd, sched, batch, rot.timezone, done)
        else:
            batch = [head]
            try:
                _write(pd, sched, head)
                done.written.append(head)
            except PagerDutyError as exc:
                done.failed.append((head, str(exc)))
        sent = {id(c) for c in batch}  # by identity: two deletes of twin overrides compare equal
        todo = [c for c in todo if id(c) not in sent]
    done.not_written.extend(todo)
    return done


def _write(pd: PagerDuty, sched: pdp.Schedule, change: Change) -> None:
    if change.action == "update":
        pd.update_schedule(sched, change.data["time_zone"], change.data["layers"])
    elif change.action == "delete":
        pd.delete_override(sched.id, change.data["override_id"])


def _create(pd: PagerDuty, sched, batch: list[Change], zone: str, done: runner.Applied) -> None:
    """One batch; a 201 can hold failed items, so each item's own status decides."""
    try:
        results = pd.create_overrides(sched.id, [c.data["override"] for c in batch], zone)
    except PagerDutyError as exc:
        done.failed.extend((c, f"{exc} (the batch may be partly written)") for c in batch)
        return
    for change, result in zip(batch, results, strict=True):
        if result.id:
            done.written.append(change)
        else:
            done.failed.append((change, "; ".join(result.errors)))


if __name__ == "__main__":
    sys.exit(main())
