"""The weekly handoff, pure: message blocks and fallback text, reminders due, user groups, topic."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from scripts.markup import slack_blocks as blocks_
from scripts.markup.slack_text import escape, link, mention, plain
from scripts.plan import (
    Change,
    ChannelTopic,
    SlackPost,
    SlackUpdate,
    UserGroupCreate,
    UserGroupUsers,
)
from scripts.rotation.model import HERO, Rotation
from scripts.rotation.schedule import Shift, handoff, on_call, schedule_shifts, swap_spans, week_of

Block = dict[str, Any]  # a Block Kit block, as JSON
EVENT_HANDOFF = "support_hero_handoff"  # metadata event_type of the handoff message
EVENT_REMINDER = "support_hero_reminder"  # metadata event_type of a reminder DM
OPEN_BLOCK_ID = "open-conversations"  # the block the stale-conversation job fills in
DEFAULT_TOPIC = "Support Hero on call: {hero}"
PRIORITIES = "*Priorities:* Focus, then Subscriber, then Community"
GUIDELINE = "*First response:* under 15 minutes great, under an hour okay, over a day too late"
WEEK = timedelta(days=7)
# Of Slack's 50 blocks a message: the fixed blocks take at most 10, the lists share the rest.
SECONDARY_BLOCKS = 25  # 75,000 characters: over 500 teams
SWAP_BLOCKS = 15


# --- settings ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Settings:
    """The `slack` section of rotation.yaml as the handoff needs it, with the lines of its keys."""

    channel: str
    hero_group: str | None = None
    team_groups: Mapping[str, str] = field(default_factory=dict)  # team key -> group handle
    topic: str | None = DEFAULT_TOPIC  # a template naming {hero}; None: leave the topic alone
    reminders: bool = True
    rotation_url: str | None = None
    pagerduty_url: str | None = None  # the account's web address, e.g. https://acme.pagerduty.com
    request_url: str | None = None  # where to ask for a swap or time off (request.yml)
    lines: Mapping[str, int] = field(default_factory=dict)  # slack key -> rotation.yaml line


def settings(
    rot: Rotation, lines: Mapping[str, int] | None = None, request_url: str | None = None
) -> Settings:
    """Settings from rot.settings (`slack` and `links`); the schema has checked their shapes.
    `links.request` names where to ask for a swap, else `request_url` (the workflow's page)."""
    slack = dict(rot.section("slack"))
    links = dict(rot.section("links"))
    topic = slack.get("topic", True)
    return Settings(
        channel=slack.get("channel", ""),
        hero_group=slack.get("hero_group"),
        team_groups=dict(slack.get("team_groups") or {}),
        topic=DEFAULT_TOPIC if topic is True else (topic or None),
        reminders=slack.get("reminders", True),
        rotation_url=links.get("rotation"),
        pagerduty_url=links.get("pagerduty"),
        request_url=links.get("request") or request_url,
        lines=dict(lines or {}),
    )


# --- the week ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Duty:
    """Who holds one schedule over the week: `main` most of it, `shifts` every span."""

    schedule: str
    title: str
    main: str
    shifts: tuple[Shift, ...]

    @property
    def others(self) -> tuple[Shift, ...]:
        return tuple(s for s in self.shifts if s.person != self.main)


@dataclass(frozen=True)
class SwapNote:
    """Half of a swap that falls in the week: `cover` is on instead of `on`."""

    schedule: str
    start: datetime
    end: datetime
    on: str
    cover: str
    reason: str
    line: int
    whole_week: bool


@dataclass(frozen=True)
class Week:
    """One hero shift, handoff to handoff, and what the message says about it."""

    start: datetime
    end: datetime
    hero: Duty
    secondaries: tuple[Duty, ...]
    swaps: tuple[SwapNote, ...]
    next_hero: Duty | None

    @property
    def shift_start(self) -> str:
        """The shift's identity in message metadata: its start, ISO 8601 UTC."""
        return self.start.isoformat()


def duty(rot: Rotation, schedule: str, start: datetime, end: datetime) -> Duty | None:
    shifts = tuple(schedule_shifts(rot, schedule, start, end))
    if not shifts:
        return None
    held: dict[str, timedelta] = {}  # in order of first appearance: max() keeps the first tie
    for s in shifts:
        held[s.person] = held.get(s.person, timedelta()) + (s.end - s.start)
    main = max(held, key=held.__getitem__)
    return Duty(schedule, rot.schedule_name(schedule), main, shifts)


def swap_notes(rot: Rotation, start: datetime, end: datetime) -> tuple[SwapNote, ...]:
    notes = []
    for swap in rot.swaps:
        for s, e, on, cover in swap_spans(rot, swap):
            if s < end and e > start:
                whole = (s, e) == (start, end)
                notes.append(
                    SwapNote(swap.schedule, s, e, on, cover, swap.reason, swap.line, whole)
                )
    return tuple(sorted(notes, key=lambda n: (n.start, n.schedule)))


def week(rot: Rotation, now: datetime) -> Week | None:
    """The hero shift holding `now`, or None before the hero rotation starts."""
    first_day = week_of(rot, now)
    start, end = handoff(rot, first_day), handoff(rot, first_day + WEEK)
    hero = duty(rot, HERO, start, end)
    if hero is None:
        return None
    teams = (duty(rot, key, start, end) for key in rot.schedules() if key != HERO)
    next_hero = duty(rot, HERO, end, handoff(rot, first_day + 2 * WEEK))
    return Week(
        start, end, hero, tuple(d for d in teams if d), swap_notes(rot, start, end), next_hero
    )


def people_to_mention(wk: Week) -> list[str]:
    """Every handle the message, the user groups and the reminders name, in first-mention order."""
    handles = [s.person for d in (wk.hero, *wk.secondaries) for s in d.shifts]
    handles += [h for n in wk.swaps for h in (n.on, n.cover)]
    if wk.next_hero:
        handles += [s.person for s in wk.next_hero.shifts]
    return list(dict.fromkeys(handles))


# --- times ------------------------------------------------------------------------------------


def zone_of(rot: Rotation, handle: str) -> ZoneInfo:
    return ZoneInfo(rot.people[handle].timezone or rot.timezone)


def when(instant: datetime, zone: ZoneInfo) -> str:
    """'Mon 14 Dec 09:00 GMT' in `zone`."""
    t = instant.astimezone(zone)
    return f"{t:%a} {t.day} {t:%b %H:%M} {t.tzname()}"


def day(instant: datetime, zone: ZoneInfo) -> str:
    """'Mon 14 Dec 2026' in `zone`."""
    t = instant.astimezone(zone)
    return f"{t:%a} {t.day} {t:%b %Y}"


def local_time(rot: Rotation, handle: str, instant: datetime) -> str:
    """A person's own wall clock at `instant`: '04:00 EST their time (America/New_York)'."""
    zone = zone_of(rot, handle)
    t = instant.astimezone(zone)
    other_day = "" if t.date() == instant.astimezone(rot.zone).date() else f"{t:%a} "
    return f"{other_day}{t:%H:%M} {t.tzname()} their time ({zone.key})"


def dst_note(rot: Rotation, wk: Week) -> str | None:
    """Said when the clocks change during the shift: its length and that handoff stays put."""
    before, after = wk.start.astimezone(rot.zone), wk.end.astimezone(rot.zone)
    if before.utcoffset() == after.utcoffset():
        return None
    hours = int((wk.end - wk.start).total_seconds() // 3600)
    return (
        f":clock3: Clocks change this week in {rot.timezone} ({before.tzname()} → "
        f"{after.tzname()}): this shift is {hours} hours; the next handoff is still at "
        f"{rot.handoff_time:%H:%M} local, {when(wk.end, rot.zone)}."
    )


# --- the message ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Message:
    """A Slack message: fallback text, Block Kit blocks, and the metadata that finds it again."""

    text: str
    blocks: tuple[Block, ...]
    metadata: dict[str, Any]

    @property
    def digest(self) -> str:
        return digest(self.blocks)


def digest(blocks: Sequence[Block]) -> str:
    """What the handoff wrote, as a short hash: its blocks (the fallback text follows from them)
    but the open-conversations block, which is the stale-conversation job's to fill in."""
    ours = [b for b in blocks if b.get("block_id") != OPEN_BLOCK_ID]
    raw = json.dumps(ours, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(raw.encode()).hexdigest()[:16]


def section(block_id: str, text: str) -> Block:
    return blocks_.section(text, block_id)


def context(block_id: str, *texts: str) -> Block:
    return blocks_.context(*texts, block_id=block_id)


def open_block(counts: Mapping[str, int] | None = None, oldest: str | None = None) -> Block:
    """Open conversations by tier and the oldest one waiting (mrkdwn, escaped by the caller,
    e.g. a link to it); a placeholder until counted.

    The stale-conversation job replaces this block (by block_id) in the handoff message; a
    re-run of the handoff keeps whatever that job wrote there.
    """
    if counts is None:
        text = (
            "_Open conversations by tier and the oldest one waiting appear here once the "
            "stale-conversation job has counted them._"
        )
    else:
        tiers = ", ".join(f"{escape(t)} {n}" for t, n in counts.items()) or "none"
        text = f"*Open conversations:* {tiers}" + (f" · oldest waiting: {oldest}" if oldest else "")
    return section(OPEN_BLOCK_ID, text)


def with_open_block(blocks: Sequence[Block], block: Block) -> list[Block]:
    """A posted handoff's blocks with the open-conversations block replaced (flag_stale's edit)."""
    return [block if b.get("block_id") == OPEN_BLOCK_ID else b for b in blocks]


class Namer:
    """Mentions people by Slack ID where known, by escaped name otherwise."""

    def __init__(self, rot: Rotation, ids: Mapping[str, str]):
        self.rot, self.ids = rot, ids

    def __call__(self, handle: str) -> str:
        return mention(self.ids.get(handle), self.rot.people[handle].name)


def duty_line(rot: Rotation, d: Duty, who: Namer, zone: ZoneInfo) -> str:
    """'<@U1> · from 04:00 EST their time (America/New_York)', plus who holds the other spans."""
    first = next(s for s in d.shifts if s.person == d.main)
    line = f"{who(d.main)} · from {local_time(rot, d.main, first.start)}"
    for s in d.others:
        line += f"; {when(s.start, zone)} → {when(s.end, zone)}: {who(s.person)}"
    return line


def swap_line(rot: Rotation, n: SwapNote, who: Namer, zone: ZoneInfo) -> str:
    span = "all week" if n.whole_week else f"{when(n.start, zone)} → {when(n.end, zone)}"
    role = rot.schedule_name(n.schedule)
    role = role if n.schedule == HERO else f"{escape(role)} secondary"
    reason = f" ({escape(n.reason)})" if n.reason else ""
    return f"• {span}: {who(n.cover)} covers {who(n.on)} as {role}{reason}"


def message(
    rot: Rotation,
    cfg: Settings,
    wk: Week,
    ids: Mapping[str, str],
    keep: Block | None = None,
    sentry: Block | None = None,
) -> Message:
    """The handoff message for a week; `keep` is the open-conversations block already posted,
    `sentry` the Sentry line (scripts/stale/sentry_errors.py), if any."""
    who, zone = Namer(rot, ids), rot.zone
    title = f"Support Hero handoff · week of {day(wk.start, zone)}"
    blocks = [
        blocks_.header(title, "title"),
        context("shift", f"{when(wk.start, zone)} → {when(wk.end, zone)} ({rot.timezone})"),
        section("hero", f":superhero: *Support Hero:* {duty_line(rot, wk.hero, who, zone)}"),
    ]
    if wk.secondaries:
        rows = [f"• *{escape(d.title)}:* {duty_line(rot, d, who, zone)}" for d in wk.secondaries]
        blocks += blocks_.sections("secondaries", "*Secondary on-call*", rows, SECONDARY_BLOCKS)
    if wk.swaps:
        rows = [swap_line(rot, n, who, zone) for n in wk.swaps]
        blocks += blocks_.sections("swaps", "*Swaps this week*", rows, SWAP_BLOCKS)
    if note := dst_note(rot, wk):
        blocks.append(context("dst", note))
    blocks.append(keep or open_block())
    if sentry:
        blocks.append(sentry)
    if wk.next_hero:
        nxt = wk.next_hero
        blocks.append(
            section(
                "next",
                f":eyes: *Next week:* {who(nxt.main)} takes over, "
                f"{local_time(rot, nxt.main, nxt.shifts[0].start)}",
            )
        )
    blocks.append(context("guide", PRIORITIES, GUIDELINE))
    blocks.append(context("links", links_line(rot, cfg)))
    text = blocks_.clip(fallback_text(blocks), blocks_.TEXT_CHARS)
    payload: dict[str, Any] = {"shift_start": wk.shift_start}
    meta = {"event_type": EVENT_HANDOFF, "event_payload": payload}
    msg = Message(text, tuple(blocks), meta)
    payload["digest"] = msg.digest
    return msg


def links_line(rot: Rotation, cfg: Settings) -> str:
    parts = [link(cfg.rotation_url, "rotation.yaml")]
    if schedule := rot.hero.pagerduty_schedule:
        base = (cfg.pagerduty_url or "").rstrip("/")
        url = f"{base}/schedules/{schedule}" if base else None
        parts.append(link(url, f"PagerDuty schedule {schedule}"))
    if cfg.request_url:
        parts.append(link(cfg.request_url, "ask for a swap or time off"))
    return " · ".join(parts)


def fallback_text(blocks: Sequence[Block]) -> str:
    """The plain-text fallback (notifications, screen readers): every block's text, in order."""
    lines = []
    for b in blocks:
        if "text" in b:
            lines.append(b["text"]["text"])
        lines += [e["text"] for e in b.get("elements", [])]
    return "\n".join(lines)


# --- reminders --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reminder:
    """A DM to the next hero: `kind` "7d" or "1d" before their shift starting at `start`."""

    person: str
    kind: str
    start: datetime
    opens: datetime  # when it became due; its DM is looked for from here on

    @property
    def key(self) -> tuple[str, str]:
        return (self.start.isoformat(), self.kind)


def reminder_due(rot: Rotation, wk: Week, now: datetime) -> Reminder | None:
    """The reminder due now for next week's hero (7 days ahead, then 1 day ahead), if any."""
    nxt = wk.next_hero
    if nxt is None or nxt.main == wk.hero.main:
        return None  # nobody new takes over
    first_day = week_of(rot, wk.end)
    kind, opens = "7d", handoff(rot, first_day - WEEK)  # wall-clock days: DST-proof
    if now >= handoff(rot, first_day - timedelta(days=1)):
        kind, opens = "1d", handoff(rot, first_day - timedelta(days=1))
    return Reminder(nxt.main, kind, wk.end, opens)


def reminder_message(rot: Rotation, cfg: Settings, r: Reminder) -> Message:
    zone = zone_of(rot, r.person)
    t = r.start.astimezone(zone)
    soon = "in 7 days" if r.kind == "7d" else "tomorrow"
    text = (
        f":wave: Heads-up: your Support Hero week starts {soon}, {t:%a} {t.day} {t:%b} at "
        f"{t:%H:%M} {t.tzname()} your time. Need a swap? Edit "
        f"{link(cfg.rotation_url, 'rotation.yaml')} in a pull request.\n{PRIORITIES} · {GUIDELINE}"
    )
    meta = {
        "event_type": EVENT_REMINDER,
        "event_payload": {"shift_start": r.start.isoformat(), "kind": r.kind},
    }
    return Message(text, (section("reminder", text),), meta)


# --- desired Slack state ----------------------------------------------------------------------


def current(rot: Rotation, schedule: str, now: datetime) -> str | None:
    """Who is on a schedule at `now` (after swaps and hero-as-secondary)."""
    shift = on_call(rot, schedule, now)
    return shift.person if shift else None


def desired_groups(rot: Rotation, cfg: Settings, now: datetime) -> dict[str, tuple[str, str]]:
    """User group handle -> (schedule, the one person who should be its only member)."""
    wanted = {}
    if cfg.hero_group and (hero := current(rot, HERO, now)):
        wanted[cfg.hero_group] = (HERO, hero)
    for team, handle in sorted(cfg.team_groups.items()):
        if person := current(rot, team, now):
            wanted[handle] = (team, person)
    return wanted


def desired_topic(rot: Rotation, cfg: Settings, now: datetime) -> str | None:
    """The topic naming the hero on call; Slack renders no markup in topics, so: the name."""
    hero = current(rot, HERO, now)
    if cfg.topic is None or hero is None:
        return None
    return cfg.topic.replace("{hero}", plain(rot.people[hero].name))[:250]


# --- plan -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Group:
    """A Slack user group as observed."""

    id: str
    handle: str
    users: tuple[str, ...]
    disabled: bool = False  # an admin disabled it: it keeps its handle, so it is enabled again


@dataclass(frozen=True)
class Posted:
    """This shift's handoff message as found in the channel."""

    ts: str
    digest: str  # from its metadata
    open_block: Block | None = None  # what the stale-conversation job wrote there, kept
    sentry_block: Block | None = None  # the Sentry line as posted, kept while Sentry is not read


@dataclass(frozen=True)
class Observed:
    """What Slack holds now, as far as the handoff cares (None: not read, e.g. no token)."""

    posted: Posted | None = None  # this shift's handoff message
    groups: Mapping[str, Group] | None = None  # by handle
    topic: str | None = None
    reminders_sent: frozenset[tuple[str, str]] | None = None  # (shift_start, kind)
    dm: str | None = None  # the reminder's direct-message channel
    sentry: Block | None = None  # the Sentry line to show (stale/sentry_errors.py); None: none


def plan(
    rot: Rotation, cfg: Settings, now: datetime, ids: Mapping[str, str], seen: Observed
) -> list[Change]:
    """Every write that makes Slack match the rotation at `now`."""
    wk = week(rot, now)
    if wk is None:
        return []
    changes = plan_message(rot, cfg, wk, ids, seen)
    changes += plan_groups(rot, cfg, now, ids, seen)
    changes += plan_topic(rot, cfg, now, seen)
    changes += plan_reminder(rot, cfg, wk, now, ids, seen)
    return changes


def plan_message(
    rot: Rotation, cfg: Settings, wk: Week, ids: Mapping[str, str], seen: Observed
) -> list[Change]:
    posted = seen.posted
    msg = message(rot, cfg, wk, ids, posted.open_block if posted else None, seen.sentry)
    what, line = f"handoff for the week of {day(wk.start, rot.zone)}", rot.hero.cycle.line
    if posted is None:
        post = SlackPost(cfg.channel, msg.text, list(msg.blocks), msg.metadata)
        return [Change("post", f"#{cfg.channel}", what, "new shift", line, post)]
    if posted.digest == msg.digest:
        return []
    edit = SlackUpdate(cfg.channel, posted.ts, msg.text, list(msg.blocks), msg.metadata)
    return [Change("update", f"#{cfg.channel}", what, "content changed", line, edit)]


def plan_groups(
    rot: Rotation, cfg: Settings, now: datetime, ids: Mapping[str, str], seen: Observed
) -> list[Change]:
    changes: list[Change] = []
    for handle, (schedule, person) in desired_groups(rot, cfg, now).items():
        group = None if seen.groups is None else seen.groups.get(handle)
        changes += group_change(rot, cfg, handle, schedule, person, ids, seen, group)
    return changes


def group_change(
    rot: Rotation,
    cfg: Settings,
    handle: str,
    schedule: str,
    person: str,
    ids: Mapping[str, str],
    seen: Observed,
    group: Group | None,
) -> list[Change]:
    """Make a user group hold exactly `person`: set (not read), create, update, or nothing."""
    if person not in ids and seen.groups is not None:
        return []  # Slack does not know them (reported); a group cannot be emptied either
    want = [ids[person]] if person in ids else []
    line = cfg.lines.get("hero_group" if schedule == HERO else "team_groups", 0)
    reason = f"{group_name(rot, schedule)} now"
    summary = f"only member: {person}"
    if seen.groups is None:  # not read: show the desired state only
        return [Change("set", f"@{handle}", summary, reason, line)]
    if group is None:
        name = group_name(rot, schedule)
        data = UserGroupCreate(handle, name, f"{name}, kept by support-hero", want)
        return [Change("create", f"@{handle}", summary, reason, line, data)]
    if set(group.users) == set(want) and not group.disabled:
        return []
    names = {v: k for k, v in ids.items()}
    was = ", ".join(names.get(u, u) for u in group.users) or "nobody"
    members = UserGroupUsers(group.id, want, enable=group.disabled)
    if group.disabled:
        return [Change("enable", f"@{handle}", f"{summary} (disabled; was: {was})", reason, line,
                       members)]  # fmt: skip
    return [Change("update", f"@{handle}", f"{summary} (was: {was})", reason, line, members)]


def group_name(rot: Rotation, schedule: str) -> str:
    return "Support Hero" if schedule == HERO else f"{rot.teams[schedule].name} secondary on-call"


def plan_topic(rot: Rotation, cfg: Settings, now: datetime, seen: Observed) -> list[Change]:
    topic = desired_topic(rot, cfg, now)
    if topic is None or topic == seen.topic:
        return []
    data = ChannelTopic(cfg.channel, topic)
    return [Change("topic", f"#{cfg.channel}", topic, "hero", cfg.lines.get("topic", 0), data)]


def plan_reminder(
    rot: Rotation,
    cfg: Settings,
    wk: Week,
    now: datetime,
    ids: Mapping[str, str],
    seen: Observed,
) -> list[Change]:
    r = reminder_due(rot, wk, now) if cfg.reminders else None
    if r is None or (seen.reminders_sent is not None and r.key in seen.reminders_sent):
        return []
    if seen.reminders_sent is not None and seen.dm is None and r.person not in ids:
        return []  # Slack was read and has no account to send it to (reported)
    msg = reminder_message(rot, cfg, r)
    data = SlackPost(seen.dm or ids.get(r.person) or "", msg.text, list(msg.blocks), msg.metadata)
    summary = f"{r.person}: hero week starts {when(r.start, zone_of(rot, r.person))}"
    return [
        Change("remind", f"DM {r.person}", summary, f"reminder {r.kind}", rot.hero.cycle.line, data)
    ]
