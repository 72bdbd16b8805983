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
        formulas = dict.fromkeys(r.formula for r in runs if r.job == job)
        for formula in formulas:
            states = [r.state for r in runs if r.job == job and r.formula == formula]
            which = f" ({', '.join(states)})" if len(formulas) > 1 else ""
            lines.append(f"- {job}{which}: {formula}")
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


WORKING_DAY_RUNS = 24  # .github/workflows/flag-stale.yml: every 30 minutes, 07:00-18:59 UTC
WORKING_DAY_MINUTES = 12 * 60
MOST_OF_A_DAY = 0.05  # issue 20: a working day under 5% of each Slack method's limit
MOST_OF_THE_COLD_RUN = 0.05  # and a steady-state run at most 5% of one without the state


def working_day(runs: list[Run]) -> tuple[str, list[str]]:
    """flag_stale's working day: its first run without a state (after a weekend the state is
    too old), then every run one change; each Slack method's requests as a share of what its
    tier allows over the 12 hours, and the steady state against a run without the state."""
    by_state = {r.state: r for r in runs if r.job == "flag_stale"}
    first, change = by_state.get("first run"), by_state.get("one change")
    warm, cold = by_state.get("steady state"), by_state.get("steady state, no state file")
    if not (first and change and warm and cold):
        return "", []
    failed = []
    lines = ["", f"flag_stale's working day ({WORKING_DAY_RUNS} runs: the first without a "
             f"state, {WORKING_DAY_RUNS - 1} after one change each):"]  # fmt: skip
    day: dict[str, int] = {}
    for run, times in ((first, 1), (change, WORKING_DAY_RUNS - 1)):
        for key, n in run.by_method.items():
            method = key.split(" ", 1)[1].strip("/")
            if method in SLACK_TIERS:
                day[method] = day.get(method, 0) + n * times
    for method, n in sorted(day.items(), key=lambda kv: -kv[1] / SLACK_TIERS[kv[0]][1]):
        tier, per_minute = SLACK_TIERS[method]
        allowed = per_minute * WORKING_DAY_MINUTES
        lines.append(f"- {method}: {n} = {n / allowed:.2%} of {tier}'s {allowed:,} a working day")
        if n / allowed >= MOST_OF_A_DAY:
            failed.append(f"flag_stale's working day takes {n / allowed:.1%} of {method}")
    total = lambda r: r.reads + r.writes  # noqa: E731  (304s included: they are requests)
    share = total(warm) / total(cold)
    lines.append(
        f"- steady state: {total(warm)} requests with the state, {total(cold)} without: {share:.1%}"
    )
    if share > MOST_OF_THE_COLD_RUN:
        failed.append(f"flag_stale's steady state makes {share:.1%} of a run without the state")
    return "\n".join(lines), failed


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
    day, over = working_day(runs)
    print(day)
    bad = [r for r in runs if r.exit_code != 0]
    for r in bad:
        print(f"\n{r.job} {r.state} exited {r.exit_code}:\n{r.output[-2000:]}")
    for line in over:
        print(f"\nOver the bound: {line}")
    return 1 if bad or over else 0


if __name__ == "__main__":
    raise SystemExit(main())
