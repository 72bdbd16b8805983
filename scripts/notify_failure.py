"""Job: post a failed scheduled run's link to the support channel, once per run."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from datetime import timedelta

from scripts import cli
from scripts import plan as plans
from scripts.clients.slack import Slack, SlackError
from scripts.markup.slack_text import escape, link
from scripts.markup.slack_ts import ts_of
from scripts.plan import Change, SlackPost
from scripts.rotation.yaml_source import parse, read_text

TITLE = "Failure notice"
EVENT = "support_hero_run_failed"  # message metadata: how a re-run finds the notice it posted
LOOKBACK = timedelta(days=2)  # a re-run of a failed run happens within hours, not weeks


def main(argv: list[str] | None = None) -> int:
    p = cli.parser(__doc__)
    p.add_argument("--run-url", help="the failed run (default: $RUN_URL, else from GITHUB_* vars)")
    p.add_argument("--workflow", help="its workflow's name (default: $GITHUB_WORKFLOW)")
    return cli.guard(p, argv, run)


def run(args) -> int:
    channel = support_channel(args.config)
    url = args.run_url or run_url(os.environ)
    if not url:
        raise cli.UsageError("no run to report: pass --run-url or set RUN_URL")
    workflow = args.workflow or os.environ.get("GITHUB_WORKFLOW") or "A scheduled job"
    token = cli.token("SLACK_BOT_TOKEN", args.apply)
    slack = Slack(token) if token else None
    if slack:
        oldest = ts_of(cli.now_or(args) - LOOKBACK)
        posted = slack.find_message(channel, EVENT, oldest=oldest, run_url=url) is not None
    else:
        print(
            "SLACK_BOT_TOKEN is not set: Slack was not read; this is the desired state.",
            file=sys.stderr,
        )  # stderr: stdout stays valid JSON with --format json
        posted = False
    changes = plan(channel, workflow, url, posted)
    render(args, changes)
    if not args.apply or not changes:
        return cli.EXIT_OK
    return apply(slack, changes)


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


def render(args, changes: list[Change]) -> None:
    cli.write_summary(plans.render_markdown(changes, args.config, TITLE))
    if args.format == "json":
        print(plans.render_json(changes))
    elif args.format == "markdown":
        print(plans.render_markdown(changes, args.config, TITLE))
    else:
        print(plans.render_text(changes, args.config, TITLE))


def apply(slack: Slack, changes: list[Change]) -> int:
    for change in changes:
        post = change.data
        if not isinstance(post, SlackPost):
            raise TypeError(f"notify_failure cannot apply {type(post).__name__}")
        try:
            slack.post(post.channel, post.text, metadata=dict(post.metadata))
        except SlackError as exc:
            print(f"error: {change.action} {change.target}: {exc}", file=sys.stderr)
            return cli.failed(exc)
    return cli.EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
