"""Pure rendering of check_rotation: the coming weeks and what an edit moves, as text/md/json."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta

from scripts.markup.github_text import escape
from scripts.rotation import schedule
from scripts.rotation.history import Move
from scripts.rotation.model import HERO, Rotation
from scripts.rotation.problems import Problem
from scripts.rotation.schedule import Shift

MARKS = {"rotation": "", "swap": "*", "hero": "^"}
LEGEND = "* swap   ^ the hero covers their own team's secondary"


@dataclass(frozen=True)
class Report:
    rot: Rotation
    weeks: list[datetime]  # handoff instants starting each week shown
    shifts: list[Shift]
    warnings: list[Problem]
    moves: list[Move] | None = None


def build(
    rot: Rotation,
    now: datetime,
    weeks: int,
    warnings: list[Problem],
    moves_: list[Move] | None = None,
) -> Report:
    first = schedule.week_of(rot, now)
    starts = [schedule.handoff(rot, first + timedelta(weeks=i)) for i in range(weeks + 1)]
    shifts = schedule.shifts(rot, starts[0], starts[-1])
    return Report(rot, starts, shifts, warnings, moves_)


def _cell(report: Report, key: str, start: datetime, end: datetime) -> str:
    parts = []
    for s in report.shifts:
        if s.schedule != key or s.end <= start or s.start >= end:
            continue
        label = s.person + MARKS[s.why]
        if (s.start, s.end) != (start, end):
            local = s.start.astimezone(report.rot.zone)
            label += f" from {local:%a %d} " if s.start > start else " "
        parts.append(label.strip())
    return ", ".join(parts) or "-"


def _rows(report: Report) -> tuple[list[str], list[list[str]]]:
    keys = report.rot.schedules()
    zone = report.rot.zone
    header = ["Week of", f"Handoff ({report.rot.timezone})", "UTC"] + [
        "Support Hero" if k == HERO else report.rot.teams[k].name for k in keys
    ]
    rows = []
    for start, end in zip(report.weeks, report.weeks[1:], strict=False):
        local = start.astimezone(zone)
        rows.append(
            [f"{local:%a %d %b %Y}", f"{local:%H:%M %Z}", f"{start:%H:%M}"]
            + [_cell(report, k, start, end) for k in keys]
        )
    return header, rows


def text(report: Report) -> str:
    header, rows = _rows(report)
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    lines = [
        f"Coming {len(rows)} weeks ({report.rot.file})",
        "",
        fmt.format(*header),
        fmt.format(*("-" * w for w in widths)),
    ]
    lines += [fmt.format(*r) for r in rows]
    lines += ["", LEGEND]
    lines += _moves_text(report) + _warnings_text(report)
    return "\n".join(lines)


def _moves_text(report: Report) -> list[str]:
    if report.moves is None:
        return []
    if not report.moves:
        return ["", "This change moves no shift."]
    lines = ["", "What this change moves:"]
    for m in report.moves:
        lines.append(
            f"  {m.schedule}: {_span(report, m)}: {m.before or '(nobody)'} -> "
            f"{m.after or '(nobody)'}"
        )
    lines.append(f"  People affected: {', '.join(affected(report.moves))}")
    return lines


def _warnings_text(report: Report) -> list[str]:
    return (["", "Warnings:"] + [f"  {w}" for w in report.warnings]) if report.warnings else []


def _span(report: Report, m: Move) -> str:
    zone = report.rot.zone
    return f"{m.start.astimezone(zone):%a %d %b %H:%M} -> {m.end.astimezone(zone):%a %d %b %H:%M}"


def affected(moves: list[Move]) -> list[str]:
    return sorted({p for m in moves for p in (m.before, m.after) if p})


def markdown(report: Report) -> str:
    header, rows = _rows(report)
    lines = [
        f"### Support rotation: the coming {len(rows)} weeks",
        "",
        "| " + " | ".join(map(escape, header)) + " |",
        "|" + "---|" * len(header),
    ]
    lines += ["| " + " | ".join(map(escape, r)) + " |" for r in rows]
    lines += ["", f"`{LEGEND}`"]
    if report.moves is not None:
        lines += ["", "### What this change moves", ""]
        if not report.moves:
            lines.append("Nothing: no shift changes hands.")
        for m in report.moves:
            lines.append(
                f"- **{escape(m.schedule)}** {_span(report, m)}: {m.before or '(nobody)'} → "
                f"{m.after or '(nobody)'}"
            )
        if report.moves:
            lines += ["", "People affected: " + ", ".join(f"`{p}`" for p in affected(report.moves))]
    if report.warnings:
        lines += ["", "### Warnings", ""] + [f"- {escape(w)}" for w in report.warnings]
    return "\n".join(lines)


def as_json(report: Report, errors: list[Problem]) -> str:
    data = {
        "errors": [e.as_json() for e in errors],
        "warnings": [w.as_json() for w in report.warnings] if report else [],
        "shifts": [
            {
                "schedule": s.schedule,
                "start": _iso(report, s.start),
                "end": _iso(report, s.end),
                "person": s.person,
                "why": s.why,
            }
            for s in sorted(report.shifts if report else [], key=lambda s: (s.schedule, s.start))
        ],
    }
    if report and report.moves is not None:
        data["changes"] = [
            {
                "schedule": m.schedule,
                "start": _iso(report, m.start),
                "end": _iso(report, m.end),
                "before": m.before,
                "after": m.after,
            }
            for m in report.moves
        ]
    return json.dumps(data, indent=2)


def _iso(report: Report, instant: datetime) -> str:
    return instant.astimezone(report.rot.zone).isoformat()
