"""A small support world for flag_stale's Slack, GitHub and apply tests: team, clock, helpers."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from scripts import flag_stale

NOW = datetime(2026, 12, 2, 15, 0, tzinfo=UTC)  # a Wednesday; hero: bo (no Slack ID)
CHANNEL = "C0SUPPORT1"
REPO = "kestrel-example/kestrel"
# ann has a Slack ID; bo and cy are found by email. Everyone is in the one team "core".
CONFIG = f"""timezone: Europe/London
handoff: {{day: monday, time: "09:00"}}
people:
  ann: {{name: Ann Archer, email: ann@kestrel.example, team: core, slack: U0ANN0001, github: ann-a}}
  bo: {{name: Bo Berg, email: bo@kestrel.example, team: core, github: bo-b}}
  cy: {{name: Cy Cole, email: cy@kestrel.example, team: core}}
teams:
  core:
    name: Core
    secondary:
      order: [ann, bo, cy]
      since: {{week: 2026-11-30, first: ann}}
support_hero:
  order: [bo, ann, cy]
  since: {{week: 2026-11-30, first: bo}}
slack:
  channel: {CHANNEL}
github:
  repos: [{REPO}]
"""
IDS = {"ann": "U0ANN0001", "bo": "UBO000000", "cy": "UCY000000"}  # SlackFake.seed_from_rotation
# Customers in Slack: (user ID, email, name)
SAM = ("U0SAM0001", "sam@shop.example", "Sam Shop")
LEE = ("U0LEE0001", "lee@lee-labs.example", "Lee Lin")
KIM = ("U0KIM0001", "kim@kim.example", "Kim <Kay> @here")  # customer text is escaped
DIRECTORY = """customers:
  - {company: Shop, plan: enterprise, domains: [shop.example], github_logins: [shopdev]}
  - {company: Lee Labs, plan: cloud, monthly_spend: 100, domains: [lee-labs.example]}
  - {company: Ann's other hat, plan: enterprise, github_logins: [ann-a]}
"""


def ago(**kw) -> datetime:
    return NOW - timedelta(**kw)


def write_config(tmp_path, extra: str = "") -> str:
    path = tmp_path / "rotation.yaml"
    path.write_text(CONFIG + extra, encoding="utf-8")
    return str(path)


def run(capsys, config: str, *args: str, now: datetime = NOW, slack=None) -> tuple[int, str, str]:
    """flag_stale.main at `now` (the Slack fake stamps what the job posts with it)."""
    if slack is not None:
        slack.now = now
    code = flag_stale.main(["--config", config, "--now", now.isoformat(), *args])
    out, err = capsys.readouterr()
    return code, out, err


def report(out: str) -> dict:
    return json.loads(out)


def by_key(out: str) -> dict[str, dict]:
    return {c["key"]: c for c in report(out)["conversations"]}


# --- the Slack channel --------------------------------------------------------------------------


def add_customers(slack, *customers) -> None:
    for user_id, email, name in customers:
        slack.add_user(user_id, email, name)


def say(slack, when: datetime, user: str, text: str = "hello", thread: dict | None = None,
        **extra) -> dict:  # fmt: skip
    """A message in the support channel at `when` (seed in time order)."""
    slack.now = when
    return slack.add_message(CHANNEL, user, text, thread["ts"] if thread else None, **extra)


def ours(slack, event_type: str) -> list[dict]:
    return [
        m
        for m in slack.channels[CHANNEL]["messages"]
        if (m.get("metadata") or {}).get("event_type") == event_type
    ]


def top_level(slack, event_type: str) -> list[dict]:
    return [m for m in ours(slack, event_type) if m.get("thread_ts", m["ts"]) == m["ts"]]
