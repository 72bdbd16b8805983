"""Slack text from outside: escaping, links, mentions and topics, table by table."""

import html
import re

import pytest

from scripts.markup.slack_text import escape, link, mention, plain

WJ = "\u2060"  # the word joiner

ESCAPES = [
    # (raw, as Slack gets it)
    ("plain", "plain"),
    ("Bob <!channel> Brennan", "Bob &lt;!channel&gt; Brennan"),
    (
        "<!everyone> <!here> <!subteam^S123>",
        "&lt;!everyone&gt; &lt;!here&gt; &lt;!subteam^S123&gt;",
    ),
    ("a & b", "a &amp; b"),
    ("&lt; stays text", "&amp;lt; stays text"),
    ("<https://evil.example|click>", "&lt;https://evil.example|click&gt;"),
    ("<@U0ALICE001>", f"&lt;@{WJ}U0ALICE001&gt;"),
    ("@here and @channel", f"@{WJ}here and @{WJ}channel"),
    ("@everyone, (@here)", f"@{WJ}everyone, (@{WJ}here)"),
    ("x@channel y@HERE", f"x@{WJ}channel y@{WJ}HERE"),  # a keyword even inside a word
    ("ada@example.com", "ada@example.com"),  # addresses stay as written
    ("Ada <ada@example.com>", "Ada &lt;ada@example.com&gt;"),
    ("a@b.example & <c>", "a@b.example &amp; &lt;c&gt;"),
    ("ops@here.example", f"ops@{WJ}here.example"),  # rare; safe before pretty
    ("a @ b", "a @ b"),
    (42, "42"),
]


@pytest.mark.parametrize(("raw", "escaped"), ESCAPES)
def test_escape(raw, escaped):
    assert escape(raw) == escaped


HOSTILE = ["<!channel>", "<!here|x>", "<!everyone>", "<@U0ADMIN01>", "<#C0GENERAL>",
           "<https://evil.example|Click>", "@here", "@channel", "@everyone", "hi@channel",
           "&lt;!channel&gt;", "<<!here>>", "<mailto:a@b.example|mail>"]  # fmt: skip


@pytest.mark.parametrize("raw", HOSTILE)
def test_nothing_escaped_can_ping_or_link(raw):
    for out in (escape(raw), link("https://ok.example/", raw), plain(raw)):
        label = out.split("|", 1)[1][:-1] if out.startswith("<https://ok.example/|") else out
        assert "<" not in label and ">" not in label
        assert not re.search(r"@(here|channel|everyone)", label, re.IGNORECASE)
    assert html.unescape(escape(raw)).replace(WJ, "") == raw  # shown as written


LINKS = [
    # (url, label, Slack text)
    ("https://x.example/r.yaml", "rotation.yaml", "<https://x.example/r.yaml|rotation.yaml>"),
    ("https://x.example/a?b=1&c=2", "q", "<https://x.example/a?b=1&amp;c=2|q>"),
    ("http://x.example/?q=a%26b&p=1#top", "q", "<http://x.example/?q=a%26b&amp;p=1#top|q>"),
    ("https://x.example/a|<b>", "q", "<https://x.example/a%7C%3Cb%3E|q>"),
    ("https://x.example/a b\n", "q", "<https://x.example/a%20b%0A|q>"),
    ("https://x.example/ü", "q", "<https://x.example/%C3%BC|q>"),
    ("https://x.example/", "<!here>", "<https://x.example/|&lt;!here&gt;>"),
    ("https://x.example/", "Ada @here", f"<https://x.example/|Ada @{WJ}here>"),
    ("javascript:alert(1)", "q", "q"),
    ("mailto:ada@example.com", "Ada", "Ada"),
    (" https://x.example/", "q", "q"),
    ("HTTPS://x.example/", "q", "q"),  # only what we know is a web link
    ("", "q", "q"),
    (None, "PagerDuty <x>", "PagerDuty &lt;x&gt;"),
]


@pytest.mark.parametrize(("url", "label", "out"), LINKS)
def test_link(url, label, out):
    assert link(url, label) == out


@pytest.mark.parametrize(
    "url",
    ["https://sentry.example/organizations/acme/issues/?query=is%3Aunresolved&project=1&project=2",
     "https://chat.example/conversations/all?cid=1&x=y"],
)  # fmt: skip
def test_query_strings_arrive_as_they_were(url):
    """Slack reads &amp; in a link as "&": the link it shows is the URL given."""
    target = link(url, "x")[1:].split("|")[0]
    assert target.replace("&amp;", "&") == url


MENTIONS = [
    ("U0ALICE001", "Alice", "<@U0ALICE001>"),
    ("W0ENTERPR1", "Ent", "<@W0ENTERPR1>"),
    (None, "Bob <!channel>", "Bob &lt;!channel&gt;"),
    ("!channel", "Eve", "Eve"),
    ("U0ALICE001> <!here", "Eve", "Eve"),
    ("u0lower", "Eve", "Eve"),
    ("", "Eve @here", f"Eve @{WJ}here"),
]


@pytest.mark.parametrize(("slack_id", "name", "out"), MENTIONS)
def test_mention_only_well_formed_ids(slack_id, name, out):
    assert mention(slack_id, name) == out


PLAIN = [
    ("Bob <!channel> Brennan", "Bob !channel Brennan"),
    ("A &lt; B", "A lt; B"),
    ("@here", f"@{WJ}here"),
    ("ada@example.com", "ada@example.com"),
]


@pytest.mark.parametrize(("raw", "topic"), PLAIN)
def test_plain_text_for_a_topic(raw, topic):
    assert plain(raw) == topic
