"""flag_stale's GitHub source: the issue rules as a table, then end to end (PyGithub, the fake)."""

import math
from dataclasses import dataclass
from datetime import timedelta

import pytest

from fakes.github import GitHubFake
from fakes.world import World
from scripts.sources import conversations
from scripts.sources import state as stale_state
from scripts.stale import clock as stale
from scripts.stale import github_threads as gt
from scripts.stale.clock import BOT, CUSTOMER, US
from tests.stale_world import DIRECTORY, NOW, REPO, ago, by_key, report, run, write_config

TEAM = frozenset({"ann-a", "bo-b"})
START = NOW - timedelta(days=14)

# --- the rules --------------------------------------------------------------------------------

AUTHORS = [
    # (login, author_association, user type, who)
    ("ann-a", "NONE", "User", US),  # in rotation.yaml, even without a visible membership
    ("Ann-A", "NONE", "User", US),
    ("octo", "MEMBER", "User", US),
    ("octo", "OWNER", "User", US),
    ("octo", "COLLABORATOR", "User", US),
    ("octo", "CONTRIBUTOR", "User", CUSTOMER),
    ("octo", "NONE", "User", CUSTOMER),
    ("renovate[bot]", "NONE", "Bot", BOT),
    ("ci-app[bot]", "MEMBER", "User", BOT),  # an app is never a reply, member or not
    ("deploy-app", "COLLABORATOR", "Bot", BOT),
]


@pytest.mark.parametrize(("login", "association", "kind", "who"), AUTHORS)
def test_who_wrote(login, association, kind, who):
    assert gt.author(login, association, kind, TEAM) == who


@dataclass(frozen=True)
class Issue:
    number: int = 1
    user: str = "cust"
    user_type: str = "User"
    author_association: str = "NONE"
    comments: int = 0
    created_at: object = ago(days=30)
    updated_at: object = ago(hours=1)
    labels: tuple = ()
    is_pull_request: bool = False
    html_url: str = "https://github.com/o/r/issues/1"


@dataclass(frozen=True)
class Comment:
    id: int
    user: str
    created_at: object
    author_association: str = "NONE"
    user_type: str = "User"
    updated_at: object = None

    def __post_init__(self):
        if self.updated_at is None:
            object.__setattr__(self, "updated_at", self.created_at)


OURS = Comment(1, "ann-a", ago(days=2))
THEIRS = Comment(2, "cust", ago(hours=3))
BOTS = Comment(3, "stale[bot]", ago(days=1), user_type="Bot")
VERDICTS = [
    # (case, issue, comments the listing gave, verdict)
    ("a pull request", Issue(is_pull_request=True), [], gt.SKIP),
    ("not written to in the window", Issue(updated_at=ago(days=15)), [], gt.BACKLOG),
    ("no comments, opened in the window", Issue(created_at=ago(days=1)), [], gt.DECIDED),
    ("no comments, opened before the window", Issue(), [], gt.BACKLOG),
    ("every comment listed", Issue(comments=2), [OURS, THEIRS], gt.DECIDED),
    ("ours among the newer ones", Issue(comments=5), [OURS, THEIRS], gt.DECIDED),
    ("a customer wrote, ours is older", Issue(comments=5), [THEIRS], gt.FETCH),
    ("only a bot wrote in the window", Issue(comments=5), [BOTS], gt.BACKLOG),
]


@pytest.mark.parametrize(("case", "issue", "known", "kind"), VERDICTS, ids=[v[0] for v in VERDICTS])
def test_what_the_listing_settles(case, issue, known, kind):
    assert gt.verdict(issue, known, START, START, TEAM).kind == kind


def test_where_the_comment_listing_starts():
    young = [Issue(comments=1, created_at=ago(days=3)), Issue(comments=1, created_at=ago(days=2))]
    assert gt.listing_since(young, START) == ago(days=3)  # no comment can be older
    assert gt.listing_since([*young, Issue(comments=4)], START) == START
    assert gt.listing_since([Issue(), Issue(comments=3, is_pull_request=True)], START) is None


def test_tier_label_wins_over_the_directory():
    said = [gt.opening(Issue(labels=("bug", "Tier: Focus")), TEAM)]
    names = {"tier: focus": "focus"}
    conv = gt.conversation(REPO, Issue(labels=("bug", "Tier: Focus")), said, names, lambda _: "x")
    assert conv.tier == "focus"
    assert gt.conversation(REPO, Issue(), said, names, lambda _: "subscriber").tier == "subscriber"


# --- end to end ---------------------------------------------------------------------------------


@pytest.fixture
def github(monkeypatch, tmp_path):
    with GitHubFake(clock=NOW) as fake:  # leaving the block fails on any spec violation
        fake.add_repo(REPO)
        World(github=fake).point(monkeypatch)  # GitHub alone: no other service is asked
        monkeypatch.delenv("CUSTOMERS_FILE", raising=False)
        monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(tmp_path / "summary.md"))
        fake.config = write_config(tmp_path)
        yield fake


def issue(gh, user, hours_ago, labels=(), association="NONE", **kw) -> int:
    when = ago(hours=hours_ago)
    return gh.add_issue(REPO, user, f"by {user}", "help", labels=labels, created_at=when,
                        association=association, **kw)  # fmt: skip


def comment(gh, number, user, hours_ago, association="NONE") -> dict:
    return gh.add_comment(
        REPO, number, user, "...", at=ago(hours=hours_ago), association=association
    )


def seed_issues(gh) -> dict[str, int]:
    n = {}
    gh.add_user("renovate[bot]", type="Bot")
    n["unanswered"] = issue(gh, "shopdev", 5)  # in the directory: Focus
    n["labelled"] = issue(gh, "hobbyist", 3, labels=["tier: subscriber"])
    n["answered"] = issue(gh, "cust1", 30)
    comment(gh, n["answered"], "ann-a", 29)  # ann: rotation.yaml login, no membership shown
    n["follow_up"] = issue(gh, "cust2", 28)
    comment(gh, n["follow_up"], "octo", 27, "MEMBER")
    comment(gh, n["follow_up"], "cust2", 2)
    n["bot_only"] = issue(gh, "cust3", 6)
    comment(gh, n["bot_only"], "renovate[bot]", 5)
    n["internal"] = issue(gh, "octo", 4, association="MEMBER")
    comment(gh, n["internal"], "bo-b", 3)
    n["by_team_member_customer"] = issue(gh, "ann-a", 4)  # ann-a is also in the directory: us
    n["pull"] = issue(gh, "cust4", 8, pull_request=True)
    n["backlog"] = issue(gh, "cust5", 24 * 20)  # quiet for 20 days: never listed
    # An old issue: our last reply long before the window, the customer writes again today.
    n["revived"] = issue(gh, "cust6", 24 * 40)
    comment(gh, n["revived"], "cust6", 24 * 39)
    comment(gh, n["revived"], "bo-b", 24 * 38)
    comment(gh, n["revived"], "cust6", 1)
    # An old issue we answered inside the window: the listing settles it.
    n["old_answered"] = issue(gh, "cust7", 24 * 40)
    comment(gh, n["old_answered"], "cust7", 24 * 39)
    comment(gh, n["old_answered"], "bo-b", 24 * 8)
    # A question edited after the fact: it waits since it was first written.
    n["edited"] = issue(gh, "cust8", 48)
    c = comment(gh, n["edited"], "ann-a", 47)
    c = comment(gh, n["edited"], "cust8", 3)
    c["updated_at"] = ago(minutes=5)
    gh.issue(REPO, n["edited"]).updated_at = ago(minutes=5)
    return n


def gkey(number: int) -> str:
    return f"github:{REPO}#{number}"


def test_each_kind_of_issue_at_the_minimum_of_requests(github, capsys, monkeypatch):
    monkeypatch.setenv("CUSTOMERS_YAML", DIRECTORY)
    n = seed_issues(github)
    code, out, err = run(capsys, github.config, "--format", "json")
    found = by_key(out)
    assert code == 0, err
    expected = ("unanswered", "labelled", "answered", "follow_up", "bot_only", "revived",
                "old_answered", "edited")  # fmt: skip
    assert set(found) == {gkey(n[k]) for k in expected}
    get = lambda k: found[gkey(n[k])]  # noqa: E731
    assert (get("unanswered")["tier"], get("unanswered")["level"]) == ("focus", "very_late")
    assert get("labelled")["tier"] == "subscriber"
    assert (get("answered")["waiting_since"], get("answered")["last_reply_at"]) == (
        None, ago(hours=29).isoformat())  # fmt: skip
    assert (get("follow_up")["follow_up"], get("follow_up")["waiting_since"]) == (
        True, ago(hours=2).isoformat())  # fmt: skip
    assert get("bot_only")["waiting_since"] == ago(hours=6).isoformat()
    assert (get("revived")["waiting_since"], get("revived")["follow_up"]) == (
        ago(hours=1).isoformat(), True)  # fmt: skip
    assert get("old_answered")["close_suggested"] is True  # quiet 8 days after our reply
    assert get("edited")["waiting_since"] == ago(hours=3).isoformat()
    assert get("unanswered")["url"] == f"https://github.com/{REPO}/issues/{n['unanswered']}"
    # One issues page (11 written to in the window, of 12 open), one page of the repository's
    # comments since the window's start, and the revived issue's own comments: the listing holds
    # only its newest comment, which is the customer's.
    assert github.count("GET", "/repos/*/*/issues") == 1
    assert github.count("GET", "/repos/*/*/issues/comments") == 1
    assert github.count("GET", "/repos/*/*/issues/*/comments") == 1
    assert github.count() == 3
    issues_call = next(c for c in github.calls if c.path == f"/repos/{REPO}/issues")
    assert issues_call.query["since"] == [ago(days=14).strftime("%Y-%m-%dT%H:%M:%SZ")]
    assert issues_call.query["per_page"] == ["100"]


def test_later_runs_list_only_what_changed_and_then_get_304s(github, capsys, monkeypatch):
    monkeypatch.setenv("CUSTOMERS_YAML", DIRECTORY)
    seed_issues(github)
    _, first, _ = run(capsys, github.config, "--format", "json")
    for state in ("warm", "unchanged"):
        github.reset_counts()
        used = github.rate_used
        code, out, _ = run(capsys, github.config, "--format", "json")
        assert (code, by_key(out)) == (0, by_key(first)), state
        # What was updated since the newest issue and comment seen: one page each; the revived
        # issue's own comments are as they were (its updated_at and count have not moved).
        assert [(c.path, c.query["since"]) for c in github.calls] == [
            (f"/repos/{REPO}/issues", [ago(minutes=5).strftime("%Y-%m-%dT%H:%M:%SZ")]),
            (f"/repos/{REPO}/issues/comments", [ago(minutes=5).strftime("%Y-%m-%dT%H:%M:%SZ")]),
        ]
        answered = [c.status for c in github.calls]
        assert answered == ([200, 200] if state == "warm" else [304, 304])  # the ETags match
        assert github.rate_used - used == (2 if state == "warm" else 0)  # a 304 is free


def test_a_warm_run_sees_replies_closings_and_new_issues(github, capsys, monkeypatch):
    monkeypatch.setenv("CUSTOMERS_YAML", DIRECTORY)
    n = seed_issues(github)
    run(capsys, github.config, "--format", "json")
    github.advance(minutes=10)  # what people do between two runs, at the fake's clock
    github.add_comment(REPO, n["answered"], "cust1", "Still broken")  # waits again
    closed = github.issue(REPO, n["unanswered"])
    closed.state, closed.updated_at = "closed", github.now()
    new = github.add_issue(REPO, "cust9", "New one", "?", created_at=github.now())
    later = NOW + timedelta(minutes=15)
    github.reset_counts()
    _, warm, _ = run(capsys, github.config, "--format", "json", now=later)
    reads = github.count()
    _, cold, _ = run(capsys, github.config, "--format", "json", "--state", "", now=later)
    assert by_key(warm) == by_key(cold)
    found = by_key(warm)
    assert found[gkey(n["answered"])]["waiting_since"] == github.now().isoformat()
    assert gkey(n["unanswered"]) not in found and gkey(new) in found
    assert reads == 2  # the two listings of what changed: everything else is as it was


@pytest.mark.parametrize("how", ["the issue changed since", "a day passed"])
def test_a_deleted_comment_is_seen_once_its_issue_changes_or_a_day_later(github, capsys, how):
    """GitHub lists no deletions, and deleting a comment need not move its issue's updated_at:
    the state learns of one when the issue is next updated, or at the next day's full read."""
    n = seed_issues(github)
    run(capsys, github.config, "--format", "json")
    revived = github.issue(REPO, n["revived"])
    revived.comments.pop()  # the customer deleted today's comment: nothing waits any more
    later = NOW + (stale_state.MAX_AGE + timedelta(minutes=1) if how == "a day passed" else
                   timedelta(minutes=15))  # fmt: skip
    if how == "the issue changed since":
        revived.updated_at = github.advance(minutes=10)  # a label, say
    _, warm, _ = run(capsys, github.config, "--format", "json", now=later)
    _, cold, _ = run(capsys, github.config, "--format", "json", "--state", "", now=later)
    assert by_key(warm) == by_key(cold)
    assert gkey(n["revived"]) not in by_key(warm)  # backlog again: no human message in the window


def test_pages_of_100_and_no_comment_listing_when_none_is_needed(github, capsys):
    for i in range(250):
        issue(github, f"user{i}", 2 + i / 100)
    code, out, _ = run(capsys, github.config, "--format", "json")
    assert (code, len(report(out)["conversations"])) == (0, 250)
    assert github.count("GET", "/repos/*/*/issues") == math.ceil(250 / 100)
    assert github.count() == 3  # no issue has comments: none listed


def test_comment_listing_starts_at_the_oldest_issue_needing_it(github, capsys):
    old = issue(github, "cust", 24 * 30)  # quiet: backlog, its comment is before the window
    comment(github, old, "cust", 24 * 29)
    young = issue(github, "cust", 24 * 3)
    comment(github, young, "bo-b", 24 * 2)
    for i in range(120):  # busy elsewhere in the repository, all on the young issue's days
        comment(github, young, "cust", 24 * 2 - i * 0.1)
    code, _, _ = run(capsys, github.config, "--format", "json")
    listing = next(c for c in github.calls if c.path == f"/repos/{REPO}/issues/comments")
    assert code == 0
    assert listing.query["since"] == [ago(days=3).strftime("%Y-%m-%dT%H:%M:%SZ")]
    assert github.count("GET", "/repos/*/*/issues/comments") == math.ceil(121 / 100)


def test_the_per_run_bound_on_one_by_one_reads_is_said(github, capsys, monkeypatch):
    monkeypatch.setattr(conversations, "MAX_GITHUB_THREADS", 1)
    for _ in range(3):
        revived = issue(github, "cust", 24 * 40)
        comment(github, revived, "bo-b", 24 * 39)
        comment(github, revived, "cust", 1)
    code, out, _ = run(capsys, github.config, "--format", "json")
    (status,) = [s for s in report(out)["sources"] if s["source"] == "github"]
    assert (code, status["conversations"]) == (0, 1)
    assert status["detail"] == f"{REPO}: 2 issues not read (per-run bound)"
    assert github.count("GET", "/repos/*/*/issues/*/comments") == 1


def test_an_outage_is_reported_without_waiting_it_out(github, capsys):
    issue(github, "cust", 2)
    # Down for maintenance for an hour: more than the adapter waits, so no retry (retries of
    # shorter outages are the adapter's own tests); the next scheduled run tries again.
    github.inject("GET", "/repos/*/*/issues", 503, times=5, headers={"Retry-After": "3600"})
    code, out, _ = run(capsys, github.config)
    assert code == 1
    assert f"⚠️ *GitHub could not be read*: {REPO}: GitHub answered 503" in out
    assert "GitHub: *failed*" in out and github.count() == 1


def test_a_short_outage_is_retried(github, capsys):
    issue(github, "cust", 2)
    github.inject("GET", "/repos/*/*/issues", 502, times=1)
    code, out, _ = run(capsys, github.config, "--format", "json")
    assert (code, len(report(out)["conversations"])) == (0, 1)
    assert [c.status for c in github.calls] == [502, 200]


def test_not_configured_without_a_token_or_repositories(github, capsys, monkeypatch, tmp_path):
    monkeypatch.delenv("GITHUB_TOKEN")
    code, out, _ = run(capsys, github.config)
    assert code == 0 and "GitHub: not configured (GITHUB_TOKEN is not set)" in out
    assert github.count() == 0


def test_backlog_is_outside_the_window():
    assert stale.lookback(stale.settings({"close_after_days": 10})) == timedelta(days=20)


# --- the adapter's conditional listings (scripts/clients/github.py) ------------------------------


def test_a_conditional_listing_pages_then_answers_304_until_something_changes(github):
    from scripts.clients.github import GitHub

    for i in range(250):
        issue(github, f"user{i}", 2 + i / 100)
    gh, since = GitHub(github.token), ago(days=1)
    full = gh.changed_issues(REPO, since, None, max_pages=5)
    assert (len(full.items), full.complete, full.etag.startswith('W/"')) == (250, True, True)
    assert github.count("GET", "/repos/*/*/issues") == 3  # pages of 100
    cut = gh.changed_issues(REPO, since, None, max_pages=2)
    assert (len(cut.items), cut.complete) == (200, False)
    github.reset_counts()
    same = gh.changed_issues(REPO, since, full.etag, max_pages=5)
    assert (same.items, same.etag, [c.status for c in github.calls]) == (None, full.etag, [304])
    comment(github, 1, "user0", 0)  # a comment moves its issue's updated_at: the first page
    moved = gh.changed_issues(REPO, since, full.etag, max_pages=5)
    assert moved.items[0].number == 1 and moved.etag != full.etag
    comments = gh.changed_comments(REPO, since, None, max_pages=1)
    assert [c.issue_number for c in comments.items] == [1] and comments.complete
