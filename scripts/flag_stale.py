"""Flag support conversations that wait on us too long: one digest for the support channel."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path

from scripts import cli, runner
from scripts import plan as plans
from scripts.clients.sentry import read_new_unassigned, web_url
from scripts.clients.slack import Slack, SlackError
from scripts.handoff import weekly
from scripts.markup.slack_ts import ts_of
from scripts.plan import Change, SlackPost, SlackReply, SlackUpdate
from scripts.rotation.model import Rotation
from scripts.rotation.problems import ConfigError
from scripts.sources import conversations as stale_sources
from scripts.sources import state as stale_state
from scripts.sources.conversations import Reading, SlackChannel
from scripts.stale import clock, sentry_errors
from scripts.stale import digest as stale_digest
from scripts.stale import plan as stale_plan
from scripts.tiers import directory as tiers

TITLE = "Stale support conversations"
TOKEN = "SLACK_BOT_TOKEN"
EXIT_SOURCE_FAILED = 1  # a source could not be read: the digest says which, the others still show


def main(argv: list[str] | None = None) -> int:
    p = cli.parser(__doc__)
    p.add_argument(
        "--state",
        metavar="PATH",
        help="what the last run read, kept to spare this one the requests (default: "
        f"{stale_state.DEFAULT_PATH} beside the configuration; '' keeps none; docs/flag_stale.md)",
    )
    return runner.start(JOB, p, argv)


@dataclass(frozen=True)
class Setup:
    rot: Rotation
    cfg: clock.Settings
    directory: tiers.Directory | None
    rules: tuple
    now: datetime
    where: stale_plan.Where
    state: stale_state.State


@dataclass(frozen=True)
class Seen:
    readings: list[Reading]
    findings: list[clock.Finding]
    errors: stale_digest.Errors | None
    hero: stale_digest.Hero | None
    seen: stale_plan.Seen | None  # None: the channel could not be read, nothing may be posted


def setup(args) -> Setup:
    rot, _ = cli.load(args.config)
    cfg = load_settings(rot, args.config)
    directory, rules = load_directory(rot, args.config)
    now = cli.now_or(args)
    state = open_state(args.state, args.config, now)
    return Setup(rot, cfg, directory, rules, now, places(rot, args.config), state)


def refuse(s: Setup) -> str | None:
    return (
        None if s.where.channel else "--apply posts to slack.channel: set it in the configuration"
    )


def observe_all(s: Setup, slack: Slack | None) -> Seen:
    """Every source, Sentry, the hero, and what the support channel holds (all read only)."""
    rot, cfg, now = s.rot, s.cfg, s.now
    start = now - clock.lookback(cfg)
    channel = (
        SlackChannel(slack, s.where.channel, start, s.state) if slack and s.where.channel else None
    )
    readers = stale_sources.sources(rot, start, channel, s.directory, s.rules, state=s.state)
    readings = stale_sources.read_all(readers)
    errors = observe_errors(rot, now)
    hours = clock.hero_hours(rot, cfg, now)
    findings = clock.assess_all((c for r in readings for c in r.conversations), cfg, now, hours)
    hero = hero_of(rot, now, channel)
    day = stale_plan.day_of(now, rot.zone)
    seen = observe(channel, rot, cfg, now, day, findings)
    return Seen(readings, findings, errors, hero, seen)


def planned(s: Setup, o: Seen, heading: str) -> runner.Planned:
    rot, now = s.rot, s.now
    hours = clock.hero_hours(rot, s.cfg, now)
    statuses = [r.status for r in o.readings]
    day = stale_plan.day_of(now, rot.zone)
    digest = stale_plan.stamped(
        stale_digest.render(o.findings, statuses, o.hero, now, hours, o.errors), day
    )
    complete = not any(r.failed for r in o.readings)
    changes = []
    if s.where.channel and o.seen is not None:
        changes = stale_plan.plan(
            digest, o.findings, o.hero, o.seen, s.where, s.cfg.nudges, complete, rot.zone
        )
    markdown = stale_digest.render_markdown(o.findings, statuses, o.hero, now, hours, o.errors)
    failed = o.seen is None or not complete or (o.errors is not None and o.errors.failed)
    return render(s, heading, changes, digest, markdown, o, EXIT_SOURCE_FAILED if failed else 0)


def finish(s: Setup) -> None:
    s.state.save()
    print(s.state.summary(), file=sys.stderr)


# --- load ---------------------------------------------------------------------------------------


def load_settings(rot: Rotation, config: str) -> clock.Settings:
    """The `stale:` section; what the schema cannot check is reported at its rotation.yaml line."""
    raw = rot.section("stale")
    problems = clock.settings_problems(raw)
    if problems:
        src = rot.source
        raise ConfigError(src.problem(path, message) for path, message in problems)
    return clock.settings(raw)


def load_directory(rot: Rotation, config: str) -> tuple[tiers.Directory | None, tuple]:
    """The customer directory when there is one ($CUSTOMERS_YAML, $CUSTOMERS_FILE or
    customers.yaml next to rotation.yaml): tiers by email domain and GitHub login. Without it
    a tier comes from Papercups metadata or a GitHub tier label, else `default_tier`."""
    base = Path(config).parent
    given = os.environ.get(tiers.ENV_CONTENT) or os.environ.get(tiers.ENV_PATH)
    if not given and not (base / tiers.DEFAULT_PATH).is_file():
        return None, ()
    rules = tiers.rules(rot.section("tiers").get("rules"))
    return tiers.load_directory(os.environ, base), rules


def open_state(given: str | None, config: str, now) -> stale_state.State:
    """The state file: --state, else .cache/ beside rotation.yaml; `--state ''` keeps none."""
    if given == "":
        return stale_state.State.empty(now)
    path = Path(given) if given else Path(config).parent / stale_state.DEFAULT_PATH
    return stale_state.State.open(path, now)


def places(rot: Rotation, config: str) -> stale_plan.Where:
    channel = rot.section("slack").get("channel") or ""
    if not channel:
        return stale_plan.Where("")
    src = rot.source
    has_nudges = "nudges" in rot.section("stale")
    nudges = src.where(("stale", "nudges"))[0] if has_nudges else 0
    return stale_plan.Where(channel, src.where(("slack", "channel"))[0], nudges)


# --- observe (read only) -------------------------------------------------------------------------


def hero_of(rot: Rotation, now, channel: SlackChannel | None) -> stale_digest.Hero | None:
    """The current hero, with their Slack ID from rotation.yaml or, failing that, by email."""
    handle = clock.current_hero(rot, now)
    if handle is None:
        return None
    person = rot.people[handle]
    slack_id = person.slack
    if not slack_id and channel is not None:
        try:
            slack_id = channel.user_id_for(person.email)
        except SlackError as exc:  # the digest names them instead of mentioning them
            print(f"warning: looking up {person.email}: {exc}", file=sys.stderr)
    return stale_digest.Hero(person.name, slack_id)


def observe(channel: SlackChannel | None, rot: Rotation, cfg: clock.Settings, now, day: str,
            findings: list[clock.Finding]) -> stale_plan.Seen | None:  # fmt: skip
    """Today's digest, the nudges posted already and this shift's handoff, from the history the
    Slack source read (read here if it could not be). None: the channel cannot be read, so
    nothing may be posted (today's digest could be posted twice)."""
    if channel is None:
        return stale_plan.Seen()
    try:
        channel.read()
        digest = next(iter(channel.ours(stale_digest.EVENT_TYPE, day=day)), None)
        late = [f for f in findings if f.late]
        nudged = channel.nudged(late) if cfg.nudges and late else frozenset()
        return stale_plan.Seen(posted(digest), nudged, posted(find_handoff(channel, rot, now)))
    except SlackError as exc:
        if exc.setup:  # the token or the channel needs fixing: exit 2 (cli.guard)
            raise
        print(f"error: reading the support channel: {exc}; nothing is posted", file=sys.stderr)
        return None


def observe_errors(rot: Rotation, now) -> stale_digest.Errors | None:
    """Sentry's busiest new unassigned errors since the weekly handoff; None: no `sentry`
    section (nothing shown, nothing asked). An outage fails like a source: the digest says so,
    the conversations still show, the exit code is 1."""
    cfg = sentry_errors.settings(rot.settings.get("sentry"))
    if cfg is None:
        return None
    start = sentry_errors.since(rot, now)
    if start is None:
        why = "no Support Hero week holds this time"
        return stale_digest.Errors(stale_digest.SourceStatus("sentry", "not_configured", why))
    try:
        reading = read_new_unassigned(cli.token("SENTRY_TOKEN", False), cfg, start)
    except Exception as exc:  # a bug here must not hide the conversations (as in read_all)
        print(f"error: sentry: unexpected {cli.one_line(exc)}", file=sys.stderr)
        reading = sentry_errors.Reading("failed", f"unexpected {type(exc).__name__}")
    if reading.state == "failed":
        print(f"warning: {reading.detail}", file=sys.stderr)
    return stale_digest.errors_from(cfg, reading, start, web_url(), now)


def find_handoff(channel: SlackChannel, rot: Rotation, now):
    wk = weekly.week(rot, now)
    if wk is None:
        return None
    found = next(iter(channel.ours(weekly.EVENT_HANDOFF, shift_start=wk.shift_start)), None)
    if found is None and wk.start < channel.oldest:  # posted before the history read
        found = channel.slack.find_message(
            channel.id, weekly.EVENT_HANDOFF, oldest=ts_of(wk.start), shift_start=wk.shift_start
        )
    return found


def posted(msg) -> stale_plan.Posted | None:
    return stale_plan.Posted(msg.ts, dict(msg.payload), tuple(msg.blocks)) if msg else None


# --- render and apply ---------------------------------------------------------------------------


def render(s: Setup, heading: str, changes: list[Change], digest: stale_digest.Digest,
           markdown: str, o: Seen, code: int) -> runner.Planned:  # fmt: skip
    blocks = json.dumps(list(digest.blocks), indent=2, ensure_ascii=False)
    text = f"{heading}\n\n{digest.text}\n\nMessage (Block Kit JSON):\n{blocks}\n\n"
    text += plans.render_text(changes, s.rot.file, TITLE)
    extra = {"sentry": stale_digest.errors_json(o.errors)} if o.errors else {}
    doc = {
        "digest": asdict(digest),
        "sources": [asdict(r.status) for r in o.readings],
        "conversations": [stale_digest.finding_json(f) for f in o.findings],
        **extra,
    }
    return runner.Planned(changes, text, markdown, json=doc, code=code)


def writer(s: Setup, o: Seen, slack: Slack, changes: Sequence[Change]) -> runner.Write:
    """The digest first (a nudge in its thread needs its ts), then nudges, then the handoff."""
    digest_ts: str | None = None

    def write(change: Change) -> None:
        nonlocal digest_ts
        match change.data:
            case SlackPost(channel, text, blocks, metadata):
                digest_ts = slack.post(channel, text, list(blocks), dict(metadata)).ts
            case SlackUpdate(channel, ts, text, blocks, metadata, digest):
                slack.update(channel, ts, text, list(blocks), dict(metadata))
                digest_ts = ts if digest else digest_ts
            case SlackReply(channel, text, metadata, thread_ts):
                thread = thread_ts or digest_ts
                if thread is None:
                    raise SlackError("chat.postMessage", "the digest was not posted")
                slack.post(channel, text, metadata=dict(metadata), thread_ts=thread)
            case other:
                raise TypeError(f"flag_stale cannot apply {type(other).__name__}")

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
    refuse=refuse,
    finish=finish,
)


if __name__ == "__main__":
    sys.exit(main())
