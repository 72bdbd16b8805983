"""`make bench`: every job end to end against the fakes at organisation scale, as a table."""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
from pathlib import Path

from bench import cases, scenario, support
from bench.harness import Run

# PagerDuty REST: 960 requests a minute per token; GitHub: 5,000 an hour per token.
# Slack: each Web API method's tier, per minute, per app and workspace (api.slack.com/docs/
# rate-limits; the tier of each method from its page of Slack's method reference). "+" in Slack's
# words: at least that many; bursts are tolerated. chat.postMessage: about one a second per channel.
SLACK_TIERS = {
    "auth.test": ("Tier 4", 100),
    "users.info": ("Tier 4", 100),
    "conversations.history": ("Tier 3", 50),
    "conversations.replies": ("Tier 3", 50),
    "conversations.info": ("Tier 3", 50),
    "conversations.open": ("Tier 3", 50),
    "users.lookupByEmail": ("Tier 3", 50),
    "chat.update": ("Tier 3", 50),
    "usergroups.list": ("Tier 2", 20),
    "usergroups.create": ("Tier 2", 20),
    "usergroups.users.update": ("Tier 2", 20),
    "conversations.setTopic": ("Tier 2", 20),
    "chat.postMessage": ("1 a second per channel", 60),
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
    notes = [f"- {r.job} {r.state}: {r.note}" for r in runs if r.note]
    return "\n".join(lines + (["", "Per-run bounds reached:", *notes] if notes else []))


def slack_methods(run: Run) -> list[str]:
    """Each Slack method the run called: its count as a share of its tier's minute."""
    counts = {
        key.split(" ", 1)[1].strip("/"): n
        for key, n in run.by_method.items()
        if key.split(" ", 1)[1].strip("/") in SLACK_TIERS
    }
    lines = []
    for method, n in sorted(counts.items(), key=lambda kv: -kv[1] / SLACK_TIERS[kv[0]][1]):
        tier, per_minute = SLACK_TIERS[method]
        share = n / per_minute
        lines.append(
            f"  - {method}: {n} = {share:.0%} of {tier}'s {per_minute}/min"
            + (f" (at least {share:.1f} min at that rate)" if share > 1 else "")
        )
    return lines


def headroom(runs: list[Run]) -> str:
    lines = ["", "Rate-limit headroom (the busiest run of each job):"]
    for job in dict.fromkeys(r.job for r in runs):
        worst = max((r for r in runs if r.job == job), key=lambda r: r.reads + r.writes)
        if not worst.by_service:
            lines.append(f"- {job}: no requests")
            continue
        lines.append(f"- {job} ({worst.state}):")
        for service, n in sorted(worst.by_service.items()):
            if service == "PagerDuty":
                lines.append(f"  - PagerDuty REST: {n} = {n / 960:.1%} of a minute's 960")
            elif service == "GitHub":
                lines.append(f"  - GitHub: {n} = {n / 5000:.1%} of the hourly 5,000")
            elif service == "Slack":
                lines.append(f"  - Slack: {n} requests, by method:")
                lines += ["  " + line for line in slack_methods(worst)]
            elif service == "Papercups":
                lines.append(f"  - Papercups: {n} requests (Papercups documents no rate limit)")
            elif service == "PagerDutyEvents":
                lines.append(f"  - PagerDuty Events API: {n} event(s)")
            else:
                lines.append(f"  - {service}: {n} requests")
    return "\n".join(lines)


def cpu_model() -> str:
    try:
        info = Path("/proc/cpuinfo").read_text(encoding="utf-8")
    except OSError:
        return platform.processor() or "unknown CPU"
    return next((ln.split(":", 1)[1].strip() for ln in info.splitlines()
                 if ln.startswith("model name")), "unknown CPU")  # fmt: skip


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--latency", type=float, default=0.08, help="seconds added per request")
    p.add_argument("--only", nargs="*", help="run only these jobs")
    p.add_argument("--seed", type=int, default=7)
    args = p.parse_args(argv)
    sc = scenario.rotation(scenario.Scale(), seed=args.seed)
    runs: list[Run] = []
    for name, case in (cases.CASES | support.CASES).items():
        if args.only and name not in args.only:
            continue
        with tempfile.TemporaryDirectory() as tmp:
            runs += case(sc, args.latency, Path(tmp))
    print(
        f"Machine: {cpu_model()}, {platform.machine()}, {os.cpu_count()} cores, Python "
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
