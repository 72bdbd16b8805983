"""The corpus of broken rotation files: each names its expected line:col and message."""

import re
from pathlib import Path

import pytest

from scripts import check_rotation
from scripts.rotation import load as rotation
from scripts.rotation.problems import ConfigError, annotation
from tests import rotations

ROOT = Path(__file__).resolve().parents[1]
BROKEN = sorted((Path(__file__).parent / "broken").glob("*.yaml"))
EXPECT = re.compile(r"# expect: (\d+):(\d+) (.*)")


def expectation(path: Path) -> tuple[int, int, str]:
    line, col, message = EXPECT.match(path.read_text().splitlines()[0]).groups()
    return int(line), int(col), message


@pytest.mark.parametrize("path", BROKEN, ids=[p.stem for p in BROKEN])
def test_broken_file_names_line_and_message(path):
    line, col, message = expectation(path)
    with pytest.raises(ConfigError) as caught:
        rotation.load(path)
    places = [(p.line, p.column) for p in caught.value.problems if message in p.message]
    assert (line, col) in places, "\n".join(map(str, caught.value.problems))


@pytest.mark.parametrize("path", BROKEN[:3], ids=[p.stem for p in BROKEN[:3]])
def test_broken_file_exits_2(path, capsys):
    assert check_rotation.main(["--config", str(path), "--now", "2026-11-26T12:00Z"]) == 2
    line, col, _ = expectation(path)
    assert f"{path}:{line}:{col}:" in capsys.readouterr().err


def test_every_problem_at_once_sorted_by_line():
    text = rotations.text(people="abc", hero="abx", zone="Europe/Lndon")
    text = text.replace("team: core}", "team: kore}", 1)
    with pytest.raises(ConfigError) as caught:
        rotation.load("r.yaml", text=text)
    lines = [p.line for p in caught.value.problems]
    assert lines == sorted(lines)
    messages = " | ".join(p.message for p in caught.value.problems)
    assert "Europe/Lndon" in messages  # a wrong zone hides nothing else
    assert "'kore' is not a team" in messages and "'x' is not a person" in messages


def test_an_unquoted_time_hides_no_other_error():
    text = (ROOT / "rotation.yaml").read_text().replace('time: "09:00"', "time: 9:30")
    text = text.replace("first: bob}", "first: bobb}")
    with pytest.raises(ConfigError) as caught:
        rotation.load("rotation.yaml", text=text)
    messages = [p.message for p in caught.value.problems]
    assert len(messages) == 2, messages  # each once: the schema does not repeat the time's
    assert "9:30 is read as a number (570)" in messages[0]
    assert "'bobb' is not in the order" in messages[1]


def test_a_swap_with_neither_dates_nor_days_is_told_so():
    text = (ROOT / "rotation.yaml").read_text().replace("dates: [2026-12-21, 2027-01-18]\n    ", "")
    with pytest.raises(ConfigError, match="and has neither"):
        rotation.load("rotation.yaml", text=text)


def test_hero_team_without_secondary_is_a_warning_only():
    _, warnings = rotation.load("r.yaml", text=rotations.text())
    assert any("has no secondary rotation" in w.message for w in warnings)
    assert all(w.severity == "warning" for w in warnings)


def test_annotation_escapes_as_actions_requires():
    from scripts.rotation.problems import Problem

    p = Problem("dir/rot,a:tion.yaml", 3, 7, "swaps[0]", "100% wrong\nsecond line")
    assert annotation(p) == (
        "::error file=dir/rot%2Ca%3Ation.yaml,line=3,col=7::swaps[0]: 100%25 wrong%0Asecond line"
    )
