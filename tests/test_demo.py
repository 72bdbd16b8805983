"""The demo: every job runs against the seeded fakes and exits as it should, with no token given."""

import contextlib
import io
import os
import re

import pytest

from demo import sections, support, tour, world
from fakes import github, papercups, sentry, slack
from scripts.rotation import load as rotation

JOBS = [
    "check_rotation",
    "pr_comment",
    "sync_pagerduty",
    "post_handoff",
    "label_issues",
    "sync_customer_tiers",
    "flag_stale",
    "escalate",
    "publish_calendar",
]


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    """One run of the whole demo (its jobs are subprocesses: a few seconds), shared."""
    capture = pytest.MonkeyPatch()
    # A real token in the shell must not reach any job: the demo gives only the fakes'.
    capture.setenv("GITHUB_TOKEN", "ghp_real-looking-token-from-the-shell")
    try:
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            site = str(tmp_path_factory.mktemp("site"))
            code = tour.main(["--site", site])
        return code, out.getvalue().replace(site, "SITE")  # shown as the demo's own default is
    finally:
        capture.undo()


def test_every_section_appears_and_every_job_exits_as_expected(demo_run):
    code, out = demo_run
    assert code == 0, out[-3000:]
    rot = rotation.load(tour.ROOT / "rotation.yaml")[0]
    wanted = sections.sections(rot, 1, True)
    for section in wanted:
        assert f"\n{section.title}\n" in out
    for job in JOBS:
        assert f"[{job} exited 0]" in out, job
    assert "(expected" not in out and "skipped" not in out and "spec violation" not in out
    assert out.rstrip().endswith("Every job did what it should against the fakes.")


def test_what_each_job_would_do_is_shown(demo_run):
    _, out = demo_run
    assert "Coming 6 weeks (rotation.yaml)" in out  # check_rotation
    assert "People affected: @" in out and "Posted comment" in out  # pr_comment
    assert "by support-hero-bot." in out and "has 1 comment(s)" in out  # ...once
    after_apply = out.split("again: nothing to do", 1)[1]
    assert after_apply.index("No changes: everything already matches.") < 400  # sync_pagerduty
    assert "Support Hero handoff" in out and "@support-hero: " in out  # post_handoff
    assert "-> tier: focus" in out  # label_issues
    assert "Mode: metadata only" in out and "tier: focus (was: none)" in out  # sync_customer_tiers
    assert "Support conversations waiting on us" in out  # flag_stale
    assert "Escalation (dry run)" in out  # escalate
    assert "Block Kit JSON): left out" in out
    assert re.search(r"Open \S+/index\.html to look at it\.", out)  # publish_calendar


def test_no_token_is_shown_and_none_is_left_in_the_environment(demo_run):
    _, out = demo_run
    secrets = [github.TOKEN, slack.TOKEN, papercups.DEFAULT_KEY, "fake-pagerduty-token"]
    secrets.append(sentry.DEFAULT_TOKEN)
    secrets.append("ghp_real-looking-token-from-the-shell")
    assert not [s for s in secrets if s in out]
    assert not [k for k, v in os.environ.items() if v in secrets]


@pytest.mark.parametrize(
    ("tail", "shown"),
    [
        (None, "a\nb\nc"),
        (1, "(the plan, as in the dry run above)\n...\nc"),
        (0, "(the plan, as in the dry run above)"),
        (5, "a\nb\nc"),
    ],
)
def test_trimmed(tail, shown):
    assert tour.trimmed("a\nb\nc\n", tail, verbose=False) == shown


def test_block_kit_json_is_left_out_unless_verbose():
    output = 'text\nMessage (Block Kit JSON):\n[\n  {"type": "x"}\n]\nafter\n'
    assert tour.trimmed(output, None, False) == (
        "text\nMessage (Block Kit JSON): left out (python -m demo --verbose shows it)\nafter"
    )
    assert tour.trimmed(output, None, True) == output.rstrip()


def test_the_digest_posted_shows_every_source_beside_the_sentry_errors(demo_run):
    _, out = demo_run
    posted = out.split("Slack fake: the digest in C0SUPPORT1 now reads\n", 1)[1].split("\n\n")[0]
    every = r"Sources: Papercups: \d+ open read · Slack: 3 open read · GitHub: \d+ open read · "
    assert re.search(every + "Sentry: 4 new unassigned read", posted)  # none failed
    # the support channel's threads: the Focus customer waits, the follow-up is marked
    assert "🟠 *Focus* · Slack · <" in posted and "Rita Globex (rita@globex.example)>" in posted
    assert "Peter Initech (peter@initech.example)> · waiting 1h 30m · follow-up" in posted
    assert "Art Vandelay" not in posted  # answered
    sentry_lines = posted.split("*Sentry errors* · ", 1)[1].splitlines()
    assert "|4 new unassigned> since the handoff" in sentry_lines[0]
    assert len([x for x in sentry_lines if x.startswith("  • <https://kestrel.sentry.io/")]) == 4
    assert "/tmp/" not in out  # temporary files by the names the demo shows
    assert "post    stale digest: 0 very late, 3 late in total" in out


@pytest.mark.parametrize(
    ("config", "with_sentry"),
    [
        (  # commented out, as in the example: switched on, on the same lines
            "a: 1\n# sentry:   # optional\n#   organization: acme  # slug\n#   projects: [web]\n"
            "# a comment\nb: 2\n",
            "a: 1\nsentry:   # optional\n  organization: acme  # slug\n  projects: [web]\n"
            "# a comment\nb: 2\n",
        ),
        ("a: 1\n", "a: 1\n\n" + support.DEFAULT_SENTRY),  # none: a small one added
    ],
)
def test_the_demo_switches_a_sentry_section_on(config, with_sentry):
    assert support.with_sentry(config) == with_sentry


def test_a_job_that_has_not_landed_is_skipped_with_a_note(capsys):
    section = sections.Section("x: later", "", (sections.Run("x"),), needs="scripts.not_landed")
    paths = {sections.CONFIG: "rotation.yaml", sections.PR_CONFIG: "pr.yaml"}
    results = tour.tour([section], None, paths, None)
    out = capsys.readouterr().out
    assert "skipped: scripts.not_landed does not import (ModuleNotFoundError" in out
    assert [r.code for r in results] == [None] and tour.summary(results, []) == 0


def test_the_pull_requests_edit_is_one_more_valid_swap():
    rot = rotation.load(tour.ROOT / "rotation.yaml")[0]
    text = sections.pull_request_edit(rot, tour.ROOT / "rotation.yaml", tour.NOW)
    edited = rotation.load("pr.yaml", text=text)[0]
    assert len(edited.swaps) == len(rot.swaps) + 1
    assert min(edited.swaps[-1].dates) > tour.NOW.date()


def test_a_job_gets_nothing_secret_from_the_shell(monkeypatch):
    shell = {"SLACK_BOT_TOKEN": "xoxb-real", "PAGERDUTY_API_URL": "https://api.pagerduty.com"}
    shell |= {"CUSTOMERS_YAML": "customers: []", "PAGERDUTY_ROUTING_KEYS": "{}", "HOME": "/h"}
    for name, value in shell.items():
        monkeypatch.setenv(name, value)
    env = world.World("customers.yaml").job_env("customers")
    assert env["HOME"] == "/h" and env["CUSTOMERS_FILE"] == "customers.yaml"
    assert not (set(shell) - {"HOME"}) & set(env)
