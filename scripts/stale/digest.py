"""The stale digest (conversations, then Sentry errors) as Slack mrkdwn, Markdown and JSON."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from scripts.markup import slack_blocks, slack_text
from scripts.markup.github_text import unlinked
from scripts.markup.slack_text import escape, link
from scripts.stale import sentry_errors
from scripts.stale.business_time import WEEKDAYS_MON_FRI, WorkingHours
from scripts.stale.clock import Finding
from scripts.tiers.names import TIER_NAMES

EVENT_TYPE = "support_hero_stale_digest"  # message metadata: phase 2 finds the digest by it
SOURCE_NAMES = {"papercups": "Papercups", "slack": "Slack", "github": "GitHub", "sentry": "Sentry"}
MARKS = {"very_late": "🔴", "late": "🟠"}  # Unicode: the same in Slack and in Markdown
MAX_LINES = 40  # per list; Slack allows 50 blocks a message, 3000 characters a section
MAX_ERRORS = 5  # Sentry errors listed: the busiest
READ = {"sentry": "new unassigned"}  # what a source's count counts, when not open conversations
MISSING = {"sentry": "Its errors are missing below."}  # when a source could not be read


@dataclass(frozen=True)
class SourceStatus:
    """How reading one source went: ok, not_configured (said, not a failure) or failed."""

    source: str
    state: str
    detail: str = ""
    conversations: int = 0

    @property
    def name(self) -> str:
        return SOURCE_NAMES.get(self.source, self.source)


@dataclass(frozen=True)
class Hero:
    name: str
    slack_id: str | None = None


@dataclass(frozen=True)
class Errors:
    """Sentry beside the conversations: how it was read and, when it was, the busiest new
    unassigned errors since the handoff."""

    status: SourceStatus  # source "sentry"; `conversations`: the new unassigned errors counted
    top: tuple[sentry_errors.Busy, ...] = ()  # busiest first, by events in 24 hours
    complete: bool = True  # False: Sentry's paging stopped at its bound, there are more
    url: str | None = None  # Sentry's list of them all

    @property
    def failed(self) -> bool:
        return self.status.state == "failed"


@dataclass(frozen=True)
class Digest:
    text: str  # the plain-text fallback (mrkdwn)
    blocks: tuple[dict[str, Any], ...]
    metadata: dict[str, Any] = field(default_factory=dict)


# --- text (escaped with scripts/markup/slack_text.py) --------------------------------------------


def mention(hero: Hero | None) -> str:
    if hero is None:
        return "no one (no Support Hero shift holds this time)"
    return slack_text.mention(hero.slack_id, hero.name)


def duration(span: timedelta) -> str:
    minutes = int(span.total_seconds() // 60)
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    if days:
        return f"{days}d {hours}h"
    return f"{hours}h {minutes:02d}m" if hours else f"{minutes}m"


def hours_text(hours: WorkingHours | None) -> str:
    if hours is None:
        return "around the clock"
    names = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
    days = (
        "Mon–Fri"
        if hours.days == WEEKDAYS_MON_FRI
        else ", ".join(names[d] for d in sorted(hours.days))
    )
    return f"in working hours, {days} {hours.start:%H:%M}–{hours.end:%H:%M} {hours.zone}"


# --- lines -----------------------------------------------------------------------------------


def customer_label(f: Finding) -> str:
    c = f.conversation
    label = c.customer
    if c.customer_email and c.customer_name:
        label += f" ({c.customer_email})"
    return label


def waiting_line(f: Finding) -> str:
    """• mark *Tier* · Source · <permalink|customer> · waiting 3h 05m · follow-up"""
    c = f.conversation
    parts = [
        f"{MARKS.get(f.level or '', '•')} *{TIER_NAMES[f.tier]}*",
        SOURCE_NAMES.get(c.source, c.source),
        link(c.url, customer_label(f)),
        f"waiting {duration(f.waited)}",
    ]
    if f.follow_up:
        parts.append("follow-up")
    if c.customer_is_team:
        parts.append("a team member writing as a customer")
    return " · ".join(parts)


def close_line(f: Finding, now: datetime) -> str:
    c = f.conversation
    quiet = duration(now - f.last_reply_at) if f.last_reply_at else "?"
    where = SOURCE_NAMES.get(c.source, c.source)
    who = link(c.url, customer_label(f))
    return f"• *{TIER_NAMES[f.tier]}* · {where} · {who} · we replied {quiet} ago"


def source_line(s: SourceStatus) -> str:
    if s.state == "ok":
        return f"{s.name}: {s.conversations} {READ.get(s.source, 'open')} read" + (
            f" ({escape(s.detail)})" if s.detail else ""
        )
    if s.state == "not_configured":
        return f"{s.name}: not configured ({escape(s.detail)})"
    return f"{s.name}: *failed* ({escape(s.detail)})"


def _capped(lines: list[str], what: str) -> list[str]:
    if len(lines) <= MAX_LINES:
        return lines
    return lines[:MAX_LINES] + [f"…and {len(lines) - MAX_LINES} more {what}"]


# --- the digest ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Parts:
    """The digest's pieces as mrkdwn, shared by the Slack and the Markdown renderings."""

    headline: str
    summary: str
    failures: tuple[str, ...]
    late: tuple[str, ...]
    within: str
    closing: tuple[str, ...]
    errors: tuple[str, ...]  # the Sentry section: its heading, then a line an error
    sources: str
    all_clear: str  # what to say when no one is late


def parts(
    findings: Sequence[Finding],
    statuses: Sequence[SourceStatus],
    hero: Hero | None,
    now: datetime,
    hours: WorkingHours | None,
    errors: Errors | None = None,
) -> Parts:
    waiting = [f for f in findings if f.waiting]
    late = [f for f in waiting if f.late]
    within = [f for f in waiting if not f.late]
    closing = [f for f in findings if f.close_suggested]
    counts = {lvl: sum(f.level == lvl for f in late) for lvl in ("very_late", "late")}
    summary = (
        f"{counts['very_late']} very late, {counts['late']} late, {len(within)} waiting "
        f"within target; time counted {hours_text(hours)}."
    )
    every = [*statuses, errors.status] if errors else list(statuses)
    failed = [s for s in every if s.state == "failed"]
    return Parts(
        headline=f"⌛ *Support conversations waiting on us* · hero: {mention(hero)}",
        summary=summary,
        failures=tuple(
            f"⚠️ *{s.name} could not be read*: {escape(s.detail)}. "
            + MISSING.get(s.source, "Its conversations are missing below.")
            for s in failed
        ),
        late=tuple(_capped([waiting_line(f) for f in late], "late conversations")),
        within=(
            f"{len(within)} more waiting within target (longest: "
            f"{duration(max(f.waited for f in within))})."
            if within
            else ""
        ),
        closing=tuple(_capped([close_line(f, now) for f in closing], "to close")),
        errors=error_section(errors),
        sources="Sources: " + " · ".join(source_line(s) for s in every),
        all_clear=(
            "✅ No one has waited past their tier's target."
            if any(s.state == "ok" for s in statuses)
            else "No source of conversations could be read."
            if errors and errors.status.state == "ok"
            else "No source could be read."
        ),
    )


# --- Sentry errors beside the conversations -----------------------------------------------------


def errors_from(
    cfg: sentry_errors.Settings,
    reading: sentry_errors.Reading,
    start: datetime,
    web: str,
    now: datetime,
    limit: int = MAX_ERRORS,
) -> Errors:
    """The digest's Sentry part from a reading of the new unassigned errors since `start` (the
    handoff): the `limit` busiest by events in the 24 hours before `now`, and a link to Sentry's
    list of them all. Not read for want of a token: not configured, as for the other sources."""
    if reading.state != "ok":
        state = "failed" if reading.state == "failed" else "not_configured"
        return Errors(SourceStatus("sentry", state, reading.detail))
    found = list(reading.issues)
    detail = "" if reading.complete else "paging stopped at its per-run bound"
    return Errors(
        SourceStatus("sentry", "ok", detail, len(found)),
        tuple(sentry_errors.top_errors(found, now, limit)),
        reading.complete,
        sentry_errors.issues_url(cfg, web, start, found),
    )


def error_section(e: Errors | None) -> tuple[str, ...]:
    """'*Sentry errors* · <list|7 new unassigned> since the handoff · the 5 busiest …:' and a line
    an error; nothing when Sentry is not configured or was not read (the sources line says why)."""
    if e is None or e.status.state != "ok":
        return ()
    n = e.status.conversations
    if not n:
        none = link(e.url, "no new unassigned errors")
        return (f"*Sentry errors* · ✅ {none} since the handoff",)
    count = f"{'at least ' if not e.complete else ''}{n} new unassigned"
    which = f"the {len(e.top)} busiest" if n > len(e.top) else "busiest first"
    heading = (
        f"*Sentry errors* · {link(e.url, count)} since the handoff · {which} by events in the "
        "last 24 hours:"
    )
    return (heading, *sentry_errors.error_lines(e.top))


def errors_json(e: Errors) -> dict[str, Any]:
    """How Sentry was read, and the errors listed, for --format json."""
    s = e.status
    return {
        "state": s.state,
        "detail": s.detail,
        "new_unassigned": s.conversations if s.state == "ok" else None,
        "complete": e.complete,
        "url": e.url,
        "busiest": [
            {
                "id": b.issue.id,
                "short_id": b.issue.short_id,
                "title": b.issue.title,
                "project": b.issue.project,
                "permalink": b.issue.permalink,
                "events_24h": b.events,
                "count": b.issue.count,
                "first_seen": b.issue.first_seen.isoformat(),
            }
            for b in e.top
        ],
    }


def render(
    findings: Sequence[Finding],
    statuses: Sequence[SourceStatus],
    hero: Hero | None,
    now: datetime,
    hours: WorkingHours | None = None,
    errors: Errors | None = None,
) -> Digest:
    """The Slack message: plain-text fallback, Block Kit blocks and metadata."""
    p = parts(findings, statuses, hero, now, hours, errors)
    blocks: list[dict[str, Any]] = [_section("\n".join([p.headline, p.summary]))]
    blocks += [_section(text) for text in p.failures]
    blocks += [_section(chunk) for chunk in _chunks(list(p.late))]
    if not p.late:
        blocks.append(_section(p.all_clear))
    if p.within:
        blocks.append(_context(p.within))
    if p.closing:
        blocks.append(
            _section("*Suggested for closing* (we replied last, the customer went quiet)")
        )
        blocks += [_section(chunk) for chunk in _chunks(list(p.closing))]
    blocks += [_section(chunk) for chunk in _chunks(list(p.errors))]
    blocks.append(_context(p.sources))
    lines = [
        p.headline,
        p.summary,
        *p.failures,
        *(p.late or [p.all_clear]),
        p.within,
        *(["Suggested for closing:", *p.closing] if p.closing else []),
        *p.errors,
        p.sources,
    ]
    late = [f for f in findings if f.late]
    payload = {
        "day": now.date().isoformat(),
        "late": len(late),
        "very_late": sum(f.level == "very_late" for f in late),
    }
    return Digest(
        slack_blocks.clip("\n".join(line for line in lines if line), slack_blocks.TEXT_CHARS),
        tuple(slack_blocks.within_limits(blocks)),
        {"event_type": EVENT_TYPE, "event_payload": payload},
    )


def _section(text: str) -> dict[str, Any]:
    return slack_blocks.section(text)


def _context(text: str) -> dict[str, Any]:
    return slack_blocks.context(text)


def _chunks(lines: list[str]) -> Iterable[str]:
    """Lines joined into section texts under Slack's 3000-character limit."""
    return slack_blocks.chunks(lines)


# --- Markdown (the job summary) and JSON --------------------------------------------------------

_MD_SPECIAL = re.compile(r"([\\`_\[\]|])")  # not "*": our own bold (customer "<>" are entities)
_LINK = re.compile(r"<(https?://[^|>]+)\|([^>]*)>")


def _markdown(mrkdwn: str) -> str:
    """Our mrkdwn as GitHub Markdown: customer text cannot make links; *bold* becomes **bold**."""
    out, pos = [], 0
    for m in _LINK.finditer(mrkdwn):
        url = m[1].replace("&amp;", "&").replace("(", "%28").replace(")", "%29")
        out += [_plain(mrkdwn[pos : m.start()]), f"[{_md(m[2])}]({url})"]
        pos = m.end()
    return "".join([*out, _plain(mrkdwn[pos:])])


def _md(text: str) -> str:
    return unlinked(_MD_SPECIAL.sub(r"\\\1", text))


def _plain(text: str) -> str:
    text = _md(text)
    return re.sub(r"(?<![\w*])\*([^*\n]+)\*(?![\w*])", r"**\1**", text)


def render_markdown(
    findings: Sequence[Finding],
    statuses: Sequence[SourceStatus],
    hero: Hero | None,
    now: datetime,
    hours: WorkingHours | None = None,
    errors: Errors | None = None,
) -> str:
    p = parts(findings, statuses, Hero(hero.name) if hero else None, now, hours, errors)
    lines = ["### Stale support conversations", "", _markdown(p.summary), ""]
    lines += [_markdown(x) for x in p.failures] + ([""] if p.failures else [])
    lines += [f"- {_markdown(x.removeprefix('• '))}" for x in p.late] or [_markdown(p.all_clear)]
    lines += ["", p.within] if p.within else []
    if p.closing:
        lines += ["", "**Suggested for closing**", ""]
        lines += [f"- {_markdown(x.removeprefix('• '))}" for x in p.closing]
    if p.errors:
        heading, *listed = p.errors
        lines += ["", _markdown(heading)]
        lines += [""] + [f"- {_markdown(x.removeprefix('• '))}" for x in listed] if listed else []
    return "\n".join([*lines, "", _markdown(p.sources)])


def finding_json(f: Finding) -> dict[str, Any]:
    c = f.conversation
    return {
        "key": c.key,
        "source": c.source,
        "id": c.id,
        "customer": c.customer,
        "customer_email": c.customer_email,
        "customer_is_team": c.customer_is_team,
        "tier": f.tier,
        "url": c.url,
        "level": f.level,
        "waiting_since": _iso(f.waiting_since),
        "waited_seconds": int(f.waited.total_seconds()),
        "elapsed_seconds": int(f.elapsed.total_seconds()),
        "follow_up": f.follow_up,
        "last_reply_at": _iso(f.last_reply_at),
        "close_suggested": f.close_suggested,
    }


def _iso(instant: datetime | None) -> str | None:
    return instant.isoformat() if instant else None
