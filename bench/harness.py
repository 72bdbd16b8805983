"""Run one job as a subprocess against in-process fakes; measure requests, time and memory."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


@dataclass
class Run:
    """One run of a job in one state, with what it cost and the least the API allows."""

    job: str
    state: str
    exit_code: int
    reads: int
    writes: int
    min_reads: int
    min_writes: int
    formula: str
    wall: float
    cpu: float
    peak_mb: float
    by_method: Counter = field(default_factory=Counter)
    output: str = ""
    free: int = 0  # conditional reads answered 304: GitHub does not count them against its limit

    @property
    def counted(self) -> int:
        return self.reads + self.writes - self.free

    @property
    def ratio(self) -> float:
        least = self.min_reads + self.min_writes
        return self.counted / least if least else float(self.counted)


def run_job(job: str, args: list[str], env: dict[str, str]) -> tuple[int, float, float, float, str]:
    """(exit code, wall s, CPU s, peak RSS MiB, stdout+stderr) of `python -m scripts.<job>`."""
    clean = {k: v for k, v in os.environ.items() if not k.endswith("_TOKEN")}
    clean.pop("GITHUB_ACTIONS", None)
    clean.pop("GITHUB_STEP_SUMMARY", None)
    started = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", f"scripts.{job}", *args],
        cwd=ROOT,
        env=clean | env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    output = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    cpu = usage.ru_utime + usage.ru_stime
    return proc.returncode, wall, cpu, usage.ru_maxrss / 1024, output


def measure(
    fakes, job: str, state: str, args: list[str], env: dict[str, str], minimum: tuple[int, int, str]
) -> Run:
    """Run the job once with fresh counters on every fake; counts are summed over the fakes."""
    for fake in fakes:
        fake.reset_counts()
    code, wall, cpu, peak, output = run_job(job, args, env)
    for fake in fakes:
        fake.assert_clean()
    by_method: Counter = Counter()
    for fake in fakes:
        for call in fake.calls:
            if not call.fault:
                by_method[f"{call.method} {call.path}"] += 1
    reads = sum(f.reads() for f in fakes)
    writes = sum(f.writes() for f in fakes)
    free = sum(c.status == 304 for f in fakes for c in f.calls)
    return Run(job, state, code, reads, writes, *minimum, wall, cpu, peak, by_method, output, free)
