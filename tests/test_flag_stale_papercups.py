"""flag_stale end to end with the Papercups source: the real adapter over HTTP against the fake."""

import json
import math
from datetime import UTC, datetime, timedelta

import pytest

from fakes.papercups import PapercupsFake
from fakes.world import World
from scripts import flag_stale
from scripts.rotation.load import load
from scripts.sources import conversations as stale_sources
from scripts.stale import clock as stale
from tests import rotations, stale_world

NOW = datetime(2026, 12, 2, 15, 0, tzinfo=UTC)  # a Wednesday; hero: a (a@example.com)
CONFIG = rotations.text(people="abc", hero="abc", hero_since="2026-11-30") + (
    "slack:\n  channel: C0SUPPORT1\n"
)


@pytest.fixture
def papercups():
    with PapercupsFake(clock=NOW) as fake:  # leaving the block fails on any spec violation
        yield fake


@pytest.fixture
def config(tmp_path):
    path = tmp_path / "rotation.yaml"
    path.write_text(CONFIG, encoding="utf-8")
    return path


@pytest.fixture
def job(papercups, config, monkeypatch, capsys, tmp_path):
    """Run flag_stale against the fake; answers (exit code, stdout, stderr)."""
    World(papercups=papercups).point(monkeypatch)  # Papercups alone: no other service is asked
    monkeypatch.delenv("CUSTOMERS_FILE", raising=False)
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(tmp_path / "summary.md"))

    def run(*args: str, cfg=config) -> tuple[int, str, str]:
        return stale_world.run(capsys, str(cfg), *args, now=NOW)

    return run


def ago(**kw) -> str:
    return (NOW - timedelta(**kw)).isoformat()


def waiting(email: str, tier: str | None, minutes: int, **conv) -> tuple[dict, dict]:
    customer = {"email": email, "name": email.split("@")[0].title(),
                "metadata": {"tier": tier} if tier else None}  # fmt: skip
    said = {"customer": email, "messages": [{"at": ago(minutes=minutes), "body": "help?"}], **conv}
    return customer, said


def seed(fake, *pairs) -> dict[str, str]:
    return fake.seed({
        "users": [{"email": "ann@kestrel.example", "name": "Ann Agent"}],
        "customers": [c for c, _ in pairs], "conversations": [v for _, v in pairs],
    })  # fmt: skip


def as_json(out: str) -> dict:
    return json.loads(out)


# --- reading at the minimum number of requests ---------------------------------------------------


def test_over_fifty_open_conversations_at_the_minimum_of_requests(papercups, job):
    tiers = ["focus", "subscriber", "community", None]
    pairs = [waiting(f"c{i:03d}@example.com", tiers[i % 4], 20 + 7 * i) for i in range(120)]
    pairs.append(waiting("closed@example.com", "focus", 600, status="closed"))
    pairs.append(waiting("archived@example.com", "focus", 600, archived=True))
    seed(papercups, *pairs)
    code, out, _ = job("--format", "json")
    report = as_json(out)
    pages = papercups.count("GET", "/api/v1/conversations")
    assert (code, len(report["conversations"]), pages) == (0, 120, math.ceil(120 / 50))
    assert papercups.count() == pages  # messages and customers come with the list
    assert report["sources"][0] == {
        "source": "papercups",
        "state": "ok",
        "detail": "",
        "conversations": 120,
    }
    tiers_in_order = [c["tier"] for c in report["conversations"]]
    assert tiers_in_order == sorted(tiers_in_order, key=["focus", "subscriber", "community"].index)
    assert "closed@example.com" not in out and "archived@example.com" not in out


def test_unsorted_messages_still_make_a_follow_up(papercups, job):
    papercups.seed({
        "users": [{"email": "ann@kestrel.example", "name": "Ann"}],
        "customers": [{"email": "sam@shop.example", "metadata": {"tier": "subscriber"}}],
        "conversations": [{"key": "q", "customer": "sam@shop.example", "messages": [
            {"at": ago(hours=5), "body": "Is SSO supported?"},
            {"at": ago(hours=4), "from": "bot", "body": "An agent will be with you"},
            {"at": ago(hours=3, minutes=50), "from": "ann@kestrel.example", "body": "Yes."},
            {"at": ago(hours=3), "from": "ann@kestrel.example", "body": "note", "private": True},
            {"at": ago(hours=2), "body": "How do I turn it on?"},
        ]}],
    })  # fmt: skip
    code, out, _ = job("--format", "json")
    (conv,) = as_json(out)["conversations"]
    assert (code, conv["level"], conv["follow_up"]) == (0, "late", True)
    assert conv["waiting_since"] == ago(hours=2)


def test_a_team_member_is_us_only_as_an_agent(papercups, job):
    """b@example.com (in rotation.yaml) asks through the chat widget: a customer, flagged; the
    same person answering as a Papercups agent is us."""
    customer, asked = waiting("b@example.com", "focus", 45)
    other, answered = waiting("ada@example.com", "focus", 45)
    answered["messages"].append({"at": ago(minutes=40), "from": "b@example.com", "body": "Done"})
    agent = {"email": "b@example.com", "name": "B"}
    papercups.seed({"users": [agent], "customers": [customer, other],
                    "conversations": [asked, answered]})  # fmt: skip
    code, out, _ = job("--format", "json")
    found = {c["customer_email"]: c for c in as_json(out)["conversations"]}
    b, ada = found["b@example.com"], found["ada@example.com"]
    assert (code, b["customer_is_team"], b["level"]) == (0, True, "late")
    assert (ada["customer_is_team"], ada["level"]) == (False, None)  # answered by b, an agent


# --- rate limits and outages -------------------------------------------------------------------


def test_429_with_retry_after_is_honoured(papercups, job):
    seed(papercups, waiting("ada@example.com", "focus", 45))
    papercups.inject("GET", "/api/v1/conversations", 429, headers={"Retry-After": "1"})
    code, out, _ = job("--format", "json")
    calls = papercups.calls
    assert (code, [c.status for c in calls]) == (0, [429, 200])
    assert calls[1].time - calls[0].time >= 0.9
    assert len(as_json(out)["conversations"]) == 1


def test_an_outage_is_reported_and_the_job_still_answers(papercups, job):
    seed(papercups, waiting("ada@example.com", "focus", 45))
    papercups.inject("GET", "/api/v1/conversations", 503, times=10)
    code, out, _ = job()
    assert code == flag_stale.EXIT_SOURCE_FAILED == 1
    assert "⚠️ *Papercups could not be read*: Papercups GET /api/v1/conversations: HTTP 503" in out
    assert "Papercups: *failed*" in out and "Message (Block Kit JSON)" in out
    assert papercups.count() == 4  # the first try and 3 retries, then it gives up


def test_one_failing_source_does_not_stop_another(papercups):
    customer, conv = waiting("ada@example.com", "focus", 45)
    papercups.seed({"customers": [customer], "conversations": [conv]})
    team = stale.Team.of(load("rotation.yaml", text=CONFIG)[0])
    env = {"PAPERCUPS_API_URL": papercups.url}
    readers = [
        stale_sources.PapercupsSource("wrong-key", {}, team, env=env),
        stale_sources.PapercupsSource(papercups.api_key, {}, team, env=env),
    ]
    first, second = stale_sources.read_all(readers)
    assert (first.status.state, second.status.state) == ("failed", "ok")
    assert "HTTP 401" in first.status.detail and len(second.conversations) == 1


def test_a_wrong_token_fails_the_source_without_showing_it(papercups, job, monkeypatch):
    monkeypatch.setenv("PAPERCUPS_TOKEN", "not-the-key-4711")
    code, out, err = job()
    assert code == 1 and "HTTP 401: Invalid token" in out
    assert "not-the-key-4711" not in out + err


# --- configuration and usage --------------------------------------------------------------------


def test_without_a_token_papercups_is_not_configured(papercups, job, monkeypatch):
    monkeypatch.delenv("PAPERCUPS_TOKEN")
    code, out, _ = job()
    assert code == 0 and "Papercups: not configured (PAPERCUPS_TOKEN is not set)" in out
    assert papercups.count() == 0


BAD = [
    # (stale section, what stderr says)
    ("stale:\n  thresholds:\n    focus: {late: 5h}\n", "thresholds must grow"),
    ("stale:\n  thresholds:\n    focus: {late: 2x}\n", "'2x' does not match"),
    ('stale:\n  working_hours: {start: "18:00", end: "09:00"}\n', "ends (09:00) before it starts"),
    ("stale:\n  default_tier: gold\n", "'gold' is not one of focus, subscriber, community"),
    ("papercups:\n  inbox: x\n", "unknown key 'inbox'"),
]


@pytest.mark.parametrize(("section", "message"), BAD)
def test_bad_config_exits_2_before_any_request(papercups, job, config, section, message):
    config.write_text(CONFIG + section, encoding="utf-8")
    code, out, err = job()
    assert (code, out, papercups.count()) == (2, "", 0)
    assert message in err and f"{config}:" in err


def test_apply_without_a_slack_token_exits_2_before_any_request(papercups, job):
    code, _, err = job("--apply")
    assert (code, papercups.count()) == (2, 0)
    assert "--apply needs SLACK_BOT_TOKEN" in err


# --- output formats -------------------------------------------------------------------------------


def test_text_markdown_and_summary(papercups, job, tmp_path):
    seed(papercups, waiting("ada@example.com", "focus", 45), waiting("lee@x.example", None, 3))
    code, out, _ = job()
    assert code == 0
    assert "🟠 *Focus* · Papercups · <http" in out and "waiting 45m" in out
    assert "hero: A" in out and "1 more waiting within target" in out
    assert "Message (Block Kit JSON)" in out
    assert "post    stale digest: 0 very late, 1 late in total" in out
    code, md, _ = job("--format", "markdown")
    assert md.startswith("### Stale support conversations") and "- 🟠 **Focus** · Papercups" in md
    assert "### Stale support conversations" in (tmp_path / "summary.md").read_text()
    code, out, _ = job("--format", "json")
    report = as_json(out)
    assert report["changes"][0]["action"] == "post"
    assert report["digest"]["metadata"]["event_type"] == "support_hero_stale_digest"


def test_a_retry_after_longer_than_we_wait_fails_the_source_at_once(papercups, job):
    """docs/flag_stale.md: a longer Retry-After is not waited out (nor shortened and retried)."""
    seed(papercups, waiting("ada@example.com", "focus", 45))
    papercups.inject("GET", "/api/v1/conversations", 429, times=5, headers={"Retry-After": "600"})
    code, out, _ = job()
    assert code == 1 and "asked to wait 600 s" in out
    assert [c.status for c in papercups.calls] == [429]
