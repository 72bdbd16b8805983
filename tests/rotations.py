"""Small rotation.yaml texts for tests, built from a few parameters."""

from __future__ import annotations

from scripts.rotation import load as rotation
from scripts.rotation.model import Rotation


def text(
    *,
    zone="Europe/London",
    day="monday",
    time="09:00",
    people="abc",
    team_of=None,
    hero="abc",
    hero_since="2026-11-30",
    hero_first=None,
    teams=None,
    swaps="",
    time_off="",
    hero_is_team_secondary=True,
) -> str:
    """YAML for people named by single letters; teams maps key -> (order, since, first)."""
    team_of = team_of or {}
    teams = teams if teams is not None else {}
    lines = [f"timezone: {zone}", f'handoff: {{day: {day}, time: "{time}"}}', "people:"]
    for p in people:
        team = team_of.get(p, "core")
        lines.append(f"  {p}: {{name: {p.upper()}, email: {p}@example.com, team: {team}}}")
    team_keys = sorted(set(team_of.values()) | {"core"} | set(teams))
    lines.append("teams:")
    for key in team_keys:
        lines.append(f"  {key}:")
        lines.append(f"    name: {key.title()}")
        if key in teams:
            order, since, first = teams[key]
            lines.append("    secondary:")
            lines.append(f"      order: [{', '.join(order)}]")
            lines.append(f"      since: {{week: {since}, first: {first}}}")
    lines += [
        "support_hero:",
        f"  order: [{', '.join(hero)}]",
        f"  since: {{week: {hero_since}, first: {hero_first or hero[0]}}}",
        f"  hero_is_team_secondary: {str(hero_is_team_secondary).lower()}",
    ]
    if swaps:
        lines += ["swaps:", swaps.rstrip()]
    if time_off:
        lines += ["time_off:", time_off.rstrip()]
    return "\n".join(lines) + "\n"


def make(**kwargs) -> Rotation:
    """A loaded Rotation from `text(**kwargs)`; raises ConfigError like a real file would."""
    return rotation.load("rotation.yaml", text=text(**kwargs))[0]
