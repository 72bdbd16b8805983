"""Config problems: where they are, how they read, and how every job reports them."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, order=True)
class Problem:
    """One error or warning, anchored at a place in a file."""

    file: str
    line: int
    column: int
    path: str
    message: str
    severity: str = "error"

    def __str__(self) -> str:
        """One line, whatever the file held: a line break in a key shows as \\n."""
        where = f"{self.path}: " if self.path else ""
        return one_line(f"{self.file}:{self.line}:{self.column}: {where}{self.message}")

    def as_json(self) -> dict[str, Any]:
        where = f"{self.path}: " if self.path else ""
        return {
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "message": where + self.message,
        }


# Line breaks and other control characters (C0 but tab, DEL, C1, the Unicode line and paragraph
# separators) as Python writes them in a string literal.
_CONTROL = {c: repr(chr(c))[1:-1] for c in [*range(0, 9), *range(10, 32), *range(127, 160)]}
_CONTROL |= {0x2028: "\\u2028", 0x2029: "\\u2029"}


def one_line(text: str) -> str:
    """`text` with every line break and control character written as an escape."""
    return text.translate(_CONTROL)


class UsageError(Exception):
    """Bad usage or environment (a missing token, an unknown team): exit 2, nothing written."""


class ConfigError(Exception):
    """Raised with every problem found, so that a user sees them all at once."""

    def __init__(self, problems: Iterable[Problem]):
        self.problems = sorted(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


def suggest(word: str, choices: Iterable[str]) -> str:
    """A ' (did you mean ...?)' suffix when a close match exists, else ''."""
    match = difflib.get_close_matches(str(word), sorted(choices), n=1, cutoff=0.6)
    return f" (did you mean '{match[0]}'?)" if match else ""


def _escape_data(text: str) -> str:
    # GitHub Actions workflow-command escaping for the message part.
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def annotation(problem: Problem) -> str:
    """The problem as a GitHub Actions `::error file=...::` workflow command."""
    kind = "error" if problem.severity == "error" else "warning"
    props = ",".join(
        [
            f"file={_escape_property(problem.file)}",
            f"line={problem.line}",
            f"col={problem.column}",
        ]
    )
    where = f"{problem.path}: " if problem.path else ""
    return f"::{kind} {props}::{_escape_data(where + problem.message)}"
