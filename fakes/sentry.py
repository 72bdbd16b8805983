"""Stateful fake of Sentry's project issues endpoint, checked against specs/sentry-issues.json.

Unresolved (and resolved) issues per project with firstSeen, count, 24 hourly event buckets,
assignedTo and permalink; 100 a page with Sentry's Link-header cursors; the search subset the
jobs send (`is:unresolved|resolved|assigned|unassigned`, `firstSeen:>=|>ISO`; anything else is a
violation). Seed with `add_project`/`add_issue` or `seed_from_rotation`; serve it outside pytest
with `python -m fakes.serve sentry`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

from fakes.base import FakeService, route

PAGE = 100  # Sentry's page of issues
DEFAULT_TOKEN = "fake-sentry-token"
HOUR = timedelta(hours=1)
ISSUES = "/api/0/projects/{organization_slug}/{project_slug}/issues/"


def _iso(instant: datetime) -> str:
    return instant.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _parse(text: str) -> datetime | None:
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _hour(instant: datetime) -> datetime:
    return instant.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


class SentryFake(FakeService):
    """Sentry: `Authorization: Bearer <token>`, one organization's projects and their issues."""

    spec = "sentry-issues.json"
    env_var = "SENTRY_API_URL"
    # The subset documents 403 only, without a body; the live API answers 401 for a missing or
    # unknown token, 403 without access and 404 for an unknown project, each with {"detail"}.
    spec_patches = tuple(
        (("paths", ISSUES, "get", "responses", status), {"description": why, "content": {
            "application/json": {"schema": {"type": "object", "required": ["detail"],
                                             "properties": {"detail": {"type": "string"}}}}}})
        for status, why in (("401", "Unauthorized"), ("403", "Forbidden"), ("404", "Not Found"))
    )  # fmt: skip

    def __init__(self, token: str = DEFAULT_TOKEN, clock: datetime | None = None, **kw):
        super().__init__(**kw)
        self.token = token
        self.clock = clock  # the fake's "now" (the stats buckets); None: real time
        self.projects: dict[tuple[str, str], dict] = {}  # (organization, slug) -> project
        self.issues: dict[str, dict] = {}
        self._next_id = 4_000_000_001

    def now(self) -> datetime:
        return self.clock or datetime.now(UTC)

    def env(self) -> dict[str, str]:
        # SENTRY_API_URL is the API's base, below the spec's /api/0 paths
        return super().env() | {"SENTRY_API_URL": self.url + "/api/0", "SENTRY_TOKEN": self.token}

    def error_body(self, status: int) -> dict:
        return {"detail": "fake error"}

    # -- seeding (tests, the demo)

    def add_project(self, organization: str, slug: str) -> str:
        with self.lock:
            project = self.projects.get((organization, slug))
            if project is None:
                project = {"id": str(100 + len(self.projects)), "name": slug.title(), "slug": slug}
                self.projects[organization, slug] = project
            return project["id"]

    def add_issue(
        self,
        organization: str,
        project: str,
        title: str,
        first_seen: datetime,
        *,
        recent: Sequence[int] = (1,),
        count: int | None = None,
        assigned_to: str | None = None,
        status: str = "unresolved",
        level: str = "error",
        culprit: str = "",
    ) -> str:
        """An issue; `recent`: events in the last len(recent) hours, oldest first, ending with
        the current hour; `count`: events in all (default: those)."""
        self.add_project(organization, project)
        with self.lock:
            iid = str(self._next_id)
            self._next_id += 1
            now = _hour(self.now())
            hourly = {now - HOUR * (len(recent) - 1 - k): n for k, n in enumerate(recent) if n}
            last = max(hourly, default=first_seen)
            self.issues[iid] = {
                "id": iid,
                "organization": organization,
                "project": project,
                "title": title,
                "culprit": culprit,
                "level": level,
                "status": status,
                "first_seen": first_seen,
                "last_seen": max(last, first_seen),
                "count": sum(recent) if count is None else count,
                "hourly": hourly,
                "assigned_to": assigned_to,
                "short": f"{project.upper()}-{len(self.issues) + 1:X}",
            }
            return iid

    def assign(self, iid: str, who: str | None) -> None:
        with self.lock:
            self.issues[iid]["assigned_to"] = who

    def resolve(self, iid: str) -> None:
        with self.lock:
            self.issues[iid]["status"] = "resolved"

    def seed_from_rotation(self, rot, now: datetime | None = None) -> list[str]:
        """A few issues in each project of the rotation's `sentry` section (the demo)."""
        cfg = rot.settings.get("sentry") or {"organization": "demo", "projects": ["web"]}
        org, now = cfg["organization"], now or self.now()
        hero = next(iter(rot.people.values())).name
        demo = [  # title, first seen hours ago, events in the last hours, events in all, assignee
            ("TypeError: <b> is undefined", 1, [0, 3, 40], None, None),
            ("Timeout talking to billing", 3, [5, 5, 5], 900, None),
            ("Old flaky test", 30 * 24, [1], 4000, None),
            ("Already looked at", 2, [2], None, hero),
        ]
        made = []
        for project in cfg["projects"]:
            for title, hours, recent, count, who in demo:
                kw = {"recent": recent, "count": count, "assigned_to": who}
                made.append(self.add_issue(org, project, title, now - hours * HOUR, **kw))
        return made

    # -- JSON views

    def _issue_json(self, issue: dict, org: str, stats: str | None) -> dict:
        project = self.projects[org, issue["project"]]
        assignee = issue["assigned_to"]
        out = {
            "id": issue["id"],
            "shortId": issue["short"],
            "title": issue["title"],
            "culprit": issue["culprit"],
            "permalink": f"https://{org}.sentry.io/issues/{issue['id']}/",
            "logger": None,
            "level": issue["level"],
            "status": issue["status"],
            "statusDetails": {},
            "isPublic": False,
            "project": dict(project),
            "type": "error",
            "metadata": {"type": issue["title"].partition(":")[0], "value": issue["title"]},
            "numComments": 0,
            "assignedTo": {"type": "user", "id": "1", "name": assignee} if assignee else None,
            "isBookmarked": False,
            "isSubscribed": False,
            "subscriptionDetails": None,
            "hasSeen": False,
            "annotations": [],
            "shareId": None,
            "count": str(issue["count"]),
            "userCount": min(issue["count"], 3),
            "firstSeen": _iso(issue["first_seen"]),
            "lastSeen": _iso(issue["last_seen"]),
            "stats": {},
        }
        if stats == "24h":
            now = _hour(self.now())
            buckets = [now - HOUR * k for k in range(23, -1, -1)]
            out["stats"] = {
                "24h": [[int(b.timestamp()), issue["hourly"].get(b, 0)] for b in buckets]
            }
        return out

    # -- search

    def _search(self, req, query: str):
        """A predicate for the search subset; None (and a violation) for anything else."""
        tests = []
        for term in query.split():
            key, _, value = term.partition(":")
            if key == "is" and value in ("unresolved", "resolved"):
                tests.append(lambda i, v=value: i["status"] == v)
            elif key == "is" and value in ("assigned", "unassigned"):
                tests.append(lambda i, v=value: (i["assigned_to"] is None) == (v == "unassigned"))
            elif key == "firstSeen" and value[:2] == ">=" and (at := _parse(value[2:])):
                tests.append(lambda i, at=at: i["first_seen"] >= at)
            elif key == "firstSeen" and value[:1] == ">" and (at := _parse(value[1:])):
                tests.append(lambda i, at=at: i["first_seen"] > at)
            else:
                self.violation(f"GET {req.path}: the fake knows no search term {term!r}")
                return None
        return lambda issue: all(t(issue) for t in tests)

    # -- the endpoint

    @route("GET", ISSUES)
    def list_issues(self, req, organization_slug, project_slug):
        if req.authorization != f"Bearer {self.token}":
            return 401, {"detail": "Invalid token"}
        if (organization_slug, project_slug) not in self.projects:
            return 404, {"detail": "The requested resource does not exist"}
        wanted = self._search(req, req.query.get("query", "is:unresolved"))
        if wanted is None:
            return 400, {"detail": "Invalid search"}
        found = sorted(
            (
                i
                for i in self.issues.values()
                if (i["organization"], i["project"]) == (organization_slug, project_slug)
                and wanted(i)
            ),
            key=lambda i: (-i["last_seen"].timestamp(), i["id"]),  # Sentry's default: last seen
        )
        offset = self._offset(req)
        if offset is None:
            return 400, {"detail": "Invalid cursor"}
        page = found[offset : offset + PAGE]
        stats = req.query.get("statsPeriod")
        body = [self._issue_json(i, organization_slug, stats) for i in page]
        more = offset + PAGE < len(found)
        return 200, body, {"Link": self._link(req, offset, more)}

    def _offset(self, req) -> int | None:
        """Sentry cursors read `value:offset:is_prev`; we only hand out `0:<offset>:0`."""
        cursor = req.query.get("cursor")
        if cursor is None:
            return 0
        parts = cursor.split(":")
        if len(parts) != 3 or not parts[1].isdigit() or int(parts[1]) % PAGE:
            self.violation(f"GET {req.path}: cursor {cursor!r} is none we gave")
            return None
        return int(parts[1])

    def _link(self, req, offset: int, more: bool) -> str:
        """Both links always, as Sentry sends them; `results` says whether a page holds any."""
        base = self.url + req.path
        args = {k: v for k, v in req.query.items() if k != "cursor"}

        def one(rel: str, cursor: str, results: bool) -> str:
            url = f"{base}?{urlencode(args | {'cursor': cursor})}"
            return f'<{url}>; rel="{rel}"; results="{str(results).lower()}"; cursor="{cursor}"'

        previous = f"0:{max(0, offset - PAGE)}:1"
        return ", ".join(
            (one("previous", previous, offset > 0), one("next", f"0:{offset + PAGE}:0", more))
        )
