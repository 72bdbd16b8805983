"""PagerDuty adapters over the official `pagerduty` client: REST API v2 and Events API v2."""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pagerduty

from scripts import redaction
from scripts.clients.access import adapter, writes
from scripts.clients.http import (
    Failure,
    first_line,
    not_json,
    request_timeout,
    retry_after,
    retry_cap,
    transport_reason,
)
from scripts.clients.pagerduty_v3 import ShiftCalls
from scripts.pagerduty.plan import Layer, Override, Schedule
from scripts.pagerduty.shifts import ShiftSchedule

DEFAULT_URL = "https://api.pagerduty.com"
RETRY_STATUSES = (429, 500, 502, 503, 504)
MAX_RETRIES = 5  # per request
RETRY_BUDGET = 180.0  # seconds of waiting per run, summed over requests
DUPLICATE_INCIDENT = "matching dedup key already exists"  # POST /incidents, an open incident_key


class PagerDutyError(Failure):
    """A PagerDuty call failed; the message names the call, never the token."""


class NotFound(PagerDutyError):
    pass


class BadRequest(PagerDutyError):
    """PagerDuty answered 400: the request is wrong, or (the upgrade guide) a schedule was asked
    for on the API of the other kind."""


class Unauthorized(PagerDutyError):
    """PagerDuty refused the token (401) or its access (403)."""

    @property
    def setup(self) -> bool:
        return True


class GaveUp(PagerDutyError):
    """PagerDuty kept answering 429/5xx past the retry bounds."""


@dataclass(frozen=True)
class User:
    id: str
    name: str
    email: str


@dataclass(frozen=True)
class OnCall:
    user_id: str
    user_name: str
    start: datetime | None
    end: datetime | None


@dataclass(frozen=True)
class Incident:
    id: str
    number: int | None
    status: str
    html_url: str | None


@dataclass(frozen=True)
class Written:
    """One item of an override batch: `id` when created, else the errors PagerDuty gave."""

    override: Override
    id: str | None
    errors: tuple[str, ...] = ()


class _Client(pagerduty.RestApiV2Client):
    """RestApiV2Client with bounded retries that wait as long as PagerDuty asks.

    The client retries the statuses in `retry` up to a count; it does not read Retry-After and,
    unconfigured, retries 429 forever. `postprocess`, its per-response hook, does the waiting
    (ratelimit-reset, else Retry-After, else exponential) and gives up past the bounds.
    """

    def __init__(self, token: str, base_url: str, max_retries: int, budget: float):
        super().__init__(token, base_url=base_url)
        max_retries = retry_cap(max_retries)
        self.retry = dict.fromkeys(RETRY_STATUSES, max_retries)
        self.max_http_attempts = max_retries
        self.sleep_timer = 0  # the client's own backoff; postprocess waits instead
        self.timeout = request_timeout()
        self.max_retries, self.budget, self.waited = max_retries, budget, 0.0
        self._tries = 0

    def request(self, method: str, url: str, **kw):
        self._tries = 0
        return super().request(method, url, **kw)

    def postprocess(self, response) -> None:
        super().postprocess(response)
        status = response.status_code
        if status not in RETRY_STATUSES:
            return
        call = f"{response.request.method} {response.request.url.path}"
        if response.request.method == "POST" and status != 429:
            # a 5xx may come after a partial write: the next run re-reads and finishes it
            raise PagerDutyError(f"{call}: PagerDuty answered {status}; a POST is not retried")
        self._tries += 1
        wait = wait_seconds(response.headers, self._tries)
        if self._tries > self.max_retries or self.waited + wait > self.budget:
            raise GaveUp(
                f"{call}: PagerDuty still answers {status} after {self._tries - 1} retries and "
                f"{self.waited:.0f}s of waiting (asked to wait {wait:.0f}s more); giving up"
            )
        self.waited += wait
        time.sleep(wait)


def wait_seconds(headers, tries: int) -> float:
    """PagerDuty's ratelimit-reset, else Retry-After (seconds or a date), else 1, 2, 4... s."""
    for name in ("ratelimit-reset", "retry-after"):
        if (wait := retry_after(headers.get(name))) is not None:
            return wait
    return float(min(2 ** (tries - 1), 30))


@adapter
class PagerDuty(ShiftCalls):
    """The calls the jobs make; every answer mapped to a small dataclass. Schedules of both
    kinds: layer-based (REST v2) and shift-based (v3, the calls in pagerduty_v3.py)."""

    def __init__(
        self,
        token: str,
        base_url: str | None = None,
        *,
        max_retries: int = MAX_RETRIES,
        retry_budget: float = RETRY_BUDGET,
    ):
        url = (base_url or os.environ.get("PAGERDUTY_API_URL") or DEFAULT_URL).rstrip("/")
        try:
            self._client = _Client(token, url, max_retries, retry_budget)
        except pagerduty.UrlError:
            raise PagerDutyError(f"the PagerDuty API URL must use https://, not {url!r}") from None

    @property
    def requests(self) -> int:
        """HTTP requests sent so far, retries included."""
        return self._client.total_call_count

    # -- reads

    def schedule(self, schedule_id: str) -> Schedule | ShiftSchedule:
        """A schedule of either kind, without its overrides: PagerDuty's upgrade guide asks
        `/v3/schedules/{id}` first; its 400 means a layer-based schedule (v2).

        PagerDuty lists `schedule_layers` highest priority first (the layer created last wins);
        the dataclass holds them the other way round, the order a PUT sends them in.
        """
        try:
            return self.shift_schedule(schedule_id)
        except BadRequest:
            pass
        body = self._json("GET", f"/schedules/{schedule_id}", what=f"schedule {schedule_id}")
        raw = body["schedule"]
        layers = tuple(_layer(x) for x in reversed(raw.get("schedule_layers") or []))
        return Schedule(raw["id"], raw.get("name") or "", raw["time_zone"], layers)

    def overrides(self, schedule_id: str, since: datetime, until: datetime) -> tuple[Override, ...]:
        """Overrides of a schedule that overlap [since, until), whole.

        Without overflow=true PagerDuty cuts each at the bounds: one that started yesterday
        would read as starting at `since`, and look like a future override of ours or not.
        """
        params = {"since": _iso(since), "until": _iso(until), "overflow": "true"}
        body = self._json(
            "GET",
            f"/schedules/{schedule_id}/overrides",
            params=params,
            what=f"schedule {schedule_id}",
        )
        return tuple(_override(x) for x in body["overrides"])

    def users(self) -> list[User]:
        """Every user of the account (pages of 100)."""
        return [_user(x) for x in self._call(lambda c: list(c.iter_all("users")))]

    def user_by_email(self, email: str) -> User | None:
        found = self._call(lambda c: c.find("users", email, attribute="email"))
        return _user(found) if found else None

    def holder(self, schedule_id: str, at: datetime) -> OnCall | None:
        """Who holds a schedule at `at`: its final schedule's entry there (whole, overflow=true).

        `/oncalls` lists only schedules that an escalation policy uses, so it is empty for a
        schedule in none; the final schedule answers for every schedule (specs/README.md).
        """
        try:
            user = self.shift_holder(schedule_id, at)
            return OnCall(user, "", None, None) if user else None
        except BadRequest:
            pass  # layer-based: its v2 final schedule
        params = {"since": _iso(at), "until": _iso(at + timedelta(seconds=1)), "overflow": "true"}
        body = self._json(
            "GET", f"/schedules/{schedule_id}", params=params, what=f"schedule {schedule_id}"
        )
        final = (body["schedule"].get("final_schedule") or {}).get("rendered_schedule_entries")
        rows = [_oncall(x) for x in final or []]
        return next((r for r in rows if r.user_id and _covers(r, at)), None)

    # -- writes

    @writes
    def update_schedule(
        self, schedule_id: str, name: str, time_zone: str, layers: Iterable[Layer]
    ) -> None:
        """Set the time zone and layers, lowest priority first: a layer with an id is updated,
        one without is added on top; PagerDuty keeps a layer left out (layers are never removed).
        The PUT needs the schedule's `name`."""
        zone = ZoneInfo(time_zone)
        body = {
            "schedule": {
                "type": "schedule",
                "name": name,
                "time_zone": time_zone,
                "schedule_layers": [_layer_json(x, zone) for x in layers],
            }
        }
        self._json("PUT", f"/schedules/{schedule_id}", json=body, what=f"schedule {schedule_id}")

    @writes
    def create_overrides(
        self, schedule_id: str, overrides: Iterable[Override], time_zone: str
    ) -> list[Written]:
        """One batch; each item has its own status (a 201 can hold failed items)."""
        zone, overrides = ZoneInfo(time_zone), list(overrides)
        items = [_override_json(o, zone) for o in overrides]
        answer = self._json(
            "POST",
            f"/schedules/{schedule_id}/overrides",
            json={"overrides": items},
            what=f"schedule {schedule_id}",
        )
        results = []
        for o, item in zip(overrides, answer, strict=True):
            ok = item.get("status") == 201 and item.get("override", {}).get("id")
            errors = tuple(item.get("errors") or ([] if ok else [f"status {item.get('status')}"]))
            results.append(Written(o, item["override"]["id"] if ok else None, errors))
        return results

    @writes
    def delete_override(self, schedule_id: str, override_id: str) -> None:
        """Delete an override; one already gone counts as deleted."""
        self._gone_ok("DELETE", f"/schedules/{schedule_id}/overrides/{override_id}")

    def _gone_ok(self, method: str, path: str) -> None:
        with contextlib.suppress(NotFound):  # a retried DELETE whose first answer was lost
            self._json(method, path, what="")

    @writes
    def create_incident(
        self,
        *,
        title: str,
        service_id: str,
        from_email: str,
        escalation_policy_id: str | None = None,
        assignee_ids: Iterable[str] = (),
        urgency: str | None = None,
        details: str | None = None,
        incident_key: str | None = None,
    ) -> Incident:
        """Open an incident on a service (From: a PagerDuty user's email, as the API requires)."""
        incident: dict = {
            "type": "incident",
            "title": title,
            "service": {"id": service_id, "type": "service_reference"},
        }
        if escalation_policy_id:
            incident["escalation_policy"] = {
                "id": escalation_policy_id,
                "type": "escalation_policy_reference",
            }
        if assignees := [{"assignee": {"id": i, "type": "user_reference"}} for i in assignee_ids]:
            incident["assignments"] = assignees
        if urgency:
            incident["urgency"] = urgency
        if details:
            incident["body"] = {"type": "incident_body", "details": details}
        if incident_key:
            incident["incident_key"] = incident_key
        body = self._json(
            "POST", "/incidents", json={"incident": incident}, headers={"From": from_email}, what=""
        )
        raw = body["incident"]
        return Incident(
            raw["id"], raw.get("incident_number"), raw.get("status", ""), raw.get("html_url")
        )

    # -- escalate

    def user(self, user_id: str) -> User:
        """One user, by id (an on-call names its user by reference only: no email)."""
        return _user(self._json("GET", f"/users/{user_id}", what=f"user {user_id}")["user"])

    @writes
    def create_incident_once(self, **incident) -> Incident | None:
        """`create_incident`, or None when the service already has an open incident with that
        incident_key: PagerDuty refuses a second one (400, "matching dedup key already exists")."""
        try:
            return self.create_incident(**incident)
        except PagerDutyError as exc:
            if DUPLICATE_INCIDENT in str(exc):
                return None
            raise

    # -- plumbing

    def _call(self, fn):
        try:
            return fn(self._client)
        except PagerDutyError:
            raise
        except pagerduty.HttpError as exc:
            raise _http_error(exc.response) from None
        except pagerduty.Error as exc:
            raise PagerDutyError(f"PagerDuty gave no answer: {transport_reason(exc)}") from None

    def _json(self, method: str, path: str, *, what: str, **kw):
        if "json" in kw:  # nothing this run holds secret goes out in a body, whatever its source
            kw["json"] = redaction.current().redact_data(kw["json"])
        response = self._call(lambda c: c.request(method, path, **kw))
        if response.status_code == 404 and what:
            raise NotFound(f"PagerDuty has no {what}")
        if response.status_code == 404:
            raise NotFound(f"{method} {path}: not found")
        if not response.is_success:
            raise _http_error(response)
        try:
            return response.json() if response.content else None
        except ValueError:
            what = f"{method} {path}: PagerDuty answered {not_json(response)}"
            raise PagerDutyError(what) from None


def _http_error(response) -> PagerDutyError:
    request = response.request
    if response.status_code in (401, 403):
        return Unauthorized(
            f"PagerDuty refused the token ({response.status_code}): check PAGERDUTY_TOKEN "
            "and its access"
        )
    try:
        error = response.json().get("error") or {}
        errors = error.get("errors") or []
        if isinstance(errors, dict):  # v3: {field: [messages]}
            errors = [f"{k}: {'; '.join(map(str, v))}" for k, v in errors.items()]
        detail = "; ".join([str(error.get("message", ""))] + [str(e) for e in errors])
    except (ValueError, AttributeError, TypeError):
        detail = not_json(response)
    kind = BadRequest if response.status_code == 400 else PagerDutyError
    return kind(
        f"{request.method} {request.url.path}: PagerDuty answered {response.status_code} "
        f"{first_line(detail)}"
    )


# -- API data <-> dataclasses


def _time(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text.replace("Z", "+00:00")) if text else None


def _iso(instant: datetime, zone: ZoneInfo | None = None) -> str:
    return instant.astimezone(zone or UTC).isoformat()


def _layer(raw: dict) -> Layer:
    return Layer(
        start=_time(raw["start"]),
        rotation_virtual_start=_time(raw["rotation_virtual_start"]),
        turn_seconds=int(raw["rotation_turn_length_seconds"]),
        user_ids=tuple(u["user"]["id"] for u in raw.get("users") or []),
        end=_time(raw.get("end")),
        id=raw.get("id"),
        name=raw.get("name") or "",
        restrictions=tuple(raw.get("restrictions") or ()),
    )


def _layer_json(layer: Layer, zone: ZoneInfo) -> dict:
    raw = {
        "name": layer.name,
        "start": _iso(layer.start, zone),
        "rotation_virtual_start": _iso(layer.rotation_virtual_start, zone),
        "rotation_turn_length_seconds": layer.turn_seconds,
        "users": [{"user": {"id": i, "type": "user_reference"}} for i in layer.user_ids],
        "restrictions": list(layer.restrictions),
    }
    if layer.id:
        raw["id"] = layer.id
    if layer.end is not None:
        raw["end"] = _iso(layer.end, zone)
    return raw


def _override(raw: dict) -> Override:
    user = raw.get("user") or {}
    return Override(
        _time(raw["start"]),
        _time(raw["end"]),
        user.get("id", ""),
        raw.get("id"),
        user.get("summary") or "",
    )


def _override_json(o: Override, zone: ZoneInfo) -> dict:
    # start and end with the zone's offset on each date, as a person would read them
    return {
        "start": _iso(o.start, zone),
        "end": _iso(o.end, zone),
        "user": {"id": o.user_id, "type": "user_reference"},
    }


def _user(raw: dict) -> User:
    return User(raw["id"], raw.get("name") or raw.get("summary") or "", raw.get("email") or "")


def _covers(row: OnCall, at: datetime) -> bool:
    return (row.start is None or row.start <= at) and (row.end is None or at < row.end)


def _oncall(raw: dict) -> OnCall:
    user = raw.get("user") or {}
    return OnCall(
        user.get("id", ""),
        user.get("summary") or user.get("name") or "",
        _time(raw.get("start")),
        _time(raw.get("end")),
    )


# -- Events API v2 (escalate)

DEFAULT_EVENTS_URL = "https://events.pagerduty.com"


class _EventsClient(pagerduty.EventsApiV2Client):
    """EventsApiV2Client with the REST client's bounds: retries honour Retry-After, then give up.

    Unlike a REST POST, an event is retried after a 5xx too: its dedup_key makes a repeat harmless.
    """

    def __init__(self, routing_key: str, base_url: str, max_retries: int, budget: float):
        super().__init__(routing_key, base_url=base_url)
        max_retries = retry_cap(max_retries)
        self.retry = dict.fromkeys(RETRY_STATUSES, max_retries)
        self.max_http_attempts = max_retries
        self.sleep_timer = 0  # the client's own backoff; postprocess waits instead
        self.timeout = request_timeout()
        self.max_retries, self.budget, self.waited = max_retries, budget, 0.0
        self.sent = 0
        self._tries = 0

    def request(self, method: str, url: str, **kw):
        self._tries = 0
        return super().request(method, url, **kw)

    def postprocess(self, response) -> None:
        self.sent += 1
        status = response.status_code
        if status not in RETRY_STATUSES:
            return
        self._tries += 1
        wait = wait_seconds(response.headers, self._tries)
        if self._tries > self.max_retries or self.waited + wait > self.budget:
            raise GaveUp(
                f"Events API still answers {status} after {self._tries - 1} retries and "
                f"{self.waited:.0f}s of waiting (asked to wait {wait:.0f}s more); giving up"
            )
        self.waited += wait
        time.sleep(wait)


@adapter
class PagerDutyEvents:
    """Events API v2 for one routing key (an integration of one service); never shows the key."""

    def __init__(
        self,
        routing_key: str,
        base_url: str | None = None,
        *,
        max_retries: int = MAX_RETRIES,
        retry_budget: float = RETRY_BUDGET,
    ):
        url = (base_url or os.environ.get("PAGERDUTY_EVENTS_URL") or DEFAULT_EVENTS_URL).rstrip("/")
        url = url.removesuffix("/v2")  # the spec's server URL ends in /v2; the client adds it
        try:
            self._client = _EventsClient(routing_key, url, max_retries, retry_budget)
        except pagerduty.UrlError:
            raise PagerDutyError(f"PAGERDUTY_EVENTS_URL must use https://, not {url!r}") from None

    @property
    def requests(self) -> int:
        """HTTP requests sent so far, retries included."""
        return self._client.sent

    @writes
    def trigger(self, event: dict) -> str:
        """Send a trigger event (payload, dedup_key, links, ...); the dedup key PagerDuty kept."""
        body = redaction.current().redact_data(dict(event))
        dedup_key = body.pop("dedup_key", None)
        try:
            return self._client.send_event("trigger", dedup_key=dedup_key, **body)
        except pagerduty.HttpError as exc:  # its text would hold the whole answer: ours is shorter
            raise _events_error(exc.response) from None
        except pagerduty.Error as exc:  # a network error: its text names the URL, not the key
            reason = transport_reason(exc)
            raise PagerDutyError(f"the PagerDuty Events API gave no answer: {reason}") from None


def _events_error(response) -> PagerDutyError:
    try:
        body = response.json()
        errors = [str(e) for e in body.get("errors") or []]
        detail = "; ".join([str(body.get("message", "")), *errors])
    except (ValueError, AttributeError):
        detail = not_json(response)
    return PagerDutyError(f"Events API answered {response.status_code}: {first_line(detail)}")
