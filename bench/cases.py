"""One benchmark case per job: seed the fakes, run first, steady and changed states."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.harness import Run, measure, run_job
from bench.scenario import SINCE, Scenario
from scripts import rotation, schedule
from scripts.pagerduty_plan import synced
from tests.fakes.base import fake_env
from tests.fakes.pagerduty import PagerDutyFake
from tests.fakes.slack import SlackFake

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


def _pd_needed_writes(config: Path, env: dict) -> int:
    """Writes the plan needs: a PUT per schedule whose layers change, a POST batch per schedule
    with overrides to create, a DELETE per pruned override."""
    _, _, _, _, out = run_job(
        "sync_pagerduty",
        ["--config", str(config), "--now", NOW.isoformat(), "--format", "json", "--prune"],
        env,
    )
    changes = json.loads(out[out.index("{") :])["changes"]
    puts = {c["target"] for c in changes if c["action"] == "update"}
    posts = {c["target"] for c in changes if c["action"] == "create"}
    deletes = sum(c["action"] == "delete" for c in changes)
    return len(puts) + len(posts) + deletes


def sync_pagerduty(scenario: Scenario, latency: float, workdir: Path) -> list[Run]:
    config = write_config(workdir, scenario.rotation_yaml)
    rot = rotation.load(config)[0]
    runs = []
    with PagerDutyFake(clock=NOW) as fake:
        fake.seed_from_rotation(rot, layer="hand-made")
        env = fake_env(fake)
        schedules = len(synced(rot))
        reads = math.ceil(len(rot.people) / PD_PAGE) + 2 * schedules
        formula = (
            f"reads: ceil({len(rot.people)} users/{PD_PAGE}) + 2 x {schedules} schedules "
            "(layers, overrides); writes: 1 PUT per changed schedule + 1 POST batch per "
            "schedule with new overrides"
        )
        args = ["--config", str(config), "--now", NOW.isoformat(), "--apply", "--prune"]
        for state in ("first run", "steady state", "one change"):
            if state == "one change":
                config = write_config(workdir, add_swap(config.read_text(), scenario))
            fake.latency = 0
            writes = _pd_needed_writes(config, env)
            fake.latency = latency
            runs.append(
                measure([fake], "sync_pagerduty", state, args, env, (reads, writes, formula))
            )
    return runs


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


CASES = {
    "check_rotation": check_rotation,
    "sync_pagerduty": sync_pagerduty,
    "post_handoff": post_handoff,
}
