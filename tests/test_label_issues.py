"""label_issues end to end: real PyGithub against the stateful GitHub fake (spec-checked)."""

import json
from datetime import UTC, datetime, timedelta

import pytest

from fakes.github import DOCS
from scripts import label_issues
from scripts.tiers import labels

REPO = "kestrel/app"
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
FOCUS, SUB, COMM = "tier: focus", "tier: subscriber", "tier: community"

ROTATION = """\
timezone: Europe/London
handoff: {day: monday, time: "09:00"}
people:
  alice: {name: Alice A, email: alice@kestrel.example, team: core, github: alice-a}
  bob: {name: Bob B, email: bob@kestrel.example, team: core}
teams:
  core: {name: Core}
support_hero:
  order: [alice, bob]
  since: {week: 2026-11-30, first: alice}
github:
  repos: [%(repo)s]
  write_budget: %(budget)d
  lookup_budget: %(lookups)d
  labels:
    focus: {name: "tier: focus", color: "b60205", description: "Focus customer"}
tiers:
  rules:
    - {tier: focus, plans: [scale, enterprise]}
    - {tier: focus, in_sales_process: true}
    - {tier: focus, plans: [cloud], monthly_spend_over: 500}
    - {tier: subscriber, plans: [cloud], monthly_spend_over: 0}
"""

CUSTOMERS = """\
customers:
  - {company: Acme Rockets, plan: enterprise, monthly_spend: 4000, github_logins: [wile-e]}
  - {company: Globex, plan: cloud, monthly_spend: 100, github_orgs: [globex]}
  - {company: Initech, plan: cloud, monthly_spend: 900, domains: [initech.example]}
"""


@pytest.fixture
def gh(github_fake, monkeypatch):
    """The fake with one repository and a clock, and the job's environment pointing at it."""
    github_fake.clock = NOW - timedelta(hours=2)
    github_fake.add_repo(REPO)
    github_fake.add_label(REPO, "bug", "d73a4a", "Something is broken")
    for name, value in github_fake.env().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("CUSTOMERS_YAML", CUSTOMERS)
    monkeypatch.delenv("CUSTOMERS_FILE", raising=False)
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    return github_fake


def write_config(tmp_path, budget=50, lookups=300, repo=REPO):
    path = tmp_path / "rotation.yaml"
    path.write_text(ROTATION % {"repo": repo, "budget": budget, "lookups": lookups})
    return str(path)


def run(capsys, config, *argv, now=NOW):
    code = label_issues.main(["--config", config, "--now", now.isoformat(), *argv])
    out, err = capsys.readouterr()
    return code, out, err


def seed_people(gh):
    gh.add_user("wile-e", name="Wile E. Coyote")
    gh.add_user("gina", name="Gina Globex")
    gh.add_org_member("globex", "gina")
    gh.add_user("ivan", name="Ivan", email="ivan@eu.initech.example")
    gh.add_user("hobbyist", name="Sam Hobbs", company="Freelance")


def tier_labels(gh, number) -> list[str]:
    return [n for n in gh.issue(REPO, number).labels if n.startswith("tier: ")]


def test_first_run_labels_each_issue_once_and_a_second_run_writes_nothing(gh, tmp_path, capsys):
    seed_people(gh)
    focus = gh.add_issue(REPO, "wile-e", "Export fails", "Boom", labels=["bug"])
    subscriber = gh.add_issue(REPO, "gina", "Question about SSO")
    by_domain = gh.add_issue(REPO, "ivan", "API limits?")
    community = gh.add_issue(REPO, "hobbyist", "Feature idea")
    team = gh.add_issue(REPO, "alice-a", "Flaky test")
    member = gh.add_issue(REPO, "carol", "Internal", association="MEMBER")
    pr = gh.add_issue(REPO, "wile-e", "Fix typo", pull_request=True)
    bot = gh.add_issue(REPO, "renovate", "Dependency dashboard")
    gh.users["renovate"]["type"] = "Bot"
    closed = gh.add_issue(REPO, "wile-e", "Old", state="closed")
    config = write_config(tmp_path)

    code, out, _ = run(capsys, config)  # a dry run: the plan, no writes
    assert code == 0 and gh.writes() == 0
    assert "#1 @wile-e: no tier label -> tier: focus (GitHub login, " in out
    assert "Acme" not in out and "Globex" not in out  # the directory is private

    gh.reset_counts()
    code, out, _ = run(capsys, config, "--apply")
    assert code == 0, out
    assert gh.issue(REPO, focus).labels == ["bug", FOCUS]
    assert tier_labels(gh, subscriber) == [SUB]
    assert tier_labels(gh, by_domain) == [FOCUS]
    assert tier_labels(gh, community) == [COMM]
    for number in (team, member, pr, bot, closed):
        assert tier_labels(gh, number) == [], number
    created = {name: gh.repos[REPO].labels[name.lower()] for name in (FOCUS, SUB, COMM)}
    assert (created[FOCUS]["color"], created[FOCUS]["description"]) == ("b60205", "Focus customer")
    assert created[COMM]["color"] == labels.DEFAULT_LABELS["community"].color
    # 3 labels created, then one PATCH per issue (labels and marker at once): 7 writes.
    assert gh.writes() == 7
    assert gh.count("PATCH", "/repos/*/*/issues/*") == 4
    body = gh.issue(REPO, focus).body
    assert (
        body.startswith("Boom\n\n<!-- support-hero {") and labels.read_marker(body).label == FOCUS
    )

    gh.advance(minutes=10)
    gh.reset_counts()
    code, out, _ = run(capsys, config, "--apply")
    assert code == 0
    assert gh.writes() == 0
    assert "No changes" in out
    # The steady state reads one page of issues: those we just wrote need no lookups.
    assert gh.count("GET", "/repos/*/*/issues") == 1 and gh.reads() == 1


def test_a_tier_change_replaces_our_label_on_the_next_full_run(gh, tmp_path, capsys, monkeypatch):
    seed_people(gh)
    first = gh.add_issue(REPO, "ivan", "API limits?")
    second = gh.add_issue(REPO, "ivan", "Webhooks?")
    config = write_config(tmp_path)
    assert run(capsys, config, "--apply")[0] == 0
    assert tier_labels(gh, first) == tier_labels(gh, second) == [FOCUS]

    # Initech moves down to $300 a month; Ivan comments on the first issue.
    monkeypatch.setenv("CUSTOMERS_YAML", CUSTOMERS.replace("900", "300"))
    gh.advance(minutes=5)
    gh.add_comment(REPO, first, "ivan", "Any news?")
    gh.advance(minutes=5)
    gh.reset_counts()
    assert run(capsys, config, "--apply")[0] == 0
    # Incremental runs look up new authors only: the tier comes from the directory, not the issue.
    assert tier_labels(gh, first) == [FOCUS] and gh.writes() == 0
    assert gh.count("GET", "/users/*") == gh.count("GET", "/orgs/**") == 0

    gh.advance(minutes=5)
    code, out, _ = run(capsys, config, "--apply", "--full")
    assert code == 0
    assert tier_labels(gh, first) == tier_labels(gh, second) == [SUB]
    assert "tier: focus -> tier: subscriber" in out


def test_a_tier_label_set_by_hand_stays_as_set(gh, tmp_path, capsys):
    seed_people(gh)
    changed = gh.add_issue(REPO, "hobbyist", "Feature idea")
    added = gh.add_issue(REPO, "hobbyist", "Another idea")
    preset = gh.add_issue(REPO, "wile-e", "Labelled before we ran", labels=[SUB])
    config = write_config(tmp_path)
    assert run(capsys, config, "--apply")[0] == 0
    assert tier_labels(gh, changed) == [COMM] and tier_labels(gh, preset) == [SUB]

    gh.advance(minutes=5)
    gh.set_labels(REPO, changed, [FOCUS])  # the hero knows better
    gh.set_labels(REPO, added, [COMM, FOCUS])  # added theirs, left ours
    gh.advance(minutes=5)
    assert run(capsys, config, "--apply")[0] == 0
    assert tier_labels(gh, changed) == [FOCUS]
    assert tier_labels(gh, added) == [FOCUS]  # ours removed: one tier label per issue
    gh.advance(minutes=5)
    gh.reset_counts()
    assert run(capsys, config, "--apply", "--full")[0] == 0
    assert tier_labels(gh, changed) == [FOCUS] and tier_labels(gh, preset) == [SUB]
    assert gh.writes() == 0


def test_the_budget_stops_a_run_and_the_next_runs_resume(gh, tmp_path, capsys):
    seed_people(gh)
    numbers = []
    for k in range(7):
        gh.advance(minutes=1)
        numbers.append(gh.add_issue(REPO, "hobbyist" if k % 2 else "wile-e", f"Issue {k}"))
    gh.add_issue(REPO, "alice-a", "Team chatter")  # the newest update: needs nothing
    config = write_config(tmp_path, budget=3)
    gh.advance(minutes=1)

    code, out, _ = run(capsys, config, "--apply")
    assert code == 0
    assert gh.writes() == 3  # two labels created, then the oldest issue
    assert "write budget (3 a run) reached: the next run goes on from #2" in out
    done = [n for n in numbers if tier_labels(gh, n)]
    assert done == numbers[:1]

    runs = 1
    while any(not tier_labels(gh, n) for n in numbers):
        gh.advance(minutes=1)
        assert run(capsys, config, "--apply")[0] == 0
        runs += 1
        assert runs < 6
    assert runs == 3  # 2 + 7 writes, 3 a run
    assert gh.writes() == 2 + 7  # nothing written twice
    assert [tier_labels(gh, n)[0] for n in numbers[:2]] == [FOCUS, COMM]
    gh.advance(minutes=1)
    gh.reset_counts()
    assert run(capsys, config, "--apply")[0] == 0 and gh.writes() == 0


def test_the_lookup_budget_stops_before_an_issue_and_the_next_run_resumes(gh, tmp_path, capsys):
    for k in range(4):
        gh.advance(minutes=1)
        gh.add_user(f"user{k}", name=f"User {k}")
        gh.add_issue(REPO, f"user{k}", f"Question {k}")
    config = write_config(tmp_path, lookups=3)  # one org to check + one profile per author
    gh.advance(minutes=1)
    code, out, _ = run(capsys, config, "--apply")
    assert code == 0
    assert "lookups stopped at #2" in out
    assert [bool(tier_labels(gh, n)) for n in (1, 2, 3, 4)] == [True, False, False, False]
    for _ in range(3):
        gh.advance(minutes=1)
        assert run(capsys, config, "--apply")[0] == 0
    assert all(tier_labels(gh, n) == [COMM] for n in (1, 2, 3, 4))


HELM = "I followed the guide, installed the helm chart and the pods crash."
DETAILED = """Helm chart kestrel-1.4.2 fails; guide https://docs.kestrel.example/install
```yaml
replicaCount: 2
```
NAME READY STATUS RESTARTS AGE
api-0 0/1 CrashLoopBackOff 5 3m
kubectl logs api-0: boom"""


def test_the_deployment_comment_is_made_once_across_runs(gh, tmp_path, capsys):
    seed_people(gh)
    helm = gh.add_issue(REPO, "hobbyist", "Helm install broken", HELM)
    detailed = gh.add_issue(REPO, "hobbyist", "Kubernetes install broken", DETAILED)
    slow = gh.add_issue(REPO, "wile-e", "Dashboards are slow", "Since Monday.")
    old = gh.add_issue(REPO, "hobbyist", "Helm", "old", created_at=NOW - timedelta(days=30))
    config = write_config(tmp_path)
    assert run(capsys, config, "--apply")[0] == 0

    (comment,) = gh.issue(REPO, helm).comments
    assert comment["body"].startswith("Hey Sam,\n")
    for ask in ("values.yaml", "kubectl get pods -A", "kubectl logs", "chart version"):
        assert ask in comment["body"]
    assert gh.issue(REPO, detailed).comments == [] and gh.issue(REPO, old).comments == []
    (shot,) = gh.issue(REPO, slow).comments
    assert shot["body"].startswith("Hey Wile,\n") and "System Status" in shot["body"]

    for _ in range(2):  # the author answers; later runs read the thread and do not ask again
        gh.advance(minutes=5)
        gh.add_comment(REPO, helm, "hobbyist", "Here is more: it is on EKS.")
        gh.advance(minutes=5)
        assert run(capsys, config, "--apply")[0] == 0
    ours = [c for c in gh.issue(REPO, helm).comments if "support-hero:triage" in c["body"]]
    assert len(ours) == 1
    assert len(gh.issue(REPO, slow).comments) == 1


def test_an_issue_edited_while_we_work_is_left_for_the_next_run(gh, tmp_path, capsys):
    seed_people(gh)
    number = gh.add_issue(REPO, "wile-e", "Export fails", "Boom")
    gh.add_label(REPO, FOCUS)
    gh.edits_on_read[(REPO, number)] = "Boom (edited: on Safari only)"
    config = write_config(tmp_path)
    code, out, _ = run(capsys, config, "--apply")
    assert code == 0 and "skipped #1" in out
    assert gh.issue(REPO, number).body == "Boom (edited: on Safari only)"  # not overwritten
    assert tier_labels(gh, number) == [] and gh.writes() == 0
    gh.advance(minutes=1)
    assert run(capsys, config, "--apply")[0] == 0
    assert tier_labels(gh, number) == [FOCUS]
    assert gh.issue(REPO, number).body.startswith("Boom (edited: on Safari only)\n\n<!--")


def test_rate_limits_and_server_errors_are_waited_out(gh, tmp_path, capsys):
    seed_people(gh)
    number = gh.add_issue(REPO, "wile-e", "Export fails")
    gh.exhaust_rate_limit(reset_in=1)  # the primary limit: 403 until the reset
    gh.inject("GET", "/repos/*/*/issues", 502, times=1)
    gh.inject("PATCH", "/repos/*/*/issues/*", 503, times=1, headers={"Retry-After": "0"})
    secondary = {"message": "You have exceeded a secondary rate limit. Please wait a few minutes"
                 " before you try again.", "documentation_url": DOCS}  # fmt: skip
    gh.inject("POST", "/repos/*/*/labels", 403, times=1, body=secondary,
              headers={"Retry-After": "1"})  # fmt: skip
    code, _, err = run(capsys, write_config(tmp_path), "--apply")
    assert code == 0, err
    assert tier_labels(gh, number) == [FOCUS]
    statuses = [c.status for c in gh.calls]
    assert statuses.count(403) >= 2 and 502 in statuses and 503 in statuses


def test_a_failing_write_stops_the_repository_and_the_next_run_finishes(gh, tmp_path, capsys):
    seed_people(gh)
    for k in range(3):
        gh.advance(minutes=1)
        gh.add_issue(REPO, "wile-e", f"Issue {k}")
    gh.add_label(REPO, FOCUS)
    refused = {"message": "Validation Failed", "documentation_url": DOCS}
    gh.inject("PATCH", "/repos/kestrel/app/issues/2", 422, body=refused)  # not worth a retry
    config = write_config(tmp_path)
    code, _, err = run(capsys, config, "--apply")
    assert code == 1 and "GitHub answered 422: Validation Failed" in err
    assert [bool(tier_labels(gh, n)) for n in (1, 2, 3)] == [True, False, False]
    gh.faults.clear()
    gh.advance(minutes=1)
    assert run(capsys, config, "--apply")[0] == 0
    assert all(tier_labels(gh, n) == [FOCUS] for n in (1, 2, 3))


def test_bad_configuration_or_directory_exits_2_without_a_request(
    gh, tmp_path, capsys, monkeypatch
):
    config = write_config(tmp_path)
    monkeypatch.setenv("CUSTOMERS_YAML", "customers:\n  - {company: X, domains: [gmail.com]}\n")
    code, _, err = run(capsys, config, "--apply")
    assert code == 2 and "$CUSTOMERS_YAML:2:" in err and "gmail" not in err
    path = tmp_path / "rotation.yaml"
    path.write_text(path.read_text().replace("write_budget: 50", "write_budget: 0"))
    monkeypatch.setenv("CUSTOMERS_YAML", CUSTOMERS)
    code, _, err = run(capsys, str(path), "--apply")
    assert code == 2 and "write_budget" in err
    assert gh.count() == 0


def test_without_a_token_a_dry_run_reads_nothing_and_apply_exits_2(
    gh, tmp_path, capsys, monkeypatch
):
    monkeypatch.delenv("GITHUB_TOKEN")
    config = write_config(tmp_path)
    code, out, _ = run(capsys, config)
    assert code == 0 and "GITHUB_TOKEN is not set" in out and "tier: focus (#b60205)" in out
    code, _, err = run(capsys, config, "--apply")
    assert code == 2 and "GITHUB_TOKEN" in err
    assert gh.count() == 0


def test_json_output_lists_changes_and_deferred_writes(gh, tmp_path, capsys):
    seed_people(gh)
    gh.add_issue(REPO, "wile-e", "One")
    gh.add_issue(REPO, "gina", "Two")
    code, out, _ = run(capsys, write_config(tmp_path, budget=2), "--format", "json")
    assert code == 0
    doc = json.loads(out)
    assert [c["action"] for c in doc["changes"]] == ["create", "create"]
    assert [d["action"] for d in doc["deferred"]] == ["labels", "labels"]


def test_lookups_stop_above_an_empty_rate_limit(gh, tmp_path, capsys):
    for k in range(3):
        gh.advance(minutes=1)
        gh.add_user(f"user{k}")
        gh.add_issue(REPO, f"user{k}", f"Question {k}")
    gh.rate_limit = label_issues.RATE_RESERVE + 4  # room for the page and a few lookups
    code, out, _ = run(capsys, write_config(tmp_path), "--apply")
    assert code == 0 and "lookups stopped at #" in out
    assert 403 not in [c.status for c in gh.calls]  # never ran into the limit itself


def test_the_fake_pages_and_limits_as_github_does(gh):
    import requests

    for k in range(150):
        gh.add_issue(REPO, "someone", f"Issue {k}", pull_request=k == 0)
    headers = {"Authorization": f"token {gh.token}"}
    first = requests.get(f"{gh.url}/repos/{REPO}/issues?per_page=100", headers=headers, timeout=5)
    assert len(first.json()) == 100 and first.headers["x-ratelimit-remaining"] == "4999"
    assert first.links["next"]["url"].endswith("per_page=100&page=2")
    assert first.links["last"]["url"].endswith("page=2")
    second = requests.get(first.links["next"]["url"], headers=headers, timeout=5)
    assert len(second.json()) == 50 and "next" not in second.links
    assert "prev" in second.links and "first" in second.links
    assert "pull_request" in second.json()[-1]  # #1, the oldest (sorted by created, desc)
    member = requests.get(f"{gh.url}/orgs/globex/members/gina", headers=headers, timeout=5,
                          allow_redirects=False)  # fmt: skip
    assert member.status_code == 302  # we are not in the organisation: see public_members
    assert member.headers["Location"].endswith("/orgs/globex/public_members/gina")
    gh.exhaust_rate_limit(reset_in=30)
    limited = requests.get(f"{gh.url}/users/someone", headers=headers, timeout=5)
    assert limited.status_code == 403 and limited.headers["x-ratelimit-remaining"] == "0"
    assert limited.json()["message"].startswith("API rate limit exceeded")


def test_a_wait_longer_than_we_accept_fails_the_run_at_once(gh, tmp_path, capsys):
    gh.add_issue(REPO, "someone", "Question")
    slow_down = {"message": "slow down", "documentation_url": DOCS}
    gh.inject("GET", "/repos/*/*/issues", 429, headers={"Retry-After": "3600"}, body=slow_down)
    code, _, err = run(capsys, write_config(tmp_path), "--apply")
    assert code == 1 and "asked to wait 3600 s" in err
    assert gh.count() == 1 and gh.writes() == 0  # no retry, no write: the next run starts over


def test_tier_labels_in_another_case_are_ours_and_tier_changes_still_arrive(
    gh, tmp_path, capsys, monkeypatch
):
    """GitHub label names are case-insensitive: `Tier: Focus` is our `tier: focus`."""
    seed_people(gh)
    gh.add_label(REPO, "Tier: Focus", "b60205", "Focus customer")  # made by hand, other case
    issue = gh.add_issue(REPO, "wile-e", "Export fails")
    config = write_config(tmp_path)
    assert run(capsys, config, "--apply")[0] == 0
    assert gh.issue(REPO, issue).labels == ["Tier: Focus"]  # GitHub keeps the label's own case
    gh.advance(minutes=5)
    gh.reset_counts()
    assert run(capsys, config, "--apply")[0] == 0 and gh.writes() == 0
    assert run(capsys, config, "--apply", "--full")[0] == 0 and gh.writes() == 0

    downgraded = CUSTOMERS.replace("enterprise, monthly_spend: 4000", "cloud, monthly_spend: 100")
    monkeypatch.setenv("CUSTOMERS_YAML", downgraded)
    gh.advance(minutes=5)
    code, out, _ = run(capsys, config, "--apply", "--full")
    assert code == 0 and "Tier: Focus -> tier: subscriber" not in out
    assert "tier: focus -> tier: subscriber" in out
    assert gh.issue(REPO, issue).labels == [SUB]


@pytest.mark.parametrize("how", ["the author answers", "the comment waited a run",
                                 "the comment POST failed"])  # fmt: skip
def test_a_tier_label_is_kept_when_only_the_conversation_moves(gh, tmp_path, capsys, how):
    """Removed only when the tier changed: never because the issue was looked at again."""
    seed_people(gh)
    gh.add_label(REPO, FOCUS, "b60205", "Focus customer")  # a budget of 1: the label write first
    helm = gh.add_issue(REPO, "wile-e", "Helm install broken", HELM)
    config = write_config(tmp_path, budget=1 if how == "the comment waited a run" else 50)
    if how == "the comment POST failed":
        gh.inject("POST", "/repos/*/*/issues/*/comments", 422, body={"message": "Validation"})
    run(capsys, config, "--apply")
    assert tier_labels(gh, helm) == [FOCUS]
    gh.advance(minutes=5)
    if how == "the author answers":
        gh.add_comment(REPO, helm, "wile-e", "It is on EKS, chart 1.2.3.")
        gh.advance(minutes=5)
    for _ in range(2):
        assert run(capsys, config, "--apply")[0] == 0
        assert tier_labels(gh, helm) == [FOCUS]
        gh.advance(minutes=5)
    ours = [c for c in gh.issue(REPO, helm).comments if "support-hero:triage" in c["body"]]
    assert len(ours) == 1


def test_a_lost_answer_to_a_triage_comment_posts_it_once(gh, tmp_path, capsys):
    seed_people(gh)
    helm = gh.add_issue(REPO, "hobbyist", "Helm install broken", HELM)
    gh.inject("POST", "/repos/*/*/issues/*/comments", 500, after=True)  # made, answer lost
    assert run(capsys, write_config(tmp_path), "--apply")[0] == 0
    gh.advance(minutes=5)
    assert run(capsys, write_config(tmp_path), "--apply")[0] == 0
    assert len(gh.issue(REPO, helm).comments) == 1


OTHER = "kestrel/docs"  # a repository other than the one the workflow runs in (REPO)
APP_TOKEN = "ghs_fakeAppInstallationToken000000000000"


@pytest.mark.parametrize("app_token", [True, False])
def test_other_repositories_are_reached_with_the_app_token(gh, tmp_path, capsys, monkeypatch,
                                                           app_token):  # fmt: skip
    seed_people(gh)
    gh.add_repo(OTHER)
    here = gh.add_issue(REPO, "wile-e", "Export fails")
    there = gh.add_issue(OTHER, "wile-e", "Typo")
    gh.scope_token([REPO])  # the workflow's own GITHUB_TOKEN: this repository only
    monkeypatch.setenv("GITHUB_REPOSITORY", REPO)
    if app_token:
        gh.add_token(APP_TOKEN, [OTHER])  # the app is installed on the other repository
        monkeypatch.setenv("GITHUB_APP_TOKEN", APP_TOKEN)
    else:
        monkeypatch.delenv("GITHUB_APP_TOKEN", raising=False)
    config = write_config(tmp_path, repo=f"{REPO}, {OTHER}")
    code, out, err = run(capsys, config, "--apply")
    there_labels = [n for n in gh.issue(OTHER, there).labels if n.startswith("tier: ")]
    if app_token:
        assert code == 0 and there_labels == [FOCUS] and tier_labels(gh, here) == [FOCUS], err
    else:  # the workflow's token cannot see it: said, with the way out; nothing is written
        assert code == 1 and f"reading {OTHER}" in err and "GITHUB_APP_TOKEN" in err
        assert there_labels == [] and tier_labels(gh, here) == [] and gh.writes() == 0
    assert APP_TOKEN not in out + err
