"""escalate end to end: the real `pagerduty` and slack_sdk clients against the three fakes."""

import json
from datetime import timedelta
from pathlib import Path

import pytest

import fakes.world
from fakes.pagerduty import PagerDutyFake
from fakes.pagerduty_events import PagerDutyEventsFake
from fakes.slack import WORKSPACE_URL, SlackFake
from scripts import escalate
from scripts.clients.pagerduty import PagerDutyError, PagerDutyEvents
from scripts.rotation import load as rotation
from tests.test_escalation import NOW, ROTATION_YAML

CHANNEL = "C0SUPPORT1"
CORE = ["--team", "core", "--summary", "Acme cannot export"]
SECRETS_ENV = (
    "PAGERDUTY_TOKEN",
    "PAGERDUTY_ROUTING_KEYS",
    "PAGERDUTY_FROM_EMAIL",
    "SLACK_BOT_TOKEN",
    "GITHUB_ACTOR",
    "GITHUB_RUN_ID",
    "GITHUB_ACTIONS",
    "GITHUB_STEP_SUMMARY",
)


class World(fakes.world.World):
    """The three fakes seeded from ROTATION_YAML at NOW, and the job's environment."""

    def __init__(self, pd, events, slack, config: Path, monkeypatch, ids: dict):
        super().__init__(pd=pd, events=events, slack=slack)
        self.config, self.monkeypatch, self.ids = config, monkeypatch, ids  # ids: handle -> Slack
        self.printed: list[str] = []

    def setenv(self, **env) -> None:
        for name, value in env.items():
            if value is None:
                self.monkeypatch.delenv(name, raising=False)
            else:
                self.monkeypatch.setenv(name, value)

    def posts(self) -> list[dict]:
        """Every message of the support channel carrying escalation metadata, replies included."""
        messages = self.slack.channels[CHANNEL]["messages"]
        return [m for m in messages if "metadata" in m]

    def secrets(self) -> list[str]:
        return [self.pd.token, self.slack.token, *self.events.integrations]


@pytest.fixture
def world(monkeypatch, tmp_path):
    config = tmp_path / "rotation.yaml"
    config.write_text(ROTATION_YAML)
    rot = rotation.load(str(config))[0]
    for name in SECRETS_ENV:
        monkeypatch.delenv(name, raising=False)
    pd, events, slack = PagerDutyFake(clock=NOW), PagerDutyEventsFake(clock=NOW), SlackFake()
    with pd, events, slack:
        pd.seed_from_rotation(rot, layer="rotation")
        pd.services["PSVCORE1"] = {"id": "PSVCORE1"}
        events.seed_from_rotation(rot)
        slack.now = NOW
        w = World(pd, events, slack, config, monkeypatch, slack.seed_from_rotation(rot))
        w.point(monkeypatch)
        yield w
    printed = "\n".join(w.printed)
    for secret in w.secrets():  # never printed, whatever happened
        assert secret not in printed
    assert pd.history_rewrites == []


def run(capsys, world: World, *argv, now=NOW):
    code = escalate.main(["--config", str(world.config), "--now", now.isoformat(), *argv])
    out, err = capsys.readouterr()
    world.printed.append(out + err)
    return code, out, err


def permalink(ts: str, channel: str = CHANNEL) -> str:
    return f"{WORKSPACE_URL}/archives/{channel}/p{ts.replace('.', '')}"


# --- Events API v2 ------------------------------------------------------------------------------


def test_pages_pagerdutys_on_call_once_and_says_so_in_the_channel(world, capsys):
    # PagerDuty knows better than rotation.yaml (bob): carol covers today. The schedule is in
    # no escalation policy, so /oncalls would be empty: its final schedule says who holds it.
    assert not world.pd.schedules["PCORE01"].escalation_policy and not world.pd.escalation_policies
    world.pd.add_override(
        "PCORE01", "carol@example.com", NOW - timedelta(hours=3), NOW + timedelta(days=1)
    )
    link = "https://support.example/conversations/42"
    code, out, _ = run(capsys, world, *CORE, "--link", link, "--apply")
    assert code == 0, out
    (incident,) = world.events.incidents
    assert incident["service"] == "Core" and incident["status"] == "triggered"
    assert incident["title"] == "Support escalation: Acme cannot export"
    details = incident["events"][0]["payload"]["custom_details"]
    assert details["secondary"] == "Carol Castillo" and details["conversation"] == link
    assert incident["dedup_key"].startswith("support-hero/core/2027-03-08/")
    (msg,) = world.posts()
    assert "thread_ts" not in msg  # a link that is no Slack permalink: top level
    assert msg["metadata"]["event_payload"] == {"dedup_key": incident["dedup_key"], "team": "core"}
    assert f"secondary on-call:* <@{world.ids['carol']}>" in msg["text"]
    assert f"<{link}|the conversation>" in msg["text"]
    assert "from PagerDuty schedule PCORE01 (final schedule)" in out
    assert "Paged: PagerDuty accepted" in out and world.pd.count("GET", "/oncalls") == 0
    # PagerDuty: the v3 probe (400: layer-based), the final schedule, the user (for the email);
    # one event; Slack: lookup, history; one post
    assert world.requests() == (3, 1, 3) and world.writes() == (0, 1, 1)

    world.reset_counts()
    code, out, _ = run(capsys, world, *CORE, "--link", link, "--apply")
    assert code == 0 and "already escalated" in out and "No changes" in out
    assert world.writes() == (0, 0, 0) and world.requests() == (
        3,
        0,
        2,
    )  # the probe, the final schedule, the user
    assert len(world.events.incidents) == 1 and len(world.posts()) == 1


def test_a_shift_based_schedule_is_read_from_its_v3_final_schedule(world, capsys):
    # the same cover as above, after PagerDuty upgraded the schedule (same ID, now v3)
    world.pd.add_override(
        "PCORE01", "carol@example.com", NOW - timedelta(hours=3), NOW + timedelta(days=1)
    )
    world.pd.upgrade("PCORE01")
    code, out, _ = run(capsys, world, *CORE, "--link", "https://support.example/c/1", "--apply")
    assert code == 0, out
    (incident,) = world.events.incidents
    assert incident["events"][0]["payload"]["custom_details"]["secondary"] == "Carol Castillo"
    assert "from PagerDuty schedule PCORE01 (final schedule)" in out
    # PagerDuty: the v3 schedule with include[]=final_schedule (members come as ids), the user
    assert world.pd.count("GET", "/v3/schedules/PCORE01") == 1
    assert world.requests()[0] == 2 and world.pd.count("GET", "/schedules/PCORE01") == 0


def test_a_double_click_pages_once_even_when_the_first_post_failed(world, capsys):
    world.slack.inject("POST", "/chat.postMessage", 200, body={"ok": False, "error": "fatal_error"})
    code, _, err = run(capsys, world, *CORE, "--apply")
    assert code == 1 and "the page went out; run again to post (it will not page twice)" in err
    assert len(world.events.incidents) == 1 and world.posts() == []

    code, out, _ = run(capsys, world, *CORE, "--apply")
    assert code == 0, out
    (incident,) = world.events.incidents  # the second event joined the first incident
    assert len(incident["events"]) == 2
    assert len(world.posts()) == 1
    assert world.events.writes() == 2


def test_a_new_conversation_pages_again_and_so_does_the_next_shift(world, capsys):
    assert run(capsys, world, *CORE, "--apply")[0] == 0
    assert run(capsys, world, "--team", "core", "--summary", "Beta is down", "--apply")[0] == 0
    next_week = NOW + timedelta(days=14)  # alice; rotation.yaml and PagerDuty agree
    assert run(capsys, world, *CORE, "--apply", now=next_week)[0] == 0
    assert len(world.events.incidents) == 3 and len(world.posts()) == 3
    assert len({i["dedup_key"] for i in world.events.incidents}) == 3


def test_threads_under_a_permalink_into_the_support_channel(world, capsys):
    question = world.slack.add_message(CHANNEL, "UCUSTOMER", "Export fails with a 500")
    answer = world.slack.add_message(CHANNEL, "UALICE000", "Looking", thread_ts=question["ts"])
    code, out, _ = run(capsys, world, *CORE, "--link", permalink(question["ts"]), "--apply")
    assert code == 0, out
    (msg,) = world.posts()
    assert msg["thread_ts"] == question["ts"]
    assert f"secondary on-call:* <@{world.ids['bob']}>" in msg["text"]

    # the same conversation by a reply's permalink: already escalated
    world.reset_counts()
    reply = permalink(answer["ts"]) + f"?thread_ts={question['ts']}&cid={CHANNEL}"
    code, out, _ = run(capsys, world, *CORE, "--link", reply, "--apply")
    assert code == 0 and "already escalated" in out
    assert world.slack.count("POST", "/conversations.replies") == 1
    assert world.writes() == (0, 0, 0) and len(world.events.incidents) == 1


@pytest.mark.parametrize(
    ("link", "note"),
    [
        (permalink("1773144000.000100", "C0OTHER001"), "the link is in another Slack channel"),
        (permalink("1773144000.000100"), f"the link is no message of {CHANNEL}"),
    ],
)
def test_a_permalink_it_cannot_thread_under_posts_in_the_channel(world, capsys, link, note):
    code, out, _ = run(capsys, world, *CORE, "--link", link, "--apply")
    assert code == 0 and note in out
    (msg,) = world.posts()
    assert "thread_ts" not in msg and link in msg["text"]
    assert run(capsys, world, *CORE, "--link", link, "--apply")[0] == 0
    assert len(world.posts()) == 1 and len(world.events.incidents) == 1


def test_retries_honour_retry_after_and_a_failed_page_posts_nothing(world, capsys):
    world.events.inject("POST", "/enqueue", 429, headers={"Retry-After": "0"})
    world.events.inject("POST", "/enqueue", 503, headers={"Retry-After": "0"})
    assert run(capsys, world, *CORE, "--apply")[0] == 0
    assert world.events.count() == 3 and len(world.events.incidents) == 1

    world.events.inject("POST", "/enqueue", 500, times=10, headers={"Retry-After": "0"})
    code, _, err = run(capsys, world, "--team", "core", "--summary", "Other", "--apply")
    assert code == 1 and "gave up" not in err and "giving up; nothing was posted" in err
    assert len(world.events.incidents) == 1 and len(world.posts()) == 1


def test_the_events_url_may_carry_the_specs_v2(world, capsys):
    world.setenv(PAGERDUTY_EVENTS_URL=world.events.url)  # https://127.0.0.1:port/v2
    assert world.events.url.endswith("/v2")
    assert run(capsys, world, *CORE, "--apply")[0] == 0
    assert len(world.events.incidents) == 1


# --- where PagerDuty's answer comes from --------------------------------------------------------


def test_a_team_without_a_pagerduty_schedule_uses_rotation_yaml(world, capsys):
    code, out, _ = run(
        capsys, world, "--team", "data", "--summary", "Dashboards are empty", "--apply"
    )
    assert code == 0, out
    assert "data has no pagerduty_schedule: who is on call is" in out
    assert "Dave Dimitrov is also the Support Hero on call now" in out
    (incident,) = world.events.incidents
    assert incident["service"] == "Data <Science>"
    assert world.pd.count() == 0


def test_without_a_pagerduty_token_the_routing_key_pages_rotation_yamls_secondary(world, capsys):
    world.setenv(PAGERDUTY_TOKEN=None)
    code, out, _ = run(capsys, world, *CORE, "--apply")
    assert code == 0 and "PAGERDUTY_TOKEN is not set: who is on call is" in out
    assert (
        "Bob Brennan"
        in world.events.incidents[0]["events"][0]["payload"]["custom_details"]["secondary"]
    )
    assert world.pd.count() == 0


def test_pagerduty_unreadable_falls_back_to_rotation_yaml(world, capsys):
    world.pd.inject("GET", "/schedules/{id}", 500, times=10, headers={"Retry-After": "0"})
    code, out, _ = run(capsys, world, *CORE, "--apply")
    assert code == 0 and "PagerDuty could not be read" in out
    assert "from rotation.yaml" in out and len(world.events.incidents) == 1


def test_without_any_pagerduty_access_a_dry_run_shows_rotation_yaml_and_apply_refuses(
    world, capsys
):
    world.setenv(PAGERDUTY_TOKEN=None, PAGERDUTY_ROUTING_KEYS=None)
    code, out, _ = run(capsys, world, *CORE)
    assert code == 0
    assert "Secondary on call: Bob Brennan <bob@example.com>, from rotation.yaml" in out
    assert "Paging: not possible: core needs a routing key in PAGERDUTY_ROUTING_KEYS" in out
    assert world.writes() == (0, 0, 0)

    world.reset_counts()
    code, _, err = run(capsys, world, *CORE, "--apply")
    assert code == 2 and "cannot page: not possible" in err and "nothing was sent" in err
    assert world.requests() == (0, 0, 0)


# --- REST incidents -----------------------------------------------------------------------------


def rest_only(world: World, **extra) -> None:
    """PagerDuty access without a routing key for core."""
    keys = {k: v for k, v in world.events.team_keys.items() if k != "core"}
    world.setenv(PAGERDUTY_ROUTING_KEYS=json.dumps(keys), **extra)


def test_without_a_routing_key_a_rest_incident_is_assigned_to_the_secondary(world, capsys):
    rest_only(world, PAGERDUTY_FROM_EMAIL="frank@example.com")
    code, out, _ = run(capsys, world, *CORE, "--apply")
    assert code == 0, out
    (incident,) = world.pd.incidents
    assert incident["service"]["id"] == "PSVCORE1" and incident["urgency"] == "high"
    assert [a["assignee"]["id"] for a in incident["assignments"]] == [
        world.pd.user_id("bob@example.com")
    ]
    (msg,) = world.posts()
    assert incident["incident_key"] == msg["metadata"]["event_payload"]["dedup_key"]
    assert "paged in PagerDuty (an incident assigned to them)" in msg["text"]
    assert world.events.count() == 0 and world.pd.writes() == 1

    world.reset_counts()
    assert run(capsys, world, *CORE, "--apply")[0] == 0
    assert world.writes() == (0, 0, 0)

    # the message lost (deleted by hand): PagerDuty refuses a second incident with the key
    world.slack.channels[CHANNEL]["messages"].clear()
    code, out, _ = run(capsys, world, *CORE, "--apply")
    assert code == 0 and "Already paged: PagerDuty has an open incident" in out
    assert len(world.pd.incidents) == 1 and len(world.posts()) == 1


def test_a_rest_incident_for_rotation_yamls_secondary_finds_their_pagerduty_user(world, capsys):
    rest_only(world, PAGERDUTY_FROM_EMAIL="frank@example.com")
    world.config.write_text(ROTATION_YAML.replace("    pagerduty_schedule: PCORE01\n", ""))
    assert run(capsys, world, *CORE, "--apply")[0] == 0
    (incident,) = world.pd.incidents
    assert incident["assignments"][0]["assignee"]["id"] == world.pd.user_id("bob@example.com")
    assert world.pd.count("GET", "/users") == 1


@pytest.mark.parametrize(
    ("env", "missing"),
    [
        ({"PAGERDUTY_FROM_EMAIL": None}, "PAGERDUTY_FROM_EMAIL"),
        ({"PAGERDUTY_FROM_EMAIL": "frank@example.com", "PAGERDUTY_TOKEN": None}, "PAGERDUTY_TOKEN"),
    ],
)
def test_a_rest_incident_needs_a_token_and_a_sender(world, capsys, env, missing):
    rest_only(world, **env)
    code, _, err = run(capsys, world, *CORE, "--apply")
    assert code == 2 and missing in err
    assert world.requests() == (0, 0, 0)


# --- bad input: a clear error, nothing sent -----------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "error"),
    [
        (["--team", "nope", "--summary", "x"], "the teams are: core, data, ops, sales"),
        (["--team", "core", "--summary", " \t "], "the summary is empty"),
        ([*CORE, "--link", "ftp://x"], "the link must be an http(s) URL"),
        (["--team", "sales", "--summary", "x"], "Sales has no secondary rotation"),
        (["--team", "ops", "--summary", "x"], "its secondary rotation starts 2027-04-05"),
    ],
)
def test_bad_input_sends_nothing(world, capsys, argv, error):
    code, _, err = run(capsys, world, *argv, "--apply")
    assert code == 2 and error in err and "nothing was sent" in err
    assert world.requests() == (0, 0, 0)


def test_nobody_on_call_in_pagerduty_sends_nothing(world, capsys):
    world.pd.schedules["PCORE01"].layers.clear()
    code, _, err = run(capsys, world, *CORE, "--apply")
    assert code == 2
    assert "nobody is on call for Core at 2027-03-10 12:00 UTC in PagerDuty schedule PCORE01" in err
    assert "(rotation.yaml says Bob Brennan: run sync_pagerduty)" in err
    assert world.writes() == (0, 0, 0) and world.slack.count() == 0


def test_bad_config_sends_nothing(world, capsys):
    world.config.write_text(ROTATION_YAML.replace("team: core, slack", "team: croe, slack"))
    code, _, err = run(capsys, world, *CORE, "--apply")
    assert code == 2 and "croe" in err
    assert world.requests() == (0, 0, 0)


def test_apply_without_the_slack_token_sends_nothing(world, capsys):
    world.setenv(SLACK_BOT_TOKEN=None)
    code, _, err = run(capsys, world, *CORE, "--apply")
    assert code == 2 and "SLACK_BOT_TOKEN" in err
    assert world.requests() == (0, 0, 0)


def test_a_malformed_routing_key_is_named_not_printed(world, capsys):
    world.setenv(PAGERDUTY_ROUTING_KEYS='{"core": "s3cret-but-too-short"}')
    code, out, err = run(capsys, world, *CORE, "--apply")
    assert code == 2 and "the value for 'core' is not an Events API v2 routing key" in err
    assert "s3cret" not in out + err and world.requests() == (0, 0, 0)


# --- output -------------------------------------------------------------------------------------


def test_json_and_the_job_summary(world, capsys, tmp_path):
    summary = tmp_path / "summary.md"
    world.setenv(GITHUB_STEP_SUMMARY=str(summary), GITHUB_ACTOR="octocat")
    code, out, _ = run(capsys, world, *CORE, "--format", "json")
    assert code == 0
    doc = json.loads(out)
    assert [c["action"] for c in doc["changes"]] == ["page", "post"]
    assert doc["secondary"]["name"] == "Bob Brennan" and doc["route"] == "events"
    event = doc["changes"][0]["data"]["event"]
    assert event["payload"]["custom_details"]["escalated_by"] == "octocat"
    assert "by octocat" in doc["changes"][1]["data"]["text"]
    assert "### Escalation (dry run)" in summary.read_text()
    assert world.writes() == (0, 0, 0)


# --- the Events API fake ------------------------------------------------------------------------


def test_the_events_fake_keeps_incidents_by_dedup_key(world):
    key = world.events.team_keys["core"]
    client = PagerDutyEvents(key)
    event = {"payload": {"summary": "s", "source": "t", "severity": "info"}, "dedup_key": "k"}
    assert client.trigger(event) == client.trigger(event) == "k"
    assert len(world.events.incidents) == 1
    client._client.resolve("k")
    assert world.events.incidents[0]["status"] == "resolved"
    client.trigger(event)  # after a resolve, the same key opens a new incident
    assert [i["status"] for i in world.events.incidents] == ["resolved", "triggered"]
    fresh = client.trigger({"payload": event["payload"]})  # no key: PagerDuty makes one
    assert len(fresh) == 32 and len(world.events.incidents) == 3


@pytest.mark.parametrize(
    ("key", "error"),
    [("a" * 32, "Invalid routing key"), ("short", "Length of 'routing_key' is incorrect")],
)
def test_the_events_fake_refuses_unknown_routing_keys(world, key, error):
    with pytest.raises(PagerDutyError, match=error) as caught:
        PagerDutyEvents(key).trigger(
            {"payload": {"summary": "s", "source": "t", "severity": "info"}}
        )
    assert key not in str(caught.value)
    assert world.events.incidents == []


def test_a_lost_answer_to_the_notice_posts_it_once(world, capsys):
    """A 5xx after Slack posted the notice: found by its metadata, not posted again."""
    world.slack.inject("POST", "/chat.postMessage", 502, after=True)
    code, _, err = run(capsys, world, *CORE, "--apply")
    assert code == 0, err
    assert len(world.posts()) == 1 and len(world.events.incidents) == 1
    world.reset_counts()
    assert run(capsys, world, *CORE, "--apply")[0] == 0 and world.writes() == (0, 0, 0)
