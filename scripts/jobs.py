"""Every job in one registry: the README's table of jobs comes from it; a test keeps it whole."""

from __future__ import annotations

import sys
from dataclasses import dataclass


@dataclass(frozen=True)
class Job:
    name: str  # python -m scripts.<name>
    does: str
    docs: str  # a file of the repository, or "below" (the README itself)


JOBS = (
    Job("check_rotation", "validates rotation.yaml, shows the coming weeks and, on a PR, what the "
        "change moves", "below"),
    Job("pr_comment", "one comment on a rotation PR, kept up to date, naming the people whose "
        "shifts move", "docs/pr_comment.md"),
    Job("sync_pagerduty", "makes PagerDuty's hero and team schedules match rotation.yaml "
        "(layers or shift-based events, and overrides)", "docs/sync_pagerduty.md"),
    Job("post_handoff", "the weekly hero handoff in Slack, reminders, the on-call user groups and "
        "the channel topic", "docs/post_handoff.md"),
    Job("label_issues", "labels GitHub issues by customer tier (Focus, Subscriber, Community), "
        "asks for missing details", "docs/label_issues.md"),
    Job("build_customers", "builds the private customer directory from Stripe and HubSpot",
        "docs/label_issues.md"),
    Job("sync_customer_tiers", "tags Papercups customers with their tier",
        "docs/sync_customer_tiers.md"),
    Job("flag_stale", "finds support conversations that wait too long (Papercups, Slack, GitHub) "
        "and posts a digest", "docs/flag_stale.md"),
    Job("escalate", "pages a team's secondary on-call and says so in the support channel",
        "docs/escalate.md"),
    Job("notify_failure", "posts a failed scheduled run's link to the support channel",
        "docs/setup.md"),
    Job("publish_calendar", "calendar feeds for everyone's calendar app, and a page with the "
        "rotation at a glance", "docs/calendar.md"),
    Job("request_swap", "who could take a shift of yours, best first, with the shift you cover "
        "in return; with --apply, the pull request that makes the swap", "docs/request_swap.md"),
    Job("request_time_off", "adds time off and, for each shift of yours in it, the best swap; "
        "with --apply, the pull request", "docs/request_swap.md"),
    Job("services", "tells a workflow whether rotation.yaml switches its service on",
        "docs/setup.md"),
)  # fmt: skip


def table() -> str:
    """The README's table of jobs."""
    rows = ["| job | what it does | docs |", "|---|---|---|"]
    for job in JOBS:
        docs = job.docs if job.docs == "below" else f"[{job.docs}]({job.docs})"
        rows.append(f"| `{job.name}` | {job.does} | {docs} |")
    return "\n".join(rows)


if __name__ == "__main__":
    sys.stdout.write(table() + "\n")
