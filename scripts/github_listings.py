"""flag_stale's GitHub listings of a repository: read whole, or the last run's plus what changed.

The issues written to in the window and the comments updated since a time are what the cold
listings (`since`) give; with the state, the last run's listings are brought up to date by two
conditional listings of what was updated since their newest item, which GitHub answers 304 (free
of the rate limit) while nothing changed. Closed issues leave, edited comments replace their old
selves; a listing a per-run bound cut is not kept, since the next run could not add to it.
Neither a title nor a body is kept: the state file holds no customer's words.
"""

from __future__ import annotations

from dataclasses import fields
from datetime import datetime
from itertools import islice
from typing import Any

from scripts.clients.github import Comment, GitHub, Issue, RepoComment
from scripts.stale_state import State

ISSUES, COMMENTS, THREAD = "github.issues", "github.comments", "github.thread"  # state kinds
PAGE = 100


class GitHubListings:
    """One repository's listings for one run; `key` names the repository on its GitHub host."""

    def __init__(self, gh: GitHub, repo: str, state: State, key: str):
        self.gh, self.repo, self.state, self.key = gh, repo, state, key

    def issues(self, start: datetime, cap: int) -> list[Issue]:
        """Open issues and pull requests updated since `start`, newest first, at most `cap`."""
        kept = self.state.get(ISSUES, self.key)
        found = self._changed_issues(kept, start, cap) if kept else None
        if found is None:
            issues = list(islice(self.gh.iter_issues(self.repo, since=start), cap))
            found = issues, _newest(issues, start), None
        issues, mark, etag = found
        if len(issues) < cap:
            records = [_record(i) for i in issues]
            self._put(ISSUES, start, mark, etag, records)
        return issues

    def _changed_issues(self, kept: dict, start: datetime, cap: int):
        if _time(kept["since"]) > start:  # it lacks issues written to before its start
            return None
        mark = _time(kept["mark"])
        changed = self.gh.changed_issues(self.repo, mark, kept["etag"], cap // PAGE)
        if not changed.complete:
            return None
        by_number = {i.number: i for i in map(_issue, kept["items"])}
        for issue in changed.items or ():
            if issue.state == "open":
                by_number[issue.number] = issue
            else:  # closed since: out of the listing of open issues
                by_number.pop(issue.number, None)
        current = (i for i in by_number.values() if i.updated_at >= start)
        issues = sorted(current, key=lambda i: (i.updated_at, i.number), reverse=True)[:cap]
        return issues, _newest(changed.items or (), mark), changed.etag

    def comments(self, since: datetime, cap: int) -> list[RepoComment]:
        """Comments updated since `since`, newest first, at most `cap`."""
        kept = self.state.get(COMMENTS, self.key)
        found = self._changed_comments(kept, since, cap) if kept else None
        if found is None:
            listed = list(islice(self.gh.iter_repo_comments(self.repo, since), cap))
            found = listed, _newest(listed, since), None
        listed, mark, etag = found
        if len(listed) < cap:
            self._put(COMMENTS, since, mark, etag, [_record(c) for c in listed])
        return listed

    def _changed_comments(self, kept: dict, since: datetime, cap: int):
        if _time(kept["since"]) > since:
            return None
        mark = _time(kept["mark"])
        changed = self.gh.changed_comments(self.repo, mark, kept["etag"], cap // PAGE)
        if not changed.complete:
            return None
        by_id = {c.id: c for c in map(_repo_comment, kept["items"])}
        by_id |= {c.id: c for c in changed.items or ()}  # an edit replaces the comment
        current = (c for c in by_id.values() if c.updated_at >= since)
        listed = sorted(current, key=lambda c: (c.updated_at, c.id), reverse=True)[:cap]
        return listed, _newest(changed.items or (), mark), changed.etag

    def thread(self, issue: Issue) -> list[Comment]:
        """An issue's own comments: as kept while the issue's updated_at and comment count are
        what they were, else read."""
        key, stamp = f"{self.key}#{issue.number}", [issue.updated_at.isoformat(), issue.comments]
        kept = self.state.get(THREAD, key)
        if kept and kept["stamp"] == stamp:
            comments = [_comment(c) for c in kept["items"]]
        else:
            comments = self.gh.comments(self.repo, issue.number)
        self.state.put(THREAD, key, {"stamp": stamp, "items": [_record(c) for c in comments]})
        return comments

    def _put(self, kind: str, since: datetime, mark: datetime, etag: str | None, items: list):
        entry = {"since": since.isoformat(), "mark": mark.isoformat(), "etag": etag, "items": items}
        self.state.put(kind, self.key, entry)


def _newest(items, floor: datetime) -> datetime:
    """Where the next listing of changes starts: its `since` is inclusive, so nothing updated
    at or after the newest item seen is missed (an update later than the reading is newer)."""
    return max([floor, *(i.updated_at for i in items)])


# --- records in the state file (JSON) ------------------------------------------------------------

_WORDS = ("title", "body")  # never kept


def _record(item: Any) -> dict:
    out = {}
    for f in fields(item):
        value = getattr(item, f.name)
        if f.name in _WORDS:
            continue
        out[f.name] = value.isoformat() if isinstance(value, datetime) else value
    return out


def _times(raw: dict) -> dict:
    return raw | {k: _time(raw[k]) for k in ("created_at", "updated_at")}


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _issue(raw: dict) -> Issue:
    return Issue(**(_times(raw) | {"labels": tuple(raw["labels"])}), title="", body=None)


def _comment(raw: dict) -> Comment:
    return Comment(**_times(raw), body=None)


def _repo_comment(raw: dict) -> RepoComment:
    return RepoComment(**_times(raw), body=None)
