"""Pure clock of support conversations: who waits on us, how late, follow-ups, closing, nudges."""

from __future__ import annotations

import math
import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, time, timedelta
from typing import Any

from scripts.rotation.model import HERO, WEEKDAYS, Rotation
from scripts.rotation.schedule import on_call
from scripts.stale import business_time
from scripts.stale.business_time import WorkingHours
from scripts.tiers.names import TIERS

YamlPath = tuple[str | int, ...]  # a place in rotation.yaml: ("stale", "thresholds", "focus")
LEVELS = ("great", "ok", "late", "very_late")  # how long a customer has waited, in order
NUDGE_LEVELS = ("late", "very_late")  # the thresholds worth a nudge
CUSTOMER, US, BOT = "customer", "us", "bot"
_DURATION = re.compile(r"^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?$")

# The handbook: under 15 minutes great, over an hour late, over a day far too late (Subscribers);
# Focus customers are promised faster answers, the Community slower ones.
DEFAULT_THRESHOLDS = {
    "focus": {"great": "15m", "late": "30m", "very_late": "4h"},
    "subscriber": {"great": "15m", "late": "1h", "very_late": "1d"},
    "community": {"great": "1h", "late": "1d", "very_late": "3d"},
}
DEFAULT_WORKING_HOURS = {
    "enabled": False,
    "days": list(WEEKDAYS[:5]),
    "start": "09:00",
    "end": "17:30",
}
DEFAULT_CLOSE_AFTER_DAYS = 7


# --- the model every source maps to ---------------------------------------------------------


@dataclass(frozen=True)
class Message:
    """One message: by the customer, by us (a team member), or by a bot; `at` is when first sent."""

    author: str  # CUSTOMER | US | BOT
    at: datetime
    private: bool = False  # an internal note: never a reply, never a customer's question
    edited_at: datetime | None = None  # an edit does not move the message in time


@dataclass(frozen=True)
class Conversation:
    source: str  # "papercups", later "slack", "github"
    id: str
    customer_name: str | None = None
    customer_email: str | None = None
    customer_handle: str | None = None  # Slack user, GitHub login
    tier: str | None = None  # None: not known (settings.default_tier)
    url: str | None = None
    messages: tuple[Message, ...] = ()
    customer_is_team: bool = False  # a person in rotation.yaml writing as a customer

    @property
    def key(self) -> str:
        return f"{self.source}:{self.id}"

    @property
    def customer(self) -> str:
        return self.customer_name or self.customer_email or self.customer_handle or "someone"


# --- settings (the `stale:` section of rotation.yaml) ---------------------------------------


@dataclass(frozen=True)
class Span:
    """A written duration such as "1d4h": a day is a working day when working hours count."""

    days: int = 0
    rest: timedelta = timedelta(0)

    def length(self, day: timedelta) -> timedelta:
        return self.days * day + self.rest


def parse_span(text: str) -> Span:
    match = _DURATION.match(str(text).strip())
    if not match or not any(match.groups()):
        raise ValueError(f"{text!r} is not a duration: write e.g. 30m, 4h, 1d or 1h30m")
    d, h, m = (int(g or 0) for g in match.groups())
    return Span(d, timedelta(hours=h, minutes=m))


@dataclass(frozen=True)
class Settings:
    thresholds: Mapping[str, Mapping[str, Span]]  # tier -> {great, late, very_late}
    default_tier: str = "community"
    working_hours: WorkingHours | None = None  # zone "" here: the hero's zone is set per run
    close_after_days: int = DEFAULT_CLOSE_AFTER_DAYS
    nudges: bool = False

    def day(self) -> timedelta:
        """What "1d" in a threshold means: a working day when working hours count."""
        return self.working_hours.day_length if self.working_hours else timedelta(days=1)


def settings(raw: Mapping[str, Any] | None) -> Settings:
    """Settings from the (schema-checked) `stale:` section, defaults filled in."""
    raw = raw or {}
    given = raw.get("thresholds") or {}
    thresholds = {}
    for tier in TIERS:
        written = DEFAULT_THRESHOLDS[tier] | (given.get(tier) or {})
        thresholds[tier] = {lvl: parse_span(text) for lvl, text in written.items()}
    wh = DEFAULT_WORKING_HOURS | (raw.get("working_hours") or {})
    hours = None
    if wh["enabled"]:
        days = frozenset(WEEKDAYS.index(d) for d in wh["days"])
        hours = WorkingHours("", days, _clock(wh["start"]), _clock(wh["end"]))
    return Settings(
        thresholds=thresholds,
        default_tier=raw.get("default_tier", "community"),
        working_hours=hours,
        close_after_days=raw.get("close_after_days", DEFAULT_CLOSE_AFTER_DAYS),
        nudges=raw.get("nudges", False),
    )


def _clock(text: str) -> time:
    hh, mm = (int(x) for x in text.split(":"))
    return time(hh, mm)


def settings_problems(
    raw: Mapping[str, Any] | None,
) -> list[tuple[YamlPath, str]]:
    """What the schema cannot say: (path in rotation.yaml, message) for each problem."""
    raw = raw or {}
    wh = DEFAULT_WORKING_HOURS | (raw.get("working_hours") or {})
    if _clock(wh["end"]) <= _clock(wh["start"]):
        why = f"ends ({wh['end']}) before it starts ({wh['start']}): a day must end after it starts"
        return [(("stale", "working_hours", "end"), why)]
    cfg = settings(raw)
    problems: list[tuple[YamlPath, str]] = []
    for tier, levels in cfg.thresholds.items():
        great, late, very = (levels[k].length(cfg.day()) for k in ("great", "late", "very_late"))
        if not great <= late < very:
            problems.append(
                (
                    ("stale", "thresholds", tier),
                    f"{tier}: thresholds must grow: great <= late < very_late",
                )
            )
    return problems


# --- the clock -------------------------------------------------------------------------------


def our_replies(messages: Iterable[Message]) -> list[Message]:
    """Replies the customer saw from us: bot messages and private notes never count."""
    return [m for m in messages if m.author == US and not m.private]


def last_reply_at(messages: Iterable[Message]) -> datetime | None:
    return max((m.at for m in our_replies(messages)), default=None)


def waiting_since(messages: Iterable[Message]) -> datetime | None:
    """The oldest customer message with no reply from us at or after it (first or next reply)."""
    messages = list(messages)
    replied = last_reply_at(messages)
    unanswered = [
        m.at
        for m in messages
        if m.author == CUSTOMER and not m.private and (replied is None or m.at > replied)
    ]
    return min(unanswered, default=None)


def is_follow_up(messages: Iterable[Message]) -> bool:
    """The customer wrote again after our last reply."""
    messages = list(messages)
    return last_reply_at(messages) is not None and waiting_since(messages) is not None


def level(waited: timedelta, limits: Mapping[str, Span], day: timedelta) -> str:
    """great, ok, late or very_late: the last threshold `waited` has passed."""
    if waited > limits["very_late"].length(day):
        return "very_late"
    if waited > limits["late"].length(day):
        return "late"
    return "ok" if waited >= limits["great"].length(day) else "great"


@dataclass(frozen=True)
class Finding:
    """What the clock says about one conversation at `now`."""

    conversation: Conversation
    tier: str
    waiting_since: datetime | None = None
    waited: timedelta = timedelta(0)  # counted (in working hours when they apply)
    elapsed: timedelta = timedelta(0)  # real time since waiting_since
    level: str | None = None  # None: not waiting on us
    follow_up: bool = False
    last_reply_at: datetime | None = None
    close_suggested: bool = False

    @property
    def key(self) -> str:
        return self.conversation.key

    @property
    def waiting(self) -> bool:
        return self.waiting_since is not None

    @property
    def late(self) -> bool:
        return self.level in NUDGE_LEVELS


def tier_of(conv: Conversation, cfg: Settings) -> str:
    return conv.tier if conv.tier in TIERS else cfg.default_tier


def assess(
    conv: Conversation, cfg: Settings, now: datetime, hours: WorkingHours | None = None
) -> Finding:
    """The clock for one conversation; `hours` (the hero's) limits counting to working time."""
    tier = tier_of(conv, cfg)
    since, replied = waiting_since(conv.messages), last_reply_at(conv.messages)
    if since is None:
        quiet = business_time.elapsed(replied, now) if replied else timedelta(0)
        close = replied is not None and quiet >= timedelta(days=cfg.close_after_days)
        return Finding(conv, tier, last_reply_at=replied, close_suggested=close)
    elapsed = business_time.elapsed(since, now)
    waited = business_time.working_time(hours, since, now) if hours else elapsed
    return Finding(
        conv,
        tier,
        since,
        waited,
        elapsed,
        level=level(waited, cfg.thresholds[tier], cfg.day()),
        follow_up=replied is not None,
        last_reply_at=replied,
    )


def digest_order(f: Finding) -> tuple[int, int, float, str]:
    """Focus before Subscriber before Community; then the latest first, the longest wait first."""
    rank = LEVELS.index(f.level) if f.level else -1
    return (TIERS.index(f.tier), -rank, -f.waited.total_seconds(), f.key)


def assess_all(
    convs: Iterable[Conversation], cfg: Settings, now: datetime, hours: WorkingHours | None = None
) -> list[Finding]:
    return sorted((assess(c, cfg, now, hours) for c in convs), key=digest_order)


# --- how far back the Slack and GitHub sources look ------------------------------------------


def lookback(cfg: Settings) -> timedelta:
    """Twice the longest of close_after_days and the slowest very_late threshold (as calendar
    time): a conversation stays in view at least as long again after it became very late or was
    suggested for closing. Slack threads started, and GitHub issues last written in, before then
    are backlog, not conversations: they are counted, not read."""
    slowest = max(_calendar(levels["very_late"], cfg) for levels in cfg.thresholds.values())
    return 2 * max(timedelta(days=cfg.close_after_days), slowest)


def _calendar(span: Span, cfg: Settings) -> timedelta:
    """The most calendar time a threshold can take: N working days fit in ceil(N / working days
    a week) weeks, plus the day the wait starts on."""
    hours = cfg.working_hours
    if hours is None:
        return span.length(timedelta(days=1))
    working_days = span.length(hours.day_length) / hours.day_length
    return timedelta(weeks=math.ceil(working_days / len(hours.days)), days=1)


# --- whose clock: the current hero's working hours --------------------------------------------


def current_hero(rot: Rotation, now: datetime) -> str | None:
    shift = on_call(rot, HERO, now)
    return shift.person if shift else None


def hero_hours(rot: Rotation, cfg: Settings, now: datetime) -> WorkingHours | None:
    """The configured working day in the current hero's time zone (the rotation's if unknown)."""
    if cfg.working_hours is None:
        return None
    hero = current_hero(rot, now)
    zone = (rot.people[hero].timezone if hero else None) or rot.timezone
    return replace(cfg.working_hours, zone=zone)


# --- who is "us" (for the Slack and GitHub sources) ---------------------------------------------


@dataclass(frozen=True)
class Team:
    """The people of rotation.yaml as each source names them (lowercased)."""

    emails: frozenset[str] = field(default_factory=frozenset)
    slack_ids: frozenset[str] = field(default_factory=frozenset)
    github_logins: frozenset[str] = field(default_factory=frozenset)

    @classmethod
    def of(cls, rot: Rotation) -> Team:
        people = rot.people.values()
        return cls(
            frozenset(p.email.lower() for p in people),
            frozenset(p.slack.lower() for p in people if p.slack),
            frozenset(p.github.lower() for p in people if p.github),
        )

    def has_email(self, email: str | None) -> bool:
        return bool(email and email.lower() in self.emails)


# --- nudges: one per threshold crossed, never twice ------------------------------------------


@dataclass(frozen=True)
class Nudge:
    conversation: Conversation
    level: str
    since: datetime

    @property
    def key(self) -> str:
        return nudge_key(self.conversation.key, self.since, self.level)


def nudge_key(conversation_key: str, since: datetime, lvl: str) -> str:
    """Names one threshold of one wait: a new wait (after our reply) starts afresh."""
    return f"{conversation_key}@{since.timestamp():.0f}#{lvl}"


def nudges_due(findings: Iterable[Finding], nudged: Collection[str]) -> list[Nudge]:
    """A nudge for each wait past a threshold not yet nudged at that threshold or a higher one.

    `nudged` holds the keys already posted (phase 2 reads them back from Slack). When a run
    finds two thresholds crossed at once, one nudge names the higher.
    """
    due = []
    for f in findings:
        if not f.late or f.level is None or f.waiting_since is None:  # late: both are set
            continue
        higher = NUDGE_LEVELS[NUDGE_LEVELS.index(f.level) :]
        if not any(nudge_key(f.key, f.waiting_since, lvl) in nudged for lvl in higher):
            due.append(Nudge(f.conversation, f.level, f.waiting_since))
    return due
