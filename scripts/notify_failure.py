"""Job: post a failed scheduled run's link to the support channel, once per run."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from scripts import cli, runner
from scripts import plan as plans
from scripts.clients.slack import Slack
from scripts.markup.slack_text import escape, link
from scripts.markup.slack_ts import ts_of
from scripts.plan import Change, SlackPost
from scripts.rotation.yaml_source import parse, read_text

TITLE = "Failure notice"
TOKEN = "SLACK_BOT_TOKEN"
EVENT = "support_hero_run_failed"  # message metadata: how a re-run finds the notice it posted
LOOKBACK = timedelta(days=2)  # a re-run of a failed run happens within hours, not weeks


def main(argv: list[str] | None = None) -> int:
    p = cli.parser(__doc__)
    p.add_argument("--run-url", help="the failed run (default: $RUN_URL, else from GITHUB_* vars)")
    p.add_argument("--workflow", help="its workflow's name (default: $GITHUB_WORKFLOW)")
    return runner.start(JOB, p, argv)


@dataclass(frozen=True)
class Setup:
    config: str
    channel: str
    workflow: str
    url: str
    now: datetime


def setup(args) -> Setup:
    channel = support_channel(args.config)
    url = args.run_url or run_url(os.environ)
    if not url:
        raise cli.UsageError("no run to report: pass --run-url or set RUN_URL")
    workflow = args.workflow or os.environ.get("GITHUB_WORKFLOW") or "A scheduled job"
    return Setup(args.config, channel, workflow, url, cli.now_or(args))


def observe(s: Setup, slack: Slack | None) -> bool:
    """Whether this run's notice is in the channel already (False: Slack was not read)."""
    if slack is None:
        print(
            f"{TOKEN} is not set: Slack was not read; this is the desired state.", file=sys.stderr
        )  # fmt: skip  (stderr: stdout stays valid JSON with --format json)
        return False
    oldest = ts_of(s.now - LOOKBACK)
    return slack.find_message(s.channel, EVENT, oldest=oldest, run_url=s.url) is not None


def support_channel(config: str) -> str:
    """slack.channel, read leniently: a broken rotation.yaml may be the very failure to report."""
    text, problems = read_text(config)
    src = parse(text, config) if text is not None else None
    problems += src.problems if src and src.data is None else []
    if problems:  # aliases and deep nesting too: they refuse the file before it is built
        raise cli.UsageError(f"cannot read slack.channel from {config}: {problems[0]}")
    data = src.data
    slack = data.get("slack") if isinstance(data, Mapping) else None
    channel = slack.get("channel") if isinstance(slack, Mapping) else None
    if not isinstance(channel, str) or not channel:
        raise cli.UsageError(f"{config} has no slack.channel (the support channel ID)")
    return channel


def run_url(env: Mapping[str, str]) -> str | None:
    """RUN_URL, else the current run's page from the variables every Actions run has."""
    if env.get("RUN_URL"):
        return env["RUN_URL"]
    parts = [env.get(k) for k in ("GITHUB_SERVER_URL", "GITHUB_REPOSITORY", "GITHUB_RUN_ID")]
    if not all(parts):
        return None
    server, repo, run_id = parts
    return f"{server}/{repo}/actions/runs/{run_id}"


def message(workflow: str, url: str) -> str:
    return (
        f":warning: The scheduled run of *{escape(workflow)}* failed: {link(url, 'see the run')}. "
        "It runs again on its next schedule; re-run it from that page if it cannot wait."
    )


def plan(channel: str, workflow: str, url: str, posted: bool) -> list[Change]:
    """One post per run: nothing when a notice for this run is already in the channel."""
    if posted:
        return []
    metadata = {"event_type": EVENT, "event_payload": {"run_url": url}}
    data = SlackPost(channel, message(workflow, url), (), metadata)
    return [Change("post", channel, f"{workflow} failed: {url}", "scheduled run failed", 0, data)]


def planned(s: Setup, posted: bool, heading: str) -> runner.Planned:
    changes = plan(s.channel, s.workflow, s.url, posted)
    return runner.Planned(
        changes,
        plans.render_text(changes, s.config, heading),
        plans.render_markdown(changes, s.config, heading),
    )


def writer(s: Setup, posted: bool, slack: Slack, changes: Sequence[Change]) -> runner.Write:
    def write(change: Change) -> None:
        match change.data:
            case SlackPost(channel, text, _, metadata):
                slack.post(channel, text, metadata=dict(metadata))
            case other:
                raise TypeError(f"notify_failure cannot apply {type(other).__name__}")

    return write


JOB = runner.Job(
    TITLE,
    runner.Policy.STOP,
    setup,
    runner.client(TOKEN, Slack),
    observe,
    planned,
    writer,
    tokens=runner.needs(TOKEN),
)


if __name__ == "__main__":
    sys.exit(main())
