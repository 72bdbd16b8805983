"""The one way a test runs a job as its own process: `python -m scripts.<job>` from the root."""

import resource
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run_job(
    job: str,
    *argv: str,
    env: Mapping[str, str],
    memory: int | None = None,
    seconds: int = 120,
) -> subprocess.CompletedProcess:
    """`job` with `argv` and exactly `env`, its output captured; `memory` bounds its address
    space (bytes) and `seconds` its CPU time and, twice over, its wall time."""

    def limit() -> None:  # in the child, before Python starts
        if memory is not None:
            resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
        resource.setrlimit(resource.RLIMIT_CPU, (seconds, seconds))

    return subprocess.run(
        [sys.executable, "-m", f"scripts.{job}", *argv], cwd=ROOT, env=dict(env),
        capture_output=True, text=True, timeout=seconds * 2, preexec_fn=limit, check=False,
    )  # fmt: skip
