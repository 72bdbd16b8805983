"""The benchmark's code cannot rot: one small case end to end, the scenario, and the job fixes it
led to (flag_stale's Slack bound reads the threads quiet longest first)."""

from datetime import timedelta
from pathlib import Path

import pytest

from bench import cases, scenario, support
from bench.__main__ import headroom, table, working_day
from scripts.sources import conversations
from tests.stale_world import IDS, KIM, LEE, SAM, ago, report, run, say
from tests.test_flag_stale_slack import slack as slack  # the fixture

SMALL = scenario.Scale(people=12, teams=3, swaps=2, issues=100, slack_threads=100)


@pytest.mark.parametrize("v3", [False, True], ids=["layer-based", "shift-based"])
def test_a_small_sync_pagerduty_case_runs_at_the_minimum(tmp_path: Path, v3: bool):
    sc = scenario.rotation(SMALL)
    runs = cases.sync_pagerduty(sc, 0.0, tmp_path, v3=v3)
    assert [(r.state, r.exit_code) for r in runs] == [
        ("first run", 0), ("steady state", 0), ("one change", 0),
    ]  # fmt: skip
    assert all(r.ratio == 1.0 for r in runs), [(r.state, r.ratio) for r in runs]
    assert runs[1].writes == 0 and runs[0].writes > 0 and runs[2].writes > 0
    printed = table(runs, 0.0) + headroom(runs)
    job = "sync_pagerduty (v3)" if v3 else "sync_pagerduty"
    assert f"| {job} | steady state | 0 |" in printed
    assert "PagerDuty REST:" in printed and "of a minute's 960" in printed


def test_a_small_flag_stale_case_runs_at_the_minimum_with_and_without_the_state(tmp_path):
    sc = scenario.rotation(SMALL)
    small = scenario.Scale(people=12, teams=3, swaps=2, issues=100, slack_threads=100,
                           papercups_conversations=100)  # fmt: skip
    runs = support.flag_stale(scenario.rotation(small), 0.0, tmp_path)
    assert [(r.state, r.exit_code, r.ratio) for r in runs] == [
        ("first run", 0, 1.0), ("steady state", 0, 1.0), ("one change", 0, 1.0),
        ("steady state, no state file", 0, 1.0),
    ]  # fmt: skip
    first, steady, change, _ = runs
    assert steady.reads < first.reads and (steady.writes, change.writes) == (0, 2)
    assert change.free == 2 * small.repos  # GitHub's listings of changes: 304, as last time
    text, over = working_day(runs)
    assert "flag_stale's working day (24 runs" in text
    # At this scale the day holds; the 5% of a cold run is a figure for the full scale (Papercups
    # alone, which cannot be asked for changes, is 2 of the warm run's 14 requests here).
    assert not [line for line in over if "working day" in line]
    assert sc.scale == SMALL


def test_the_scenario_is_seeded_and_mixed_as_said():
    now = cases.NOW
    team = [f"UTEAM{i:04d}" for i in range(20)]
    one = scenario.slack_channel(SMALL, team, now)
    assert one == scenario.slack_channel(SMALL, team, now)
    assert one != scenario.slack_channel(SMALL, team, now, seed=8)
    kinds = [t.kind for t in one.threads]
    assert len(kinds) == 100 and kinds.count("answered") == 40 and kinds.count("follow_up") == 8
    assert all(now - scenario.WINDOW < p.at < now for t in one.threads for p in t.posts)
    assert all(
        [p.at for p in t.posts] == sorted(p.at for p in t.posts) for t in one.threads
    )  # replies come after their question
    issues = scenario.support_issues(SMALL, ["o/a", "o/b"], now)
    assert [i.kind for i in issues].count("backlog") == 56 and {i.repo for i in issues} == {
        "o/a", "o/b",
    }  # fmt: skip
    inbox = scenario.papercups_inbox(SMALL, ["agent@example.com"], now)
    assert len(inbox.chats) == SMALL.papercups_conversations
    assert inbox == scenario.papercups_inbox(SMALL, ["agent@example.com"], now)


def test_past_the_thread_bound_the_threads_quiet_longest_are_read(slack, capsys, monkeypatch):
    monkeypatch.setattr(conversations, "MAX_SLACK_THREADS", 1)
    threads = {}
    for name, (who, hours) in {"quiet": (LEE[0], 40), "recent": (SAM[0], 5)}.items():
        threads[name] = q = say(slack, ago(hours=hours), who, "help")
        say(slack, ago(hours=hours) + timedelta(minutes=10), IDS["ann"], "looking", q)
        say(slack, ago(hours=hours) + timedelta(minutes=20), who, "still broken", q)
    say(slack, ago(hours=1), KIM[0], "new question")  # settled by its parent: no read
    code, out, _ = run(capsys, slack.config, "--format", "json", slack=slack)
    found = {c["key"] for c in report(out)["conversations"]}
    (status,) = [s for s in report(out)["sources"] if s["source"] == "slack"]
    assert code == 0
    assert f"slack:{threads['quiet']['ts']}" in found
    assert f"slack:{threads['recent']['ts']}" not in found
    assert status["detail"] == "1 threads not read (per-run bound)"
    assert slack.count("POST", "/conversations.replies") == 1
