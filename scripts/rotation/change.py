"""The rotation before a change (a git revision or another file), and what the change moves
or rewrites: shared by check_rotation and pr_comment."""

from __future__ import annotations

import subprocess
from datetime import datetime, timedelta
from pathlib import Path

from scripts.rotation import history, schedule
from scripts.rotation import load as rotation
from scripts.rotation.model import Rotation
from scripts.rotation.problems import Problem, UsageError


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
        raise UsageError(
            f"--base {base}: cannot read {relative} there ({shown.stderr.strip() or 'git failed'})"
        )
    return rotation.load(f"{base}:{relative.as_posix()}", text=shown.stdout)[0]


def rewrite_problems(rot: Rotation, base: Rotation, now: datetime) -> list[Problem]:
    """Errors for order/since/first edits that change a shift which has already started."""
    problems = []
    for r in history.rewrites(base, rot, now):
        cycle = rot.cycle_of(r.schedule)
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


def moves_ahead(base: Rotation, rot: Rotation, now: datetime, weeks: int = 0) -> list[history.Move]:
    """What the edit moves from the shift that holds `now`: `weeks` ahead, a year at least."""
    start = schedule.handoff(rot, schedule.week_of(rot, now))
    return history.moves(base, rot, start, start + timedelta(weeks=max(weeks, 52)))


def _cycle_path(key: str) -> str:
    return "support_hero.since" if key == "support-hero" else f"teams.{key}.secondary.since"
