"""Flag support conversations that wait on us too long: one digest for the support channel."""

from __future__ import annotations

import json
import sys
from dataclasses import asdict
from pathlib import Path

from scripts import cli, stale, stale_digest, stale_sources
from scripts import plan as plans
from scripts.model import Rotation
from scripts.plan import Change
from scripts.problems import ConfigError
from scripts.stale_sources import Reading
from scripts.yaml_source import parse

TITLE = "Stale support conversations"
EXIT_SOURCE_FAILED = 1  # a source could not be read: the digest says which, the others still show


def main(argv: list[str] | None = None) -> int:
    args = cli.parser(__doc__).parse_args(argv)
    return cli.guard(lambda: run(args))


def run(args) -> int:
    rot, _ = cli.load(args.config)
    cfg = load_settings(rot, args.config)
    now = cli.now_or(args)
    if args.apply:  # phase 2 removes this refusal
        raise cli.UsageError(
            "--apply (posting the digest to Slack) is not available yet; "
            "run without it to see the digest. Nothing was read or written."
        )
    readings = stale_sources.read_all(stale_sources.sources(rot))
    hours = stale.hero_hours(rot, cfg, now)
    findings = stale.assess_all((c for r in readings for c in r.conversations), cfg, now, hours)
    hero = hero_of(rot, now)
    statuses = [r.status for r in readings]
    digest = stale_digest.render(findings, statuses, hero, now, hours)
    changes = plan(rot, args.config, digest)
    markdown = stale_digest.render_markdown(findings, statuses, hero, now, hours)
    render(args, changes, digest, markdown, readings, findings)
    # phase 2, the one step left: `if args.apply: posted = apply(slack, changes)`
    return EXIT_SOURCE_FAILED if any(r.failed for r in readings) else cli.EXIT_OK


# --- load ---------------------------------------------------------------------------------------


def load_settings(rot: Rotation, config: str) -> stale.Settings:
    """The `stale:` section; what the schema cannot check is reported at its rotation.yaml line."""
    raw = rot.settings.get("stale") or {}
    problems = stale.settings_problems(raw)
    if problems:
        src = parse(Path(config).read_text(encoding="utf-8"), config)
        raise ConfigError(src.problem(path, message) for path, message in problems)
    return stale.settings(raw)


def hero_of(rot: Rotation, now) -> stale_digest.Hero | None:
    handle = stale.current_hero(rot, now)
    if handle is None:
        return None
    person = rot.people[handle]
    return stale_digest.Hero(person.name, person.slack)  # phase 2: Slack ID looked up by email


# --- plan and render ----------------------------------------------------------------------------


def plan(rot: Rotation, config: str, digest: stale_digest.Digest) -> list[Change]:
    """Post the digest in the support channel (phase 2: update today's digest in place)."""
    slack = rot.settings.get("slack") or {}
    if not slack.get("channel"):
        return []
    src = parse(Path(config).read_text(encoding="utf-8"), config)
    payload = digest.metadata["event_payload"]
    summary = f"stale digest: {payload['very_late']} very late, {payload['late']} late in total"
    data = {
        "channel": slack["channel"],
        "text": digest.text,
        "blocks": list(digest.blocks),
        "metadata": digest.metadata,
    }
    line = src.where(("slack", "channel"))[0]
    return [Change("post", f"Slack {slack['channel']}", summary, "digest", line, data)]


def render(args, changes: list[Change], digest: stale_digest.Digest, markdown: str,
           readings: list[Reading], findings: list[stale.Finding]) -> None:  # fmt: skip
    cli.write_summary(markdown)
    if args.format == "json":
        sources = [asdict(r.status) for r in readings]
        found = [stale_digest.finding_json(f) for f in findings]
        print(
            plans.render_json(changes, digest=asdict(digest), sources=sources, conversations=found)
        )
    elif args.format == "markdown":
        print(markdown)
    else:
        print(f"{TITLE} (dry run: nothing is posted)\n")
        print(digest.text)
        print(
            "\nMessage (Block Kit JSON):\n"
            + json.dumps(list(digest.blocks), indent=2, ensure_ascii=False)
        )
        print("\n" + plans.render_text(changes, args.config, TITLE))


if __name__ == "__main__":
    sys.exit(main())
