"""The PagerDuty adapter's calls to shift-based (v3) schedules, `/v3/schedules/...`."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from scripts.clients.access import writes
from scripts.pagerduty.shifts import (
    CustomShift,
    ShiftEvent,
    ShiftOverride,
    ShiftRotation,
    ShiftSchedule,
)

PAGE = 100  # the v3 lists' largest `limit`


class ShiftCalls:
    """Mixed into the PagerDuty adapter; `_json` is its one way to the API."""

    _json: Callable[..., Any]
    _gone_ok: Callable[[str, str], None]  # a DELETE where "not found" means deleted

    def shift_schedule(self, schedule_id: str) -> ShiftSchedule:
        """A shift-based schedule with its rotations and their events (no overrides yet).

        Raises BadRequest for a layer-based (v2) schedule: the upgrade guide's way to tell.
        """
        raw = self._get_schedule(schedule_id, {})
        rotations = tuple(_rotation(r) for r in raw.get("rotations") or [])
        return ShiftSchedule(raw["id"], raw.get("name") or "", raw["time_zone"], rotations)

    def _get_schedule(self, schedule_id: str, params: dict) -> dict:
        path, what = f"/v3/schedules/{schedule_id}", f"schedule {schedule_id}"
        return self._json("GET", path, params=params, what=what)["schedule"]

    def shift_overrides(self, schedule_id: str, since: datetime, until: datetime):
        """Overrides overlapping [since, until), whole (overflow=true, as for v2)."""
        rows = self._all(f"/v3/schedules/{schedule_id}/overrides", "overrides", since, until)
        return tuple(_override(x) for x in rows)

    def custom_shifts(self, schedule_id: str, since: datetime, until: datetime):
        rows = self._all(
            f"/v3/schedules/{schedule_id}/custom_shifts", "custom_shifts", since, until
        )
        return tuple(_custom_shift(x) for x in rows)

    def _all(self, path: str, key: str, since: datetime, until: datetime) -> list[dict]:
        rows: list[dict] = []
        while True:
            params = {"since": _iso(since), "until": _iso(until), "overflow": "true",
                      "limit": PAGE, "offset": len(rows)}  # fmt: skip
            body = self._json("GET", path, params=params, what=path)
            rows += body[key]
            if not body.get("more") or not body[key]:
                return rows

    def shift_holder(self, schedule_id: str, at: datetime) -> str | None:
        """The user id the final schedule has on at `at` (a narrow window, overflow=true)."""
        params = {"include[]": "final_schedule", "since": _iso(at), "overflow": "true",
                  "until": _iso(at + timedelta(seconds=1))}  # fmt: skip
        final = self._get_schedule(schedule_id, params).get("final_schedule") or {}
        for row in final.get("computed_shift_assignments") or []:
            start, end = _time(row["start_time"]), _time(row["end_time"])
            if start <= at < end and (user := _user_id(row["member"])):
                return user
        return None

    # -- writes

    @writes
    def update_shift_zone(self, schedule_id: str, time_zone: str) -> None:
        body = {"schedule": {"time_zone": time_zone}}
        self._json("PUT", f"/v3/schedules/{schedule_id}", json=body, what=f"schedule {schedule_id}")

    @writes
    def end_event(
        self, schedule_id: str, rotation_id: str, event_id: str, until: datetime | None
    ) -> None:
        """Set an event's end (None: open-ended again)."""
        path = f"/v3/schedules/{schedule_id}/rotations/{rotation_id}/events/{event_id}"
        end = _iso(until) if until else None
        self._json("PUT", path, json={"event": {"effective_until": end}}, what=path)

    @writes
    def delete_event(self, schedule_id: str, rotation_id: str, event_id: str) -> None:
        path = f"/v3/schedules/{schedule_id}/rotations/{rotation_id}/events/{event_id}"
        self._gone_ok("DELETE", path)

    @writes
    def create_event(self, schedule_id: str, rotation_id: str | None, event: ShiftEvent) -> str:
        """Add the event to the rotation (None: to a new empty rotation, made first); the
        rotation's id. A rotation left empty by a cut-off run is adopted by the next plan."""
        if rotation_id is None:
            path = f"/v3/schedules/{schedule_id}/rotations"
            rotation_id = self._json("POST", path, json={}, what=path)["rotation"]["id"]
        path = f"/v3/schedules/{schedule_id}/rotations/{rotation_id}/events"
        self._json("POST", path, json={"event": _event_json(event)}, what=path)
        return rotation_id

    @writes
    def create_shift_overrides(self, schedule_id: str, overrides: Iterable[ShiftOverride]) -> None:
        """One batch (all or nothing: PagerDuty answers 400 for the whole when one is wrong)."""
        items = [_override_json(o) for o in overrides]
        path = f"/v3/schedules/{schedule_id}/overrides"
        self._json("POST", path, json={"overrides": items}, what=path)

    @writes
    def delete_shift_override(self, schedule_id: str, override_id: str) -> None:
        self._gone_ok("DELETE", f"/v3/schedules/{schedule_id}/overrides/{override_id}")

    @writes
    def delete_custom_shift(self, schedule_id: str, shift_id: str) -> None:
        self._gone_ok("DELETE", f"/v3/schedules/{schedule_id}/custom_shifts/{shift_id}")


# -- API data <-> dataclasses


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _iso(instant: datetime) -> str:
    return instant.astimezone(UTC).isoformat()


def _user_id(member: dict) -> str | None:
    return member.get("user_id") if member.get("type") == "user_member" else None


def _member(user_id: str | None) -> dict:
    return {"type": "user_member", "user_id": user_id} if user_id else {"type": "empty_member"}


def _wall_clock(zoned: dict) -> datetime:
    """A ZonedDateTime's wall-clock time in its zone (naive)."""
    value = _time(zoned["date_time"])
    if value.tzinfo is not None:
        value = value.astimezone(ZoneInfo(zoned["time_zone"]))
    return value.replace(tzinfo=None)


def _zoned(local: datetime, zone: str) -> dict:
    """Wall-clock time with the zone's own offset then: the same instant and the same local
    time, whichever of the two PagerDuty reads."""
    return {"date_time": local.replace(tzinfo=ZoneInfo(zone)).isoformat(), "time_zone": zone}


def _event(raw: dict) -> ShiftEvent:
    strategy = raw["assignment_strategy"]
    until = raw.get("effective_until")
    return ShiftEvent(
        name=raw.get("name") or "",
        start=_wall_clock(raw["start_time"]),
        end=_wall_clock(raw["end_time"]),
        time_zone=raw["start_time"]["time_zone"],
        recurrence=tuple(raw["recurrence"]),
        strategy=strategy["type"],
        members=tuple(_user_id(m) for m in strategy["members"]),
        shifts_per_member=int(strategy.get("shifts_per_member") or 1),
        effective_since=_time(raw["effective_since"]),
        effective_until=_time(until) if until else None,
        id=raw["id"],
    )


def _event_json(e: ShiftEvent) -> dict:
    raw = {
        "name": e.name,
        "start_time": _zoned(e.start, e.time_zone),
        "end_time": _zoned(e.end, e.time_zone),
        "effective_since": _iso(e.effective_since),
        "recurrence": list(e.recurrence),
        "assignment_strategy": {
            "type": e.strategy,
            "shifts_per_member": e.shifts_per_member,
            "members": [_member(u) for u in e.members],
        },
    }
    if e.effective_until is not None:
        raw["effective_until"] = _iso(e.effective_until)
    return raw


def _rotation(raw: dict) -> ShiftRotation:
    return ShiftRotation(raw["id"], tuple(_event(e) for e in raw.get("events") or []))


def _override(raw: dict) -> ShiftOverride:
    return ShiftOverride(
        _time(raw["start_time"]),
        _time(raw["end_time"]),
        _user_id(raw["overridden_member"]),
        _user_id(raw["overriding_member"]),
        raw.get("rotation_id"),
        raw.get("custom_shift_id"),
        raw["id"],
    )


def _override_json(o: ShiftOverride) -> dict:
    raw = {
        "type": "override_shift",
        "start_time": _iso(o.start),
        "end_time": _iso(o.end),
        "overridden_member": _member(o.overridden),
        "overriding_member": _member(o.overriding),
    }
    if o.rotation_id:
        raw["rotation_id"] = o.rotation_id
    if o.custom_shift_id:
        raw["custom_shift_id"] = o.custom_shift_id
    return raw


def _custom_shift(raw: dict) -> CustomShift:
    (assignment,) = raw["assignments"]
    return CustomShift(
        raw["id"], _time(raw["start_time"]), _time(raw["end_time"]), _user_id(assignment["member"])
    )
