"""PagerDuty's shift-based (v3) API in the fake, as specs/pagerduty-schedules-v3.json says:
`/v3/schedules/...` routes over the state and final schedule of fakes/shift_schedules.py.

Where the description is silent, the fake chooses (each choice is also where it is coded):
- An override applies where its rotation has `overridden_member` on: creating one whose
  overridden member is not on the rotation for all of its span is refused (400), the stricter
  reading. A batch of overrides is created whole or not at all (the 201 has no item status).
- "Maximum 5 events per rotation" counts every event, ended ones too.
- Past values are clamped to now: `effective_since` (documented), and `effective_until` of an
  active event and an override's start (not documented; the same rule). An event, override or
  custom shift that has ended cannot be changed or deleted (400); deleting an active event ends
  it at now (as documented for custom shifts and for deleting a rotation).
- A v2 ID asked for on /v3 answers 400 (PagerDuty's upgrade guide, specs/README.md), and a v3 ID
  on the v2 /schedules paths answers 400.
"""

from __future__ import annotations

import functools
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fakes.base import route
from fakes.shift_schedules import (
    FakeCustomShift,
    FakeEvent,
    FakeRotation,
    FakeScheduleV3,
    FakeShiftOverride,
    event_shifts,
    member_user,
    on_call,
    recurrence_set,
    render_v3,
    user_member,
    utc_time,
    wall_clock,
    zoned_json,
)

HISTORY = timedelta(weeks=52)  # how far back a write is checked for rewriting history
MAX_EVENTS = 5  # POST .../events: "Maximum 5 events per rotation"
MAX_AHEAD = timedelta(days=365)  # the BadRequest example: "not more than 12 months in the future"
V3_SPEC = "pagerduty-schedules-v3.json"
V3_PATCHES = (
    # specs/README.md, PagerDuty's upgrade guide: GET /v3/schedules/{id} of a schedule that is not
    # yet upgraded answers 400 (the file documents no 400 here).
    (("paths", "/v3/schedules/{id}", "get", "responses", "400"),
     {"$ref": "#/components/responses/BadRequest"}),
    # Deleting an event or override that has ended: the file documents no error; the fake answers
    # its usual BadRequest (as DELETE of a custom shift that has ended does).
    (("paths", "/v3/schedules/{id}/rotations/{rotation_id}/events/{event_id}", "delete",
      "responses", "400"), {"$ref": "#/components/responses/BadRequest"}),
    (("paths", "/v3/schedules/{id}/overrides/{override_id}", "delete", "responses", "400"),
     {"$ref": "#/components/responses/BadRequest"}),
)  # fmt: skip


class Refused(ValueError):
    """A request the API answers 400: `field` is the error map's key."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


# -- the API


def v3_error(status: int, message: str, errors: dict[str, list[str]] | None = None):
    body: dict = {"message": message, "code": 2001}
    if errors:
        body["errors"] = errors
    return status, {"error": body}


def refused(exc: Exception) -> tuple[int, dict]:
    key = exc.field if isinstance(exc, Refused) else "request"
    return v3_error(400, "Invalid Request", {key: [str(exc)]})


def v3_schedule(fn):
    """Resolve `id` to a v3 schedule: 404 if unknown, 400 if it is a v2 (layer) schedule."""

    @functools.wraps(fn)
    def resolve(self, req, id, **params):
        sched = self.schedules_v3.get(id)
        if sched is None and id in self.schedules:
            return v3_error(400, "Invalid Request", {"schedule.id": [f"{id} is not shift-based"]})
        if sched is None:
            return v3_error(404, "Not Found")
        return fn(self, req, sched, **params)

    return resolve


def authorized(fn):
    """Answer 401 unless the request carries the fake's token, as PagerDuty does (v2 and v3)."""

    @functools.wraps(fn)
    def check(self, req, **params):
        if req.authorization != f"Token token={self.token}":
            return 401, {"error": {"message": "Unauthorized", "code": 2006}}
        return fn(self, req, **params)

    return check


def _page(req, key: str, items: list):
    """The v3 lists' offset paging: `limit` 1 to 100 (default 25), `offset`, `more`."""
    limit, offset = int(req.query.get("limit", 25)), int(req.query.get("offset", 0))
    more = offset + limit < len(items)
    return 200, {
        key: items[offset : offset + limit],
        "limit": limit,
        "offset": offset,
        "more": more,
    }


def _window(req) -> tuple[datetime | None, datetime | None]:
    since, until = req.query.get("since"), req.query.get("until")
    return (utc_time(since) if since else None), (utc_time(until) if until else None)


class ShiftSchedules:
    """The /v3/schedules routes of PagerDutyFake (a mixin: its state lives in `schedules_v3`)."""

    schedules_v3: dict[str, FakeScheduleV3]

    # -- seeding and reading state (tests, the demo)

    def add_schedule_v3(self, schedule_id: str, name: str = "", time_zone: str = "UTC"):
        with self.lock:
            sched = FakeScheduleV3(schedule_id, name or schedule_id, time_zone)
            self.schedules_v3[schedule_id] = sched
            return sched

    def add_rotation(self, schedule_id: str) -> str:
        with self.lock:
            rotation = FakeRotation(self.new_id("R"))
            self.schedules_v3[schedule_id].rotations.append(rotation)
            return rotation.id

    def add_event(
        self,
        schedule_id: str,
        rotation_id: str,
        users: list[str],
        start: datetime,
        *,
        zone: str = "UTC",
        length: timedelta = timedelta(weeks=1),
        recurrence: str = "RRULE:FREQ=WEEKLY",
        since: datetime | None = None,
        until: datetime | None = None,
        name: str = "Hand-made",
    ) -> FakeEvent:
        """An event made by hand (no checks): users (ids or emails) rotate weekly from `start`."""
        with self.lock:
            ids = [u if u in self.users else self.user_id(u) for u in users]
            local = start.astimezone(ZoneInfo(zone)).replace(tzinfo=None)
            strategy = {
                "type": "rotating_member_assignment_strategy",
                "shifts_per_member": 1,
                "members": [user_member(u) for u in ids],
            }
            event = FakeEvent(
                self.new_id("E"),
                name,
                local,
                local + length,
                zone,
                (since or start).astimezone(UTC),
                until,
                [recurrence],
                strategy,
            )
            self.schedules_v3[schedule_id].rotation(rotation_id).events.append(event)
            return event

    def add_shift_override(
        self,
        schedule_id: str,
        rotation_id: str,
        overridden: str,
        overriding: str,
        start: datetime,
        end: datetime,
    ) -> str:
        with self.lock:
            ids = [u if u in self.users else self.user_id(u) for u in (overridden, overriding)]
            o = FakeShiftOverride(
                self.new_id("O"),
                start.astimezone(UTC),
                end.astimezone(UTC),
                user_member(ids[0]),
                user_member(ids[1]),
                next(self._ids),
                rotation_id=rotation_id,
            )
            self.schedules_v3[schedule_id].overrides.append(o)
            return o.id

    def add_custom_shift(self, schedule_id: str, user: str, start: datetime, end: datetime) -> str:
        with self.lock:
            uid = user if user in self.users else self.user_id(user)
            shift = FakeCustomShift(
                self.new_id("C"),
                start.astimezone(UTC),
                end.astimezone(UTC),
                user_member(uid),
                self.new_id("A"),
            )
            self.schedules_v3[schedule_id].custom_shifts.append(shift)
            return shift.id

    def upgrade(self, schedule_id: str) -> FakeScheduleV3:
        """What PagerDuty's upgrade does to a layer schedule: the same ID, now shift-based.

        Each layer becomes a rotation with one event (its name, turns, users and span), each
        override an override of the rotation it overrides, split where that rotation hands over.
        Who is on call is unchanged for layers that do not overlap (what sync_pagerduty leaves);
        overlapping layers are refused, since v3 rotations have no priority to keep.
        """
        with self.lock:
            old = self.schedules.pop(schedule_id)
            new = FakeScheduleV3(old.id, old.name, old.time_zone)
            by_layer = {}
            for layer in old.layers:
                rotation = FakeRotation(self.new_id("R"), [self._event_of(layer, old.time_zone)])
                new.rotations.append(rotation)
                by_layer[layer.id] = rotation.id
            now = self.now()
            if any("+" in who for _, _, who in on_call(new, now - HISTORY, now + HISTORY)):
                raise ValueError(f"{schedule_id}: overlapping layers cannot be upgraded")
            for o in sorted(old.overrides, key=lambda o: o.seq):
                for a, b, user, source in render_v3(new, o.start, o.end):
                    new.overrides.append(
                        FakeShiftOverride(
                            self.new_id("O"),
                            a,
                            b,
                            user_member(user),
                            user_member(o.user),
                            o.seq,
                            rotation_id=source["rotation_id"],
                        )
                    )
            self.schedules_v3[schedule_id] = new
            return new

    def _event_of(self, layer, time_zone: str) -> FakeEvent:
        zone = ZoneInfo(time_zone)
        days, rest = divmod(layer.turn, 86400)
        if rest == 0:
            rule = "RRULE:FREQ=WEEKLY" if days == 7 else f"RRULE:FREQ=DAILY;INTERVAL={days}"
        elif layer.turn % 3600 == 0:
            rule = f"RRULE:FREQ=HOURLY;INTERVAL={layer.turn // 3600}"
        else:
            raise ValueError(f"layer {layer.id}: a turn of {layer.turn}s has no recurrence")
        local = layer.rotation_virtual_start.astimezone(zone).replace(tzinfo=None)
        strategy = {
            "type": "rotating_member_assignment_strategy",
            "shifts_per_member": 1,
            "members": [user_member(u) for u in layer.users],
        }
        return FakeEvent(
            self.new_id("E"),
            layer.name,
            local,
            local + timedelta(seconds=layer.turn),
            time_zone,
            layer.start,
            layer.end,
            [rule],
            strategy,
        )

    def final_v3(self, schedule_id: str, since: datetime, until: datetime):
        with self.lock:
            return on_call(self.schedules_v3[schedule_id], since, until)

    # -- schedules

    @route("GET", "/v3/schedules")
    @authorized
    def list_schedules_v3(self, req):
        refs = [
            {
                "id": s.id,
                "type": "schedule_v3_reference",
                "summary": s.name,
                "self": f"{self.url}/v3/schedules/{s.id}",
            }
            for s in self.schedules_v3.values()
        ]
        return _page(req, "schedules", refs)

    @route("GET", "/v3/schedules/{id}")
    @authorized
    @v3_schedule
    def get_schedule_v3(self, req, sched):
        try:
            since, until = _window(req)
        except ValueError as exc:
            return refused(exc)
        body = self._schedule_v3_json(sched)
        if "final_schedule" in req.query.getlist("include[]") and since and until:
            body["final_schedule"] = self._final_json(sched, since, until, req)
        return 200, {"schedule": body}

    def _schedule_v3_json(self, sched: FakeScheduleV3) -> dict:
        return {
            "id": sched.id,
            "type": "schedule_v3",
            "name": sched.name,
            "time_zone": sched.time_zone,
            "description": sched.description,
            "rotations": [self._rotation_json(sched, r) for r in sched.rotations if not r.deleted],
            "self": f"{self.url}/v3/schedules/{sched.id}",
            "html_url": f"https://fake.pagerduty.com/schedules/{sched.id}",
        }

    def _final_json(self, sched: FakeScheduleV3, since: datetime, until: datetime, req) -> dict:
        # overflow=true: assignments whole, as far as they reach; else cut at since/until
        reach = timedelta(weeks=8) if req.query.get("overflow") == "true" else timedelta(0)
        rows = [
            (a, b, u, s)
            for a, b, u, s in render_v3(sched, since - reach, until + reach)
            if a < until and since < b
        ]
        if not reach:
            rows = [(max(a, since), min(b, until), u, s) for a, b, u, s in rows]
        covered = sum((b - a for a, b, _ in on_call(sched, since, until)), timedelta(0))
        return {
            "type": "final_schedule",
            "rendered_coverage_percentage": round(100 * covered / (until - since), 2),
            "computed_shift_assignments": [
                {
                    "type": "computed_shift_assignment",
                    "start_time": a.isoformat(),
                    "end_time": b.isoformat(),
                    "member": user_member(u),
                    "source": s,
                }
                for a, b, u, s in rows
            ],
        }

    @route("PUT", "/v3/schedules/{id}")
    @authorized
    @v3_schedule
    def put_schedule_v3(self, req, sched):
        raw = req.json["schedule"]
        if rejected := [k for k in ("rotations", "escalation_policies") if k in raw]:
            return v3_error(400, "Invalid Request", {f"schedule.{rejected[0]}": ["not accepted"]})
        try:
            ZoneInfo(raw.get("time_zone") or sched.time_zone)
        except (ValueError, ZoneInfoNotFoundError) as exc:
            return refused(Refused("schedule.time_zone", str(exc)))
        sched.name = raw.get("name") or sched.name
        sched.time_zone = raw.get("time_zone") or sched.time_zone
        sched.description = raw.get("description", sched.description)
        return 200, {"schedule": self._schedule_v3_json(sched)}

    # -- rotations and events

    def _rotation_json(self, sched: FakeScheduleV3, rotation: FakeRotation) -> dict:
        return {
            "id": rotation.id,
            "type": "schedule_rotation",
            "events": [self._event_json(sched, rotation, e) for e in rotation.events],
            "self": f"{self.url}/v3/schedules/{sched.id}/rotations/{rotation.id}",
        }

    def _event_json(self, sched, rotation, e: FakeEvent) -> dict:
        return {
            "id": e.id,
            "type": "schedule_event",
            "name": e.name,
            "start_time": zoned_json(e.start_time, e.time_zone),
            "end_time": zoned_json(e.end_time, e.time_zone),
            "effective_since": e.effective_since.isoformat(),
            "effective_until": e.effective_until.isoformat() if e.effective_until else None,
            "recurrence": list(e.recurrence),
            "assignment_strategy": e.strategy,
            "self": f"{self.url}/v3/schedules/{sched.id}/rotations/{rotation.id}/events/{e.id}",
        }

    def _rotation(self, sched, rotation_id):
        rotation = sched.rotation(rotation_id)
        return rotation, (None if rotation else v3_error(404, "Not Found"))

    def _event(self, sched, rotation_id, event_id):
        """(rotation, event); the event None when either is not there."""
        rotation = sched.rotation(rotation_id)
        events = rotation.events if rotation else []
        return rotation, next((e for e in events if e.id == event_id), None)

    @route("GET", "/v3/schedules/{id}/rotations")
    @authorized
    @v3_schedule
    def list_rotations(self, req, sched):
        live = [self._rotation_json(sched, r) for r in sched.rotations if not r.deleted]
        return _page(req, "rotations", live)

    @route("POST", "/v3/schedules/{id}/rotations")
    @authorized
    @v3_schedule
    def create_rotation(self, req, sched):
        if req.json not in (None, {}):  # "The request body must be empty or {}"
            return v3_error(400, "Invalid Request", {"rotation": ["the body must be empty"]})
        rotation = FakeRotation(self.new_id("R"))
        sched.rotations.append(rotation)
        return 201, {"rotation": self._rotation_json(sched, rotation)}

    @route("GET", "/v3/schedules/{id}/rotations/{rotation_id}")
    @authorized
    @v3_schedule
    def get_rotation(self, req, sched, rotation_id):
        rotation, missing = self._rotation(sched, rotation_id)
        return missing or (200, {"rotation": self._rotation_json(sched, rotation)})

    @route("DELETE", "/v3/schedules/{id}/rotations/{rotation_id}")
    @authorized
    @v3_schedule
    def delete_rotation(self, req, sched, rotation_id):
        # documented: the active event is truncated to now, future ones removed, the past kept
        rotation, missing = self._rotation(sched, rotation_id)
        if missing:
            return missing
        now = self.now()
        rotation.events = [e for e in rotation.events if e.effective_since <= now]
        for e in rotation.events:
            e.effective_until = min(e.effective_until or now, now)
        rotation.deleted = True
        return 204, None

    @route("GET", "/v3/schedules/{id}/rotations/{rotation_id}/events")
    @authorized
    @v3_schedule
    def list_events(self, req, sched, rotation_id):
        rotation, missing = self._rotation(sched, rotation_id)
        if missing:
            return missing
        events = sorted(rotation.events, key=lambda e: e.effective_since)  # "ordered by start"
        return _page(req, "events", [self._event_json(sched, rotation, e) for e in events])

    @route("POST", "/v3/schedules/{id}/rotations/{rotation_id}/events")
    @authorized
    @v3_schedule
    def create_event(self, req, sched, rotation_id):
        rotation, missing = self._rotation(sched, rotation_id)
        if missing:
            return missing
        if len(rotation.events) >= MAX_EVENTS:
            return refused(Refused("rotation.events", f"at most {MAX_EVENTS} events a rotation"))
        try:
            event = self._event_from(req.json["event"], FakeEvent(self.new_id("E"), "", *_BLANK))
            self._check_event(rotation, event)
        except (Refused, ValueError, KeyError, ZoneInfoNotFoundError) as exc:
            return refused(exc)
        before = self._v3_history(sched)
        rotation.events.append(event)
        self._check_v3_history(sched, before, f"POST events of {rotation.id}")
        return 201, {"event": self._event_json(sched, rotation, event)}

    def _event_from(self, raw: dict, event: FakeEvent) -> FakeEvent:
        """`event` with the fields `raw` sends; past effective_since clamped to now (documented)."""
        now = self.now()
        if "name" in raw:
            event.name = raw["name"]
        if "start_time" in raw:
            event.start_time, event.time_zone = wall_clock(raw["start_time"])
        if "end_time" in raw:
            event.end_time, end_zone = wall_clock(raw["end_time"])
            if end_zone != event.time_zone:
                raise Refused("event.end_time", "start_time and end_time need one time zone")
        if "effective_since" in raw:
            event.effective_since = max(utc_time(raw["effective_since"]), now)
        if "effective_until" in raw:
            until = raw["effective_until"]
            event.effective_until = max(utc_time(until), now) if until else None
        if "recurrence" in raw:
            event.recurrence = list(raw["recurrence"])
        if "assignment_strategy" in raw:
            event.strategy = raw["assignment_strategy"]
        return event

    def _check_event(self, rotation: FakeRotation, event: FakeEvent) -> None:
        now = self.now()
        rules = event.recurrence
        if sum(r.startswith("RRULE:") for r in rules) != 1 or not all(
            r.startswith(("RRULE:", "EXDATE", "RDATE")) for r in rules
        ):
            raise Refused("event.recurrence", "exactly one RRULE, then EXDATE or RDATE lines")
        try:
            recurrence_set(event)
        except ValueError as exc:
            raise Refused("event.recurrence", str(exc)) from None
        if event.end_time <= event.start_time:
            raise Refused("event.end_time", "end_time must be after start_time")
        if event.effective_since > now + MAX_AHEAD:
            raise Refused(
                "event.effective_since", "Date cannot be more than 12 months in the future"
            )
        if event.effective_until is not None and event.effective_until <= event.effective_since:
            raise Refused("event.effective_until", "effective_until must be after effective_since")
        strategy = event.strategy
        if strategy["type"] == "rotating_member_assignment_strategy" and not strategy.get(
            "shifts_per_member"
        ):
            raise Refused("event.assignment_strategy.shifts_per_member", "required when rotating")
        users = [member_user(m) for m in strategy["members"]]
        if unknown := [u for u in users if u and u not in self.users]:
            raise Refused("event.assignment_strategy.members", f"unknown users {unknown}")
        for other in rotation.events:
            if other.id != event.id and _overlap(other, event):
                raise Refused("event.effective_since", f"overlaps event {other.id}")

    @route("GET", "/v3/schedules/{id}/rotations/{rotation_id}/events/{event_id}")
    @authorized
    @v3_schedule
    def get_event(self, req, sched, rotation_id, event_id):
        rotation, event = self._event(sched, rotation_id, event_id)
        if event is None:
            return v3_error(404, "Not Found")
        return 200, {"event": self._event_json(sched, rotation, event)}

    @route("PUT", "/v3/schedules/{id}/rotations/{rotation_id}/events/{event_id}")
    @authorized
    @v3_schedule
    def put_event(self, req, sched, rotation_id, event_id):
        rotation, event = self._event(sched, rotation_id, event_id)
        if event is None:
            return v3_error(404, "Not Found")
        raw, now = req.json["event"], self.now()
        if event.effective_until is not None and event.effective_until <= now:
            return refused(Refused("event", "a past event cannot be modified"))
        if event.effective_since <= now and set(raw) - {"effective_until"}:
            return refused(Refused("event", "an active event: only effective_until can change"))
        try:
            changed = self._event_from(raw, FakeEvent(**vars(event)))
            self._check_event(rotation, changed)
        except (Refused, ValueError, KeyError, ZoneInfoNotFoundError) as exc:
            return refused(exc)
        before = self._v3_history(sched)
        vars(event).update(vars(changed))
        self._check_v3_history(sched, before, f"PUT event {event_id}")
        return 200, {"event": self._event_json(sched, rotation, event)}

    @route("DELETE", "/v3/schedules/{id}/rotations/{rotation_id}/events/{event_id}")
    @authorized
    @v3_schedule
    def delete_event(self, req, sched, rotation_id, event_id):
        rotation, event = self._event(sched, rotation_id, event_id)
        if event is None:
            return v3_error(404, "Not Found")
        now = self.now()
        if event.effective_until is not None and event.effective_until <= now:
            return refused(Refused("event", "a past event cannot be deleted"))
        if event.effective_since <= now:  # active: ended now (module doc)
            event.effective_until = now
        else:
            rotation.events.remove(event)
        return 204, None

    # -- overrides

    def _shift_override_json(self, sched, o: FakeShiftOverride) -> dict:
        raw = {
            "id": o.id,
            "type": "override_shift",
            "start_time": o.start.isoformat(),
            "end_time": o.end.isoformat(),
            "overridden_member": o.overridden,
            "overriding_member": o.overriding,
            "self": f"{self.url}/v3/schedules/{sched.id}/overrides/{o.id}",
        }
        if o.rotation_id:
            raw["rotation_id"] = o.rotation_id
        if o.custom_shift_id:
            raw["custom_shift_id"] = o.custom_shift_id
        return raw

    def _listed(self, req, items, key: str, json):
        """Items overlapping the required [since, until), cut there unless overflow=true."""
        try:
            since, until = utc_time(req.query["since"]), utc_time(req.query["until"])
        except ValueError as exc:
            return refused(exc)
        found = sorted(
            (x for x in items if x.start < until and since < x.end), key=lambda x: (x.start, x.id)
        )
        if req.query.get("overflow") != "true":
            found = [
                type(x)(**(vars(x) | {"start": max(x.start, since), "end": min(x.end, until)}))
                for x in found
            ]
        return _page(req, key, [json(x) for x in found])

    @route("GET", "/v3/schedules/{id}/overrides")
    @authorized
    @v3_schedule
    def list_shift_overrides(self, req, sched):
        return self._listed(
            req, sched.overrides, "overrides", lambda o: self._shift_override_json(sched, o)
        )

    @route("POST", "/v3/schedules/{id}/overrides")
    @authorized
    @v3_schedule
    def create_shift_overrides(self, req, sched):
        # all or nothing: the 201 answers only an array of created overrides (no item status)
        made, errors = [], {}
        for i, item in enumerate(req.json["overrides"]):
            try:
                made.append(self._shift_override_from(sched, item))
            except (Refused, ValueError) as exc:
                errors[f"overrides[{i}].{getattr(exc, 'field', 'override')}"] = [str(exc)]
        if errors:
            return v3_error(400, "Invalid Request", errors)
        before = self._v3_history(sched)
        sched.overrides += made
        self._check_v3_history(sched, before, "POST overrides")
        return 201, {"overrides": [self._shift_override_json(sched, o) for o in made]}

    def _shift_override_from(self, sched: FakeScheduleV3, item: dict) -> FakeShiftOverride:
        now = self.now()
        start, end = max(utc_time(item["start_time"]), now), utc_time(item["end_time"])
        rotation_id, shift_id = item.get("rotation_id"), item.get("custom_shift_id")
        if bool(rotation_id) == bool(shift_id):
            raise Refused("rotation_id", "exactly one of rotation_id and custom_shift_id")
        if end <= start:
            raise Refused("end_time", "an override must end after it starts, and not in the past")
        overriding = member_user(item["overriding_member"])
        if overriding and overriding not in self.users:
            raise Refused("overriding_member", f"User {overriding} not found")
        override = FakeShiftOverride(
            self.new_id("O"),
            start,
            end,
            item["overridden_member"],
            item["overriding_member"],
            next(self._ids),
            rotation_id=rotation_id,
            custom_shift_id=shift_id,
        )
        if rotation_id and not sched.rotation(rotation_id):
            raise Refused("rotation_id", f"no rotation {rotation_id}")
        if not self._is_on(sched, override):
            who = member_user(override.overridden)
            raise Refused("overridden_member", f"{who} is not on call for all of that span")
        return override

    def _is_on(self, sched: FakeScheduleV3, o: FakeShiftOverride) -> bool:
        """Whether the overridden member holds the rotation (or custom shift) all of o's span."""
        user = member_user(o.overridden)
        if o.custom_shift_id:
            shifts = [
                (s.start, s.end, member_user(s.member))
                for s in sched.custom_shifts
                if s.id == o.custom_shift_id
            ]
        else:
            rotation = sched.rotation(o.rotation_id)
            shifts = [x for e in rotation.events for x in event_shifts(e, o.start, o.end)]
        mine = sorted((max(a, o.start), min(b, o.end)) for a, b, u in shifts if u == user)
        at = o.start
        for a, b in mine:
            if a > at:
                return False
            at = max(at, b)
        return at >= o.end

    @route("DELETE", "/v3/schedules/{id}/overrides/{override_id}")
    @authorized
    @v3_schedule
    def delete_shift_override(self, req, sched, override_id):
        override = next((o for o in sched.overrides if o.id == override_id), None)
        if override is None:
            return v3_error(404, "Not Found")
        now = self.now()
        if override.end <= now:
            return refused(Refused("override", "a past override cannot be deleted"))
        if override.start < now:  # in progress: cut at now, as v2 documents
            override.end = now
        else:
            before = self._v3_history(sched)
            sched.overrides.remove(override)
            self._check_v3_history(sched, before, f"DELETE override {override_id}")
        return 204, None

    # -- custom shifts

    def _custom_shift_json(self, sched, s: FakeCustomShift) -> dict:
        return {
            "id": s.id,
            "type": "custom_shift",
            "start_time": s.start.isoformat(),
            "end_time": s.end.isoformat(),
            "assignments": [
                {"id": s.assignment_id, "type": "shift_assignment", "member": s.member}
            ],
            "self": f"{self.url}/v3/schedules/{sched.id}/custom_shifts/{s.id}",
        }

    @route("GET", "/v3/schedules/{id}/custom_shifts")
    @authorized
    @v3_schedule
    def list_custom_shifts(self, req, sched):
        return self._listed(
            req, sched.custom_shifts, "custom_shifts", lambda s: self._custom_shift_json(sched, s)
        )

    @route("DELETE", "/v3/schedules/{id}/custom_shifts/{custom_shift_id}")
    @authorized
    @v3_schedule
    def delete_custom_shift(self, req, sched, custom_shift_id):
        # documented: not started -> deleted; started -> end_time set to now; ended -> 400
        shift = next((s for s in sched.custom_shifts if s.id == custom_shift_id), None)
        if shift is None:
            return v3_error(404, "Not Found")
        now = self.now()
        if shift.end <= now:
            return refused(Refused("custom_shift", "the shift has already ended"))
        if shift.start < now:
            shift.end = now
        else:
            sched.custom_shifts.remove(shift)
        return 204, None

    # -- history

    def _v3_history(self, sched: FakeScheduleV3):
        now = self.now()
        return on_call(sched, now - HISTORY, now)

    def _check_v3_history(self, sched: FakeScheduleV3, before, what: str) -> None:
        if self._v3_history(sched) != before:
            self.history_rewrites.append(f"{what} changed {sched.id} before {self.now()}")


_BLANK = (datetime.min, datetime.min, "UTC", datetime.min.replace(tzinfo=UTC), None, [], {})


def _overlap(a: FakeEvent, b: FakeEvent) -> bool:
    far = datetime.max.replace(tzinfo=UTC)
    return a.effective_since < (b.effective_until or far) and b.effective_since < (
        a.effective_until or far
    )
