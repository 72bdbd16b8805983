"""Service switches: a section of rotation.yaml turns a service on; a workflow skips without it."""

from pathlib import Path

import pytest
import yaml

from scripts import services

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = yaml.safe_load((ROOT / "rotation.yaml").read_text())
DIRECTORY = {"CUSTOMERS_YAML": "customers: []\n"}


@pytest.mark.parametrize(
    ("switch", "data", "env", "off"),
    [
        ("papercups", EXAMPLE, {}, "no `papercups:` section"),  # the example has no Papercups
        ("slack", EXAMPLE, {}, None),
        ("pagerduty", EXAMPLE, {}, None),
        ("labels", EXAMPLE, DIRECTORY, None),
        ("labels", EXAMPLE, {}, "there is no customer directory"),
        ("labels", {k: v for k, v in EXAMPLE.items() if k != "github"}, DIRECTORY, "`github:`"),
        ("sentry", EXAMPLE | {"sentry": {"organization": "o", "projects": ["p"]}}, {}, None),
        ("slack", None, {}, None),  # unreadable: on, so that the job says what is wrong
    ],
)
def test_off_because(switch, data, env, off, tmp_path):
    why = services.off_because(switch, data, env, tmp_path)
    assert (why is None) if off is None else (off in why)


def test_a_customers_file_beside_rotation_yaml_counts_as_a_directory(tmp_path):
    (tmp_path / "customers.yaml").write_text("customers: []\n")
    assert services.off_because("labels", EXAMPLE, {}, tmp_path) is None


def test_the_command_writes_the_output_and_a_notice(tmp_path, monkeypatch, capsys):
    for name in ("GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY"):
        monkeypatch.setenv(name, str(tmp_path / name))
    assert services.main(["papercups", "--config", str(ROOT / "rotation.yaml")]) == 0
    assert (tmp_path / "GITHUB_OUTPUT").read_text() == "enabled=false\n"
    summary = (tmp_path / "GITHUB_STEP_SUMMARY").read_text()
    assert "Skipped: rotation.yaml has no `papercups:`" in summary
    assert services.main(["slack", "--config", str(ROOT / "rotation.yaml")]) == 0
    assert (tmp_path / "GITHUB_OUTPUT").read_text().endswith("enabled=true\n")


GATED = {"label-issues": "labels", "sync-pagerduty": "pagerduty", "post-handoff": "slack",
         "flag-stale": "slack", "sync-customer-tiers": "papercups"}  # fmt: skip


@pytest.mark.parametrize(("workflow", "switch"), sorted(GATED.items()))
def test_each_optional_job_runs_only_when_switched_on(workflow, switch):
    flow = yaml.safe_load((ROOT / ".github/workflows" / f"{workflow}.yml").read_text())
    (job,) = [j for j in flow["jobs"].values() if "steps" in j]
    steps = job["steps"]
    at = next(i for i, s in enumerate(steps) if s.get("id") == "switch")
    assert steps[at]["run"] == f"python -m scripts.services {switch}"
    gate = "steps.switch.outputs.enabled == 'true'"
    assert all(s["if"].startswith(gate) for s in steps[at + 1 :])
