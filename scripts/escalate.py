"""Page a team's secondary on-call in PagerDuty and say so in the support channel."""

from __future__ import annotations

import os
import sys
from dataclasses import asdict, dataclass

from scripts import cli
from scripts import plan as plans
from scripts.clients.pagerduty import PagerDuty, PagerDutyError, PagerDutyEvents
from scripts.clients.slack import MAX_PAGE, Slack, SlackError
from scripts.escalation import paging
from scripts.escalation.paging import Context, Observed, Request, Secondary
from scripts.markup.github_text import code_block, escape
from scripts.markup.slack_ts import ts_of
from scripts.plan import Change
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
    return cli.guard(parser(), argv, run)


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


def run(args) -> int:
    rot, _ = cli.load(args.config)
    now = cli.now_or(args)
    req = _checked(lambda: paging.check_request(rot, args.team, args.summary, args.link))
    setup, notes = read_setup(rot, args, req.team)
    how = paging.route(
        req.team, bool(setup.routing_key), bool(setup.token), setup.service, bool(setup.sender)
    )
    if args.apply and how.kind is None:
        raise cli.UsageError(f"cannot page: {how.describe(req.team, None)}; nothing was sent")
    if args.apply and setup.channel:
        cli.token(SLACK_TOKEN, needed=True)  # exits 2 naming it: all or nothing is sent
    pd = _pagerduty(setup.token)
    try:
        who = find_secondary(pd, rot, req.team, now, notes)
        if how.kind == "rest" and not who.pagerduty_id:
            who = with_pagerduty_id(pd, rot, who)
    except PagerDutyError as exc:
        print(f"error: {exc}; nothing was sent", file=sys.stderr)
        return cli.EXIT_APPLY_FAILED
    key = paging.dedup_key(rot, req, who, now)
    slack = Slack(setup.slack_token) if setup.slack_token and setup.channel else None
    try:
        slack_id, seen = observe_slack(slack, rot, setup.channel, who, key, req, now, notes)
    except SlackError as exc:  # reading failed: nothing was sent
        print(f"error: {exc}; nothing was sent", file=sys.stderr)
        return cli.failed(exc)
    if note := paging.hero_note(rot, who, now):
        notes.append(note)
    requester, run_url = _actions_run()
    ctx = Context(
        key, how, setup.service, setup.sender, setup.channel, slack_id, requester, run_url
    )
    changes = paging.plan(rot, req, who, ctx, seen)
    render(args, rot, req, who, ctx, seen, changes, notes)
    if not args.apply or not changes:
        return cli.EXIT_OK
    return apply(changes, setup, pd, slack, args.format)


def _checked(fn):
    try:
        return fn()
    except paging.InputError as exc:
        raise cli.UsageError(f"{exc}; nothing was sent") from None


# --- load ---------------------------------------------------------------------------------------


def read_setup(rot: Rotation, args, team: str) -> tuple[Setup, list[str]]:
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


def render(args, rot, req, who, ctx: Context, seen: Observed, changes, notes) -> None:
    if seen.posted:
        notes.append(
            f"already escalated: message {seen.posted} in {ctx.channel} has this dedup key; "
            "nothing to send"
        )
    title = "Escalation" + ("" if args.apply else " (dry run)")
    rows = facts(rot, req, who, ctx)
    post = next((c for c in changes if c.action == "post"), None)
    markdown = "\n".join(
        [f"### {title}", ""]
        + [f"- **{k}:** {escape(v)}" for k, v in rows]
        + [f"- _{escape(n)}_" for n in notes]
        + ["", plans.render_markdown(changes, args.config, "Plan")]
        + ([f"\n**The Slack message**\n\n{code_block(post.data['text'])}"] if post else [])
    )
    cli.write_summary(markdown)
    if args.format == "json":
        print(
            plans.render_json(
                changes,
                team=req.team,
                secondary=asdict(who),
                route=ctx.how.kind,
                dedup_key=ctx.key,
                already_posted=seen.posted,
                notes=notes,
            )
        )
    elif args.format == "markdown":
        print(markdown)
    else:
        lines = [title] + [f"{k}: {v}" for k, v in rows] + [f"note: {n}" for n in notes]
        print("\n".join(lines) + "\n\n" + plans.render_text(changes, args.config, "Plan:"))
        if post:
            print("\nSlack message:\n" + post.data["text"])


def apply(changes: list[Change], setup: Setup, pd, slack, fmt: str) -> int:
    """Page, then post; a failed page posts nothing (a re-run sends what is missing, once)."""
    for change in changes:
        try:
            done = page(change, setup, pd) if change.action == "page" else post(change, slack)
        except (PagerDutyError, SlackError) as exc:
            after = (
                "nothing was posted"
                if change.action == "page"
                else "the page went out; run again to post (it will not page twice)"
            )
            print(f"error: {change.action} {change.target}: {exc}; {after}", file=sys.stderr)
            return cli.EXIT_APPLY_FAILED
        cli.write_summary(escape(done))
        print(done, file=sys.stderr if fmt == "json" else sys.stdout)
    return cli.EXIT_OK


def page(change: Change, setup: Setup, pd: PagerDuty | None) -> str:
    if change.data["route"] == "events":
        PagerDutyEvents(setup.routing_key).trigger(change.data["event"])
        return f"Paged: PagerDuty accepted the event (dedup key {change.data['dedup_key']})."
    made = pd.create_incident_once(**change.data["incident"])
    if made is None:
        return "Already paged: PagerDuty has an open incident with this dedup key."
    return f"Paged: PagerDuty incident #{made.number} {made.html_url or made.id}."


def post(change: Change, slack: Slack) -> str:
    d = change.data
    msg = slack.post(d["channel"], d["text"], None, d["metadata"], d["thread_ts"])
    where = f"the thread of {d['thread_ts']}" if d["thread_ts"] else d["channel"]
    return f"Posted in {where}: message {msg.ts}."


if __name__ == "__main__":
    sys.exit(main())
