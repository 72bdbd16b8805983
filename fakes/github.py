"""Stateful fake of the GitHub REST API: repositories, issues and pull requests, comments, labels,
users and organisation membership, with GitHub's paging (Link headers) and rate limits.

Real PyGithub talks to it over loopback; every request and response is checked against
specs/github-rest.json (one hand-written addition below). Outside pytest (the demo)::

    fake = GitHubFake().start()
    fake.seed_from_rotation(rot, directory)  # team members, repositories, some issues
    os.environ.update(fake.env())            # GITHUB_API_URL, GITHUB_TOKEN, no pacing
    ...
    fake.stop()
"""

from __future__ import annotations

import hashlib
import itertools
import math
import re
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime
from typing import Any
from urllib.parse import urlencode

from werkzeug.wrappers import Response

from fakes.base import Call, FakeService, _encode, route
from fakes.github_git import GitData
from fakes.github_names import DOCS, SITE, VIEWER, parse_stamp, stamp

TOKEN = "ghp_fakeSupportHeroToken000000000000000"
_ISSUE_ROUTE = "/repos/{owner}/{repo}/issues/{issue_number}"

# GitHub redirects "check membership" (in the spec) to public_members when the requester is not
# in the organisation (its 302 documents that Location); the file lacks the target operation,
# written here from docs.github.com/rest/orgs/members ("Check public organization membership").
PUBLIC_MEMBERS = {
    "get": {
        "summary": "Check public organization membership for a user (hand-written)",
        "parameters": [
            {"$ref": "#/components/parameters/org"},
            {"$ref": "#/components/parameters/username"},
        ],
        "responses": {
            "204": {"description": "Response if user is a public member"},
            "404": {"description": "Not Found if user is not a public member"},
        },
    }
}


@dataclass
class FakeIssue:
    number: int
    user: str
    title: str
    body: str | None
    created_at: datetime
    updated_at: datetime
    labels: list[str] = field(default_factory=list)
    state: str = "open"
    association: str = "NONE"
    pull_request: bool = False
    comments: list[dict] = field(default_factory=list)


@dataclass
class FakeRepo:
    owner: str
    name: str
    id: int
    labels: dict[str, dict] = field(default_factory=dict)  # lowercase name -> label JSON
    issues: dict[int, FakeIssue] = field(default_factory=dict)
    # git data (fakes/github_git.py): a commit is a whole tree, path -> bytes
    default_branch: str = "main"
    branches: dict[str, str] = field(default_factory=dict)  # name -> commit sha
    commits: dict[str, dict[str, bytes]] = field(default_factory=dict)
    messages: dict[str, tuple[str, str | None]] = field(default_factory=dict)  # message, parent
    pulls: dict[int, dict] = field(default_factory=dict)  # number -> head, base, state, title

    @property
    def full_name(self) -> str:
        return f"{self.owner}/{self.name}"


def _error(status: int, message: str, **extra) -> tuple[int, dict]:
    return status, {"message": message, "documentation_url": DOCS, **extra}


class GitHubFake(GitData, FakeService):
    spec = "github-rest.json"
    env_var = "GITHUB_API_URL"
    base_path = ""  # the API sits at the root of its host, as api.github.com does
    spec_patches = ((("paths", "/orgs/{org}/public_members/{username}"), PUBLIC_MEMBERS),)

    def __init__(self, token: str = TOKEN, clock: datetime | None = None, **kw):
        super().__init__(**kw)
        self.token = token
        # token -> the repositories it reaches (None: all). A workflow's GITHUB_TOKEN reaches only
        # the repository the workflow runs in (docs.github.com, "Automatic token
        # authentication": "permissions are limited to the repository that contains your
        # workflow"); a GitHub App installation token, the repositories it is installed on.
        self.scopes: dict[str, frozenset[str] | None] = {token: None}
        self.clock = clock  # the fake's "now"; None: real time
        self.repos: dict[str, FakeRepo] = {}
        self.users: dict[str, dict] = {}  # lowercase login -> profile fields
        self.org_members: dict[str, dict[str, bool]] = {}  # org -> login -> public?
        self.rate_limit, self.rate_used, self.rate_reset = 5000, 0, 0
        # (repo, number) -> body its author saves just as the issue is next read on its own:
        # a person editing while a job works on the issue
        self.edits_on_read: dict[tuple[str, int], str] = {}
        self._ids = itertools.count(1001)

    def now(self) -> datetime:
        return (self.clock or datetime.now(UTC)).replace(microsecond=0)

    def advance(self, **delta) -> datetime:
        """Move the fake's clock on (starting from real time if it had none)."""
        self.clock = self.now() + timedelta(**delta)
        return self.clock

    def env(self) -> dict[str, str]:
        # No pacing against a local server: GitHub's one-second gap between writes is for GitHub.
        return super().env() | {
            "GITHUB_TOKEN": self.token,
            "GITHUB_SECONDS_BETWEEN_REQUESTS": "0",
            "GITHUB_SECONDS_BETWEEN_WRITES": "0",
        }

    def error_body(self, status: int) -> Any:
        return {
            "message": "Server Error" if status >= 500 else "fake error",
            "documentation_url": DOCS,
        }

    # -- seeding and reading state (tests, the demo)

    def add_repo(self, full_name: str) -> FakeRepo:
        owner, name = full_name.split("/")
        with self.lock:
            return self.repos.setdefault(full_name.lower(), FakeRepo(owner, name, next(self._ids)))

    def add_user(self, login: str, *, name=None, company=None, email=None, blog="", type="User"):
        with self.lock:
            self.users[login.lower()] = {
                "login": login, "id": next(self._ids), "name": name, "company": company,
                "email": email, "blog": blog, "type": type,
            }  # fmt: skip

    def add_org_member(self, org: str, login: str, public: bool = True) -> None:
        with self.lock:
            self.org_members.setdefault(org.lower(), {})[login.lower()] = public

    def add_label(self, repo: str, name: str, color: str = "ededed", description: str = "") -> None:
        with self.lock:
            r = self.repos[repo.lower()]
            r.labels[name.lower()] = self._label_json(r, name, color, description or None)

    def add_issue(
        self,
        repo: str,
        user: str,
        title: str,
        body: str | None = "",
        *,
        labels=(),
        created_at: datetime | None = None,
        updated_at: datetime | None = None,
        association: str = "NONE",
        pull_request: bool = False,
        state: str = "open",
    ) -> int:
        """An issue (or pull request) opened by `user`; its labels are created if missing."""
        with self.lock:
            r = self.repos[repo.lower()]
            if user.lower() not in self.users:
                self.add_user(user)
            for name in labels:
                if name.lower() not in r.labels:
                    self.add_label(repo, name)
            created = created_at or self.now()
            number = max(r.issues, default=0) + 1
            r.issues[number] = FakeIssue(
                number, user, title, body, created, updated_at or created, list(labels), state,
                association, pull_request,
            )  # fmt: skip
            return number

    def add_comment(
        self, repo: str, number: int, user: str, body: str, at=None, association=None
    ) -> dict:
        with self.lock:
            issue = self.repos[repo.lower()].issues[number]
            if user.lower() not in self.users:
                self.add_user(user)
            when = at or self.now()
            comment = self._comment(issue, user, body, when)
            comment["association"] = association or comment["association"]
            issue.comments.append(comment)
            issue.updated_at = max(issue.updated_at, when)
            return comment

    def issue(self, repo: str, number: int) -> FakeIssue:
        return self.repos[repo.lower()].issues[number]

    def set_labels(self, repo: str, number: int, labels, by_hand_at=None) -> None:
        """A person changing labels on the web: the issue counts as updated."""
        with self.lock:
            issue = self.issue(repo, number)
            for name in labels:
                if name.lower() not in self.repos[repo.lower()].labels:
                    self.add_label(repo, name)
            issue.labels = list(labels)
            issue.updated_at = by_hand_at or self.now()

    def exhaust_rate_limit(self, reset_in: float = 1.0) -> None:
        """Spend the primary rate limit: answers are 403 until `reset_in` seconds from now."""
        with self.lock:
            self.rate_used = self.rate_limit
            # x-ratelimit-reset is UTC epoch seconds (docs.github.com, "Rate limits for the REST
            # API"): rounded up, the window never ends before `reset_in`
            self.rate_reset = math.ceil(time.time() + reset_in)

    def seed_from_rotation(self, rot, directory=None) -> None:
        """The repositories of `github.repos`, the team as members, and a few issues to label."""
        repos = list((rot.settings.get("github") or {}).get("repos") or ["kestrel-example/kestrel"])
        for repo in repos:
            self.add_repo(repo)
        team = [p for p in rot.people.values() if p.github]
        for person in team:
            self.add_user(person.github, name=person.name, email=person.email)
        repo = repos[0]
        if team:
            self.add_issue(repo, team[0].github, "Flaky export test", association="MEMBER")
            self.add_issue(repo, team[-1].github, "Bump chart", pull_request=True)
        for customer in (directory.customers if directory else ())[:6]:
            login = (customer.github_logins or (f"dev-{customer.index}",))[0]
            domain = (customer.domains or ("example.com",))[0]
            self.add_user(login, name=f"Dev {customer.index}", email=f"dev@{domain}")
            self.add_issue(repo, login, "Dashboard is slow since the upgrade", "It takes forever.")
        self.add_user("hobbyist42", name="Sam Hobby")
        self.add_issue(
            repo, "hobbyist42", "Helm install fails", "I installed the helm chart and pods crash."
        )

    def pending(self) -> bool:
        return super().pending() or bool(self.edits_on_read)

    def bookmark(self) -> Any:
        with self.lock:
            return super().bookmark(), self.rate_used

    def rewind(self, mark: Any) -> None:
        calls, used = mark
        super().rewind(calls)
        with self.lock:
            self.rate_used = used

    # -- conditional requests: an ETag on every answer to a GET, 304 when it still matches

    def _answer(self, req, op, where: str) -> tuple[int, bytes, dict]:
        """GitHub's "Best practices for using the REST API" (use conditional requests): "Most
        endpoints return an etag header"; a request with If-None-Match naming it answers "304
        Not Modified" with no body while the resource is unchanged, and that 304 "does not
        count against your primary rate limit" (_respond). github-rest.json lists a 304 for
        few endpoints (not the listings), so the 200 is checked and then answered as a 304.
        The tag is weak, as GitHub's are for listings, and covers the body and the Link header
        (a new page at the end changes it)."""
        status, payload, headers = super()._answer(req, op, where)
        if req is None or req.method != "GET" or status != 200:
            return status, payload, headers
        link = str(headers.get("Link", ""))
        etag = 'W/"' + hashlib.sha256(payload + link.encode()).hexdigest()[:40] + '"'
        headers = {**headers, "ETag": etag}
        if etag in {t.strip() for t in req.headers.get("If-None-Match", "").split(",")}:
            return 304, b"", {"ETag": etag}
        return status, payload, headers

    # -- rate limits, as GitHub does: headers on every answer, 403 once spent

    def _respond(self, raw) -> Response:
        with self.lock:
            now = time.time()
            if now >= self.rate_reset:  # a new window
                self.rate_used, self.rate_reset = 0, int(now + 3600)
            spent = self.rate_used >= self.rate_limit
            if not spent:
                self.rate_used += 1
        response = self._rate_limited(raw) if spent else super()._respond(raw)
        if response.status_code == 304:  # GitHub: a 304 does not count against the limit
            with self.lock:
                self.rate_used -= 1
        response.headers.update(self._rate_headers())
        return response

    def _rate_limited(self, raw) -> Response:
        """GitHub's answer once the primary limit is spent (any endpoint; the spec lists 403 on
        few, so it is recorded like an injected fault and not checked)."""
        body = {"message": "API rate limit exceeded for user ID 1.", "documentation_url": DOCS}
        path = raw.path[len(self.base_path) :] or "/"
        with self.lock:
            self._calls.append(
                Call(raw.method, path, dict(raw.args.lists()), 403, time.time(), True)
            )
        return Response(_encode(body), status=403, content_type="application/json")

    def _rate_headers(self) -> dict[str, str]:
        with self.lock:
            return {
                "x-ratelimit-limit": str(self.rate_limit),
                "x-ratelimit-remaining": str(max(0, self.rate_limit - self.rate_used)),
                "x-ratelimit-reset": str(self.rate_reset),
                "x-ratelimit-used": str(min(self.rate_used, self.rate_limit)),
                "x-ratelimit-resource": "core",
            }

    # -- JSON as GitHub writes it

    def _user_json(self, login: str) -> dict:
        u = self.users.get(login.lower()) or {"login": login, "id": 1, "type": "User"}
        api = f"{self.url}/users/{u['login']}"
        return {
            "login": u["login"], "id": u["id"], "node_id": f"U_{u['id']}",
            "avatar_url": f"https://avatars.githubusercontent.com/u/{u['id']}", "gravatar_id": "",
            "url": api, "html_url": f"{SITE}/{u['login']}", "followers_url": f"{api}/followers",
            "following_url": f"{api}/following{{/other_user}}",
            "gists_url": f"{api}/gists{{/gist_id}}",
            "starred_url": f"{api}/starred{{/owner}}{{/repo}}",
            "subscriptions_url": f"{api}/subscriptions", "organizations_url": f"{api}/orgs",
            "repos_url": f"{api}/repos", "events_url": f"{api}/events{{/privacy}}",
            "received_events_url": f"{api}/received_events", "type": u["type"],
            "site_admin": False, "user_view_type": "public",
        }  # fmt: skip

    def _profile_json(self, login: str) -> dict:
        u = self.users[login.lower()]
        when = stamp(datetime(2020, 1, 1, tzinfo=UTC))
        return self._user_json(login) | {
            "name": u["name"], "company": u["company"], "blog": u["blog"] or "",
            "location": None, "email": u["email"], "hireable": None, "bio": None,
            "public_repos": 3, "public_gists": 0, "followers": 1, "following": 1,
            "created_at": when, "updated_at": when,
        }  # fmt: skip

    def _label_json(self, r: FakeRepo, name: str, color: str, description) -> dict:
        lid = next(self._ids)
        return {
            "id": lid, "node_id": f"LA_{lid}", "name": name, "color": color,
            "description": description, "default": False,
            "url": f"{self.url}/repos/{r.full_name}/labels/{name.replace(' ', '%20')}",
        }  # fmt: skip

    def _issue_json(self, r: FakeRepo, i: FakeIssue) -> dict:
        api = f"{self.url}/repos/{r.full_name}/issues/{i.number}"
        html = f"{SITE}/{r.full_name}/{'pull' if i.pull_request else 'issues'}/{i.number}"
        out = {
            "id": r.id * 100000 + i.number, "node_id": f"I_{r.id}_{i.number}", "url": api,
            "repository_url": f"{self.url}/repos/{r.full_name}",
            "labels_url": f"{api}/labels{{/name}}", "comments_url": f"{api}/comments",
            "events_url": f"{api}/events", "html_url": html, "number": i.number,
            "state": i.state, "state_reason": None, "title": i.title, "body": i.body,
            "user": self._user_json(i.user),
            "labels": [r.labels[n.lower()] for n in i.labels],
            "assignee": None, "assignees": [], "milestone": None, "locked": False,
            "active_lock_reason": None, "comments": len(i.comments),
            "closed_at": None if i.state == "open" else stamp(i.updated_at),
            "created_at": stamp(i.created_at), "updated_at": stamp(i.updated_at),
            "author_association": i.association, "timeline_url": f"{api}/timeline",
        }  # fmt: skip
        if i.pull_request:
            pr = f"{self.url}/repos/{r.full_name}/pulls/{i.number}"
            out["pull_request"] = {
                "url": pr, "html_url": html, "diff_url": f"{html}.diff",
                "patch_url": f"{html}.patch", "merged_at": None,
            }  # fmt: skip
        return out

    def _comment(self, issue: FakeIssue, user: str, body: str, when: datetime) -> dict:
        cid = next(self._ids)
        assoc = "MEMBER" if user.lower() == VIEWER else "NONE"
        return {"id": cid, "user": user, "body": body, "created_at": when, "updated_at": when,
                "association": assoc, "issue": issue.number}  # fmt: skip

    def _comment_json(self, r: FakeRepo, c: dict) -> dict:
        api = f"{self.url}/repos/{r.full_name}/issues"
        return {
            "id": c["id"], "node_id": f"IC_{c['id']}", "url": f"{api}/comments/{c['id']}",
            "html_url": f"{SITE}/{r.full_name}/issues/{c['issue']}#issuecomment-{c['id']}",
            "issue_url": f"{api}/{c['issue']}", "body": c["body"],
            "user": self._user_json(c["user"]), "created_at": stamp(c["created_at"]),
            "updated_at": stamp(c["updated_at"]), "author_association": c["association"],
        }  # fmt: skip

    # -- paging, as GitHub does

    def _page(self, req, items: list) -> tuple[int, list, dict]:
        """A page of `items` (page, per_page up to 100) and its Link header."""
        per_page = max(1, min(100, int(req.query.get("per_page", 30))))
        page = max(1, int(req.query.get("page", 1)))
        last = max(1, -(-len(items) // per_page))
        chunk = items[(page - 1) * per_page : page * per_page]
        links = []
        for rel, number in (("prev", page - 1), ("next", page + 1), ("first", 1), ("last", last)):
            if (rel in ("prev", "first") and page > 1) or (rel in ("next", "last") and page < last):
                query = [(k, v) for k, v in req.query.items(multi=True) if k != "page"]
                links.append(
                    f'<{self.url}{req.path}?{urlencode([*query, ("page", number)])}>; rel="{rel}"'
                )
        return 200, chunk, ({"Link": ", ".join(links)} if links else {})

    def add_token(self, token: str, repos: list[str] | None = None) -> None:
        """Accept `token` too, reaching only `repos` (None: every repository)."""
        with self.lock:
            self.scopes[token] = frozenset(r.lower() for r in repos) if repos is not None else None

    def scope_token(self, repos: list[str]) -> None:
        """The main token (GITHUB_TOKEN) reaches only `repos`, as a workflow's own token does."""
        self.add_token(self.token, repos)

    def _given_token(self, req) -> str | None:
        given = (req.authorization or "").split(" ", 1)
        ok = len(given) == 2 and given[0].lower() in ("token", "bearer")
        return given[1] if ok else None

    def _authorized(self, req) -> bool:
        return self._given_token(req) in self.scopes

    def _handler(self, req):
        found = super()._handler(req)
        where = re.match(r"^/repos/([^/]+)/([^/]+)", req.path)
        scope = self.scopes.get(self._given_token(req) or "")
        if found and where and scope is not None and f"{where[1]}/{where[2]}".lower() not in scope:
            # a repository the token cannot see is answered as GitHub answers a private one it
            # has no access to: 404 for reads and writes alike (docs.github.com, REST
            # "Troubleshooting": 404 rather than 403 for resources you cannot access). Choice:
            # the fake's repositories are all private, as an organisation's support repositories
            # are; a public one would let the token read and refuse writes with 403 ("Resource
            # not accessible by integration"), which is not modelled.
            return (lambda self, req, **_: _error(404, "Not Found")), {}
        return found

    def _repo_or_404(self, owner: str, repo: str):
        return self.repos.get(f"{owner}/{repo}".lower())

    # -- issues

    @route("GET", "/repos/{owner}/{repo}/issues")
    def list_issues(self, req, owner, repo):
        r = self._repo_or_404(owner, repo)
        if r is None or not self._authorized(req):
            return _error(404, "Not Found")
        state = req.query.get("state", "open")
        items = [i for i in r.issues.values() if state == "all" or i.state == state]
        if since := req.query.get("since"):
            items = [i for i in items if i.updated_at >= parse_stamp(since)]
        if wanted := req.query.get("labels"):
            names = {n.strip().lower() for n in wanted.split(",")}
            items = [i for i in items if names <= {n.lower() for n in i.labels}]
        if creator := req.query.get("creator"):
            items = [i for i in items if i.user.lower() == creator.lower()]
        key = {"created": lambda i: i.created_at, "updated": lambda i: i.updated_at,
               "comments": lambda i: len(i.comments)}[req.query.get("sort", "created")]  # fmt: skip
        reverse = req.query.get("direction", "desc") == "desc"
        items.sort(key=lambda i: (key(i), i.number), reverse=reverse)
        status, chunk, headers = self._page(req, items)
        return status, [self._issue_json(r, i) for i in chunk], headers

    @route("GET", _ISSUE_ROUTE)
    def get_issue(self, req, owner, repo, issue_number):
        r = self._repo_or_404(owner, repo)
        issue = r and r.issues.get(int(issue_number))
        if not issue:
            return _error(404, "Not Found")
        if (edit := self.edits_on_read.pop((r.full_name.lower(), issue.number), None)) is not None:
            issue.body, issue.updated_at = edit, self.now() + timedelta(seconds=1)
        modified = {"Last-Modified": format_datetime(issue.updated_at, usegmt=True)}
        if (since := req.headers.get("If-Modified-Since")) and issue.updated_at <= (
            parsedate_to_datetime(since)
        ):
            return 304, None, modified
        return 200, self._issue_json(r, issue), modified

    @route("PATCH", _ISSUE_ROUTE)
    def edit_issue(self, req, owner, repo, issue_number):
        r = self._repo_or_404(owner, repo)
        issue = r and r.issues.get(int(issue_number))
        if not issue or not self._authorized(req):
            return _error(404, "Not Found")
        data = req.json or {}
        for key in ("title", "body", "state"):
            if key in data:
                setattr(issue, key, data[key])
        if "labels" in data:
            names = [x if isinstance(x, str) else x["name"] for x in data["labels"]]
            for name in names:  # as GitHub does: a label that does not exist yet is created
                if name.lower() not in r.labels:
                    r.labels[name.lower()] = self._label_json(r, name, "ededed", None)
            # specs/README.md: label names are case-insensitive (`Tier: Focus` is `tier: focus`)
            issue.labels = [r.labels[n]["name"] for n in dict.fromkeys(x.lower() for x in names)]
        issue.updated_at = self.now()
        return 200, self._issue_json(r, issue)

    # -- comments

    @route("GET", _ISSUE_ROUTE + "/comments")
    def list_comments(self, req, owner, repo, issue_number):
        r = self._repo_or_404(owner, repo)
        issue = r and r.issues.get(int(issue_number))
        if not issue:
            return _error(404, "Not Found")
        items = issue.comments
        if since := req.query.get("since"):
            items = [c for c in items if c["updated_at"] >= parse_stamp(since)]
        status, chunk, headers = self._page(req, items)
        return status, [self._comment_json(r, c) for c in chunk], headers

    @route("POST", _ISSUE_ROUTE + "/comments")
    def create_comment(self, req, owner, repo, issue_number):
        r = self._repo_or_404(owner, repo)
        issue = r and r.issues.get(int(issue_number))
        if not issue or not self._authorized(req):
            return _error(404, "Not Found")
        if VIEWER not in self.users:
            self.add_user(VIEWER, type="Bot")
        comment = self._comment(issue, VIEWER, req.json["body"], self.now())
        issue.comments.append(comment)
        issue.updated_at = comment["created_at"]
        return 201, self._comment_json(r, comment), {"Location": f"{self.url}/comments"}

    @route("PATCH", "/repos/{owner}/{repo}/issues/comments/{comment_id}")
    def edit_comment(self, req, owner, repo, comment_id):
        r = self._repo_or_404(owner, repo)
        issues = r.issues.values() if r else ()
        found = next((c for i in issues for c in i.comments if c["id"] == int(comment_id)), None)
        if found is None or not self._authorized(req):
            return _error(404, "Not Found")
        found["body"], found["updated_at"] = req.json["body"], self.now()
        return 200, self._comment_json(r, found)

    @route("GET", "/repos/{owner}/{repo}/issues/comments")
    def list_repo_comments(self, req, owner, repo):
        r = self._repo_or_404(owner, repo)
        if r is None:
            return _error(404, "Not Found")
        items = [c for i in r.issues.values() for c in i.comments]
        if since := req.query.get("since"):
            items = [c for c in items if c["updated_at"] >= parse_stamp(since)]
        field_name = "updated_at" if req.query.get("sort") == "updated" else "created_at"
        items.sort(
            key=lambda c: (c[field_name], c["id"]), reverse=req.query.get("direction") == "desc"
        )
        status, chunk, headers = self._page(req, items)
        return status, [self._comment_json(r, c) for c in chunk], headers

    # -- labels

    @route("GET", "/repos/{owner}/{repo}/labels")
    def list_labels(self, req, owner, repo):
        r = self._repo_or_404(owner, repo)
        if r is None:
            return _error(404, "Not Found")
        return self._page(req, list(r.labels.values()))

    @route("POST", "/repos/{owner}/{repo}/labels")
    def create_label(self, req, owner, repo):
        r = self._repo_or_404(owner, repo)
        if r is None or not self._authorized(req):
            return _error(404, "Not Found")
        data = req.json
        if data["name"].lower() in r.labels:
            taken = {"resource": "Label", "code": "already_exists", "field": "name"}
            return _error(422, "Validation Failed", errors=[taken])
        label = self._label_json(
            r, data["name"], data.get("color", "ededed"), data.get("description")
        )
        r.labels[data["name"].lower()] = label
        return 201, label, {"Location": label["url"]}

    @route("GET", _ISSUE_ROUTE + "/labels")
    def list_issue_labels(self, req, owner, repo, issue_number):
        r = self._repo_or_404(owner, repo)
        issue = r and r.issues.get(int(issue_number))
        if not issue:
            return _error(404, "Not Found")
        return self._page(req, [r.labels[n.lower()] for n in issue.labels])

    # -- users and organisations

    @route("GET", "/users/{username}")
    def get_user(self, req, username):
        if username.lower() not in self.users:
            return _error(404, "Not Found")
        return 200, self._profile_json(username)

    @route("GET", "/orgs/{org}/members/{username}")
    def check_member(self, req, org, username):
        members = self.org_members.get(org.lower(), {})
        if VIEWER in members:  # the requester sees private membership too
            return (204, None) if username.lower() in members else _error(404, "Not Found")
        return 302, None, {"Location": f"{self.url}/orgs/{org}/public_members/{username}"}

    @route("GET", "/orgs/{org}/public_members/{username}")
    def check_public_member(self, req, org, username):
        if self.org_members.get(org.lower(), {}).get(username.lower()):
            return 204, None
        return 404, None

    @route("GET", "/rate_limit")
    def get_rate_limit(self, req):
        core = {"limit": self.rate_limit, "remaining": max(0, self.rate_limit - self.rate_used),
                "reset": self.rate_reset, "used": self.rate_used}  # fmt: skip
        return 200, {"resources": {"core": core, "search": core}, "rate": core}
