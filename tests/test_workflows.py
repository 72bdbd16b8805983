"""Workflows stay in step with rotation.yaml and keep their hygiene rules."""

import re
from pathlib import Path

import pytest
import yaml

from scripts import environment, jobs
from scripts.rotation import load as rotation

ROOT = Path(__file__).resolve().parents[1]
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))


def load(path: Path) -> dict:
    # PyYAML reads the key `on` as True (YAML 1.1); tests look it up under both.
    return yaml.safe_load(path.read_text())


def test_escalate_form_offers_exactly_the_teams_of_rotation_yaml():
    rot, _ = rotation.load(ROOT / "rotation.yaml")
    inputs = load(ROOT / ".github/workflows/escalate.yml")[True]["workflow_dispatch"]["inputs"]
    assert sorted(inputs["team"]["options"]) == sorted(rot.teams)


@pytest.mark.parametrize("path", WORKFLOWS, ids=[p.name for p in WORKFLOWS])
def test_least_privilege_and_pinned_actions(path):
    flow = load(path)
    assert flow.get("permissions") == {}, "top-level permissions must be {}"
    for name, job in flow["jobs"].items():
        if "uses" in job:  # a call to a reusable workflow: it sets its own limits
            continue
        assert "timeout-minutes" in job, f"{name} has no timeout"
        for step in job.get("steps", []):
            uses = step.get("uses", "")
            if uses and not uses.startswith("./"):
                ref = uses.split("@")[1]
                assert len(ref) == 40 and all(c in "0123456789abcdef" for c in ref), uses
            if uses.startswith("actions/checkout@"):
                assert step["with"]["persist-credentials"] is False
            assert "${{" not in step.get("run", ""), f"{name}: expression inside run:"


DOCS = sorted((ROOT / "docs").glob("*.md")) + [ROOT / "README.md"]


@pytest.mark.parametrize("doc", DOCS, ids=[p.name for p in DOCS])
def test_what_the_docs_say_of_a_workflow_is_what_it_does(doc):
    """A workflow named in a paragraph with a `cron: "..."` runs on that cron; a `uses:` line in
    the docs is one a shipped workflow has, pin and all (no snippet drifts from the files)."""
    text = doc.read_text()
    shipped = "\n".join(p.read_text() for p in WORKFLOWS)
    for paragraph in text.split("\n\n"):
        named = re.findall(r"\.github/workflows/([\w-]+\.yml)", paragraph)
        for cron in re.findall(r'cron: "([^"]+)"', paragraph):
            assert named, f"{doc.name}: a cron with no workflow named: {cron}"
            assert any(cron in (ROOT / ".github/workflows" / n).read_text() for n in named), cron
    for uses in re.findall(r"uses: (\S+)", text):
        assert f"uses: {uses}" in shipped, f"{doc.name}: {uses} is in no shipped workflow"


@pytest.mark.parametrize("path", WORKFLOWS, ids=[p.name for p in WORKFLOWS])
def test_a_step_given_the_directory_secret_is_given_its_repository_home_too(path):
    for job in load(path)["jobs"].values():
        for step in job.get("steps", []):
            env = step.get("env") or {}
            if "CUSTOMERS_YAML" in env:
                assert "SUPPORT_HERO_DIRECTORY_REPOSITORY" in env.get("CUSTOMERS_FILE", ""), step


def test_the_readme_lists_every_environment_variable_as_the_registry_does():
    readme = (ROOT / "README.md").read_text()
    start = readme.index("<!-- environment table: python -m scripts.environment -->\n")
    end = readme.index("\n<!-- end of environment table -->")
    assert readme[start:end].split("\n", 1)[1] == environment.table()


def test_every_variable_the_code_reads_is_in_the_registry():
    named = {v.name for v in environment.VARIABLES}
    read = re.compile(r"""(?:environ|env)(?:\.get\(|\[)\s*["']([A-Z][A-Z0-9_]+)["']""")
    constants = re.compile(r'"([A-Z][A-Z0-9_]*_(?:TOKEN|KEY|KEYS|URL|EMAIL|PASSWORD|YAML|FILE|'
                           r'REPOSITORY|TIMEOUT|RETRIES))"')  # fmt: skip
    found = set()
    for path in (ROOT / "scripts").rglob("*.py"):
        text = path.read_text()
        found |= set(read.findall(text)) | set(constants.findall(text))
    assert found - named == set()


def test_the_readme_lists_every_job_as_the_registry_does():
    readme = (ROOT / "README.md").read_text()
    start = readme.index("<!-- jobs table: python -m scripts.jobs -->\n")
    end = readme.index("\n<!-- end of jobs table -->")
    assert readme[start:end].split("\n", 1)[1] == jobs.table()


def test_the_registry_holds_every_job_and_their_docs_exist():
    entry_points = {p.stem for p in (ROOT / "scripts").glob("*.py") if "def main(" in p.read_text()}
    assert {j.name for j in jobs.JOBS} == entry_points
    assert all(j.docs == "below" or (ROOT / j.docs).is_file() for j in jobs.JOBS)
