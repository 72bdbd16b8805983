"""Thin adapter over requests for Sentry's project issues: bounded retries, Link-header paging."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit

import requests

from scripts.clients.access import adapter
from scripts.clients.http import (
    ServiceError,
    first_line,
    not_json,
    retrying_session,
    timeouts,
    transport_reason,
    wait_note,
)
from scripts.stale import sentry_errors

DEFAULT_URL = "https://sentry.io/api/0"
API_PATH = "/api/0"
MAX_PAGES = 20  # per project and run: 2000 issues at Sentry's 100 a page


class SentryError(ServiceError):
    """A Sentry request failed (after retries); never carries the credentials."""

    service = "Sentry"


@dataclass(frozen=True)
class Issue:
    """An issue (a group of events) as the jobs need it."""

    id: str
    short_id: str
    title: str
    project: str  # slug
    project_id: str
    first_seen: datetime
    last_seen: datetime
    count: int  # events in all
    permalink: str
    assigned_to: str | None = None  # the assignee's name (a user or a team); None: unassigned
    culprit: str = ""
    level: str = "error"
    status: str = "unresolved"
    stats_24h: tuple[tuple[datetime, int], ...] = ()  # hourly buckets: (start, events)


@dataclass(frozen=True)
class IssueList:
    issues: tuple[Issue, ...]
    complete: bool  # False when max_pages stopped the paging early


def api_url(base_url: str | None = None) -> str:
    """SENTRY_API_URL, or the default; a bare host (https://sentry.example.com) gets /api/0."""
    url = (base_url or os.environ.get("SENTRY_API_URL") or DEFAULT_URL).rstrip("/")
    return url if urlsplit(url).path else url + API_PATH


def web_url(base_url: str | None = None) -> str:
    """Sentry's web address behind an API URL: the API URL without /api/0."""
    return api_url(base_url).removesuffix(API_PATH)


def parse_time(text: str) -> datetime:
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _assignee(raw: Mapping | None) -> str | None:
    if not raw:
        return None
    return str(raw.get("name") or raw.get("email") or raw.get("id") or raw.get("type") or "someone")


def _issue(raw: Mapping) -> Issue:
    project = raw.get("project") or {}
    buckets = (raw.get("stats") or {}).get("24h") or ()
    return Issue(
        id=str(raw["id"]),
        short_id=raw.get("shortId") or str(raw["id"]),
        title=raw.get("title") or "",
        project=project.get("slug") or "",
        project_id=str(project.get("id") or ""),
        first_seen=parse_time(raw["firstSeen"]),
        last_seen=parse_time(raw["lastSeen"]),
        count=int(raw.get("count") or 0),  # a string in the API: it can pass 2**53
        permalink=raw.get("permalink") or "",
        assigned_to=_assignee(raw.get("assignedTo")),
        culprit=raw.get("culprit") or "",
        level=raw.get("level") or "error",
        status=raw.get("status") or "unresolved",
        stats_24h=tuple((datetime.fromtimestamp(t, UTC), int(n)) for t, n in buckets),
    )


@adapter
class Sentry:
    """The Sentry endpoint the jobs use; SENTRY_API_URL overrides the base URL."""

    def __init__(
        self,
        token: str,
        base_url: str | None = None,
        *,
        retries: int = 3,
        backoff: float = 0.25,
        max_wait: int = 30,
        timeout: tuple[float, float] | None = None,
    ):
        self.url = api_url(base_url)
        self.http = retrying_session(retries, backoff, max_wait)
        self.http.headers["Authorization"] = f"Bearer {token}"
        self.timeout = timeout or timeouts()

    def _get(self, path: str, params: Mapping) -> requests.Response:
        what = f"GET {path}"
        try:
            r = self.http.get(self.url + path, params=params, timeout=self.timeout)
        except requests.RequestException as exc:
            raise SentryError(what, None, transport_reason(exc, self.timeout)) from None
        if r.status_code >= 400:
            raise SentryError(what, r.status_code, _error_message(r) + wait_note(r))
        try:
            r.json()  # a proxy's page answered 200 is no list of issues
        except ValueError:
            raise SentryError(what, None, not_json(r)) from None
        return r

    def project_issues(
        self,
        organization: str,
        project: str,
        query: str = "is:unresolved",
        max_pages: int = MAX_PAGES,
    ) -> IssueList:
        """A project's issues matching a Sentry search, with 24 hourly event counts each."""
        path = f"/projects/{organization}/{project}/issues/"
        params = {"query": query, "statsPeriod": "24h"}
        found: list[Issue] = []
        for _ in range(max_pages):
            r = self._get(path, params)
            found += [_issue(raw) for raw in r.json()]
            nxt = r.links.get("next") or {}
            if nxt.get("results") != "true" or not nxt.get("cursor"):
                return IssueList(tuple(found), True)
            params["cursor"] = nxt["cursor"]
        return IssueList(tuple(found), False)

    def issues(
        self,
        organization: str,
        projects: Iterable[str],
        query: str = "is:unresolved",
        max_pages: int = MAX_PAGES,
    ) -> IssueList:
        """The issues of several projects of one organization, project by project."""
        found: list[Issue] = []
        complete = True
        for project in projects:
            listing = self.project_issues(organization, project, query, max_pages)
            found += listing.issues
            complete = complete and listing.complete
        return IssueList(tuple(found), complete)


def _error_message(r: requests.Response) -> str:
    """Sentry's own `detail`, else the reason phrase (never the request's headers)."""
    try:
        return first_line(r.json()["detail"])
    except (ValueError, KeyError, TypeError):
        return not_json(r) if r.status_code >= 500 else (r.reason or "error")


def read_new_unassigned(
    token: str | None, cfg: sentry_errors.Settings, start: datetime
) -> sentry_errors.Reading:
    """Sentry's new unassigned errors since `start`, as a reading: no token is "not_read", an
    outage "failed" (the handoff and the digest go on without a fresh count), never a raise."""
    if not token:
        return sentry_errors.Reading("not_read", "SENTRY_TOKEN is not set")
    query = sentry_errors.search_query(start)
    try:
        found = Sentry(token).issues(cfg.organization, cfg.projects, query)
    except SentryError as exc:
        return sentry_errors.Reading("failed", str(exc))
    new = tuple(sentry_errors.new_unassigned(found.issues, start))
    return sentry_errors.Reading("ok", "", new, found.complete)
