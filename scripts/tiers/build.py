"""Build the customer directory, pure: Stripe subscriptions and HubSpot open deals as entries.

The adapter (scripts/clients/billing.py) gives what the services say as the dataclasses below;
these functions make directory entries of them (monthly spend, plan, domains) and carry over what
people added by hand to an existing directory.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

from scripts.tiers import directory

PAYING = {"active", "past_due"}  # statuses whose price counts as monthly spend
CURRENT = PAYING | {"trialing"}  # statuses that make someone a customer on a plan
CLOSED_STAGES = {"closedwon", "closedlost"}
MONTHS_PER = {"day": 12 / 365, "week": 12 / 52, "month": 1.0, "year": 12.0}  # months per interval
KEPT_FIELDS = ("github_logins", "github_orgs", "aliases", "note")  # what people add by hand


# --- what the services say, as plain data -------------------------------------------------------


@dataclass(frozen=True)
class Item:
    unit_amount: int | None  # cents; None for metered or tiered prices
    currency: str
    interval: str
    interval_count: int
    quantity: int
    plan: str | None  # price or product metadata "plan", else the product's name


@dataclass(frozen=True)
class Subscription:
    customer: str  # Stripe customer ID
    status: str
    email: str | None
    name: str | None
    metadata: Mapping[str, str]
    items: tuple[Item, ...]


@dataclass(frozen=True)
class OpenDeal:
    company: str | None
    domain: str | None


# --- pure: from those to directory entries ------------------------------------------------------


def monthly_dollars(item: Item) -> float:
    """What one subscription item costs a month, in the currency's major unit."""
    if item.unit_amount is None:
        return 0.0
    months = MONTHS_PER.get(item.interval, 1.0) * max(1, item.interval_count)
    return item.unit_amount * item.quantity / 100 / months


@dataclass
class Entry:
    company: str
    plan: str | None = None
    monthly_spend: float = 0.0
    in_sales_process: bool = False
    domains: list[str] = field(default_factory=list)
    github_logins: list[str] = field(default_factory=list)
    github_orgs: list[str] = field(default_factory=list)
    aliases: list[str] = field(default_factory=list)
    note: str = ""
    _top: float = -1.0  # spend of the subscription that set `plan`

    def as_yaml(self) -> dict[str, Any]:
        out: dict[str, Any] = {"company": self.company, "plan": self.plan,
               "monthly_spend": round(self.monthly_spend, 2),
               "in_sales_process": self.in_sales_process}  # fmt: skip
        for key in ("domains", *KEPT_FIELDS):
            if value := getattr(self, key):
                out[key] = sorted(set(value)) if isinstance(value, list) else value
        return out


def domain_of(email: str | None) -> str | None:
    """The company domain of an address; None for free-mail (it identifies no company)."""
    domain = (email or "").rpartition("@")[2].strip().lower()
    return domain if domain and domain not in directory.FREE_MAIL else None


def _split(value: str | None) -> list[str]:
    return [v.strip() for v in (value or "").split(",") if v.strip()]


def from_stripe(
    subscriptions: Iterable[Subscription], warn: Callable[[str], None] = print
) -> dict[str, Entry]:
    """One entry per company (email domain, else Stripe customer): plan of its biggest
    subscription, spend summed. Customer metadata github_logins / github_orgs are kept."""
    entries: dict[str, Entry] = {}
    for sub in subscriptions:
        if sub.status not in CURRENT:
            continue
        domain = domain_of(sub.email)
        key = domain or sub.customer
        entry = entries.setdefault(key, Entry(sub.metadata.get("company") or sub.name or key))
        if domain and domain not in entry.domains:
            entry.domains.append(domain)
        entry.github_logins += _split(sub.metadata.get("github_logins"))
        entry.github_orgs += _split(sub.metadata.get("github_orgs"))
        spend = sum(monthly_dollars(i) for i in sub.items) if sub.status in PAYING else 0.0
        for item in sub.items:
            if item.currency.lower() != "usd":
                warn(
                    f"warning: a subscription is billed in {item.currency.upper()}: counted as USD"
                )
        entry.monthly_spend += spend
        plans = [i.plan for i in sub.items if i.plan]
        if plans and spend > entry._top:
            entry.plan, entry._top = plans[0].lower(), spend
    return entries


def add_deals(entries: dict[str, Entry], deals: Iterable[OpenDeal]) -> None:
    """Mark companies with an open deal as in the sales process; prospects get an entry."""
    by_name = {directory.company_key(e.company): e for e in entries.values()}
    for deal in deals:
        domain = (deal.domain or "").lower().removeprefix("www.") or None
        entry = entries.get(domain) if domain else None
        entry = entry or by_name.get(directory.company_key(deal.company or ""))
        if entry is None:
            if not (domain or deal.company):
                continue
            key = domain or deal.company or ""  # one of them, by the test above
            entry = entries.setdefault(key, Entry(deal.company or key))
            if domain and domain not in directory.FREE_MAIL:
                entry.domains.append(domain)
        entry.in_sales_process = True


def keep_recognition(
    entries: dict[str, Entry], kept: directory.Directory | None, warn: Callable[[str], None] = print
) -> None:
    """Carry over what people added by hand (logins, organisations, aliases, notes)."""
    if kept is None:
        return
    unmatched = 0
    by_domain = {d: e for e in entries.values() for d in e.domains}
    by_name = {directory.company_key(e.company): e for e in entries.values()}
    for old in kept.customers:
        entry = next((by_domain[d] for d in old.domains if d in by_domain), None)
        entry = entry or by_name.get(directory.company_key(old.company))
        if entry is None:
            unmatched += 1
            continue
        entry.github_logins += old.github_logins
        entry.github_orgs += old.github_orgs
        entry.aliases += old.aliases
    if unmatched:
        warn(f"warning: {unmatched} kept entries match no Stripe or HubSpot company: left out")


def render(entries: Mapping[str, Entry]) -> str:
    ordered = sorted(entries.values(), key=lambda e: e.company.lower())
    head = "# Generated by `python -m scripts.build_customers`; private: do not commit.\n"
    body = yaml.safe_dump({"customers": [e.as_yaml() for e in ordered]}, sort_keys=False)
    return head + body
