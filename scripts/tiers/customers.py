"""Papercups customers' tiers, pure: each customer's tier from the directory, and the writes
(tier tags, the metadata `tier` key) that make Papercups show it."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from scripts.plan import Change, CustomerMetadata, CustomerTags, TagCreate
from scripts.tiers import directory as tiers
from scripts.tiers.directory import Rule
from scripts.tiers.labels import DEFAULT_LABELS
from scripts.tiers.names import TIERS

METADATA_KEY = "tier"  # what flag_stale reads (scripts/sources/conversations.py)
TAGS_TARGET = "Papercups tags"


@dataclass(frozen=True)
class TagSpec:
    tier: str
    name: str
    color: str  # a CSS colour, "#" and six hex digits
    description: str


# The GitHub labels' default names, colours and descriptions: the same words in both places.
TAGS = {
    tier: TagSpec(tier, spec.name, f"#{spec.color}", spec.description)
    for tier, spec in DEFAULT_LABELS.items()
}


@dataclass(frozen=True)
class Record:
    """A Papercups customer as the plan needs it."""

    id: str
    email: str | None
    metadata: Mapping[str, Any] = field(default_factory=dict)
    tier_tags: frozenset[str] | None = None  # names of the tier tags it has; None: not read


@dataclass(frozen=True)
class Want:
    """The tier a customer should show, how we know, and the tiers rule's rotation.yaml line."""

    tier: str
    how: str
    line: int = 0


def wanted(email: str | None, directory: tiers.Directory, rules: Iterable[Rule]) -> Want | None:
    """The tier of the directory customer owning the email's domain (or a parent domain of it);
    Community without one. None without an email: nothing to go by, so nothing is written.

    The plan names the directory entry by its place, never the company (the directory is
    private; plans end up in Actions logs).
    """
    if not email or "@" not in email:
        return None
    found = tiers.match_domain(directory, email.rpartition("@")[2])
    tier, rule = tiers.tier_of(found, rules)
    how = f"email domain: customers[{found.index}]" if found else "no directory entry"
    return Want(tier, how, rule.line if rule else 0)


def plan(
    records: Iterable[Record],
    directory: tiers.Directory,
    rules: Iterable[Rule],
    tags: Mapping[str, str] | None,
    specs: Mapping[str, TagSpec] = TAGS,
) -> list[Change]:
    """Every write that makes Papercups show each customer's tier.

    `tags` (tag name -> id) is None without a login: then only the metadata is planned. With one,
    both: tags for people in Papercups' UI, metadata for flag_stale, which reads the tier there.
    Missing tier tags are created first, only those that some customer needs.
    """
    changes: list[Change] = []
    for record in records:
        want = wanted(record.email, directory, rules)
        if want is None:
            continue
        if tags is not None:
            changes += tag_change(record, want, specs)
        changes += metadata_change(record, want)
    if tags is None:
        return changes
    needed = {c.data.add for c in changes if isinstance(c.data, CustomerTags) and c.data.add}
    creates = [create_tag(s) for s in specs.values() if s.name in needed and s.name not in tags]
    return creates + changes


def tag_change(record: Record, want: Want, specs: Mapping[str, TagSpec]) -> list[Change]:
    """Add the tier's tag and remove any other tier tag: a change of tier replaces the tag."""
    have = record.tier_tags or frozenset()
    name = specs[want.tier].name
    remove = sorted(have - {name})
    add = None if name in have else name
    if add is None and not remove:
        return []
    was = ", ".join(remove) or "no tier tag"
    data = CustomerTags(record.id, add, remove)
    summary = f"{name} (was: {was})" if add else f"remove {was} (keeps {name})"
    return [Change("tag", f"customer {record.id}", summary, want.how, want.line, data)]


def metadata_change(record: Record, want: Want) -> list[Change]:
    """Set metadata `tier`, keeping the other keys (Papercups replaces the whole map)."""
    old = (record.metadata or {}).get(METADATA_KEY)
    if old == want.tier:
        return []
    data = CustomerMetadata(record.id, {**(record.metadata or {}), METADATA_KEY: want.tier})
    summary = f"metadata {METADATA_KEY}: {want.tier} (was: {old or 'none'})"
    return [Change("set", f"customer {record.id}", summary, want.how, want.line, data)]


def create_tag(spec: TagSpec) -> Change:
    data = TagCreate(spec.name, spec.color, spec.description)
    return Change("create", TAGS_TARGET, f"{spec.name} ({spec.color})", "tier tag missing", 0, data)


def tally(
    records: Iterable[Record], directory: tiers.Directory, rules: Iterable[Rule]
) -> dict[str, int]:
    """Customers per tier (and without an email), for the report."""
    counts = {t: 0 for t in TIERS} | {"no email": 0}
    for record in records:
        want = wanted(record.email, directory, rules)
        counts[want.tier if want else "no email"] += 1
    return counts
