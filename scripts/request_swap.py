"""Who could take a shift of yours, best first, each with the shift of theirs you cover in return.

`--date` names your shift as a swap date does: any date in the week, or with `--days` the day.
With --apply it opens the pull request that adds the swap with the best of them to
rotation.yaml (GITHUB_TOKEN); the same request again finds that pull request and opens none.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from datetime import date, datetime

from scripts import cli, pull_requests, runner
from scripts.clients.github import GitHub, PullRequest
from scripts.markup.github_text import escape
from scripts.plan import Change, PullRequestOpen
from scripts.rotation import schedule
from scripts.rotation.model import HERO, Rotation
from scripts.rotation.problems import UsageError, suggest
from scripts.swaps import candidates, pull_request, report


def main(argv: list[str] | None = None) -> int:
    return runner.start(JOB, parser(), argv)


def parser() -> argparse.ArgumentParser:
    p = cli.parser(__doc__)
    p.add_argument("--person", required=True, help="whose shift: a handle of rotation.yaml")
    p.add_argument(
        "--date", required=True, type=cli.parse_date, help="a date in the shift (YYYY-MM-DD)"
    )
    p.add_argument("--days", action="store_true", help="that single day, not the whole week")
    p.add_argument("--schedule", default=HERO, help=f"{HERO} (default) or a team key")
    p.add_argument("--with", dest="partner", metavar="HANDLE", help="ask only this person")
    p.add_argument("--reason", default="", help="why (shown in rotation.yaml and the PR)")
    pull_requests.add_arguments(p)
    return p


@dataclass(frozen=True)
class Setup:
    rot: Rotation
    now: datetime
    person: str
    span: candidates.Span
    partner: str | None
    reason: str
    target: pull_requests.Target


def setup(args: argparse.Namespace) -> Setup:
    rot, _warnings = cli.load(args.config)
    now = cli.now_or(args)
    span = requested(rot, args.person, args.schedule, args.date, args.days, now)
    if args.partner:
        _on_rotation(rot, args.partner, args.schedule, "--with")
    target = pull_requests.target(args)
    return Setup(rot, now, args.person, span, args.partner, args.reason, target)


def observe(s: Setup, gh: GitHub | None) -> PullRequest | None:
    """This request's pull request, if one is open already."""
    return pull_requests.find_open(gh, s.target, pull_request.swap_branch(s.person, s.span))


def planned(s: Setup, seen: PullRequest | None, heading: str) -> runner.Planned:
    """The candidates, best first, and (for the best) the pull request to open."""
    found = candidates.candidates(s.rot, s.person, s.span, s.now, only=s.partner)
    text = f"{heading}: " + report.text(s.rot, s.person, s.span, found, s.reason)
    markdown = report.markdown(s.rot, s.person, s.span, found, s.reason)
    json = report.as_json(s.person, s.span, found)
    best = next((c for c in found if c.can), None)
    if seen is not None:
        said = f"Its pull request is open already: {seen.html_url}"
        return runner.Planned([], f"{text}\n\n{said}", f"{markdown}\n\n{escape(said)}", json=json)
    if best is None or best.give_back is None:
        return runner.Planned([], text, markdown, json=json, code=cli.EXIT_USAGE)
    entry = report.entry(s.person, best, s.span, s.reason)
    after = candidates.with_swap(s.rot, s.person, best.person, s.span, best.give_back)
    lines = [
        f"{pull_request.mention(s.rot, s.person)} asks to swap their "
        f"{escape(candidates.describe(s.rot, s.span))}; {pull_request.mention(s.rot, best.person)} "
        f"takes it and {escape(s.person)} covers their "
        f"{escape(candidates.describe(s.rot, best.give_back))}.",
    ]
    body = pull_request.body(s.rot, after, lines, s.reason, [s.span, best.give_back])
    title = pull_request.swap_title(s.rot, s.person, best.person, s.span)
    branch = pull_request.swap_branch(s.person, s.span)
    t = s.target
    write = PullRequestOpen(t.repo, t.base, branch, t.path, [("swaps", entry)], title, body)
    change = Change("open", t.repo or "GitHub", f"pull request {branch}: {title}", "swap request",
                    s.rot.cycle_of(s.span.schedule).line, write)  # fmt: skip
    return runner.Planned([change], text, markdown, json=json)


JOB = runner.Job[Setup, GitHub, PullRequest | None](
    title="Swap request",
    policy=runner.Policy.STOP,
    setup=setup,
    connect=runner.client(pull_requests.TOKEN, GitHub),
    observe=observe,
    plan=planned,
    writer=pull_requests.writer,
    tokens=runner.needs(pull_requests.TOKEN),
    refuse=lambda s: pull_requests.refuse(s.target),
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
    if taken := candidates.swapped(rot, person, span):
        fix = f"by the swap at {rot.file}:{taken.line}: change that entry instead"
        if taken.why == "hero":
            fix = "as the hero covering their team: swap the hero week instead"
        raise UsageError(
            f"{taken.person} already holds {candidates.describe(rot, span)} from "
            f"{taken.start.astimezone(rot.zone):%a %d %b} {fix}; nothing was written"
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
