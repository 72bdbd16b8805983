"""GitHub Markdown from text we do not control: shown as written; no image, link or mention."""

from __future__ import annotations

import re

WORD_JOINER = "\u2060"  # invisible: "@\u2060org/everyone" is no longer a mention
# Backslash escapes (CommonMark 0.31 §2.4) for what starts markup inside a line: emphasis,
# code, links and images ("[" alone: "](" and "![" need it), HTML and autolinks ("<"), table
# cells ("|"), strikethrough ("~"). The text is one line, so block markup ("#", ">", "-" at a
# line's start) cannot begin; "(", "!" and the rest stay readable in the raw Markdown.
_MARKUP = re.compile(r"([\\`*_\[\]<|~])")
# What GitHub turns into a notification or a cross-reference once the Markdown is rendered
# ("@login", "@org/team", "#123"; docs.github.com "Basic writing and formatting syntax",
# "Mentioning people and teams", "Referencing issues and pull requests"): a backslash does not
# stop those, as they are found in the rendered text, so a word joiner splits them.
_REFERENCE = re.compile(r"(?<!\w)([@#])(?=\w)")
# GFM's extended autolinks (GFM spec §6.9): "http://", "https://", "ftp://" and "www.".
_AUTOLINK = re.compile(r"(?i)\b(https?|ftp)(?=:/)|\b(www)(?=\.)")


def escape(text: object) -> str:
    """One line of Markdown that renders as `text` was written, and pings no one.

    "&" becomes "&amp;": an entity such as "&#64;" would otherwise render as "@" and mention.
    Line breaks become spaces, so a name cannot end a table row or start a block.
    """
    value = re.sub(r"[\r\n\u2028\u2029]+", " ", str(text)).replace("&", "&amp;")
    return unlinked(_MARKUP.sub(r"\\\1", value))


def unlinked(text: str) -> str:
    """`text` with no mention, issue reference or bare URL GitHub would link (markup aside)."""
    text = _REFERENCE.sub(lambda m: m[1] + WORD_JOINER, text)
    return _AUTOLINK.sub(lambda m: (m[1] or m[2]) + WORD_JOINER, text)


def code_block(text: str) -> str:
    """`text` verbatim in a fenced code block whose fence no run of backticks in it can close
    (CommonMark §4.5: the closing fence is at least as long as the opening one)."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}text\n{text}\n{fence}"
