"""Pure Markdown of the one rotation comment on a pull request: what moves, who, and the errors."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, TypeVar

from scripts.markup.github_text import escape
from scripts.rotation.check_report import affected
from scripts.rotation.history import Move
from scripts.rotation.model import Person, Rotation
from scripts.rotation.problems import Problem

MARKER = "<!-- support-hero:rotation-check -->"  # how a later run finds the comment again
MAX_ROWS = 50  # a year of a four-schedule rotation can move; the job summary has every row
FOOTER = "_support-hero keeps this comment up to date on every push to this pull request._"


class HasBody(Protocol):
    """What this core reads of a comment: its text (the adapter's Comment provides it)."""

    @property
    def body(self) -> str | None: ...


Commented = TypeVar("Commented", bound=HasBody)


@dataclass(frozen=True)
class Body:
    """The comment's Markdown; `news` when it says something (a move or an error)."""

    text: str
    news: bool


def render(
    new: Rotation | None, base: Rotation | None, moves: list[Move], errors: list[Problem]
) -> Body:
    """The comment for this state of the pull request. `new` is None when it does not load."""
    rots = [r for r in (new, base) if r is not None]
    sections = [f"{MARKER}\n### Rotation check"]
    if moves:
        sections.append(moves_table(rots, moves))
    elif new is not None:
        sections.append("Nothing moves: as this pull request is now, no shift changes hands.")
    if errors:
        sections.append(_errors(errors))
    sections.append(FOOTER)
    return Body("\n\n".join(sections) + "\n", bool(moves or errors))


def find_ours(comments: Iterable[Commented]) -> Commented | None:
    """The oldest comment that starts with the marker (a quote of it starts with "> ")."""
    return next((c for c in comments if (c.body or "").lstrip().startswith(MARKER)), None)


def moves_table(rots: list[Rotation], moves: list[Move]) -> str:
    """The shifts that change hands, as a table, and the people affected (mentioned)."""
    zone = rots[0].timezone
    n = len(moves)
    lines = [
        f"This pull request moves {n} shift{'s' if n != 1 else ''} (times in {zone}):",
        "",
        "| Schedule | From | Until | Before | After |",
        "|---|---|---|---|---|",
    ]
    for m in moves[:MAX_ROWS]:
        cells = [
            _schedule_name(rots, m.schedule),
            _when(rots[0], m.start),
            _when(rots[0], m.end),
            _name(rots, m.before),
            _name(rots, m.after),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    if n > MAX_ROWS:
        lines += ["", f"…and {n - MAX_ROWS} more: the check's job summary lists every one."]
    people = ", ".join(_mention(rots, p) for p in affected(moves))
    return "\n".join([*lines, "", f"People affected: {people}"])


def _errors(errors: list[Problem]) -> str:
    n = len(errors)
    head = f"**{errors[0].file} has {n} problem{'s' if n != 1 else ''}**; the check fails until "
    head += "they are fixed:"
    return "\n".join([head, ""] + ["- `" + str(p).replace("`", "'") + "`" for p in errors])


def _when(rot: Rotation, instant: datetime) -> str:
    return f"{instant.astimezone(rot.zone):%a %d %b %Y %H:%M}"


def _person(rots: list[Rotation], handle: str) -> Person | None:
    return next((r.people[handle] for r in rots if handle in r.people), None)


def _name(rots: list[Rotation], handle: str | None) -> str:
    if handle is None:
        return "(nobody)"
    person = _person(rots, handle)
    return escape(person.name if person else handle)


def _mention(rots: list[Rotation], handle: str) -> str:
    """@login notifies the person on GitHub; without one, their name."""
    person = _person(rots, handle)
    if person and person.github:  # the schema's login pattern: nothing but a login
        return f"@{person.github}"
    return escape(person.name if person else handle)


def _schedule_name(rots: list[Rotation], key: str) -> str:
    rot = next((r for r in rots if key in r.schedules()), None)
    if rot is None:
        return escape(key)
    return escape(rot.schedule_label(key))
