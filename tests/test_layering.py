"""The shape of the code: scripts/ holds the jobs and the command-line frame only; jobs do not
import jobs; the core packages touch no adapter, command line, environment or clock; nothing
prints a traceback (a user gets one readable line, cli.guard)."""

import ast
import tomllib
from pathlib import Path

import pytest

SCRIPTS = Path(__file__).resolve().parents[1] / "scripts"
MODULES = sorted(p for p in SCRIPTS.rglob("*.py") if "__pycache__" not in p.parts)
JOBS = sorted(p.stem for p in SCRIPTS.glob("*.py") if "def main(" in p.read_text())
FRAME = (
    "__init__",
    "cli",
    "console",
    "redaction",
    "plan",
    "environment",
    "jobs",
    "runner",
    "pull_requests",
)  # shared
# The pure cores, a package per concern: decisions only, with `now` passed in (DESIGN.md, "Pure
# core, thin edges"). sources/ (readers over the adapters, flag_stale's state) and clients/ are
# the edges.
CORE_PACKAGES = ("rotation", "pagerduty", "handoff", "markup", "tiers", "stale", "escalation",
                 "calendar", "swaps")  # fmt: skip
CORES = sorted(p for pkg in CORE_PACKAGES for p in (SCRIPTS / pkg).glob("*.py"))


def imported(path: Path) -> set[str]:
    """Every scripts.* module `path` imports (`from scripts import x` names x)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            if node.module.startswith("scripts"):
                found |= {f"{node.module}.{a.name}" for a in node.names}
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
    return found


def test_scripts_holds_the_jobs_and_the_frame_only():
    top = {p.stem for p in SCRIPTS.glob("*.py")}
    assert top - set(JOBS) - set(FRAME) == set()
    packages = {p.name for p in SCRIPTS.iterdir() if (p / "__init__.py").is_file()}
    assert packages == {*CORE_PACKAGES, "sources", "clients"}
    for package in packages:  # each says in one line what it holds
        assert ast.get_docstring(ast.parse((SCRIPTS / package / "__init__.py").read_text()))


@pytest.mark.parametrize("job", JOBS)
def test_no_job_imports_another(job):
    others = {f"scripts.{j}" for j in JOBS if j != job}
    assert imported(SCRIPTS / f"{job}.py") & others == set()


@pytest.mark.parametrize("core", CORES, ids=[str(p.relative_to(SCRIPTS)) for p in CORES])
def test_a_core_touches_no_adapter_cli_or_job(core):
    names = imported(core)
    banned = {"scripts.cli", "scripts.console", "scripts.sources", *(f"scripts.{j}" for j in JOBS)}
    edges = {n for n in names if n.startswith(("scripts.clients", "scripts.sources"))}
    assert not edges and not names & banned
    text = core.read_text()
    impure = ("os.environ", "datetime.now(", "time.time(", "date.today(")
    assert [w for w in impure if w in text] == []


@pytest.mark.parametrize("path", MODULES, ids=[str(p.relative_to(SCRIPTS)) for p in MODULES])
def test_nothing_prints_a_traceback(path):
    assert "print_exc" not in path.read_text() and "print_exception" not in path.read_text()


# Jobs that must work from a rotation.yaml that does not load: they read its sections raw.
RAW_READERS = {
    "notify_failure": "a failure is reported even when rotation.yaml is what broke",
    "services": "a workflow learns its switch from a file other jobs may reject",
}


@pytest.mark.parametrize("job", sorted(set(JOBS) - set(RAW_READERS)))
def test_a_job_reads_rotation_yaml_once(job):
    """rotation.yaml is parsed once, by cli.load: a job's own checks use Rotation.source for
    their lines instead of reading or searching the file again."""
    text = (SCRIPTS / f"{job}.py").read_text()
    names = imported(SCRIPTS / f"{job}.py")
    assert "scripts.rotation.yaml_source" not in names and ".read_text(" not in text


WRITERS = {"notify_failure", "post_handoff", "sync_customer_tiers", "pr_comment", "flag_stale",
           "escalate", "label_issues", "sync_pagerduty", "request_swap",
           "request_time_off"}  # fmt: skip


@pytest.mark.parametrize("job", sorted(WRITERS))
def test_a_writing_job_runs_on_the_runner(job):
    """Its tail is the runner's: it neither looks at --apply nor picks an output format, and it
    applies typed writes only (scripts/plan.py), matched on their kind, never a dict's keys."""
    text = (SCRIPTS / f"{job}.py").read_text()
    assert "runner.start(JOB" in text and ("runner.Job(" in text or "runner.Job[" in text)
    assert ".apply" not in text and ".format" not in text and 'd["' not in text
    if "writer=pull_requests.writer" in text:  # the request jobs share their one kind of write
        text = (SCRIPTS / "pull_requests.py").read_text()
    writer = text[text.index("def writer(") :]
    assert "match change.data:" in writer and "case other:" in writer


def test_only_the_runner_looks_at_apply():
    looks = {p.stem for p in SCRIPTS.glob("*.py") if "args.apply" in p.read_text()}
    assert looks == {"runner"}  # cli.parser defines it; runner.run reads it
    assert (SCRIPTS / "runner.py").read_text().count("args.apply") == 1


def test_the_type_checker_is_strict_on_every_core():
    """make test runs mypy with pyproject's settings: every core package is in its files."""
    mypy = tomllib.loads((SCRIPTS.parent / "pyproject.toml").read_text())["tool"]["mypy"]
    assert mypy["strict"] is True
    assert {f"scripts/{package}" for package in CORE_PACKAGES} <= set(mypy["files"])
