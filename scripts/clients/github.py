"""Thin adapter over PyGithub: paced, bounded retries, lazy paging, and small dataclasses."""

from __future__ import annotations

import math
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from functools import wraps

import requests
from github import Auth, Github, GithubException, GithubRetry, UnknownObjectException
from github.GithubException import RateLimitExceededExceedsMaxWait
from github.Issue import Issue as GithubIssue
from github.IssueComment import IssueComment as GithubIssueComment
from urllib3.exceptions import MaxRetryError

from scripts import redaction
from scripts.clients.access import adapter, writes
from scripts.clients.http import (
    Failure,
    answer_reason,
    first_line,
    retry_cap,
    timeouts,
    transport_reason,
)

DEFAULT_URL = "https://api.github.com"
PAGE = 100  # the most GitHub's list endpoints give per request
# GitHub's secondary limits: 900 points a minute (a read costs 1) and, for writes, "at least one
# second between each request". Serial requests 0.1 s apart stay under the first; a second between
# writes also stays under the 80 content-creating requests a minute.
SECONDS_BETWEEN_REQUESTS = 0.1
SECONDS_BETWEEN_WRITES = 1.0
RETRIES = 4  # backoff 0.5, 1, 2, 4 s for 5xx: under 8 s in all
MAX_WAIT = 120.0  # longer rate-limit waits give up: the next scheduled run resumes
POST_TRIES = 2  # a comment whose answer was lost: looked for, then posted once more at most


NOT_JSON = "GitHub answered what is not the API's JSON (a proxy, a login page or an outage?)"


class GitHubError(Failure):
    """A GitHub request failed after retries; `status` is the HTTP status (0 for no answer)."""

    def __init__(self, status: int, message: str):
        super().__init__(f"GitHub answered {status}: {message}" if status else message)
        self.status = status

    @property
    def setup(self) -> bool:  # a 403 is also a rate limit that outlasted the waiting
        return self.status == 401 or (self.status == 403 and "rate limit" not in str(self).lower())


@dataclass(frozen=True)
class Issue:
    repo: str
    number: int
    title: str
    body: str | None
    state: str
    is_pull_request: bool
    labels: tuple[str, ...]
    user: str  # login
    user_type: str  # "User", "Bot", "Organization"
    author_association: str  # MEMBER, OWNER, COLLABORATOR, CONTRIBUTOR, NONE, ...
    comments: int
    created_at: datetime
    updated_at: datetime
    html_url: str = ""


@dataclass(frozen=True)
class Comment:
    id: int
    user: str
    body: str | None
    created_at: datetime
    updated_at: datetime
    author_association: str = "NONE"


@dataclass(frozen=True)
class RepoComment(Comment):
    """A comment from a repository-wide listing: which issue it is on, and who wrote it."""

    issue_number: int = 0
    user_type: str = "User"  # "Bot" for apps


@dataclass(frozen=True)
class Changed:
    """What a conditional listing gave: None when GitHub answered 304 (nothing changed since
    the listing that gave `etag`); `complete` False when `max_pages` cut it."""

    items: tuple | None
    etag: str | None
    complete: bool = True


@dataclass(frozen=True)
class User:
    login: str
    name: str | None = None
    company: str | None = None
    email: str | None = None
    blog: str | None = None
    type: str = "User"


@dataclass(frozen=True)
class PullRequest:
    number: int
    html_url: str
    head: str  # the branch


@dataclass(frozen=True)
class Label:
    name: str
    color: str
    description: str | None = None


class _BoundedRetry(GithubRetry):
    """GithubRetry that never repeats a POST the server may have carried out, and refuses a
    Retry-After over max_rate_limit_wait (urllib3 would wait it out)."""

    def is_retry(self, method: str, status_code: int, has_retry_after: bool = False) -> bool:
        # A 5xx after a POST may follow a comment that was made: a retry could post it twice.
        # A rate limit (403, 429) means the request was refused, so a retry is safe.
        if method == "POST" and status_code not in (403, 429):
            return False
        return super().is_retry(method, status_code, has_retry_after)

    def increment(self, method=None, url=None, response=None, error=None, *args, **kwargs):
        if method == "POST" and error is not None and self._is_read_error(error):
            # the request was sent and no answer came: the comment may exist; never resend here
            raise MaxRetryError(kwargs.get("_pool"), url, error)
        after = response.headers.get("Retry-After") if response is not None else None
        if after and after.isdigit() and float(after) > (self.max_rate_limit_wait or float("inf")):
            data = {"message": f"asked to wait {after} s, more than we wait"}
            raise RateLimitExceededExceedsMaxWait(
                response.status, data, response.headers, wait=float(after)
            )
        return super().increment(method, url, response, error, *args, **kwargs)


def retry(retries: int = RETRIES, max_wait: float = MAX_WAIT) -> GithubRetry:
    """Retries of 429, 5xx and rate-limited 403 (PyGithub reads GitHub's headers for the wait)."""
    retries = retry_cap(retries)
    return _BoundedRetry(
        total=retries,
        connect=retries,  # refused or reset: often a restart, worth a few quick tries
        read=0,  # sent and not answered within the timeout: not sent again
        other=0,  # a TLS failure does not mend itself
        backoff_factor=0.5,
        backoff_max=30,
        status_forcelist=[429, *range(500, 600)],  # GithubRetry adds 403, checking it is a limit
        # Ours are idempotent: PATCH sets absolute labels and body. POST: see _BoundedRetry.
        allowed_methods={"GET", "HEAD", "PUT", "PATCH", "DELETE", "POST"},
        respect_retry_after_header=True,
        raise_on_status=False,  # the last answer reaches PyGithub, which raises its exception
        secondary_rate_wait=60,  # GitHub: wait a minute when a secondary limit gives no time
        max_rate_limit_wait=max_wait,
    )


def _env_float(name: str, default: float) -> float:
    return float(os.environ.get(name) or default)


def _errors(fn):
    """PyGithub's exceptions as GitHubError, carrying the status and GitHub's message only."""

    @wraps(fn)
    def call(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except GithubException as exc:
            raise GitHubError(exc.status or 0, _message(exc)) from None
        except requests.RequestException as exc:  # its text may hold the URL: say what it means
            raise GitHubError(0, f"GitHub gave no answer: {transport_reason(exc)}") from None
        except (TypeError, KeyError, ValueError, AttributeError):  # PyGithub parsing a page
            raise GitHubError(0, NOT_JSON) from None

    return call


def _message(exc: GithubException) -> str:
    """GitHub's own message (its first line), or what the answer was when it is no JSON."""
    if isinstance(exc.data, dict) and exc.data.get("message"):
        return first_line(exc.data["message"])
    if isinstance(exc.data, str) and exc.data.strip():
        return answer_reason(exc.status, "", exc.data)
    return type(exc).__name__


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


@adapter
class GitHub:
    """The REST calls the jobs make; GITHUB_API_URL overrides the base URL.

    Pacing between requests can be lowered with GITHUB_SECONDS_BETWEEN_REQUESTS and
    GITHUB_SECONDS_BETWEEN_WRITES, for a local test server only.
    """

    def __init__(self, token: str | None, base_url: str | None = None, timeout: float = 0):
        self._gh = Github(
            auth=Auth.Token(token) if token else None,
            base_url=(base_url or os.environ.get("GITHUB_API_URL") or DEFAULT_URL).rstrip("/"),
            timeout=math.ceil(timeout or timeouts()[1]),  # PyGithub takes whole seconds only
            per_page=PAGE,
            retry=retry(),
            seconds_between_requests=_env_float(
                "GITHUB_SECONDS_BETWEEN_REQUESTS", SECONDS_BETWEEN_REQUESTS
            ),
            seconds_between_writes=_env_float(
                "GITHUB_SECONDS_BETWEEN_WRITES", SECONDS_BETWEEN_WRITES
            ),
            lazy=True,  # objects are made without a request; only what we call is fetched
        )

    def _repo(self, repo: str):
        return self._gh.get_repo(repo)

    def iter_issues(
        self,
        repo: str,
        state: str = "open",
        sort: str = "updated",
        direction: str = "desc",
        since: datetime | None = None,
    ) -> Iterator[Issue]:
        """Issues and pull requests, a page of 100 fetched only when the previous is used up."""
        kwargs = {"state": state, "sort": sort, "direction": direction}
        if since is not None:
            kwargs["since"] = since
        pages = _errors(lambda: iter(self._repo(repo).get_issues(**kwargs)))()
        while True:
            item = _errors(next)(pages, None)
            if item is None:
                return
            yield _issue(repo, item)

    @_errors
    def issue(self, repo: str, number: int) -> Issue:
        return _issue(repo, self._repo(repo).get_issue(number).complete())

    @_errors
    def unchanged_since(self, repo: str, number: int, updated_at: datetime) -> bool:
        """Whether an issue is as it was at `updated_at`: a conditional GET, which GitHub
        answers 304 without counting it against the rate limit when nothing changed."""
        since = format_datetime(updated_at.astimezone(UTC), usegmt=True)
        url = f"/repos/{repo}/issues/{number}"
        _, data = self._gh.requester.requestJsonAndCheck(
            "GET", url, headers={"If-Modified-Since": since}
        )
        if not data:  # 304 Not Modified
            return True
        return _utc(datetime.fromisoformat(data["updated_at"].replace("Z", "+00:00"))) == updated_at

    @_errors
    def comments(self, repo: str, number: int) -> list[Comment]:
        return [_comment(c) for c in self._repo(repo).get_issue(number).get_comments()]

    def iter_repo_comments(self, repo: str, since: datetime) -> Iterator[RepoComment]:
        """Comments on every issue and pull request of a repository updated since `since`,
        newest update first, a page of 100 fetched only when the previous is used up."""
        listing = self._repo(repo).get_issues_comments(
            sort="updated", direction="desc", since=since.astimezone(UTC)
        )
        pages = _errors(lambda: iter(listing))()
        while (c := _errors(next)(pages, None)) is not None:
            yield _repo_comment(c)

    @_errors
    def changed_issues(self, repo: str, since: datetime, etag: str | None, max_pages: int):
        """Issues and pull requests of every state updated since `since`, newest first (a closed
        one says it left), as a conditional request (see `Changed`)."""
        query = {"state": "all", "sort": "updated", "direction": "desc"}
        read = lambda raw: _issue(repo, self._gh.create_from_raw_data(GithubIssue, raw))  # noqa: E731
        return self._conditional(f"/repos/{repo}/issues", query, since, etag, max_pages, read)

    @_errors
    def changed_comments(self, repo: str, since: datetime, etag: str | None, max_pages: int):
        """Comments of a repository updated since `since`, newest first, conditionally."""
        query = {"sort": "updated", "direction": "desc"}
        read = lambda raw: _repo_comment(self._gh.create_from_raw_data(GithubIssueComment, raw))  # noqa: E731
        return self._conditional(f"/repos/{repo}/issues/comments", query, since, etag, max_pages,
                                 read)  # fmt: skip

    def _conditional(self, url: str, query: dict, since: datetime, etag: str | None,
                     max_pages: int, read) -> Changed:  # fmt: skip
        """A listing's pages of 100, the first asked with If-None-Match: GitHub answers 304,
        not counted against the rate limit, while nothing in it changed (docs: "Best practices
        for using the REST API", conditional requests)."""
        params = {**query, "since": _iso(since), "per_page": PAGE}
        headers = {"If-None-Match": etag} if etag else None
        got, data = self._gh.requester.requestJsonAndCheck("GET", url, params, headers)
        if data is None:  # 304 Not Modified: no body
            return Changed(None, etag)
        items, etag, pages = list(data), got.get("etag"), 1
        while (after := _next_link(got)) and pages < max_pages:
            got, data = self._gh.requester.requestJsonAndCheck("GET", after)
            items, pages = items + list(data or ()), pages + 1
        return Changed(tuple(read(i) for i in items), etag, not after)

    @_errors
    def user(self, login: str) -> User | None:
        """A public profile; None when the account no longer exists."""
        try:
            u = self._gh.get_user(login).complete()
        except UnknownObjectException:
            return None
        return User(u.login, u.name, u.company, u.email, u.blog or None, u.type)

    @_errors
    def is_public_member(self, org: str, login: str) -> bool:
        """Whether `login` shows membership of `org` publicly (a private one is not ours to see)."""
        user = self._gh.get_user(login, lazy=True)  # without lazy=True, get_user fetches it
        return self._gh.get_organization(org).has_in_public_members(user)

    @_errors
    def labels(self, repo: str) -> list[Label]:
        return [Label(x.name, x.color, x.description) for x in self._repo(repo).get_labels()]

    @_errors
    @writes
    def create_label(self, repo: str, name: str, color: str, description: str) -> None:
        self._repo(repo).create_label(name, color, description)

    @_errors
    @writes
    def edit_issue(self, repo: str, number: int, labels: list[str], body: str) -> None:
        """Set the labels and body in one PATCH (one write)."""
        self._repo(repo).get_issue(number).edit(labels=labels, body=body)

    @_errors
    @writes
    def comment(self, repo: str, number: int, body: str) -> Comment:
        """Post a comment. A POST that got a 5xx or no answer may have made it (specs/README.md):
        before any second try the issue's comments are read for one with this very body."""
        issue = self._repo(repo).get_issue(number)
        body = redaction.redact(body)  # nothing this run holds secret is posted, from any source
        for attempt in range(POST_TRIES):
            try:
                return _comment(issue.create_comment(body))
            except (GithubException, requests.RequestException) as exc:
                lost = not isinstance(exc, GithubException) or (exc.status or 0) >= 500
                if not lost or attempt == POST_TRIES - 1:
                    raise
            if found := next((c for c in self.comments(repo, number) if c.body == body), None):
                return found
        raise AssertionError("unreachable")  # the loop returns or raises

    # -- pull requests that edit a file (request_swap)

    @_errors
    def open_pull(self, repo: str, branch: str) -> PullRequest | None:
        """The open pull request from `branch` of `repo` itself, if there is one."""
        owner = repo.split("/")[0]
        for pull in self._repo(repo).get_pulls(state="open", head=f"{owner}:{branch}"):
            return PullRequest(pull.number, pull.html_url, pull.head.ref)
        return None

    @_errors
    def file_text(self, repo: str, path: str, branch: str) -> tuple[str, str] | None:
        """A file's text on `branch` and its blob sha; None when it is not there."""
        try:
            found = self._repo(repo).get_contents(path, ref=branch)
        except UnknownObjectException:
            return None
        if isinstance(found, list):  # a directory
            return None
        return found.decoded_content.decode("utf-8"), found.sha

    @_errors
    def branch_sha(self, repo: str, branch: str) -> str | None:
        try:
            return self._repo(repo).get_git_ref(f"heads/{branch}").object.sha
        except UnknownObjectException:
            return None

    @_errors
    @writes
    def propose(
        self, repo: str, base: str, branch: str, path: str, text: str, title: str, body: str
    ) -> PullRequest:
        """The pull request from `branch` (made from `base`) whose commit sets `path` to
        `text`. Each step looks first for what an earlier, cut-off run made: the branch, the
        file on it, the pull request; the POST that opens it is sent again only after looking
        for it by its branch (an answer lost to a 5xx may follow a pull request made)."""
        if found := self.open_pull(repo, branch):
            return found
        r = self._repo(repo)
        if self.branch_sha(repo, branch) is None:
            start = self.branch_sha(repo, base)
            if start is None:
                raise GitHubError(404, f"{repo} has no branch {base}")
            r.create_git_ref(f"refs/heads/{branch}", start)
        current = self.file_text(repo, path, branch)
        if current is None:
            r.create_file(path, title, text, branch=branch)
        elif current[0] != text:
            r.update_file(path, title, text, current[1], branch=branch)
        body = redaction.redact(body)
        for attempt in range(POST_TRIES):
            try:
                pull = r.create_pull(base=base, head=branch, title=title, body=body)
                return PullRequest(pull.number, pull.html_url, pull.head.ref)
            except (GithubException, requests.RequestException) as exc:
                lost = not isinstance(exc, GithubException) or (exc.status or 0) >= 500
                if not lost or attempt == POST_TRIES - 1:
                    raise
            if found := self.open_pull(repo, branch):
                return found
        raise AssertionError("unreachable")  # the loop returns or raises

    @property
    def rate_remaining(self) -> int | None:
        """Requests left in the current rate-limit window, from the last answer's headers."""
        remaining, _ = self._gh.requester.rate_limiting  # no request, unlike Github.rate_limiting
        return remaining if remaining >= 0 else None

    @_errors
    @writes
    def edit_comment(self, repo: str, number: int, comment_id: int, body: str) -> Comment:
        """Replace a comment's body: one PATCH (the issue and comment objects are lazy)."""
        comment = self._repo(repo).get_issue(number).get_comment(comment_id)
        comment.edit(redaction.redact(body))
        return _comment(comment)


def _issue(repo: str, i) -> Issue:
    return Issue(
        repo=repo,
        number=i.number,
        title=i.title or "",
        body=i.body,
        state=i.state,
        # `i.pull_request` is absent from an issue's JSON, and PyGithub would fetch the issue
        # again to look for it; a pull request's page is .../pull/N (issues: .../issues/N).
        is_pull_request="/pull/" in (i.html_url or ""),
        labels=tuple(label.name for label in i.labels),
        user=i.user.login if i.user else "ghost",
        user_type=i.user.type if i.user else "User",
        author_association=i.author_association or "NONE",
        comments=i.comments,
        created_at=_utc(i.created_at),
        updated_at=_utc(i.updated_at),
        html_url=i.html_url or "",
    )


def _repo_comment(c) -> RepoComment:
    number = int((c.issue_url or "/0").rstrip("/").rsplit("/", 1)[1])
    user_type = c.user.type if c.user else "User"
    return RepoComment(**vars(_comment(c)), issue_number=number, user_type=user_type)


def _iso(instant: datetime) -> str:
    return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _next_link(headers: Mapping[str, str]) -> str | None:
    links = requests.utils.parse_header_links(headers.get("link", ""))
    return next((link["url"] for link in links if link.get("rel") == "next"), None)


def _comment(c) -> Comment:
    return Comment(
        id=c.id,
        user=c.user.login if c.user else "ghost",
        body=c.body,
        created_at=_utc(c.created_at),
        updated_at=_utc(c.updated_at),
        author_association=getattr(c, "author_association", None) or "NONE",
    )


APP_TOKEN, HOME = "GITHUB_APP_TOKEN", "GITHUB_REPOSITORY"


@adapter
class Clients:
    """A client per repository: the workflow's own GITHUB_TOKEN for the repository it runs in
    ($GITHUB_REPOSITORY), a GitHub App installation token ($GITHUB_APP_TOKEN, from
    actions/create-github-app-token) for the others, where the workflow's token has no access.
    Without an app token every repository gets GITHUB_TOKEN (docs/setup.md: other repositories)."""

    def __init__(self, token: str, env: Mapping[str, str] = os.environ):
        self.home = (env.get(HOME) or "").lower()
        self._own = GitHub(token)
        app = env.get(APP_TOKEN) or None
        self._app = GitHub(app) if app and app != token else self._own

    @property
    def own(self) -> GitHub:
        """The client for reads not tied to a repository (users, organisations)."""
        return self._own

    def for_repo(self, repo: str) -> GitHub:
        return self._own if repo.lower() == self.home else self._app
