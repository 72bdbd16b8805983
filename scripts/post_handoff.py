"""Weekly hero handoff in Slack: the message, reminders, user groups and the channel topic."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from scripts import cli, runner
from scripts import plan as plans
from scripts.clients.sentry import read_new_unassigned, web_url
from scripts.clients.slack import Slack, SlackError
from scripts.handoff import weekly
from scripts.markup.github_text import code_block, escape
from scripts.markup.slack_ts import ts_of
from scripts.plan import (
    Change,
    ChannelTopic,
    SlackPost,
    SlackUpdate,
    UserGroupCreate,
    UserGroupUsers,
)
from scripts.rotation.model import Rotation
from scripts.rotation.problems import ConfigError, Problem
from scripts.stale import sentry_errors

TITLE = "Slack handoff"
TOKEN = "SLACK_BOT_TOKEN"


def main(argv: list[str] | None = None) -> int:
    return runner.start(JOB, cli.parser(__doc__), argv)


@dataclass(frozen=True)
class Setup:
    rot: Rotation
    cfg: weekly.Settings
    now: datetime
    week: weekly.Week | None  # None: no Support Hero shift holds `now`


@dataclass(frozen=True)
class Seen:
    ids: dict[str, str]  # handle -> Slack user ID
    seen: weekly.Observed
    reading: sentry_errors.Reading | None  # how Sentry was read; None: not configured
    unreachable: list[Problem]  # on call and not in Slack: named, left out of groups and DMs


def setup(args) -> Setup:
    rot, _ = cli.load(args.config)
    cfg = load_settings(rot, args.config)
    now = cli.now_or(args)
    return Setup(rot, cfg, now, weekly.week(rot, now))


def observe_all(s: Setup, slack: Slack | None) -> Seen:
    """Slack (read only) and Sentry; reading Slack failed: nothing is planned or written."""
    ids = {h: p.slack for h, p in s.rot.people.items() if p.slack}
    if s.week is None:
        return Seen(ids, weekly.Observed(), None, [])
    unreachable: list[Problem] = []
    if slack is None:
        print(f"{TOKEN} is not set: Slack was not read; this is the desired state.",
              file=sys.stderr)  # fmt: skip
        seen = weekly.Observed()
    else:
        try:
            found, unreachable = lookup(slack, s.rot, weekly.people_to_mention(s.week), ids)
            ids |= found
            cli.report_problems(unreachable)
            seen = observe(slack, s.rot, s.cfg, s.week, s.now, ids)
        except SlackError as exc:
            raise runner.Halted(str(exc), exc) from None
    seen, reading = with_sentry(s.rot, s.week, seen)
    return Seen(ids, seen, reading, unreachable)


def planned(s: Setup, o: Seen, heading: str) -> runner.Planned:
    # someone on call cannot be reached in Slack: what can be done is done, but the run fails
    # so that someone fixes rotation.yaml
    code = cli.EXIT_APPLY_FAILED if o.unreachable else cli.EXIT_OK
    if s.week is None:
        print(f"No Support Hero shift holds {s.now:%Y-%m-%d %H:%M} UTC yet: nothing to post.",
              file=sys.stderr)  # fmt: skip
        return runner.Planned([], "", "", code=code)
    changes = weekly.plan(s.rot, s.cfg, s.now, o.ids, o.seen)
    keep = o.seen.posted.open_block if o.seen.posted else None
    msg = weekly.message(s.rot, s.cfg, s.week, o.ids, keep, o.seen.sentry)
    return render(s.rot.file, heading, changes, msg, o.reading, code)


# --- load ---------------------------------------------------------------------------------------


def load_settings(rot: Rotation, config: str) -> weekly.Settings:
    """The slack section, checked against the teams; problems name their rotation.yaml line."""
    src = rot.source
    slack = rot.section("slack")
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
    return weekly.settings(rot, lines, request_page(os.environ))


def request_page(env: Mapping[str, str]) -> str | None:
    """The request workflow's page in Actions (its form asks for a swap or time off)."""
    server, repo = env.get("GITHUB_SERVER_URL"), env.get("GITHUB_REPOSITORY")
    return f"{server}/{repo}/actions/workflows/request.yml" if server and repo else None


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


def render(config: str, heading: str, changes: list[Change], msg: weekly.Message,
           reading: sentry_errors.Reading | None, code: int) -> runner.Planned:  # fmt: skip
    """The plan and the message, and how Sentry was read (`reading` None: not configured)."""
    message = {"text": msg.text, "blocks": list(msg.blocks), "metadata": msg.metadata}
    note = reading.note() if reading else None
    markdown = plans.render_markdown(changes, config, heading)
    markdown += f"\n\n{escape(note)}" if note else ""
    text = plans.render_text(changes, config, heading) + (f"\n\n{note}" if note else "")
    text += "\n\nMessage (plain-text fallback):\n" + msg.text
    text += "\n\nMessage (Block Kit JSON):\n" + json.dumps(
        message["blocks"], indent=2, ensure_ascii=False
    )
    extra = {"sentry": reading.summary()} if reading else {}
    return runner.Planned(
        changes,
        text,
        markdown,
        summary=f"{markdown}\n\n**The handoff message**\n\n{code_block(msg.text)}",
        json={"message": message, **extra},
        code=code,
    )


def writer(s: Setup, o: Seen, slack: Slack, changes: Sequence[Change]) -> runner.Write:
    """Each change alone: one failing does not stop the others (each is idempotent)."""

    def write(change: Change) -> None:
        match change.data:
            case SlackPost(channel, text, blocks, metadata):
                slack.post(channel, text, list(blocks), dict(metadata))
            case SlackUpdate(channel, ts, text, blocks, metadata):
                slack.update(channel, ts, text, list(blocks), dict(metadata))
            case UserGroupCreate(handle, name, description, users):
                group = slack.create_usergroup(handle, name, description)
                slack.set_usergroup_users(group.id, list(users))
            case UserGroupUsers(usergroup, users, enable):
                if enable:
                    slack.enable_usergroup(usergroup)
                slack.set_usergroup_users(usergroup, list(users))
            case ChannelTopic(channel, topic):
                slack.set_topic(channel, topic)
            case other:
                raise TypeError(f"post_handoff cannot apply {type(other).__name__}")

    return write


JOB = runner.Job(
    TITLE,
    runner.Policy.GO_ON,
    setup,
    runner.client(TOKEN, Slack),
    observe_all,
    planned,
    writer,
    tokens=runner.needs(TOKEN),
)


if __name__ == "__main__":
    sys.exit(main())
