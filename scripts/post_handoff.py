"""Weekly hero handoff in Slack: the message, reminders, user groups and the channel topic."""

from __future__ import annotations

import json
import sys
from dataclasses import replace
from datetime import datetime

from scripts import cli
from scripts import plan as plans
from scripts.clients.sentry import read_new_unassigned, web_url
from scripts.clients.slack import Slack, SlackError
from scripts.handoff import weekly
from scripts.markup.github_text import code_block, escape
from scripts.markup.slack_ts import ts_of
from scripts.plan import Change
from scripts.rotation.model import Rotation
from scripts.rotation.problems import ConfigError, Problem
from scripts.stale import sentry_errors

TITLE = "Slack handoff"


def main(argv: list[str] | None = None) -> int:
    return cli.guard(cli.parser(__doc__), argv, run)


def run(args) -> int:
    """Plan, and with --apply write, this week's handoff."""
    try:
        slack, changes, unreachable = plan(args)
    except SlackError as exc:  # reading failed: nothing was written
        print(f"error: {exc}; nothing was written", file=sys.stderr)
        return cli.failed(exc)
    if not args.apply:
        return cli.EXIT_OK
    code = apply(slack, changes) if changes else cli.EXIT_OK
    # someone on call cannot be reached in Slack: what could be done is done, but the run
    # fails so that someone fixes rotation.yaml
    return cli.EXIT_APPLY_FAILED if unreachable else code


def plan(args) -> tuple[Slack | None, list[Change], list[Problem]]:
    """Load, observe (read only), plan and render; the client, the changes for an apply, and
    the people on call whom Slack does not know (named by name, left out of groups and DMs)."""
    rot, _ = cli.load(args.config)
    cfg = load_settings(rot, args.config)
    now = cli.now_or(args)
    token = cli.token("SLACK_BOT_TOKEN", args.apply)
    wk = weekly.week(rot, now)
    if wk is None:
        print(f"No Support Hero shift holds {now:%Y-%m-%d %H:%M} UTC yet: nothing to post.",
              file=sys.stderr)  # fmt: skip
        print(plans.render_json([]) if args.format == "json" else "")
        return None, [], []
    ids = {h: p.slack for h, p in rot.people.items() if p.slack}
    slack = Slack(token) if token else None
    unreachable: list[Problem] = []
    if slack:
        found, unreachable = lookup(slack, rot, weekly.people_to_mention(wk), ids)
        ids |= found
        cli.report_problems(unreachable)
        seen = observe(slack, rot, cfg, wk, now, ids)
    else:
        print("SLACK_BOT_TOKEN is not set: Slack was not read; this is the desired state.",
              file=sys.stderr)  # fmt: skip
        seen = weekly.Observed()
    seen, reading = with_sentry(rot, wk, seen)
    changes = weekly.plan(rot, cfg, now, ids, seen)
    keep = seen.posted.open_block if seen.posted else None
    render(args, changes, weekly.message(rot, cfg, wk, ids, keep, seen.sentry), reading)
    return slack, changes, unreachable


# --- load ---------------------------------------------------------------------------------------


def load_settings(rot: Rotation, config: str) -> weekly.Settings:
    """The slack section, checked against the teams; problems name their rotation.yaml line."""
    src = rot.source
    slack = rot.settings.get("slack") or {}
    problems = []
    if not slack.get("channel"):
        where = ("slack",) if "slack" in rot.settings else ()
        problems.append(src.problem(where, "slack.channel (the support channel ID) is required"))
    for team in slack.get("team_groups") or {}:
        path = ("slack", "team_groups", team)
        if team not in rot.teams or rot.teams[team].secondary is None:
            problems.append(
                src.problem(path, f"{team!r} is not a team with a secondary rotation", key=True)
            )
    if problems:
        raise ConfigError(problems)
    lines = {key: src.where(("slack", key))[0] for key in slack}
    return weekly.settings(rot, lines)


# --- observe (read only) -----------------------------------------------------------------------


def lookup(
    slack: Slack, rot: Rotation, handles: list[str], known: dict
) -> tuple[dict[str, str], list[Problem]]:
    """Slack IDs by email for the people without one in rotation.yaml, each looked up once; and
    a problem for each person Slack does not know."""
    found, missing = {}, []
    for handle in handles:
        if handle in known:
            continue
        person = rot.people[handle]
        if user := slack.lookup_user(person.email):
            found[handle] = user
        else:
            missing.append(person)
    return found, [
        Problem(
            rot.file,
            p.line,
            1,
            f"people.{p.handle}",
            f"{p.name} <{p.email}> is not in Slack (users.lookupByEmail found no one): the "
            "handoff names them without a mention and leaves them out of user groups and "
            "reminders; fix the email or add their Slack user ID as `slack: U...`",
        )
        for p in missing
    ]


def observe(
    slack: Slack, rot: Rotation, cfg: weekly.Settings, wk: weekly.Week, now: datetime, ids: dict
) -> weekly.Observed:
    """Read what the plan compares against: this shift's message, groups, topic, reminder DMs."""
    msg = slack.find_message(
        cfg.channel, weekly.EVENT_HANDOFF, oldest=ts_of(wk.start), shift_start=wk.shift_start
    )
    posted = None
    if msg:
        keep = next((b for b in msg.blocks if b.get("block_id") == weekly.OPEN_BLOCK_ID), None)
        line = next((b for b in msg.blocks if b.get("block_id") == sentry_errors.BLOCK_ID), None)
        posted = weekly.Posted(msg.ts, msg.payload.get("digest", ""), keep, line)
    groups = None
    if cfg.hero_group or cfg.team_groups:
        groups = {
            g.handle: weekly.Group(g.id, g.handle, g.users, g.disabled) for g in slack.usergroups()
        }
    topic = slack.channel(cfg.channel).topic if cfg.topic else None
    dm, sent = None, frozenset()
    reminder = weekly.reminder_due(rot, wk, now) if cfg.reminders else None
    if reminder and reminder.person in ids:  # no Slack account: no DM (reported by lookup)
        dm = slack.open_dm(ids[reminder.person])
        found = slack.find_message(
            dm,
            weekly.EVENT_REMINDER,
            oldest=ts_of(reminder.opens),
            shift_start=reminder.key[0],
            kind=reminder.kind,
        )
        sent = frozenset({reminder.key}) if found else frozenset()
    return weekly.Observed(posted, groups, topic, sent, dm)


def with_sentry(rot: Rotation, wk: weekly.Week, seen: weekly.Observed):
    """`seen` with the message's Sentry line, and how Sentry was read (None: not configured)."""
    cfg = sentry_errors.settings(rot.settings.get("sentry"))
    if cfg is None:
        return seen, None
    reading = observe_sentry(cfg, wk.start)
    posted = seen.posted.sentry_block if seen.posted else None
    line = sentry_errors.handoff_block(cfg, reading, wk.start, web_url(), posted)
    return replace(seen, sentry=line), reading


def observe_sentry(cfg: sentry_errors.Settings, start: datetime) -> sentry_errors.Reading:
    """Sentry's new unassigned errors since `start`; an outage is a warning, not a failure."""
    reading = read_new_unassigned(cli.token("SENTRY_TOKEN", False), cfg, start)
    if reading.state == "failed":
        print(f"warning: {reading.detail}", file=sys.stderr)
    return reading


# --- render and apply ---------------------------------------------------------------------------


def render(args, changes: list[Change], msg: weekly.Message, reading=None) -> None:
    """The plan and the message, and how Sentry was read (`reading` None: not configured)."""
    message = {"text": msg.text, "blocks": list(msg.blocks), "metadata": msg.metadata}
    note = reading.note() if reading else None
    markdown = plans.render_markdown(changes, args.config, TITLE)
    markdown += f"\n\n{escape(note)}" if note else ""
    cli.write_summary(f"{markdown}\n\n**The handoff message**\n\n{code_block(msg.text)}")
    if args.format == "json":
        extra = {"sentry": reading.summary()} if reading else {}
        print(plans.render_json(changes, message=message, **extra))
    elif args.format == "markdown":
        print(markdown)
    else:
        print(plans.render_text(changes, args.config, TITLE) + (f"\n\n{note}" if note else ""))
        print("\nMessage (plain-text fallback):\n" + msg.text)
        blocks = json.dumps(message["blocks"], indent=2, ensure_ascii=False)
        print("\nMessage (Block Kit JSON):\n" + blocks)


def apply(slack: Slack, changes: list[Change]) -> int:
    """Make each change; one failing does not stop the others (each is idempotent)."""
    failed = 0
    for change in changes:
        try:
            apply_change(slack, change)
        except SlackError as exc:
            failed += 1
            print(f"error: {change.action} {change.target}: {exc}", file=sys.stderr)
    return cli.EXIT_APPLY_FAILED if failed else cli.EXIT_OK


def apply_change(slack: Slack, change: Change) -> None:
    d = change.data
    if change.action in ("post", "remind"):
        slack.post(d["channel"], d["text"], d["blocks"], d["metadata"])
    elif change.action == "update" and "ts" in d:
        slack.update(d["channel"], d["ts"], d["text"], d["blocks"], d["metadata"])
    elif change.action == "create":
        group = slack.create_usergroup(d["handle"], d["name"], d["description"])
        slack.set_usergroup_users(group.id, d["users"])
    elif change.action == "enable":
        slack.enable_usergroup(d["usergroup"])
        slack.set_usergroup_users(d["usergroup"], d["users"])
    elif change.action == "update":
        slack.set_usergroup_users(d["usergroup"], d["users"])
    elif change.action == "topic":
        slack.set_topic(d["channel"], d["topic"])


if __name__ == "__main__":
    sys.exit(main())
