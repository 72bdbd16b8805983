"""Label GitHub issues by customer tier (Focus, Subscriber, Community); ask for missing details."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from scripts import cli, runner
from scripts import plan as plans
from scripts.clients.github import Clients, GitHub, GitHubError
from scripts.markup.github_text import escape
from scripts.plan import Change, IssueComment, IssueLabels, LabelCreate
from scripts.rotation.model import Rotation
from scripts.rotation.problems import ConfigError
from scripts.tiers import directory as tiers
from scripts.tiers import labels

TITLE = "GitHub issue labels"
TOKEN = "GITHUB_TOKEN"
RATE_RESERVE = 100  # lookups stop this far above an empty rate limit, leaving room for writes


def main(argv: list[str] | None = None) -> int:
    p = cli.parser(__doc__)
    p.add_argument(
        "--full",
        action="store_true",
        help="look at every open issue again, not only those updated since the last run "
        "(e.g. after the customer directory changed)",
    )
    return runner.start(JOB, p, argv)


@dataclass(frozen=True)
class Setup:
    rot: Rotation
    cfg: labels.Settings
    rules: tuple[tiers.Rule, ...]
    directory: tiers.Directory
    now: datetime
    full: bool
    config: str


def setup(args) -> Setup:
    rot, _ = cli.load(args.config)
    cfg, rules = load_settings(rot, args.config)
    directory = tiers.load_directory(os.environ, Path(args.config).parent)
    return Setup(rot, cfg, rules, directory, cli.now_or(args), args.full, args.config)


def observe_all(s: Setup, clients: Clients | None) -> list[RepoPlan] | None:
    """Each repository read and planned in turn: the write budget left after one bounds how
    far the next is read. None: GitHub was not read (no token)."""
    if clients is None:
        return None
    # --full is a deliberate re-check of every author: only the rate limit's reserve bounds it.
    lookups = Lookups(clients, s.directory, s.rules, None if s.full else s.cfg.lookup_budget)
    team = frozenset(p.github.lower() for p in s.rot.people.values() if p.github)
    budget_left, results = s.cfg.write_budget, []
    for repo in s.cfg.repos:
        try:
            gh = clients.for_repo(repo)
            seen = observe(gh, lookups, repo, s.cfg, s.rules, team, s.now, s.full, budget_left)
        except GitHubError as exc:
            hint = NO_ACCESS if exc.status == 404 else ""
            raise runner.Halted(f"reading {repo}: {exc}{hint}", exc) from None
        results.append(plan_repo(seen, s.cfg, budget_left))
        budget_left -= len(results[-1].budgeted.changes)
    return results


def planned(s: Setup, results: list[RepoPlan] | None, heading: str) -> runner.Planned:
    if results is None:
        text = (
            f"{TOKEN} is not set: GitHub was not read; this is the desired state.\n\n"
            + desired_state(s.cfg, s.rules, s.directory)
        )
        return runner.Planned([], text, text, summary="")
    changes = [c for r in results for c in r.budgeted.changes]
    return render(s, heading, changes, results)


# --- load ---------------------------------------------------------------------------------------


NO_ACCESS = (
    " (no such repository, or the token cannot see it: another repository needs"
    " GITHUB_APP_TOKEN, docs/setup.md)"
)


def load_settings(rot: Rotation, config: str) -> tuple[labels.Settings, tuple[tiers.Rule, ...]]:
    """The `github` and `tiers` sections (shapes checked by the schema), with their lines."""
    src = rot.source
    github = rot.section("github")
    if not github.get("repos"):
        where = ("github",) if "github" in rot.settings else ()
        raise ConfigError([src.problem(where, "github.repos: list the repositories to label")])
    lines = {key: src.where(("github", key))[0] for key in github}
    raw_rules = rot.section("tiers").get("rules")
    rule_lines = [src.where(("tiers", "rules", i))[0] for i in range(len(raw_rules or []))]
    return labels.settings(github, lines), tiers.rules(raw_rules, rule_lines)


# --- observe (read only) -----------------------------------------------------------------------


class BudgetSpent(Exception):
    """The lookup budget (or the rate limit's reserve) is used up: stop before this issue."""


class Lookups:
    """Who an author is, from the directory and at most `budget` GitHub reads a run (cached;
    None: no budget but the rate limit's reserve)."""

    def __init__(self, clients: Clients, directory: tiers.Directory, rules, budget: int | None):
        self.clients, self.gh, self.directory, self.left = clients, clients.own, directory, budget
        self.orgs = tiers.orgs_to_check(directory, rules)
        self._profiles: dict[str, tiers.Profile | None] = {}
        self._matches: dict[str, tiers.Match] = {}
        self.reads = 0

    def _spend(self) -> None:
        remaining = self.gh.rate_remaining
        if self.left == 0 or (remaining is not None and remaining <= RATE_RESERVE):
            raise BudgetSpent
        if self.left is not None:
            self.left -= 1
        self.reads += 1

    def profile(self, login: str) -> tiers.Profile | None:
        key = login.lower()
        if key not in self._profiles:
            self._spend()
            u = self.gh.user(login)
            self._profiles[key] = u and tiers.Profile(u.login, u.name, u.company, u.email, u.blog)
        return self._profiles[key]

    def match(self, login: str) -> tiers.Match:
        """The GitHub login, then public organisations, then the profile's email, company, site."""
        key = login.lower()
        if key not in self._matches:
            self._matches[key] = self._match(login)
        return self._matches[key]

    def _match(self, login: str) -> tiers.Match:
        if found := tiers.match_login(self.directory, login):
            return found
        for org in self.orgs:
            self._spend()
            if self.gh.is_public_member(org, login):
                return tiers.match_org(self.directory, org)
        profile = self.profile(login)
        found = profile and tiers.match_profile(self.directory, profile)
        return found or tiers.Match(None, "no match")

    def comments(self, repo: str, number: int, count: int) -> list:
        pages = max(1, -(-count // 100))
        for _ in range(pages):  # the budget counts each page the listing will read
            self._spend()
        return self.clients.for_repo(repo).comments(repo, number)


@dataclass(frozen=True)
class Observed:
    repo: str
    window: labels.Window
    decisions: tuple[labels.Decision, ...]
    horizon: datetime | None  # handled through here: the newest update read, or the cut
    cut: tuple[str, int] | None  # ("writes" or "lookups", the issue the next run starts at)
    existing_labels: frozenset[str]


def observe(gh, lookups: Lookups, repo, cfg, rules, team, now, full, write_room) -> Observed:
    """Issues updated since the last run, and what each needs (authors, earlier comments).

    Stops before an issue when lookups run out, or once the writes found fill the room left
    in the write budget (looking further would be redone by the run that makes them).
    """
    state = "open" if full else "all"  # closed ones only help find our newest marker
    window = labels.scan(gh.iter_issues(repo, state=state, sort="updated", direction="desc"), full)
    decisions, writes, horizon, cut = [], [], window.newest, None
    for issue in labels.to_process(window):
        if len(writes) >= write_room:
            horizon, cut = issue.updated_at, ("writes", issue.number)
            break
        a = labels.assess(issue, cfg, team, now, full)
        try:
            decisions.append(decide(a, lookups, rules, repo))
        except BudgetSpent:
            horizon, cut = issue.updated_at, ("lookups", issue.number)
            break
        writes += labels.writes_for(repo, decisions[-1], cfg)
    existing = frozenset(n for i in window.issues for n in i.labels)
    if labels.labels_to_create(writes, existing, cfg):  # not seen on an issue: ask the repository
        existing = frozenset(label.name for label in gh.labels(repo))
    return Observed(repo, window, tuple(decisions), horizon, cut, existing)


def decide(a: labels.Assessment, lookups: Lookups, rules, repo: str) -> labels.Decision:
    """An issue's tier and triage asks, from lookups (raising BudgetSpent when out of them)."""
    issue = a.issue
    if a.skip:
        return labels.Decision(a, how=a.skip)
    unsure = "a person set theirs" if a.owner != "us" else "tier label kept"
    tier, how, line = None, a.team or unsure, 0
    if a.needs_tier:
        found = lookups.match(issue.user)
        tier, rule = tiers.tier_of(found.customer, rules)
        how, line = found.how, rule.line if rule else 0
    ask, greeting, text = (), "", ""
    if a.triage:
        comments = lookups.comments(repo, issue.number, issue.comments) if issue.comments else []
        ask = labels.still_needed(a, comments, issue.user)
        if ask:
            profile = lookups.profile(issue.user)
            greeting = labels.greeting_name(issue.user, profile.name if profile else None)
            theirs = [c.body or "" for c in comments if c.user.lower() == issue.user.lower()]
            text = "\n".join([issue.title, labels.without_marker(issue.body), *theirs])
    return labels.Decision(a, tier, how, line, ask, greeting, text)


# --- plan ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RepoPlan:
    observed: Observed
    budgeted: labels.Budgeted


def plan_repo(seen: Observed, cfg: labels.Settings, budget_left: int) -> RepoPlan:
    """Missing labels first, then each issue's writes, oldest update first, within the budget."""
    writes = [w for d in seen.decisions for w in labels.writes_for(seen.repo, d, cfg)]
    creates = [
        labels.create_label_write(seen.repo, spec, cfg)
        for spec in labels.labels_to_create(writes, seen.existing_labels, cfg)
    ]
    budgeted = labels.budget(creates + writes, max(0, budget_left), seen.horizon)
    return RepoPlan(seen, budgeted)


def desired_state(cfg: labels.Settings, rules, directory: tiers.Directory) -> str:
    """Without a token: the labels each repository should have, and customers per tier."""
    counts = {t: 0 for t in tiers.TIERS}
    for customer in directory.customers:
        counts[tiers.tier_of(customer, rules)[0]] += 1
    lines = [f"Repositories: {', '.join(cfg.repos)}", "Labels:"]
    lines += [f"  {s.name} (#{s.color}): {s.description}" for s in cfg.labels.values()]
    lines.append(
        f"Customer directory {directory.source}: {len(directory.customers)} customers, "
        + ", ".join(f"{n} {t}" for t, n in counts.items() if t != tiers.COMMUNITY)
    )
    return "\n".join(lines)


# --- render and apply ---------------------------------------------------------------------------


def notes(results: list[RepoPlan], cfg: labels.Settings) -> list[str]:
    """What the plan leaves for the next run, and what it read."""
    out = []
    for r in results:
        seen = r.observed
        mark = seen.window.watermark
        since = f"updated since {mark:%Y-%m-%d %H:%M:%S} UTC" if mark else "(no earlier run: all)"
        out.append(f"{seen.repo}: read {len(seen.window.issues)} issues {since}")
        deferred = r.budgeted.deferred
        if deferred or (seen.cut and seen.cut[0] == "writes"):
            start = f"#{deferred[0].issue.number}" if deferred and deferred[0].issue else ""
            start = start or (f"#{seen.cut[1]}" if seen.cut else "the labels")
            out.append(
                f"{seen.repo}: write budget ({cfg.write_budget} a run) reached: "
                f"the next run goes on from {start}"
            )
        elif seen.cut:
            out.append(
                f"{seen.repo}: lookups stopped at #{seen.cut[1]} (lookup budget "
                f"{cfg.lookup_budget} a run, or the rate limit): the next run goes on from there"
            )
    return out


def render(s: Setup, heading: str, changes: list[Change],
           results: list[RepoPlan]) -> runner.Planned:  # fmt: skip
    extra = notes(results, s.cfg)
    markdown = plans.render_markdown(changes, s.config, heading)
    deferred = [
        {"repo": w.repo, "action": w.kind, "summary": w.summary}
        for r in results
        for w in r.budgeted.deferred
    ]
    return runner.Planned(
        changes,
        plans.render_text(changes, s.config, heading)
        + "".join(f"\n{n}" for n in ["", *extra] if extra),
        markdown + "".join(f"\n\n{n}" for n in extra),
        summary=markdown + "".join(f"\n\n{escape(n)}" for n in extra),
        json={"deferred": deferred, "notes": extra},
    )


def writer(s: Setup, results: object, clients: Clients, changes: Sequence[Change]) -> runner.Write:
    """In plan order; a repository stops at its first failure (Policy.STOP_TARGET: the next
    run resumes from our marker). An issue updated since it was read is skipped."""
    checked: dict[tuple[str, int], bool] = {}  # (repo, number) -> unchanged since read

    def unchanged(gh: GitHub, repo: str, number: int, updated_at: datetime) -> None:
        if (repo, number) not in checked:
            checked[repo, number] = gh.unchanged_since(repo, number, updated_at)
        if not checked[repo, number]:
            raise runner.Skip("the issue changed meanwhile")  # its update brings it back

    def write(change: Change) -> None:
        match change.data:
            case LabelCreate(repo, name, color, description):
                try:
                    clients.for_repo(repo).create_label(repo, name, color, description)
                except GitHubError as exc:
                    if exc.status != 422:  # 422: created meanwhile, which is what we wanted
                        raise
            case IssueLabels(repo, number, updated_at, names, body):
                gh = clients.for_repo(repo)
                unchanged(gh, repo, number, updated_at)
                gh.edit_issue(repo, number, list(names), body)
            case IssueComment(body, repo, number, updated_at) if updated_at is not None:
                gh = clients.for_repo(repo)
                unchanged(gh, repo, number, updated_at)
                gh.comment(repo, number, body)
            case other:
                raise TypeError(f"label_issues cannot apply {type(other).__name__}")

    return write


JOB = runner.Job(
    TITLE,
    runner.Policy.STOP_TARGET,
    setup,
    runner.client(TOKEN, Clients),
    observe_all,
    planned,
    writer,
    tokens=runner.needs(TOKEN),
)


if __name__ == "__main__":
    sys.exit(main())
