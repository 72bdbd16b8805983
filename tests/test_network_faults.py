"""Every job that talks to a service, against each way a network or server fails: one readable
line naming the service, exit 1 (a failed read or apply) or 2 (a refused token), no traceback,
and no secret in stdout, stderr or the job summary."""

import importlib
import re
import time
from pathlib import Path

import pytest

from tests import faults

ROOT = Path(__file__).resolve().parents[1]
SECRET = "s3cretToken0123456789abcdef"  # every token, password and key of the run
ROUTING = "R0UT1NGKEY000000000000000000SECR"  # 32 characters, as Events API v2 keys are
URLS = ("PAGERDUTY_API_URL", "PAGERDUTY_EVENTS_URL", "SLACK_API_URL", "GITHUB_API_URL",
        "PAPERCUPS_API_URL", "SENTRY_API_URL", "STRIPE_API_URL", "HUBSPOT_API_URL")  # fmt: skip
TOKENS = ("PAGERDUTY_TOKEN", "SLACK_BOT_TOKEN", "GITHUB_TOKEN", "PAPERCUPS_TOKEN", "SENTRY_TOKEN",
          "PAPERCUPS_PASSWORD", "STRIPE_API_KEY", "HUBSPOT_ACCESS_TOKEN")  # fmt: skip
RUN = "https://github.com/kestrel-example/support/actions/runs/1"
COMMON = ["--config", "{tmp}/rotation.yaml", "--now", "2026-12-16T10:00:00Z"]
JOBS = {  # job: its arguments (dry runs: each reads before it would write)
    "sync_pagerduty": COMMON,
    "pr_comment": [*COMMON, "--pr", "7", "--repo", "o/r", "--base", "{tmp}/rotation.yaml"],
    "label_issues": COMMON,
    "post_handoff": COMMON,
    "escalate": [*COMMON, "--team", "platform", "--summary", "checkout fails"],
    "flag_stale": COMMON,
    "sync_customer_tiers": COMMON,
    "build_customers": ["--output", "{tmp}/customers.yaml"],
    "notify_failure": [*COMMON, "--run-url", RUN, "--workflow", "Sync"],
}
SERVICES = ("PagerDuty", "Slack", "GitHub", "Papercups", "Sentry", "Stripe", "HubSpot")
SENTRY = "sentry:\n  organization: kestrel\n  projects: [kestrel-web]\n"


@pytest.fixture
def world(tmp_path, monkeypatch):
    config = tmp_path / "rotation.yaml"
    config.write_text((ROOT / "rotation.yaml").read_text() + SENTRY)
    for name in TOKENS:
        monkeypatch.setenv(name, SECRET)
    monkeypatch.setenv("PAGERDUTY_ROUTING_KEYS", f'{{"platform": "{ROUTING}"}}')
    monkeypatch.setenv("PAGERDUTY_FROM_EMAIL", "alice@example.com")
    monkeypatch.setenv("PAPERCUPS_EMAIL", "alice@example.com")
    monkeypatch.setenv("CUSTOMERS_YAML", (ROOT / "customers.example.yaml").read_text())
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(tmp_path / "summary.md"))
    monkeypatch.setenv("SUPPORT_HERO_TIMEOUT", "1")
    monkeypatch.setenv("SUPPORT_HERO_RETRIES", "1")  # each retry path once: the matrix stays quick
    for name in ("SSL_CERT_FILE", "REQUESTS_CA_BUNDLE"):
        monkeypatch.setenv(name, faults.ca_bundle())
    for name in ("GITHUB_ACTIONS", "RUN_URL", "CUSTOMERS_FILE"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path, config


@pytest.mark.parametrize("kind", faults.KINDS)
@pytest.mark.parametrize("job", sorted(JOBS))
def test_a_fault_is_one_clear_line(job, kind, world, monkeypatch, capsys):
    tmp, _ = world
    argv = [a.replace("{tmp}", str(tmp)) for a in JOBS[job]]
    with faults.endpoint(kind) as url:
        for name in URLS:
            monkeypatch.setenv(name, url + ("/api/0" if name == "SENTRY_API_URL" else ""))
        main = importlib.import_module(f"scripts.{job}").main
        started = time.monotonic()
        code = main(argv)
        took = time.monotonic() - started
    out, err = capsys.readouterr()
    summary = (tmp / "summary.md").read_text() if (tmp / "summary.md").exists() else ""
    everything = out + err + summary
    assert SECRET not in everything and ROUTING not in everything
    assert "Traceback" not in everything
    errors = [line for line in err.splitlines() if line.startswith("error")]
    assert errors, err
    assert code == (2 if kind in ("echo-401", "echo-403") else 1), err
    assert any(s in errors[0] for s in SERVICES), errors[0]
    assert took < 30, f"{took:.0f} s: a 1 s timeout, once per service read, bounds the job"
    assert len(errors[0]) < 300 and not re.search(r"<html|<!DOCTYPE", errors[0], re.I), errors[0]
