"""Slack support threads, pure: who wrote, which threads need their replies read, conversations.

What it reads of a message is `SlackMessage`; the Slack adapter's Message provides it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from scripts.markup.slack_ts import ts_time
from scripts.stale import clock
from scripts.stale.clock import BOT, CUSTOMER, US

NUDGE_EVENT = "support_hero_stale_nudge"  # message metadata of a nudge: {"key": nudge key}
OUR_EVENTS = "support_hero_"  # the prefix of every event_type this project posts
# A ✅ on the question closes a Slack thread: Slack threads have no state of their own.
CLOSED_REACTIONS = frozenset({"white_check_mark", "heavy_check_mark"})
# Messages people write; the others (joins, topic changes, ...) say nothing to anyone.
HUMAN_SUBTYPES = frozenset({None, "thread_broadcast", "file_share", "me_message"})
SKIP, DECIDED, FETCH = "skip", "decided", "fetch"
SLACKBOT = "USLACKBOT"  # Slack's own bot (reminders): its messages carry no bot_id


class SlackMessage(Protocol):
    """What this core reads of a Slack message (conversations.history or .replies)."""

    @property
    def ts(self) -> str: ...
    @property
    def user(self) -> str | None: ...
    @property
    def bot_id(self) -> str | None: ...
    @property
    def subtype(self) -> str | None: ...
    @property
    def thread_ts(self) -> str | None: ...
    @property
    def reply_count(self) -> int: ...
    @property
    def reply_users(self) -> Sequence[str]: ...
    @property
    def reply_users_count(self) -> int: ...
    @property
    def latest_reply(self) -> str | None: ...
    @property
    def event_type(self) -> str | None: ...
    @property
    def payload(self) -> Mapping[str, Any]: ...
    @property
    def reactions(self) -> Sequence[str]: ...


def permalink(workspace_url: str, channel: str, ts: str) -> str:
    """The link Slack's "copy link" gives, built without a chat.getPermalink per message."""
    return f"{workspace_url.rstrip('/')}/archives/{channel}/p{ts.replace('.', '')}"


# --- who wrote --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Profile:
    """What users.info says about someone."""

    id: str
    name: str | None = None
    email: str | None = None
    is_bot: bool = False


def profile(raw: Mapping[str, Any]) -> Profile:
    p = raw.get("profile") or {}
    name = p.get("real_name") or raw.get("real_name") or p.get("display_name") or raw.get("name")
    is_bot = bool(raw.get("is_bot")) or raw.get("id") == SLACKBOT
    return Profile(raw["id"], name or None, (p.get("email") or "").lower() or None, is_bot)


@dataclass(frozen=True)
class People:
    """Who each Slack user is: us (rotation.yaml, by Slack ID or by email), a bot, or else a
    customer (anyone else who writes in the support channel)."""

    team: frozenset[str] = frozenset()  # user IDs
    bots: frozenset[str] = frozenset()
    profiles: Mapping[str, Profile] = field(default_factory=dict)

    def who(self, user_id: str | None) -> str:
        if not user_id or user_id in self.bots or is_bot_id(user_id):
            return BOT
        return US if user_id in self.team else CUSTOMER


def is_bot_id(user_id: str) -> bool:
    """A bot's ID (B...), as reply_users may hold: no user, so users.info cannot look it up."""
    return user_id.startswith("B")


def people(team: clock.Team, bots: Iterable[str], profiles: Iterable[Profile]) -> People:
    """Team members are those with a rotation.yaml Slack ID or a profile with their email."""
    by_id = {p.id: p for p in profiles}
    ours = {p.id for p in by_id.values() if team.has_email(p.email) and not p.is_bot}
    team_ids = frozenset(i.upper() for i in team.slack_ids) | ours
    bot_ids = frozenset(bots) | {p.id for p in by_id.values() if p.is_bot}
    return People(team_ids, bot_ids, by_id)


def author(msg: SlackMessage, who: People) -> str:
    """A bot message (bot_id, or subtype bot_message) is a bot's whoever it names."""
    if msg.bot_id or msg.subtype == "bot_message":
        return BOT
    return who.who(msg.user)


def to_identify(parents: Iterable[SlackMessage], known: Iterable[str]) -> list[str]:
    """User IDs to look up (users.info), newest first: the authors and repliers of the threads
    that may be conversations, but for those already known (team IDs, bots)."""
    seen, found = set(known), dict[str, None]()
    for msg in parents:
        if not is_thread_start(msg) or closed(msg):
            continue
        by_bot = msg.bot_id or msg.subtype == "bot_message"
        for user in ([] if by_bot else [msg.user]) + list(msg.reply_users):
            if user and user not in seen and not is_bot_id(user):
                found.setdefault(user, None)
    return list(found)


# --- what the parent message says about its thread --------------------------------------------


def is_thread_start(msg: SlackMessage) -> bool:
    """A top-level message a conversation can hang on: not ours (digest, handoff), not a join,
    and not a thread reply sent also to the channel (thread_broadcast: its thread_ts is its
    parent's), which history lists beside the top-level messages."""
    if (msg.event_type or "").startswith(OUR_EVENTS):
        return False
    if msg.thread_ts and msg.thread_ts != msg.ts:
        return False
    return msg.subtype in HUMAN_SUBTYPES or msg.subtype == "bot_message"


def closed(msg: SlackMessage) -> bool:
    return bool(CLOSED_REACTIONS & set(msg.reactions))


@dataclass(frozen=True)
class Head:
    """What a parent message and its reply_count, reply_users and latest_reply tell."""

    verdict: str  # SKIP (no conversation), DECIDED (messages below), FETCH (read the replies)
    why: str
    messages: tuple[clock.Message, ...] = ()


def read_head(parent: SlackMessage, who: People) -> Head:
    """Decide from the parent alone where its fields settle the answer (see docs/flag_stale.md).

    A question nobody from the team has replied to waits since it was asked; one we replied to
    where no customer wrote again is answered (our last reply: latest_reply at the latest).
    Only a thread where both a customer and we wrote after the question needs its replies, to
    see who came last; so does a thread that someone else started and a customer joined.
    """
    if not is_thread_start(parent):
        return Head(SKIP, "not a conversation")
    if closed(parent):
        return Head(SKIP, "closed with a ✅")
    first = author(parent, who)
    asked = clock.Message(first, ts_time(parent.ts))
    if parent.reply_count == 0:
        return Head(DECIDED, "no replies", (asked,)) if first == CUSTOMER else Head(SKIP, "ours")
    if parent.reply_users_count > len(parent.reply_users):
        return Head(FETCH, "reply_users lists only some of the repliers")
    repliers = {who.who(u) for u in parent.reply_users}
    if first == CUSTOMER:
        if US not in repliers:
            return Head(DECIDED, "no reply from us", (asked,))
        if CUSTOMER not in repliers:
            last = clock.Message(US, ts_time(parent.latest_reply or parent.ts))
            return Head(DECIDED, "we replied, the customer did not write again", (asked, last))
        return Head(FETCH, "the customer and we both replied: who came last?")
    if CUSTOMER not in repliers:
        return Head(SKIP, "no customer in the thread")
    return Head(FETCH, "a customer joined a thread someone else started")


# --- threads as conversations -----------------------------------------------------------------


def thread_messages(thread: Iterable[SlackMessage], who: People) -> tuple[clock.Message, ...]:
    """A thread read with conversations.replies (parent first) as the clock's messages."""
    return tuple(
        clock.Message(author(m, who), ts_time(m.ts))
        for m in thread
        if m.subtype in HUMAN_SUBTYPES or m.bot_id or m.subtype == "bot_message"
    )


def first_customer(thread: Iterable[SlackMessage], who: People) -> str | None:
    return next((m.user for m in thread if author(m, who) == CUSTOMER), None)


def nudge_keys(thread: Iterable[SlackMessage], bot_user: str) -> frozenset[str]:
    """The nudges our bot posted in a thread, by the key in their metadata."""
    return frozenset(
        str(m.payload.get("key"))
        for m in thread
        if m.event_type == NUDGE_EVENT and m.user == bot_user and m.payload.get("key")
    )


TierOf = Callable[[str | None], str | None]


def conversation(
    channel: str,
    workspace_url: str,
    ts: str,
    messages: tuple[clock.Message, ...],
    customer_id: str | None,
    who: People,
    tier_of: TierOf,
) -> clock.Conversation | None:
    """A thread in which a customer wrote, as a conversation; None for any other thread."""
    if customer_id is None or not any(m.author == CUSTOMER for m in messages):
        return None
    p = who.profiles.get(customer_id)
    email = p.email if p else None
    return clock.Conversation(
        source="slack",
        id=ts,
        customer_name=p.name if p else None,
        customer_email=email,
        customer_handle=customer_id,
        tier=tier_of(email),
        url=permalink(workspace_url, channel, ts),
        messages=messages,
    )
