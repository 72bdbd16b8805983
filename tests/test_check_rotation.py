"""check_rotation end to end through main(): text, markdown, json, --base, annotations."""

import json
import os
import subprocess
from pathlib import Path
from zoneinfo import available_timezones

import pytest

from scripts import check_rotation
from tests import rotations
from tests.processes import run_job

ROOT = Path(__file__).resolve().parents[1]

NOW = "2026-12-16T12:00:00Z"


@pytest.fixture
def config(tmp_path):
    path = tmp_path / "rotation.yaml"
    path.write_text(
        rotations.text(people="abcd", hero="abcd", teams={"core": ("dcba", "2026-11-30", "d")})
    )
    return path


def run(capsys, *argv):
    code = check_rotation.main([*map(str, argv), "--now", NOW])
    out, err = capsys.readouterr()
    return code, out, err


def test_text_shows_coming_weeks_in_both_zones(config, capsys):
    code, out, _ = run(capsys, "--config", config, "--weeks", "3")
    assert code == 0
    rows = [line for line in out.splitlines() if line.startswith("Mon ")]
    assert len(rows) == 3
    assert rows[0].split()[:6] == ["Mon", "14", "Dec", "2026", "09:00", "GMT"]
    assert rows[0].split()[6:9] == ["09:00", "c", "c^"]


def test_json_contract(config, capsys):
    code, out, _ = run(capsys, "--config", config, "--format", "json", "--weeks", "2")
    data = json.loads(out)
    assert code == 0 and data["errors"] == [] and "changes" not in data
    assert {s["schedule"] for s in data["shifts"]} == {"support-hero", "core"}
    keys = [(s["schedule"], s["start"]) for s in data["shifts"]]
    assert keys == sorted(keys)
    first = data["shifts"][0]
    assert first == {
        "schedule": "core",
        "start": "2026-12-14T09:00:00+00:00",
        "end": "2026-12-21T09:00:00+00:00",
        "person": "c",
        "why": "hero",
    }


def test_markdown_goes_to_the_job_summary(config, capsys, tmp_path, monkeypatch):
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    code, out, _ = run(capsys, "--config", config, "--format", "markdown")
    assert code == 0 and out.startswith("### Support rotation: the coming 8 weeks")
    assert "| Week of |" in summary.read_text()


def test_json_errors_and_annotations(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    bad = tmp_path / "rotation.yaml"
    bad.write_text(rotations.text(hero="abx"))
    code, out, err = run(capsys, "--config", bad, "--format", "json")
    data = json.loads(out)
    assert code == 2 and data["shifts"] == []
    (error,) = data["errors"]
    assert error["line"] == 11 and "'x' is not a person" in error["message"]
    assert f"::error file={bad},line=11,col=17::support_hero.order[2]: 'x' is not" in err


def test_base_file_lists_what_the_edit_moves(config, tmp_path, capsys):
    base = tmp_path / "base.yaml"
    base.write_text(config.read_text())
    config.write_text(
        config.read_text() + "swaps:\n  - {people: [a, b], dates: [2026-12-28, 2027-01-04]}\n"
    )
    code, out, _ = run(capsys, "--config", config, "--base", base, "--format", "json")
    changes = json.loads(out)["changes"]
    assert code == 0
    hero = [
        (c["start"][:10], c["before"], c["after"])
        for c in changes
        if c["schedule"] == "support-hero"
    ]
    assert hero == [("2026-12-28", "a", "b"), ("2027-01-04", "b", "a")]
    code, out, _ = run(capsys, "--config", config, "--base", base)
    assert "support-hero: Mon 28 Dec 09:00 -> Mon 04 Jan 09:00: a -> b" in out
    assert "core: Mon 28 Dec 09:00 -> Mon 04 Jan 09:00: a -> b" in out  # core follows its heroes
    assert "People affected: a, b\n" in out


def test_base_refuses_rewriting_a_started_shift(config, tmp_path, capsys):
    base = tmp_path / "base.yaml"
    base.write_text(config.read_text())
    config.write_text(config.read_text().replace("order: [a, b, c, d]", "order: [a, b, d, c]"))
    code, _, err = run(capsys, "--config", config, "--base", base)
    assert code == 2
    assert "moves a shift that has already started (week of 2026-12-14: c -> d)" in err
    assert "use since: {week: 2026-12-21, first: d}" in err
    fixed = config.read_text().replace(
        "since: {week: 2026-11-30, first: a}\n  hero", "since: {week: 2026-12-21, first: d}\n  hero"
    )
    config.write_text(fixed)
    code, out, _ = run(capsys, "--config", config, "--base", base)
    assert code == 0, out


def test_base_git_revision(config, capsys, monkeypatch):
    repo = config.parent
    monkeypatch.chdir(repo)
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "rotation.yaml"], check=True)
    subprocess.run([*git, "commit", "-qm", "base"], check=True)
    config.write_text(
        config.read_text() + "swaps:\n  - {people: [c, d], days: [2027-01-13, 2027-01-20]}\n"
    )
    code, out, _ = run(capsys, "--config", "rotation.yaml", "--base", "HEAD", "--format", "json")
    assert code == 0
    assert [
        (c["start"][:10], c["after"])
        for c in json.loads(out)["changes"]
        if c["schedule"] == "support-hero"
    ] == [("2027-01-13", "d"), ("2027-01-20", "c")]
    code, _, err = run(capsys, "--config", "rotation.yaml", "--base", "no-such-rev")
    assert code == 2 and "--base no-such-rev" in err


def test_example_rotation_is_valid(capsys):
    code, out, _ = run(capsys, "--config", "rotation.yaml")
    assert code == 0 and "Support Hero" in out


def test_runs_as_a_module():
    done = run_job("check_rotation", "--now", NOW, "--weeks", "1", env=os.environ)
    assert done.returncode == 0, done.stderr


def _properties(node, path=""):
    """Every (path, schema) of a property the schema defines, $defs included."""
    if not isinstance(node, dict):
        return
    for key, sub in (node.get("properties") or {}).items():
        yield f"{path}.{key}", sub
        yield from _properties(sub, f"{path}.{key}")
    for key in ("$defs",):
        for name, sub in (node.get(key) or {}).items():
            yield from _properties(sub, f"{path}.{key}.{name}")
    for key in ("items", "additionalProperties"):
        yield from _properties(node.get(key), f"{path}.{key}")


def test_every_key_people_edit_is_described_for_their_editor():
    schema = json.loads((ROOT / "rotation.schema.json").read_text())
    found = _properties(schema)
    bare = [p for p, sub in found if "description" not in sub and set(sub) != {"$ref"}]
    assert bare == []


def test_time_zones_complete_from_the_iana_list():
    schema = json.loads((ROOT / "rotation.schema.json").read_text())
    zones = schema["$defs"]["zone"]["examples"]
    assert {"Europe/London", "America/New_York", "Asia/Kolkata", "UTC"} <= set(zones)
    assert all(z in available_timezones() for z in zones)
