"""Who could take a shift of yours, best first, each with the shift of theirs you cover in return.

`--date` names your shift as a swap date does: any date in the week, or with `--days` the day.
It prints the swap entry for rotation.yaml; opening the pull request with --apply is not built
yet (issue 19), so --apply refuses and writes nothing.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from scripts import cli, runner
from scripts.plan import Change
from scripts.rotation import schedule
from scripts.rotation.model import HERO, Rotation
from scripts.rotation.problems import UsageError, suggest
from scripts.swaps import candidates, report


def main(argv: list[str] | None = None) -> int:
    return runner.start(JOB, parser(), argv)


def parser() -> argparse.ArgumentParser:
    p = cli.parser(__doc__)
    p.add_argument("--person", required=True, help="whose shift: a handle of rotation.yaml")
    p.add_argument("--date", required=True, type=_date, help="a date in the shift (YYYY-MM-DD)")
    p.add_argument("--days", action="store_true", help="that single day, not the whole week")
    p.add_argument("--schedule", default=HERO, help=f"{HERO} (default) or a team key")
    p.add_argument("--with", dest="partner", metavar="HANDLE", help="ask only this person")
    p.add_argument("--reason", default="", help="why (shown in rotation.yaml and the PR)")
    return p


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date: {text!r} (write YYYY-MM-DD)") from None


@dataclass(frozen=True)
class Setup:
    rot: Rotation
    now: datetime
    person: str
    span: candidates.Span
    partner: str | None
    reason: str


def setup(args: argparse.Namespace) -> Setup:
    rot, _warnings = cli.load(args.config)
    now = cli.now_or(args)
    span = requested(rot, args.person, args.schedule, args.date, args.days, now)
    if args.partner:
        _on_rotation(rot, args.partner, args.schedule, "--with")
    return Setup(rot, now, args.person, span, args.partner, args.reason)


def planned(s: Setup, _seen: None, heading: str) -> runner.Planned:
    """Pure: the candidates and the entry; no change is planned until --apply opens PRs."""
    found = candidates.candidates(s.rot, s.person, s.span, s.now, only=s.partner)
    text = report.text(s.rot, s.person, s.span, found, s.reason)
    markdown = report.markdown(s.rot, s.person, s.span, found, s.reason)
    return runner.Planned(
        [], f"{heading}: {text}", markdown, json=report.as_json(s.person, s.span, found)
    )


def _no_writes(s: Setup, seen: None, adapters: None, changes: Sequence[Change]) -> runner.Write:
    raise TypeError("request_swap plans no change yet")


JOB = runner.Job(
    title="Swap request",
    policy=runner.Policy.STOP,
    setup=setup,
    connect=lambda s: None,  # no service is read: the rotation and the engine answer it
    observe=lambda s, adapters: None,
    plan=planned,
    writer=_no_writes,
    refuse=lambda s: (
        "opening the pull request is not built yet: add the entry this dry run prints to the "
        f"swaps: list of {s.rot.file} in a pull request"
    ),
)


def requested(
    rot: Rotation, person: str, key: str, day: date, single_day: bool, now: datetime
) -> candidates.Span:
    """The shift asked about; a usage error, with a suggestion, when it is none of theirs."""
    _on_rotation(rot, person, key, "--person")
    span = candidates.span_of(rot, key, day, single_day)
    on = candidates.base_person(rot, span)
    if on != person:
        who = f"{on} is" if on else "nobody is yet"
        raise UsageError(
            f"{person} is not on {candidates.describe(rot, span)} ({who}, before swaps)"
            f"{_nearest(rot, person, span, now)}; nothing was written"
        )
    if span.start <= now:
        raise UsageError(
            f"{candidates.describe(rot, span)} has started: a swap cannot change a shift in "
            "progress or past; nothing was written"
        )
    return span


def _on_rotation(rot: Rotation, person: str, key: str, option: str) -> None:
    if key != HERO and key not in rot.teams:
        choices = [HERO, *rot.teams]
        raise UsageError(f"--schedule {key!r} is not a schedule{suggest(key, choices)}")
    if person not in rot.people:
        raise UsageError(f"{option} {person!r} is not a person{suggest(person, rot.people)}")
    if rot.cycle(key) is None:
        raise UsageError(f"{rot.teams[key].name} has no secondary rotation to swap on")
    if person not in rot.cycle_of(key).order:
        raise UsageError(f"{option} {person} is not on the {key} rotation")


def _nearest(rot: Rotation, person: str, span: candidates.Span, now: datetime) -> str:
    """ "; their nearest is the week of ..." (not started), a hint for the date."""
    cycle = rot.cycle_of(span.schedule)
    week = schedule.week_of(rot, span.start)
    for k in sorted(range(-52, 53), key=abs):
        day = week + schedule.WEEK * k
        start = schedule.handoff(rot, day)
        if start > now and schedule.person_on(cycle, rot, start) == person:
            return f"; their nearest is the week of {day}"
    return ""


if __name__ == "__main__":
    sys.exit(main())
