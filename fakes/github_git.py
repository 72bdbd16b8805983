"""The GitHub fake's branches, file contents and pull requests (request_swap's pull requests).

A mixin of GitHubFake (one fake per service): a repository holds commits (each a whole tree of
path -> bytes), branches pointing at them, and pull requests, which are issues too (as on
GitHub: the issues list shows them). Every answer is checked against specs/github-rest.json
like the rest of the fake. Behaviours the description leaves open are noted where they are made.
"""

from __future__ import annotations

import base64
import hashlib
from typing import Any

from fakes.base import route
from fakes.github_names import DOCS, SITE, VIEWER, stamp

# Chosen: the committer of a contents PUT without one is the token's user (GitHub: "Default:
# the authenticated user"); its email is a noreply address, as GitHub gives a bot.
COMMITTER = {"name": "support-hero-bot", "email": "support-hero-bot@users.noreply.github.com"}


def blob_sha(data: bytes) -> str:
    """Git's blob id, which the contents API calls a file's `sha`."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


class GitData:
    """Commits, branches, contents and pulls of the fake's repositories (see GitHubFake)."""

    greedy_params = ("ref", "path")  # git/ref/heads/main, contents/docs/a.md hold "/"

    # -- seeding and reading state (tests)

    def add_file(self, repo: str, path: str, data: bytes, branch: str | None = None) -> str:
        """Commit `data` at `path` on `branch` (the default branch; made when missing)."""
        with self.lock:
            r = self.repos[repo.lower()]
            name = branch or r.default_branch
            tree = dict(r.commits.get(r.branches.get(name, ""), {}))
            tree[path] = data
            return self._commit(r, name, tree, f"Add {path}")

    def file(self, repo: str, path: str, branch: str) -> bytes | None:
        with self.lock:
            r = self.repos[repo.lower()]
            return r.commits.get(r.branches.get(branch, ""), {}).get(path)

    def pulls(self, repo: str) -> list[dict[str, Any]]:
        with self.lock:
            return list(self.repos[repo.lower()].pulls.values())

    def close_pull(self, repo: str, number: int) -> None:
        """A person closing a pull request by hand (its branch stays)."""
        with self.lock:
            r = self.repos[repo.lower()]
            r.pulls[number]["state"] = r.issues[number].state = "closed"

    def _commit(self, r, branch: str, tree: dict[str, bytes], message: str) -> str:
        parent = r.branches.get(branch)
        sha = hashlib.sha1(repr((parent, sorted(tree.items()), message)).encode()).hexdigest()
        r.commits[sha] = tree
        r.messages[sha] = (message, parent)
        r.branches[branch] = sha
        return sha

    # -- git refs

    @route("GET", "/repos/{owner}/{repo}/git/ref/{ref}")
    def get_ref(self, req, owner, repo, ref):
        # docs.github.com/rest/git/refs, "Get a reference": `ref` is "heads/<branch>", and a
        # branch that does not exist (deleted by hand after a merge, say) is a 404
        r = self._repo_or_404(owner, repo)
        if r is None or not self._authorized(req) or not ref.startswith("heads/"):
            return _not_found()  # chosen: only branch refs are modelled
        sha = r.branches.get(ref.removeprefix("heads/"))
        return (200, self._ref_json(r, ref, sha)) if sha else _not_found()

    @route("POST", "/repos/{owner}/{repo}/git/refs")
    def create_ref(self, req, owner, repo):
        r = self._repo_or_404(owner, repo)
        if r is None or not self._authorized(req):
            return _not_found()
        ref, sha = req.json["ref"], req.json["sha"]
        if not ref.startswith("refs/heads/") or ref.count("/") < 2:
            return 422, {"message": "Reference name is invalid", "documentation_url": DOCS}
        if sha not in r.commits:
            return 422, {"message": "Object does not exist", "documentation_url": DOCS}
        name = ref.removeprefix("refs/heads/")
        if name in r.branches:  # docs.github.com, "Create a reference": 422 when it exists
            return 422, {"message": "Reference already exists", "documentation_url": DOCS}
        r.branches[name] = sha
        location = f"{self.url}/repos/{r.full_name}/git/refs/heads/{name}"
        return 201, self._ref_json(r, f"heads/{name}", sha), {"Location": location}

    def _ref_json(self, r, ref: str, sha: str) -> dict[str, Any]:
        api = f"{self.url}/repos/{r.full_name}/git"
        target = {"type": "commit", "sha": sha, "url": f"{api}/commits/{sha}"}
        return {"ref": f"refs/{ref}", "node_id": f"REF_{sha[:12]}", "url": f"{api}/refs/{ref}",
                "object": target}  # fmt: skip

    # -- contents

    @route("GET", "/repos/{owner}/{repo}/contents/{path}")
    def get_contents(self, req, owner, repo, path):
        r = self._repo_or_404(owner, repo)
        if r is None or not self._authorized(req):
            return _not_found()
        branch = req.query.get("ref") or r.default_branch
        data = r.commits.get(r.branches.get(branch, ""), {}).get(path)
        if data is None:
            return _not_found()
        # docs.github.com/rest/repos/contents, "Get repository content": a file comes as Base64
        # in `content`; GitHub breaks it into lines, as encodebytes does
        encoded = base64.encodebytes(data).decode()
        return 200, self._content_json(r, path, data, branch) | {
            "content": encoded, "encoding": "base64",
        }  # fmt: skip

    @route("PUT", "/repos/{owner}/{repo}/contents/{path}")
    def put_contents(self, req, owner, repo, path):
        r = self._repo_or_404(owner, repo)
        if r is None or not self._authorized(req):
            return _not_found()
        body = req.json
        branch = body.get("branch") or r.default_branch
        if branch not in r.branches:
            return _not_found()  # chosen: GitHub answers 404 "Branch x not found"
        tree = dict(r.commits[r.branches[branch]])
        old = tree.get(path)
        if old is not None and body.get("sha") != blob_sha(old):
            # docs.github.com, "Create or update file contents": the blob sha is required to
            # update a file; a wrong or missing one is a 409 conflict (422 when missing: the
            # live API says "sha wasn't supplied"; the fake answers 409 for both)
            return 409, {"message": f"{path} does not match {body.get('sha')}",
                         "documentation_url": DOCS}  # fmt: skip
        try:
            data = base64.b64decode(body["content"], validate=True)
        except ValueError:
            return 422, {"message": "content is not valid Base64", "documentation_url": DOCS}
        tree[path] = data
        sha = self._commit(r, branch, tree, body["message"])
        content = self._content_json(r, path, data, branch)
        commit = {"sha": sha, "node_id": f"C_{sha[:12]}", "message": body["message"],
                  "url": f"{self.url}/repos/{r.full_name}/git/commits/{sha}",
                  "html_url": f"{SITE}/{r.full_name}/commit/{sha}",
                  "author": {**COMMITTER, "date": stamp(self.now())},
                  "committer": {**COMMITTER, "date": stamp(self.now())},
                  "tree": {"sha": sha, "url": f"{self.url}/repos/{r.full_name}/git/trees/{sha}"},
                  "parents": [], "verification": {"verified": False, "reason": "unsigned",
                                                  "signature": None, "payload": None,
                                                  "verified_at": None}}  # fmt: skip
        return (201 if old is None else 200), {"content": content, "commit": commit}

    def _content_json(self, r, path: str, data: bytes, branch: str) -> dict[str, Any]:
        api = f"{self.url}/repos/{r.full_name}/contents/{path}?ref={branch}"
        html = f"{SITE}/{r.full_name}/blob/{branch}/{path}"
        git = f"{self.url}/repos/{r.full_name}/git/blobs/{blob_sha(data)}"
        return {"type": "file", "name": path.rsplit("/", 1)[-1], "path": path,
                "sha": blob_sha(data), "size": len(data), "url": api, "html_url": html,
                "git_url": git, "download_url": f"https://raw.githubusercontent.com/"
                f"{r.full_name}/{branch}/{path}", "_links": {"self": api, "git": git,
                                                             "html": html}}  # fmt: skip

    # -- pull requests

    @route("GET", "/repos/{owner}/{repo}/pulls")
    def list_pulls(self, req, owner, repo):
        r = self._repo_or_404(owner, repo)
        if r is None or not self._authorized(req):
            return _not_found()
        # docs.github.com/rest/pulls/pulls, "List pull requests": `state` open by default;
        # `head` filters by "user:ref-name"; sorted by `created`, newest first, by default.
        # A pull request closed by hand is listed only with state=closed or all.
        state = req.query.get("state", "open")
        items = [p for p in r.pulls.values() if state == "all" or p["state"] == state]
        if head := req.query.get("head"):
            items = [p for p in items if f"{r.owner}:{p['head']}".lower() == head.lower()]
        if base := req.query.get("base"):
            items = [p for p in items if p["base"] == base]
        items.sort(key=lambda p: p["number"], reverse=True)
        status, chunk, headers = self._page(req, items)
        return status, [self._pull_json(r, p, full=False) for p in chunk], headers

    @route("POST", "/repos/{owner}/{repo}/pulls")
    def create_pull(self, req, owner, repo):
        r = self._repo_or_404(owner, repo)
        if r is None or not self._authorized(req):
            return _not_found()
        body = req.json
        head, base = body["head"].split(":")[-1], body["base"]
        if head not in r.branches or base not in r.branches:
            return _invalid(code="invalid", field="head" if head not in r.branches else "base")
        if any(p["head"] == head and p["state"] == "open" for p in r.pulls.values()):
            # GitHub's 422 "A pull request already exists for owner:branch" (docs.github.com/rest/
            # pulls/pulls, "Create a pull request"); one closed by hand does not stop a new one
            return _invalid(message=f"A pull request already exists for {r.owner}:{head}.")
        if r.branches[head] == r.branches[base]:
            return _invalid(message=f"No commits between {base} and {head}")
        if VIEWER not in self.users:
            self.add_user(VIEWER, type="Bot")
        number = self.add_issue(r.full_name, VIEWER, body["title"], body.get("body"),
                                pull_request=True, association="MEMBER")  # fmt: skip
        r.pulls[number] = {"number": number, "head": head, "base": base, "state": "open",
                           "title": body["title"], "body": body.get("body")}  # fmt: skip
        pull = self._pull_json(r, r.pulls[number], full=True)
        return 201, pull, {"Location": pull["url"]}

    def _pull_json(self, r, p: dict[str, Any], full: bool) -> dict[str, Any]:
        issue = r.issues[p["number"]]
        api = f"{self.url}/repos/{r.full_name}"
        url, html = f"{api}/pulls/{p['number']}", f"{SITE}/{r.full_name}/pull/{p['number']}"
        link = lambda href: {"href": href}  # noqa: E731
        side = lambda ref: {"label": f"{r.owner}:{ref}", "ref": ref, "repo": self._repo_json(r),  # noqa: E731
                            "sha": r.branches[ref], "user": self._user_json(r.owner)}  # fmt: skip
        out = {
            "url": url, "id": r.id * 100000 + p["number"], "node_id": f"PR_{r.id}_{p['number']}",
            "html_url": html, "diff_url": f"{html}.diff", "patch_url": f"{html}.patch",
            "issue_url": f"{api}/issues/{p['number']}", "commits_url": f"{url}/commits",
            "review_comments_url": f"{url}/comments",
            "review_comment_url": f"{api}/pulls/comments{{/number}}",
            "comments_url": f"{api}/issues/{p['number']}/comments",
            "statuses_url": f"{api}/statuses/{r.branches[p['head']]}",
            "number": p["number"], "state": p["state"], "locked": False, "title": p["title"],
            "user": self._user_json(issue.user), "body": p["body"],
            "labels": [r.labels[n.lower()] for n in issue.labels], "milestone": None,
            "created_at": stamp(issue.created_at), "updated_at": stamp(issue.updated_at),
            "closed_at": None, "merged_at": None, "merge_commit_sha": None, "assignee": None,
            "assignees": [], "requested_reviewers": [], "requested_teams": [],
            "head": side(p["head"]), "base": side(p["base"]),
            "_links": {"self": link(url), "html": link(html), "issue": link(f"{api}/issues/"
                       f"{p['number']}"), "comments": link(f"{api}/issues/{p['number']}/comments"),
                       "review_comments": link(f"{url}/comments"),
                       "review_comment": link(f"{api}/pulls/comments{{/number}}"),
                       "commits": link(f"{url}/commits"),
                       "statuses": link(f"{api}/statuses/{r.branches[p['head']]}")},
            "author_association": issue.association, "auto_merge": None, "draft": False,
        }  # fmt: skip
        if full:  # a single pull request (pull-request) carries its counts; a listing does not
            out |= {"merged": False, "mergeable": None, "rebaseable": None,
                    "mergeable_state": "unknown", "merged_by": None, "comments": 0,
                    "review_comments": 0, "maintainer_can_modify": False, "commits": 1,
                    "additions": 1, "deletions": 0, "changed_files": 1}  # fmt: skip
        return out

    def _repo_json(self, r) -> dict[str, Any]:
        api, html = f"{self.url}/repos/{r.full_name}", f"{SITE}/{r.full_name}"
        urls = {f"{name}_url": f"{api}/{name}" for name in (
            "archive", "assignees", "blobs", "branches", "collaborators", "comments", "commits",
            "compare", "contents", "contributors", "deployments", "downloads", "events", "forks",
            "git_commits", "git_refs", "git_tags", "hooks", "issue_comment", "issue_events",
            "issues", "keys", "labels", "languages", "merges", "milestones", "notifications",
            "pulls", "releases", "stargazers", "statuses", "subscribers", "subscription", "tags",
            "teams", "trees")}  # fmt: skip
        when = stamp(self.now())
        return urls | {
            "id": r.id, "node_id": f"R_{r.id}", "name": r.name, "full_name": r.full_name,
            "owner": self._user_json(r.owner), "private": True, "html_url": html,
            "description": None, "fork": False, "url": api, "clone_url": f"{html}.git",
            "git_url": f"git://github.com/{r.full_name}.git",
            "ssh_url": f"git@github.com:{r.full_name}.git", "svn_url": html,
            "default_branch": r.default_branch, "forks": 0, "forks_count": 0,
            "has_downloads": True, "has_issues": True, "has_projects": False, "has_wiki": False,
            "has_pages": False, "homepage": None, "language": None, "archived": False,
            "disabled": False, "mirror_url": None, "open_issues": len(r.issues),
            "open_issues_count": len(r.issues), "license": None, "pushed_at": when, "size": 1,
            "stargazers_count": 0, "watchers": 0, "watchers_count": 0, "created_at": when,
            "updated_at": when,
        }  # fmt: skip


def _invalid(code: str = "custom", **error: str) -> tuple[int, dict[str, Any]]:
    """GitHub's 422 for a pull request it cannot open."""
    errors = [{"resource": "PullRequest", "code": code, **error}]
    return 422, {"message": "Validation Failed", "documentation_url": DOCS, "errors": errors}


def _not_found() -> tuple[int, dict[str, str]]:
    return 404, {"message": "Not Found", "documentation_url": DOCS}
