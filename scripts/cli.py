"""The command line every job shares: arguments, config loading, error output and exit codes."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime
from pathlib import Path

from scripts import console, redaction
from scripts.clients.http import Failure
from scripts.rotation import load as rotation
from scripts.rotation.model import Rotation
from scripts.rotation.problems import ConfigError, Problem, UsageError, annotation

EXIT_OK, EXIT_APPLY_FAILED, EXIT_USAGE = 0, 1, 2


def parser(description: str) -> argparse.ArgumentParser:
    """An ArgumentParser with the options every job takes."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--config", default="rotation.yaml", help="the rotation file (rotation.yaml)")
    p.add_argument(
        "--now",
        type=parse_now,
        default=None,
        help="pretend it is this ISO 8601 instant (default: now)",
    )
    p.add_argument("--format", choices=("text", "markdown", "json"), default="text")
    p.add_argument("--apply", action="store_true", help="write changes (default: dry run)")
    return p


def parse_now(text: str) -> datetime:
    """An ISO 8601 instant; without an offset it is taken as UTC."""
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 time: {text!r}") from exc
    if not rotation.EARLIEST <= value.date() <= rotation.LATEST:
        raise argparse.ArgumentTypeError(f"{text!r} is outside the years {rotation.YEARS}")
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def parse_date(text: str) -> date:
    """A calendar date, YYYY-MM-DD, inside the years this tool plans for."""
    try:
        value = date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date: {text!r} (write YYYY-MM-DD)") from None
    if not rotation.EARLIEST <= value <= rotation.LATEST:
        raise argparse.ArgumentTypeError(f"{text!r} is outside the years {rotation.YEARS}")
    return value


def count(low: int, high: int):
    """An argparse type: a whole number from `low` to `high` (weeks ahead, say)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{value} is not from {low} to {high}")
        return value

    return parse


def now_or(args) -> datetime:
    return args.now or datetime.now(UTC)


def load(path: str) -> tuple[Rotation, list[Problem]]:
    """Load the rotation, printing warnings to stderr; ConfigError propagates to `guard`."""
    rot, warnings = rotation.load(path)
    report_problems(warnings)
    return rot, warnings


def report_problems(problems: Iterable[Problem], echo: bool = True) -> None:
    """Problems on stderr (unless the report shows them), and as annotations inside Actions."""
    in_actions = os.environ.get("GITHUB_ACTIONS") == "true"
    for problem in problems:
        prefix = "" if problem.severity == "error" else "warning: "
        if echo:
            print(prefix + str(problem), file=sys.stderr)
        if in_actions:  # the runner reads workflow commands on stderr too; stdout stays clean
            console.command(annotation(problem))


def guard(p: argparse.ArgumentParser, argv: list[str] | None, job: Callable[..., int]) -> int:
    """Parse `argv` and run `job(args)` with this run's secrets redacted from, and workflow
    commands defused in, all it prints; bad config and usage exit 2, anything else that escapes
    a job is one line and exit 1, never a traceback."""
    redaction.begin(os.environ)
    with console.defused():
        args = p.parse_args(argv)  # argparse's own errors, which echo arguments, pass here too
        return _mapped(lambda: job(args))


def _mapped(job) -> int:
    try:
        return job()
    except ConfigError as exc:
        report_problems(exc.problems)
        n = len(exc.problems)
        print(
            f"{n} problem{'s' if n != 1 else ''} in the configuration; nothing was written.",
            file=sys.stderr,
        )
        return EXIT_USAGE
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except Failure as exc:  # a read or write failed after retries
        print(f"error: {exc}; nothing more was written", file=sys.stderr)
        return failed(exc)
    except Exception as exc:  # a bug or an answer no adapter foresaw: one line, no traceback
        print(f"error: {one_line(exc)}; the next run starts over", file=sys.stderr)
        return EXIT_APPLY_FAILED


def failed(exc: BaseException) -> int:
    """The exit code for a service's failure: 2 when it refused the token, else 1."""
    return EXIT_USAGE if isinstance(exc, Failure) and exc.setup else EXIT_APPLY_FAILED


def one_line(exc: BaseException, limit: int = 300) -> str:
    """An exception as one short line: its kind and the first line of its text."""
    text = (str(exc).strip().splitlines() or [""])[0]
    text = text if len(text) <= limit else text[: limit - 1] + "…"
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def token(name: str, needed: bool) -> str | None:
    """A token from the environment; with `needed` (an --apply) its absence is a usage error."""
    value = os.environ.get(name) or None
    if needed and not value:
        raise UsageError(f"--apply needs {name} in the environment; nothing was written")
    return value


def write_summary(markdown: str) -> None:
    """Append Markdown to the GitHub Actions job summary when there is one."""
    path = os.environ.get("GITHUB_STEP_SUMMARY")
    if path:
        with Path(path).open("a", encoding="utf-8") as f:
            f.write(redaction.redact(markdown.rstrip()) + "\n\n")
