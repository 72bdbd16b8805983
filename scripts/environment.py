"""Every environment variable the jobs read, in one registry: the README's table and the
secrets redaction derive from it (`python -m scripts.environment` prints the table)."""

from __future__ import annotations

import sys
from dataclasses import dataclass


@dataclass(frozen=True)
class Variable:
    name: str
    kind: str  # "secret" (redacted everywhere), "address", "setting", or "actions" (set by Actions)
    jobs: str  # who reads it
    meaning: str


VARIABLES = (
    Variable("PAGERDUTY_TOKEN", "secret", "sync_pagerduty, escalate", "PagerDuty REST API key"),
    Variable("PAGERDUTY_ROUTING_KEYS", "secret", "escalate",
             'JSON `{"team-key": "Events API v2 routing key"}`'),
    Variable("PAGERDUTY_FROM_EMAIL", "setting", "escalate",
             "a PagerDuty user's email: the requester of an incident opened over REST"),
    Variable("SLACK_BOT_TOKEN", "secret", "post_handoff, flag_stale, escalate, notify_failure",
             "the Slack app's bot token, `xoxb-...`"),
    Variable("GITHUB_TOKEN", "secret", "pr_comment, label_issues, flag_stale, the request jobs",
             "a GitHub token (in Actions: the built-in one)"),
    Variable("GITHUB_APP_TOKEN", "secret", "label_issues, flag_stale",
             "a GitHub App installation token for the repositories other than GITHUB_REPOSITORY"),
    Variable("PAPERCUPS_TOKEN", "secret", "flag_stale, sync_customer_tiers",
             "a Papercups personal API key"),
    Variable("PAPERCUPS_EMAIL", "setting", "sync_customer_tiers",
             "a Papercups login, only to tag customers"),
    Variable("PAPERCUPS_PASSWORD", "secret", "sync_customer_tiers", "that login's password"),
    Variable("SENTRY_TOKEN", "secret", "post_handoff, flag_stale", "a Sentry auth token"),
    Variable("STRIPE_API_KEY", "secret", "build_customers", "a Stripe (restricted) API key"),
    Variable("HUBSPOT_ACCESS_TOKEN", "secret", "build_customers",
             "a HubSpot private app's access token"),
    Variable("CUSTOMERS_YAML", "secret", "label_issues, flag_stale, sync_customer_tiers",
             "the customer directory's content"),
    Variable("CUSTOMERS_FILE", "setting", "label_issues, flag_stale, sync_customer_tiers",
             "the customer directory's path (default: customers.yaml beside rotation.yaml)"),
    Variable("PAGERDUTY_API_URL", "address", "sync_pagerduty, escalate",
             "default https://api.pagerduty.com"),
    Variable("PAGERDUTY_EVENTS_URL", "address", "escalate",
             "default https://events.pagerduty.com"),
    Variable("SLACK_API_URL", "address", "the Slack jobs", "default https://slack.com/api/"),
    Variable("GITHUB_API_URL", "address", "the GitHub jobs",
             "default https://api.github.com (Actions sets it on GitHub Enterprise)"),
    Variable("PAPERCUPS_API_URL", "address", "flag_stale, sync_customer_tiers",
             "default https://app.papercups.io"),
    Variable("SENTRY_API_URL", "address", "post_handoff, flag_stale",
             "default https://sentry.io/api/0"),
    Variable("STRIPE_API_URL", "address", "build_customers", "default https://api.stripe.com"),
    Variable("HUBSPOT_API_URL", "address", "build_customers", "default https://api.hubapi.com"),
    Variable("SSL_CERT_FILE", "setting", "every job",
             "CA certificates to trust (a proxy's), instead of the system's"),
    Variable("SUPPORT_HERO_TIMEOUT", "setting", "every job",
             "seconds one request may take to answer (default 30)"),
    Variable("SUPPORT_HERO_RETRIES", "setting", "every job",
             "at most this many retries of a request, for every client (0-10)"),
    Variable("GITHUB_SECONDS_BETWEEN_REQUESTS", "setting", "the GitHub jobs",
             "pacing (default 0.1); lower only against a local test server"),
    Variable("GITHUB_SECONDS_BETWEEN_WRITES", "setting", "the GitHub jobs",
             "pacing (default 1, GitHub's advice); lower only against a local test server"),
    Variable("RUN_URL", "setting", "notify_failure", "the failed run (else from GITHUB_* below)"),
    Variable("GITHUB_ACTIONS", "actions", "every job", "`true`: problems also as annotations"),
    Variable("GITHUB_STEP_SUMMARY", "actions", "every job", "the job summary's file"),
    Variable("GITHUB_OUTPUT", "actions", "services", "the step's outputs file"),
    Variable("GITHUB_REPOSITORY", "actions", "pr_comment, label_issues, flag_stale, escalate, "
             "post_handoff, notify_failure, the request jobs",
             "owner/name of the workflow's repository"),
    Variable("GITHUB_WORKFLOW", "actions", "notify_failure", "the workflow's name"),
    Variable("GITHUB_SERVER_URL", "actions", "escalate, notify_failure, post_handoff",
             "for the run's address (post_handoff: the request form's)"),
    Variable("GITHUB_RUN_ID", "actions", "escalate, notify_failure", "for the run's address"),
    Variable("GITHUB_ACTOR", "actions", "escalate", "who started the run"),
    Variable("GITHUB_SHA", "actions", "publish_calendar", "the commit the site is built from"),
    Variable("GITHUB_REF_NAME", "actions", "request_swap, request_time_off",
             "the branch the workflow runs on: where a request's pull request goes"),
)  # fmt: skip
SECRETS = tuple(v.name for v in VARIABLES if v.kind == "secret")
KINDS = {
    "secret": "secret",
    "address": "API address",
    "setting": "setting",
    "actions": "set by Actions",
}


def table() -> str:
    """The README's table of environment variables."""
    rows = ["| variable | kind | read by | what it is |", "|---|---|---|---|"]
    rows += [f"| `{v.name}` | {KINDS[v.kind]} | {v.jobs} | {v.meaning} |" for v in VARIABLES]
    return "\n".join(rows)


if __name__ == "__main__":
    sys.stdout.write(table() + "\n")
