"""flag_stale's Slack source: the thread rules as a table, then end to end (slack_sdk, the fake)."""

import math
import sqlite3
from datetime import timedelta

import pytest

from fakes.slack import BOT_USER
from fakes.world import World
from scripts.clients.slack import Message
from scripts.markup.slack_ts import ts_of
from scripts.sources import conversations
from scripts.stale import clock
from scripts.stale.clock import CUSTOMER, US
from scripts.stale.slack_threads import DECIDED, FETCH, SKIP, People, read_head
from tests.stale_world import (
    CHANNEL,
    DIRECTORY,
    IDS,
    KIM,
    LEE,
    SAM,
    add_customers,
    ago,
    by_key,
    report,
    run,
    say,
    write_config,
)

# --- the rules: what a parent message settles by itself -----------------------------------------

WHO = People(team=frozenset({"UTEAM1", "UTEAM2"}), bots=frozenset({"UBOT1"}))
T0 = ts_of(ago(hours=5))
T1 = ts_of(ago(hours=1))


def parent(user="UCUST1", replies=(), repliers=None, **kw) -> Message:
    """A parent message; `repliers` (reply_users_count) may exceed the users listed."""
    users = tuple(dict.fromkeys(replies))
    return Message(T0, "q", user=user, reply_count=len(replies), reply_users=users,
                   reply_users_count=repliers or len(users),
                   latest_reply=T1 if replies else None, **kw)  # fmt: skip


HEADS = [
    # (case, parent, verdict, authors of the messages it settles)
    ("a question nobody answered", parent(), DECIDED, [CUSTOMER]),
    ("only customers and bots replied", parent(replies=("UCUST2", "UBOT1", "UCUST1")), DECIDED,
     [CUSTOMER]),
    ("we replied, the customer did not write again", parent(replies=("UTEAM1", "UBOT1")), DECIDED,
     [CUSTOMER, US]),
    ("we and the customer both replied", parent(replies=("UTEAM1", "UCUST1")), FETCH, []),
    ("we and another customer replied", parent(replies=("UCUST2", "UTEAM2")), FETCH, []),
    ("our announcement, only we replied", parent("UTEAM1", ("UTEAM2",)), SKIP, []),
    ("our announcement, nobody replied", parent("UTEAM1"), SKIP, []),
    ("a customer joined a team member's thread", parent("UTEAM1", ("UCUST1",)), FETCH, []),
    ("a customer answered a bot's form post",
     parent("UBOT1", ("UCUST1",), bot_id="B0FORMS01", subtype="bot_message"), FETCH, []),
    ("closed with a check mark", parent(reactions=("white_check_mark",)), SKIP, []),
    ("someone joined the channel", parent(subtype="channel_join"), SKIP, []),
    ("our own digest", parent(BOT_USER, event_type="support_hero_stale_digest"), SKIP, []),
    ("reply_users lists only some", parent(replies=("UTEAM1",), repliers=7), FETCH, []),
    ("a reply sent also to the channel",
     parent(subtype="thread_broadcast", thread_ts=ts_of(ago(hours=9))), SKIP, []),
    ("a bot (B...) replied to our announcement", parent("UTEAM1", ("B0HOOK001",)), SKIP, []),
]  # fmt: skip


@pytest.mark.parametrize(("case", "msg", "verdict", "authors"), HEADS, ids=[h[0] for h in HEADS])
def test_what_the_parent_settles(case, msg, verdict, authors):
    head = read_head(msg, WHO)
    assert (head.verdict, [m.author for m in head.messages]) == (verdict, authors)
    if verdict == DECIDED and US in authors:
        assert head.messages[-1].at == ago(hours=1)  # our last reply: latest_reply


# --- end to end -------------------------------------------------------------------------------


@pytest.fixture
def slack(slack_fake, monkeypatch, tmp_path):
    """The Slack fake with the team and three customers; only Slack configured in the job."""
    from scripts.rotation import load as rotation

    config = write_config(tmp_path)
    slack_fake.seed_from_rotation(rotation.load(config)[0])
    add_customers(slack_fake, SAM, LEE, KIM)
    slack_fake.add_user("U0AUTO001", "auto@bots.example", "Auto Responder", bot=True)
    World(slack=slack_fake).point(monkeypatch)  # Slack alone: no other service is asked
    monkeypatch.delenv("CUSTOMERS_FILE", raising=False)
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(tmp_path / "summary.md"))
    slack_fake.config = config
    return slack_fake


def seed_threads(slack) -> dict[str, dict]:
    """One thread of each kind; returns their parents by name."""
    sam, lee, kim, bo, cy = SAM[0], LEE[0], KIM[0], IDS["bo"], IDS["cy"]
    t = {}
    t["old"] = say(slack, ago(days=20), sam, "asked long ago")  # before the window: not read
    t["unanswered"] = say(slack, ago(hours=6), sam, "Export fails <!channel>")
    t["auto"] = say(slack, ago(hours=5, minutes=50), lee, "Can I get an invoice?")
    say(slack, ago(hours=5, minutes=49), "U0AUTO001", "We got it!", t["auto"], bot_id="B0AUTO001")
    t["answered"] = say(slack, ago(hours=5), lee, "Is SSO there?")
    say(slack, ago(hours=4, minutes=50), IDS["ann"], "Yes", t["answered"])
    t["follow_up"] = say(slack, ago(hours=4), kim, "Charts are empty")
    say(slack, ago(hours=3, minutes=30), bo, "Looking", t["follow_up"])  # bo: team, by email
    say(slack, ago(hours=3), kim, "Any news?", t["follow_up"])
    t["edited"] = say(slack, ago(hours=2), sam, "Typo in quesiton",
                      edited={"user": sam, "ts": ts_of(ago(minutes=5))})  # fmt: skip
    t["announcement"] = say(slack, ago(hours=1, minutes=30), cy, "Release at 5pm")
    t["joined"] = say(slack, ago(hours=1), IDS["ann"], "Known issue: exports slow")
    say(slack, ago(minutes=50), lee, "Same here", t["joined"])
    t["closed"] = say(
        slack,
        ago(minutes=40),
        kim,
        "Solved it myself",
        reactions=[{"name": "white_check_mark", "users": [kim], "count": 1}],
    )
    t["team_question"] = say(slack, ago(minutes=30), bo, "Anyone seen 502s?")  # bo asks: us
    say(slack, ago(minutes=20), IDS["ann"], "Not me", t["team_question"])
    return t


def key(msg: dict) -> str:
    return f"slack:{msg['ts']}"


def test_each_kind_of_thread_at_the_minimum_of_requests(slack, capsys):
    t = seed_threads(slack)
    code, out, _ = run(capsys, slack.config, "--format", "json", slack=slack)
    found = by_key(out)
    assert code == 0
    assert set(found) == {key(t[k]) for k in ("unanswered", "auto", "answered", "follow_up",
                                               "edited", "joined")}  # fmt: skip
    unanswered, auto, answered = (found[key(t[k])] for k in ("unanswered", "auto", "answered"))
    follow_up, edited, joined = (found[key(t[k])] for k in ("follow_up", "edited", "joined"))
    assert (unanswered["waiting_since"], unanswered["follow_up"]) == (ago(hours=6).isoformat(),
                                                                      False)  # fmt: skip
    assert auto["waiting_since"] == ago(hours=5, minutes=50).isoformat()  # a bot is no reply
    assert (answered["level"], answered["last_reply_at"]) == (None, ago(hours=4, minutes=50)
                                                              .isoformat())  # fmt: skip
    assert (follow_up["follow_up"], follow_up["waiting_since"]) == (True, ago(hours=3).isoformat())
    assert edited["waiting_since"] == ago(hours=2).isoformat()  # its first sending counts
    assert (joined["customer"], joined["waiting_since"]) == ("Lee Lin", ago(minutes=50).isoformat())
    archive = f"https://kestrel-example.slack.com/archives/{CHANNEL}/p"
    assert unanswered["url"] == archive + t["unanswered"]["ts"].replace(".", "")
    # auth.test; one history page; users.info for each person not known by ID who wrote in the
    # window (sam, lee, kim, bo, cy and the auto-responder); replies of the two threads the
    # parent leaves open (follow_up: kim and bo both replied; joined: lee joined ann's thread).
    assert slack.count("POST", "/auth.test") == 1
    assert slack.count("POST", "/conversations.history") == 1
    assert slack.count("POST", "/users.info") == 6
    assert slack.count("POST", "/conversations.replies") == 2
    assert slack.count() == 10 and slack.writes() == 0
    assert not any(c.path == "/users.lookupByEmail" for c in slack.calls)  # bo wrote: known


def test_a_second_run_reads_only_history_with_the_state(slack, capsys):
    """The state beside rotation.yaml (.cache/) spares every replies and users.info request
    the parents show to be unchanged; the digest stays the same."""
    seed_threads(slack)
    _, first, _ = run(capsys, slack.config, "--format", "json", slack=slack)
    slack.reset_counts()
    code, second, _ = run(capsys, slack.config, "--format", "json", slack=slack)
    assert (code, by_key(second)) == (0, by_key(first))
    assert slack.count("POST", "/auth.test") == slack.count("POST", "/conversations.history") == 1
    assert slack.count() == 2  # no conversations.replies, no users.info


def test_a_new_reply_costs_its_thread_and_a_new_person_their_profile(slack, capsys):
    t = seed_threads(slack)
    run(capsys, slack.config, "--format", "json", slack=slack)
    slack.add_user("U0NEW0001", "new@shop.example", "Nia New")
    say(slack, ago(minutes=10), SAM[0], "Still failing", t["follow_up"])  # the 2nd customer
    say(slack, ago(minutes=5), "U0NEW0001", "Where do I file a bug?")
    slack.reset_counts()
    code, out, _ = run(capsys, slack.config, "--format", "json", slack=slack)
    assert code == 0
    assert by_key(out)[key(t["follow_up"])]["waiting_since"] == ago(hours=3).isoformat()
    assert by_key(out)[f"slack:{slack.channels[CHANNEL]['messages'][-1]['ts']}"]["customer"] == (
        "Nia New"
    )
    assert slack.count("POST", "/conversations.replies") == 1  # follow_up's reply_count moved
    assert slack.count("POST", "/users.info") == 1  # only Nia: the others are known
    assert slack.count() == 4


@pytest.mark.parametrize(
    "damage",
    [
        '{"stamp": 1}',  # not what a thread entry is
        '{"stamp": [1, null], "messages": [{"ts": "1.0", "shoe_size": 44}]}',  # a foreign field
        '{"stamp": [1, null], "messages": [{"ts": 1.0}]}',  # a number where a ts is text
        '{"id": "U1", "is_bot": "yes"}',
        "[]",
        "null",
    ],
)
def test_damaged_entries_are_read_afresh(slack, capsys, tmp_path, damage):
    seed_threads(slack)
    _, first, _ = run(capsys, slack.config, "--format", "json", slack=slack)
    state = tmp_path / ".cache" / "support-hero" / "flag_stale.sqlite"
    with sqlite3.connect(state) as db:
        db.execute("UPDATE entries SET value = ?", (damage,))
    db.close()
    slack.reset_counts()
    code, second, err = run(capsys, slack.config, "--format", "json", slack=slack)
    assert (code, by_key(second)) == (0, by_key(first))
    assert slack.count("POST", "/conversations.replies") == 2  # as without a state
    assert slack.count("POST", "/users.info") == 6
    warned = 0 if damage == "null" else 1  # null is a missing entry; else one line, not one each
    assert err.count("warning: the state file") == warned


def test_a_run_cut_off_by_an_outage_is_finished_by_the_next(slack, capsys):
    seed_threads(slack)
    slack.inject("POST", "/conversations.replies", 500, times=4)  # a try and its 3 retries
    code, _, _ = run(capsys, slack.config, "--format", "json", slack=slack)
    assert code == 1  # the Slack source failed; what it read before is kept
    slack.reset_counts()
    _, warm, _ = run(capsys, slack.config, "--format", "json", slack=slack)
    assert slack.count("POST", "/users.info") == 0  # the people it had looked up were kept
    _, cold, _ = run(capsys, slack.config, "--format", "json", "--state", "", slack=slack)
    assert by_key(warm) == by_key(cold) and len(by_key(warm)) == 6


def test_no_state_when_asked_for_none(slack, capsys, tmp_path):
    seed_threads(slack)
    run(capsys, slack.config, "--state", "", slack=slack)
    slack.reset_counts()
    run(capsys, slack.config, "--state", "", slack=slack)
    assert slack.count("POST", "/conversations.replies") == 2
    assert not (tmp_path / ".cache").exists()


def test_customer_names_are_escaped_and_the_hero_mentioned(slack, capsys):
    say(slack, ago(days=2), KIM[0], "Still broken")  # Community: late after a day
    say(slack, ago(days=1), IDS["bo"], "FYI: deploy tonight")  # bo writes: known by email
    code, out, _ = run(capsys, slack.config, slack=slack)
    assert code == 0
    assert "hero: <@UBO000000>" in out
    assert "|Kim &lt;Kay&gt; @\u2060here (kim@kim.example)> · waiting 2d 0h" in out
    assert slack.count("POST", "/users.lookupByEmail") == 0


def test_the_hero_is_looked_up_by_email_when_not_seen(slack, capsys):
    code, out, _ = run(capsys, slack.config, slack=slack)
    assert (code, slack.count("POST", "/users.lookupByEmail")) == (0, 1)
    assert "hero: <@UBO000000>" in out


def test_tiers_from_the_directory_by_email_domain(slack, capsys, monkeypatch):
    monkeypatch.setenv("CUSTOMERS_YAML", DIRECTORY)
    t = seed_threads(slack)
    _, out, _ = run(capsys, slack.config, "--format", "json", slack=slack)
    found = by_key(out)
    assert found[key(t["unanswered"])]["tier"] == "focus"  # shop.example: Enterprise
    assert found[key(t["auto"])]["tier"] == "subscriber"  # lee-labs.example: Cloud, $100
    assert found[key(t["follow_up"])]["tier"] == "community"  # kim.example: not a customer
    assert found[key(t["unanswered"])]["level"] == "very_late"  # Focus: 6h > 4h
    assert slack.count("POST", "/users.info") == 6  # the directory costs no request


def test_history_is_read_in_pages_of_999(slack, capsys):
    for i in range(1500):  # chatter by the team: read, never a conversation
        say(slack, ago(hours=30) + timedelta(seconds=i), IDS["ann"], f"note {i}")
    q = say(slack, ago(hours=2), SAM[0], "help")
    code, out, _ = run(capsys, slack.config, "--format", "json", slack=slack)
    assert (code, list(by_key(out))) == (0, [key(q)])
    assert slack.count("POST", "/conversations.history") == math.ceil(1501 / 999) == 2
    assert slack.count("POST", "/users.info") == 1  # only sam: ann has a Slack ID


def test_the_per_run_bound_is_said_in_the_digest(slack, capsys, monkeypatch):
    monkeypatch.setattr(conversations, "MAX_SLACK_HISTORY_PAGES", 1)
    say(slack, ago(hours=30), SAM[0], "older")
    for i in range(999):
        say(slack, ago(hours=20) + timedelta(seconds=i), IDS["ann"], f"note {i}")
    code, out, _ = run(capsys, slack.config, "--format", "json", slack=slack)
    (status,) = [s for s in report(out)["sources"] if s["source"] == "slack"]
    assert (code, status["conversations"]) == (0, 0)
    assert status["detail"] == "history read back to 2026-12-01 19:00 UTC only (per-run bound)"
    assert slack.count("POST", "/conversations.history") == 1


def test_rate_limit_honours_retry_after(slack, capsys):
    t = seed_threads(slack)
    slack.inject("POST", "/conversations.replies", 429, headers={"Retry-After": "1"})
    code, out, _ = run(capsys, slack.config, "--format", "json", slack=slack)
    assert code == 0 and key(t["follow_up"]) in by_key(out)
    replies = [c for c in slack.calls if c.path == "/conversations.replies"]
    assert [c.status for c in replies] == [429, 200, 200]
    assert replies[1].time - replies[0].time >= 0.9


def test_an_outage_fails_the_source_not_the_job(slack, capsys):
    seed_threads(slack)
    # Rate limited on the first try and 3 retries (5xx: GitHub's test; slack_sdk backs off 3.5 s)
    slack.inject("POST", "/conversations.history", 429, times=4, headers={"Retry-After": "0"})
    code, out, _ = run(capsys, slack.config, slack=slack)
    assert code == 1
    assert "⚠️ *Slack could not be read*: Slack conversations.history failed: ratelimited" in out
    assert "Slack: *failed*" in out and "Message (Block Kit JSON)" in out


def test_without_a_token_slack_is_not_configured_and_asked_nothing(slack, capsys, monkeypatch):
    monkeypatch.delenv("SLACK_BOT_TOKEN")
    code, out, _ = run(capsys, slack.config, slack=slack)
    assert code == 0 and "Slack: not configured (SLACK_BOT_TOKEN is not set)" in out
    assert slack.count() == 0


def test_bad_config_asks_slack_nothing(slack, capsys, tmp_path):
    config = write_config(tmp_path, "stale:\n  thresholds:\n    focus: {late: 9h}\n")
    code, out, err = run(capsys, config, "--apply", slack=slack)
    assert (code, out, slack.count()) == (2, "", 0) and "thresholds must grow" in err


def test_lookback_covers_twice_the_slowest_target():
    assert clock.lookback(clock.settings({})) == timedelta(days=14)  # 2 x close_after_days
    hours = {"working_hours": {"enabled": True}, "close_after_days": 2}
    assert clock.lookback(clock.settings(hours)) == timedelta(days=16)  # 3 working days: 8d


def test_a_reply_sent_also_to_the_channel_is_a_reply_not_a_conversation(slack, capsys):
    """history lists a thread_broadcast beside the top-level messages (specs/README.md)."""
    q = say(slack, ago(hours=3), SAM[0], "Export fails")
    say(slack, ago(hours=2), IDS["ann"], "Looking into it", q, broadcast=True)
    say(slack, ago(hours=1), SAM[0], "Any news?", q, broadcast=True)
    code, out, _ = run(capsys, slack.config, "--format", "json", slack=slack)
    found = by_key(out)
    assert (code, list(found)) == (0, [key(q)])
    assert found[key(q)]["follow_up"] is True
    assert found[key(q)]["waiting_since"] == ago(hours=1).isoformat()


def test_bot_ids_in_reply_users_cost_no_lookup(slack, capsys):
    """reply_users may hold a bot's B... ID, which users.info cannot look up."""
    q = say(slack, ago(hours=3), SAM[0], "Export fails")
    say(slack, ago(hours=2, minutes=59), None, "Ticket #12 opened", q, bot_id="B0HOOK001")
    note = say(slack, ago(hours=2), IDS["ann"], "Deploy at 5")
    say(slack, ago(hours=1), None, "Deployed", note, bot_id="B0HOOK001")
    code, out, _ = run(capsys, slack.config, "--format", "json", slack=slack)
    found = by_key(out)
    assert (code, list(found)) == (0, [key(q)])
    assert found[key(q)]["waiting_since"] == ago(hours=3).isoformat()  # a bot is no reply
    assert slack.count("POST", "/users.info") == 1  # sam only
    assert slack.count("POST", "/conversations.replies") == 0
