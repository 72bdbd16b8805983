"""Sentry errors in the hero's view, pure: new unassigned ones since the handoff, the busiest.

Issues are read duck-typed (the Sentry adapter's Issue): id, short_id, title, project,
project_id, first_seen, count, permalink, assigned_to (None: unassigned) and stats_24h
((hour start, events), ...).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from scripts.handoff.weekly import section
from scripts.markup.slack_text import escape, link
from scripts.rotation.model import HERO, Rotation
from scripts.rotation.schedule import handoff, on_call, week_of

BLOCK_ID = "sentry-errors"  # the Sentry line's block in the handoff message
DAY = timedelta(hours=24)
TITLE_MAX = 100  # characters of an issue title shown in a line
UNREADABLE = ":warning: *Sentry* could not be read: the next run counts the new unassigned errors."


@dataclass(frozen=True)
class Settings:
    """The `sentry` section of rotation.yaml."""

    organization: str
    projects: tuple[str, ...]
    url: str | None = None  # Sentry's web address, for links; None: from the API URL
    line: int = 0


def settings(raw: Mapping[str, Any] | None, line: int = 0) -> Settings | None:
    """Settings from the schema-checked `sentry` section; None when there is none."""
    if not raw:
        return None
    return Settings(raw["organization"], tuple(raw["projects"]), raw.get("url"), line)


# --- which errors -----------------------------------------------------------------------------


def since(rot: Rotation, now: datetime) -> datetime | None:
    """The last handoff: the start of the hero week holding `now` (None before the rotation).

    Not the on-call shift's start: a single-day swap splits the shift, and the errors of the
    week's first days would drop out of the count on the swap day and after it.
    """
    if on_call(rot, HERO, now) is None:
        return None
    return handoff(rot, week_of(rot, now))


def search_query(start: datetime) -> str:
    """The Sentry search for what new_unassigned keeps, so that Sentry sends only those."""
    return f"is:unresolved is:unassigned firstSeen:>={_iso(start)}"


def _iso(instant: datetime) -> str:
    return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def new_unassigned(issues: Iterable[Any], start: datetime) -> list[Any]:
    """Unresolved issues first seen at or after `start` that nobody is assigned to."""
    return [
        i
        for i in issues
        if i.assigned_to is None and i.first_seen >= start and i.status == "unresolved"
    ]


def events_24h(issue: Any, now: datetime) -> int:
    """Events in the 24 hourly buckets that end the day before `now` (the current hour's too)."""
    return sum(n for start, n in issue.stats_24h if now - DAY < start <= now)


@dataclass(frozen=True)
class Busy:
    """An issue and its events in the last 24 hours."""

    issue: Any
    events: int


def top_errors(issues: Iterable[Any], now: datetime, limit: int = 5) -> list[Busy]:
    """The `limit` busiest issues by events in the 24 hours before `now`; ties: the most
    events in all, then the newest."""
    ranked = sorted(
        (Busy(i, events_24h(i, now)) for i in issues),
        key=lambda b: (-b.events, -b.issue.count, -b.issue.first_seen.timestamp(), b.issue.id),
    )
    return ranked[:limit]


# --- rendering (Slack mrkdwn, escaped) --------------------------------------------------------


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _short(text: str) -> str:
    return text if len(text) <= TITLE_MAX else text[: TITLE_MAX - 1].rstrip() + "…"


def error_line(busy: Busy) -> str:
    """'• <permalink|WEB-3F: TypeError: …> · web · 12 events in 24h (340 in all)'."""
    i = busy.issue
    label = link(i.permalink, f"{i.short_id}: {_short(i.title)}")
    events = _plural(busy.events, "event")
    return f"• {label} · {escape(i.project)} · {events} in 24h ({i.count} in all)"


def error_lines(top: Iterable[Busy]) -> list[str]:
    """One mrkdwn line per issue, in order: everything from Sentry escaped, links only http(s)."""
    return [error_line(b) for b in top]


def issues_url(cfg: Settings, web: str, start: datetime, issues: Iterable[Any]) -> str:
    """Sentry's issue list showing what was counted (the projects the issues came from)."""
    base = (cfg.url or web).rstrip("/")
    params = [("query", search_query(start))]
    params += [("project", p) for p in sorted({i.project_id for i in issues if i.project_id})]
    return f"{base}/organizations/{cfg.organization}/issues/?{urlencode(params)}"


def count_text(
    cfg: Settings, web: str, start: datetime, issues: list[Any], complete: bool = True
) -> str:
    """':rotating_light: *Sentry:* <url|3 new unassigned Sentry errors> since the handoff
    (web 2, api 1)': the projects in the configured order, with any."""
    n = len(issues)
    words = f"{'at least ' if not complete else ''}{_plural(n, 'new unassigned Sentry error')}"
    text = f":rotating_light: *Sentry:* {link(issues_url(cfg, web, start, issues), words)}"
    text += " since the handoff"
    per = {p: sum(i.project == p for i in issues) for p in cfg.projects}
    if n and len(cfg.projects) > 1:
        text += " (" + ", ".join(f"{escape(p)} {k}" for p, k in per.items() if k) + ")"
    return text


# --- the handoff's Sentry line ----------------------------------------------------------------


@dataclass(frozen=True)
class Reading:
    """What a run learnt from Sentry: state "ok", "failed" (an outage) or "not_read" (no token)."""

    state: str
    detail: str = ""
    issues: tuple[Any, ...] = ()  # the new unassigned ones, when ok
    complete: bool = True  # False when paging stopped at its bound

    def summary(self) -> dict[str, Any]:
        return {"state": self.state, "detail": self.detail,
                "new_unassigned": len(self.issues) if self.state == "ok" else None}  # fmt: skip

    def note(self) -> str:
        """A line for the job's own output (not Slack)."""
        if self.state == "ok":
            found = _plural(len(self.issues), "new unassigned error")
            more = "" if self.complete else " (at least: paging stopped at its bound)"
            return f"Sentry: {found} since the handoff{more}."
        if self.state == "failed":
            return (
                f"Sentry could not be read ({self.detail}): the handoff goes on without a fresh "
                "count (a Sentry line already posted stays as it is); this does not change the "
                "exit code."
            )
        return f"Sentry was not read: {self.detail}."


def handoff_block(
    cfg: Settings | None,
    reading: Reading,
    start: datetime,
    web: str,
    posted: dict[str, Any] | None,
) -> dict[str, Any] | None:
    """The handoff message's Sentry line; None: no line.

    Read: the count. Not read now (an outage, no token): the line already posted stays as it is,
    so the message does not flip between a count and an error; an outage with nothing posted yet
    says Sentry could not be read.
    """
    if cfg is None:
        return None
    if reading.state == "ok":
        text = count_text(cfg, web, start, list(reading.issues), reading.complete)
        return section(BLOCK_ID, text)
    if posted is not None:
        return posted
    return section(BLOCK_ID, UNREADABLE) if reading.state == "failed" else None
