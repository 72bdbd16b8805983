"""post_handoff with Sentry: the count in the weekly message, and an outage that stops nothing.

The real slack_sdk and requests talk over loopback to the Slack and Sentry fakes, both checked
against their specs.
"""

import json
from datetime import UTC, datetime, timedelta

import pytest

from fakes.sentry import SentryFake
from fakes.world import World
from scripts import post_handoff
from scripts.handoff import weekly
from scripts.rotation import load as rotation
from scripts.stale import sentry_errors
from tests.test_handoff import ROTATION_YAML

CHANNEL = "C0SUPPORT1"
MONDAY = datetime(2027, 3, 15, 9, 0, tzinfo=UTC)  # bob's week starts; dave covers Wednesday
TUESDAY = "2027-03-16T10:00:00Z"
SENTRY = "sentry:\n  organization: acme\n  projects: [web, api]\n"
H = timedelta(hours=1)
ISSUES = "/api/0/projects/**"


@pytest.fixture
def config(tmp_path):
    path = tmp_path / "rotation.yaml"
    path.write_text(ROTATION_YAML + SENTRY)
    return path


@pytest.fixture
def sentry():
    with SentryFake(clock=datetime(2027, 3, 16, 10, 0, tzinfo=UTC)) as fake:
        fake.add_project("acme", "web")
        fake.add_project("acme", "api")
        yield fake


@pytest.fixture
def slack(slack_fake, sentry, monkeypatch):
    """The Slack fake seeded with the rotation's people; the job's environment points at both."""
    rot = rotation.load("rotation.yaml", text=ROTATION_YAML)[0]
    slack_fake.ids = slack_fake.seed_from_rotation(rot)
    World(slack=slack_fake, sentry=sentry).point(monkeypatch)
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    return slack_fake


def run(capsys, fake, config, now, *argv):
    fake.now = datetime.fromisoformat(now.replace("Z", "+00:00"))
    code = post_handoff.main(["--config", str(config), "--now", now, *argv])
    out, err = capsys.readouterr()
    return code, out, err


def the_handoff(fake) -> dict:
    (msg,) = [
        m
        for m in fake.messages(CHANNEL)
        if (m.get("metadata") or {}).get("event_type") == weekly.EVENT_HANDOFF
    ]
    return msg


def sentry_line(msg) -> str | None:
    found = [b for b in msg["blocks"] if b["block_id"] == sentry_errors.BLOCK_ID]
    return found[0]["text"]["text"] if found else None


def seed(sentry) -> None:
    """Three new unassigned errors (two in web), and three that do not count."""
    sentry.add_issue("acme", "web", "TypeError: <!channel>", MONDAY + H, recent=[4, 9])
    sentry.add_issue("acme", "web", "KeyError: plan", MONDAY + 11 * H)
    sentry.add_issue("acme", "api", "Timeout", MONDAY + 23 * H, recent=[2])
    sentry.add_issue("acme", "web", "Taken", MONDAY + H, assigned_to="Alice Andersen")
    sentry.add_issue("acme", "web", "Last week's", MONDAY - H, count=300)
    gone = sentry.add_issue("acme", "api", "Fixed", MONDAY + 2 * H)
    sentry.resolve(gone)


# --- the count ------------------------------------------------------------------------------------


def test_the_handoff_counts_new_unassigned_errors_and_a_rerun_writes_nothing(
    slack, sentry, config, capsys
):
    seed(sentry)
    code, out, err = run(capsys, slack, config, TUESDAY, "--apply")
    assert code == 0, err
    line = sentry_line(the_handoff(slack))
    assert line.endswith("3 new unassigned Sentry errors> since the handoff (web 2, api 1)")
    # linked from SENTRY_API_URL's host (here the fake's), the counted projects selected
    assert f"<{sentry.url}/organizations/acme/issues/?query=is%3Aunresolved" in line
    assert "&amp;project=100&amp;project=101|" in line
    assert "Sentry: 3 new unassigned errors since the handoff." in out
    assert sentry.count("GET") == 2  # one page per project: the minimum
    assert "3 new unassigned Sentry errors" in the_handoff(slack)["text"]  # the fallback too

    slack.reset_counts()
    code, out, _ = run(capsys, slack, config, "2027-03-16T11:00:00Z", "--apply")
    assert code == 0 and "No changes: everything already matches." in out
    assert slack.writes() == 0  # the same count: the message digest did not move


def test_a_new_error_updates_the_message_in_place_even_across_a_swap_day(
    slack, sentry, config, capsys
):
    seed(sentry)
    assert run(capsys, slack, config, TUESDAY, "--apply")[0] == 0
    posted = the_handoff(slack)["ts"]
    sentry.add_issue("acme", "api", "New on Wednesday", MONDAY + 49 * H)
    slack.reset_counts()
    code, _, err = run(capsys, slack, config, "2027-03-17T11:00:00Z", "--apply")  # dave's day
    assert code == 0, err
    msg = the_handoff(slack)
    assert msg["ts"] == posted and slack.count("POST", "/chat.update") == 1
    assert "4 new unassigned Sentry errors> since the handoff (web 2, api 2)" in sentry_line(msg)
    slack.reset_counts()
    code, _, _ = run(capsys, slack, config, "2027-03-18T11:00:00Z", "--apply")  # bob again
    assert code == 0 and slack.count("POST", "/chat.update") == 0  # Monday's errors still count


def test_json_output_says_how_sentry_was_read(slack, sentry, config, capsys):
    seed(sentry)
    code, out, _ = run(capsys, slack, config, TUESDAY, "--format", "json")
    assert code == 0
    report = json.loads(out)
    assert report["sentry"] == {"state": "ok", "detail": "", "new_unassigned": 3}
    blocks = report["message"]["blocks"]
    ids = [b["block_id"] for b in blocks]
    assert ids.index(sentry_errors.BLOCK_ID) == ids.index(weekly.OPEN_BLOCK_ID) + 1
    assert slack.writes() == 0


# --- outages --------------------------------------------------------------------------------------


def test_an_outage_keeps_the_posted_count_and_the_handoff_goes_on(slack, sentry, config, capsys):
    seed(sentry)
    assert run(capsys, slack, config, TUESDAY, "--apply")[0] == 0
    before = the_handoff(slack)
    sentry.add_issue("acme", "web", "Unseen during the outage", MONDAY + 24 * H)
    sentry.inject("GET", ISSUES, 503, times=100, headers={"Retry-After": "0"})
    slack.reset_counts()
    assert run(capsys, slack, config, "2027-03-16T11:00:00Z", "--apply")[0] == 0
    assert slack.writes() == 0  # an outage alone changes nothing in Slack
    sentry.reset_counts()
    config.write_text(ROTATION_YAML.replace("name: Core\n", "name: Core Platform\n") + SENTRY)
    code, out, err = run(capsys, slack, config, "2027-03-16T12:00:00Z", "--apply")
    assert code == 0, err  # Slack's part went fine: Sentry does not fail the job
    assert "Sentry could not be read (Sentry GET /projects/acme/web/issues/: HTTP 503" in out
    assert "does not change the exit code" in out and "warning: Sentry GET" in err
    msg = the_handoff(slack)
    assert "Core Platform" in msg["text"]  # the rotation's change went out
    assert sentry_line(msg) == sentry_line(before)  # the last count stays, no error flip
    assert sentry.count("GET") == 4  # one try and three retries, then on without Sentry

    sentry.faults.clear()
    slack.reset_counts()
    assert run(capsys, slack, config, "2027-03-16T13:00:00Z", "--apply")[0] == 0
    assert "4 new unassigned Sentry errors>" in sentry_line(the_handoff(slack))


def test_sentry_unreachable_at_the_first_post_is_said_in_the_message(
    slack, sentry, config, capsys, monkeypatch
):
    seed(sentry)
    monkeypatch.setenv("SENTRY_API_URL", "http://127.0.0.1:1/api/0")  # nothing listens there
    code, out, err = run(capsys, slack, config, TUESDAY, "--apply")
    assert code == 0, err
    assert "no answer: connection refused" in out
    assert sentry_line(the_handoff(slack)) == sentry_errors.UNREADABLE
    assert "could not be read" in the_handoff(slack)["text"]

    monkeypatch.setenv("SENTRY_API_URL", sentry.env()["SENTRY_API_URL"])  # Sentry is back
    slack.reset_counts()
    assert run(capsys, slack, config, "2027-03-16T11:00:00Z", "--apply")[0] == 0
    assert "3 new unassigned Sentry errors>" in sentry_line(the_handoff(slack))
    assert slack.count("POST", "/chat.update") == 1


# --- not configured -------------------------------------------------------------------------------


def test_without_sentry_token_nothing_is_read_and_no_line_is_added(
    slack, sentry, config, capsys, monkeypatch
):
    seed(sentry)
    monkeypatch.delenv("SENTRY_TOKEN")
    code, out, _ = run(capsys, slack, config, TUESDAY, "--apply")
    assert code == 0 and "Sentry was not read: SENTRY_TOKEN is not set." in out
    assert sentry_line(the_handoff(slack)) is None
    assert sentry.count() == 0


def test_without_a_sentry_section_the_handoff_is_as_before(slack, sentry, config, capsys):
    seed(sentry)
    config.write_text(ROTATION_YAML)
    code, out, _ = run(capsys, slack, config, TUESDAY, "--apply")
    assert code == 0 and "Sentry" not in out
    assert sentry_line(the_handoff(slack)) is None
    assert sentry.count() == 0


@pytest.mark.parametrize(
    ("section", "says"),
    [
        ("sentry: {organization: Acme!, projects: [web]}\n", "sentry.organization: 'Acme!'"),
        ("sentry: {organization: acme, projects: []}\n", "sentry.projects"),
        ("sentry: {organization: acme}\n", "missing required key 'projects'"),
        ("sentry: {organization: acme, projects: [web], org: x}\n", "unknown key 'org'"),
    ],
)
def test_a_bad_sentry_section_is_exit_2_before_any_request(
    slack, sentry, config, capsys, section, says
):
    config.write_text(ROTATION_YAML + section)
    code, _, err = run(capsys, slack, config, TUESDAY, "--apply")
    assert code == 2 and says in err
    assert slack.count() == 0 and sentry.count() == 0
