"""The pull request a request opens: its branch (found again by name), title and body."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from scripts.markup.github_text import escape
from scripts.rotation import history
from scripts.rotation.model import Rotation
from scripts.rotation.pr_comment_body import moves_table
from scripts.swaps.candidates import Span, describe

PREFIX = "support-hero/"  # every branch a request makes


def swap_branch(asker: str, span: Span) -> str:
    """One branch per asked shift: the same request again finds its pull request."""
    kind = "day" if span.single_day else "week"
    return f"{PREFIX}swap-{span.schedule}-{asker}-{kind}-{span.day}"


def time_off_branch(person: str, first: str) -> str:
    return f"{PREFIX}time-off-{person}-{first}"


def mention(rot: Rotation, handle: str) -> str:
    """@login notifies them on GitHub (the schema's pattern admits nothing else); else a name."""
    p = rot.people[handle]
    return f"@{p.github}" if p.github else escape(p.name)


def swap_title(rot: Rotation, asker: str, partner: str, span: Span) -> str:
    return f"Swap: {partner} takes {asker}'s {describe(rot, span)}"


def body(
    before: Rotation, after: Rotation, lines: Sequence[str], reason: str, spans: Sequence[Span]
) -> str:
    """What is asked, why, and the table of every shift that changes hands."""
    start = min(s.start for s in spans) - timedelta(weeks=1)
    end = max(s.end for s in spans) + timedelta(weeks=1)
    moves = history.moves(before, after, start, end)
    text = [*lines]
    if reason:
        text += ["", f"Reason: {escape(reason)}"]
    text += ["", moves_table([after, before], moves) if moves else "Nothing moves."]
    text += ["", "_Opened by support-hero's request job. The rotation check runs on it as on any "
             "pull request: approve and merge it, or close it to drop the request._"]  # fmt: skip
    return "\n".join(text)
