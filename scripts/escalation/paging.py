"""Pure core of escalate: check the request, choose whom to page, build the page and the message."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from difflib import get_close_matches
from typing import Any, Protocol
from urllib.parse import parse_qs, urlsplit

from scripts.markup.slack_text import escape, link, mention
from scripts.plan import Change, Page, SlackPost, SlackReply
from scripts.rotation import schedule
from scripts.rotation.model import HERO, Rotation

EVENT = "support_hero_escalation"  # metadata event_type of the channel message
SOURCE = "support-hero"  # the event's payload.source: what sent it
CLIENT = "support-hero escalate"
# Under severity-based urgency "error" (like "critical") is high urgency; it is no outage.
SEVERITY = "error"
SUMMARY_MAX = 1024  # Events API v2: payload.summary
ROUTING_KEY = re.compile(r"^[A-Za-z0-9]{32}$")  # an Events API v2 integration key
_PERMALINK = re.compile(
    r"^https://[a-z0-9][a-z0-9.-]*\.slack\.com/archives/([CGD][A-Z0-9]+)/p(\d{10})(\d{6})/?$"
)
_TS = re.compile(r"^\d{10}\.\d{6}$")


class InputError(ValueError):
    """The request cannot be escalated as given; the message says why (never a secret)."""


# --- the request --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Request:
    team: str
    summary: str  # one line
    link: str | None = None


def check_request(rot: Rotation, team: str, summary: str, link_: str | None) -> Request:
    """The request, or InputError naming what is wrong (an unknown team lists the teams)."""
    if team not in rot.teams:
        near = get_close_matches(team, list(rot.teams), n=1)
        hint = f" (did you mean {near[0]!r}?)" if near else ""
        teams = ", ".join(sorted(rot.teams)) or f"none: {rot.file} has no teams"
        raise InputError(f"{team!r} is not a team{hint}; the teams are: {teams}")
    text = " ".join(summary.split())
    if not text:
        raise InputError("the summary is empty: say in one line what is wrong")
    link_ = (link_ or "").strip() or None
    if link_ and not re.match(r"^https?://[^\s<>|]+$", link_):
        raise InputError(f"the link must be an http(s) URL, not {link_!r}")
    return Request(team, text, link_)


@dataclass(frozen=True)
class Thread:
    """A Slack message by its channel and ts (a thread's parent)."""

    channel: str
    ts: str


def parse_permalink(url: str | None) -> Thread | None:
    """The thread a Slack permalink points into: https://<ws>.slack.com/archives/<C>/p<ts>.

    A reply's permalink carries its parent in ?thread_ts=; Slack threads are one level deep.
    """
    if not url:
        return None
    parts = urlsplit(url)
    found = _PERMALINK.match(f"{parts.scheme}://{parts.netloc.lower()}{parts.path}")
    if not found:
        return None
    parent = (parse_qs(parts.query).get("thread_ts") or [""])[0]
    return Thread(found[1], parent if _TS.match(parent) else f"{found[2]}.{found[3]}")


def routing_keys(text: str | None, rot: Rotation, team: str) -> tuple[str | None, list[str]]:
    """The team's routing key from PAGERDUTY_ROUTING_KEYS ({"team-key": "routing key"}), and
    warnings about other entries. InputError only for what stops this team; no key is quoted."""
    if not text or not text.strip():
        return None, []
    try:
        keys = json.loads(text)
    except ValueError:
        keys = None
    if not isinstance(keys, dict):
        raise InputError(
            'PAGERDUTY_ROUTING_KEYS must be a JSON object {"team-key": "routing key", ...}'
        )
    warnings = []
    strays = sorted(k for k in keys if k not in rot.teams)
    if strays:
        named = ", ".join("(a routing key?)" if ROUTING_KEY.match(k) else repr(k) for k in strays)
        warnings.append(f"PAGERDUTY_ROUTING_KEYS names what is not a team: {named}")
    key = keys.get(team)
    if key is not None and not (isinstance(key, str) and ROUTING_KEY.match(key)):
        raise InputError(
            f"PAGERDUTY_ROUTING_KEYS: the value for {team!r} is not an Events API v2 routing key "
            "(32 letters and digits, the integration key of the team's service)"
        )
    return key, warnings


# --- who ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Secondary:
    """Who is paged: a person of rotation.yaml (`handle`) or a PagerDuty user on the schedule."""

    name: str
    email: str | None
    handle: str | None = None
    pagerduty_id: str | None = None
    source: str = "rotation.yaml"  # or "PagerDuty schedule <id> (final schedule)"
    start: datetime | None = None
    end: datetime | None = None
    line: int = 0  # the rotation.yaml line that puts them on (from the engine)


class OnCallRow(Protocol):
    """What this core reads of who is on call (the PagerDuty adapter's OnCall provides it)."""

    @property
    def user_id(self) -> str: ...
    @property
    def user_name(self) -> str: ...
    @property
    def start(self) -> datetime | None: ...
    @property
    def end(self) -> datetime | None: ...


def from_pagerduty(rot: Rotation, row: OnCallRow, email: str | None, schedule_id: str) -> Secondary:
    """Who holds the schedule in PagerDuty, matched by email to a person of rotation.yaml."""
    person = next(
        (p for p in rot.people.values() if email and p.email.lower() == email.lower()), None
    )
    return Secondary(
        person.name if person else row.user_name or row.user_id,
        email or (person.email if person else None),
        person.handle if person else None,
        row.user_id,
        f"PagerDuty schedule {schedule_id} (final schedule)",
        row.start,
        row.end,
    )


def from_rotation(rot: Rotation, team: str, now: datetime) -> Secondary | None:
    """The engine's answer: who rotation.yaml puts on the team's secondary shift at `now`."""
    if rot.teams[team].secondary is None:
        return None
    shift = schedule.on_call(rot, team, now)
    if shift is None:
        return None
    p = rot.people[shift.person]
    return Secondary(
        p.name, p.email, p.handle, None, "rotation.yaml", shift.start, shift.end, shift.line
    )


def nobody(rot: Rotation, team: str, now: datetime, schedule_id: str | None = None) -> str:
    """Why nobody can be paged for a team now (and a hint when the two sources disagree)."""
    t = rot.teams[team]
    at = f"{now:%Y-%m-%d %H:%M} UTC"
    if schedule_id:
        engine = from_rotation(rot, team, now)
        hint = f" (rotation.yaml says {engine.name}: run sync_pagerduty)" if engine else ""
        return f"nobody is on call for {t.name} at {at} in PagerDuty schedule {schedule_id}{hint}"
    if t.secondary is None:
        return f"{t.name} has no secondary rotation and no pagerduty_schedule in {rot.file}"
    since = schedule.defined_from(rot, team)
    return f"nobody is on call for {t.name} at {at}: its secondary rotation starts {since}"


def hero_note(rot: Rotation, who: Secondary, now: datetime) -> str | None:
    """A note when the person paged is the Support Hero on call (hero_is_team_secondary)."""
    hero = schedule.on_call(rot, HERO, now)
    if hero and who.handle == hero.person:
        return f"{who.name} is also the Support Hero on call now: you may be paging yourself"
    return None


# --- how ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Route:
    """How the page goes: "events" (routing key), "rest" (incident by token) or None (no way)."""

    kind: str | None
    missing: tuple[str, ...] = ()  # what each way lacks, when there is none

    def describe(self, team: str, service: str | None) -> str:
        if self.kind == "events":
            return "Events API v2 (the team's routing key from PAGERDUTY_ROUTING_KEYS)"
        if self.kind == "rest":
            return f"REST incident on service {service}, assigned to the secondary"
        return f"not possible: {team} needs " + " or ".join(self.missing)


def route(team: str, routing_key: bool, token: bool, service: str | None, sender: bool) -> Route:
    """The Events API when the team has a routing key, else a REST incident if all it needs is."""
    if routing_key:
        return Route("events")
    rest = [
        name
        for name, ok in (
            ("PAGERDUTY_TOKEN", token),
            ("PAGERDUTY_FROM_EMAIL", sender),
            (f"teams.{team}.pagerduty_service", service),
        )
        if not ok
    ]
    if not rest:
        return Route("rest")
    return Route(None, ("a routing key in PAGERDUTY_ROUTING_KEYS", " + ".join(rest)))


def dedup_key(rot: Rotation, req: Request, who: Secondary, now: datetime) -> str:
    """One page per conversation, person and week: a double-click or a re-run pages once, a new
    conversation (or, without a link, a new summary) pages again, and so does the next shift."""
    week = schedule.week_of(rot, now)
    thread = parse_permalink(req.link)
    summary = " ".join(req.summary.split()).casefold()
    subject = f"slack:{thread.channel}/{thread.ts}" if thread else req.link or summary
    whom = (who.email or who.pagerduty_id or who.name).lower()
    digest = hashlib.sha256("\n".join([req.team, week.isoformat(), whom, subject]).encode())
    return f"support-hero/{req.team}/{week.isoformat()}/{digest.hexdigest()[:20]}"


# --- what is sent -------------------------------------------------------------------------------


def title(req: Request) -> str:
    text = f"Support escalation: {req.summary}"
    return text if len(text) <= SUMMARY_MAX else text[: SUMMARY_MAX - 1] + "…"


def details(rot: Rotation, req: Request, who: Secondary, requester: str | None) -> dict[str, str]:
    raw = {
        "team": rot.teams[req.team].name,
        "secondary": who.name,
        "summary": req.summary,
        "conversation": req.link,
        "escalated_by": requester,
    }
    return {k: v for k, v in raw.items() if v}


def event(
    rot: Rotation,
    req: Request,
    who: Secondary,
    key: str,
    requester: str | None = None,
    run_url: str | None = None,
) -> dict[str, Any]:
    """The Events API v2 trigger (the adapter adds the routing key)."""
    body: dict[str, Any] = {
        "dedup_key": key,
        "payload": {
            "summary": title(req),
            "source": SOURCE,
            "severity": SEVERITY,
            "component": req.team,
            "group": "support",
            "class": "escalation",
            "custom_details": details(rot, req, who, requester),
        },
        "client": CLIENT,
    }
    if run_url:
        body["client_url"] = run_url
    if req.link:
        body["links"] = [{"href": req.link, "text": "The conversation"}]
    return body


def incident(
    rot: Rotation,
    req: Request,
    who: Secondary,
    key: str,
    service: str,
    sender: str,
    requester: str | None = None,
) -> dict[str, Any]:
    """Arguments of the REST incident: assigned to the secondary, deduplicated by incident_key."""
    lines = [f"{k}: {v}" for k, v in details(rot, req, who, requester).items()]
    return {
        "title": title(req),
        "service_id": service,
        "from_email": sender,
        "assignee_ids": [who.pagerduty_id],
        "urgency": "high",
        "details": "\n".join(lines),
        "incident_key": key,
    }


def message(
    rot: Rotation,
    req: Request,
    who: Secondary,
    slack_id: str | None,
    key: str,
    how: Route,
    thread_ts: str | None = None,
    requester: str | None = None,
) -> dict[str, Any]:
    """The support channel's message naming the secondary; its metadata finds it again."""
    team = rot.teams[req.team]
    paged = "paged in PagerDuty" + (" (an incident assigned to them)" if how.kind == "rest" else "")
    lines = [
        f":rotating_light: *Escalated to {escape(team.name)}'s secondary on-call:* "
        f"{mention(slack_id, who.name)}",
        f">{escape(req.summary)}",
        " · ".join(
            x
            for x in (
                link(req.link, "the conversation") if req.link else "",
                paged,
                f"by {escape(requester)}" if requester else "",
            )
            if x
        ),
    ]
    return {
        "text": "\n".join(lines),
        "metadata": {"event_type": EVENT, "event_payload": {"dedup_key": key, "team": req.team}},
        "thread_ts": thread_ts,
    }


# --- plan ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Observed:
    """What Slack holds (None: not read, e.g. no token or no channel)."""

    posted: str | None = None  # ts of this escalation's channel message, when found
    thread: bool | None = None  # whether the link's thread is in the support channel


@dataclass(frozen=True)
class Context:
    """Everything a plan needs beside the request and the person."""

    key: str
    how: Route
    service: str | None = None
    sender: str | None = None
    channel: str | None = None  # the support channel; None: no message
    slack_id: str | None = None
    requester: str | None = None
    run_url: str | None = None


def thread_ts(req: Request, ctx: Context, seen: Observed) -> str | None:
    """Reply in the conversation's thread when it is in the support channel (and still there)."""
    thread = parse_permalink(req.link)
    if thread and thread.channel == ctx.channel and seen.thread is not False:
        return thread.ts
    return None


def plan(rot: Rotation, req: Request, who: Secondary, ctx: Context, seen: Observed) -> list[Change]:
    """Page, then post. A found message means both were done (the post follows the page)."""
    if seen.posted:
        return []
    team = rot.teams[req.team]
    event_, incident_ = None, None
    if ctx.how.kind == "events":
        event_ = event(rot, req, who, ctx.key, ctx.requester, ctx.run_url)
    elif ctx.how.kind == "rest":
        assert ctx.service and ctx.sender  # the REST route is chosen only with both
        incident_ = incident(rot, req, who, ctx.key, ctx.service, ctx.sender, ctx.requester)
    page = Page(ctx.how.kind, ctx.key, event_, incident_)
    summary = f"{who.name} ({who.source}): {title(req)}"
    how = {"events": "Events API v2", "rest": "REST API incident"}.get(ctx.how.kind or "", "no way")
    changes = [Change("page", f"PagerDuty: {team.name}", summary, how, team.line, page)]
    if ctx.channel:
        ts = thread_ts(req, ctx, seen)
        msg = message(rot, req, who, ctx.slack_id, ctx.key, ctx.how, ts, ctx.requester)
        where = f"in the thread of {ts}" if ts else "in the channel"
        post: SlackPost | SlackReply = (
            SlackReply(ctx.channel, msg["text"], msg["metadata"], ts)
            if ts
            else SlackPost(ctx.channel, msg["text"], (), msg["metadata"])
        )
        changes.append(
            Change("post", f"Slack: {ctx.channel}", f"{where}, naming {who.name}",
                   "escalation message", 0, post)
        )  # fmt: skip
    return changes


def settings_channel(settings: Mapping[str, object]) -> str | None:
    """The support channel (slack.channel), if the Slack jobs are configured."""
    slack = settings.get("slack")
    channel = slack.get("channel") if isinstance(slack, Mapping) else None
    return channel if isinstance(channel, str) else None


def search_from(rot: Rotation, now: datetime) -> datetime:
    """Where to look for an earlier message of this escalation: its key's week starts here."""
    return schedule.handoff(rot, schedule.week_of(rot, now))
