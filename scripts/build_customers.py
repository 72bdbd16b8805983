"""Build the customer directory from Stripe (plans, monthly spend) and HubSpot (open deals)."""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import sys
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from scripts import cli, console
from scripts.clients.http import (
    ServiceError,
    answer_reason,
    first_line,
    retry_cap,
    timeouts,
    transport_reason,
)
from scripts.rotation.problems import ConfigError
from scripts.tiers import directory

STRIPE_URL, HUBSPOT_URL = "https://api.stripe.com", "https://api.hubapi.com"
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

    def as_yaml(self) -> dict:
        out = {"company": self.company, "plan": self.plan,
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


def from_stripe(subscriptions: Iterable[Subscription], warn=print) -> dict[str, Entry]:
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
            entry = entries.setdefault(domain or deal.company, Entry(deal.company or domain))
            if domain and domain not in directory.FREE_MAIL:
                entry.domains.append(domain)
        entry.in_sales_process = True


def keep_recognition(
    entries: dict[str, Entry], kept: directory.Directory | None, warn=print
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


# --- the services (official clients) ------------------------------------------------------------


def stripe_subscriptions(api_key: str) -> list[Subscription]:
    """Every subscription, with its customer and prices, and the products' plan names."""
    import stripe

    # README: TLS trust follows SSL_CERT_FILE (a proxy's CA); Stripe's client reads only its own
    # module-wide bundle path, which defaults to the CAs it ships.
    stripe.ca_bundle_path = os.environ.get("SSL_CERT_FILE") or stripe.ca_bundle_path
    client = stripe.StripeClient(
        api_key,
        base_addresses={"api": os.environ.get("STRIPE_API_URL") or STRIPE_URL},
        max_network_retries=retry_cap(3),  # it backs off and honours Stripe-Should-Retry
        http_client=stripe.RequestsClient(timeout=timeouts()),  # its own default is 80 s
    )
    products = {}
    for raw in client.v1.products.list(params={"limit": 100}).auto_paging_iter():
        p = raw.to_dict()  # StripeObject is no dict: plain data from here on
        products[p["id"]] = (p.get("metadata") or {}).get("plan") or p.get("name")
    params = {"status": "all", "limit": 100, "expand": ["data.customer"]}
    return [
        _subscription(raw.to_dict(), products)
        for raw in client.v1.subscriptions.list(params=params).auto_paging_iter()
    ]


def _subscription(sub: dict, products: Mapping[str, str]) -> Subscription:
    customer = sub["customer"] if isinstance(sub["customer"], dict) else {"id": sub["customer"]}
    return Subscription(
        customer=customer["id"],
        status=sub["status"],
        email=customer.get("email"),
        name=customer.get("name"),
        metadata=dict(customer.get("metadata") or {}),
        items=tuple(_item(i, products) for i in sub["items"]["data"]),
    )


def _item(item: dict, products: Mapping[str, str]) -> Item:
    price = item["price"]
    recurring = price.get("recurring") or {}
    product = price["product"] if isinstance(price["product"], str) else price["product"]["id"]
    return Item(
        unit_amount=price.get("unit_amount"),
        currency=price.get("currency", "usd"),
        interval=recurring.get("interval", "month"),
        interval_count=recurring.get("interval_count") or 1,
        quantity=item.get("quantity") or 1,
        plan=(price.get("metadata") or {}).get("plan") or products.get(product),
    )


def hubspot_open_deals(token: str) -> list[OpenDeal]:
    """Open deals (not closed won or lost) and the name and domain of their companies."""
    from hubspot import HubSpot
    from urllib3.util.retry import Retry

    retry = Retry(
        total=retry_cap(3), backoff_factor=0.5, status_forcelist=(429, 500, 502, 503, 504)
    )
    client = HubSpot(
        access_token=token, retry=retry, host=os.environ.get("HUBSPOT_API_URL") or HUBSPOT_URL
    )
    company_ids, after = [], None
    while True:
        page = client.crm.deals.basic_api.get_page(
            limit=100,
            after=after,
            properties=["dealname", "dealstage", "hs_is_closed"],
            associations=["companies"],
            _request_timeout=timeouts(),
        )
        for deal in page.results:
            props = deal.properties or {}
            if props.get("hs_is_closed") == "true" or props.get("dealstage") in CLOSED_STAGES:
                continue
            linked = (deal.associations or {}).get("companies")
            company_ids += [a.id for a in (linked.results if linked else [])]
        after = page.paging.next.after if page.paging and page.paging.next else None
        if not after:
            break
    deals = []
    ids = list(dict.fromkeys(company_ids))
    for start in range(0, len(ids), 100):  # batch reads take at most 100 IDs
        batch = client.crm.companies.batch_api.read(
            batch_read_input_simple_public_object_id={
                "inputs": [{"id": i} for i in ids[start : start + 100]],
                "properties": ["name", "domain"],
                "propertiesWithHistory": [],
            },
            _request_timeout=timeouts(),
        )
        for company in batch.results:
            props = company.properties or {}
            deals.append(OpenDeal(props.get("name"), props.get("domain")))
    return deals


class BillingError(ServiceError):
    """Stripe or HubSpot failed: which one, and why, in one line without the key."""

    def __init__(self, service: str, status: int | None, message: str):
        self.service = service
        super().__init__("could not be read", status, message)


@contextmanager
def billing_errors(service: str, variable: str) -> Iterator[None]:
    """The official clients' exceptions as one BillingError: refused key, no answer, or what
    the answer was (their own texts hold whole bodies and, for HubSpot, the headers)."""
    try:
        yield
    except Exception as exc:
        status = getattr(exc, "http_status", None) or getattr(exc, "status", None)
        body = getattr(exc, "http_body", None) or getattr(exc, "body", None) or ""
        if type(exc).__name__ in ("APIConnectionError", "MaxRetryError") or not status:
            reason = transport_reason(exc)
        elif status in (401, 403):
            reason = f"refused the key: check {variable}"
        else:
            reason = _billing_message(status, str(body))
        raise BillingError(service, status if isinstance(status, int) else None, reason) from None


def _billing_message(status: int, body: str) -> str:
    try:  # Stripe: {"error": {"message"}}; HubSpot: {"message"}
        data = json.loads(body)
        error = data.get("error")
        message = error.get("message") if isinstance(error, dict) else None
        return first_line(message or data["message"])
    except (ValueError, KeyError, TypeError, AttributeError):
        return answer_reason(status, "", body)


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
