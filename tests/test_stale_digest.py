"""The digest renderer: escaping customer text, the hero, sources, ordering, Slack's limits."""

import re
from datetime import UTC, datetime, timedelta

import cmarkgfm
import pytest

from scripts.stale import clock
from scripts.stale import digest as d
from scripts.stale.business_time import WorkingHours
from scripts.stale.clock import CUSTOMER, US, Conversation, Message

NOW = datetime(2026, 12, 2, 15, 0, tzinfo=UTC)
OK = d.SourceStatus("papercups", "ok", conversations=3)


def finding(name="Ada", email="ada@example.com", tier="focus", waited_min=45, url=None, **kw):
    cid = f"c{sum(map(ord, name))}"
    conv = Conversation(
        "papercups", cid, name, email, tier=tier,
        url=url if url is not None else f"https://chat.example/conversations/all?cid={cid}",
        messages=(Message(CUSTOMER, NOW - timedelta(minutes=waited_min)),), **kw,
    )  # fmt: skip
    return clock.assess(conv, clock.settings({}), NOW)


def text_of(digest: d.Digest) -> str:
    """Everything Slack would parse: the fallback and every block's text."""
    texts = [digest.text]
    for block in digest.blocks:
        texts.append(block.get("text", {}).get("text", ""))
        texts += [e.get("text", "") for e in block.get("elements", [])]
    return "\n".join(texts)


HOSTILE = [
    # (customer name, what must not reach Slack as markup)
    ("<!everyone> Eve", "<!everyone>"),
    ("Mallory <@U0ADMIN01>", "<@U0ADMIN01>"),
    ("<https://evil.example|Click here>", "<https://evil.example"),
    ("Tom & Jerry", "Tom & Jerry"),
    ("@channel Chan", "@channel"),
    ("hi @here", "@here"),
    ("<!subteam^S123>", "<!subteam"),
]


@pytest.mark.parametrize(("name", "forbidden"), HOSTILE)
def test_customer_text_is_escaped(name, forbidden):
    digest = d.render([finding(name=name)], [OK], d.Hero("Ann", "U0ANN0001"), NOW)
    assert forbidden not in text_of(digest)
    assert "<@U0ANN0001>" in digest.text  # the hero's own mention survives


def test_each_line_has_source_customer_tier_time_and_permalink():
    f = finding("Ada Byron", tier="subscriber", waited_min=125, url="https://chat.example/c/1")
    assert d.waiting_line(f) == (
        "🟠 *Subscriber* · Papercups · <https://chat.example/c/1|Ada Byron (ada@example.com)>"
        " · waiting 2h 05m"
    )


def test_follow_ups_and_team_members_are_marked():
    said = [(CUSTOMER, 3), (US, 2), (CUSTOMER, 1)]
    messages = tuple(Message(who, NOW - timedelta(hours=h)) for who, h in said)
    conv = Conversation("papercups", "1", "Ann", tier="focus", customer_is_team=True,
                        messages=messages)  # fmt: skip
    line = d.waiting_line(clock.assess(conv, clock.settings({}), NOW))
    assert line.endswith("waiting 1h 00m · follow-up · a team member writing as a customer")


def test_digest_lists_late_by_tier_then_lateness_and_counts_the_rest():
    findings = sorted(
        [finding("C", tier="community", waited_min=5 * 24 * 60), finding("F1", waited_min=20),
         finding("F2", waited_min=300), finding("S", tier="subscriber", waited_min=90)],
        key=clock.digest_order,
    )  # fmt: skip
    digest = d.render(findings, [OK], d.Hero("Ann"), NOW)
    assert re.findall(r"\|(\w+) \(", digest.text) == ["F2", "S", "C"]
    assert "2 very late, 1 late, 1 waiting within target" in digest.text
    assert "1 more waiting within target (longest: 20m)" in digest.text
    assert digest.metadata == {
        "event_type": d.EVENT_TYPE,
        "event_payload": {"day": "2026-12-02", "late": 3, "very_late": 2},
    }


def test_sources_failed_and_not_configured_are_said():
    statuses = [
        d.SourceStatus("papercups", "failed", "Papercups GET /api/v1/conversations: HTTP 503"),
        d.SourceStatus("slack", "not_configured", "SLACK_BOT_TOKEN is not set"),
        d.SourceStatus("github", "ok", conversations=2),
    ]
    digest = d.render([], statuses, None, NOW)
    assert "⚠️ *Papercups could not be read*: Papercups GET /api/v1/conversations: HTTP 503" in (
        digest.text
    )
    assert "Slack: not configured (SLACK_BOT_TOKEN is not set)" in digest.text
    assert "GitHub: 2 open read" in digest.text
    assert "no one (no Support Hero shift holds this time)" in digest.text
    nothing = d.render([], [statuses[1]], None, NOW)
    assert "No source could be read." in nothing.text


def test_closing_suggestions():
    conv = Conversation("papercups", "k", "Kim", tier="subscriber", url="https://x.example/k",
                        messages=(Message(US, NOW - timedelta(days=9)),))  # fmt: skip
    digest = d.render([clock.assess(conv, clock.settings({}), NOW)], [OK], d.Hero("Ann"), NOW)
    assert "*Suggested for closing*" in text_of(digest)
    assert "• *Subscriber* · Papercups · <https://x.example/k|Kim> · we replied 9d 0h ago" in (
        digest.text
    )


def test_slack_limits_hold_for_a_long_digest():
    many = [finding(f"Customer{i:03d}", waited_min=60 * 24 * 10 + i) for i in range(300)]
    digest = d.render(many, [OK], d.Hero("Ann"), NOW)
    assert len(digest.blocks) <= 50
    assert all(len(b.get("text", {}).get("text", "")) <= 3000 for b in digest.blocks)
    assert f"…and {300 - d.MAX_LINES} more late conversations" in digest.text


def test_working_hours_are_named():
    hours = WorkingHours("Europe/London")
    digest = d.render([], [OK], d.Hero("Ann"), NOW, hours)
    assert "time counted in working hours, Mon–Fri 09:00–17:30 Europe/London" in digest.text
    assert "time counted around the clock" in d.render([], [OK], None, NOW).text


DURATIONS = [(0, "0m"), (59, "59m"), (60, "1h 00m"), (125, "2h 05m"), (24 * 60 + 61, "1d 1h")]


@pytest.mark.parametrize(("minutes", "text"), DURATIONS)
def test_durations(minutes, text):
    assert d.duration(timedelta(minutes=minutes)) == text


def test_markdown_summary_cannot_make_links_either():
    hostile = finding(name="[click](https://evil.example) *x*_y_", url="https://chat.example/a(b)")
    md = d.render_markdown([hostile], [OK], d.Hero("Ann", "U0ANN0001"), NOW)
    assert not re.search(r"(?<!\\)\]\(https://evil", md)  # escaped: text, not a link
    rendered = cmarkgfm.github_flavored_markdown_to_html(md)  # as GitHub renders it
    assert re.findall(r'<a href="([^"]+)"', rendered) == ["https://chat.example/a%28b%29"]
    assert "[click](https\u2060://evil.example)" in rendered and "<img" not in rendered
    assert "(https://chat.example/a%28b%29)" in md
    assert "**Focus**" in md and "<@U0ANN0001>" not in md


def test_finding_json():
    out = d.finding_json(finding(waited_min=45))
    assert out["level"] == "late" and out["waited_seconds"] == 45 * 60
    assert out["waiting_since"] == (NOW - timedelta(minutes=45)).isoformat()
