"""What the demo runs: each job's runs, in order, and what the fakes hold after them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import yaml

from demo.world import SUPPORT_REPO, World
from scripts.rotation import load as rotation
from scripts.rotation.model import Rotation
from scripts.rotation.problems import ConfigError
from scripts.stale.digest import EVENT_TYPE as DIGEST

# Placeholders in Run.args, filled in when run (and shown as these names). SENTRY_CONFIG: the
# rotation with a `sentry` section (the example's is commented out: the demo switches it on).
CONFIG, PR_CONFIG, SENTRY_CONFIG = "{config}", "{pr_config}", "{sentry_config}"
STATE = "{stale_state}"  # flag_stale's state file: in the demo's temporary folder, not yours
SITE = "{site}"  # publish_calendar's site: kept after the demo, to open in a browser


@dataclass(frozen=True)
class Run:
    """One run of a job: its arguments, the fakes it talks to, and the exit code it should give."""

    job: str
    args: tuple[str, ...] = ()
    services: tuple[str, ...] = ()  # World attributes: pagerduty, events, slack, github, ...
    caption: str = ""
    tail: int | None = None  # show only the last lines: the plan is the dry run's, shown above
    expect: int = 0


@dataclass(frozen=True)
class Section:
    title: str
    intro: str
    runs: tuple[Run, ...]
    after: Callable[[World], str] | None = None  # what the fakes hold afterwards
    needs: str = ""  # a module that must import, else the section is skipped


def sections(rot: Rotation, pr_number: int, has_pr: bool) -> list[Section]:
    """`pr_number`: the pull request in the GitHub fake; `has_pr`: its rotation.yaml was made."""
    pd, slack, gh = ("pagerduty",), ("slack",), ("github",)
    stale = ("--config", SENTRY_CONFIG, "--state", STATE)
    # Every source flag_stale may read: Papercups, the Slack channel, GitHub issues and Sentry.
    sources = ("papercups", "slack", "github", "sentry", "customers")
    pr = ("--pr", str(pr_number), "--base", CONFIG, "--config", PR_CONFIG)
    team = next(iter(rot.teams))
    return [
        Section(
            "check_rotation: the coming weeks",
            "Validates rotation.yaml and shows who is on; on a pull request also what it moves.",
            (Run("check_rotation", ("--weeks", "6")),),
        ),
        Section(
            "pr_comment: the comment on a pull request that edits rotation.yaml",
            f"{SUPPORT_REPO}#{pr_number} (in the GitHub fake) adds a swap of two hero weeks: "
            f"{PR_CONFIG}. One comment names whose shifts move; a re-run edits it, never re-posts.",
            (
                Run("pr_comment", pr, gh, "dry run"),
                Run("pr_comment", (*pr, "--apply"), gh, tail=2),
                Run("pr_comment", (*pr, "--apply"), gh, "again: no duplicate", tail=1),
            )
            if has_pr
            else (),
            after=_comments,
        ),
        Section(
            "sync_pagerduty: the PagerDuty plan",
            "Layers and overrides so that PagerDuty's schedules match rotation.yaml: "
            "a dry run, the apply, and a second apply that finds nothing left to do.",
            (
                Run("sync_pagerduty", (), pd, "dry run"),
                Run("sync_pagerduty", ("--apply",), pd, tail=2),
                Run("sync_pagerduty", ("--apply",), pd, "again: nothing to do"),
            ),
            after=lambda w: f"PagerDuty fake: {w.pagerduty.writes()} writes in all.",
        ),
        Section(
            "post_handoff: the Slack handoff",
            "The handoff message, the channel topic, the on-call user groups, reminders.",
            (
                Run("post_handoff", (), slack, "dry run"),
                Run("post_handoff", ("--apply",), slack, tail=0),
            ),
            after=_slack,
        ),
        Section(
            "label_issues: the labels it would apply",
            "Tier labels from the customer directory (customers.example.yaml), and one triage "
            "comment where a report lacks what support needs.",
            (Run("label_issues", (), ("github", "customers"), "dry run"),),
        ),
        Section(
            "sync_customer_tiers: customer tiers in Papercups",
            "Each Papercups customer's tier from the customer directory (by email domain), "
            "written to its metadata (and as a tag, with a Papercups login): the plan.",
            (Run("sync_customer_tiers", (), ("papercups", "customers"), "dry run"),),
        ),
        Section(
            "flag_stale: the digest of conversations waiting on us",
            "Conversations waiting on us (Papercups, the support channel, GitHub issues) by "
            "tier and waiting time, counted in the hero's working hours, and the busiest new "
            f"Sentry errors beside them ({SENTRY_CONFIG}: the `sentry` section on). The apply "
            "posts the day's digest in the support channel and fills in the handoff's count.",
            (
                Run("flag_stale", stale, sources, "dry run"),
                Run("flag_stale", (*stale, "--apply"), sources, tail=4),
            ),
            after=_digest,
        ),
        Section(
            "escalate: paging a team's secondary on-call",
            f"Who PagerDuty has on call for {team} now, the page and the Slack message.",
            (
                Run(
                    "escalate",
                    ("--team", team, "--summary", "Exports fail for a Focus customer (demo)"),
                    ("pagerduty", "events", "slack"),
                    "dry run",
                ),
            ),
            needs="scripts.escalate",
        ),
        Section(
            "publish_calendar: the rotation as a calendar",
            "A feed per person and per schedule for any calendar app, and a page with the "
            "rotation at a glance (no token, no network; GitHub Pages publishes it).",
            (Run("publish_calendar", ("--out", SITE)),),
            needs="scripts.publish_calendar",
        ),
    ]


def _comments(world: World) -> str:
    comments = world.github.issue(SUPPORT_REPO, world.pr).comments
    who = ", ".join(c["user"] for c in comments) or "nobody"
    return f"GitHub fake: {SUPPORT_REPO}#{world.pr} has {len(comments)} comment(s), by {who}."


def _slack(world: World) -> str:
    slack = world.slack

    def name(user_id: str) -> str:
        return slack.users.get(user_id, {}).get("real_name", user_id)

    lines = ["Slack fake now:"]
    for channel in slack.channels.values():
        posts = [m for m in channel["messages"] if not m.get("subtype")]  # not "topic set"
        if posts:
            where = f"DM to {name(channel['im_user'])}" if channel["im_user"] else channel["id"]
            lines.append(f"  {where}: {len(posts)} message{'s' if len(posts) != 1 else ''}")
        if not channel["im_user"] and channel["topic"]["value"]:
            lines.append(f"  {channel['id']} topic: {channel['topic']['value']}")
    for group in slack.usergroups.values():
        lines.append(f"  @{group['handle']}: {', '.join(map(name, group['users'])) or 'nobody'}")
    return "\n".join(lines)


def _digest(world: World) -> str:
    """The digest as the support channel shows it (its plain-text fallback)."""
    for channel, data in world.slack.channels.items():
        for m in data["messages"]:
            if (m.get("metadata") or {}).get("event_type") == DIGEST:
                text = "\n".join("  " + line for line in m["text"].splitlines())
                return f"Slack fake: the digest in {channel} now reads\n{text}"
    return "Slack fake: no digest was posted."


def pull_request_edit(rot: Rotation, config: Path, now: datetime) -> str | None:
    """rotation.yaml with one more whole-week hero swap a few weeks ahead, or None if none fits."""
    data = yaml.safe_load(config.read_text(encoding="utf-8"))
    cycle = rot.hero.cycle
    first = (now.date() - cycle.since).days // 7 + 3
    taken = {d for s in rot.swaps for d in s.dates}
    for k in range(first, first + 20):
        weeks = [cycle.since + timedelta(weeks=k), cycle.since + timedelta(weeks=k + 1)]
        people = [cycle.person_at(k), cycle.person_at(k + 1)]
        if people[0] == people[1] or taken & set(weeks):
            continue
        swap = {"people": people, "dates": weeks, "reason": "a family wedding (demo)"}
        text = yaml.safe_dump(data | {"swaps": [*(data.get("swaps") or []), swap]})
        try:
            rotation.load(config, text=text)
        except ConfigError:
            continue  # time off, say: try the next pair
        return text
    return None
