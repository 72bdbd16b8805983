"""`make bench`: every job end to end against the fakes at organisation scale, as a table."""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
from pathlib import Path

from bench import cases, scenario
from bench.harness import Run

LIMITS = {  # requests a minute each service allows one token (GitHub: 5,000 an hour)
    "PagerDuty": 960,
    "GitHub": 5000 / 60,
}
SERVICE = {
    "sync_pagerduty": "PagerDuty",
    "post_handoff": "Slack",
    "label_issues": "GitHub",
    "flag_stale": "Slack, GitHub, Papercups",
    "escalate": "PagerDuty, Slack",
    "check_rotation": "-",
}


def table(runs: list[Run], latency: float) -> str:
    head = (
        "| job | state | exit | reads (304 free) | writes | minimum (r+w) | ratio | wall s "
        "| CPU s | peak MiB |"
    )
    lines = [
        f"Requests and time; the fakes add {latency * 1000:.0f} ms to every request.",
        "",
        head,
        "|---" * 10 + "|",
    ]
    for r in runs:
        lines.append(
            f"| {r.job} | {r.state} | {r.exit_code} | {r.reads}"
            + (f" ({r.free})" if r.free else "")
            + f" | {r.writes} | "
            f"{r.min_reads}+{r.min_writes} | {r.ratio:.2f} | {r.wall:.1f} | {r.cpu:.2f} | "
            f"{r.peak_mb:.0f} |"
        )
    lines += ["", "Minimums:"]
    for job in dict.fromkeys(r.job for r in runs):
        lines.append(f"- {job}: {next(r.formula for r in runs if r.job == job)}")
    return "\n".join(lines)


def headroom(runs: list[Run]) -> str:
    lines = ["", "Rate-limit headroom (the busiest run of each job):"]
    for job in dict.fromkeys(r.job for r in runs):
        worst = max((r for r in runs if r.job == job), key=lambda r: r.reads + r.writes)
        total = worst.counted
        service = SERVICE.get(job, "-")
        if service in LIMITS:
            share = total / LIMITS[service] if service == "PagerDuty" else total / 5000
            unit = "of a minute's 960" if service == "PagerDuty" else "of the hourly 5,000"
            lines.append(f"- {job}: {total} requests = {share:.1%} {unit}")
        elif service == "Slack":
            top = worst.by_method.most_common(3)
            lines.append(
                f"- {job}: {total} requests; busiest methods {top} (Slack tiers: "
                "Tier 2 20/min, Tier 3 50/min, Tier 4 100/min)"
            )
        else:
            lines.append(f"- {job}: {total} requests ({service})")
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--latency", type=float, default=0.08, help="seconds added per request")
    p.add_argument("--only", nargs="*", help="run only these jobs")
    p.add_argument("--seed", type=int, default=7)
    args = p.parse_args(argv)
    sc = scenario.rotation(scenario.Scale(), seed=args.seed)
    runs: list[Run] = []
    for name, case in cases.CASES.items():
        if args.only and name not in args.only:
            continue
        with tempfile.TemporaryDirectory() as tmp:
            runs += case(sc, args.latency, Path(tmp))
    print(
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}, {platform.system()}"
    )
    print(f"Scenario: {sc.scale}")
    print(table(runs, args.latency))
    print(headroom(runs))
    bad = [r for r in runs if r.exit_code != 0]
    for r in bad:
        print(f"\n{r.job} {r.state} exited {r.exit_code}:\n{r.output[-2000:]}")
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
