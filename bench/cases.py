"""One benchmark case per job: seed the fakes, run first, steady and changed states."""

from __future__ import annotations

import json
import math
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.harness import Run, measure, run_job
from bench.scenario import SINCE, Scenario, seed_issues
from fakes.base import fake_env
from fakes.github import GitHubFake
from fakes.pagerduty import PagerDutyFake
from fakes.slack import SlackFake
from scripts.pagerduty.plan import synced, target
from scripts.pagerduty.shifts import MAX_MEMBERS
from scripts.rotation import load as rotation
from scripts.rotation import schedule

NOW = datetime(2026, 12, 8, 10, 0, tzinfo=UTC)  # a Tuesday morning, mid-shift
PD_PAGE = 100  # the largest page PagerDuty's classic pagination gives


def write_config(workdir: Path, text: str) -> Path:
    path = workdir / "rotation.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def add_swap(text: str, scenario: Scenario) -> str:
    """The same rotation with one more whole-week swap, in weeks no other swap touches."""
    rot = rotation.load("bench.yaml", text=text)[0]
    taken = {schedule.week_of(rot, schedule.handoff(rot, d)) for s in rot.swaps for d in s.dates}
    weeks = [SINCE + timedelta(weeks=k) for k in range(6, 60)]
    free = [w for w in weeks if w not in taken and w > NOW.date()]
    a, b = free[0], free[1]
    hero = rot.hero.cycle
    who = [hero.person_at((w - hero.since).days // 7) for w in (a, b)]
    return text + f"  - {{people: [{who[0]}, {who[1]}], dates: [{a}, {b}], reason: added}}\n"


def add_day_swap_this_week(text: str) -> str:
    """One more single-day swap: next week's hero covers this Friday, so the message changes."""
    rot = rotation.load("bench.yaml", text=text)[0]
    week = schedule.week_of(rot, NOW)
    friday, next_friday = week + timedelta(days=4), week + timedelta(days=11)
    cycle = rot.hero.cycle
    now_hero = cycle.person_at((week - cycle.since).days // 7)
    next_hero = cycle.person_at((week - cycle.since).days // 7 + 1)
    swap = (
        f"  - {{people: [{now_hero}, {next_hero}], days: [{friday}, {next_friday}], "
        "reason: added}\n"
    )
    head, sep, tail = text.partition("slack:")
    return head + swap + sep + tail


# -- sync_pagerduty ---------------------------------------------------------------------------


def _pd_needed_writes(config: Path, env: dict, rot) -> int:
    """Writes the plan needs. Layer-based: a PUT per schedule whose layers change. Shift-based:
    a request per event ended or deleted and per time zone, one (two with a new rotation) per
    event created. Both: a POST batch per schedule with overrides to create, a DELETE per pruned
    override or custom shift."""
    _, _, _, _, out = run_job(
        "sync_pagerduty",
        ["--config", str(config), "--now", NOW.isoformat(), "--format", "json", "--prune"],
        env,
    )
    plan = json.loads(out[out.index("{") :])
    v3 = {target(rot, key) for key, kind in plan["kinds"].items() if kind == "v3"}
    writes = 0
    for where in {c["target"] for c in plan["changes"]}:
        mine = [c for c in plan["changes"] if c["target"] == where]
        events = [c for c in mine if c["summary"].startswith("new event")]
        overrides = [c for c in mine if c["action"] == "create" and c not in events]
        updates = sum(c["action"] == "update" for c in mine)
        writes += sum(c["action"] == "delete" for c in mine) + bool(overrides)
        if where in v3:
            writes += updates + sum(2 if "new rotation" in c["summary"] else 1 for c in events)
        else:
            writes += bool(updates)
    return writes


def sync_pagerduty(
    scenario: Scenario, latency: float, workdir: Path, v3: bool = False
) -> list[Run]:
    """Adopting hand-made schedules, then a steady run, then one swap more: layer-based
    schedules, or (v3) shift-based team schedules, each with a hand-made weekly rotation, beside
    the layer-based hero schedule (its 300 people are more than a v3 event holds)."""
    config = write_config(workdir, scenario.rotation_yaml)
    rot = rotation.load(config)[0]
    runs = []
    job = "sync_pagerduty" + (" (v3)" if v3 else "")
    with PagerDutyFake(clock=NOW) as fake:
        # shift-based events take at most 20 members: the 300-person hero rotation stays layer-based
        teams = tuple(k for k in synced(rot) if len(rot.cycle_of(k).order) <= MAX_MEMBERS)
        fake.seed_from_rotation(rot, layer="hand-made", v3=teams if v3 else ())
        env = fake_env(fake)
        schedules = len(synced(rot))
        reads = math.ceil(len(rot.people) / PD_PAGE) + 3 * schedules
        parts = "the v3 probe answered 400, layers, overrides"
        if v3:
            parts = f"shift-based teams: rotations with events, overrides, custom shifts; {parts}"
        formula = (
            f"reads: ceil({len(rot.people)} users/{PD_PAGE}) + 3 x {schedules} schedules "
            f"({parts}); writes: "
            + (
                "1 per event ended, 1 per event created, 1 per time zone"
                if v3
                else "1 PUT per changed schedule"
            )
            + " + 1 POST batch per schedule with new overrides"
        )
        args = ["--config", str(config), "--now", NOW.isoformat(), "--apply", "--prune"]
        for state in ("first run", "steady state", "one change"):
            if state == "one change":
                config = write_config(workdir, add_swap(config.read_text(), scenario))
            fake.latency = 0
            writes = _pd_needed_writes(config, env, rot)
            fake.latency = latency
            run = measure([fake], "sync_pagerduty", state, args, env, (reads, writes, formula))
            runs.append(replace(run, job=job))
    return runs


def sync_pagerduty_v3(scenario: Scenario, latency: float, workdir: Path) -> list[Run]:
    return sync_pagerduty(scenario, latency, workdir, v3=True)


# -- post_handoff -----------------------------------------------------------------------------


def post_handoff(scenario: Scenario, latency: float, workdir: Path) -> list[Run]:
    slack = {
        "channel": "C0SUPPORT1",
        "hero_group": "support-hero",
        "topic": True,
        "reminders": True,
    }
    text = (
        scenario.rotation_yaml
        + "slack:\n"
        + "".join(f"  {k}: {json.dumps(v)}\n" for k, v in slack.items())
    )
    config = write_config(workdir, text)
    rot = rotation.load(config)[0]
    runs = []
    with SlackFake() as fake:
        fake.now = NOW
        fake.seed_from_rotation(rot)
        env = fake_env(fake)
        on_now = {s.person for s in schedule.shifts(rot, NOW, NOW + timedelta(seconds=1))}
        nxt = schedule.on_call(rot, "support-hero", NOW + timedelta(weeks=1))
        lookups = len(on_now | {nxt.person})
        reads = lookups + 5
        formula = (
            f"reads: {lookups} users.lookupByEmail (people on call now + next hero) + "
            "history + usergroups.list + conversations.info + DM open + DM history; "
            "writes: post/update + group create/update + topic + reminder, only what differs"
        )
        args = ["--config", str(config), "--now", NOW.isoformat(), "--apply"]
        fake.latency = latency
        first = measure([fake], "post_handoff", "first run", args, env, (reads, 0, formula))
        first.min_writes = first.writes  # everything written was missing: the need is the count
        runs.append(first)
        runs.append(measure([fake], "post_handoff", "steady state", args, env, (reads, 0, formula)))
        config = write_config(workdir, add_day_swap_this_week(config.read_text()))
        runs.append(
            measure(
                [fake],
                "post_handoff",
                "one change",
                args,
                env,
                (reads, 1, formula + "; one change: 1 chat.update"),
            )
        )
    return runs


# -- check_rotation ---------------------------------------------------------------------------


def check_rotation(scenario: Scenario, latency: float, workdir: Path) -> list[Run]:
    config = write_config(workdir, scenario.rotation_yaml)
    args = ["--config", str(config), "--now", NOW.isoformat(), "--weeks", "8"]
    runs = []
    for state in ("first run", "steady state", "one change"):
        if state == "one change":
            config = write_config(workdir, add_swap(config.read_text(), scenario))
        runs.append(measure([], "check_rotation", state, args, {}, (0, 0, "no API requests")))
    return runs


# -- label_issues -----------------------------------------------------------------------------

GH_PAGE = 100  # GitHub's largest page
CUSTOMER_ORGS = 10  # customers recognised by a public organisation: one check per unknown author


def _directory(workdir: Path, customers: int) -> Path:
    """A customer directory: customers with a GitHub login each, some with an organisation."""
    plans = ("cloud", "scale", "enterprise")
    lines = ["customers:"]
    for i in range(customers):
        lines += [
            f"  - company: Customer {i}",
            f"    plan: {plans[i % 3]}",
            f"    monthly_spend: {(i * 37) % 900}",
            f"    domains: [customer{i}.example]",
            f"    github_logins: [cust-{i}]",
        ]
        if i < CUSTOMER_ORGS:
            lines.append(f"    github_orgs: [org-{i}]")
    path = workdir / "customers.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def label_issues(scenario: Scenario, latency: float, workdir: Path) -> list[Run]:
    repos = [f"bench-org/repo-{r}" for r in range(scenario.scale.repos)]
    customers = 100
    section = f"github:\n  repos: [{', '.join(repos)}]\n  write_budget: 50\n  lookup_budget: 300\n"
    config = write_config(workdir, scenario.rotation_yaml + section)
    drain = workdir / "drain.yaml"  # the same with budgets lifted, to work off the backlog
    drain.write_text(
        config.read_text()
        .replace("write_budget: 50", "write_budget: 1000")
        .replace("lookup_budget: 300", "lookup_budget: 4000"),
        encoding="utf-8",
    )
    directory = _directory(workdir, customers)
    runs = []
    with GitHubFake(clock=NOW - timedelta(days=1)) as fake:
        for repo in repos:
            fake.add_repo(repo)
        fake.rate_limit = 10**9  # the benchmark measures use; it does not hit the limit here
        seed_issues(fake, repos, scenario.scale.issues, NOW - timedelta(days=30), customers)
        fake.clock = NOW
        env = fake_env(fake) | {"CUSTOMERS_FILE": str(directory)}
        args = ["--config", str(config), "--now", NOW.isoformat(), "--apply"]
        pages = math.ceil(scenario.scale.issues / GH_PAGE) + len(repos)
        formula = (
            f"reads: ceil({scenario.scale.issues} issues/{GH_PAGE}) pages + 1 label list "
            f"per repo, + per stranger 1 profile + {CUSTOMER_ORGS} organisation checks, "
            "until the lookup budget (300); writes: 1 per label change, 1 per new label, "
            "until the write budget (50)"
        )
        fake.latency = latency
        first = measure([fake], "label_issues", "first run", args, env, (pages, 50, formula))
        runs.append(first)
        fake.latency = 0
        for _ in range(20):  # work off the backlog at the schema's largest budgets
            fake.reset_counts()
            run_job(
                "label_issues", ["--config", str(drain), "--now", NOW.isoformat(), "--apply"], env
            )
            if fake.writes() == 0:
                break
        # A last ordinary run with a write in each repo moves the starting point past the backlog,
        # as the runs of a working day do (the job re-reads the issues its last write run wrote).
        fake.clock = NOW + timedelta(minutes=1)
        for repo in repos:
            fake.add_issue(repo, "cust-1", "One more", "Help!", created_at=fake.clock)
        run_job("label_issues", args, env)
        fake.latency = latency
        runs.append(
            measure([fake], "label_issues", "steady state", args, env, (len(repos), 0, formula))
        )
        fake.clock = NOW + timedelta(minutes=30)
        for i in range(10):
            fake.add_issue(
                repos[i % len(repos)], f"cust-{i}", f"New issue {i}", "Help!", created_at=fake.clock
            )
        runs.append(
            measure(
                [fake],
                "label_issues",
                "one change",
                args,
                env,
                (
                    2 * len(repos),
                    10,
                    formula + "; one change: 10 new issues by customers known by login, "
                    "a page and a label list per repo with a write. Ratio counts what GitHub's "
                    "limit counts: a re-read before each write answered 304 is free",
                ),
            )
        )
    return runs


CASES = {
    "check_rotation": check_rotation,
    "sync_pagerduty": sync_pagerduty,
    "sync_pagerduty (v3)": sync_pagerduty_v3,
    "post_handoff": post_handoff,
    "label_issues": label_issues,
}
