"""Thin adapters over Stripe's and HubSpot's official clients: subscriptions and open deals,
and their failures as one line without the key."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

from scripts.clients.http import (
    ServiceError,
    answer_reason,
    first_line,
    retry_cap,
    timeouts,
    transport_reason,
)
from scripts.tiers.build import CLOSED_STAGES, Item, OpenDeal, Subscription

STRIPE_URL, HUBSPOT_URL = "https://api.stripe.com", "https://api.hubapi.com"


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
