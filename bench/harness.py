"""Run one job as a subprocess against in-process fakes; measure requests, time and memory."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from fakes.world import SERVICE_VARIABLES

ROOT = Path(__file__).resolve().parents[1]
PEAK_MARK = "\n@@peak-rss-kib "
# `python -m <module> args` that prints its own peak RSS (VmHWM) last. Not ru_maxrss: Linux
# carries the parent's (the benchmark's, fakes and all) high-water mark across fork and exec.
_REPORT_PEAK = f"""
import atexit, runpy, sys
def peak():
    hwm = [ln for ln in open("/proc/self/status") if ln.startswith("VmHWM:")]
    sys.stdout.flush()
    print({PEAK_MARK!r} + (hwm[0].split()[1] if hwm else "0"), flush=True)
atexit.register(peak)
sys.argv = sys.argv[1:]
runpy.run_module(sys.argv[0], run_name="__main__", alter_sys=True)
"""


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
    by_service: Counter = field(default_factory=Counter)  # "GitHub" -> requests its limit counts
    note: str = ""  # what limited the run, e.g. a per-run bound reached

    @property
    def counted(self) -> int:
        return self.reads + self.writes - self.free

    @property
    def ratio(self) -> float:
        least = self.min_reads + self.min_writes
        return self.counted / least if least else float(self.counted)


def run_job(job: str, args: list[str], env: dict[str, str]) -> tuple[int, float, float, float, str]:
    """(exit code, wall s, CPU s, peak RSS MiB, stdout+stderr) of `python -m scripts.<job>`."""
    # the shell's environment without a token or address of any service (it reaches the fakes
    # in `env` only), and not as if in Actions
    shell = {k: v for k, v in os.environ.items() if k not in SERVICE_VARIABLES}
    clean = {k: v for k, v in shell.items() if k not in ("GITHUB_ACTIONS", "GITHUB_STEP_SUMMARY")}
    started = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-c", _REPORT_PEAK, f"scripts.{job}", *args],
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
    output, _, peak = output.rpartition(PEAK_MARK)
    return proc.returncode, wall, cpu, int(peak.split()[0]) / 1024 if peak else 0.0, output


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
    by_service: Counter = Counter()
    for fake in fakes:
        service = type(fake).__name__.removesuffix("Fake")
        for call in fake.calls:
            if not call.fault:
                by_method[f"{call.method} {call.path}"] += 1
                by_service[service] += call.status != 304
    reads = sum(f.reads() for f in fakes)
    writes = sum(f.writes() for f in fakes)
    free = sum(c.status == 304 for f in fakes for c in f.calls)
    return Run(
        job, state, code, reads, writes, *minimum, wall, cpu, peak, by_method, output, free,
        by_service,
    )  # fmt: skip
