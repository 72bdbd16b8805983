"""The demo's tour: each job run as a subprocess against the fakes, its output shown as it comes."""

from __future__ import annotations

import argparse
import importlib
import re
import subprocess
import sys
import tempfile
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from demo import support
from demo import world as worlds
from demo.sections import (
    CONFIG,
    PR_CONFIG,
    SENTRY_CONFIG,
    SITE,
    STATE,
    Run,
    Section,
    pull_request_edit,
    sections,
)
from demo.world import World
from scripts import cli
from scripts.rotation import load as rotation
from scripts.rotation.model import Rotation
from scripts.rotation.problems import ConfigError

ROOT = Path(__file__).resolve().parents[1]
NOW = datetime(2026, 12, 16, 10, 0, tzinfo=UTC)  # a Wednesday in the example: a single-day swap
RULE = "=" * 100
PR_SHOWN = "pr/rotation.yaml"  # the PR's rotation.yaml, in a temporary folder
STATE_SHOWN = "flag_stale.sqlite"  # flag_stale's state, in the same folder
SENTRY_SHOWN = "sentry/rotation.yaml"  # yours with its `sentry` section on, in the same folder
SITE_DEFAULT = ".cache/support-hero/site"  # the calendar site: kept, to open after the demo
_BLOCKS = re.compile(r"^(Message \(Block Kit JSON\)):\n\[\n.*?^\]$", re.M | re.S)


@dataclass(frozen=True)
class Result:
    run: Run
    code: int | None  # None: skipped


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m demo", description=__doc__)
    p.add_argument("--config", default="rotation.yaml", help="the rotation (rotation.yaml)")
    p.add_argument("--customers", default="customers.example.yaml", help="the customer directory")
    p.add_argument("--now", type=cli.parse_now, default=NOW, help=f"default {NOW.isoformat()}")
    p.add_argument("--latency", type=float, default=0.0, help="seconds added to every request")
    p.add_argument("--verbose", action="store_true", help="show every line, Block Kit JSON too")
    p.add_argument(
        "--site",
        default=SITE_DEFAULT,
        help=f"where the calendar site goes (default {SITE_DEFAULT})",
    )
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    config = _in_repo(args.config)
    try:
        rot, _ = rotation.load(ROOT / config)
    except ConfigError as exc:
        print(f"{args.config} does not load:\n{exc}", file=sys.stderr)
        return cli.EXIT_USAGE
    print(f"support-hero demo: every job against local fakes seeded from {config}")
    print(f"Now is {args.now.isoformat()}. No token is needed; no real service is contacted.")
    with ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="support-hero-demo-")))
        paths = {CONFIG: config, PR_CONFIG: str(tmp / "rotation.yaml"), SENTRY_CONFIG: config,
                 STATE: str(tmp / "flag_stale.sqlite"), SITE: args.site}  # fmt: skip
        sentry_rot = rot if "sentry" in rot.settings else sentry_config(config, tmp, paths)
        customers = _in_repo(args.customers)
        world = worlds.start(stack, rot, customers, args.now, args.latency, sentry_rot)
        edited = pull_request_edit(rot, ROOT / config, args.now)
        if edited:
            Path(paths[PR_CONFIG]).write_text(edited, encoding="utf-8")
        results = tour(sections(rot, world.pr, bool(edited)), world, paths, args)
        violations = [v for fake in world for v in fake.violations]
    return summary(results, violations)


def sentry_config(config: str, tmp: Path, paths: dict[str, str]) -> Rotation:
    """Your rotation with a `sentry` section, written for flag_stale (in `paths`); loaded."""
    path = tmp / "sentry" / "rotation.yaml"
    path.parent.mkdir()
    path.write_text(support.with_sentry((ROOT / config).read_text(encoding="utf-8")), "utf-8")
    paths[SENTRY_CONFIG] = str(path)
    return rotation.load(path)[0]


def tour(todo: list[Section], world: World, paths: dict[str, str], args) -> list[Result]:
    results = []
    own = paths.get(SENTRY_CONFIG, paths[CONFIG]) == paths[CONFIG]
    shown = {CONFIG: paths[CONFIG], PR_CONFIG: PR_SHOWN, STATE: STATE_SHOWN}
    shown[SITE] = paths.get(SITE, SITE_DEFAULT)
    shown[SENTRY_CONFIG] = paths[CONFIG] if own else SENTRY_SHOWN
    for section in todo:
        print(f"\n{RULE}\n{section.title}\n{RULE}\n{_fill(section.intro, shown)}")
        if section.needs and (why := _unimportable(section.needs)):
            print(f"\nskipped: {section.needs} does not import ({why})")
            results += [Result(r, None) for r in section.runs]
            continue
        for run in section.runs:
            print("\n" + command_line(run, shown))
            if names := sorted(set(world.job_env(*run.services)) - set(world.job_env())):
                print(f"  (env set by the demo: {', '.join(names)})")
            code, output = run_job(run, paths, world, args.now)
            for key in (PR_CONFIG, SENTRY_CONFIG, STATE):  # temporary files by the names shown
                output = output.replace(paths.get(key) or key, shown[key])
            print("\n" + trimmed(output, run.tail, args.verbose))
            wrong = "" if code == run.expect else f" (expected {run.expect})"
            print(f"[{run.job} exited {code}]{wrong}")
            results.append(Result(run, code))
        if section.after and section.runs:
            print("\n" + section.after(world))
    return results


def run_job(run: Run, paths: dict[str, str], world: World, now: datetime) -> tuple[int, str]:
    """`python -m scripts.<job>` in the repository: exit code, stdout and stderr interleaved."""
    args = [_fill(a, paths) for a in run.args]
    config = () if "--config" in args else ("--config", paths[CONFIG])
    proc = subprocess.run(
        [sys.executable, "-m", f"scripts.{run.job}", *config, *args, "--now", now.isoformat()],
        cwd=ROOT,
        env=world.job_env(*run.services),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        check=False,
    )
    return proc.returncode, proc.stdout


def trimmed(output: str, tail: int | None, verbose: bool) -> str:
    """A job's output as the demo shows it: Block Kit JSON (the text says the same) left out,
    and for an apply after its dry run only the last `tail` lines."""
    if verbose:
        return output.rstrip()
    lines = _BLOCKS.sub(r"\1: left out (python -m demo --verbose shows it)", output)
    lines = lines.rstrip().splitlines()
    if tail is None or len(lines) <= tail:
        return "\n".join(lines)
    kept = ["...", *lines[-tail:]] if tail else []
    return "\n".join(["(the plan, as in the dry run above)", *kept])


def command_line(run: Run, shown: dict[str, str]) -> str:
    args = " ".join(_quote(_fill(a, shown)) for a in run.args)
    return f"$ python -m scripts.{run.job} {args}".rstrip() + (
        f"   # {run.caption}" if run.caption else ""
    )


def summary(results: list[Result], violations: list[str]) -> int:
    print(f"\n{RULE}\nSummary\n{RULE}")
    for r in results:
        state = "skipped" if r.code is None else f"exit {r.code}"
        wrong = r.code not in (None, r.run.expect)
        caption = r.run.caption or ("--apply" if "--apply" in r.run.args else "")
        print(f"  {r.run.job:<20} {caption:<22} {state}" + (" (wrong)" if wrong else ""))
    for v in violations:
        print(f"  spec violation: {v}")
    ok = not violations and all(r.code in (None, r.run.expect) for r in results)
    print("\nEvery job did what it should against the fakes." if ok else "\nSomething failed.")
    return cli.EXIT_OK if ok else 1


def _fill(text: str, values: dict[str, str]) -> str:
    for key, value in values.items():
        text = text.replace(key, value)
    return text


def _quote(arg: str) -> str:
    return f'"{arg}"' if " " in arg else arg


def _in_repo(path: str) -> str:
    """A path the jobs (run in the repository) can open: relative to it when inside it."""
    full = Path(path).resolve()
    return str(full.relative_to(ROOT)) if full.is_relative_to(ROOT) else str(full)


def _unimportable(module: str) -> str:
    try:
        importlib.import_module(module)
    except Exception as exc:  # any failure to import: not landed yet, so skipped
        return f"{type(exc).__name__}: {exc}"
    return ""
