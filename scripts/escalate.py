"""Page a team's secondary on-call in PagerDuty and say so in the support channel."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime

from scripts import cli, runner
from scripts import plan as plans
from scripts.clients.pagerduty import PagerDuty, PagerDutyError, PagerDutyEvents
from scripts.clients.slack import MAX_PAGE, Slack, SlackError
from scripts.escalation import paging
from scripts.escalation.paging import Context, Observed, Request, Secondary
from scripts.markup.github_text import code_block, escape
from scripts.markup.slack_ts import ts_of
from scripts.plan import Change, Page, SlackPost, SlackReply
from scripts.rotation.model import Rotation

TOKEN, ROUTING_KEYS = "PAGERDUTY_TOKEN", "PAGERDUTY_ROUTING_KEYS"
SENDER, SLACK_TOKEN = "PAGERDUTY_FROM_EMAIL", "SLACK_BOT_TOKEN"


@dataclass(frozen=True)
class Setup:
    """What the environment and rotation.yaml give this run (secrets stay in here)."""

    routing_key: str | None
    token: str | None
    sender: str | None  # PAGERDUTY_FROM_EMAIL
    service: str | None  # teams.<key>.pagerduty_service
    channel: str | None  # slack.channel
    slack_token: str | None


def main(argv: list[str] | None = None) -> int:
    return runner.start(JOB, parser(), argv)


def parser():
    p = cli.parser(__doc__)
    p.add_argument("--team", required=True, metavar="KEY", help="the team's key in rotation.yaml")
    p.add_argument(
        "--summary", required=True, metavar="TEXT", help="what is wrong, in one line (the title)"
    )
    p.add_argument(
        "--link",
        metavar="URL",
        help="the conversation; a Slack permalink into the support channel threads the message",
    )
    return p


@dataclass(frozen=True)
class Run:
    """This run: the rotation, the request, the set-up, the route and the notes so far."""

    rot: Rotation
    now: datetime
    req: Request
    setup: Setup
    how: paging.Route
    notes: tuple[str, ...]
    config: str


@dataclass(frozen=True)
class Adapters:
    pd: PagerDuty | None
    slack: Slack | None  # None: no token, or no support channel
    events: PagerDutyEvents | None  # None: no routing key


@dataclass(frozen=True)
class Seen:
    who: Secondary
    ctx: Context
    seen: Observed
    notes: tuple[str, ...]


def setup(args) -> Run:
    rot, _ = cli.load(args.config)
    req = _checked(lambda: paging.check_request(rot, args.team, args.summary, args.link))
    found, notes = read_setup(rot, req.team)
    how = paging.route(
        req.team, bool(found.routing_key), bool(found.token), found.service, bool(found.sender)
    )
    return Run(rot, cli.now_or(args), req, found, how, tuple(notes), args.config)


def tokens(r: Run) -> tuple[str, ...]:
    return (SLACK_TOKEN,) if r.setup.channel else ()  # all or nothing is sent


def refuse(r: Run) -> str | None:
    return None if r.how.kind else f"cannot page: {r.how.describe(r.req.team, None)}"


def connect(r: Run) -> Adapters:
    s = r.setup
    slack = Slack(s.slack_token) if s.slack_token and s.channel else None
    events = PagerDutyEvents(s.routing_key) if s.routing_key else None
    return Adapters(_pagerduty(s.token), slack, events)


def observe(r: Run, a: Adapters) -> Seen:
    """Who is on call (PagerDuty, else rotation.yaml) and whether Slack has this escalation."""
    rot, notes = r.rot, list(r.notes)
    try:
        who = find_secondary(a.pd, rot, r.req.team, r.now, notes)
        if r.how.kind == "rest" and not who.pagerduty_id:
            who = with_pagerduty_id(a.pd, rot, who)
    except PagerDutyError as exc:
        raise runner.Halted(str(exc), exc) from None
    key = paging.dedup_key(rot, r.req, who, r.now)
    try:
        slack_id, seen = observe_slack(a.slack, rot, r.setup.channel, who, key, r.req, r.now, notes)
    except SlackError as exc:
        raise runner.Halted(str(exc), exc) from None
    if note := paging.hero_note(rot, who, r.now):
        notes.append(note)
    requester, run_url = _actions_run()
    s = r.setup
    ctx = Context(key, r.how, s.service, s.sender, s.channel, slack_id, requester, run_url)
    return Seen(who, ctx, seen, tuple(notes))


def planned(r: Run, o: Seen, heading: str) -> runner.Planned:
    changes = paging.plan(r.rot, r.req, o.who, o.ctx, o.seen)
    return render(r, heading, o, changes)


def _checked(fn):
    try:
        return fn()
    except paging.InputError as exc:
        raise cli.UsageError(f"{exc}; nothing was sent") from None


# --- load ---------------------------------------------------------------------------------------


def read_setup(rot: Rotation, team: str) -> tuple[Setup, list[str]]:
    """Secrets and settings, and notes on what is missing."""
    routing_key, notes = _checked(
        lambda: paging.routing_keys(os.environ.get(ROUTING_KEYS), rot, team)
    )
    channel = paging.settings_channel(rot.settings)
    if not channel:
        notes.append(f"slack.channel is not set in {rot.file}: no message in Slack")
    slack_token = cli.token(SLACK_TOKEN, needed=False)
    if channel and not slack_token:
        notes.append(f"{SLACK_TOKEN} is not set: Slack was not read; the message is what would go")
    setup = Setup(
        routing_key,
        os.environ.get(TOKEN) or None,
        os.environ.get(SENDER) or None,
        pagerduty_service(rot, team),
        channel,
        slack_token,
    )
    return setup, notes


def pagerduty_service(rot: Rotation, team: str) -> str | None:
    """teams.<team>.pagerduty_service (the model keeps only what every job needs)."""
    data = (rot.source.data if rot.source else None) or {}
    return ((data.get("teams") or {}).get(team) or {}).get("pagerduty_service")


def _pagerduty(token: str | None) -> PagerDuty | None:
    if not token:
        return None
    try:
        return PagerDuty(token)
    except PagerDutyError as exc:
        raise cli.UsageError(f"{exc}; nothing was sent") from None


def _actions_run() -> tuple[str | None, str | None]:
    """Who started the run and its page, inside GitHub Actions."""
    env = os.environ
    parts = [env.get(k) for k in ("GITHUB_SERVER_URL", "GITHUB_REPOSITORY", "GITHUB_RUN_ID")]
    url = f"{parts[0]}/{parts[1]}/actions/runs/{parts[2]}" if all(parts) else None
    return env.get("GITHUB_ACTOR") or None, url


# --- observe (read only) -----------------------------------------------------------------------


def find_secondary(pd, rot: Rotation, team: str, now, notes) -> Secondary:
    """Who holds the team's PagerDuty schedule at `now` (its final schedule); else rotation.yaml's,
    saying why. Not `/oncalls`: it is empty for a schedule that no escalation policy uses."""
    sid = rot.teams[team].pagerduty_schedule
    if pd and sid:
        try:
            row = pd.holder(sid, now)
            if row is None:
                raise cli.UsageError(f"{paging.nobody(rot, team, now, sid)}; nothing was sent")
            return paging.from_pagerduty(rot, row, pd.user(row.user_id).email, sid)
        except PagerDutyError as exc:
            notes.append(
                f"PagerDuty could not be read ({exc}): who is on call is {rot.file}'s answer"
            )
    elif sid:
        notes.append(f"{TOKEN} is not set: who is on call is {rot.file}'s answer, not PagerDuty's")
    else:
        notes.append(f"{team} has no pagerduty_schedule: who is on call is {rot.file}'s answer")
    who = paging.from_rotation(rot, team, now)
    if who is None:
        raise cli.UsageError(f"{paging.nobody(rot, team, now)}; nothing was sent")
    return who


def with_pagerduty_id(pd: PagerDuty, rot: Rotation, who: Secondary) -> Secondary:
    """A REST incident is assigned to a PagerDuty user: find the person's by email."""
    user = pd.user_by_email(who.email) if who.email else None
    if user is None:
        raise cli.UsageError(
            f"{who.name} <{who.email}> is not a PagerDuty user (people.{who.handle}.email in "
            f"{rot.file}); nothing was sent"
        )
    return Secondary(**(asdict(who) | {"pagerduty_id": user.id}))


def observe_slack(
    slack: Slack | None, rot: Rotation, channel, who: Secondary, key: str, req: Request, now, notes
) -> tuple[str | None, Observed]:
    """The secondary's Slack ID, and this escalation's message if an earlier run posted it."""
    person = rot.people.get(who.handle) if who.handle else None
    slack_id = person.slack if person else None
    if slack is None:
        return slack_id, Observed()
    if not slack_id and who.email:
        slack_id = slack.lookup_user(who.email)
        if slack_id is None:
            notes.append(f"{who.email} is not in Slack: the message names {who.name}")
    thread, in_thread = paging.parse_permalink(req.link), None
    if thread and thread.channel == channel:
        try:
            replies = slack.replies(channel, thread.ts)
            found = next((m for m in replies if _ours(m, key)), None)
            return slack_id, Observed(found.ts if found else None, True)
        except SlackError as exc:
            if exc.error != "thread_not_found":
                raise
            in_thread = False
            notes.append(f"the link is no message of {channel}: the message goes to the channel")
    elif thread:
        notes.append("the link is in another Slack channel: the message goes to the support one")
    oldest = ts_of(paging.search_from(rot, now))
    # The whole shift of a busy channel may be searched: pages of 999, the fewest requests.
    found = slack.find_message(channel, paging.EVENT, oldest=oldest, limit=MAX_PAGE, dedup_key=key)
    return slack_id, Observed(found.ts if found else None, in_thread)


def _ours(msg, key: str) -> bool:
    return msg.event_type == paging.EVENT and msg.payload.get("dedup_key") == key


# --- render and apply ---------------------------------------------------------------------------


def facts(rot: Rotation, req: Request, who: Secondary, ctx: Context) -> list[tuple[str, str]]:
    until = f", until {who.end.astimezone(rot.zone):%a %d %b %H:%M %Z}" if who.end else ""
    email = f" <{who.email}>" if who.email else ""
    return [
        ("Team", f"{rot.teams[req.team].name} ({req.team})"),
        ("Secondary on call", f"{who.name}{email}, from {who.source}{until}"),
        ("Paging", ctx.how.describe(req.team, ctx.service)),
        ("Dedup key", ctx.key),
    ]


def render(r: Run, heading: str, o: Seen, changes: list[Change]) -> runner.Planned:
    notes = list(o.notes)
    if o.seen.posted:
        notes.append(
            f"already escalated: message {o.seen.posted} in {o.ctx.channel} has this dedup key; "
            "nothing to send"
        )
    rows = facts(r.rot, r.req, o.who, o.ctx)
    post = next((c.data for c in changes if isinstance(c.data, SlackPost | SlackReply)), None)
    markdown = "\n".join(
        [f"### {heading}", ""]
        + [f"- **{k}:** {escape(v)}" for k, v in rows]
        + [f"- _{escape(n)}_" for n in notes]
        + ["", plans.render_markdown(changes, r.config, "Plan")]
        + ([f"\n**The Slack message**\n\n{code_block(post.text)}"] if post else [])
    )
    lines = [heading] + [f"{k}: {v}" for k, v in rows] + [f"note: {n}" for n in notes]
    text = "\n".join(lines) + "\n\n" + plans.render_text(changes, r.config, "Plan:")
    text += f"\n\nSlack message:\n{post.text}" if post else ""
    doc = {
        "team": r.req.team,
        "secondary": asdict(o.who),
        "route": o.ctx.how.kind,
        "dedup_key": o.ctx.key,
        "already_posted": o.seen.posted,
        "notes": notes,
    }
    return runner.Planned(changes, text, markdown, json=doc)


def after_failure(change: Change) -> str:
    if isinstance(change.data, Page):
        return "nothing was posted"
    return "the page went out; run again to post (it will not page twice)"


def writer(r: Run, o: Seen, a: Adapters, changes: Sequence[Change]) -> runner.Write:
    """Page, then post; a failed page posts nothing (a re-run sends what is missing, once)."""

    def write(change: Change) -> str:
        match change.data:
            case Page("events", dedup_key, event, _) if a.events and event is not None:
                a.events.trigger(dict(event))
                return f"Paged: PagerDuty accepted the event (dedup key {dedup_key})."
            case Page("rest", _, _, incident) if a.pd and incident is not None:
                made = a.pd.create_incident_once(**incident)
                if made is None:
                    return "Already paged: PagerDuty has an open incident with this dedup key."
                return f"Paged: PagerDuty incident #{made.number} {made.html_url or made.id}."
            case SlackPost(channel, text, _, metadata) if a.slack:
                msg = a.slack.post(channel, text, None, dict(metadata))
                return f"Posted in {channel}: message {msg.ts}."
            case SlackReply(channel, text, metadata, thread) if a.slack:
                msg = a.slack.post(channel, text, None, dict(metadata), thread)
                return f"Posted in the thread of {thread}: message {msg.ts}."
            case other:
                raise TypeError(f"escalate cannot apply {type(other).__name__}")

    return write


JOB = runner.Job(
    "Escalation",
    runner.Policy.STOP,
    setup,
    connect,
    observe,
    planned,
    writer,
    tokens=tokens,
    refuse=refuse,
    after_failure=after_failure,
    unwritten="nothing was sent",
)


if __name__ == "__main__":
    sys.exit(main())
