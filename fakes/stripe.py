"""Small fake of the two Stripe endpoints build_customers reads: products and subscriptions.

No Stripe description is in specs/, so requests are checked by hand against docs.stripe.com
(api/products/list, api/subscriptions/list, api/pagination, api/expanding_objects): the method,
the Bearer secret key, only documented parameters, `limit` 1-100, `starting_after` an ID of the
list, `expand[]` only where build_customers asks for it. Any other request is a violation.
"""

from __future__ import annotations

import re

from fakes.base import FakeService, route

KEY = "sk_test_fakeSupportHero"
_LIST_PARAMS = {"limit", "starting_after", "ending_before"}
_SUB_PARAMS = _LIST_PARAMS | {"status", "customer", "price", "created", "current_period_end"}
_STATUSES = {"active", "past_due", "unpaid", "canceled", "incomplete", "incomplete_expired",
             "trialing", "paused", "all", "ended"}  # fmt: skip
_EXPAND = re.compile(r"^expand\[\d*\]$")


class StripeFake(FakeService):
    spec = None  # checked by hand, see the module docstring
    env_var = "STRIPE_API_URL"

    def __init__(self, key: str = KEY, **kw):
        super().__init__(**kw)
        self.key = key
        self.products: list[dict] = []
        self.customers: dict[str, dict] = {}
        self.subscriptions: list[dict] = []

    def env(self) -> dict[str, str]:
        return super().env() | {"STRIPE_API_KEY": self.key}

    def error_body(self, status: int):
        return {"error": {"type": "api_error", "message": "fake error"}}

    # -- seeding

    def add_product(self, name: str, plan: str | None = None) -> str:
        pid = f"prod_{len(self.products) + 1:04d}"
        metadata = {"plan": plan} if plan else {}
        self.products.append({"id": pid, "object": "product", "name": name, "active": True,
                              "metadata": metadata})  # fmt: skip
        return pid

    def add_subscription(
        self,
        email: str,
        product: str,
        unit_amount: int | None,
        *,
        name: str = "",
        interval: str = "month",
        quantity: int = 1,
        status: str = "active",
        currency: str = "usd",
        metadata: dict | None = None,
    ) -> str:
        cid = f"cus_{len(self.customers) + 1:04d}"
        customer = next((c for c in self.customers.values() if c["email"] == email), None)
        if customer is None:
            customer = {"id": cid, "object": "customer", "email": email, "name": name or None,
                        "metadata": metadata or {}}  # fmt: skip
            self.customers[cid] = customer
        sid = f"sub_{len(self.subscriptions) + 1:04d}"
        price = {"id": f"price_{sid}", "object": "price", "currency": currency, "product": product,
                 "unit_amount": unit_amount, "metadata": {},
                 "recurring": {"interval": interval, "interval_count": 1}}  # fmt: skip
        item = {"id": f"si_{sid}", "object": "subscription_item", "price": price,
                "quantity": quantity}  # fmt: skip
        self.subscriptions.append({
            "id": sid, "object": "subscription", "status": status, "currency": currency,
            "customer": customer["id"], "metadata": {},
            "items": {"object": "list", "data": [item], "has_more": False,
                      "url": f"/v1/subscription_items?subscription={sid}"},
        })  # fmt: skip
        return sid

    # -- checks by hand

    def _check(self, req, allowed: set[str], expandable: set[str] = frozenset()) -> bool:
        where = f"{req.method} {req.path}"
        if req.authorization != f"Bearer {self.key}":
            self.violation(f"{where}: no Bearer secret key")
            return False
        for name in req.query:
            if _EXPAND.match(name):
                bad = set(req.query.getlist(name)) - expandable
                if bad:
                    self.violation(f"{where}: cannot expand {sorted(bad)}")
            elif name not in allowed:
                self.violation(f"{where}: undocumented parameter {name!r}")
        limit = req.query.get("limit", "10")
        if not limit.isdigit() or not 1 <= int(limit) <= 100:
            self.violation(f"{where}: limit must be 1-100, got {limit!r}")
        return True

    def _list(self, req, items: list[dict], url: str) -> tuple[int, dict]:
        limit = int(req.query.get("limit", 10))
        start = 0
        if after := req.query.get("starting_after"):
            ids = [i["id"] for i in items]
            if after not in ids:
                self.violation(f"{req.path}: starting_after {after!r} is not in the list")
                return 400, self.error_body(400)
            start = ids.index(after) + 1
        page = items[start : start + limit]
        return 200, {"object": "list", "data": page, "has_more": start + limit < len(items),
                     "url": url}  # fmt: skip

    @route("GET", "/v1/products")
    def list_products(self, req):
        if not self._check(req, _LIST_PARAMS | {"active", "ids", "created", "shippable", "url"}):
            return 401, self.error_body(401)
        return self._list(req, self.products, "/v1/products")

    @route("GET", "/v1/subscriptions")
    def list_subscriptions(self, req):
        if not self._check(req, _SUB_PARAMS, {"data.customer"}):
            return 401, self.error_body(401)
        status = req.query.get("status", "active")
        if status not in _STATUSES:
            self.violation(f"GET /v1/subscriptions: status {status!r} is not documented")
        subs = [s for s in self.subscriptions if status in ("all", s["status"])]
        if status != "all" and status != "canceled":
            subs = [s for s in subs if s["status"] != "canceled"]
        expand = {v for k in req.query if _EXPAND.match(k) for v in req.query.getlist(k)}
        if "data.customer" in expand:
            subs = [s | {"customer": self.customers[s["customer"]]} for s in subs]
        return self._list(req, subs, "/v1/subscriptions")
