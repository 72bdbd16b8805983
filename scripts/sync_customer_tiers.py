"""Keep Papercups customers' tiers current: tier tags (with a login) and the metadata `tier`."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from scripts import cli
from scripts import plan as plans
from scripts.clients.papercups import Papercups, PapercupsError
from scripts.markup.github_text import escape
from scripts.plan import Change
from scripts.rotation.model import Rotation
from scripts.tiers import customers as customer_tiers
from scripts.tiers import directory as tiers
from scripts.tiers.customers import Record

TITLE = "Papercups customer tiers"
EMAIL, PASSWORD = "PAPERCUPS_EMAIL", "PAPERCUPS_PASSWORD"


def main(argv: list[str] | None = None) -> int:
    return cli.guard(cli.parser(__doc__), argv, run)


def run(args) -> int:
    rot, _ = cli.load(args.config)
    rules = load_rules(rot, args.config)
    directory = tiers.load_directory(os.environ, Path(args.config).parent)
    login = credentials(os.environ)
    token = cli.token("PAPERCUPS_TOKEN", args.apply)
    if not token:
        print("PAPERCUPS_TOKEN is not set: Papercups was not read; this is the desired state.\n")
        print(desired_state(directory, rules, login is not None))
        return cli.EXIT_OK
    client = Papercups(token)
    try:
        seen = observe(client, tagging=login is not None)
    except PapercupsError as exc:
        print(f"error: reading Papercups: {exc}; nothing was written", file=sys.stderr)
        return cli.failed(exc)
    changes = customer_tiers.plan(seen.records, directory, rules, seen.tags)
    render(args, changes, seen, customer_tiers.tally(seen.records, directory, rules))
    if not args.apply or not changes:
        return cli.EXIT_OK
    return apply(client, changes, seen.tags or {}, login)


# --- load ---------------------------------------------------------------------------------------


def load_rules(rot: Rotation, config: str) -> tuple[tiers.Rule, ...]:
    """The `tiers.rules` of rotation.yaml (or the defaults), with their lines."""
    src = rot.source
    raw = (rot.settings.get("tiers") or {}).get("rules")
    lines = [src.where(("tiers", "rules", i))[0] for i in range(len(raw or []))]
    return tiers.rules(raw, lines)


def credentials(env: Mapping[str, str]) -> tuple[str, str] | None:
    """The Papercups login that tagging needs; None without one; half of one is a usage error."""
    email, password = env.get(EMAIL) or None, env.get(PASSWORD) or None
    if bool(email) != bool(password):
        missing = PASSWORD if email else EMAIL
        raise cli.UsageError(
            f"{missing} is not set: tagging needs both {EMAIL} and {PASSWORD} (or neither, for "
            "metadata only); nothing was read"
        )
    return (email, password) if email and password else None


def desired_state(directory: tiers.Directory, rules, tagging: bool) -> str:
    """Without a token: what each customer gets, and the directory's customers per tier."""
    counts = {t: 0 for t in tiers.TIERS}
    for customer in directory.customers:
        counts[tiers.tier_of(customer, rules)[0]] += 1
    lines = [
        f"Customer directory {directory.source}: {len(directory.customers)} customers, "
        + ", ".join(f"{n} {t}" for t, n in counts.items()),
        "Each Papercups customer with an email gets the tier of the directory customer owning "
        "its email domain (Community without one), as",
        f"  metadata: {customer_tiers.METADATA_KEY}: " + " | ".join(tiers.TIERS),
    ]
    tags = ", ".join(f"{s.name} ({s.color})" for s in customer_tiers.TAGS.values())
    lines.append(f"  tags: {tags}" if tagging else f"  no tags: {EMAIL} and {PASSWORD} are not set")
    return "\n".join(lines)


# --- observe (read only) -----------------------------------------------------------------------


@dataclass(frozen=True)
class Observed:
    records: tuple[Record, ...]
    tags: dict[str, str] | None  # tag name -> id; None: not read (no login, so no tagging)


def observe(client: Papercups, tagging: bool) -> Observed:
    """Every customer (50 a page); with tagging, the tags and, per tier tag, who has it.

    Lists do not load a customer's tags, and one request per customer would be N reads; the
    customer list filtered by tag_id gives each tier tag's customers a page of 50 at a time.
    """
    customers = {c.id: c for c in client.customers()}  # by id: a page boundary may repeat one
    if not tagging:
        return Observed(tuple(Record(c.id, c.email, c.metadata) for c in customers.values()), None)
    tags = {t.name: t.id for t in client.tags()}
    has: dict[str, set[str]] = {}
    for spec in customer_tiers.TAGS.values():
        if spec.name in tags:
            for c in client.customers(tag_id=tags[spec.name]):
                has.setdefault(c.id, set()).add(spec.name)
    records = tuple(
        Record(c.id, c.email, c.metadata, frozenset(has.get(c.id, ()))) for c in customers.values()
    )
    return Observed(records, tags)


# --- render and apply ---------------------------------------------------------------------------


def notes(seen: Observed, counts: Mapping[str, int]) -> list[str]:
    mode = (
        "tier tags and metadata"
        if seen.tags is not None
        else f"metadata only ({EMAIL} and {PASSWORD} are not set: tags need a login)"
    )
    read = ", ".join(f"{n} {what}" for what, n in counts.items())
    return [f"Mode: {mode}.", f"Read {len(seen.records)} Papercups customers: {read}."]


def render(args, changes: list[Change], seen: Observed, counts: Mapping[str, int]) -> None:
    extra = notes(seen, counts)
    markdown = plans.render_markdown(changes, args.config, TITLE) + "".join(
        f"\n\n{escape(n)}" for n in extra
    )
    cli.write_summary(markdown)
    if args.format == "json":
        mode = "tags" if seen.tags is not None else "metadata"
        print(plans.render_json(changes, mode=mode, customers=dict(counts)))
    elif args.format == "markdown":
        print(markdown)
    else:
        print(plans.render_text(changes, args.config, TITLE))
        print("\n" + "\n".join(extra))


def apply(
    client: Papercups, changes: list[Change], tags: Mapping[str, str], login: tuple | None
) -> int:
    """Log in first if tags change (bad credentials: nothing written, exit 2), then make each
    change; one failing does not stop the others (each is idempotent, the next run retries)."""
    if login and any(c.data["kind"] == "tags" for c in changes):
        try:
            client.login(*login)
        except PapercupsError as exc:
            print(f"error: Papercups login ({EMAIL}): {exc}; nothing was written", file=sys.stderr)
            return cli.failed(exc)
    ids, failed = dict(tags), 0
    for change in changes:
        try:
            apply_change(client, change, ids)
        except PapercupsError as exc:
            failed += 1
            print(f"error: {change.target}: {change.summary}: {exc}", file=sys.stderr)
    return cli.EXIT_APPLY_FAILED if failed else cli.EXIT_OK


def apply_change(client: Papercups, change: Change, ids: dict[str, str]) -> None:
    d = change.data
    if d["kind"] == "create-tag":
        ids[d["name"]] = create_tag(client, d["name"], d["description"], d["color"])
    elif d["kind"] == "tags":
        if d["add"]:
            if d["add"] not in ids:
                raise PapercupsError(f"tag {d['add']}", None, "the tag could not be created")
            client.add_customer_tag(d["customer"], ids[d["add"]])  # first: never without a tier
        for name in d["remove"]:
            client.remove_customer_tag(d["customer"], ids[name])
    elif d["kind"] == "metadata":
        client.update_customer_metadata(d["customer"], d["metadata"])


def create_tag(client: Papercups, name: str, description: str, color: str) -> str:
    """The new tag's id; a 422 (the name is taken: created meanwhile) finds the existing one."""
    try:
        return client.create_tag(name, description, color).id
    except PapercupsError as exc:
        if exc.status != 422:
            raise
        taken = exc
    found = next((t.id for t in client.tags() if t.name == name), None)
    if found is None:
        raise taken
    return found


if __name__ == "__main__":
    sys.exit(main())
