"""Fairness warnings: said only where a change in rotation.yaml would remove or reduce them."""

from datetime import UTC, datetime
from pathlib import Path

import pytest

from scripts.rotation import fairness
from scripts.rotation import load as rotation
from tests import rotations

NOW = datetime(2026, 12, 2, 12, tzinfo=UTC)
SINCE = "2026-11-30"


@pytest.mark.parametrize(
    ("hero", "team", "first", "expected"),
    [
        # hero a, b, a, b...; secondary first b puts each hero's secondary week right after
        ("ab", "ab", "b", ["`first: a` in its secondary `since` makes it 0 in the team"]),
        ("ab", "ab", "a", []),  # already the best start: nothing to say
        ("abc", "ab", "a", []),  # touching, but no start of the order touches less: no warning
    ],
)
def test_back_to_back_is_said_only_when_another_first_helps(hero, team, first, expected):
    rot = rotations.make(people="abc", hero=hero, hero_since=SINCE, hero_is_team_secondary=False,
                         teams={"core": (team, SINCE, first)})  # fmt: skip
    said = [m for _, m in fairness.warnings(rot, NOW) if "back to back" in m]
    assert all(any(e in m for m in said) for e in expected) and bool(said) == bool(expected), said


def test_the_example_rotation_has_no_warning_nobody_can_act_on():
    rot, _ = rotation.load(Path(__file__).resolve().parents[1] / "rotation.yaml")
    assert fairness.warnings(rot, NOW) == []
