"""GitHub issues as support conversations, pure: who wrote, which comments are needed, tiers.

What it reads of an issue is tiers/labels.py's `Issue` (the one description of a GitHub issue
the cores share), of a comment `GitHubComment`; the GitHub adapter's dataclasses provide them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from scripts.stale import clock
from scripts.stale.clock import BOT, CUSTOMER, US
from scripts.tiers.labels import TEAM_ASSOCIATIONS, Issue

SKIP, BACKLOG, DECIDED, FETCH = "skip", "backlog", "decided", "fetch"


class GitHubComment(Protocol):
    """What this core reads of a comment; `user_type` only a repository-wide listing gives."""

    @property
    def id(self) -> int: ...
    @property
    def user(self) -> str: ...
    @property
    def author_association(self) -> str: ...
    @property
    def created_at(self) -> datetime: ...
    @property
    def updated_at(self) -> datetime: ...  # an edit moves it, not created_at


def author(login: str, association: str, user_type: str, team: frozenset[str]) -> str:
    """Apps never answer anyone; rotation.yaml logins and the repository's members, owners and
    collaborators are us; everyone else is a customer."""
    if user_type == "Bot" or login.lower().endswith("[bot]"):
        return BOT
    if login.lower() in team or association in TEAM_ASSOCIATIONS:
        return US
    return CUSTOMER


def needs_comments(issue: Issue, start: datetime) -> bool:
    """An issue whose comments must be known: open, not a pull request, written to in the window."""
    return not issue.is_pull_request and issue.comments > 0 and issue.updated_at >= start


def listing_since(issues: Iterable[Issue], start: datetime) -> datetime | None:
    """Where the repository-wide comment listing starts: the window's start, or the oldest issue
    needing comments if all of them are younger (their comments cannot be older than they are).
    None: no issue needs comments, so none are listed."""
    created = [i.created_at for i in issues if needs_comments(i, start)]
    return max(start, min(created)) if created else None


@dataclass(frozen=True)
class Said:
    """One message of an issue: the clock's view and who wrote it."""

    message: clock.Message
    login: str


def _said(
    login: str,
    association: str,
    user_type: str,
    at: datetime,
    edited: datetime,
    team: frozenset[str],
) -> Said:
    who = author(login, association, user_type, team)
    return Said(clock.Message(who, at, edited_at=edited if edited != at else None), login)


def opening(issue: Issue, team: frozenset[str]) -> Said:
    """The issue itself: its author's first message."""
    i = issue
    return _said(i.user, i.author_association, i.user_type, i.created_at, i.created_at, team)


def comment_said(c: GitHubComment, team: frozenset[str]) -> Said:
    user_type: str = getattr(c, "user_type", "User")
    return _said(c.user, c.author_association, user_type, c.created_at, c.updated_at, team)


@dataclass(frozen=True)
class Verdict:
    kind: str  # SKIP (a pull request), BACKLOG (quiet all window), DECIDED, FETCH (read comments)
    said: tuple[Said, ...] = ()


def verdict(
    issue: Issue,
    known: Sequence[GitHubComment],
    start: datetime,
    known_since: datetime | None,
    team: frozenset[str],
) -> Verdict:
    """What the issue, and the comments the listing gave for it, tell.

    `known` holds every comment created since `known_since` (the listing's start or where it was
    cut), plus older ones edited since. All of them known, or one of ours among those since
    `known_since`, settles it: our last reply and everything after it are known. An issue
    with no human message in the window is backlog. Anything else needs its own comments.
    """
    if issue.is_pull_request:
        return Verdict(SKIP)
    if issue.updated_at < start:
        return Verdict(BACKLOG)
    body = opening(issue, team)
    said = sorted((comment_said(c, team) for c in known), key=lambda s: s.message.at)
    if len({c.id for c in known}) >= issue.comments:
        return _in_window((body, *said), start)
    tail = [s for s in said if known_since and s.message.at >= known_since]
    if any(s.message.author == US for s in tail):
        return Verdict(DECIDED, (body, *tail))
    human = [s for s in tail if s.message.author != BOT and s.message.at >= start]
    if not human and known_since is not None and known_since <= start:
        return Verdict(BACKLOG)
    return Verdict(FETCH)


def fetched(
    issue: Issue, comments: Iterable[GitHubComment], start: datetime, team: frozenset[str]
) -> Verdict:
    """The verdict once an issue's own comments are read."""
    said = sorted((comment_said(c, team) for c in comments), key=lambda s: s.message.at)
    return _in_window((opening(issue, team), *said), start)


def _in_window(said: tuple[Said, ...], start: datetime) -> Verdict:
    newest = max((s.message.at for s in said if s.message.author != BOT), default=None)
    if newest is None or newest < start:
        return Verdict(BACKLOG)
    return Verdict(DECIDED, said)


# --- tiers and the conversation ---------------------------------------------------------------

TierOfLogin = Callable[[str], str | None]


def tier_from_labels(labels: Iterable[str], tier_names: Mapping[str, str]) -> str | None:
    """The tier label label_issues set (`tier: focus` ...), compared without case."""
    names = {name.lower(): tier for name, tier in tier_names.items()}
    return next((names[x.lower()] for x in labels if x.lower() in names), None)


def conversation(
    repo: str,
    issue: Issue,
    said: Sequence[Said],
    tier_names: Mapping[str, str],
    tier_of_login: TierOfLogin,
) -> clock.Conversation | None:
    """An issue in which a customer wrote; the customer is the first who did."""
    customer = next((s.login for s in said if s.message.author == CUSTOMER), None)
    if customer is None:
        return None
    tier = tier_from_labels(issue.labels, tier_names) or tier_of_login(customer)
    return clock.Conversation(
        source="github",
        id=f"{repo}#{issue.number}",
        customer_handle=customer,
        tier=tier,
        url=issue.html_url or None,
        messages=tuple(s.message for s in said),
    )
