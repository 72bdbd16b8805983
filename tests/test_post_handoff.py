"""post_handoff end to end: the real slack_sdk WebClient against the stateful Slack fake."""

import json
import re
import time
from datetime import datetime

import pytest
from slack_sdk.errors import SlackApiError

from scripts import post_handoff
from scripts.clients.slack import Slack, SlackError
from scripts.handoff import weekly
from scripts.rotation import load as rotation
from tests.test_handoff import ROTATION_YAML

CHANNEL = "C0SUPPORT1"
MONDAY = "2027-03-15T09:30:00Z"  # bob's week; dave covers Wednesday 17 March
# Everything in angle brackets that may reach Slack: user mentions and our two links.
OUR_MARKUP = re.compile(
    r"<(@U[A-Z0-9]+|https://github\.com/example/support/blob/main/rotation\.yaml\|rotation\.yaml"
    r"|https://example\.pagerduty\.com/schedules/PHERO001\|PagerDuty schedule PHERO001)>"
)


@pytest.fixture
def config(tmp_path):
    path = tmp_path / "rotation.yaml"
    path.write_text(ROTATION_YAML)
    return path


@pytest.fixture
def rot():
    return rotation.load("rotation.yaml", text=ROTATION_YAML)[0]


@pytest.fixture
def slack(slack_fake, rot, monkeypatch):
    """The fake, seeded with everyone in the rotation, and the job's environment pointing at it."""
    slack_fake.ids = slack_fake.seed_from_rotation(rot)
    for name, value in slack_fake.env().items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    return slack_fake


def run(capsys, fake, config, now, *argv):
    fake.now = datetime.fromisoformat(now.replace("Z", "+00:00"))
    code = post_handoff.main(["--config", str(config), "--now", now, *argv])
    out, err = capsys.readouterr()
    return code, out, err


def handoffs(fake) -> list[dict]:
    return [
        m
        for m in fake.messages(CHANNEL)
        if (m.get("metadata") or {}).get("event_type") == weekly.EVENT_HANDOFF
    ]


def members(fake, handle) -> list[str]:
    return fake.group(handle)["users"]


def topic(fake) -> str:
    return fake.channels[CHANNEL]["topic"]["value"]


def reminders(fake, handle) -> list[str]:
    dm = fake.dm_messages(fake.ids[handle])
    return [m["metadata"]["event_payload"]["kind"] for m in dm if "metadata" in m]


# --- the weekly flow ----------------------------------------------------------------------------


def test_first_post_then_a_rerun_writes_nothing(slack, config, capsys):
    code, out, _ = run(capsys, slack, config, MONDAY, "--apply")
    assert code == 0, out
    (msg,) = handoffs(slack)
    assert msg["metadata"]["event_payload"]["shift_start"] == "2027-03-15T09:00:00+00:00"
    assert f"*Support Hero:* <@{slack.ids['bob']}>" in msg["text"]
    assert members(slack, "support-hero") == [slack.ids["bob"]]
    assert members(slack, "core-oncall") == [slack.ids["bob"]]
    assert topic(slack) == "Support Hero on call: Bob !channel Brennan"
    assert reminders(slack, "dave") == ["7d"]
    # 3 look-ups (alice has a Slack ID), history, groups, channel info, DM open + DM history;
    # post, 2 x (create group + set its member), topic, reminder
    assert (slack.reads(), slack.writes()) == (8, 7)

    slack.reset_counts()
    code, out, _ = run(capsys, slack, config, "2027-03-15T10:30:00Z", "--apply")
    assert code == 0 and "No changes: everything already matches." in out
    assert (slack.reads(), slack.writes()) == (8, 0)
    assert len(handoffs(slack)) == 1


def test_a_rerun_in_the_same_shift_updates_in_place(slack, config, capsys):
    assert run(capsys, slack, config, MONDAY, "--apply")[0] == 0
    posted = handoffs(slack)[0]["ts"]
    config.write_text(ROTATION_YAML.replace("name: Core\n", "name: Core Platform\n"))
    slack.reset_counts()
    code, out, _ = run(capsys, slack, config, "2027-03-17T10:00:00Z", "--apply")
    assert code == 0, out
    (msg,) = handoffs(slack)
    assert msg["ts"] == posted and "edited" in msg
    assert "• *Core Platform:* " in msg["text"]
    assert slack.count("POST", "/chat.update") == 1
    assert slack.count("POST", "/chat.postMessage") == 0  # the reminder went on Monday
    # Wednesday: dave covers bob as hero, so the hero group and the topic follow him
    assert members(slack, "support-hero") == [slack.ids["dave"]]
    assert topic(slack) == "Support Hero on call: Dave @\u2060here Dimitrov"


def test_the_next_week_posts_anew(slack, config, capsys):
    assert run(capsys, slack, config, MONDAY, "--apply")[0] == 0
    first = dict(handoffs(slack)[0])
    assert run(capsys, slack, config, "2027-03-22T09:05:00Z", "--apply")[0] == 0
    old, new = handoffs(slack)
    assert old == first
    assert new["metadata"]["event_payload"]["shift_start"] == "2027-03-22T09:00:00+00:00"
    assert members(slack, "support-hero") == [slack.ids["dave"]]
    assert members(slack, "core-oncall") == [slack.ids["alice"]]


def test_a_dst_week(slack, config, capsys):
    code, out, _ = run(capsys, slack, config, "2027-03-22T09:05:00Z", "--apply")
    assert code == 0, out
    (msg,) = handoffs(slack)
    assert "Mon 22 Mar 09:00 GMT → Mon 29 Mar 09:00 BST (Europe/London)" in msg["text"]
    assert (
        "Clocks change this week in Europe/London (GMT → BST): this shift is 167 hours"
        in (msg["text"])
    )
    assert f"<@{slack.ids['dave']}> · from 14:30 IST their time (Asia/Kolkata)" in msg["text"]
    assert "*Next week:* <@U0ALICE001> takes over, 04:00 EDT their time" in msg["text"]
    (dm,) = slack.dm_messages("U0ALICE001")
    assert "starts in 7 days, Mon 29 Mar at 04:00 EDT your time" in dm["text"]


def test_a_swap_week_and_nothing_reaches_slack_as_markup(slack, config, capsys):
    code, out, _ = run(capsys, slack, config, "2027-03-17T10:00:00Z", "--apply")
    assert code == 0, out
    (msg,) = handoffs(slack)
    bob, dave = slack.ids["bob"], slack.ids["dave"]
    assert (
        f"• Wed 17 Mar 09:00 GMT → Thu 18 Mar 09:00 GMT: <@{dave}> covers <@{bob}> as Support "
        "Hero (dentist &lt;https://evil.example|click&gt; @\u2060channel)"
    ) in msg["text"]
    assert members(slack, "support-hero") == [dave]
    assert members(slack, "core-oncall") == [bob]
    texts = [topic(slack)]
    for ch in slack.channels.values():
        for m in ch["messages"]:
            texts.append(m["text"])
            texts += [json.dumps(b, ensure_ascii=False) for b in m.get("blocks", [])]
    for text in texts:
        assert all(OUR_MARKUP.fullmatch(t) for t in re.findall(r"<[^>]*>", text)), text
        assert "@here" not in text and "@channel" not in text


def test_reminders_go_once_each(slack, config, capsys):
    for now in (MONDAY, "2027-03-16T09:30:00Z", "2027-03-21T09:30:00Z", "2027-03-21T18:00:00Z"):
        assert run(capsys, slack, config, now, "--apply")[0] == 0
    assert reminders(slack, "dave") == ["7d", "1d"]
    assert reminders(slack, "alice") == []


def test_a_person_missing_from_slack_is_named_and_the_rest_still_moves(
    slack_fake, rot, config, capsys, monkeypatch
):
    """carol (apps' secondary, hero next week) has no Slack account: the handoff still goes out
    naming her by name, groups and topic move, and the run fails (exit 1) saying what to fix."""
    slack_fake.ids = slack_fake.seed_from_rotation(rot, missing=["carol"])
    for name, value in slack_fake.env().items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    code, _, err = run(capsys, slack_fake, config, MONDAY, "--apply")
    assert code == 1
    assert "Carol Castillo <carol@example.com> is not in Slack" in err
    assert re.search(r"rotation\.yaml:\d+:1: people\.carol: ", err)
    assert "add their Slack user ID as `slack: U...`" in err
    (msg,) = handoffs(slack_fake)
    assert "Carol Castillo" in msg["text"] and slack_fake.ids["carol"] not in msg["text"]
    assert members(slack_fake, "support-hero") == [slack_fake.ids["bob"]]
    assert members(slack_fake, "core-oncall") == [slack_fake.ids["bob"]]
    assert topic(slack_fake) == "Support Hero on call: Bob !channel Brennan"
    slack_fake.reset_counts()
    code, _, err = run(capsys, slack_fake, config, MONDAY, "--apply")
    assert (code, slack_fake.writes()) == (1, 0) and "not in Slack" in err


def test_a_disabled_user_group_is_enabled_not_created_again(slack, config, capsys):
    """usergroups.list hides a disabled group; creating its handle again fails every day."""
    assert run(capsys, slack, config, MONDAY, "--apply")[0] == 0
    group = slack.group("support-hero")
    slack.disable_usergroup(group["id"])
    later = "2027-03-22T09:30:00Z"  # dave's week: the group must move to him
    code, out, err = run(capsys, slack, config, later, "--apply")
    assert code == 0, err
    assert "disabled" in out
    assert [g["id"] for g in slack.usergroups.values() if g["handle"] == "support-hero"] == [
        group["id"]
    ]
    assert not slack.group("support-hero")["date_delete"]
    assert members(slack, "support-hero") == [slack.ids["dave"]]
    slack.reset_counts()
    assert run(capsys, slack, config, later, "--apply")[0] == 0 and slack.writes() == 0


@pytest.mark.parametrize(
    "fault",
    [
        {"status": 500, "after": True},  # posted, then the answer was lost
        {"status": 503},  # not posted at all
    ],
)
def test_a_lost_answer_to_a_post_never_posts_twice(slack, config, capsys, fault):
    """A 5xx may come after Slack posted: look for the message before posting again."""
    slack.inject("POST", "/chat.postMessage", times=2, **fault)  # the handoff and the reminder
    code, _, err = run(capsys, slack, config, MONDAY, "--apply")
    assert code == 0, err
    assert len(handoffs(slack)) == 1
    assert reminders(slack, "dave") == ["7d"]
    slack.reset_counts()
    assert run(capsys, slack, config, MONDAY, "--apply")[0] == 0 and slack.writes() == 0


def test_a_post_whose_answer_timed_out_is_found_not_sent_again(slack):
    slack.inject("POST", "/chat.postMessage", delay=3, after=True)  # posted; answer too late
    client = Slack(slack.token, timeout=1)
    meta = {"event_type": "support_hero_test", "event_payload": {"n": 1}}
    msg = client.post(CHANNEL, "hello", metadata=meta)
    (posted,) = slack.messages(CHANNEL)
    assert msg.ts == posted["ts"]
    slack.inject("POST", "/chat.postMessage", 500, after=True)
    with pytest.raises(SlackError, match="may have been made"):
        client.post(CHANNEL, "no metadata: nothing to look for, so no second try")
    assert len(slack.messages(CHANNEL)) == 2


# --- keeping what others wrote ------------------------------------------------------------------


def test_the_counts_another_job_wrote_survive(slack, config, capsys):
    assert run(capsys, slack, config, MONDAY, "--apply")[0] == 0
    msg = handoffs(slack)[0]
    counted = weekly.open_block({"Focus": 1, "Subscriber": 0, "Community": 4}, "2 h 10 min")
    blocks = [counted if b["block_id"] == weekly.OPEN_BLOCK_ID else b for b in msg["blocks"]]
    Slack(slack.token).update(CHANNEL, msg["ts"], msg["text"], blocks)  # as flag_stale would
    slack.reset_counts()
    assert run(capsys, slack, config, "2027-03-15T11:00:00Z", "--apply")[0] == 0
    assert slack.writes() == 0
    config.write_text(ROTATION_YAML.replace("name: Core\n", "name: Core Platform\n"))
    assert run(capsys, slack, config, "2027-03-15T12:00:00Z", "--apply")[0] == 0
    (msg,) = handoffs(slack)
    assert counted in msg["blocks"] and "Core Platform" in msg["text"]


def test_finds_its_message_beyond_the_first_page(slack, config, capsys):
    assert run(capsys, slack, config, MONDAY, "--apply")[0] == 0
    for i in range(250):
        slack.add_message(CHANNEL, slack.ids["carol"], f"customer question {i}")
    config.write_text(ROTATION_YAML.replace("name: Core\n", "name: Core Platform\n"))
    slack.reset_counts()
    assert run(capsys, slack, config, "2027-03-15T12:00:00Z", "--apply")[0] == 0
    assert len(handoffs(slack)) == 1
    assert slack.count("POST", "/conversations.history") == 1 + 2  # the DM, then two pages
    assert slack.count("POST", "/chat.update") == 1


def test_a_group_with_other_members_is_trimmed(slack, config, capsys):
    slack.add_usergroup("support-hero", "Support Hero", [slack.ids["alice"], slack.ids["carol"]])
    code, out, _ = run(capsys, slack, config, MONDAY, "--apply")
    assert code == 0
    assert "only member: bob (was: alice, carol)" in out
    assert members(slack, "support-hero") == [slack.ids["bob"]]
    assert slack.count("POST", "/usergroups.create") == 1  # core-oncall only


# --- dry runs, tokens and bad config ------------------------------------------------------------


def test_a_dry_run_reads_and_shows_text_and_block_kit(slack, config, capsys):
    code, out, _ = run(capsys, slack, config, MONDAY)
    assert code == 0 and slack.writes() == 0 and slack.reads() == 8
    assert "  post    handoff for the week of Mon 15 Mar 2027 (new shift, " in out
    assert "Message (plain-text fallback):\nSupport Hero handoff · week of Mon 15 Mar 2027" in out
    blocks = json.loads(out.split("Message (Block Kit JSON):\n", 1)[1])
    assert blocks[0] == {
        "type": "header",
        "block_id": "title",
        "text": {"type": "plain_text", "text": "Support Hero handoff · week of Mon 15 Mar 2027"},
    }


def test_json_output(slack, config, capsys):
    code, out, _ = run(capsys, slack, config, MONDAY, "--format", "json")
    data = json.loads(out)
    assert code == 0
    assert [c["action"] for c in data["changes"]] == [
        "post", "create", "create", "topic", "remind",
    ]  # fmt: skip
    assert data["message"]["metadata"]["event_type"] == "support_hero_handoff"


def test_a_dry_run_without_a_token_reads_nothing(slack, config, capsys, monkeypatch):
    monkeypatch.delenv("SLACK_BOT_TOKEN")
    code, out, err = run(capsys, slack, config, MONDAY)
    assert code == 0 and slack.count() == 0
    assert err.startswith("SLACK_BOT_TOKEN is not set: Slack was not read")
    assert "set     only member: bob" in out


def test_before_the_rotation_starts_there_is_nothing_to_do(slack, config, capsys):
    code, out, err = run(
        capsys, slack, config, "2027-02-20T10:00:00Z", "--apply", "--format", "json"
    )
    assert code == 0 and json.loads(out) == {"changes": []} and "nothing to post" in err
    assert slack.writes() == 0


def test_apply_without_a_token_exits_2(slack, config, capsys, monkeypatch):
    monkeypatch.delenv("SLACK_BOT_TOKEN")
    code, _, err = run(capsys, slack, config, MONDAY, "--apply")
    assert code == 2 and "SLACK_BOT_TOKEN" in err and slack.count() == 0


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (("team_groups: {core: core-oncall}", "team_groups: {nope: x}"),
         "slack.team_groups.nope: 'nope' is not a team with a secondary rotation"),
        (("  channel: C0SUPPORT1\n", ""), "slack: missing required key 'channel'"),
        (("  channel: C0SUPPORT1", "  channel: '#support'"), "slack.channel: "),
    ],
)  # fmt: skip
def test_bad_config_makes_no_request(slack, config, capsys, edit, message):
    config.write_text(ROTATION_YAML.replace(*edit))
    code, _, err = run(capsys, slack, config, MONDAY, "--apply")
    assert code == 2 and slack.count() == 0
    assert message in err and "nothing was written" in err


@pytest.mark.parametrize(
    ("fix", "error"),
    [
        (
            lambda fake: fake.channels.pop(CHANNEL),
            "conversations.history failed: channel_not_found",
        ),
        (lambda fake: setattr(fake, "token", "xoxb-revoked"), "failed: invalid_auth"),
    ],
)
def test_slack_setup_problems_exit_2_before_any_write(slack, config, capsys, fix, error):
    fix(slack)
    code, _, err = run(capsys, slack, config, MONDAY, "--apply")
    assert code == 2 and slack.writes() == 0
    assert f"{error}; nothing was written" in err
    assert slack.token not in err and "xoxb-fake" not in err


# --- rate limits and server errors --------------------------------------------------------------


def test_rate_limits_are_waited_out(slack, config, capsys):
    slack.inject("POST", "/chat.postMessage", 429, times=2, headers={"Retry-After": "0"})
    slack.inject("POST", "/users.lookupByEmail", 429, headers={"Retry-After": "0"})
    code, _, err = run(capsys, slack, config, MONDAY, "--apply")
    assert code == 0, err
    assert len(handoffs(slack)) == 1 and reminders(slack, "dave") == ["7d"]
    assert sum(c.fault for c in slack.calls) == 3


def test_retries_are_bounded(slack, config, capsys):
    slack.inject("POST", "/conversations.setTopic", 429, times=10, headers={"Retry-After": "0"})
    code, _, err = run(capsys, slack, config, MONDAY, "--apply")
    assert code == 1 and "conversations.setTopic failed: ratelimited" in err
    assert slack.count("POST", "/conversations.setTopic") == 4  # the request and 3 retries
    assert len(handoffs(slack)) == 1  # the other changes went through


def test_a_long_retry_after_is_not_waited_for(slack, config, capsys):
    slack.inject("POST", "/conversations.setTopic", 429, times=10, headers={"Retry-After": "600"})
    started = time.monotonic()
    code, _, _ = run(capsys, slack, config, MONDAY, "--apply")
    assert code == 1 and time.monotonic() - started < 5
    assert slack.count("POST", "/conversations.setTopic") == 1


def test_server_errors_are_retried(slack, config, capsys):
    slack.inject("POST", "/conversations.history", 503)
    slack.inject("POST", "/usergroups.list", 502)
    code, _, err = run(capsys, slack, config, MONDAY, "--apply")
    assert code == 0, err
    assert len(handoffs(slack)) == 1


# --- the adapter the stale-conversation and escalation jobs reuse -------------------------------


def test_threads_replies_and_permalinks(slack):
    client = Slack(slack.token)
    question = slack.add_message(CHANNEL, slack.ids["carol"], "the export is broken")
    client.post(CHANNEL, "looking into it", thread_ts=question["ts"])
    slack.add_message(CHANNEL, slack.ids["carol"], "thanks!", thread_ts=question["ts"])
    (parent,) = [m for m in client.history(CHANNEL) if m.ts == question["ts"]]
    assert parent.reply_count == 2
    assert parent.reply_users == ("U0HEROBOT1", slack.ids["carol"])  # in order of first reply
    thread = list(client.replies(CHANNEL, question["ts"]))
    assert [m.text for m in thread] == ["the export is broken", "looking into it", "thanks!"]
    assert parent.latest_reply == thread[-1].ts
    link = client.permalink(CHANNEL, question["ts"])
    assert link.endswith(f"/archives/{CHANNEL}/p{question['ts'].replace('.', '')}")


def test_the_fake_checks_requests_against_the_spec(slack):
    client = Slack(slack.token).client
    with pytest.raises(SlackApiError) as raised:
        client.chat_postMessage(channel=CHANNEL, text="hi", colour="red")
    assert raised.value.response["error"] == "invalid_arguments"
    with pytest.raises(SlackApiError):
        client.chat_postMessage(
            channel=CHANNEL, text="x", blocks=[{"type": "section", "text": "x"}]
        )
    found, slack.violations[:] = list(slack.violations), []  # seen here: the test may end clean
    assert "undeclared" in found[0] and "'colour'" in found[0]
    assert "invalid Block Kit" in found[1]
    assert slack.messages(CHANNEL) == []


# --- Block Kit limits at any rotation size ------------------------------------------------------


def big_rotation(teams: int, swaps: int, name_chars: int = 120, reason_chars: int = 400) -> str:
    """`teams` teams of two with long names; `swaps` single-day team swaps in the first week."""
    lines = ["timezone: Europe/London", 'handoff: {day: monday, time: "09:00"}', "people:"]
    for t in range(teams):
        for p in "ab":
            name = f"{p.upper()}{t:03d} " + "Longname-" * (name_chars // 9)
            lines.append(f"  p{t:03d}{p}: {{name: {name}, email: p{t:03d}{p}@example.com, "
                         f"team: t{t:03d}}}")  # fmt: skip
    lines.append("teams:")
    for t in range(teams):
        lines += [f"  t{t:03d}:", f"    name: Team {t:03d} " + "with a long name " * 4,
                  f"    secondary: {{order: [p{t:03d}a, p{t:03d}b], "
                  "since: {week: 2027-03-01, first: p%03da}}" % t]  # fmt: skip
    lines += ["support_hero:", f"  order: [{', '.join(f'p{t:03d}a' for t in range(teams))}]",
              "  since: {week: 2027-03-01, first: p000a}", "swaps:" if swaps else ""]  # fmt: skip
    reason = "because " + "a very long reason " * (reason_chars // 19)
    for t in range(1, swaps + 1):
        lines += [f"  - people: [p{t:03d}a, p{t:03d}b]", "    days: [2027-03-03, 2027-03-10]",
                  f"    schedule: t{t:03d}", f"    reason: {reason}"]  # fmt: skip
    lines += ["slack:", "  channel: C0SUPPORT1"]
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize(("teams", "swaps"), [(100, 0), (100, 99), (34, 20)])
def test_the_handoff_stays_within_block_kit_limits_at_any_size(
    slack_fake, tmp_path, monkeypatch, capsys, teams, swaps
):
    """Over Slack's limits the whole message is refused (invalid_blocks): no handoff at all."""
    path = tmp_path / "rotation.yaml"
    path.write_text(big_rotation(teams, swaps))
    rot = rotation.load(path)[0]
    slack_fake.ids = slack_fake.seed_from_rotation(rot)
    for name, value in slack_fake.env().items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    now = "2027-03-01T10:00:00Z"
    code, _, err = run(capsys, slack_fake, path, now, "--apply")
    assert code == 0, err
    (msg,) = handoffs(slack_fake)  # the fake refuses (and the test fails on) any broken limit
    text = "\n".join(b["text"]["text"] for b in msg["blocks"] if b["type"] == "section")
    assert len(msg["blocks"]) <= 50
    assert sum(f"Team {t:03d}" in text for t in range(teams)) == teams
    shown = text.count("a very long reason")
    more = re.search(r"…and (\d+) more", text.split("*Swaps this week*")[-1])
    assert shown // (400 // 19) + (int(more[1]) if more else 0) == swaps
    slack_fake.reset_counts()
    assert run(capsys, slack_fake, path, now, "--apply")[0] == 0 and slack_fake.writes() == 0


def test_a_lost_answer_to_a_group_create_makes_one_group(slack, config, capsys):
    slack.inject("POST", "/usergroups.create", 500, after=True)  # made, the answer lost
    code, _, err = run(capsys, slack, config, MONDAY, "--apply")
    assert code == 0, err
    assert [g["handle"] for g in slack.usergroups.values()].count("support-hero") == 1
    assert members(slack, "support-hero") == [slack.ids["bob"]]
