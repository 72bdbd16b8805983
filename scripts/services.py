"""Which services an organisation uses, read from rotation.yaml: a workflow whose service is off
skips its job with a notice instead of failing every run.

A service is on when rotation.yaml has its section (`pagerduty:`, `slack:`, `github:`,
`papercups:`, `sentry:`); label_issues also needs the customer directory. One place turns a
service off: delete its section. A file that cannot be read counts as "on", so that the job runs
and reports the problem itself.

    python -m scripts.services papercups    # writes enabled=true|false to $GITHUB_OUTPUT
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping
from pathlib import Path

from scripts.rotation.yaml_source import parse, read_text
from scripts.tiers import directory

NEEDS_DIRECTORY = frozenset({"labels"})  # label_issues tiers by the customer directory
SECTIONS = {  # switch: the rotation.yaml section that turns it on
    "pagerduty": "pagerduty",
    "slack": "slack",
    "labels": "github",
    "papercups": "papercups",
    "sentry": "sentry",
}


def off_because(switch: str, data: object, env: Mapping[str, str], base: Path) -> str | None:
    """Why `switch` is off (a sentence for the job summary), or None when it is on."""
    if not isinstance(data, Mapping):
        return None  # unreadable: the job says what is wrong
    section = SECTIONS[switch]
    if section not in data:
        return f"rotation.yaml has no `{section}:` section, so this job is switched off."
    if switch in NEEDS_DIRECTORY and not _has_directory(env, base):
        return (
            f"there is no customer directory ({directory.ENV_CONTENT} or {directory.ENV_PATH}, or "
            "customers.yaml beside rotation.yaml), so issues cannot be tiered."
        )
    return None


def _has_directory(env: Mapping[str, str], base: Path) -> bool:
    given = env.get(directory.ENV_CONTENT) or env.get(directory.ENV_PATH)
    return bool(given) or (base / "customers.yaml").is_file()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("switch", choices=sorted(SECTIONS))
    p.add_argument("--config", default="rotation.yaml")
    args = p.parse_args(argv)
    text, _ = read_text(args.config)
    data = parse(text, args.config).data if text is not None else None
    why = off_because(args.switch, data, os.environ, Path(args.config).parent)
    _output("enabled", "false" if why else "true")
    if why:
        note = f"Skipped: {why} Add it to rotation.yaml to turn the job on (docs/setup.md)."
        print(note)
        if path := os.environ.get("GITHUB_STEP_SUMMARY"):
            with Path(path).open("a", encoding="utf-8") as f:
                f.write(note + "\n\n")
    return 0


def _output(name: str, value: str) -> None:
    if path := os.environ.get("GITHUB_OUTPUT"):
        with Path(path).open("a", encoding="utf-8") as f:
            f.write(f"{name}={value}\n")


if __name__ == "__main__":
    sys.exit(main())
