"""Job: validate rotation.yaml, show the coming weeks and, with --base, what the edit moves."""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta
from pathlib import Path

from scripts import check_report, cli, fairness, history, rotation, schedule
from scripts.model import Rotation
from scripts.problems import ConfigError, Problem


def _parser():
    p = cli.parser(__doc__)
    p.add_argument(
        "--weeks", type=cli.count(1, 520), default=8, help="how many weeks to show (default 8)"
    )
    p.add_argument(
        "--base",
        metavar="REV|FILE",
        help="compare with this git revision (e.g. origin/main) or file",
    )
    return p


def load_base(base: str, config: str) -> Rotation:
    """The rotation as it was at a git revision, or in another file."""
    if Path(base).is_file():
        return rotation.load(base)[0]
    top = subprocess.run(
        ["git", "rev-parse", "--show-toplevel"], capture_output=True, text=True, check=False
    ).stdout.strip()
    relative = Path(config).resolve().relative_to(top) if top else Path(config)
    shown = subprocess.run(
        ["git", "show", f"{base}:{relative.as_posix()}"],
        capture_output=True,
        text=True,
        check=False,
    )
    if shown.returncode != 0:
        raise cli.UsageError(
            f"--base {base}: cannot read {relative} there ({shown.stderr.strip() or 'git failed'})"
        )
    return rotation.load(f"{base}:{relative.as_posix()}", text=shown.stdout)[0]


def rewrite_problems(rot: Rotation, base: Rotation, now) -> list[Problem]:
    """Errors for order/since/first edits that change a shift which has already started."""
    problems = []
    for r in history.rewrites(base, rot, now):
        cycle = rot.cycle(r.schedule)
        local = r.week.astimezone(rot.zone)
        problems.append(
            Problem(
                rot.file,
                cycle.since_line,
                cycle.since_col,
                _cycle_path(r.schedule),
                f"this change moves a shift that has already started (week of {local:%Y-%m-%d}: "
                f"{r.before} -> {r.after}); to keep everyone's upcoming weeks where they were, "
                f"use since: {{week: {r.since}, first: {r.first}}}",
            )
        )
    return problems


def moves_ahead(base: Rotation, rot: Rotation, now, weeks: int = 0) -> list[history.Move]:
    """What the edit moves from the shift that holds `now`: `weeks` ahead, a year at least."""
    start = schedule.handoff(rot, schedule.week_of(rot, now))
    return history.moves(base, rot, start, start + timedelta(weeks=max(weeks, 52)))


def _cycle_path(key: str) -> str:
    return "support_hero.since" if key == "support-hero" else f"teams.{key}.secondary.since"


def run(args) -> int:
    now = cli.now_or(args)
    try:
        rot, warnings = rotation.load(args.config)
    except ConfigError as exc:
        return _fail(args, exc.problems)
    base = load_base(args.base, args.config) if args.base else None
    errors = rewrite_problems(rot, base, now) if base else []
    if errors:
        return _fail(args, errors)
    warnings = sorted(
        warnings
        + [
            Problem(rot.file, line, 1, "", message, "warning")
            for line, message in fairness.warnings(rot, now)
        ]
    )
    moves = moves_ahead(base, rot, now, args.weeks) if base else None
    report = check_report.build(rot, now, args.weeks, warnings, moves)
    cli.report_problems(warnings, echo=args.format == "json")
    if args.format == "json":
        print(check_report.as_json(report, []))
    elif args.format == "markdown":
        print(check_report.markdown(report))
    else:
        print(check_report.text(report))
    cli.write_summary(check_report.markdown(report))
    return cli.EXIT_OK


def _fail(args, problems: list[Problem]) -> int:
    if args.format == "json":
        print(check_report.as_json(None, problems))
    cli.report_problems(problems)
    n = len(problems)
    print(f"{n} problem{'s' if n != 1 else ''} in {args.config}.", file=sys.stderr)
    cli.write_summary(
        "### rotation.yaml has problems\n\n" + "\n".join(f"- `{p}`" for p in problems)
    )
    return cli.EXIT_USAGE


def main(argv=None) -> int:
    return cli.guard(_parser(), argv, run)


if __name__ == "__main__":
    sys.exit(main())
