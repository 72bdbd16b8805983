"""notify_failure end to end: the real slack_sdk WebClient against the stateful Slack fake."""

import json
from datetime import datetime

import pytest

from fakes.slack import BOT_USER
from scripts import notify_failure
from scripts.rotation import load as rotation
from scripts.rotation.problems import ConfigError
from tests import rotations

CHANNEL = "C0SUPPORT1"
NOW = "2026-12-14T05:30:00Z"
RUN = "https://github.com/kestrel-example/support/actions/runs/1234"
ROTATION_YAML = rotations.text() + f"slack:\n  channel: {CHANNEL}\n  reminders: false\n"


@pytest.fixture
def config(tmp_path):
    path = tmp_path / "rotation.yaml"
    path.write_text(ROTATION_YAML)
    return path


@pytest.fixture
def slack(slack_fake, monkeypatch):
    """The fake with the support channel, and the job's environment pointing at it."""
    slack_fake.seed_from_rotation(rotation.load("rotation.yaml", text=ROTATION_YAML)[0])
    slack_fake.now = datetime.fromisoformat(NOW.replace("Z", "+00:00"))
    for name, value in slack_fake.env().items():
        monkeypatch.setenv(name, value)
    for name in ("RUN_URL", "GITHUB_STEP_SUMMARY", "GITHUB_WORKFLOW", "GITHUB_ACTIONS"):
        monkeypatch.delenv(name, raising=False)
    return slack_fake


def run(capsys, config, *argv):
    code = notify_failure.main(["--config", str(config), "--now", NOW, *argv])
    out, err = capsys.readouterr()
    return code, out, err


def notices(fake) -> list[dict]:
    return [
        m
        for m in fake.messages(CHANNEL)
        if (m.get("metadata") or {}).get("event_type") == notify_failure.EVENT
    ]


def test_posts_once_per_run(slack, config, capsys):
    code, out, _ = run(capsys, config, "--run-url", RUN, "--workflow", "Sync PagerDuty", "--apply")
    assert code == 0, out
    (msg,) = notices(slack)
    assert msg["metadata"]["event_payload"] == {"run_url": RUN}
    assert f"*Sync PagerDuty* failed: <{RUN}|see the run>" in msg["text"]
    assert (slack.reads(), slack.writes()) == (1, 1)  # history since the lookback, one post

    slack.reset_counts()
    code, out, _ = run(capsys, config, "--run-url", RUN, "--workflow", "Sync PagerDuty", "--apply")
    assert code == 0 and "No changes: everything already matches." in out
    assert (slack.reads(), slack.writes()) == (1, 0)
    assert len(notices(slack)) == 1


def test_another_run_posts_again(slack, config, capsys):
    assert run(capsys, config, "--run-url", RUN, "--apply")[0] == 0
    assert run(capsys, config, "--run-url", RUN + "5", "--apply")[0] == 0
    urls = [m["metadata"]["event_payload"]["run_url"] for m in notices(slack)]
    assert urls == [RUN, RUN + "5"]


def test_dry_run_reads_and_writes_nothing(slack, config, capsys):
    code, out, _ = run(capsys, config, "--run-url", RUN, "--format", "json")
    assert code == 0
    (change,) = json.loads(out)["changes"]
    assert change["action"] == "post" and change["target"] == CHANNEL
    assert (slack.reads(), slack.writes()) == (1, 0)
    assert notices(slack) == []


def test_without_a_token_a_dry_run_shows_the_post_and_apply_exits_2(
    slack, config, capsys, monkeypatch
):
    monkeypatch.delenv("SLACK_BOT_TOKEN")
    code, out, err = run(capsys, config, "--run-url", RUN)
    assert code == 0 and "1 change: 1 post" in out and "Slack was not read" in err
    code, _, err = run(capsys, config, "--run-url", RUN, "--apply")
    assert code == 2 and "SLACK_BOT_TOKEN" in err
    assert slack.count() == 0


def test_names_cannot_ping_or_forge_links(slack, config, capsys):
    name = "<!channel> & <https://evil.example|click>"
    assert run(capsys, config, "--run-url", RUN, "--workflow", name, "--apply")[0] == 0
    (msg,) = notices(slack)
    assert "&lt;!channel&gt; &amp; &lt;https://evil.example|click&gt;" in msg["text"]
    assert "<!channel>" not in msg["text"]


def test_a_broken_rotation_is_still_reported(slack, config, capsys):
    # The failed run may have failed *because* of rotation.yaml: only slack.channel is needed.
    text = config.read_text().replace("first: a}", "first: nobody}")
    config.write_text(text)
    with pytest.raises(ConfigError):
        rotation.load(str(config))
    assert run(capsys, config, "--run-url", RUN, "--apply")[0] == 0
    assert len(notices(slack)) == 1


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda t: t.replace("  channel: ", "  hero_channel: "), "no slack.channel"),
        (lambda t: t.replace("slack:", "slack: ["), "cannot read slack.channel"),
        (lambda t: "", "no slack.channel"),
    ],
)
def test_no_channel_exits_2_without_a_request(slack, config, capsys, edit, message):
    config.write_text(edit(config.read_text()))
    code, _, err = run(capsys, config, "--run-url", RUN, "--apply")
    assert code == 2 and message in err
    assert slack.count() == 0


def test_no_run_url_exits_2(slack, config, capsys, monkeypatch):
    for name in ("GITHUB_SERVER_URL", "GITHUB_REPOSITORY", "GITHUB_RUN_ID"):
        monkeypatch.delenv(name, raising=False)
    code, _, err = run(capsys, config, "--apply")
    assert code == 2 and "RUN_URL" in err
    assert slack.count() == 0


def test_a_post_refused_for_set_up_exits_2_and_the_next_run_finishes(slack, config, capsys):
    slack.channels[CHANNEL]["members"].discard(BOT_USER)  # someone removed the app's bot
    code, _, err = run(capsys, config, "--run-url", RUN, "--apply")
    assert code == 2 and "not_in_channel" in err  # the set-up needs fixing (README, exit codes)
    slack.channels[CHANNEL]["members"].add(BOT_USER)
    assert run(capsys, config, "--run-url", RUN, "--apply")[0] == 0
    assert len(notices(slack)) == 1


@pytest.mark.parametrize(
    ("env", "url"),
    [
        ({"RUN_URL": RUN}, RUN),
        (
            {
                "GITHUB_SERVER_URL": "https://github.com",
                "GITHUB_REPOSITORY": "o/r",
                "GITHUB_RUN_ID": "7",
            },
            "https://github.com/o/r/actions/runs/7",
        ),
        ({"RUN_URL": "", "GITHUB_SERVER_URL": "https://github.com", "GITHUB_RUN_ID": "7"}, None),
        ({}, None),
    ],
)
def test_run_url(env, url):
    assert notify_failure.run_url(env) == url


def test_a_lost_answer_posts_the_notice_once(slack, config, capsys):
    slack.inject("POST", "/chat.postMessage", 500, after=True)  # posted, the answer lost
    assert run(capsys, config, "--run-url", RUN, "--apply")[0] == 0
    assert run(capsys, config, "--run-url", RUN, "--apply")[0] == 0
    assert len(notices(slack)) == 1
