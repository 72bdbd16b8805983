"""Stateful fake of PagerDuty's Events API v2: integrations by routing key, incidents by dedup key.

As PagerDuty does, a trigger whose dedup_key matches an open incident of the same integration is
added to that incident (its `events` grow) instead of opening another; after a resolve, the same
dedup_key opens a new one. Traffic is checked against specs/pagerduty-events-v2.json.

Run it by hand (the demo), a routing key per team of a rotation file:
`python -m fakes.serve pagerduty-events --config rotation.yaml`.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import uuid
from datetime import UTC, datetime

from fakes.base import FakeService, route

ACTIONS = {"acknowledge": "acknowledged", "resolve": "resolved"}


def _invalid(*errors: str):
    # the body the developer docs show for a 400
    body = {"status": "invalid event", "message": "Event object is invalid", "errors": [*errors]}
    return 400, body


class PagerDutyEventsFake(FakeService):
    """POST /v2/enqueue: trigger, acknowledge and resolve events of the integrations it knows."""

    spec = "pagerduty-events-v2.json"
    env_var = "PAGERDUTY_EVENTS_URL"
    tls = True  # the pagerduty client refuses http://
    # The file writes each 400 as `"description": "#/components/responses/ArgumentError"`: a $ref
    # put in the wrong key, to a response it does not define. The live API answers the Error body
    # (developer docs: {"status": "invalid event", "message": ..., "errors": [...]}); its 429 has
    # no body, as the file says.
    spec_patches = tuple(
        (("paths", path, "post", "responses", "400"), {"$ref": "#/components/responses/Error"})
        for path in ("/enqueue", "/change/enqueue")
    )

    def __init__(self, clock: datetime | None = None, **kw):
        super().__init__(**kw)
        self.clock = clock  # stamps incidents; None: real time
        self.integrations: dict[str, str] = {}  # routing key -> the service's name
        self.team_keys: dict[str, str] = {}  # team key -> routing key (seed_from_rotation)
        self.incidents: list[dict] = []
        self._numbers = itertools.count(1)

    def env(self) -> dict[str, str]:
        # The client wants the bare origin (it appends /v2/enqueue itself); and the secret that
        # maps each team to its routing key, as the escalate workflow passes it.
        env = super().env() | {"PAGERDUTY_EVENTS_URL": self.origin}
        if self.team_keys:
            env["PAGERDUTY_ROUTING_KEYS"] = json.dumps(self.team_keys)
        return env

    def error_body(self, status: int):
        if status == 429:
            return None  # "Too many API calls at a time": no body
        if status == 400:
            return _invalid("fake error")[1]
        return {"status": "error", "message": "fake error"}

    # -- seeding and reading state (tests, the demo)

    def add_integration(self, service: str, routing_key: str | None = None) -> str:
        """An Events API v2 integration of a service; its 32-character routing key."""
        key = routing_key or hashlib.sha256(service.encode()).hexdigest()[:32]  # stable
        with self.lock:
            self.integrations[key] = service
        return key

    def seed_from_rotation(self, rot) -> dict[str, str]:
        """An integration per team (service named after it); team key -> routing key."""
        self.team_keys = {key: self.add_integration(team.name) for key, team in rot.teams.items()}
        return dict(self.team_keys)

    def open_incident(self, routing_key: str, dedup_key: str) -> dict | None:
        with self.lock:
            return next(
                (
                    i
                    for i in self.incidents
                    if i["routing_key"] == routing_key
                    and i["dedup_key"] == dedup_key
                    and i["status"] != "resolved"
                ),
                None,
            )

    def incidents_of(self, service: str) -> list[dict]:
        with self.lock:
            return [i for i in self.incidents if i["service"] == service]

    # -- the API

    @route("POST", "/enqueue")
    def enqueue(self, req):
        body = req.json
        key, action = body["routing_key"], body["event_action"]
        if len(key) != 32:
            return _invalid("Length of 'routing_key' is incorrect (should be 32 characters)")
        if key not in self.integrations:  # so that a test with the wrong key fails loudly
            return _invalid("Invalid routing key")
        dedup_key = body.get("dedup_key")
        if action == "trigger":
            if not body.get("payload"):
                return _invalid("'payload' is missing or blank")
            dedup_key = dedup_key or uuid.uuid4().hex
            self._trigger(key, dedup_key, body)
        elif not dedup_key:
            return _invalid("'dedup_key' is missing or blank")
        elif incident := self.open_incident(key, dedup_key):
            incident["status"] = ACTIONS[action]
            incident["events"].append(self._event(body))
        return 202, {"status": "success", "message": "Event processed", "dedup_key": dedup_key}

    def _trigger(self, key: str, dedup_key: str, body: dict) -> None:
        incident = self.open_incident(key, dedup_key)
        if incident is None:
            incident = {
                "number": next(self._numbers),
                "service": self.integrations[key],
                "routing_key": key,
                "dedup_key": dedup_key,
                "status": "triggered",
                "title": body["payload"]["summary"],
                "created_at": (self.clock or datetime.now(UTC)).isoformat(),
                "events": [],
            }
            self.incidents.append(incident)
        incident["events"].append(self._event(body))

    def _event(self, body: dict) -> dict:
        """An event as received, without its routing key (tests print these)."""
        return {k: v for k, v in body.items() if k != "routing_key"}
