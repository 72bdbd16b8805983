"""Slack mrkdwn from text we do not control: nothing pings or forges a link; safe links."""

from __future__ import annotations

import re
from urllib.parse import quote

WORD_JOINER = "\u2060"  # invisible; "@\u2060here" is no longer the keyword "@here"
# An "@" Slack could read as a mention where it parses bare names (fallback text,
# notifications): at a word's start ("@here", "<@U…" once escaped), or before a special
# mention's keyword even inside a word ("x@channel"). Not in "ada@example.com": addresses stay
# as written, so they can be copied and Slack still links them.
_AT = re.compile(r"(?<!\w)@(?=\w)|@(?=(?:here|channel|everyone|group)\b)", re.IGNORECASE)
_LINKABLE = re.compile(r"^https?://")
# Characters a URL keeps as written; anything else ("|" and ">" would end Slack's <url|label>,
# "<", spaces, quotes, non-ASCII) is percent-encoded. "%" stays: a URL's escapes are its own.
_URL_SAFE = ":/?#[]@!$&'()*+,;=%~._-"
_SLACK_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")


def escape(text: object) -> str:
    """Text shown as written: no <!channel>, <@U…> or <url|label> forgery, no @here parsing.

    Slack's own escaping covers &, < and > (an entity already in the text shows as written); a
    word joiner after a mention-like "@" keeps "@channel" from being read as a mention.
    """
    text = str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _AT.sub("@" + WORD_JOINER, text)


def link(url: str | None, label: object) -> str:
    """<url|label> to an http(s) URL with the label escaped; anything else: the label only.

    The URL's "&" is written as Slack's "&amp;", which Slack turns back into "&": query strings
    arrive as they were.
    """
    if not url or not _LINKABLE.match(url):
        return escape(label)
    safe = quote(url, safe=_URL_SAFE).replace("&", "&amp;")
    return f"<{safe}|{escape(label)}>"


def mention(slack_id: str | None, name: object) -> str:
    """<@ID> for a well-formed Slack user ID, otherwise the escaped name."""
    if slack_id and _SLACK_ID.match(slack_id):
        return f"<@{slack_id}>"
    return escape(name)


def plain(text: object) -> str:
    """Text without anything Slack could read as markup or an entity (a channel topic, which
    Slack shows as typed: an entity would show as "&amp;")."""
    return _AT.sub("@" + WORD_JOINER, re.sub(r"[<>&]", "", str(text)))
