"""Stateful fake of the PagerDuty REST API: users, schedules with a real final schedule, on-calls.

Rendering follows PagerDuty: a layer hands over every `rotation_turn_length_seconds` from its
`rotation_virtual_start`, on wall-clock time in the schedule's time zone when turns are whole days
(a weekly 09:00 handoff stays at 09:00 across DST); it only counts within its [start, end). Layers
are kept in the order they were created, and the one created last wins; `GET /schedules/{id}` lists
them the other way round, highest priority first (specs/README.md; PagerDuty's Terraform provider
reverses the list it reads for this reason). A layer can be ended, never removed: one left out of a
`PUT` is kept. An override wins over every layer, and of two overlapping overrides the one created
last wins. Layer restrictions are stored, not rendered. Reads cut entries and overrides at their
`since`/`until` unless `overflow=true` (the `overflow` parameter's description in the spec).

The fake keeps its own clock (`clock`, default real time) and records in `history_rewrites` every
write that changes the final schedule before that clock (tests assert it stays empty).

Run it by hand: `python -m fakes.serve pagerduty --config rotation.yaml`.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fakes.base import FakeService, route
from fakes.pagerduty_v3 import V3_PATCHES, V3_SPEC, ShiftSchedules, authorized
from fakes.shift_schedules import on_call, utc_time

DAY = 86400
WEEK = 7 * DAY
HISTORY = timedelta(weeks=52)  # how far back a write is checked for rewriting history
ONCALL_REACH = timedelta(weeks=8)  # an on-call's start/end is looked for this far around
OVERFLOW_REACH = timedelta(weeks=8)  # with overflow=true, an entry's start/end within this reach


@dataclass
class FakeLayer:
    id: str
    name: str
    start: datetime
    rotation_virtual_start: datetime
    turn: int
    users: list[str]
    end: datetime | None = None
    restrictions: list = field(default_factory=list)


@dataclass
class FakeOverride:
    id: str
    start: datetime
    end: datetime
    user: str
    seq: int  # creation order: the later of two overlapping overrides wins


@dataclass
class FakeSchedule:
    id: str
    name: str
    time_zone: str
    layers: list[FakeLayer] = field(default_factory=list)
    overrides: list[FakeOverride] = field(default_factory=list)
    escalation_policy: str | None = None

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)


def _error(status: int, message: str, *errors: str, code: int = 2001):
    body: dict = {"message": message, "code": code}
    if errors:
        body["errors"] = list(errors)
    return status, {"error": body}


def _shift_based(schedule_id: str):
    # the upgrade guide (specs/README.md): a shift-based schedule answers 400 on the v2 paths
    return _error(400, "Invalid Input Provided", f"Schedule {schedule_id} is shift-based: use /v3")


def parse_time(text: str | None) -> datetime | None:
    """An ISO 8601 instant as PagerDuty takes it; ValueError without an offset."""
    return None if text is None else utc_time(text)


# -- rendering, as PagerDuty does it


def boundary(layer: FakeLayer, zone: ZoneInfo, k: int) -> datetime:
    """Start of turn k: whole-day turns step in local wall-clock days, others in seconds."""
    if layer.turn % DAY == 0:
        origin = layer.rotation_virtual_start.astimezone(zone).replace(tzinfo=None)
        local = origin + timedelta(seconds=layer.turn * k)
        return local.replace(tzinfo=zone).astimezone(UTC)
    return layer.rotation_virtual_start + timedelta(seconds=layer.turn * k)


def turn_at(layer: FakeLayer, zone: ZoneInfo, instant: datetime) -> int:
    k = int((instant - layer.rotation_virtual_start).total_seconds() // layer.turn)
    while boundary(layer, zone, k) > instant:
        k -= 1
    while boundary(layer, zone, k + 1) <= instant:
        k += 1
    return k


def layer_entries(layer: FakeLayer, zone: ZoneInfo, since: datetime, until: datetime):
    """(start, end, user id) of one layer's turns within [since, until) and its own span."""
    lo, hi = max(since, layer.start), min(until, layer.end or until)
    if lo >= hi or not layer.users:
        return []
    entries, k = [], turn_at(layer, zone, lo)
    while (a := max(lo, boundary(layer, zone, k))) < hi:
        b = min(hi, boundary(layer, zone, k + 1))
        entries.append((a, b, layer.users[k % len(layer.users)]))
        k += 1
    return entries


def render(sched: FakeSchedule, since: datetime, until: datetime, layers=True, overrides=True):
    """The final schedule over [since, until) as merged (start, end, user id) entries."""
    stack = [layer_entries(x, sched.zone, since, until) for x in sched.layers] if layers else []
    ovs = sorted(sched.overrides, key=lambda o: o.seq) if overrides else []
    cuts = {since, until}
    cuts |= {t for entries in stack for a, b, _ in entries for t in (a, b)}
    cuts |= {t for o in ovs for t in (o.start, o.end) if since < t < until}
    cuts = sorted(cuts)
    out: list[tuple[datetime, datetime, str]] = []
    for a, b in itertools.pairwise(cuts):
        user = next((o.user for o in reversed(ovs) if o.start <= a < o.end), None)
        for entries in reversed(stack):
            if user is not None:
                break
            user = next((u for s, e, u in entries if s <= a < e), None)
        if user is None:
            continue
        if out and out[-1][1] == a and out[-1][2] == user:
            out[-1] = (out[-1][0], b, user)
        else:
            out.append((a, b, user))
    return out


class PagerDutyFake(ShiftSchedules, FakeService):
    """PagerDuty REST API v2 (schedule, user, on-call and incident endpoints the jobs use) and the
    shift-based (v3) schedules beside it (fakes/pagerduty_v3.py), in one account."""

    spec = "pagerduty-rest.json"
    more_specs = ((V3_SPEC, V3_PATCHES),)
    env_var = "PAGERDUTY_API_URL"
    tls = True  # the pagerduty client refuses http://
    # specs/README.md: documented as answering 201, the live API answers 200.
    status_aliases = (("GET", "/schedules/{id}/overrides", 200, 201),)
    # The file types an incident body's `details` as an object; its own POST /incidents example,
    # the API reference and the live API take a string (the text shown on the incident).
    spec_patches = ((("components", "schemas", "IncidentBody", "properties", "details"),
                     {"type": "string"}),
                    # deleteScheduleOverride says "You cannot remove a past override" but documents
                    # no error for it; the fake answers the API's usual 400 ArgumentError.
                    (("paths", "/schedules/{id}/overrides/{override_id}", "delete", "responses",
                      "400"), {"$ref": "#/components/responses/ArgumentError"}))  # fmt: skip

    def __init__(self, token: str = "fake-pagerduty-token", clock: datetime | None = None, **kw):
        super().__init__(**kw)
        self.token = token
        self.clock = clock  # the fake's "now"; None: real time
        self.users: dict[str, dict] = {}
        self.schedules: dict[str, FakeSchedule] = {}
        self.schedules_v3 = {}
        self.services: dict[str, dict] = {}
        self.escalation_policies: dict[str, list[str]] = {}  # id -> level-1 schedule ids
        self.incidents: list[dict] = []
        self.history_rewrites: list[str] = []
        self.refuse_override_items = 0  # the next N override items fail inside a 201
        self._ids = itertools.count(1)

    def now(self) -> datetime:
        return self.clock or datetime.now(UTC)

    def env(self) -> dict[str, str]:
        return super().env() | {"PAGERDUTY_TOKEN": self.token}

    def new_id(self, prefix: str) -> str:
        return f"{prefix}{next(self._ids):06d}"

    def error_body(self, status: int):
        return {"error": {"message": "fake error", "code": status}}

    # -- seeding and reading state (tests, the demo)

    def add_user(self, email: str, name: str = "") -> str:
        with self.lock:
            uid = self.new_id("PU")
            name = name or email.split("@")[0].title()
            self.users[uid] = {
                "id": uid,
                "type": "user",
                "summary": name,
                "name": name,
                "email": email,
                "time_zone": "UTC",
                "html_url": f"https://fake.pagerduty.com/users/{uid}",
            }
            return uid

    def user_id(self, email: str) -> str:
        return next(u["id"] for u in self.users.values() if u["email"].lower() == email.lower())

    def add_schedule(
        self, schedule_id: str, name: str = "", time_zone: str = "UTC"
    ) -> FakeSchedule:
        with self.lock:
            sched = FakeSchedule(schedule_id, name or schedule_id, time_zone)
            self.schedules[schedule_id] = sched
            return sched

    def add_layer(
        self,
        schedule_id: str,
        users: list[str],
        start: datetime,
        rotation_virtual_start: datetime | None = None,
        turn: int = WEEK,
        end: datetime | None = None,
        name: str = "",
    ) -> FakeLayer:
        """A layer of user ids (or emails), appended: it wins over the layers before it."""
        with self.lock:
            sched = self.schedules[schedule_id]
            ids = [u if u in self.users else self.user_id(u) for u in users]
            layer = FakeLayer(
                self.new_id("PL"),
                name or f"Layer {len(sched.layers) + 1}",
                start.astimezone(UTC),
                (rotation_virtual_start or start).astimezone(UTC),
                turn,
                ids,
                end.astimezone(UTC) if end else None,
            )
            sched.layers.append(layer)
            return layer

    def add_override(self, schedule_id: str, user: str, start: datetime, end: datetime) -> str:
        with self.lock:
            uid = user if user in self.users else self.user_id(user)
            oid = self.new_id("Q")
            seq = next(self._ids)
            override = FakeOverride(oid, start.astimezone(UTC), end.astimezone(UTC), uid, seq)
            self.schedules[schedule_id].overrides.append(override)
            return oid

    def seed_from_rotation(
        self, rot, *, layer: str = "hand-made", v3: tuple[str, ...] = ()
    ) -> None:
        """A user per person, and each synced schedule with one layer (or rotation).

        layer="hand-made": set up by hand a year before the rotation's `since`, people in
        alphabetical order, in UTC (what sync_pagerduty adopts); "rotation": exactly what
        rotation.yaml says (what a sync leaves); "none": no layer at all. The schedule keys in
        `v3` are shift-based instead: "hand-made" gives one rotation with that weekly event,
        "none" an empty schedule.
        """
        from scripts.pagerduty.plan import layer_people, synced
        from scripts.rotation import schedule as engine

        for person in rot.people.values():
            if not any(u["email"] == person.email for u in self.users.values()):
                self.add_user(person.email, person.name)
        for key in synced(rot):
            cycle = rot.cycle(key)
            sid = rot.pagerduty_schedule(key)
            since = engine.handoff(rot, cycle.since)
            emails = [rot.people[p].email for p in layer_people(cycle)]
            if key in v3:
                self._seed_v3(sid, rot.schedule_name(key), sorted(emails), since, layer)
            elif layer == "hand-made":
                self.add_schedule(sid, rot.schedule_name(key), "UTC")
                start = since.replace(hour=9, minute=0) - timedelta(weeks=52)
                self.add_layer(sid, sorted(emails), start)
            else:
                self.add_schedule(sid, rot.schedule_name(key), rot.timezone)
                if layer == "rotation":
                    self.add_layer(sid, emails, since)

    def _seed_v3(self, sid: str, name: str, emails: list[str], since: datetime, layer: str):
        if layer not in ("hand-made", "none"):
            raise ValueError(f"a shift-based schedule is seeded hand-made or empty, not {layer}")
        self.add_schedule_v3(sid, name, "UTC")
        if layer == "hand-made":
            start = since.replace(hour=9, minute=0) - timedelta(weeks=52)
            self.add_event(sid, self.add_rotation(sid), emails, start)

    def final(self, schedule_id: str, since: datetime, until: datetime):
        """The final schedule over [since, until): merged (start, end, user id), either kind; on
        a shift-based schedule "id1+id2" where several people are on call at once."""
        with self.lock:
            if schedule_id in self.schedules_v3:
                return on_call(self.schedules_v3[schedule_id], since, until)
            return render(self.schedules[schedule_id], since, until)

    # -- users

    @route("GET", "/users")
    @authorized
    def list_users(self, req):
        query = (req.query.get("query") or "").lower()
        found = [
            u
            for u in self.users.values()
            if query in u["email"].lower() or query in u["name"].lower()
        ]
        return self._page(req, "users", found)

    @route("GET", "/users/{id}")
    @authorized
    def get_user(self, req, id):
        if id not in self.users:
            return _error(404, "Not Found", code=2100)
        return 200, {"user": self.users[id]}

    def _page(self, req, key: str, items: list):
        limit, offset = int(req.query.get("limit", 25)), int(req.query.get("offset", 0))
        if limit + offset > 10000:  # specs/README.md: classic pagination stops there
            return _error(400, "Invalid Input Provided", "Offset must be less than 10000.")
        page = items[offset : offset + limit]
        total = len(items) if req.query.get("total") == "true" else None
        more = offset + limit < len(items)
        return 200, {key: page, "limit": limit, "offset": offset, "more": more, "total": total}

    def _user_ref(self, uid: str) -> dict:
        user = self.users.get(uid, {})
        return {
            "id": uid,
            "type": "user_reference",
            "summary": user.get("name", uid),
            "html_url": f"https://fake.pagerduty.com/users/{uid}",
        }

    # -- schedules

    @route("GET", "/schedules/{id}")
    @authorized
    def get_schedule(self, req, id):
        if id in self.schedules_v3:
            return _shift_based(id)
        sched = self.schedules.get(id)
        if sched is None:
            return _error(404, "Not Found", code=2100)
        try:
            zone = ZoneInfo(req.query.get("time_zone") or sched.time_zone)
            since, until = parse_time(req.query.get("since")), parse_time(req.query.get("until"))
        except (ValueError, ZoneInfoNotFoundError) as exc:
            return _error(400, "Invalid Input Provided", str(exc))
        if since or until:  # PagerDuty: the other end defaults to two weeks away
            since = since or until - timedelta(weeks=2)
            until = until or since + timedelta(weeks=2)
        overflow = req.query.get("overflow") == "true"
        return 200, {"schedule": self._schedule_json(sched, zone, since, until, overflow)}

    def _schedule_json(self, sched: FakeSchedule, zone, since, until, overflow=False) -> dict:
        def entries(rows):
            return [
                {
                    "start": a.astimezone(zone).isoformat(),
                    "end": b.astimezone(zone).isoformat(),
                    "user": self._user_ref(u),
                }
                for a, b, u in rows
            ]

        def clip(rows):
            return rows if overflow else [(max(a, since), min(b, until), u) for a, b, u in rows]

        def rendered(**kw):
            # entries that cross the bounds: rendered wider, then cut unless overflow=true
            if not since:
                return []
            wide = render(sched, since - OVERFLOW_REACH, until + OVERFLOW_REACH, **kw)
            return entries(clip([(a, b, u) for a, b, u in wide if a < until and since < b]))

        layers = []
        for layer in reversed(sched.layers):  # highest priority (created last) first
            raw = {
                "id": layer.id,
                "name": layer.name,
                "start": layer.start.astimezone(zone).isoformat(),
                "rotation_virtual_start": layer.rotation_virtual_start.astimezone(zone).isoformat(),
                "rotation_turn_length_seconds": layer.turn,
                "users": [{"user": self._user_ref(u)} for u in layer.users],
                "restrictions": layer.restrictions,
                "rendered_schedule_entries": entries(layer_entries(layer, sched.zone, since, until))
                if since
                else [],
            }
            if layer.end is not None:  # the spec types `end` as a string: an open layer omits it
                raw["end"] = layer.end.astimezone(zone).isoformat()
            layers.append(raw)
        users = list(dict.fromkeys(u for x in sched.layers for u in x.users))
        eps = [{"id": sched.escalation_policy, "type": "escalation_policy_reference"}]
        return {
            "id": sched.id,
            "type": "schedule",
            "summary": sched.name,
            "name": sched.name,
            "self": f"{self.url}/schedules/{sched.id}",
            "html_url": f"https://fake.pagerduty.com/schedules/{sched.id}",
            "time_zone": sched.time_zone,
            "description": "",
            "escalation_policies": eps if sched.escalation_policy else [],
            "users": [self._user_ref(u) for u in users],
            "teams": [],
            "schedule_layers": layers,
            "overrides_subschedule": {
                "name": "Overrides",
                "rendered_schedule_entries": rendered(layers=False),
            },
            "final_schedule": {"name": "Final Schedule", "rendered_schedule_entries": rendered()},
        }

    @route("PUT", "/schedules/{id}")
    @authorized
    def put_schedule(self, req, id):
        if id in self.schedules_v3:
            return _shift_based(id)
        sched = self.schedules.get(id)
        if sched is None:
            return _error(404, "Not Found", code=2100)
        raw = req.json["schedule"]
        try:
            ZoneInfo(raw["time_zone"])
            layers = [self._layer_from(sched, x) for x in raw.get("schedule_layers", [])]
        except (ValueError, KeyError, ZoneInfoNotFoundError) as exc:
            return _error(400, "Invalid Input Provided", str(exc))
        if "schedule_layers" in raw and not layers:
            return _error(400, "Invalid Input Provided", "A schedule needs at least one layer.")
        # a new time zone re-renders every layer (wall-clock turns move across DST): only
        # a layer edit that changes the past in the new zone counts as rewriting history
        before = self._history(replace(sched, time_zone=raw["time_zone"]))
        sched.time_zone, sched.name = raw["time_zone"], raw.get("name") or sched.name
        if "schedule_layers" in raw:
            sched.layers = self._merge_layers(sched.layers, layers)
        self._check_history(sched, before, f"PUT /schedules/{id}")
        return 200, {"schedule": self._schedule_json(sched, sched.zone, None, None)}

    @staticmethod
    def _merge_layers(old: list[FakeLayer], sent: list[FakeLayer]) -> list[FakeLayer]:
        """A PUT's layers: sent ones replace theirs by id, new ones go on top, none is removed.

        specs/README.md: "a layer left out of a PUT is kept". PagerDuty does not say whether a
        PUT can reorder existing layers; the fake keeps their creation order (the stricter
        reading: a plan that converges here converges either way), new layers in the order sent.
        """
        by_id = {x.id: x for x in sent}
        known = {x.id for x in old}
        return [by_id.get(x.id, x) for x in old] + [x for x in sent if x.id not in known]

    def _layer_from(self, sched: FakeSchedule, raw: dict) -> FakeLayer:
        known = {x.id: x for x in sched.layers}
        if raw.get("id") and raw["id"] not in known:
            raise ValueError(f"layer {raw['id']} is not on schedule {sched.id}")
        users = [u["user"]["id"] for u in raw["users"]]
        if unknown := [u for u in users if u not in self.users]:
            raise ValueError(f"unknown users {unknown}")
        layer = FakeLayer(
            raw.get("id") or self.new_id("PL"),
            raw.get("name") or "Layer",
            parse_time(raw["start"]),
            parse_time(raw["rotation_virtual_start"]),
            int(raw["rotation_turn_length_seconds"]),
            users,
            parse_time(raw.get("end")),
            list(raw.get("restrictions") or []),
        )
        if layer.turn <= 0 or not users:
            raise ValueError("a layer needs users and a positive turn length")
        if layer.end is not None and layer.end <= layer.start:
            raise ValueError("a layer must end after it starts")
        return layer

    def _history(self, sched: FakeSchedule):
        now = self.now()
        return render(sched, now - HISTORY, now)

    def _check_history(self, sched: FakeSchedule, before, what: str) -> None:
        after = self._history(sched)
        if after != before:
            self.history_rewrites.append(f"{what} changed the schedule before {self.now()}")

    # -- overrides

    @route("GET", "/schedules/{id}/overrides")
    @authorized
    def list_overrides(self, req, id):
        if id in self.schedules_v3:
            return _shift_based(id)
        sched = self.schedules.get(id)
        if sched is None:
            return _error(404, "Not Found", code=2100)
        try:
            since, until = parse_time(req.query["since"]), parse_time(req.query["until"])
        except ValueError as exc:
            return _error(400, "Invalid Input Provided", str(exc))
        found = sorted(
            (o for o in sched.overrides if o.start < until and since < o.end),
            key=lambda o: (o.start, o.seq),
        )
        if req.query.get("overflow") != "true":  # the spec's `overflow`: cut at the bounds
            found = [replace(o, start=max(o.start, since), end=min(o.end, until)) for o in found]
        return 200, {"overrides": [self._override_json(o, sched.zone) for o in found]}

    def _override_json(self, o: FakeOverride, zone) -> dict:
        return {
            "id": o.id,
            "start": o.start.astimezone(zone).isoformat(),
            "end": o.end.astimezone(zone).isoformat(),
            "user": self._user_ref(o.user),
        }

    @route("POST", "/schedules/{id}/overrides")
    @authorized
    def create_overrides(self, req, id):
        if id in self.schedules_v3:
            return _shift_based(id)
        sched = self.schedules.get(id)
        if sched is None:
            return _error(404, "Not Found", code=2100)
        items = req.json.get("overrides") or []
        if not items:
            return _error(400, "Invalid Input Provided", "No overrides given.")
        before = self._history(sched)
        results = [self._create_override(sched, item) for item in items]
        self._check_history(sched, before, f"POST /schedules/{id}/overrides")
        return 201, results

    def _create_override(self, sched: FakeSchedule, item: dict) -> dict:
        uid = item["user"]["id"]
        echo = {"start": item["start"], "end": item["end"], "user": self._user_ref(uid)}
        try:
            start, end = parse_time(item["start"]), parse_time(item["end"])
        except ValueError as exc:
            return {"status": 400, "errors": [str(exc)], "override": echo}
        problems = [] if end > start else ["Override must end after its start"]
        problems += [] if uid in self.users else [f"User {uid} not found"]
        if not problems and self.refuse_override_items > 0:
            self.refuse_override_items -= 1
            problems = ["fake: refused (refuse_override_items)"]
        if problems:
            return {"status": 400, "errors": problems, "override": echo}
        override = FakeOverride(self.new_id("Q"), start, end, uid, next(self._ids))
        sched.overrides.append(override)
        return {"status": 201, "override": self._override_json(override, sched.zone)}

    @route("DELETE", "/schedules/{id}/overrides/{override_id}")
    @authorized
    def delete_override(self, req, id, override_id):
        sched = self.schedules.get(id)
        found = [o for o in sched.overrides if o.id == override_id] if sched else []
        if not found:
            return _error(404, "Not Found", code=2100)
        # deleteScheduleOverride: one in progress is cut at now (200), a past one stays (400)
        override, now = found[0], self.now()
        if override.start < now < override.end:
            override.end = now
            return 200, None
        if override.end <= now:
            return _error(400, "Invalid Input Provided", "You cannot remove a past override.")
        before = self._history(sched)
        sched.overrides.remove(override)
        self._check_history(sched, before, f"DELETE /schedules/{id}/overrides/{override_id}")
        return 204, None

    # -- on-calls and incidents (for escalate)

    @route("GET", "/oncalls")
    @authorized
    def list_oncalls(self, req):
        try:
            since = parse_time(req.query.get("since")) or self.now()
            until = parse_time(req.query.get("until")) or since
        except ValueError as exc:
            return _error(400, "Invalid Input Provided", str(exc))
        wanted = set(req.query.getlist("schedule_ids[]")) or set(self.schedules)
        users = set(req.query.getlist("user_ids[]"))
        # specs/README.md: on-calls come from escalation policies; a schedule in none has none
        in_policy = {s.id for s in self.schedules.values() if s.escalation_policy}
        in_policy |= {sid for ids in self.escalation_policies.values() for sid in ids}
        rows = []
        for sid in sorted(wanted & in_policy):
            sched = self.schedules[sid]
            for a, b, uid in render(sched, since - ONCALL_REACH, until + ONCALL_REACH):
                if a <= until and b > since and (not users or uid in users):
                    rows.append(self._oncall_json(sched, a, b, uid))
        return self._page(req, "oncalls", rows)

    def _oncall_json(self, sched: FakeSchedule, start, end, uid) -> dict:
        row = {
            "user": self._user_ref(uid),
            "escalation_level": 1,
            "schedule": {"id": sched.id, "type": "schedule_reference", "summary": sched.name},
            "start": start.isoformat(),
            "end": end.isoformat(),
        }
        if sched.escalation_policy:
            row["escalation_policy"] = {
                "id": sched.escalation_policy,
                "type": "escalation_policy_reference",
            }
        return row

    @route("POST", "/incidents")
    @authorized
    def create_incident(self, req):
        raw = req.json["incident"]
        sender = (req.headers.get("From") or "").lower()
        if not any(u["email"].lower() == sender for u in self.users.values()):
            return _error(400, "Invalid Input Provided", "Requester User Not Found")
        service = raw["service"]["id"]
        if self.services and service not in self.services:
            return _error(404, "Not Found", code=2100)
        key = raw.get("incident_key")
        if key and any(
            i["incident_key"] == key and i["status"] != "resolved" and i["service"]["id"] == service
            for i in self.incidents
        ):
            return _error(
                400,
                "Invalid Input Provided",
                "Open incident with matching dedup key already exists on this service",
            )
        return 201, {"incident": self._new_incident(raw, service, key)}

    def _new_incident(self, raw: dict, service: str, key: str | None) -> dict:
        now = self.now().isoformat()
        iid = self.new_id("PI")
        assignees = [a["assignee"]["id"] for a in raw.get("assignments") or []]
        policy = (raw.get("escalation_policy") or {}).get("id")
        policy = policy or self.services.get(service, {}).get("escalation_policy")
        if not assignees and policy:
            for sid in self.escalation_policies.get(policy, []):
                assignees += [
                    u
                    for _, _, u in render(
                        self.schedules[sid], self.now(), self.now() + timedelta(seconds=1)
                    )
                ]
        incident = {
            "id": iid,
            "type": "incident",
            "summary": raw["title"],
            "title": raw["title"],
            "self": f"{self.url}/incidents/{iid}",
            "html_url": f"https://fake.pagerduty.com/incidents/{iid}",
            "incident_number": len(self.incidents) + 1,
            "status": "triggered",
            "urgency": raw.get("urgency", "high"),
            "created_at": now,
            "updated_at": now,
            "service": {"id": service, "type": "service_reference"},
            "assignments": [{"at": now, "assignee": self._user_ref(u)} for u in assignees],
            "incident_key": key or iid,
            "assigned_via": "direct_assignment" if raw.get("assignments") else "escalation_policy",
        }
        if policy:
            incident["escalation_policy"] = {"id": policy, "type": "escalation_policy_reference"}
        self.incidents.append(incident)
        return incident
