"""The stale clock, table-driven: replies, follow-ups, tiers, working hours, DST, closing."""

from datetime import UTC, datetime, time, timedelta

import pytest

from scripts.clients import papercups as pc
from scripts.rotation import load as rotation
from scripts.sources import conversations
from scripts.stale import clock
from scripts.stale.business_time import WorkingHours, working_time
from scripts.stale.clock import BOT, CUSTOMER, US, Conversation, Message

T0 = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)  # a Tuesday
MIN = timedelta(minutes=1)


def at(minutes: float) -> datetime:
    return T0 + minutes * MIN


def msg(author: str, minutes: float, *, private=False, edited: float | None = None) -> Message:
    return Message(author, at(minutes), private, at(edited) if edited is not None else None)


def c(m, **kw):
    return msg(CUSTOMER, m, **kw)


def us(m, **kw):
    return msg(US, m, **kw)


def bot(m):
    return msg(BOT, m)


def note(m):
    return msg(US, m, private=True)


# --- who waits since when ---------------------------------------------------------------------

WAITING = [
    # (case, messages, waiting since (minutes after T0) or None, follow-up)
    ("nothing said", [], None, False),
    ("a question", [c(0)], 0, False),
    ("two questions: the oldest counts", [c(0), c(5)], 0, False),
    ("answered", [c(0), us(10)], None, False),
    ("answered at the same instant", [c(0), us(0)], None, False),
    ("asked again after our reply: a follow-up", [c(0), us(10), c(20), c(30)], 20, True),
    ("first reply and next reply alike", [c(0), us(10), c(20), us(25), c(40)], 40, True),
    ("a bot message is no reply", [c(0), bot(1)], 0, False),
    ("a private note is no reply", [c(0), note(5)], 0, False),
    ("a note after our reply changes nothing", [c(0), us(5), note(9), c(10)], 10, True),
    ("we wrote first, no answer yet", [us(0)], None, False),
    ("we wrote first, then they asked", [us(0), c(5)], 5, True),
    ("only a bot", [c(0), bot(1), bot(2)], 0, False),
    ("their edit after our reply does not reopen", [c(0, edited=30), us(10)], None, False),
    ("our edited reply counts when first sent", [c(0), us(10, edited=60), c(20)], 20, True),
    ("an edit does not move a question later", [us(-5), c(0, edited=50)], 0, True),
    ("messages in any order", [c(20), us(10), c(0)], 20, True),
]


@pytest.mark.parametrize(
    ("case", "messages", "since", "follow_up"), WAITING, ids=[w[0] for w in WAITING]
)
def test_waiting_since_and_follow_ups(case, messages, since, follow_up):
    assert clock.waiting_since(messages) == (at(since) if since is not None else None)
    assert clock.is_follow_up(messages) is follow_up


# --- tiers and thresholds ---------------------------------------------------------------------

LEVELS = [
    # (tier, minutes waited, level) with the defaults, around the clock
    ("focus", 10, "great"),
    ("focus", 15, "ok"),
    ("focus", 30, "ok"),
    ("focus", 31, "late"),
    ("focus", 241, "very_late"),
    ("subscriber", 14, "great"),
    ("subscriber", 45, "ok"),
    ("subscriber", 61, "late"),
    ("subscriber", 24 * 60, "late"),
    ("subscriber", 24 * 60 + 1, "very_late"),
    ("community", 45, "great"),
    ("community", 23 * 60, "ok"),
    ("community", 2 * 24 * 60, "late"),
    ("community", 3 * 24 * 60 + 1, "very_late"),
    (None, 2 * 24 * 60, "late"),  # unknown: the default tier, community
    ("platinum", 2 * 24 * 60, "late"),  # not a tier we know: the default too
]


@pytest.mark.parametrize(("tier", "waited", "level"), LEVELS)
def test_lateness_by_tier(tier, waited, level):
    conv = Conversation("papercups", "1", "Ada", tier=tier, messages=(c(0),))
    found = clock.assess(conv, clock.settings({}), at(waited))
    expected_tier = tier if tier in clock.TIERS else "community"
    assert (found.level, found.waited, found.tier) == (level, waited * MIN, expected_tier)


def test_configured_thresholds_replace_only_what_they_name():
    cfg = clock.settings({"thresholds": {"focus": {"late": "1h"}}, "default_tier": "subscriber"})
    assert cfg.thresholds["focus"]["late"].length(cfg.day()) == timedelta(hours=1)
    assert cfg.thresholds["focus"]["very_late"].length(cfg.day()) == timedelta(hours=4)
    unknown = Conversation("papercups", "1", messages=(c(0),))
    assert clock.assess(unknown, cfg, at(61)).tier == "subscriber"


SPANS = [("30m", 0, 30), ("4h", 0, 240), ("1d", 1, 0), ("2d4h", 2, 240), ("1h30m", 0, 90)]


@pytest.mark.parametrize(("text", "days", "minutes"), SPANS)
def test_durations(text, days, minutes):
    assert clock.parse_span(text) == clock.Span(days, minutes * MIN)


def test_a_day_is_a_working_day_when_working_hours_count():
    cfg = clock.settings({"working_hours": {"enabled": True, "start": "08:00", "end": "16:00"}})
    assert cfg.day() == timedelta(hours=8)
    assert clock.settings({}).day() == timedelta(days=1)


PROBLEMS = [
    ({"thresholds": {"focus": {"late": "5h"}}}, ("stale", "thresholds", "focus")),
    ({"thresholds": {"community": {"great": "2d"}}}, ("stale", "thresholds", "community")),
    ({"working_hours": {"start": "18:00", "end": "09:00"}}, ("stale", "working_hours", "end")),
    # 1d is 8.5 working hours, so a 10h `late` for subscribers passes `very_late`
    (
        {"working_hours": {"enabled": True}, "thresholds": {"subscriber": {"late": "10h"}}},
        ("stale", "thresholds", "subscriber"),
    ),
]


@pytest.mark.parametrize(("raw", "path"), PROBLEMS)
def test_settings_problems_name_their_place(raw, path):
    assert [p for p, _ in clock.settings_problems(raw)] == [path]


def test_default_settings_have_no_problems():
    assert clock.settings_problems({}) == []
    every_default = {
        "thresholds": clock.DEFAULT_THRESHOLDS,
        "close_after_days": 7,
        "working_hours": clock.DEFAULT_WORKING_HOURS | {"enabled": True},
    }
    assert clock.settings_problems(every_default) == []


# --- working hours ----------------------------------------------------------------------------

LONDON = WorkingHours("Europe/London")  # Mon-Fri 09:00-17:30
ALL_DAY = WorkingHours("Europe/London", frozenset(range(7)), time(0, 0), time(23, 59))


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


# fmt: off
WORKING = [
    # (case, hours, from, to, working time, real time)
    ("inside one day", LONDON, "2026-12-01T10:00Z", "2026-12-01T12:30Z", "2:30", "2:30"),
    ("across a night", LONDON, "2026-12-01T17:00Z", "2026-12-02T10:00Z", "1:30", "17:00"),
    ("across a weekend", LONDON, "2026-11-27T17:00Z", "2026-11-30T10:00Z", "1:30", "65:00"),
    ("all on a weekend", LONDON, "2026-11-28T10:00Z", "2026-11-29T18:00Z", "0:00", "32:00"),
    # the clocks go back on Sun 25 Oct 2026: Fri 17:00 BST is 16:00 UTC, Mon 10:00 GMT 10:00 UTC
    ("a weekend with the clocks going back", LONDON,
     "2026-10-23T17:00+01:00", "2026-10-26T10:00Z", "1:30", "66:00"),
    # the clocks go forward on Sun 29 Mar 2026: that Sunday's 00:00-23:59 lasts 22:59
    ("a working day one hour short", ALL_DAY,
     "2026-03-28T12:00Z", "2026-03-30T12:00+01:00", "46:58", "47:00"),
    # New York: Fri 12:00-17:30 counts, Mon 05:00 is before the day starts
    ("the same weekend in New York", WorkingHours("America/New_York"),
     "2026-11-27T17:00Z", "2026-11-30T10:00Z", "5:30", "65:00"),
    ("backwards", LONDON, "2026-12-01T12:00Z", "2026-12-01T10:00Z", "0:00", "0:00"),
]
# fmt: on


def hm(text: str) -> timedelta:
    h, m = text.split(":")
    return timedelta(hours=int(h), minutes=int(m))


@pytest.mark.parametrize(
    ("case", "hours", "start", "end", "working", "real"), WORKING, ids=[w[0] for w in WORKING]
)
def test_working_time(case, hours, start, end, working, real):
    assert working_time(hours, utc(start), utc(end)) == hm(working)
    conv = Conversation(
        "papercups", "1", tier="subscriber", messages=(Message(CUSTOMER, utc(start)),)
    )
    found = clock.assess(conv, clock.settings({}), utc(end), hours)
    assert (found.waited, found.elapsed) == (hm(working), max(hm(real), timedelta(0)))


ROTATION = """\
timezone: Europe/London
handoff: {day: monday, time: "09:00"}
people:
  ann: {name: Ann, email: ann@example.com, team: core, timezone: America/New_York}
  ben: {name: Ben, email: ben@example.com, team: core, slack: U0BEN0001}
teams:
  core: {name: Core}
support_hero:
  order: [ann, ben]
  since: {week: 2026-11-30, first: ann}
"""


@pytest.fixture(scope="module")
def rot():
    return rotation.load("rotation.yaml", text=ROTATION)[0]


HEROES = [
    # (now, hero, zone of the working hours): ann has a zone, ben takes the rotation's
    ("2026-12-02T12:00+00:00", "ann", "America/New_York"),
    ("2026-12-09T12:00+00:00", "ben", "Europe/London"),
    ("2026-11-20T12:00+00:00", None, "Europe/London"),  # before the rotation starts
]


@pytest.mark.parametrize(("now", "hero", "zone"), HEROES)
def test_working_hours_are_the_current_heros(rot, now, hero, zone):
    cfg = clock.settings({"working_hours": {"enabled": True, "days": ["monday"]}})
    assert clock.current_hero(rot, utc(now)) == hero
    assert clock.hero_hours(rot, cfg, utc(now)) == WorkingHours(
        zone, frozenset({0}), time(9), time(17, 30)
    )
    assert clock.hero_hours(rot, clock.settings({}), utc(now)) is None


# --- closing and ordering ---------------------------------------------------------------------

CLOSING = [
    # (case, messages, now in days after T0, close_after_days, suggested)
    ("we replied 8 days ago", [c(0), us(10)], 8, 7, True),
    ("we replied 6 days ago", [c(0), us(10)], 6, 7, False),
    ("exactly 7 days", [c(0), us(0)], 7, 7, True),
    ("configured: 3 days", [c(0), us(10)], 4, 3, True),
    ("they are waiting: never", [c(0), us(10), c(20)], 30, 7, False),
    ("only a bot answered", [c(0), bot(10)], 30, 7, False),
    ("only a note", [c(0), note(10)], 30, 7, False),
    ("we wrote first, no answer", [us(0)], 8, 7, True),
    ("nothing said", [], 30, 7, False),
]


@pytest.mark.parametrize(
    ("case", "messages", "days", "after", "suggested"), CLOSING, ids=[x[0] for x in CLOSING]
)
def test_close_suggestions(case, messages, days, after, suggested):
    cfg = clock.settings({"close_after_days": after})
    conv = Conversation("papercups", "1", messages=tuple(messages))
    found = clock.assess(conv, cfg, T0 + timedelta(days=days))
    assert found.close_suggested is suggested
    assert found.level is None or not suggested


def test_digest_order_is_tier_then_lateness_then_longest_wait():
    def conv(key, tier, minutes_ago):
        return Conversation("papercups", key, tier=tier, messages=(c(-minutes_ago),))

    convs = [
        conv("community-very-late", "community", 5 * 24 * 60),
        conv("focus-ok", "focus", 20),
        conv("subscriber-late", "subscriber", 90),
        conv("focus-very-late", "focus", 300),
        conv("subscriber-late-longer", "subscriber", 120),
        conv("focus-late", "focus", 45),
        Conversation("papercups", "answered", tier="focus", messages=(c(-50), us(-40))),
    ]
    found = clock.assess_all(convs, clock.settings({}), T0)
    assert [f.conversation.id for f in found] == [
        "focus-very-late",
        "focus-late",
        "focus-ok",
        "answered",
        "subscriber-late-longer",
        "subscriber-late",
        "community-very-late",
    ]


# --- nudges -----------------------------------------------------------------------------------


def waiting(minutes: int, tier="subscriber", since=0) -> clock.Finding:
    conv = Conversation("slack", "C1/1.0", tier=tier, messages=(c(since),))
    return clock.assess(conv, clock.settings({}), at(since + minutes))


def key(level: str, since=0) -> str:
    return clock.nudge_key("slack:C1/1.0", at(since), level)


NUDGES = [
    # (case, minutes waited, already nudged, nudge due)
    ("within target", 30, set(), None),
    ("late, not yet nudged", 90, set(), "late"),
    ("late, nudged", 90, {"late"}, None),
    ("very late, nudged when late", 25 * 60, {"late"}, "very_late"),
    ("very late, nudged", 25 * 60, {"late", "very_late"}, None),
    ("both crossed at once: one nudge, the higher", 25 * 60, set(), "very_late"),
    ("very late nudged covers late", 90, {"very_late"}, None),
]


@pytest.mark.parametrize(("case", "minutes", "nudged", "due"), NUDGES, ids=[n[0] for n in NUDGES])
def test_nudges_due(case, minutes, nudged, due):
    found = clock.nudges_due([waiting(minutes)], {key(lvl) for lvl in nudged})
    assert [n.level for n in found] == ([due] if due else [])
    assert all(n.key == key(n.level) for n in found)


def test_a_new_wait_is_nudged_afresh():
    """After our reply the customer asks again: the earlier wait's nudges do not count."""
    later = waiting(90, since=600)
    assert [n.key for n in clock.nudges_due([later], {key("late", since=0)})] == [
        key("late", since=600)
    ]


# --- who is "us": Papercups agents, never a customer who happens to be on the team ----------


def papercups_conv(*messages: pc.Message, email="ann@example.com") -> pc.Conversation:
    customer = pc.Customer("cust-1", "Ann", email, metadata={"tier": "focus"})
    return pc.Conversation("conv-1", "open", T0, T0, customer=customer, messages=messages)


def test_a_team_member_writing_as_a_customer_is_a_customer(rot):
    """Ann (in rotation.yaml) asks through the chat widget: she waits like any customer."""
    raw = papercups_conv(pc.Message("m1", at(0), "customer", customer_id="cust-1"))
    conv = conversations.papercups_conversation(raw, "https://chat.example/", clock.Team.of(rot))
    found = clock.assess(conv, clock.settings({}), at(45))
    assert (conv.customer_is_team, found.level, found.tier) == (True, "late", "focus")
    assert conv.url == "https://chat.example/conversations/all?cid=conv-1"


def test_an_agent_reply_is_us_and_a_bot_or_note_is_not(rot):
    raw = papercups_conv(
        pc.Message("m1", at(0), "customer", customer_id="cust-1"),
        pc.Message("m2", at(1), "bot"),
        pc.Message("m3", at(2), "agent", private=True, user_id=7),
        email="someone@else.example",
    )
    conv = conversations.papercups_conversation(raw, "https://chat.example", clock.Team.of(rot))
    assert [m.author for m in conv.messages] == [CUSTOMER, BOT, US]
    assert clock.waiting_since(conv.messages) == at(0) and not conv.customer_is_team
    answered = papercups_conv(*raw.messages, pc.Message("m4", at(3), "agent", user_id=7))
    conv = conversations.papercups_conversation(
        answered, "https://chat.example", clock.Team.of(rot)
    )
    assert clock.waiting_since(conv.messages) is None


def test_tier_from_metadata_else_the_directory(rot):
    raw = papercups_conv(pc.Message("m1", at(0), "customer", customer_id="cust-1"))
    no_meta = pc.Conversation(
        "c2", "open", T0, T0, customer=pc.Customer("x", "Zed", "z@big.example")
    )
    team = clock.Team.of(rot)
    directory = {"z@big.example": "subscriber"}.get
    assert conversations.papercups_conversation(raw, "https://x", team, directory).tier == "focus"
    assert conversations.papercups_conversation(no_meta, "https://x", team, directory).tier == (
        "subscriber"
    )
    assert conversations.papercups_conversation(no_meta, "https://x", team).tier is None
