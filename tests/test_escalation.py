"""The escalation core, table-driven: inputs, who is paged, the dedup key, the page and message."""

import re
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

import pytest

from scripts.escalation import paging
from scripts.escalation.paging import Context, Observed, Request, Route, Secondary, Thread
from scripts.rotation import load as rotation

ROTATION_YAML = """\
timezone: Europe/London
handoff: {day: monday, time: "09:00"}
people:
  alice: {name: Alice Andersen, email: alice@example.com, team: core, slack: U0ALICE01}
  bob: {name: Bob Brennan, email: bob@example.com, team: core}
  carol: {name: Carol Castillo, email: carol@example.com, team: core}
  dave: {name: Dave Dimitrov, email: dave@example.com, team: data}
  erin: {name: Erin O'Neill, email: erin@example.com, team: data}
  frank: {name: Frank Fischer, email: frank@example.com, team: sales}
  grace: {name: Grace Gupta, email: grace@example.com, team: ops}
teams:
  core:
    name: Core
    pagerduty_schedule: PCORE01
    pagerduty_service: PSVCORE1
    secondary: {order: [alice, bob, carol], since: {week: 2027-03-01, first: alice}}
  data:
    name: Data <Science>
    secondary: {order: [dave, erin], since: {week: 2027-03-01, first: dave}}
  ops:
    name: Ops
    secondary: {order: [grace], since: {week: 2027-04-05, first: grace}}
  sales:
    name: Sales
support_hero:
  order: [alice, dave, bob, erin, carol]
  since: {week: 2027-03-01, first: alice}
slack:
  channel: C0SUPPORT1
"""
NOW = datetime(2027, 3, 10, 12, 0, tzinfo=UTC)  # Wednesday of the week of 8 March: bob; hero dave
KEY = "0123456789abcdef0123456789ABCDEF"
PERMALINK = "https://kestrel.slack.com/archives/C0SUPPORT1/p1773144000123456"


@pytest.fixture(scope="module")
def rot():
    return rotation.load("rotation.yaml", text=ROTATION_YAML)[0]


def bob(**kw) -> Secondary:
    return replace(Secondary("Bob Brennan", "bob@example.com", "bob"), **kw)


# --- the request --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("team", "summary", "link", "expected"),
    [
        ("core", "  Acme\n cannot   export ", None, Request("core", "Acme cannot export")),
        ("core", "x", " https://a.example/1 ", Request("core", "x", "https://a.example/1")),
        ("core", "x", "", Request("core", "x")),
        ("nope", "x", None, "'nope' is not a team; the teams are: core, data, ops, sales"),
        ("cor", "x", None, "(did you mean 'core'?)"),
        ("core", " \n\t", None, "the summary is empty"),
        ("core", "x", "javascript:alert(1)", "must be an http(s) URL"),
        ("core", "x", "https://a.example/<!channel>", "must be an http(s) URL"),
    ],
)
def test_check_request(rot, team, summary, link, expected):
    if isinstance(expected, Request):
        assert paging.check_request(rot, team, summary, link) == expected
    else:
        with pytest.raises(paging.InputError, match=re.escape(expected)):
            paging.check_request(rot, team, summary, link)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (PERMALINK, Thread("C0SUPPORT1", "1773144000.123456")),
        (PERMALINK + "/", Thread("C0SUPPORT1", "1773144000.123456")),
        # a reply's permalink: its thread is the parent's
        (
            PERMALINK + "?thread_ts=1773140000.000100&cid=C0SUPPORT1",
            Thread("C0SUPPORT1", "1773140000.000100"),
        ),
        (PERMALINK + "?thread_ts=nonsense", Thread("C0SUPPORT1", "1773144000.123456")),
        (
            "https://Acme.enterprise.slack.com/archives/G01AB2CD3/p1773144000123456",
            Thread("G01AB2CD3", "1773144000.123456"),
        ),
        ("http://kestrel.slack.com/archives/C0SUPPORT1/p1773144000123456", None),
        ("https://kestrel.slack.com.evil.example/archives/C0SUPPORT1/p1773144000123456", None),
        ("https://kestrel.slack.com/archives/C0SUPPORT1", None),
        ("https://github.com/acme/app/issues/1", None),
        (None, None),
    ],
)
def test_parse_permalink(url, expected):
    assert paging.parse_permalink(url) == expected


@pytest.mark.parametrize(
    ("text", "key", "warning", "error"),
    [
        (None, None, None, None),
        ("  ", None, None, None),
        (f'{{"core": "{KEY}"}}', KEY, None, None),
        (f'{{"data": "{KEY}"}}', None, None, None),
        (f'{{"core": "{KEY}", "old-team": "{KEY}"}}', KEY, "not a team: 'old-team'", None),
        # keys and values swapped: the stray is not quoted, it may be a secret
        (f'{{"core": "{KEY}", "{KEY}": "data"}}', KEY, "not a team: (a routing key?)", None),
        ('{"data": "not-a-key"}', None, None, None),  # another team's mistake does not stop us
        ('{"core": "not-a-key"}', None, None, "the value for 'core' is not an Events API v2"),
        ('{"core": 12}', None, None, "the value for 'core' is not"),
        ("core=abc", None, None, "must be a JSON object"),
        (f'["{KEY}"]', None, None, "must be a JSON object"),
    ],
)
def test_routing_keys(rot, text, key, warning, error):
    if error:
        with pytest.raises(paging.InputError, match=error) as caught:
            paging.routing_keys(text, rot, "core")
        assert "not-a-key" not in str(caught.value)
        return
    found, warnings = paging.routing_keys(text, rot, "core")
    assert found == key
    assert [w for w in warnings if warning and warning in w] == warnings
    assert all(KEY not in w for w in warnings)


@pytest.mark.parametrize(
    ("routing_key", "token", "service", "sender", "kind", "missing"),
    [
        (True, True, "PSVCORE1", True, "events", ()),
        (True, False, None, False, "events", ()),
        (False, True, "PSVCORE1", True, "rest", ()),
        (False, True, None, True, None, "teams.core.pagerduty_service"),
        (False, True, "PSVCORE1", False, None, "PAGERDUTY_FROM_EMAIL"),
        (False, False, None, False, None, "PAGERDUTY_TOKEN + PAGERDUTY_FROM_EMAIL + teams.core"),
    ],
)
def test_route(routing_key, token, service, sender, kind, missing):
    how = paging.route("core", routing_key, token, service, sender)
    assert how.kind == kind
    if missing:
        assert how.missing[0] == "a routing key in PAGERDUTY_ROUTING_KEYS"
        assert missing in how.missing[1]
        assert how.describe("core", None).startswith("not possible: core needs a routing key")


# --- who ----------------------------------------------------------------------------------------


@dataclass
class Row:
    user_id: str
    user_name: str = ""
    start: datetime | None = None
    end: datetime | None = None


@pytest.mark.parametrize(
    ("email", "name", "handle"),
    [
        ("CAROL@example.com", "Carol Castillo", "carol"),  # matched by email, any case
        ("zed@example.com", "Zed (PagerDuty)", None),  # on call in PagerDuty, not in rotation.yaml
        (None, "Zed (PagerDuty)", None),
    ],
)
def test_from_pagerduty(rot, email, name, handle):
    row = Row("PU9", "Zed (PagerDuty)", NOW, NOW + timedelta(days=1))
    who = paging.from_pagerduty(rot, row, email, "PCORE01")
    assert (who.name, who.handle, who.pagerduty_id) == (name, handle, "PU9")
    assert (
        who.source == "PagerDuty schedule PCORE01 (final schedule)"
        and who.end == NOW + timedelta(days=1)
    )


@pytest.mark.parametrize(
    ("team", "at", "who", "nobody"),
    [
        ("core", NOW, "bob", None),
        ("data", NOW, "dave", None),  # erin's week, but dave is hero: hero_is_team_secondary
        ("core", datetime(2027, 3, 15, 9, 0, tzinfo=UTC), "bob", None),  # carol's week; bob: hero
        ("core", datetime(2027, 3, 22, 8, 59, tzinfo=UTC), "bob", None),  # handoff: 09:00 GMT
        ("core", datetime(2027, 3, 22, 9, 0, tzinfo=UTC), "alice", None),
        ("sales", NOW, None, "Sales has no secondary rotation and no pagerduty_schedule"),
        ("ops", NOW, None, "its secondary rotation starts 2027-04-05"),
        ("core", datetime(2027, 2, 1, tzinfo=UTC), None, "starts 2027-03-01"),
    ],
)
def test_from_rotation_and_nobody(rot, team, at, who, nobody):
    found = paging.from_rotation(rot, team, at)
    assert (found.handle if found else None) == who
    if found:
        assert found.source == "rotation.yaml" and found.start <= at < found.end and found.line
    else:
        assert nobody in paging.nobody(rot, team, at)


def test_nobody_in_pagerduty_hints_at_rotation_yaml(rot):
    text = paging.nobody(rot, "core", NOW, "PCORE01")
    assert text == (
        "nobody is on call for Core at 2027-03-10 12:00 UTC in PagerDuty schedule PCORE01 "
        "(rotation.yaml says Bob Brennan: run sync_pagerduty)"
    )


@pytest.mark.parametrize(
    ("handle", "note"), [("dave", "also the Support Hero on call now"), ("bob", None)]
)
def test_hero_note(rot, handle, note):
    text = paging.hero_note(rot, bob(handle=handle), NOW)
    assert (note in text) if note else text is None


# --- the dedup key ------------------------------------------------------------------------------

SAME = Request("core", "Acme cannot export", "https://a.example/t/1")


@pytest.mark.parametrize(
    ("req", "who", "at", "same"),
    [
        (SAME, bob(), NOW, True),
        (SAME, bob(), NOW + timedelta(days=4), True),  # later in the same shift
        (replace(SAME, summary="Acme cannot export (retyped)"), bob(), NOW, True),  # same link
        (replace(SAME, link="https://a.example/t/2"), bob(), NOW, False),  # a new conversation
        (SAME, bob(), NOW + timedelta(days=7), False),  # the next shift
        (SAME, bob(email="BOB@example.com"), NOW, True),
        (SAME, Secondary("Carol Castillo", "carol@example.com", "carol"), NOW, False),
        (replace(SAME, team="data"), bob(), NOW, False),
    ],
)
def test_dedup_key(rot, req, who, at, same):
    key = paging.dedup_key(rot, SAME, bob(), NOW)
    assert key.startswith("support-hero/core/2027-03-08/") and len(key) < 255
    assert (paging.dedup_key(rot, req, who, at) == key) is same


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        ("Acme cannot export", "acme  CANNOT export", True),  # no link: the summary, as typed
        ("Acme cannot export", "Beta cannot export", False),
        (PERMALINK, PERMALINK + "?thread_ts=1773144000.123456&cid=C0SUPPORT1", True),  # same thread
        (PERMALINK, PERMALINK.replace("123456", "123457"), False),
    ],
)
def test_dedup_key_subject(rot, a, b, same):
    def key(text):
        link = text if text.startswith("https://") else None
        return paging.dedup_key(rot, Request("core", "x" if link else text, link), bob(), NOW)

    assert (key(a) == key(b)) is same


# --- what is sent -------------------------------------------------------------------------------


def ctx(**kw) -> Context:
    base = Context("k1", Route("events"), channel="C0SUPPORT1", slack_id="UBOB00000")
    return replace(base, **kw)


def test_event(rot):
    req = Request("core", "a" * 2000, "https://a.example/t/1")
    body = paging.event(rot, req, bob(), "k1", "octocat", "https://github.com/o/r/actions/1")
    payload = body["payload"]
    assert len(payload["summary"]) == 1024 and payload["summary"].endswith("…")
    assert (payload["severity"], payload["source"], payload["component"]) == (
        "error",
        "support-hero",
        "core",
    )
    assert payload["custom_details"] == {
        "team": "Core",
        "secondary": "Bob Brennan",
        "summary": "a" * 2000,
        "conversation": "https://a.example/t/1",
        "escalated_by": "octocat",
    }
    assert body["links"] == [{"href": "https://a.example/t/1", "text": "The conversation"}]
    assert body["client_url"] == "https://github.com/o/r/actions/1"
    assert body["dedup_key"] == "k1" and "routing_key" not in body


def test_incident(rot):
    args = paging.incident(rot, Request("core", "x"), bob(pagerduty_id="PU1"), "k1", "PS1", "f@x")
    assert args == {
        "title": "Support escalation: x",
        "service_id": "PS1",
        "from_email": "f@x",
        "assignee_ids": ["PU1"],
        "urgency": "high",
        "details": "team: Core\nsecondary: Bob Brennan\nsummary: x",
        "incident_key": "k1",
    }


@pytest.mark.parametrize(
    ("team", "summary", "slack_id", "link", "requester", "lines"),
    [
        (
            "core",
            "Acme <!channel> & @here",
            "UBOB00000",
            "https://a.example/t/1?a=1&b=2",
            "octo<cat>",
            [
                ":rotating_light: *Escalated to Core's secondary on-call:* <@UBOB00000>",
                ">Acme &lt;!channel&gt; &amp; @\u2060here",
                "<https://a.example/t/1?a=1&amp;b=2|the conversation> · paged in PagerDuty"
                " · by octo&lt;cat&gt;",
            ],
        ),
        (
            "data",
            "x",
            None,
            None,
            None,
            [
                ":rotating_light: *Escalated to Data &lt;Science&gt;'s secondary on-call:* "
                "Bob Brennan",
                ">x",
                "paged in PagerDuty",
            ],
        ),
    ],
)
def test_message(rot, team, summary, slack_id, link, requester, lines):
    req = Request(team, summary, link)
    msg = paging.message(rot, req, bob(), slack_id, "k1", Route("events"), None, requester)
    assert msg["text"].split("\n") == lines
    assert msg["metadata"] == {
        "event_type": "support_hero_escalation",
        "event_payload": {"dedup_key": "k1", "team": team},
    }


# --- plan ---------------------------------------------------------------------------------------

OTHER_CHANNEL = PERMALINK.replace("C0SUPPORT1", "C0OTHER001")


@pytest.mark.parametrize(
    ("link", "context", "seen", "actions", "thread_ts"),
    [
        (None, ctx(), Observed(), ["page", "post"], None),
        (PERMALINK, ctx(), Observed(None, True), ["page", "post"], "1773144000.123456"),
        (PERMALINK, ctx(), Observed(), ["page", "post"], "1773144000.123456"),  # Slack not read
        (PERMALINK, ctx(), Observed(None, False), ["page", "post"], None),  # the thread is gone
        (OTHER_CHANNEL, ctx(), Observed(), ["page", "post"], None),
        (None, ctx(channel=None), Observed(), ["page"], None),
        (None, ctx(), Observed("1773144001.000001"), [], None),  # done: the post follows the page
        (
            None,
            ctx(how=Route("rest"), service="PS1", sender="f@x"),
            Observed(),
            ["page", "post"],
            None,
        ),
        (None, ctx(how=Route(None, ("a", "b"))), Observed(), ["page", "post"], None),
    ],
)
def test_plan(rot, link, context, seen, actions, thread_ts):
    who = bob(pagerduty_id="PU1", source="PagerDuty schedule PCORE01")
    changes = paging.plan(rot, Request("core", "x", link), who, context, seen)
    assert [c.action for c in changes] == actions
    if not changes:
        return
    page = changes[0]
    assert page.line == rot.teams["core"].line and page.data.dedup_key == "k1"
    assert page.summary == "Bob Brennan (PagerDuty schedule PCORE01): Support escalation: x"
    kind = context.how.kind
    assert page.data.route == kind
    has = (page.data.event is not None, page.data.incident is not None)
    assert has == (kind == "events", kind == "rest")
    if "post" in actions:
        post = changes[1].data
        assert (post.channel, getattr(post, "thread_ts", None)) == ("C0SUPPORT1", thread_ts)
        assert post.metadata["event_payload"]["dedup_key"] == "k1"


def test_search_from_is_the_shift_start(rot):
    assert paging.search_from(rot, NOW) == datetime(2027, 3, 8, 9, 0, tzinfo=UTC)
