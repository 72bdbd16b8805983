"""What flag_stale writes to Slack, pure: the day's digest, nudges, the handoff's open count.

- The digest: one message a day (the rotation's calendar day) in the support channel, found
  again by its metadata (event_type support_hero_stale_digest, payload `day`) and updated in
  place when its content hash differs.
- Nudges: a reply at each threshold a wait crosses, once: in the conversation's own Slack
  thread, or in today's digest thread for a GitHub or Papercups conversation.
- The handoff message's `open-conversations` block: waiting conversations by tier and the
  oldest wait, replaced when its text differs.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from scripts.handoff import weekly as handoff
from scripts.markup.slack_text import link
from scripts.plan import Change, SlackPost, SlackReply, SlackUpdate
from scripts.stale import clock
from scripts.stale.digest import SOURCE_NAMES, Digest, Hero, customer_label, duration, mention
from scripts.stale.slack_threads import NUDGE_EVENT
from scripts.tiers.names import TIER_NAMES, TIERS

MAX_NUDGES = 20  # a run; Slack takes about one message a second per channel: the rest next run
LEVEL_WORDS = {"late": "late", "very_late": "very late"}


@dataclass(frozen=True)
class Posted:
    """One of our messages as found in the channel."""

    ts: str
    payload: Mapping[str, Any] = field(default_factory=dict)
    blocks: tuple[dict[str, Any], ...] = ()


@dataclass(frozen=True)
class Seen:
    """What the support channel holds (all empty when Slack was not read)."""

    digest: Posted | None = None  # today's digest
    nudged: frozenset[str] = frozenset()  # nudge keys posted already
    handoff: Posted | None = None  # this shift's handoff message


@dataclass(frozen=True)
class Where:
    """The channel and the rotation.yaml lines changes come from."""

    channel: str
    channel_line: int = 0
    nudges_line: int = 0


def stamped(digest: Digest, day: str) -> Digest:
    """The digest with its day (the rotation's calendar day) and a hash of its content in the
    metadata: a re-run compares hashes, not Slack's rendering of the blocks."""
    raw = json.dumps([digest.text, list(digest.blocks)], sort_keys=True, ensure_ascii=False)
    content = hashlib.sha256(raw.encode()).hexdigest()[:16]
    payload = dict(digest.metadata["event_payload"]) | {"day": day, "content": content}
    return replace(digest, metadata={**digest.metadata, "event_payload": payload})


def day_of(now: datetime, zone: ZoneInfo) -> str:
    return now.astimezone(zone).date().isoformat()


def plan(
    digest: Digest,
    findings: Sequence[clock.Finding],
    hero: Hero | None,
    seen: Seen,
    where: Where,
    nudges: bool,
    handoff_counts: bool,
    zone: ZoneInfo,
) -> list[Change]:
    """Every write, in the order to make them: the digest, nudges, the handoff block."""
    changes = plan_digest(digest, seen.digest, where)
    if nudges:
        thread = seen.digest.ts if seen.digest else None
        changes += plan_nudges(findings, seen.nudged, hero, where, thread)
    if handoff_counts and seen.handoff:
        changes += plan_handoff(findings, seen.handoff, where, zone)
    return changes


def plan_digest(digest: Digest, posted: Posted | None, where: Where) -> list[Change]:
    payload = digest.metadata["event_payload"]
    summary = f"stale digest: {payload['very_late']} very late, {payload['late']} late in total"
    target, line = f"Slack {where.channel}", where.channel_line
    blocks = list(digest.blocks)
    if posted is None:
        post = SlackPost(where.channel, digest.text, blocks, digest.metadata)
        return [Change("post", target, summary, f"first digest of {payload['day']}", line, post)]
    if posted.payload.get("content") == payload["content"]:
        return []
    update = SlackUpdate(where.channel, posted.ts, digest.text, blocks, digest.metadata, True)
    return [Change("update", target, summary, "digest changed", line, update)]


def plan_nudges(
    findings: Iterable[clock.Finding],
    nudged: frozenset[str],
    hero: Hero | None,
    where: Where,
    digest_ts: str | None,
) -> list[Change]:
    """A nudge for each threshold crossed and not yet nudged (the most pressing first, at most
    MAX_NUDGES a run). `digest_ts` None: the digest thread is the one this run posts."""
    findings = list(findings)
    by_key = {f.key: f for f in findings}
    changes = []
    for n in clock.nudges_due(findings, nudged)[:MAX_NUDGES]:
        f, conv = by_key[n.conversation.key], n.conversation
        own = conv.source == "slack"
        meta = {"event_type": NUDGE_EVENT, "event_payload": {"key": n.key}}
        data = SlackReply(where.channel, nudge_text(f, n.level, hero, own), meta,
                          conv.id if own else digest_ts)  # fmt: skip
        where_to = "conversation threads" if own else "digest thread"
        target = f"Slack {where.channel} ({where_to})"
        summary = (
            f"{SOURCE_NAMES.get(conv.source)} {conv.id} ({conv.customer}): "
            f"{LEVEL_WORDS[n.level]}, {TIER_NAMES[f.tier]}, waiting {duration(f.waited)}"
        )
        changes.append(Change("nudge", target, summary, n.key, where.nudges_line, data))
    return changes


def nudge_text(f: clock.Finding, level_crossed: str, hero: Hero | None, own_thread: bool) -> str:
    tier, level = TIER_NAMES[f.tier], LEVEL_WORDS[level_crossed]
    who = mention(hero)
    if own_thread:
        return f"⏰ {who}: this {tier} question has waited {duration(f.waited)}, now {level}."
    c = f.conversation
    what = f"{SOURCE_NAMES.get(c.source, c.source)} · {link(c.url, customer_label(f))}"
    return f"⏰ {who}: *{tier}* · {what} has waited {duration(f.waited)}, now {level}."


# --- the handoff message's open-conversations block -------------------------------------------


def open_block(findings: Iterable[clock.Finding], zone: ZoneInfo) -> dict[str, Any]:
    """Conversations waiting on us by tier, and the one waiting longest (since when, not for how
    long: the block changes only when the conversations do)."""
    waiting = [f for f in findings if f.waiting]
    counts = {TIER_NAMES[t]: sum(f.tier == t for f in waiting) for t in TIERS}
    since = [(f.waiting_since, f.key, f) for f in waiting if f.waiting_since]
    text = None
    if since:
        started, _, oldest = min(since)  # keys differ: findings are never compared
        c = oldest.conversation
        text = (
            f"{link(c.url, customer_label(oldest))} ({TIER_NAMES[oldest.tier]} · "
            f"{SOURCE_NAMES.get(c.source, c.source)}, since "
            f"{handoff.when(started, zone)})"
        )
    return handoff.open_block(counts, text)


def plan_handoff(
    findings: Iterable[clock.Finding], posted: Posted, where: Where, zone: ZoneInfo
) -> list[Change]:
    block = open_block(findings, zone)
    current = next((b for b in posted.blocks if b.get("block_id") == handoff.OPEN_BLOCK_ID), None)
    if current is None or (current.get("text") or {}).get("text") == block["text"]["text"]:
        return []
    blocks = handoff.with_open_block(posted.blocks, block)
    meta = {"event_type": handoff.EVENT_HANDOFF, "event_payload": dict(posted.payload)}
    data = SlackUpdate(where.channel, posted.ts, handoff.fallback_text(blocks), blocks, meta)
    summary = "handoff message: open conversations by tier"
    return [Change("update", f"Slack {where.channel}", summary, "counts changed",
                   where.channel_line, data)]  # fmt: skip
