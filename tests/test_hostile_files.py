"""Hostile rotation files: each is refused at its line with exit 2, within a bound on time and
memory (measured in a subprocess with resource limits), before any request is made."""

import re
from pathlib import Path

import pytest

from scripts.rotation import load as rotation
from scripts.rotation.problems import ConfigError
from scripts.tiers import directory
from tests.processes import run_job

ROOT = Path(__file__).resolve().parents[1]
HOSTILE = sorted((Path(__file__).parent / "hostile").glob("*.yaml"))
EXPECT = re.compile(rb"# expect: (\d+):(\d+) (.*)")
MEMORY = 256 * 2**20  # bytes of address space the job may take on top of Python
SECONDS = 20


def expectation(path: Path) -> tuple[int, int, str]:
    line, col, message = EXPECT.match(path.read_bytes().splitlines()[0]).groups()
    return int(line), int(col), message.decode()


def bounded(module: str, *argv: str, env: dict[str, str] | None = None):
    """A job in a subprocess limited in memory and CPU time, with no service configured."""
    job = module.removeprefix("scripts.")
    env = {"PATH": "/usr/bin:/bin", **(env or {})}
    return run_job(job, *argv, env=env, memory=MEMORY + 512 * 2**20, seconds=SECONDS)


@pytest.mark.parametrize("path", HOSTILE, ids=[p.stem for p in HOSTILE])
def test_a_hostile_file_is_named_at_its_line(path):
    line, col, message = expectation(path)
    with pytest.raises(ConfigError) as caught:
        rotation.load(path)
    places = [(p.line, p.column) for p in caught.value.problems if message in p.message]
    assert (line, col) in places, "\n".join(map(str, caught.value.problems))


@pytest.mark.parametrize("path", HOSTILE, ids=[p.stem for p in HOSTILE])
def test_a_hostile_file_exits_2_in_bounded_time_and_memory(path):
    done = bounded("scripts.check_rotation", "--config", str(path))
    line, col, _ = expectation(path)
    assert done.returncode == 2, done.stderr
    assert f"{path}:{line}:{col}:" in done.stderr and "Traceback" not in done.stderr


@pytest.mark.parametrize(
    ("config", "message"),
    [("/dev/zero", "not a regular file"), ("/nonexistent/rotation.yaml", "cannot read")],
)
def test_what_is_not_a_regular_file_is_refused_before_reading(config, message):
    done = bounded("scripts.check_rotation", "--config", config)
    assert done.returncode == 2 and message in done.stderr and "Traceback" not in done.stderr


def test_a_huge_file_is_refused_by_its_size(tmp_path):
    path = tmp_path / "rotation.yaml"
    path.write_text("# " + "x" * 3_000_000 + "\n")
    done = bounded("scripts.check_rotation", "--config", str(path))
    assert done.returncode == 2 and "too large for a rotation file" in done.stderr


def test_the_customer_directory_refuses_aliases_too():
    text = (ROOT / "tests/hostile/billion_laughs.yaml").read_text()
    with pytest.raises(ConfigError, match="not allowed here"):
        directory.parse_directory(text, "$CUSTOMERS_YAML")


def test_notify_failure_reads_a_hostile_file_without_expanding_it():
    done = bounded(
        "scripts.notify_failure", "--config", str(ROOT / "tests/hostile/billion_laughs.yaml"),
        "--run-url", "https://github.com/o/r/actions/runs/1",
    )  # fmt: skip
    assert done.returncode == 2 and "not allowed here" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_symlinked_rotation_file_echoes_nothing_of_its_target(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOKEN=hunter2\nmore: secret lines\n")
    (tmp_path / "rotation.yaml").symlink_to(secret)
    done = bounded("scripts.check_rotation", "--config", str(tmp_path / "rotation.yaml"))
    assert done.returncode == 2 and "a symbolic link, not a rotation file" in done.stderr
    assert "hunter2" not in done.stderr + done.stdout and "secret lines" not in done.stderr


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--now", "9999-12-31T23:59:59Z"], "outside the years 1970 to 2999"),
        (["--now", "0001-01-01T00:00:00+01:00"], "outside the years 1970 to 2999"),
        (["--weeks", "99999999999"], "is not from 1 to 520"),
    ],
)
def test_instants_and_counts_past_the_calendar_are_usage_errors(argv, message):
    done = bounded("scripts.check_rotation", "--config", str(ROOT / "rotation.yaml"), *argv)
    assert done.returncode == 2 and message in done.stderr and "Traceback" not in done.stderr


def test_in_actions_the_only_workflow_commands_are_our_annotations():
    path = ROOT / "tests/hostile/workflow_commands_in_a_key.yaml"
    done = bounded("scripts.check_rotation", "--config", str(path), env={"GITHUB_ACTIONS": "true"})
    commands = [ln for ln in done.stderr.splitlines() if ln.lstrip().startswith("::")]
    assert done.returncode == 2 and commands and "##[" not in done.stderr
    assert all(ln.startswith("::error file=") and "%0A" in ln for ln in commands), commands


JOB_ARGS = {  # every job that loads rotation.yaml, with the arguments it requires
    "sync_pagerduty": [], "post_handoff": [], "label_issues": [], "flag_stale": [],
    "sync_customer_tiers": [], "notify_failure": ["--run-url", "https://github.com/o/r/runs/1"],
    "escalate": ["--team", "platform", "--summary", "x"],
    "pr_comment": ["--pr", "1", "--repo", "o/r", "--base", str(ROOT / "rotation.yaml")],
    "publish_calendar": ["--out", "/nonexistent/support-hero-site"],  # stops before writing
    "request_swap": ["--person", "alice", "--date", "2027-01-06"],
    "request_time_off": ["--person", "alice", "--from", "2027-01-06", "--to", "2027-01-07"],
}  # fmt: skip


@pytest.mark.parametrize(
    ("job", "name"),
    [(job, "billion_laughs") for job in sorted(JOB_ARGS)]
    # notify_failure reads only slack.channel, so that it can report on a broken rotation
    + [(job, "since_year_9999") for job in sorted(JOB_ARGS) if job != "notify_failure"],
)
def test_every_job_refuses_a_hostile_file_at_its_line(job, name):
    path = ROOT / f"tests/hostile/{name}.yaml"
    done = bounded(f"scripts.{job}", "--config", str(path), *JOB_ARGS[job])
    line, col, _ = expectation(path)
    shown = done.stdout + done.stderr  # pr_comment shows the problems in its comment
    assert done.returncode == 2, done.stderr
    assert f"{path}:{line}:{col}:" in shown and "Traceback" not in shown


@pytest.mark.parametrize(("path", "message"), [("/dev/zero", "not a regular file")])
def test_a_customers_file_that_is_not_a_file_is_refused_unread(path, message):
    with pytest.raises(ConfigError, match=message):
        directory.load_directory({directory.ENV_PATH: path})
