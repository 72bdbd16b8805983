"""Add time off, and for every shift of yours it collides with (on every schedule) the best swap.

Where nobody can take a shift it says so and still proposes the rest. With --apply it opens one
pull request with the time off and the swaps (GITHUB_TOKEN); the same request again finds it.
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
from scripts.rotation import consistency, schedule
from scripts.rotation.model import Rotation, TimeOff
from scripts.rotation.problems import UsageError, suggest
from scripts.swaps import edit, pull_request, time_off
from scripts.swaps.candidates import describe


def main(argv: list[str] | None = None) -> int:
    return runner.start(JOB, parser(), argv)


def parser() -> argparse.ArgumentParser:
    p = cli.parser(__doc__)
    p.add_argument("--person", required=True, help="who is off: a handle of rotation.yaml")
    p.add_argument(
        "--from", dest="first", required=True, type=cli.parse_date, help="the first day off"
    )
    p.add_argument("--to", dest="last", required=True, type=cli.parse_date, help="the last day off")
    p.add_argument("--reason", default="", help="why (shown in rotation.yaml and the PR)")
    pull_requests.add_arguments(p)
    return p


@dataclass(frozen=True)
class Setup:
    rot: Rotation
    now: datetime
    person: str
    first: date
    last: date
    reason: str
    target: pull_requests.Target


def setup(args: argparse.Namespace) -> Setup:
    rot, _warnings = cli.load(args.config)
    now = cli.now_or(args)
    person, first, last = args.person, args.first, args.last
    if person not in rot.people:
        raise UsageError(f"--person {person!r} is not a person{suggest(person, rot.people)}")
    if last < first:
        raise UsageError(f"--to {last} is before --from {first}; nothing was written")
    start, end = consistency.time_off_span(rot, TimeOff(person, first, last))
    if start <= now:
        raise UsageError(f"--from {first} has begun or is past: time off is asked ahead; "
                         "nothing was written")  # fmt: skip
    for s in schedule.shifts(rot, start, end):
        if s.person == person and s.start <= now:
            since = f"{s.start.astimezone(rot.zone):%a %d %b %H:%M}"
            raise UsageError(
                f"{person}'s {rot.schedule_label(s.schedule)} shift since {since} is in "
                "progress: a request cannot change it; nothing was written"
            )
    return Setup(rot, now, person, first, last, args.reason, pull_requests.target(args))


def observe(s: Setup, gh: GitHub | None) -> PullRequest | None:
    return pull_requests.find_open(
        gh, s.target, pull_request.time_off_branch(s.person, str(s.first))
    )


def planned(s: Setup, seen: PullRequest | None, heading: str) -> runner.Planned:
    p = time_off.plan(s.rot, s.person, s.first, s.last, s.reason, s.now)
    lines = [f"{heading}: {s.person} off {s.first}..{s.last}", ""]
    lines += [_line(s, c) for c in p.collisions] or ["No shift of theirs falls in it."]
    entries = time_off.entries(s.person, p, s.reason)
    lines += ["", f"Added to {s.rot.file}:", ""]
    for key, entry in entries:
        lines += [f"{key}:", *edit.block(entry, 2)]
    text = "\n".join(lines)
    markdown = "\n".join(f"- {escape(x.strip())}" if x.startswith("  ") else escape(x)
                         for x in lines)  # fmt: skip
    json = {"person": s.person, "from": str(s.first), "to": str(s.last),
            "entries": [{"list": k, "entry": e} for k, e in entries]}  # fmt: skip
    if seen is not None:
        said = f"Its pull request is open already: {seen.html_url}"
        return runner.Planned([], f"{text}\n\n{said}", f"{markdown}\n\n{escape(said)}", json=json)
    branch = pull_request.time_off_branch(s.person, str(s.first))
    title = f"Time off: {s.rot.people[s.person].name}, {s.first} to {s.last}"
    asks = [f"{pull_request.mention(s.rot, s.person)} asks for time off {s.first} to {s.last}."]
    asks += [escape(_line(s, c).strip()) for c in p.collisions]
    spans = [c.span for c in p.collisions] + [c.taker.give_back for c in p.collisions
                                              if c.taker and c.taker.give_back]  # fmt: skip
    body = pull_request.body(s.rot, p.after, asks, s.reason, spans) if spans else "\n".join(asks)
    t = s.target
    write = PullRequestOpen(t.repo, t.base, branch, t.path, entries, title, body)
    change = Change("open", t.repo or "GitHub", f"pull request {branch}: {title}",
                    "time-off request", s.rot.people[s.person].line, write)  # fmt: skip
    return runner.Planned([change], text, markdown, json=json)


def _line(s: Setup, c: time_off.Collision) -> str:
    where = describe(s.rot, c.span)
    if c.taker is None or c.taker.give_back is None:
        return f"  {where}: {c.why_not}; it stays {s.person}'s"
    return (f"  {where}: {c.taker.person} takes it; {s.person} covers their "
            f"{describe(s.rot, c.taker.give_back)}")  # fmt: skip


JOB = runner.Job[Setup, GitHub, PullRequest | None](
    title="Time-off request",
    policy=runner.Policy.STOP,
    setup=setup,
    connect=runner.client(pull_requests.TOKEN, GitHub),
    observe=observe,
    plan=planned,
    writer=pull_requests.writer,
    tokens=runner.needs(pull_requests.TOKEN),
    refuse=lambda s: pull_requests.refuse(s.target),
)


if __name__ == "__main__":
    sys.exit(main())
