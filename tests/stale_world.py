"""A small support world for flag_stale's Slack, GitHub and apply tests: team, clock, helpers."""

from __future__ import annotations

import json
import os
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from fakes.base import FakeService
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
    assert_state_is_a_cache(capsys, config, now)
    return code, out, err


# A file SQLite takes for a database until it reads past the header.
CORRUPT_STATE = b"SQLite format 3\x00" + b"\xff" * 200


def assert_state_is_a_cache(capsys, config: str, now: datetime) -> None:
    """The state changes what flag_stale asks, never what it says: in the world a test has just
    run the job in, a dry run plans the same digest with no state file, with the state that
    run left, and with a corrupted file. The fakes' books forget these side runs; none is made
    while the test has a fault or an edit waiting for a request of its own."""
    fakes = list(FakeService.running)
    if any(fake.pending() for fake in fakes):
        return
    marks = [(fake, fake.bookmark()) for fake in fakes]
    summary = os.environ.pop("GITHUB_STEP_SUMMARY", None)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            state = Path(tmp) / "state.sqlite"
            empty = _planned(capsys, config, now, state)
            warm = _planned(capsys, config, now, state)
            state.write_bytes(CORRUPT_STATE)
            corrupted = _planned(capsys, config, now, state)
    finally:
        for fake, mark in marks:
            fake.rewind(mark)
        if summary is not None:
            os.environ["GITHUB_STEP_SUMMARY"] = summary
    assert warm == empty, "a warm state changed the plan"
    assert corrupted == empty, "a corrupted state changed the plan"


def _planned(capsys, config: str, now: datetime, state: Path) -> tuple[int, object]:
    argv = ["--config", config, "--now", now.isoformat(), "--format", "json", "--state", str(state)]
    code = flag_stale.main(argv)
    out, _ = capsys.readouterr()
    try:
        return code, json.loads(out)
    except ValueError:
        return code, out


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
