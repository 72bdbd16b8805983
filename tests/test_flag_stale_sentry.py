"""flag_stale with Sentry: the busiest new unassigned errors listed beside the conversations.

The section as a table first, then end to end: slack_sdk, PyGithub and requests against the
Slack, GitHub and Sentry fakes, each checked against its spec.
"""

import json
import re
from datetime import timedelta

import pytest

from fakes.base import fake_env
from fakes.github import GitHubFake
from fakes.sentry import SentryFake
from fakes.slack import SlackFake
from scripts.clients.sentry import Issue
from scripts.rotation import load as rotation
from scripts.stale import digest as d
from scripts.stale import sentry_errors as se
from scripts.stale.digest import EVENT_TYPE as DIGEST
from tests.stale_world import (
    CHANNEL,
    NOW,
    REPO,
    SAM,
    add_customers,
    ago,
    run,
    say,
    top_level,
    write_config,
)

HANDOFF = NOW.replace(day=30, month=11, hour=9)  # Monday 2026-11-30 09:00 London (UTC): bo's week
H = timedelta(hours=1)
SENTRY = "sentry:\n  organization: kestrel\n  projects: [web, api]\n"
ISSUES = "/api/0/projects/**"
CFG = se.Settings("kestrel", ("web", "api"), "https://kestrel.sentry.io")

# --- the section, pure ------------------------------------------------------------------------


def issue(n: int, events: int, count: int = 1000) -> Issue:
    return Issue(
        id=str(n), short_id=f"WEB-{n}", title=f"Error {n}", project="web", project_id="11",
        first_seen=HANDOFF + n * H, last_seen=NOW, count=count,
        permalink=f"https://kestrel.sentry.io/issues/{n}/", stats_24h=((NOW, events),),
    )  # fmt: skip


LIST = "<https://kestrel.sentry.io/organizations/kestrel/issues/?query=is%3Aunresolved+is%3A"
SECTIONS = [
    # (case, issues Sentry gave, complete, heading, ids listed)
    ("none", [], True, "*Sentry errors* · ✅ <URL|no new unassigned errors> since the handoff", []),
    (
        "a few: all listed",
        [issue(1, 3), issue(2, 9)],
        True,
        "*Sentry errors* · <URL|2 new unassigned> since the handoff · busiest first by events in "
        "the last 24 hours:",
        ["2", "1"],
    ),
    (
        "more than five: the five busiest",
        [issue(n, n) for n in range(1, 8)],
        True,
        "*Sentry errors* · <URL|7 new unassigned> since the handoff · the 5 busiest by events in "
        "the last 24 hours:",
        ["7", "6", "5", "4", "3"],
    ),
    (
        "paging stopped at its bound",
        [issue(1, 1)],
        False,
        "*Sentry errors* · <URL|at least 1 new unassigned> since the handoff · busiest first by "
        "events in the last 24 hours:",
        ["1"],
    ),
]


@pytest.mark.parametrize(
    ("case", "found", "complete", "heading", "ids"), SECTIONS, ids=[s[0] for s in SECTIONS]
)
def test_the_section_lists_the_busiest_in_the_last_24_hours(case, found, complete, heading, ids):
    reading = se.Reading("ok", "", tuple(found), complete)
    errors = d.errors_from(CFG, reading, HANDOFF, "https://sentry.io", NOW, limit=5)
    first, *lines = d.error_section(errors)
    assert re.sub(r"<[^|]+\|", "<URL|", first) == heading
    assert LIST in first  # Sentry's list of them all, at the configured web address
    assert [line.split("/issues/")[1].split("/")[0] for line in lines] == ids
    detail = "" if complete else "paging stopped at its per-run bound"
    assert errors.status == d.SourceStatus("sentry", "ok", detail, len(found))


@pytest.mark.parametrize(
    ("state", "shown_as"),
    [("failed", "failed"), ("not_read", "not_configured")],  # no token: like the other sources
)
def test_a_sentry_not_read_shows_no_section_and_says_why(state, shown_as):
    errors = d.errors_from(CFG, se.Reading(state, "why"), HANDOFF, "https://sentry.io", NOW)
    assert errors.status == d.SourceStatus("sentry", shown_as, "why")
    assert d.error_section(errors) == ()


def test_a_failed_sentry_is_said_like_a_failed_source_and_the_conversations_still_show():
    failed = d.Errors(d.SourceStatus("sentry", "failed", "Sentry GET /x: HTTP 503"))
    ok = d.SourceStatus("slack", "ok", conversations=0)
    digest = d.render([], [ok], None, NOW, errors=failed)
    assert "⚠️ *Sentry could not be read*: Sentry GET /x: HTTP 503. Its errors are missing" in (
        digest.text
    )
    assert "Sources: Slack: 0 open read · Sentry: *failed* (Sentry GET /x: HTTP 503)" in digest.text
    assert "✅ No one has waited past their tier's target." in digest.text
    read = d.Errors(d.SourceStatus("sentry", "ok", conversations=0))
    lonely = d.render([], [d.SourceStatus("slack", "not_configured", "no token")], None, NOW,
                      errors=read)  # fmt: skip
    assert "No source of conversations could be read." in lonely.text


# --- end to end -------------------------------------------------------------------------------


@pytest.fixture
def world(monkeypatch, tmp_path):
    """Slack and GitHub each with a Community customer waiting late (over a day), and Sentry."""
    config = write_config(tmp_path, SENTRY)
    with (
        SlackFake() as slack,
        GitHubFake(clock=NOW) as github,
        SentryFake(clock=NOW) as sentry,
    ):  # leaving the block fails the test on any spec violation in any of them
        for name, value in fake_env(slack, github, sentry).items():
            monkeypatch.setenv(name, value)
        for name in ("PAPERCUPS_TOKEN", "CUSTOMERS_YAML", "CUSTOMERS_FILE"):
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(tmp_path / "summary.md"))
        slack.seed_from_rotation(rotation.load(config)[0])
        add_customers(slack, SAM)
        say(slack, ago(hours=30), SAM[0], "Dashboards are down!")
        github.add_repo(REPO)
        github.add_issue(REPO, "shopdev", "500 on login", created_at=ago(hours=28))
        sentry.add_project("kestrel", "web")
        sentry.add_project("kestrel", "api")
        slack.config, slack.github, slack.sentry = config, github, sentry
        yield slack


def seed_errors(sentry) -> dict[str, str]:
    """Seven new unassigned errors (by events in the last 24 hours: 40, 30, 20, 12, 9, 3, 1),
    and three that do not count. The oldest has the most events in all but few of late."""
    made = {}
    busy = [("web", "Fresh spike", [0, 40]), ("api", "Billing timeout", [10, 10, 10]),
            ("web", "TypeError: <!channel> boom", [20]), ("web", "Slow query", [6, 6]),
            ("api", "KeyError: plan", [9]), ("web", "Rare", [3]), ("web", "Once", [1])]  # fmt: skip
    for k, (project, title, recent) in enumerate(busy):
        made[title] = sentry.add_issue("kestrel", project, title, HANDOFF + (k + 1) * H,
                                       recent=recent)  # fmt: skip
    made["Chatty all week"] = made.pop("Once")
    sentry.issues[made["Chatty all week"]]["count"] = 90_000  # all week, not the last 24 hours
    sentry.add_issue("kestrel", "web", "Taken", HANDOFF + H, recent=[99], assigned_to="Ann Archer")
    sentry.add_issue("kestrel", "web", "Last week's", HANDOFF - H, recent=[99])
    sentry.resolve(sentry.add_issue("kestrel", "api", "Fixed", HANDOFF + H, recent=[99]))
    return made


def the_digest(slack) -> dict:
    (msg,) = top_level(slack, DIGEST)
    return msg


def section(msg: dict) -> list[str]:
    """The digest's Sentry section, a line each (heading first); [] when there is none."""
    texts = [b["text"]["text"] for b in msg["blocks"] if b["type"] == "section"]
    found = [t for t in texts if t.startswith("*Sentry errors*")]
    return found[0].split("\n") if found else []


def test_the_digest_lists_the_five_busiest_beside_the_conversations_and_a_rerun_writes_nothing(
    world, capsys
):
    made = seed_errors(world.sentry)
    code, _, err = run(capsys, world.config, "--apply", slack=world)
    assert code == 0, err
    msg = the_digest(world)
    heading, *lines = section(msg)
    # Sentry's list of them all, at SENTRY_API_URL's host (the fake's) without a `url` set
    assert heading.startswith(f"*Sentry errors* · <{world.sentry.url}/organizations/kestrel/")
    assert "|7 new unassigned> since the handoff" in heading
    assert "the 5 busiest by events in the last 24 hours:" in heading
    order = ["Fresh spike", "Billing timeout", "TypeError: &lt;!channel&gt; boom", "Slow query",
             "KeyError: plan"]  # fmt: skip
    assert [line.split(": ", 1)[1].split("> · ")[0] for line in lines] == order
    assert [line.split(" · ")[-1] for line in lines] == [
        "40 events in 24h (40 in all)", "30 events in 24h (30 in all)",
        "20 events in 24h (20 in all)", "12 events in 24h (12 in all)",
        "9 events in 24h (9 in all)",
    ]  # fmt: skip
    spike = made["Fresh spike"]
    assert lines[0].startswith(f"• <https://kestrel.sentry.io/issues/{spike}/|WEB-")
    assert "<!channel>" not in json.dumps(msg)  # Sentry's text is escaped everywhere
    # beside the conversations: after them, in the same message, and in the fallback text
    assert "Sam Shop" in msg["text"] and "shopdev" in msg["text"]
    assert msg["text"].index("Sam Shop") < msg["text"].index("*Sentry errors*")
    assert msg["text"].endswith(
        "Slack: 1 open read · GitHub: 1 open read · Sentry: 7 new unassigned read"
    )
    assert world.sentry.count("GET") == 2  # a page a project: the minimum

    world.reset_counts()
    assert run(capsys, world.config, "--apply", slack=world)[0] == 0
    assert world.writes() == 0  # the same content hash: no update


def test_a_busier_new_error_updates_the_digest_in_place(world, capsys):
    seed_errors(world.sentry)
    assert run(capsys, world.config, "--apply", slack=world)[0] == 0
    posted = the_digest(world)["ts"]
    world.sentry.add_issue("kestrel", "api", "Outage of the hour", NOW - H, recent=[50, 70])
    world.reset_counts()
    code, _, err = run(capsys, world.config, "--apply", slack=world)
    assert code == 0, err
    assert world.count("POST", "/chat.update") == 1 and world.writes() == 1
    msg = the_digest(world)
    assert msg["ts"] == posted
    heading, first, *rest = section(msg)
    assert "|8 new unassigned>" in heading and "Outage of the hour" in first
    assert "120 events in 24h" in first and len(rest) == 4  # still five: the fifth is out
    assert "KeyError: plan" not in "\n".join(rest)


def test_an_outage_is_reported_without_stopping_the_other_sources(world, capsys):
    seed_errors(world.sentry)
    world.sentry.inject("GET", ISSUES, 503, times=100, headers={"Retry-After": "0"})
    code, _, err = run(capsys, world.config, "--apply", slack=world)
    assert code == 1  # a source failed: the digest is posted all the same
    assert "warning: Sentry GET /projects/kestrel/web/issues/: HTTP 503" in err
    msg = the_digest(world)
    assert (
        "⚠️ *Sentry could not be read*: Sentry GET /projects/kestrel/web/issues/: HTTP 503"
        in (msg["text"])
    )
    assert "Its errors are missing below." in msg["text"] and section(msg) == []
    assert "Sam Shop" in msg["text"]  # Slack's conversation, and GitHub's, are there
    assert "Slack: 1 open read · GitHub: 1 open read · Sentry: *failed*" in msg["text"]
    assert world.sentry.count("GET") == 4  # one try and three retries

    world.sentry.faults.clear()
    world.reset_counts()
    code, _, err = run(capsys, world.config, "--apply", slack=world)
    assert code == 0, err
    assert the_digest(world)["ts"] == msg["ts"] and world.count("POST", "/chat.update") == 1
    assert "|7 new unassigned>" in section(the_digest(world))[0]


def test_json_and_markdown_list_the_same_errors(world, capsys, tmp_path):
    made = seed_errors(world.sentry)
    code, out, _ = run(capsys, world.config, "--format", "json", slack=world)
    assert code == 0 and world.writes() == 0
    report = json.loads(out)["sentry"]
    assert (report["state"], report["new_unassigned"], report["complete"]) == ("ok", 7, True)
    assert [b["events_24h"] for b in report["busiest"]] == [40, 30, 20, 12, 9]
    assert report["busiest"][0]["id"] == made["Fresh spike"]
    assert report["busiest"][2]["title"] == "TypeError: <!channel> boom"  # JSON: as Sentry says
    summary = (tmp_path / "summary.md").read_text()
    assert "**Sentry errors** · [7 new unassigned](" in summary
    assert f"- [WEB-1: Fresh spike](https://kestrel.sentry.io/issues/{made['Fresh spike']}/)" in (
        summary
    )


def test_without_a_sentry_section_nothing_is_shown_or_asked(world, capsys, tmp_path):
    seed_errors(world.sentry)
    config = write_config(tmp_path)
    code, out, _ = run(capsys, config, "--format", "json", slack=world)
    assert code == 0 and "sentry" not in json.loads(out)
    code, out, _ = run(capsys, config, slack=world)
    assert code == 0 and "Sentry" not in out
    assert world.sentry.count() == 0


def test_without_a_token_sentry_is_not_configured_and_nothing_is_asked(world, capsys, monkeypatch):
    seed_errors(world.sentry)
    monkeypatch.delenv("SENTRY_TOKEN")
    code, out, _ = run(capsys, world.config, slack=world)
    assert code == 0
    assert "Sentry: not configured (SENTRY_TOKEN is not set)" in out
    assert "*Sentry errors*" not in out
    assert world.sentry.count() == 0


def test_a_bad_sentry_section_is_exit_2_before_any_request(world, capsys, tmp_path):
    config = write_config(tmp_path, "sentry: {organization: Kestrel!, projects: [web]}\n")
    code, _, err = run(capsys, config, "--apply", slack=world)
    assert code == 2 and "sentry.organization: 'Kestrel!'" in err
    assert world.count() == 0 and world.sentry.count() == 0 and world.github.count() == 0


def test_a_token_sentry_echoes_back_is_posted_and_printed_nowhere(world, capsys, tmp_path):
    token = world.sentry.token  # as a proxy or a self-hosted Sentry may echo the request
    echo = {"detail": f"bad request (Authorization: Bearer {token}; token was {token})"}
    world.sentry.inject("GET", ISSUES, 400, times=100, body=echo)
    code, out, err = run(capsys, world.config, "--apply", slack=world)
    assert code == 1 and "Sentry could not be read" in the_digest(world)["text"]
    posted = json.dumps(world.messages(CHANNEL))  # all the channel holds, threads too
    summary = (tmp_path / "summary.md").read_text()
    assert "bad request" in posted and "bad request" in err  # the message is still shown
    assert token not in posted + out + err + summary
