"""flag_stale's GitHub listings of a repository: read whole, or the last run's plus what changed.

The issues written to in the window and the comments updated since a time are what the cold
listings (`since`) give; with the state, the last run's listings are brought up to date by two
conditional listings of what was updated since their newest item, which GitHub answers 304 (free
of the rate limit) while nothing changed. Closed issues leave, edited comments replace their old
selves; a listing a per-run bound cut is not kept, since the next run could not add to it.
Neither a title nor a body is kept: the state file holds no customer's words.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from itertools import islice
from typing import Generic, TypeVar

from scripts.clients.github import Comment, GitHub, Issue, RepoComment
from scripts.sources.state import State, record, restore

T = TypeVar("T", Issue, Comment, RepoComment)

ISSUES, COMMENTS, THREAD = "github.issues", "github.comments", "github.thread"  # state kinds
PAGE = 100


@dataclass(frozen=True)
class Kept(Generic[T]):
    """A listing as the last run left it: from when it holds every item, its newest item's
    `updated_at` (where the listing of changes starts) and the ETag of that listing."""

    since: datetime
    mark: datetime
    etag: str | None
    items: tuple[T, ...]


class GitHubListings:
    """One repository's listings for one run; `key` names the repository on its GitHub host."""

    def __init__(self, gh: GitHub, repo: str, state: State, key: str):
        self.gh, self.repo, self.state, self.key = gh, repo, state, key

    def issues(self, start: datetime, cap: int) -> list[Issue]:
        """Open issues and pull requests updated since `start`, newest first, at most `cap`."""
        kept = self.state.decoded(ISSUES, self.key, lambda v: _kept(Issue, v))
        found = self._changed_issues(kept, start, cap) if kept and kept.since <= start else None
        if found is None:
            issues = list(islice(self.gh.iter_issues(self.repo, since=start), cap))
            found = issues, _newest(issues, start), None
        issues, mark, etag = found
        if len(issues) < cap:  # a listing the bound cut is not kept: no run could add to it
            self._put(ISSUES, Kept(start, mark, etag, tuple(issues)))
        return issues

    def _changed_issues(self, kept: Kept[Issue], start: datetime, cap: int):
        changed = self.gh.changed_issues(self.repo, kept.mark, kept.etag, cap // PAGE)
        if not changed.complete:
            return None
        by_number = {i.number: i for i in kept.items}
        for issue in changed.items or ():
            if issue.state == "open":
                by_number[issue.number] = issue
            else:  # closed since: out of the listing of open issues
                by_number.pop(issue.number, None)
        current = (i for i in by_number.values() if i.updated_at >= start)
        issues = sorted(current, key=lambda i: (i.updated_at, i.number), reverse=True)[:cap]
        return issues, _newest(changed.items or (), kept.mark), changed.etag

    def comments(self, since: datetime, cap: int) -> list[RepoComment]:
        """Comments updated since `since`, newest first, at most `cap`."""
        kept = self.state.decoded(COMMENTS, self.key, lambda v: _kept(RepoComment, v))
        found = self._changed_comments(kept, since, cap) if kept and kept.since <= since else None
        if found is None:
            listed = list(islice(self.gh.iter_repo_comments(self.repo, since), cap))
            found = listed, _newest(listed, since), None
        listed, mark, etag = found
        if len(listed) < cap:
            self._put(COMMENTS, Kept(since, mark, etag, tuple(listed)))
        return listed

    def _changed_comments(self, kept: Kept[RepoComment], since: datetime, cap: int):
        changed = self.gh.changed_comments(self.repo, kept.mark, kept.etag, cap // PAGE)
        if not changed.complete:
            return None
        by_id = {c.id: c for c in kept.items}
        by_id |= {c.id: c for c in changed.items or ()}  # an edit replaces the comment
        current = (c for c in by_id.values() if c.updated_at >= since)
        listed = sorted(current, key=lambda c: (c.updated_at, c.id), reverse=True)[:cap]
        return listed, _newest(changed.items or (), kept.mark), changed.etag

    def thread(self, issue: Issue) -> list[Comment]:
        """An issue's own comments: as kept while the issue's updated_at and comment count are
        what they were, else read."""
        key, stamp = f"{self.key}#{issue.number}", [issue.updated_at.isoformat(), issue.comments]
        kept = self.state.decoded(THREAD, key, _thread)
        comments = (
            kept[1] if kept and kept[0] == stamp else self.gh.comments(self.repo, issue.number)
        )
        items = [record(c, _WORDS) for c in comments]
        self.state.put(THREAD, key, {"stamp": stamp, "items": items})
        return comments

    def _put(self, kind: str, kept: Kept) -> None:
        entry = record(kept) | {"items": [record(i, _WORDS) for i in kept.items]}
        self.state.put(kind, self.key, entry)


def _newest(items, floor: datetime) -> datetime:
    """Where the next listing of changes starts: its `since` is inclusive, so nothing updated
    at or after the newest item seen is missed (an update later than the reading is newer)."""
    return max([floor, *(i.updated_at for i in items)])


# --- entries in the state file ------------------------------------------------------------------

_WORDS = ("title", "body")  # never kept: the state file holds no one's words


def _unworded(cls: type) -> dict:
    return {w: "" if w == "title" else None for w in _WORDS if w in cls.__dataclass_fields__}


def _kept(cls: type[T], entry) -> Kept[T]:
    if not isinstance(entry, dict) or not isinstance(entry.get("items"), list):
        raise ValueError("not a listing")
    items = tuple(restore(cls, i, **_unworded(cls)) for i in entry["items"])
    head = restore(Kept, {k: v for k, v in entry.items() if k != "items"}, items=())
    return Kept(head.since, head.mark, head.etag, items)


def _thread(entry) -> tuple[list, list[Comment]]:
    if not isinstance(entry, dict) or not isinstance(entry.get("items"), list):
        raise ValueError("not a thread")
    return entry["stamp"], [restore(Comment, c, **_unworded(Comment)) for c in entry["items"]]
