"""The shape of the code: jobs do not import jobs; pure cores touch no adapter, environment or
clock; nothing prints a traceback (a user gets one readable line, cli.guard)."""

import ast
from pathlib import Path

import pytest

SCRIPTS = Path(__file__).resolve().parents[1] / "scripts"
MODULES = sorted(p for p in SCRIPTS.rglob("*.py") if "__pycache__" not in p.parts)
JOBS = sorted(p.stem for p in SCRIPTS.glob("*.py") if "def main(" in p.read_text())
# Pure cores: decisions only, with `now` passed in (DESIGN.md, "Pure core, thin edges").
CORES = ("schedule", "history", "fairness", "consistency", "pagerduty_plan", "handoff",
         "escalation", "labels", "stale", "stale_plan", "stale_digest", "tiers", "check_report",
         "pr_comment_body", "plan", "slack_text", "github_text", "slack_blocks", "business_time",
         "customer_tiers", "sentry_errors", "model", "problems")  # fmt: skip


def imported(path: Path) -> set[str]:
    """Every scripts.* module `path` imports (`from scripts import x` names x)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            if node.module == "scripts":
                found |= {f"scripts.{a.name}" for a in node.names}
            else:
                found.add(node.module)
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
    return found


@pytest.mark.parametrize("job", JOBS)
def test_no_job_imports_another(job):
    others = {f"scripts.{j}" for j in JOBS if j != job}
    assert imported(SCRIPTS / f"{job}.py") & others == set()


@pytest.mark.parametrize("core", CORES)
def test_a_core_touches_no_adapter_cli_or_job(core):
    names = imported(SCRIPTS / f"{core}.py")
    banned = {"scripts.cli", "scripts.console", *(f"scripts.{j}" for j in JOBS)}
    assert not {n for n in names if n.startswith("scripts.clients")} and not names & banned
    text = (SCRIPTS / f"{core}.py").read_text()
    impure = ("os.environ", "datetime.now(", "time.time(", "date.today(")
    assert [w for w in impure if w in text] == []


@pytest.mark.parametrize("path", MODULES, ids=[str(p.relative_to(SCRIPTS)) for p in MODULES])
def test_nothing_prints_a_traceback(path):
    assert "print_exc" not in path.read_text() and "print_exception" not in path.read_text()
