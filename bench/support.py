"""Benchmark cases of the support jobs: flag_stale, escalate and sync_customer_tiers at scale."""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from pathlib import Path

import fakes.world
from bench import scenario
from bench.cases import NOW, _directory, run_job, write_config
from bench.harness import Run, measure
from fakes.base import fake_env
from fakes.github import GitHubFake
from fakes.pagerduty import PagerDutyFake
from fakes.pagerduty_events import PagerDutyEventsFake
from fakes.papercups import DEFAULT_PASSWORD, PapercupsFake
from fakes.slack import BOT_USER, SlackFake
from scripts.clients.papercups import PAGE as PAPERCUPS_PAGE
from scripts.rotation import load as rotation
from scripts.rotation import schedule
from scripts.sources import conversations
from scripts.stale import clock as stale

CHANNEL = "C0SUPPORT1"
SLACK_PAGE = 999  # the most conversations.history gives a page
GH_PAGE = 100
AGENTS = 30  # rotation people answering in Papercups
REPOS = "bench-org/repo-{}"


def _ts(at: datetime) -> float:
    return at.timestamp()


def _top_level_since(slack: SlackFake, since: datetime) -> int:
    return sum(float(m["ts"]) >= _ts(since) for m in slack.messages(CHANNEL))


class World(fakes.world.World):
    """The support channel, the repositories and the inbox, seeded as the scenario says."""

    slack: SlackFake
    github: GitHubFake
    papercups: PapercupsFake

    def __init__(self, sc: scenario.Scenario, slack: SlackFake, github: GitHubFake,
                 papercups: PapercupsFake, ids: dict, config: Path, directory: Path):  # fmt: skip
        super().__init__(slack=slack, github=github, papercups=papercups)
        repos = [REPOS.format(r) for r in range(sc.scale.repos)]
        rot = rotation.load(config)[0]
        agents = [p.email for p in list(rot.people.values())[:AGENTS]]
        self.channel = scenario.slack_channel(sc.scale, list(ids.values()), NOW)
        self.issues = scenario.support_issues(sc.scale, repos, NOW)
        self.inbox = scenario.papercups_inbox(sc.scale, agents, NOW)
        self.ids = ids  # rotation handle -> Slack user ID
        self.config = config
        self.env_vars = self.env() | {"CUSTOMERS_FILE": str(directory)}


def _config_text(sc: scenario.Scenario) -> str:
    repos = ", ".join(REPOS.format(r) for r in range(sc.scale.repos))
    return (
        sc.rotation_yaml
        + f"slack:\n  channel: {CHANNEL}\n"
        + f"github:\n  repos: [{repos}]\n"
        + "papercups:\n  url: https://chat.example.com\n"
    )


def _seed_world(w: World, rot, shift_start: datetime) -> None:
    """Threads before this shift began, this shift's handoff message (post_handoff, run for
    real), then the rest; issues; the inbox."""
    parents = scenario.seed_slack(w.slack, CHANNEL, w.channel, before=shift_start)
    w.slack.now = shift_start
    args = ["--config", str(w.config), "--now", shift_start.isoformat(), "--apply"]
    run_job("post_handoff", args, w.env_vars)
    scenario.seed_slack(w.slack, CHANNEL, w.channel, since=shift_start, parents=parents)
    w.slack.now = NOW
    for r in range(len({i.repo for i in w.issues})):
        w.github.add_repo(REPOS.format(r))
    w.github.rate_limit = 10**9  # the benchmark measures use; it does not hit the limit here
    scenario.seed_support_issues(w.github, w.issues)
    names = {p.email: p.name for p in rot.people.values()}
    scenario.seed_papercups(w.papercups, w.inbox, names)


def world(sc: scenario.Scenario, workdir: Path, slack, github, papercups) -> World:
    config = write_config(workdir, _config_text(sc))
    rot = rotation.load(config)[0]
    slack.now = NOW
    ids = slack.seed_from_rotation(rot)
    directory = _directory(workdir, scenario.DIRECTORY_DOMAINS)
    w = World(sc, slack, github, papercups, ids, config, directory)
    _seed_world(w, rot, schedule.handoff(rot, schedule.week_of(rot, NOW)))
    return w


# -- flag_stale ---------------------------------------------------------------------------------


def _slack_people(w: World) -> set[str]:
    """Who must be looked up (users.info): every non-bot author and replier of the threads that
    may be conversations (not closed, not an integration's post), but our own bot."""
    people = set()
    for thread in w.channel.threads:
        if thread.kind in ("closed", "bot_post"):
            continue
        people |= {p.user for p in thread.posts if p.user != scenario.ALERT_BOT[0]}
    return people - {BOT_USER}


def _github_reads(w: World, start: datetime) -> tuple[int, int, int]:
    """(issue pages, comment pages, issues read one by one) over every repository."""
    issue_pages = comment_pages = revived = 0
    for repo in {i.repo for i in w.issues}:
        mine = [i for i in w.issues if i.repo == repo]
        active = [i for i in mine if max([i.created_at, *(c[2] for c in i.comments)]) >= start]
        comments = sum(c[2] >= start for i in mine for c in i.comments)
        issue_pages += math.ceil(len(active) / GH_PAGE)
        comment_pages += math.ceil(comments / GH_PAGE)
        revived += sum(_revived(i, start) for i in mine)
    return issue_pages, comment_pages, revived


def _revived(issue: scenario.Issue, start: datetime) -> bool:
    """Older comments, and none of ours among the newer: the listing cannot tell since when the
    customer waits, so the issue's own comments are read (whatever its scenario kind)."""
    new = [c for c in issue.comments if c[2] >= start]
    older = len(new) < len(issue.comments)
    return older and bool(new) and not any(c[1] == "MEMBER" for c in new)


def flag_stale_minimum(
    w: World, rot, now: datetime, writes: int, joined: int = 0
) -> tuple[int, int, str]:
    """Reads from the seeded data, as docs/flag_stale.md counts them, each capped at its
    per-run bound (a bound that is reached is what limits the run, and the table says so);
    `joined`: people the scenario does not know who wrote since it was seeded."""
    start = now - scenario.WINDOW
    m = _top_level_since(w.slack, start)
    pages = min(math.ceil(m / SLACK_PAGE), conversations.MAX_SLACK_HISTORY_PAGES)
    t = sum(th.kind in scenario.SLACK_NEEDS_REPLIES for th in w.channel.threads)
    people = _slack_people(w)
    hero = w.ids[stale.current_hero(rot, now)]
    u = min(len(people) + joined, conversations.MAX_SLACK_PROFILES)
    t = min(t, conversations.MAX_SLACK_THREADS)
    lookup = int(hero not in people)
    ip, cp, r = _github_reads(w, start)
    n = len(w.inbox.chats)
    pc = min(math.ceil(n / PAPERCUPS_PAGE), conversations.MAX_PAPERCUPS_PAGES)
    reads = 1 + pages + t + u + lookup + ip + cp + r + pc
    formula = (
        f"Slack 1 auth.test + ceil({m} messages/{SLACK_PAGE}) + {t} threads both a customer "
        f"and we replied in (or a customer joined) + {u} people not known by ID"
        + (" + 1 hero look-up" if lookup else "")
        + f"; GitHub per repo ceil(issues written to in 14 days/{GH_PAGE}) + ceil(comments "
        f"since/{GH_PAGE}) + revived issues = {ip} + {cp} + {r}; Papercups ceil({n}/"
        f"{PAPERCUPS_PAGE}) = {pc}; writes: digest post or update + the handoff message's "
        "open-conversations block, when they differ"
    )
    return reads, writes, formula


def flag_stale_warm_minimum(
    w: World, rot, now: datetime, writes: int, new_people: int, etags: bool
) -> tuple[int, int, str]:
    """With the last run's state: the history (to see what changed), no thread whose parent
    shows no new reply, nobody already known; GitHub's two listings of what changed per
    repository, free (304) when the last run made the same listings (`etags`) and nothing
    changed; Papercups, which cannot be asked for changes, whole."""
    start = now - scenario.WINDOW
    m = _top_level_since(w.slack, start)
    pages = min(math.ceil(m / SLACK_PAGE), conversations.MAX_SLACK_HISTORY_PAGES)
    hero = w.ids[stale.current_hero(rot, now)]
    lookup = int(hero not in _slack_people(w))
    repos = len({i.repo for i in w.issues})
    pc = min(math.ceil(len(w.inbox.chats) / PAPERCUPS_PAGE), conversations.MAX_PAPERCUPS_PAGES)
    reads = 1 + pages + new_people + lookup + (0 if etags else 2 * repos) + pc
    github = (
        f"GitHub 2 listings of what changed x {repos} repositories, answered 304 (free, so 0 "
        "here) as the last run made the same ones"
        if etags
        else f"GitHub 2 listings of what changed x {repos} repositories (304 from the next run)"
    )
    formula = (
        f"with the state: Slack 1 auth.test + ceil({m} messages/{SLACK_PAGE}) + 0 threads (no "
        f"parent shows a new reply) + {new_people} people not yet known"
        + (" + 1 hero look-up" if lookup else "")
        + f"; {github}; Papercups ceil({len(w.inbox.chats)}/{PAPERCUPS_PAGE}) = {pc} (its API "
        "cannot be asked for changes); writes: as without"
    )
    return reads, writes, formula


def _bound_note(run: Run) -> str:
    """The job's own words when a per-run bound limited it."""
    hits = [line.strip() for line in run.output.splitlines() if "per-run bound" in line]
    return "; ".join(dict.fromkeys(hits))[:200]


def flag_stale(sc: scenario.Scenario, latency: float, workdir: Path) -> list[Run]:
    runs = []
    with SlackFake() as slack, GitHubFake(clock=NOW) as github, PapercupsFake(clock=NOW) as pc:
        w = world(sc, workdir, slack, github, pc)
        rot = rotation.load(w.config)[0]
        for fake in w:
            fake.latency = latency
        asker = w.channel.customers[0][0]
        new_people = int(asker not in _slack_people(w))
        for state, now, writes, kept, new, etags in (
            ("first run", NOW, 2, False, 0, False),  # no state file yet
            ("steady state", NOW, 0, True, 0, False),
            ("one change", NOW + timedelta(minutes=10), 2, True, new_people, True),
            ("steady state, no state file", NOW + timedelta(minutes=10), 0, False, 0, False),
        ):
            if state == "one change":  # a customer asks something new in the channel
                slack.now = NOW + timedelta(minutes=5)
                slack.add_message(CHANNEL, asker, "Exports fail for us")
            slack.now = now
            args = ["--config", str(w.config), "--now", now.isoformat(), "--apply"]
            if kept:
                minimum = flag_stale_warm_minimum(w, rot, now, writes, new, etags)
            else:
                joined = 0 if state == "first run" else new_people
                minimum = flag_stale_minimum(w, rot, now, writes, joined)
                args += [] if state == "first run" else ["--state", ""]
            run = measure(list(w), "flag_stale", state, args, w.env_vars, minimum)
            run.note = _bound_note(run)
            runs.append(run)
    return runs


# -- escalate -----------------------------------------------------------------------------------

TEAM = "team-03"


def escalate(sc: scenario.Scenario, latency: float, workdir: Path) -> list[Run]:
    """The busy support channel of flag_stale's world; an escalation linking a Papercups
    conversation, so that the job searches this shift's history for its earlier message."""
    config = write_config(workdir, sc.rotation_yaml + f"slack:\n  channel: {CHANNEL}\n")
    rot = rotation.load(config)[0]
    shift = schedule.handoff(rot, schedule.week_of(rot, NOW))
    runs = []
    pd, events, slack = PagerDutyFake(clock=NOW), PagerDutyEventsFake(clock=NOW), SlackFake()
    with pd, events, slack:
        pd.seed_from_rotation(rot, layer="rotation")
        events.seed_from_rotation(rot)
        slack.now = NOW
        ids = slack.seed_from_rotation(rot)
        scenario.seed_slack(
            slack, CHANNEL, scenario.slack_channel(sc.scale, list(ids.values()), NOW)
        )
        slack.now = NOW
        env = fake_env(pd, events, slack)
        for fake in (pd, events, slack):
            fake.latency = latency
        for state, conversation, found in (
            ("first run", "c-1", False), ("steady state", "c-1", True), ("one change", "c-2", False)
        ):  # fmt: skip
            link = f"https://chat.example.com/conversations/all?cid={conversation}"
            args = ["--config", str(config), "--now", NOW.isoformat(), "--team", TEAM,
                    "--summary", "Exports fail", "--link", link, "--apply"]  # fmt: skip
            s = _top_level_since(slack, shift)
            pages = 1 if found else math.ceil(s / SLACK_PAGE)
            formula = (
                f"reads: PagerDuty v3 probe (400: layer-based) + final schedule + the user; Slack "
                "users.lookupByEmail + "
                f"conversations.history of this shift, ceil({s} messages/{SLACK_PAGE}), or 1 page "
                "when the earlier message is there (newest first); writes: 1 event + 1 post, "
                "none once posted"
            )
            writes = 0 if found else 2
            minimum = (3 + 1 + pages, writes, formula)
            runs.append(measure([pd, events, slack], "escalate", state, args, env, minimum))
    return runs


# -- sync_customer_tiers ------------------------------------------------------------------------


def _tier_minimum(pc: PapercupsFake, changed: int, new_tags: int) -> tuple[int, int, str]:
    """Reads: customer pages, the tag list, each tier tag's customers; writes: what changes."""
    customers = len(pc.customers)
    tier_tags = [t for t in pc.tags.values() if t["name"].startswith("tier: ")]
    holders = [sum(t["id"] in tags for tags in pc.customer_tags.values()) for t in tier_tags]
    reads = (
        math.ceil(customers / PAPERCUPS_PAGE)
        + 1
        + sum(math.ceil(n / PAPERCUPS_PAGE) for n in holders)
    )
    writes = (1 + new_tags + 2 * changed) if changed else 0
    formula = (
        f"reads: ceil(customers/{PAPERCUPS_PAGE}) + 1 tag list + ceil(holders/"
        f"{PAPERCUPS_PAGE}) per tier tag; writes: 1 login + 1 per missing tier tag + per "
        "customer whose tier changes 1 tag attach + 1 metadata PUT (no detach: none had a tier)"
    )
    return reads, writes, formula


def sync_customer_tiers(sc: scenario.Scenario, latency: float, workdir: Path) -> list[Run]:
    """The inbox's customers, tiers by email domain from the directory, tags with a login."""
    config = write_config(workdir, sc.rotation_yaml)
    rot = rotation.load(config)[0]
    agents = [p.email for p in list(rot.people.values())[:AGENTS]]
    inbox = scenario.papercups_inbox(sc.scale, agents, NOW)
    runs = []
    with PapercupsFake(clock=NOW) as pc:
        scenario.seed_papercups(pc, inbox)
        env = fake_env(pc) | {
            "CUSTOMERS_FILE": str(_directory(workdir, scenario.DIRECTORY_DOMAINS)),
            "PAPERCUPS_EMAIL": agents[0],
            "PAPERCUPS_PASSWORD": DEFAULT_PASSWORD,
        }
        pc.latency = latency
        args = ["--config", str(config), "--now", NOW.isoformat(), "--apply"]
        with_email = sum(email is not None for email, _ in inbox.customers)
        for state, changed, new_tags in (
            ("first run", with_email, 3), ("steady state", 0, 0), ("one change", 1, 0)
        ):  # fmt: skip
            if state == "one change":  # a new customer writes in, from a directory company
                cid = pc.add_customer("new@customer1.example", "New Customer")
                conv = pc.add_conversation(cid, NOW)
                pc.add_message(conv, NOW, "customer", "Hello?")
            minimum = _tier_minimum(pc, changed, new_tags)
            runs.append(measure([pc], "sync_customer_tiers", state, args, env, minimum))
    return runs


CASES = {
    "flag_stale": flag_stale,
    "escalate": escalate,
    "sync_customer_tiers": sync_customer_tiers,
}
