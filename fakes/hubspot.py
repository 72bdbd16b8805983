"""Small fake of the two HubSpot CRM endpoints build_customers reads: deals, and companies.

No HubSpot description is in specs/, so requests are checked by hand against
developers.hubspot.com (CRM v3 objects: "List", "Read a batch"): the method, a Bearer private
app token, only documented parameters, `limit` 1-100, `after` a cursor this fake gave out, a
batch of at most 100 IDs. Any other request is a violation.
"""

from __future__ import annotations

from fakes.base import FakeService, route

TOKEN = "pat-eu1-fake-support-hero"
STAMP = "2026-11-01T09:00:00.000Z"
_DEAL_PARAMS = {"limit", "after", "properties", "propertiesWithHistory", "associations", "archived"}
_BATCH_KEYS = {"inputs", "properties", "propertiesWithHistory", "idProperty"}


class HubSpotFake(FakeService):
    spec = None  # checked by hand, see the module docstring
    env_var = "HUBSPOT_API_URL"

    def __init__(self, token: str = TOKEN, **kw):
        super().__init__(**kw)
        self.token = token
        self.companies: dict[str, dict] = {}  # id -> properties
        self.deals: list[dict] = []

    def env(self) -> dict[str, str]:
        return super().env() | {"HUBSPOT_ACCESS_TOKEN": self.token}

    def error_body(self, status: int):
        return {"status": "error", "message": "fake error", "category": "VALIDATION_ERROR"}

    # -- seeding

    def add_company(self, name: str, domain: str | None = None) -> str:
        cid = str(1000 + len(self.companies))
        self.companies[cid] = {"name": name, "domain": domain, "hs_object_id": cid}
        return cid

    def add_deal(self, name: str, company: str | None, stage: str = "appointmentscheduled") -> str:
        did = str(5000 + len(self.deals))
        closed = "true" if stage in ("closedwon", "closedlost") else "false"
        properties = {"dealname": name, "dealstage": stage, "hs_is_closed": closed}
        self.deals.append({"id": did, "company": company, "properties": properties})
        return did

    # -- checks by hand

    def _authorized(self, req) -> bool:
        if req.authorization != f"Bearer {self.token}":
            self.violation(f"{req.method} {req.path}: no Bearer private app token")
            return False
        return True

    def _object(self, oid: str, properties: dict, wanted: list[str]) -> dict:
        shown = {k: properties.get(k) for k in wanted} | {"hs_object_id": oid}
        return {"id": oid, "properties": shown, "createdAt": STAMP, "updatedAt": STAMP,
                "archived": False}  # fmt: skip

    @route("GET", "/crm/v3/objects/deals")
    def list_deals(self, req):
        if not self._authorized(req):
            return 401, self.error_body(401)
        for name in set(req.query) - _DEAL_PARAMS:
            self.violation(f"GET /crm/v3/objects/deals: undocumented parameter {name!r}")
        limit = req.query.get("limit", "10")
        if not limit.isdigit() or not 1 <= int(limit) <= 100:
            self.violation(f"GET /crm/v3/objects/deals: limit must be 1-100, got {limit!r}")
            return 400, self.error_body(400)
        if req.query.get("archived", "false") not in ("true", "false"):
            self.violation("GET /crm/v3/objects/deals: archived is true or false")
        start = int(req.query.get("after", "0") or 0)
        if not 0 <= start <= len(self.deals):
            self.violation(f"GET /crm/v3/objects/deals: after {start} was never given out")
        wanted = [p for v in req.query.getlist("properties") for p in v.split(",")]
        links = [a for v in req.query.getlist("associations") for a in v.split(",")]
        page = self.deals[start : start + int(limit)]
        results = []
        for deal in page:
            obj = self._object(deal["id"], deal["properties"], wanted)
            if "companies" in links and deal["company"]:
                obj["associations"] = {"companies": {"results": [
                    {"id": deal["company"], "type": "deal_to_company"}]}}  # fmt: skip
            results.append(obj)
        body = {"results": results}
        if start + int(limit) < len(self.deals):
            after = str(start + int(limit))
            body["paging"] = {
                "next": {"after": after, "link": f"{self.url}{req.path}?after={after}"}
            }
        return 200, body

    @route("POST", "/crm/v3/objects/companies/batch/read")
    def read_companies(self, req):
        if not self._authorized(req):
            return 401, self.error_body(401)
        data = req.json if isinstance(req.json, dict) else {}
        where = "POST /crm/v3/objects/companies/batch/read"
        for key in set(data) - _BATCH_KEYS:
            self.violation(f"{where}: undocumented body key {key!r}")
        inputs = data.get("inputs")
        if not isinstance(inputs, list) or not 1 <= len(inputs) <= 100:
            self.violation(f"{where}: inputs must hold 1-100 IDs")
            return 400, self.error_body(400)
        if any(not isinstance(i, dict) or not isinstance(i.get("id"), str) for i in inputs):
            self.violation(f"{where}: each input is {{'id': '<string>'}}")
            return 400, self.error_body(400)
        wanted = data.get("properties") or []
        found = [self._object(i["id"], self.companies[i["id"]], wanted)
                 for i in inputs if i["id"] in self.companies]  # fmt: skip
        return 200, {"status": "COMPLETE", "results": found, "startedAt": STAMP,
                     "completedAt": STAMP}  # fmt: skip
