"""The demo's world: every service fake, started and seeded from one rotation.yaml; jobs' env."""

from __future__ import annotations

import os
from contextlib import ExitStack
from datetime import datetime, timedelta

import fakes.world
from demo import support
from fakes.base import FakeService
from fakes.github import GitHubFake
from fakes.pagerduty import PagerDutyFake
from fakes.pagerduty_events import PagerDutyEventsFake
from fakes.papercups import PapercupsFake
from fakes.sentry import SentryFake
from fakes.slack import SlackFake
from scripts.rotation.model import Rotation
from scripts.tiers import directory

SUPPORT_REPO = "kestrel-example/support"  # fictional: where rotation.yaml's pull requests live
# Beside every service's token and address (fakes.world): what else a job could pick up from the
# shell running the demo, a setting or an Actions variable.
_SHELL_ONLY = frozenset({
    "PAGERDUTY_FROM_EMAIL", "PAPERCUPS_EMAIL", "CUSTOMERS_FILE", "GITHUB_ACTIONS",
    "GITHUB_STEP_SUMMARY", "GITHUB_REPOSITORY",
})  # fmt: skip


class World(fakes.world.World):
    """Every fake, started; `pr` is a pull request on SUPPORT_REPO that edits the rotation."""

    pagerduty: PagerDutyFake
    events: PagerDutyEventsFake
    slack: SlackFake
    github: GitHubFake
    papercups: PapercupsFake
    sentry: SentryFake

    def __init__(self, customers: str, **fakes: FakeService):
        super().__init__(**fakes)
        self.customers = customers  # the customer directory's path
        self.pr = 0

    def job_env(self, *services: str) -> dict[str, str]:
        """The environment a job gets: the shell's without secrets, plus the named fakes'."""
        shell = {k: v for k, v in os.environ.items() if k not in _SHELL_ONLY}
        env = self.environ(shell, [s for s in services if s in self.fakes])
        if "github" in services:  # set by Actions itself
            env["GITHUB_REPOSITORY"] = SUPPORT_REPO
        if "customers" in services:  # label_issues: the directory (a secret in real life)
            env[directory.ENV_PATH] = self.customers
        return env


def start(
    stack: ExitStack,
    rot: Rotation,
    customers: str,
    now: datetime,
    latency: float,
    sentry_rot: Rotation | None = None,
) -> World:
    """Every fake started (stopped when `stack` closes) and seeded as a new organisation's;
    Sentry from `sentry_rot`'s `sentry` section (default: `rot`'s)."""
    world = World(
        customers,
        pagerduty=PagerDutyFake(clock=now),
        events=PagerDutyEventsFake(clock=now),
        slack=SlackFake(),
        github=GitHubFake(clock=now - timedelta(hours=3)),  # the issues were opened this morning
        papercups=PapercupsFake(clock=now),
        sentry=SentryFake(clock=now),
    )
    for fake in world:
        # Violations are reported by the demo itself, after every job has run.
        fake.check_on_exit = False
        stack.enter_context(fake)
    world.pagerduty.seed_from_rotation(rot, layer="hand-made")
    world.events.seed_from_rotation(rot)
    world.slack.now = now
    ids = world.slack.seed_from_rotation(rot)
    support.seed_slack(world.slack, rot, ids, now)
    world.github.seed_from_rotation(rot, directory.load_directory({directory.ENV_PATH: customers}))
    world.github.add_repo(SUPPORT_REPO)
    author = next((p.github for p in rot.people.values() if p.github), "octocat")
    title = "Swap two hero weeks"
    world.pr = world.github.add_issue(SUPPORT_REPO, author, title, pull_request=True)
    world.github.clock = now
    support.seed_github(world.github, rot, now)
    world.papercups.seed_from_rotation(rot, now)
    support.seed_papercups(world.papercups)
    world.sentry.seed_from_rotation(sentry_rot or rot, now)
    for fake in world:
        fake.latency = latency
    return world
