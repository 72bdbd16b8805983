"""flag_stale --apply end to end: slack_sdk, PyGithub and requests against all three fakes."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

import fakes.world
from fakes.github import GitHubFake
from fakes.papercups import PapercupsFake
from fakes.slack import SlackFake
from scripts import post_handoff
from scripts.handoff import weekly
from scripts.rotation import load as rotation
from scripts.stale import clock as stale
from scripts.stale import plan
from scripts.stale.digest import EVENT_TYPE as DIGEST
from scripts.stale.digest import Digest, Hero
from scripts.stale.slack_threads import NUDGE_EVENT
from tests.stale_world import (
    DIRECTORY,
    IDS,
    NOW,
    REPO,
    SAM,
    add_customers,
    ago,
    ours,
    run,
    say,
    top_level,
    write_config,
)

MONDAY = datetime(2026, 11, 30, 9, 5, tzinfo=UTC)  # bo's shift began at 09:00 (London = UTC)


class World(fakes.world.World):
    """The three services, seeded with one late Focus conversation each (30 minutes is late)."""

    def __init__(self, slack: SlackFake, github: GitHubFake, papercups: PapercupsFake, config):
        super().__init__(slack=slack, github=github, papercups=papercups)
        self.config = config

    def counts(self) -> tuple[int, int]:
        return sum(f.reads() for f in self), sum(self.writes())

    def digests(self) -> list[dict]:
        return top_level(self.slack, DIGEST)

    def nudges(self) -> list[dict]:
        return ours(self.slack, NUDGE_EVENT)

    def open_block(self) -> str:
        (msg,) = top_level(self.slack, weekly.EVENT_HANDOFF)
        block = next(b for b in msg["blocks"] if b.get("block_id") == weekly.OPEN_BLOCK_ID)
        return block["text"]["text"]


@pytest.fixture
def world(monkeypatch, tmp_path, capsys):
    config = write_config(tmp_path, "stale:\n  nudges: true\n")
    rot = rotation.load(config)[0]
    with (
        SlackFake() as slack,
        GitHubFake(clock=NOW) as github,
        PapercupsFake(clock=NOW) as papercups,
    ):  # leaving the block fails the test on any spec violation in any of them
        w = World(slack, github, papercups, config)
        w.point(monkeypatch)
        monkeypatch.setenv("CUSTOMERS_YAML", DIRECTORY)
        monkeypatch.delenv("CUSTOMERS_FILE", raising=False)
        monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(tmp_path / "summary.md"))
        slack.seed_from_rotation(rot)
        add_customers(slack, SAM)
        slack.now = MONDAY  # this week's handoff message, with its open-conversations block
        assert post_handoff.main(["--config", config, "--now", MONDAY.isoformat(), "--apply"]) == 0
        capsys.readouterr()
        w.sam = say(slack, ago(minutes=45), SAM[0], "Dashboards are down!")
        github.add_repo(REPO)
        w.issue = github.add_issue(REPO, "shopdev", "500 on login", created_at=ago(minutes=40))
        papercups.seed({
            "users": [{"email": "ann@kestrel.example", "name": "Ann"}],
            "customers": [{"email": "ada@acme.example", "name": "Ada",
                           "metadata": {"tier": "focus"}}],
            "conversations": [{"customer": "ada@acme.example",
                               "messages": [{"at": ago(minutes=50).isoformat(), "body": "hi"}]}],
        })  # fmt: skip
        w.reset_counts()
        yield w


def apply(world, capsys, now=NOW, *more):
    return run(capsys, world.config, "--apply", *more, now=now, slack=world.slack)


def test_digest_nudges_and_handoff_block_once_then_nothing(world, capsys):
    code, out, err = apply(world, capsys)
    assert code == 0, err
    (digest,) = world.digests()
    assert digest["metadata"]["event_payload"]["day"] == "2026-12-02"
    assert "hero: <@UBO000000>" in digest["text"] and "3 late" in digest["text"]
    nudges = {m["metadata"]["event_payload"]["key"]: m for m in world.nudges()}
    slack_key = f"slack:{world.sam['ts']}@{ago(minutes=45).timestamp():.0f}#late"
    github_key = f"github:{REPO}#{world.issue}@{ago(minutes=40).timestamp():.0f}#late"
    assert slack_key in nudges and github_key in nudges and len(nudges) == 3
    assert nudges[slack_key]["thread_ts"] == world.sam["ts"]  # in the customer's own thread
    papercups_key = next(k for k in nudges if k.startswith("papercups:"))
    for key in (github_key, papercups_key):
        assert nudges[key]["thread_ts"] == digest["ts"]  # elsewhere: in the digest's thread
    assert "<@UBO000000>" in nudges[slack_key]["text"] and "now late" in nudges[slack_key]["text"]
    assert world.open_block() == (
        "*Open conversations:* Focus 3, Subscriber 0, Community 0 · oldest waiting: "
        f"<{nudges_url(world)}|Ada (ada@acme.example)> (Focus · Papercups, since Wed 2 Dec "
        "14:10 GMT)"
    )
    # Slack: auth.test, history, users.info (sam), users.lookupByEmail (bo, the hero, has not
    # written); post the digest, 3 nudges, update the handoff. GitHub: 1 issues page (no
    # comments to list). Papercups: 1 page.
    assert (world.slack.reads(), world.slack.writes()) == (4, 5)
    assert (world.github.count(), world.papercups.count()) == (1, 1)

    world.reset_counts()
    code, out, err = apply(world, capsys)
    assert code == 0, err
    assert world.counts()[1] == 0 and "No changes" in out
    # Reading the nudges back: sam's thread (our bot replied there) and the digest's thread.
    assert world.slack.count("POST", "/conversations.replies") == 2
    assert (len(world.digests()), len(world.nudges())) == (1, 3)


def nudges_url(world) -> str:
    (conv,) = world.papercups.conversations
    return f"{world.papercups.url}/conversations/all?cid={conv}"


def test_the_digest_is_updated_in_place_and_a_new_day_gets_a_new_one(world, capsys):
    assert apply(world, capsys)[0] == 0
    (first,) = world.digests()
    world.reset_counts()
    assert apply(world, capsys, NOW + timedelta(minutes=10))[0] == 0
    (digest,) = world.digests()
    assert digest["ts"] == first["ts"] and "edited" in digest and "waiting 55m" in digest["text"]
    assert (world.slack.count("POST", "/chat.update"), world.slack.writes()) == (1, 1)
    world.reset_counts()
    tomorrow = NOW + timedelta(days=1)
    assert apply(world, capsys, tomorrow)[0] == 0
    assert [d["metadata"]["event_payload"]["day"] for d in world.digests()] == [
        "2026-12-02", "2026-12-03"]  # fmt: skip


def test_nudges_once_per_threshold_across_runs(world, capsys):
    assert apply(world, capsys)[0] == 0
    later = NOW + timedelta(hours=4)  # Focus: very late after 4 hours
    for _ in range(2):
        world.reset_counts()
        assert apply(world, capsys, later)[0] == 0
    assert world.counts()[1] == 0  # the second run at `later`: nothing more
    levels = sorted(m["metadata"]["event_payload"]["key"].rsplit("#", 1)[1] for m in world.nudges())
    assert levels == ["late"] * 3 + ["very_late"] * 3
    world.reset_counts()
    assert apply(world, capsys, later + timedelta(days=1))[0] == 0
    assert len(world.nudges()) == 6  # yesterday's digest thread still holds the keys
    assert len(world.digests()) == 2


def test_a_reply_ends_the_wait_and_a_new_wait_starts_afresh(world, capsys):
    assert apply(world, capsys)[0] == 0
    say(world.slack, NOW + timedelta(minutes=5), IDS["ann"], "Fixed!", world.sam)
    say(world.slack, NOW + timedelta(minutes=10), SAM[0], "Down again", world.sam)
    world.reset_counts()
    assert apply(world, capsys, NOW + timedelta(minutes=50))[0] == 0
    keys = [m["metadata"]["event_payload"]["key"] for m in world.nudges()]
    new_wait = f"@{(NOW + timedelta(minutes=10)).timestamp():.0f}#late"
    assert sum(k.startswith("slack:") for k in keys) == 2 and any(
        k.endswith(new_wait) for k in keys
    )


def test_an_outage_is_reported_while_the_others_still_post(world, capsys):
    before = world.open_block()
    world.github.inject("GET", "/repos/*/*/issues", 503, headers={"Retry-After": "3600"})
    code, _, _ = apply(world, capsys)
    assert code == 1
    (digest,) = world.digests()
    assert (
        "⚠️ *GitHub could not be read*: kestrel-example/kestrel: GitHub answered 503"
        in (digest["text"])
    )
    assert "2 late" in digest["text"] and "Dashboards" not in digest["text"]
    assert len(world.nudges()) == 2  # Slack's and Papercups' conversations
    assert world.open_block() == before  # partial counts would mislead: left as they were


def test_a_failed_post_exits_1_and_the_next_run_finishes(world, capsys):
    world.slack.inject("POST", "/chat.postMessage", 200, times=1,
                       body={"ok": False, "error": "fatal_error"})  # fmt: skip
    code, _, err = apply(world, capsys)
    assert code == 1 and "error: post Slack C0SUPPORT1" in err
    assert world.digests() == [] and len(world.nudges()) == 1  # only the one in sam's thread
    world.reset_counts()
    assert apply(world, capsys)[0] == 0
    assert (len(world.digests()), len(world.nudges())) == (1, 3)


def test_apply_without_a_token_writes_nothing(world, capsys, monkeypatch):
    monkeypatch.delenv("SLACK_BOT_TOKEN")
    code, _, err = apply(world, capsys)
    assert (code, world.counts()) == (2, (0, 0))
    assert "--apply needs SLACK_BOT_TOKEN" in err


def test_handoff_rerun_keeps_the_counts(world, capsys):
    assert apply(world, capsys)[0] == 0
    block = world.open_block()
    world.reset_counts()
    world.slack.now = NOW
    assert post_handoff.main(["--config", world.config, "--now", NOW.isoformat(), "--apply"]) == 0
    assert world.slack.count("POST", "/chat.update") == 0 and world.open_block() == block


def test_keys_are_read_from_every_digest_thread_since_the_wait_began(world, capsys):
    """A Subscriber issue late on Wednesday (1 hour) and still only late on Thursday (1 day):
    its nudge is in Wednesday's digest thread, Thursday has its own digest by then."""
    issue = world.github.add_issue(REPO, "someone", "Q", labels=["tier: subscriber"],
                                   created_at=NOW)  # fmt: skip
    thursday = NOW + timedelta(hours=18)
    for now in (NOW + timedelta(hours=1, minutes=30), thursday, thursday + timedelta(hours=1)):
        assert apply(world, capsys, now)[0] == 0
    keys = [m["metadata"]["event_payload"]["key"] for m in world.nudges()]
    assert [k for k in keys if k.startswith(f"github:{REPO}#{issue}@")] == [
        f"github:{REPO}#{issue}@{NOW.timestamp():.0f}#late"
    ]
    assert len(world.digests()) == 2


# --- the plan, pure -------------------------------------------------------------------------------

WHERE = plan.Where("C0SUPPORT1", 17, 21)
LONDON = ZoneInfo("Europe/London")


def finding(source: str, minutes: int, tier: str = "focus", n: int = 0) -> stale.Finding:
    asked = stale.Message(stale.CUSTOMER, ago(minutes=minutes))
    conv = stale.Conversation(source, f"id-{source}-{n}", customer_name="Cy <C>", tier=tier,
                              url="https://x.example/1", messages=(asked,))  # fmt: skip
    return stale.assess(conv, stale.settings({}), NOW)


def digest(text: str) -> Digest:
    raw = Digest(text, ({"type": "section", "text": {"type": "mrkdwn", "text": text}},),
                 {"event_type": DIGEST, "event_payload": {"late": 1, "very_late": 0}})  # fmt: skip
    return plan.stamped(raw, "2026-12-02")


def test_the_digest_is_posted_then_updated_only_when_its_content_changes():
    first = digest("one late")
    (post,) = plan.plan_digest(first, None, WHERE)
    seen = plan.Posted("1.000100", first.metadata["event_payload"])
    assert (post.action, post.line, post.data.metadata["event_payload"]["day"]) == (
        "post", 17, "2026-12-02")  # fmt: skip
    assert plan.plan_digest(digest("one late"), seen, WHERE) == []
    (update,) = plan.plan_digest(digest("two late"), seen, WHERE)
    assert (update.action, update.data.ts) == ("update", "1.000100")


NUDGES = [
    # (source, minutes waiting, thresholds nudged already, thread the nudge goes to)
    ("slack", 45, set(), "id-slack-0"),  # its own thread
    ("slack", 45, {"late"}, None),
    ("slack", 300, {"late"}, "id-slack-0"),  # very late now: one more
    ("slack", 300, {"very_late"}, None),
    ("github", 45, set(), "9.000001"),  # the digest's thread
    ("papercups", 300, set(), "9.000001"),  # both thresholds at once: one nudge, the higher
    ("github", 10, set(), None),  # not late
]


@pytest.mark.parametrize(("source", "minutes", "nudged", "thread"), NUDGES)
def test_nudges_once_per_threshold(source, minutes, nudged, thread):
    f = finding(source, minutes)
    keys = frozenset(stale.nudge_key(f.key, f.waiting_since, lvl) for lvl in nudged)
    hero = Hero("Bo", "UBO000000")
    changes = plan.plan_nudges([f], keys, hero, WHERE, "9.000001")
    assert [c.data.thread_ts for c in changes] == ([thread] if thread else [])
    for c in changes:
        assert c.data.metadata["event_payload"]["key"].endswith(f"#{f.level}")
        assert c.data.text.startswith("⏰ <@UBO000000>") and c.line == 21
        assert source == "slack" or "Cy &lt;C&gt;" in c.data.text


def test_nudges_are_capped_a_run():
    many = [finding("github", 60 + i, n=i) for i in range(30)]
    changes = plan.plan_nudges(many, frozenset(), None, WHERE, None)
    assert len(changes) == plan.MAX_NUDGES == 20


def test_the_handoff_block_changes_only_with_the_conversations():
    fs = [finding("github", 45), finding("slack", 20, "community")]
    block = plan.open_block(fs, LONDON)
    assert block["text"]["text"] == (
        "*Open conversations:* Focus 1, Subscriber 0, Community 1 · oldest waiting: "
        "<https://x.example/1|Cy &lt;C&gt;> (Focus · GitHub, since Wed 2 Dec 14:15 GMT)"
    )
    hero = weekly.section("hero", "Bo")
    posted = plan.Posted("5.0", {"shift_start": "x", "digest": "d"}, (hero, block))
    assert plan.plan_handoff(fs, posted, WHERE, LONDON) == []
    (change,) = plan.plan_handoff(fs[:1], posted, WHERE, LONDON)
    assert change.data.blocks[0] == hero and change.data.ts == "5.0"
    assert change.data.metadata["event_payload"] == {"shift_start": "x", "digest": "d"}
    no_block = plan.Posted("5.0", {}, (hero,))  # an older handoff without the block
    assert plan.plan_handoff(fs, no_block, WHERE, LONDON) == []


def test_a_lost_answer_posts_no_second_digest_or_nudge(world, capsys):
    """A 5xx after Slack posted (specs/README.md): the job looks for the message, not reposts."""
    world.slack.inject("POST", "/chat.postMessage", 500, times=4, after=True)
    code, _, err = apply(world, capsys)
    assert code == 0, err
    assert (len(world.digests()), len(world.nudges())) == (1, 3)
    world.reset_counts()
    assert apply(world, capsys)[0] == 0 and world.counts()[1] == 0
