"""The pure handoff core, table-driven: escaping, the week, DST, swaps, reminders, groups, plan."""

import re
from datetime import datetime

import pytest

from scripts import post_handoff
from scripts.handoff import weekly
from scripts.rotation import load as rotation

# Hero weeks from Mon 1 Mar 2027: alice, carol, bob (Wed 17 Mar: dave), dave (the clocks go
# forward on Sun 28 Mar: 167 hours), alice, carol, bob, dave (Wed 21 Apr: bob), ...
# Names, team names and reasons carry what must never reach Slack as markup.
ROTATION_YAML = """\
timezone: Europe/London
handoff: {day: monday, time: "09:00"}
people:
  alice: {name: Alice Andersen, email: alice@example.com, team: core, slack: U0ALICE001,
          timezone: America/New_York}
  bob: {name: "Bob <!channel> Brennan", email: bob@example.com, team: core,
        timezone: Europe/Berlin}
  carol: {name: Carol Castillo, email: carol@example.com, team: apps}
  dave: {name: "Dave @here Dimitrov", email: dave@example.com, team: apps,
         timezone: Asia/Kolkata}
teams:
  core:
    name: Core
    secondary: {order: [alice, bob], since: {week: 2027-03-01, first: bob}}
  apps:
    name: "Apps & <Co>"
    secondary: {order: [carol, dave], since: {week: 2027-03-01, first: carol}}
support_hero:
  pagerduty_schedule: PHERO001
  order: [alice, carol, bob, dave]
  since: {week: 2027-03-01, first: alice}
swaps:
  - people: [bob, dave]
    days: [2027-03-17, 2027-04-21]
    reason: "dentist <https://evil.example|click> @channel"
links:
  rotation: https://github.com/example/support/blob/main/rotation.yaml
  pagerduty: https://example.pagerduty.com
slack:
  channel: C0SUPPORT1
  hero_group: support-hero
  team_groups: {core: core-oncall}
"""
IDS = {"alice": "U0ALICE001", "bob": "U0BOB00001", "carol": "U0CAROL001", "dave": "U0DAVE0001"}


@pytest.fixture(scope="module")
def rot():
    return rotation.load("rotation.yaml", text=ROTATION_YAML)[0]


@pytest.fixture(scope="module")
def cfg(rot):
    return weekly.settings(rot)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


# --- the week -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("now", "hero", "hero_others", "swaps", "next_hero"),
    [
        ("2027-03-01T09:00:00Z", "alice", [], 0, "carol"),
        ("2027-03-08T08:59:00Z", "alice", [], 0, "carol"),
        ("2027-03-15T10:00:00Z", "bob", [("2027-03-17T09:00:00+00:00", "dave")], 1, "dave"),
        ("2027-03-19T10:00:00Z", "bob", [("2027-03-17T09:00:00+00:00", "dave")], 1, "dave"),
        ("2027-03-22T10:00:00Z", "dave", [], 0, "alice"),
        ("2027-04-19T10:00:00Z", "dave", [("2027-04-21T08:00:00+00:00", "bob")], 1, "alice"),
    ],
)
def test_week(rot, now, hero, hero_others, swaps, next_hero):
    wk = weekly.week(rot, at(now))
    assert wk.hero.main == hero
    assert [(s.start.isoformat(), s.person) for s in wk.hero.others] == hero_others
    assert len(wk.swaps) == swaps
    assert wk.next_hero.main == next_hero


def test_no_week_before_the_rotation_starts(rot):
    assert weekly.week(rot, at("2027-02-28T12:00:00Z")) is None


@pytest.mark.parametrize(
    ("now", "hours", "zones"),
    [
        ("2027-03-15T10:00:00Z", None, None),
        ("2027-03-22T10:00:00Z", 167, "GMT → BST"),
        ("2027-10-25T10:00:00Z", 169, "BST → GMT"),
    ],
)
def test_dst_week_says_how_long_the_shift_is(rot, now, hours, zones):
    note = weekly.dst_note(rot, weekly.week(rot, at(now)))
    if hours is None:
        assert note is None
    else:
        assert f"this shift is {hours} hours" in note and zones in note
        assert "still at 09:00 local" in note


@pytest.mark.parametrize(
    ("handle", "instant", "text"),
    [
        ("alice", "2027-03-08T09:00:00Z", "04:00 EST their time (America/New_York)"),
        ("alice", "2027-03-15T09:00:00Z", "05:00 EDT their time (America/New_York)"),
        ("alice", "2027-03-29T08:00:00Z", "04:00 EDT their time (America/New_York)"),
        ("bob", "2027-03-22T09:00:00Z", "10:00 CET their time (Europe/Berlin)"),
        ("dave", "2027-03-22T09:00:00Z", "14:30 IST their time (Asia/Kolkata)"),
        ("carol", "2027-03-29T08:00:00Z", "09:00 BST their time (Europe/London)"),
        ("dave", "2027-03-21T20:00:00Z", "Mon 01:30 IST their time (Asia/Kolkata)"),
    ],
)
def test_local_handoff_time(rot, handle, instant, text):
    assert weekly.local_time(rot, handle, at(instant)) == text


# --- the message ----------------------------------------------------------------------------------

ALLOWED_MARKUP = re.compile(
    r"<(@U0[A-Z0-9]+|https://github\.com/example/support/blob/main/rotation\.yaml\|rotation\.yaml"
    r"|https://example\.pagerduty\.com/schedules/PHERO001\|PagerDuty schedule PHERO001)>"
)


def markup(text: str) -> list[str]:
    return re.findall(r"<[^>]*>", text)


def all_texts(msg: weekly.Message) -> list[str]:
    texts = [msg.text]
    for block in msg.blocks:
        texts += [block["text"]["text"]] if "text" in block else []
        texts += [e["text"] for e in block.get("elements", [])]
    return texts


@pytest.mark.parametrize(
    "now", ["2027-03-15T10:00:00Z", "2027-03-22T10:00:00Z", "2027-04-19T10:00:00Z"]
)
@pytest.mark.parametrize("ids", [IDS, {}], ids=["ids", "no-ids"])
def test_message_markup_is_only_ours(rot, cfg, now, ids):
    msg = weekly.message(rot, cfg, weekly.week(rot, at(now)), ids)
    for text in all_texts(msg):
        for token in markup(text):
            assert ALLOWED_MARKUP.fullmatch(token), token
        assert "@here" not in text and "@channel" not in text
    assert all(t.get("verbatim") for b in msg.blocks if "text" in b for t in [b["text"]]
               if t["type"] == "mrkdwn")  # fmt: skip


def test_swap_week_message(rot, cfg):
    msg = weekly.message(rot, cfg, weekly.week(rot, at("2027-03-15T10:00:00Z")), IDS)
    swaps = next(b for b in msg.blocks if b["block_id"] == "swaps")["text"]["text"]
    assert swaps == (
        "*Swaps this week*\n• Wed 17 Mar 09:00 GMT → Thu 18 Mar 09:00 GMT: <@U0DAVE0001> covers "
        "<@U0BOB00001> as Support Hero (dentist &lt;https://evil.example|click&gt; @\u2060channel)"
    )
    hero = next(b for b in msg.blocks if b["block_id"] == "hero")["text"]["text"]
    assert hero == (
        ":superhero: *Support Hero:* <@U0BOB00001> · from 10:00 CET their time (Europe/Berlin); "
        "Wed 17 Mar 09:00 GMT → Thu 18 Mar 09:00 GMT: <@U0DAVE0001>"
    )
    assert msg.metadata == {
        "event_type": "support_hero_handoff",
        "event_payload": {"shift_start": "2027-03-15T09:00:00+00:00", "digest": msg.digest},
    }


def test_dst_week_message(rot, cfg):
    msg = weekly.message(rot, cfg, weekly.week(rot, at("2027-03-22T10:00:00Z")), IDS)
    ids = [b["block_id"] for b in msg.blocks]
    assert ids == ["title", "shift", "hero", "secondaries", "dst", "open-conversations", "next",
                   "guide", "links"]  # fmt: skip
    assert "Mon 22 Mar 09:00 GMT → Mon 29 Mar 09:00 BST" in msg.text
    assert "this shift is 167 hours" in msg.text
    assert "*Next week:* <@U0ALICE001> takes over, 04:00 EDT their time" in msg.text
    assert "• *Apps &amp; &lt;Co&gt;:* <@U0DAVE0001> · from 14:30 IST their time" in msg.text


def test_message_without_swaps_or_dst_has_neither_block(rot, cfg):
    msg = weekly.message(rot, cfg, weekly.week(rot, at("2027-03-08T10:00:00Z")), IDS)
    assert not {"swaps", "dst"} & {b["block_id"] for b in msg.blocks}
    assert "Focus, then Subscriber, then Community" in msg.text
    assert "under 15 minutes great, under an hour okay, over a day too late" in msg.text


def test_digest_ignores_the_open_conversations_block(rot, cfg):
    wk = weekly.week(rot, at("2027-03-15T10:00:00Z"))
    counted = weekly.open_block({"Focus": 2, "Community": 5}, "3 h")
    plain, kept = weekly.message(rot, cfg, wk, IDS), weekly.message(rot, cfg, wk, IDS, keep=counted)
    assert plain.digest == kept.digest
    assert counted in kept.blocks and counted not in plain.blocks
    other = weekly.message(rot, cfg, wk, {**IDS, "bob": "U0BOB00002"})
    assert other.digest != plain.digest


# --- reminders ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("now", "due"),
    [
        ("2027-03-15T09:00:00Z", ("dave", "7d", "2027-03-22T09:00:00+00:00")),
        ("2027-03-21T08:59:00Z", ("dave", "7d", "2027-03-22T09:00:00+00:00")),
        ("2027-03-21T09:00:00Z", ("dave", "1d", "2027-03-22T09:00:00+00:00")),
        ("2027-03-22T08:59:00Z", ("dave", "1d", "2027-03-22T09:00:00+00:00")),
        ("2027-03-22T09:00:00Z", ("alice", "7d", "2027-03-29T08:00:00+00:00")),
        # the clocks have gone forward: "1 day before" is Sunday 09:00 BST, 08:00 UTC
        ("2027-03-28T07:59:00Z", ("alice", "7d", "2027-03-29T08:00:00+00:00")),
        ("2027-03-28T08:00:00Z", ("alice", "1d", "2027-03-29T08:00:00+00:00")),
    ],
)
def test_reminder_due(rot, now, due):
    r = weekly.reminder_due(rot, weekly.week(rot, at(now)), at(now))
    assert (r.person, r.kind, r.start.isoformat()) == due


def test_no_reminder_when_the_hero_stays(tmp_path):
    text = ROTATION_YAML.replace("order: [alice, carol, bob, dave]", "order: [alice]")
    text = text[: text.index("swaps:")] + text[text.index("links:") :]
    solo = rotation.load("rotation.yaml", text=text)[0]
    now = at("2027-03-15T10:00:00Z")
    assert weekly.reminder_due(solo, weekly.week(solo, now), now) is None


def test_reminder_message(rot, cfg):
    now = at("2027-03-21T10:00:00Z")
    msg = weekly.reminder_message(rot, cfg, weekly.reminder_due(rot, weekly.week(rot, now), now))
    assert msg.text.startswith(
        ":wave: Heads-up: your Support Hero week starts tomorrow, Mon 22 Mar at 14:30 IST your time"
    )
    assert msg.metadata == {
        "event_type": "support_hero_reminder",
        "event_payload": {"shift_start": "2027-03-22T09:00:00+00:00", "kind": "1d"},
    }


# --- desired Slack state and the plan -------------------------------------------------------------


BOB, DAVE = "Bob !channel Brennan", "Dave @\u2060here Dimitrov"  # as a topic shows them


@pytest.mark.parametrize(
    ("now", "groups", "hero"),
    [
        ("2027-03-15T10:00:00Z", {"support-hero": "bob", "core-oncall": "bob"}, BOB),
        ("2027-03-17T10:00:00Z", {"support-hero": "dave", "core-oncall": "bob"}, DAVE),
        ("2027-03-22T10:00:00Z", {"support-hero": "dave", "core-oncall": "alice"}, DAVE),
        (
            "2027-03-29T08:30:00Z",
            {"support-hero": "alice", "core-oncall": "alice"},
            "Alice Andersen",
        ),
    ],
)
def test_desired_groups_and_topic(rot, cfg, now, groups, hero):
    wanted = weekly.desired_groups(rot, cfg, at(now))
    assert {handle: person for handle, (_, person) in wanted.items()} == groups
    assert weekly.desired_topic(rot, cfg, at(now)) == f"Support Hero on call: {hero}"


@pytest.mark.parametrize(
    ("template", "topic"),
    [
        ("{hero} is the hero", f"{DAVE} is the hero"),
        ("Hero: {hero} · escalations: @core-oncall", f"Hero: {DAVE} · escalations: @core-oncall"),
        ("x" * 240 + " {hero}", "x" * 240 + " Dave @\u2060he"),
        (None, None),
    ],
)
def test_topic_template(rot, cfg, template, topic):
    custom = weekly.Settings(**{**cfg.__dict__, "topic": template})
    assert weekly.desired_topic(rot, custom, at("2027-03-22T10:00:00Z")) == topic


NOW = at("2027-03-15T10:00:00Z")


def settled(rot, cfg) -> weekly.Observed:
    """What Slack looks like once the plan for NOW has been applied."""
    wk = weekly.week(rot, NOW)
    msg = weekly.message(rot, cfg, wk, IDS)
    groups = {"support-hero": weekly.Group("S1", "support-hero", ("U0BOB00001",)),
              "core-oncall": weekly.Group("S2", "core-oncall", ("U0BOB00001",))}  # fmt: skip
    reminder = weekly.reminder_due(rot, wk, NOW)
    topic = weekly.desired_topic(rot, cfg, NOW)
    posted = weekly.Posted("1.000001", msg.digest)
    return weekly.Observed(posted, groups, topic, frozenset({reminder.key}), "D0DAVE")


def test_plan_is_empty_when_slack_matches(rot, cfg):
    assert weekly.plan(rot, cfg, NOW, IDS, settled(rot, cfg)) == []


@pytest.mark.parametrize(
    ("drift", "actions"),
    [
        ({"posted": None}, [("post", "#C0SUPPORT1")]),
        ({"posted": weekly.Posted("1.000001", "stale")}, [("update", "#C0SUPPORT1")]),
        ({"groups": {}}, [("create", "@support-hero"), ("create", "@core-oncall")]),
        ({"groups": {"support-hero": weekly.Group("S1", "support-hero",
                                                  ("U0ALICE001", "U0BOB00001")),
                     "core-oncall": weekly.Group("S2", "core-oncall", ("U0BOB00001",))}},
         [("update", "@support-hero")]),
        ({"topic": "something else"}, [("topic", "#C0SUPPORT1")]),
        ({"reminders_sent": frozenset()}, [("remind", "DM dave")]),
    ],
)  # fmt: skip
def test_plan_changes_only_what_differs(rot, cfg, drift, actions):
    seen = weekly.Observed(**{**settled(rot, cfg).__dict__, **drift})
    changes = weekly.plan(rot, cfg, NOW, IDS, seen)
    assert [(c.action, c.target) for c in changes] == actions


def test_update_keeps_the_ts_and_the_counted_block(rot, cfg):
    counted = weekly.open_block({"Focus": 1}, None)
    seen = weekly.Observed(
        **{**settled(rot, cfg).__dict__, "posted": weekly.Posted("1.000001", "stale", counted)}
    )
    (change,) = weekly.plan(rot, cfg, NOW, IDS, seen)
    assert change.data.ts == "1.000001" and counted in change.data.blocks
    assert change.data.metadata["event_payload"]["shift_start"] == "2027-03-15T09:00:00+00:00"


def test_plan_without_reading_slack_shows_the_desired_state(rot, cfg):
    changes = weekly.plan(rot, cfg, NOW, {"alice": "U0ALICE001"}, weekly.Observed())
    assert [(c.action, c.target) for c in changes] == [
        ("post", "#C0SUPPORT1"), ("set", "@support-hero"), ("set", "@core-oncall"),
        ("topic", "#C0SUPPORT1"), ("remind", "DM dave"),
    ]  # fmt: skip
    assert changes[3].summary == f"Support Hero on call: {BOB}"


def test_the_links_line_says_where_to_ask_for_a_swap(rot):
    page = "https://github.com/kestrel-example/support/actions/workflows/request.yml"
    with_form = weekly.settings(rot, request_url=page)
    assert weekly.links_line(rot, with_form).endswith(f"<{page}|ask for a swap or time off>")
    assert "ask for a swap" not in weekly.links_line(rot, weekly.settings(rot))
    env = {
        "GITHUB_SERVER_URL": "https://github.com",
        "GITHUB_REPOSITORY": "kestrel-example/support",
    }
    assert post_handoff.request_page(env) == page and post_handoff.request_page({}) is None
