"""Keep Papercups customers' tiers current: tier tags (with a login) and the metadata `tier`."""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from scripts import cli, runner
from scripts import plan as plans
from scripts.clients.papercups import Papercups, PapercupsError
from scripts.markup.github_text import escape
from scripts.plan import Change, CustomerMetadata, CustomerTags, TagCreate
from scripts.rotation.model import Rotation
from scripts.tiers import customers as customer_tiers
from scripts.tiers import directory as tiers
from scripts.tiers.customers import Record

TITLE = "Papercups customer tiers"
EMAIL, PASSWORD = "PAPERCUPS_EMAIL", "PAPERCUPS_PASSWORD"
TOKEN = "PAPERCUPS_TOKEN"


def main(argv: list[str] | None = None) -> int:
    return runner.start(JOB, cli.parser(__doc__), argv)


@dataclass(frozen=True)
class Setup:
    config: str
    rules: tuple[tiers.Rule, ...]
    directory: tiers.Directory
    login: tuple[str, str] | None  # tagging needs a login; None: metadata only


def setup(args) -> Setup:
    rot, _ = cli.load(args.config)
    rules = load_rules(rot, args.config)
    directory = tiers.load_directory(os.environ, Path(args.config).parent)
    return Setup(args.config, rules, directory, credentials(os.environ))


def observe_all(s: Setup, client: Papercups | None) -> Observed | None:
    """What Papercups holds; None: it was not read (no token)."""
    if client is None:
        return None
    try:
        return observe(client, tagging=s.login is not None)
    except PapercupsError as exc:
        raise runner.Halted(f"reading Papercups: {exc}", exc) from None


def planned(s: Setup, seen: Observed | None, heading: str) -> runner.Planned:
    if seen is None:
        text = (
            f"{TOKEN} is not set: Papercups was not read; this is the desired state.\n\n"
            + desired_state(s.directory, s.rules, s.login is not None)
        )
        return runner.Planned([], text, text, summary="")
    changes = customer_tiers.plan(seen.records, s.directory, s.rules, seen.tags)
    return render(
        s.config, heading, changes, seen, customer_tiers.tally(seen.records, s.directory, s.rules)
    )


# --- load ---------------------------------------------------------------------------------------


def load_rules(rot: Rotation, config: str) -> tuple[tiers.Rule, ...]:
    """The `tiers.rules` of rotation.yaml (or the defaults), with their lines."""
    src = rot.source
    raw = rot.section("tiers").get("rules")
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


def render(config: str, heading: str, changes: list[Change], seen: Observed,
           counts: Mapping[str, int]) -> runner.Planned:  # fmt: skip
    extra = notes(seen, counts)
    markdown = plans.render_markdown(changes, config, heading) + "".join(
        f"\n\n{escape(n)}" for n in extra
    )
    text = plans.render_text(changes, config, heading) + "\n\n" + "\n".join(extra)
    mode = "tags" if seen.tags is not None else "metadata"
    return runner.Planned(changes, text, markdown, json={"mode": mode, "customers": dict(counts)})


def writer(s: Setup, seen: Observed, client: Papercups, changes: Sequence[Change]) -> runner.Write:
    """Log in first if tags change (bad credentials: nothing written, exit 2); then each change
    alone: one failing does not stop the others (each is idempotent, the next run retries)."""
    if s.login and any(isinstance(c.data, CustomerTags) for c in changes):
        try:
            client.login(*s.login)
        except PapercupsError as exc:
            raise runner.Halted(f"Papercups login ({EMAIL}): {exc}", exc) from None
    ids = dict(seen.tags or {})  # tag name -> id; the tags created on the way are added
    return functools.partial(apply_change, client, ids)


def apply_change(client: Papercups, ids: dict[str, str], change: Change) -> None:
    match change.data:
        case TagCreate(name, color, description):
            ids[name] = create_tag(client, name, description, color)
        case CustomerTags(customer, add, remove):
            if add:
                if add not in ids:
                    raise PapercupsError(f"tag {add}", None, "the tag could not be created")
                client.add_customer_tag(customer, ids[add])  # first: never without a tier
            for name in remove:
                client.remove_customer_tag(customer, ids[name])
        case CustomerMetadata(customer, metadata):
            client.update_customer_metadata(customer, dict(metadata))
        case other:
            raise TypeError(f"sync_customer_tiers cannot apply {type(other).__name__}")


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


JOB = runner.Job(
    TITLE,
    runner.Policy.GO_ON,
    setup,
    runner.client(TOKEN, Papercups),
    observe_all,
    planned,
    writer,
    tokens=runner.needs(TOKEN),
)


if __name__ == "__main__":
    sys.exit(main())
