"""Sentry: the pure errors core table by table, and the adapter over HTTP against the fake."""

import time
from datetime import UTC, datetime, timedelta

import pytest

from fakes.sentry import SentryFake
from scripts.clients.sentry import Issue, Sentry, SentryError, api_url, web_url
from scripts.rotation import load as rotation
from scripts.stale import sentry_errors as se
from tests.test_handoff import ROTATION_YAML

NOW = datetime(2027, 3, 17, 10, 30, tzinfo=UTC)  # Wednesday; dave covers bob's hero day
MONDAY = datetime(2027, 3, 15, 9, 0, tzinfo=UTC)  # the handoff
H = timedelta(hours=1)
CFG = se.Settings("acme", ("web", "api"))


def issue(iid="1", *, first=MONDAY + H, buckets=(), count=10, who=None, project="web", **kw):
    """An adapter Issue; buckets: {hours before NOW's hour: events}."""
    hour = NOW.replace(minute=0)
    stats = tuple((hour - k * H, n) for k, n in sorted(dict(buckets).items(), reverse=True))
    fields = {"short_id": f"WEB-{iid}", "title": f"Error {iid}", "project": project,
              "project_id": {"web": "11", "api": "12"}[project], "first_seen": first,
              "last_seen": NOW, "count": count, "permalink": f"https://acme.sentry.io/issues/{iid}/",
              "assigned_to": who, "stats_24h": stats} | kw  # fmt: skip
    return Issue(id=iid, **fields)


# --- which errors ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("first", "who", "status", "counted"),
    [
        (MONDAY, None, "unresolved", True),  # at the handoff itself
        (MONDAY + 40 * H, None, "unresolved", True),
        (MONDAY - timedelta(seconds=1), None, "unresolved", False),  # the week before
        (MONDAY + H, "Alice", "unresolved", False),  # someone has it
        (MONDAY + H, None, "resolved", False),
    ],
)
def test_new_unassigned_since_the_handoff(first, who, status, counted):
    found = se.new_unassigned([issue(first=first, who=who, status=status)], MONDAY)
    assert bool(found) == counted


@pytest.mark.parametrize(
    ("now", "start"),
    [
        ("2027-03-15T09:00:00Z", "2027-03-15T09:00:00Z"),  # the handoff instant
        ("2027-03-15T08:59:59Z", "2027-03-08T09:00:00Z"),  # a second before: last week's
        ("2027-03-17T10:30:00Z", "2027-03-15T09:00:00Z"),  # dave's swap day: still Monday's
        ("2027-03-18T10:30:00Z", "2027-03-15T09:00:00Z"),  # after it: the count runs on
        ("2027-02-20T10:00:00Z", None),  # before the hero rotation
    ],
)
def test_since_is_the_weekly_handoff_even_across_a_single_day_swap(now, start):
    rot = rotation.load("rotation.yaml", text=ROTATION_YAML)[0]
    at = datetime.fromisoformat(now.replace("Z", "+00:00"))
    expected = datetime.fromisoformat(start.replace("Z", "+00:00")) if start else None
    assert se.since(rot, at) == expected


def test_search_query_asks_for_what_new_unassigned_keeps():
    local = MONDAY.astimezone(datetime.now().astimezone().tzinfo)
    assert se.search_query(local) == "is:unresolved is:unassigned firstSeen:>=2027-03-15T09:00:00Z"


@pytest.mark.parametrize(
    ("buckets", "events"),
    [
        ({}, 0),
        ({0: 5}, 5),  # the current hour
        ({0: 1, 23: 2}, 3),  # the oldest hour still inside
        ({24: 9}, 0),  # a day ago: outside
        ({-1: 9}, 0),  # after now: outside
    ],
)
def test_events_in_the_last_24_hours(buckets, events):
    assert se.events_24h(issue(buckets=buckets), NOW) == events


def test_top_errors_busiest_first_then_most_events_then_newest():
    issues = [
        issue("a", buckets={0: 3}),
        issue("b", buckets={0: 9, 5: 1}),
        issue("c", buckets={0: 3}, count=500),
        issue("d", buckets={}),
        issue("e", buckets={0: 3}, first=MONDAY + 30 * H),
        issue("f", buckets={2: 4}),
        issue("g", buckets={0: 1}),
    ]
    top = se.top_errors(issues, NOW)
    assert [(b.issue.id, b.events) for b in top] == [("b", 10), ("f", 4), ("c", 3), ("e", 3),
                                                     ("a", 3)]  # fmt: skip
    assert [b.issue.id for b in se.top_errors(issues, NOW, limit=2)] == ["b", "f"]
    assert se.top_errors([], NOW) == []


# --- rendering ------------------------------------------------------------------------------------


LINK = "https://acme.sentry.io/issues/1/"
TAIL = " · web · 2 events in 24h (10 in all)"


@pytest.mark.parametrize(
    ("title", "permalink", "line"),
    [
        ("TypeError: x", LINK, f"• <{LINK}|WEB-1: TypeError: x>{TAIL}"),
        ("<!channel> & <@U123> @here", LINK,
         f"• <{LINK}|WEB-1: &lt;!channel&gt; &amp; &lt;@\u2060U123&gt; @\u2060here>{TAIL}"),
        ("<https://evil.example|click>", LINK,
         f"• <{LINK}|WEB-1: &lt;https://evil.example|click&gt;>{TAIL}"),
        ("x", "javascript:alert(1)", f"• WEB-1: x{TAIL}"),  # no link but http(s)
        ("x", "https://acme.sentry.io/i/1|<!here>",
         f"• <https://acme.sentry.io/i/1%7C%3C!here%3E|WEB-1: x>{TAIL}"),
    ],
)  # fmt: skip
def test_error_lines_escape_everything_from_sentry(title, permalink, line):
    busy = se.Busy(issue("1", title=title, permalink=permalink), 2)
    assert se.error_lines([busy]) == [line]


def test_a_long_title_is_cut():
    (line,) = se.error_lines([se.Busy(issue(title="x" * 300), 1)])
    assert "x" * (se.TITLE_MAX - 1) + "…>" in line and "x" * se.TITLE_MAX not in line
    assert line.endswith(" · 1 event in 24h (10 in all)")


@pytest.mark.parametrize(
    ("found", "complete", "text"),
    [
        ([], True, "0 new unassigned Sentry errors> since the handoff"),
        (["web"], True, "1 new unassigned Sentry error> since the handoff (web 1)"),
        (["web", "api", "web"], True,
         "3 new unassigned Sentry errors> since the handoff (web 2, api 1)"),
        (["web"], False, "at least 1 new unassigned Sentry error> since the handoff (web 1)"),
    ],
)  # fmt: skip
def test_the_handoff_line_counts_and_links(found, complete, text):
    issues = [issue(str(k), project=p) for k, p in enumerate(found)]
    reading = se.Reading("ok", "", tuple(issues), complete)
    block = se.handoff_block(CFG, reading, MONDAY, "https://sentry.io", None)
    assert block["block_id"] == se.BLOCK_ID and block["text"]["text"].endswith(text)
    url = block["text"]["text"].split("<")[1].split("|")[0]
    assert url.startswith("https://sentry.io/organizations/acme/issues/?query=is%3Aunresolved")
    assert "firstSeen%3A%3E%3D2027-03-15T09%3A00%3A00Z" in url
    assert ("project=11" in url) == ("web" in found) and ("project=12" in url) == ("api" in found)


def test_the_configured_web_address_wins_for_links():
    cfg = se.Settings("acme", ("web",), "https://acme.sentry.io/")
    block = se.handoff_block(cfg, se.Reading("ok"), MONDAY, "https://sentry.io", None)
    assert "<https://acme.sentry.io/organizations/acme/issues/?" in block["text"]["text"]


POSTED = se.section(se.BLOCK_ID, "*Sentry:* 4 new unassigned Sentry errors since the handoff")


@pytest.mark.parametrize(
    ("cfg", "state", "posted", "shows"),
    [
        (None, "ok", None, None),  # not configured: no line
        (CFG, "ok", POSTED, "count"),  # read: the fresh count replaces the posted one
        (CFG, "failed", POSTED, "posted"),  # an outage keeps what was posted: no flapping
        (CFG, "failed", None, "unreadable"),  # an outage with nothing posted says so
        (CFG, "not_read", POSTED, "posted"),  # no token this run: the posted line stays
        (CFG, "not_read", None, None),  # no token, nothing posted: no line
    ],
)
def test_which_sentry_line_the_handoff_shows(cfg, state, posted, shows):
    block = se.handoff_block(
        cfg, se.Reading(state, "HTTP 503"), MONDAY, "https://sentry.io", posted
    )
    if shows is None:
        assert block is None
    elif shows == "posted":
        assert block is POSTED
    elif shows == "unreadable":
        assert block == se.section(se.BLOCK_ID, se.UNREADABLE)
        assert "Sentry* could not be read" in block["text"]["text"]
    else:
        assert "0 new unassigned Sentry errors" in block["text"]["text"]


def test_notes_for_the_jobs_output():
    assert se.Reading("ok", "", (issue(),)).note() == (
        "Sentry: 1 new unassigned error since the handoff."
    )
    failed = se.Reading("failed", "Sentry GET /x: HTTP 503: fake error").note()
    assert failed.startswith("Sentry could not be read (Sentry GET /x: HTTP 503: fake error)")
    assert "does not change the exit code" in failed
    assert se.Reading("failed").summary()["new_unassigned"] is None


def test_settings():
    assert se.settings(None) is None and se.settings({}) is None
    raw = {"organization": "acme", "projects": ["web"], "url": "https://acme.sentry.io"}
    assert se.settings(raw, 7) == se.Settings("acme", ("web",), "https://acme.sentry.io", 7)


# --- the adapter against the fake ---------------------------------------------------------------


@pytest.fixture
def fake():
    with SentryFake(clock=NOW) as f:  # leaving the block fails on any spec violation
        yield f


@pytest.fixture
def client(fake):
    env = fake.env()
    return Sentry(env["SENTRY_TOKEN"], env["SENTRY_API_URL"], timeout=2)


def test_link_header_paging_at_sentrys_100_a_page(fake, client):
    for k in range(230):
        fake.add_issue("acme", "web", f"E{k}", NOW - k * H, recent=[k % 5, 1])
    listing = client.project_issues("acme", "web")
    assert listing.complete and len({i.id for i in listing.issues}) == 230
    assert fake.count("GET") == 3  # ceil(230 / 100): the minimum
    first = listing.issues[0]
    assert (
        first.first_seen.tzinfo and first.count == first.stats_24h[-1][1] + first.stats_24h[-2][1]
    )
    assert len(first.stats_24h) == 24 and first.stats_24h[-1][0] == NOW.replace(minute=0)


def test_paging_stops_at_its_bound(fake, client):
    for k in range(150):
        fake.add_issue("acme", "web", f"E{k}", NOW - k * H)
    listing = client.project_issues("acme", "web", max_pages=1)
    assert not listing.complete and len(listing.issues) == 100


def test_the_search_narrows_what_sentry_sends(fake, client):
    new = fake.add_issue("acme", "web", "new", MONDAY + H)
    fake.add_issue("acme", "web", "old", MONDAY - H)
    fake.add_issue("acme", "web", "taken", MONDAY + H, assigned_to="Alice Andersen")
    gone = fake.add_issue("acme", "web", "gone", MONDAY + H)
    fake.resolve(gone)
    fake.add_issue("acme", "api", "other project", MONDAY + H)
    listing = client.issues("acme", ["web"], se.search_query(MONDAY))
    assert [i.id for i in listing.issues] == [new]
    everything = client.issues("acme", ["web", "api"])
    assert {i.title for i in everything.issues} == {"new", "old", "taken", "other project"}
    assert {i.assigned_to for i in everything.issues} == {None, "Alice Andersen"}


def test_the_fake_refuses_a_search_it_does_not_know(fake, client):
    fake.add_project("acme", "web")
    with pytest.raises(SentryError):
        client.project_issues("acme", "web", "is:unresolved age:-24h")
    assert any("age:-24h" in v for v in fake.violations)
    fake.violations.clear()


def test_429_honours_retry_after_then_succeeds(fake, client):
    fake.add_issue("acme", "web", "E", NOW)
    fake.inject("GET", "/api/0/projects/**", 429, times=1, headers={"Retry-After": "1"})
    started = time.monotonic()
    assert len(client.project_issues("acme", "web").issues) == 1
    assert time.monotonic() - started >= 0.95  # waited as told
    assert fake.count("GET") == 2


def test_5xx_past_the_retries_is_an_error_naming_no_token(fake):
    fake.add_project("acme", "web")
    fake.inject("GET", "/api/0/projects/**", 503, times=10, headers={"Retry-After": "0"})
    quick = Sentry(fake.token, fake.env()["SENTRY_API_URL"], backoff=0)  # a fast test
    with pytest.raises(SentryError) as raised:
        quick.project_issues("acme", "web")
    assert raised.value.status == 503 and fake.token not in str(raised.value)
    assert fake.count("GET") == 4  # one try and three retries: bounded


def test_a_timeout_is_an_error_in_bounded_time(fake):
    fake.add_project("acme", "web")
    fake.inject("GET", "/api/0/projects/**", None, times=10, delay=1.0)
    slow = Sentry(fake.token, fake.env()["SENTRY_API_URL"], timeout=0.2, retries=1, backoff=0)
    started = time.monotonic()
    with pytest.raises(SentryError) as raised:
        slow.project_issues("acme", "web")
    assert raised.value.status is None and "no answer within 0.2 s" in str(raised.value)
    assert time.monotonic() - started < 1.5


def test_a_wrong_token_and_an_unknown_project(fake):
    fake.add_project("acme", "web")
    wrong = Sentry("not-the-token", fake.env()["SENTRY_API_URL"])
    with pytest.raises(SentryError) as raised:
        wrong.project_issues("acme", "web")
    assert raised.value.status == 401 and "not-the-token" not in str(raised.value)
    right = Sentry(fake.token, fake.env()["SENTRY_API_URL"])
    with pytest.raises(SentryError) as raised:
        right.project_issues("acme", "nope")
    assert raised.value.status == 404


@pytest.mark.parametrize(
    ("given", "api", "web"),
    [
        (None, "https://sentry.io/api/0", "https://sentry.io"),
        ("", "https://sentry.io/api/0", "https://sentry.io"),  # an unset Actions variable
        ("https://sentry.example.com", "https://sentry.example.com/api/0", "https://sentry.example.com"),
        ("https://de.sentry.io/api/0/", "https://de.sentry.io/api/0", "https://de.sentry.io"),
    ],
)  # fmt: skip
def test_api_and_web_addresses(given, api, web, monkeypatch):
    monkeypatch.delenv("SENTRY_API_URL", raising=False)
    if given is not None:
        monkeypatch.setenv("SENTRY_API_URL", given)
    assert (api_url(), web_url()) == (api, web)


def test_seed_from_rotation_for_the_demo(fake, client):
    text = ROTATION_YAML + "sentry: {organization: acme, projects: [web, api]}\n"
    rot = rotation.load("rotation.yaml", text=text)[0]
    made = fake.seed_from_rotation(rot, NOW)
    listing = client.issues("acme", ["web", "api"], se.search_query(NOW - 4 * H))
    assert len(made) == 8 and len(listing.issues) == 4  # new and unassigned: 2 per project
    top = se.top_errors(listing.issues, NOW, limit=1)
    assert "&lt;b&gt;" in se.error_lines(top)[0]
