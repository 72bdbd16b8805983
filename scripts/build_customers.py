"""Build the customer directory from Stripe (plans, monthly spend) and HubSpot (open deals)."""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
from pathlib import Path

from scripts import cli, console
from scripts.clients.billing import billing_errors, hubspot_open_deals, stripe_subscriptions
from scripts.rotation.problems import ConfigError
from scripts.tiers import directory
from scripts.tiers.build import add_deals, from_stripe, keep_recognition, render

# --- command line -------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument(
        "--output",
        default="customers.yaml",
        help="where to write the directory ('-': standard output; mind CI logs)",
    )
    p.add_argument("--keep", help="an existing directory whose GitHub logins, organisations "
                   "and aliases are carried over")  # fmt: skip
    return cli.guard(p, argv, run)


def run(args) -> int:
    kept = directory.load_directory({directory.ENV_PATH: args.keep}) if args.keep else None
    stripe_key = os.environ.get("STRIPE_API_KEY")
    hubspot_token = os.environ.get("HUBSPOT_ACCESS_TOKEN")
    if not (stripe_key or hubspot_token):
        raise cli.UsageError("set STRIPE_API_KEY and/or HUBSPOT_ACCESS_TOKEN; nothing was written")
    for needed, module in ((stripe_key, "stripe"), (hubspot_token, "hubspot")):
        if needed and importlib.util.find_spec(module) is None:
            raise cli.UsageError(
                f"the {module} client is not installed: pip install -r "
                "requirements-build-customers.txt"
            )

    def warn(text: str) -> None:
        print(text, file=sys.stderr)

    with billing_errors("Stripe", "STRIPE_API_KEY"):
        entries = from_stripe(stripe_subscriptions(stripe_key), warn) if stripe_key else {}
    if hubspot_token:
        with billing_errors("HubSpot", "HUBSPOT_ACCESS_TOKEN"):
            add_deals(entries, hubspot_open_deals(hubspot_token))
    keep_recognition(entries, kept, warn)
    text = render(entries)
    try:
        directory.parse_directory(text, "the built directory")  # what label_issues will accept
    except ConfigError as exc:
        print(f"error: the built directory is not valid:\n{exc}", file=sys.stderr)
        return cli.EXIT_APPLY_FAILED
    if args.output == "-":
        console.data(text)
    else:
        Path(args.output).write_text(text, encoding="utf-8")
    counts = ", ".join(
        f"{sum(1 for e in entries.values() if flag(e))} {what}"
        for what, flag in (("paying", lambda e: e.monthly_spend > 0),
                           ("in the sales process", lambda e: e.in_sales_process))
    )  # fmt: skip
    print(f"{len(entries)} customers ({counts}) -> {args.output}", file=sys.stderr)
    return cli.EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
