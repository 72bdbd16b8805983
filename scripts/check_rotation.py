"""Job: validate rotation.yaml, show the coming weeks and, with --base, what the edit moves."""

from __future__ import annotations

import sys

from scripts import cli
from scripts.rotation import check_report, fairness
from scripts.rotation import load as rotation
from scripts.rotation.change import load_base, moves_ahead, rewrite_problems
from scripts.rotation.problems import ConfigError, Problem
from scripts.swaps import candidates


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
            + candidates.holiday_warnings(rot, now, args.weeks)
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
