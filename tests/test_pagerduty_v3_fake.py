"""The PagerDuty fake's shift-based (v3) schedules behave as pagerduty-schedules-v3.json says."""

from datetime import UTC, datetime, timedelta

import pagerduty
import pytest

from fakes.base import fake_env
from fakes.shift_schedules import FakeEvent, FakeRotation, FakeScheduleV3, on_call, user_member
from scripts.clients.pagerduty import BadRequest, PagerDuty
from scripts.pagerduty.shifts import ShiftSchedule

NOW = datetime(2026, 12, 9, 12, tzinfo=UTC)
LONDON = "Europe/London"


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


ROTATING = "rotating_member_assignment_strategy"


def event(start, members, *, rule="RRULE:FREQ=WEEKLY", length=timedelta(weeks=1), zone=LONDON,
          since=None, until=None, strategy=ROTATING, per=1):  # fmt: skip
    local = start.replace(tzinfo=None)
    plan = {
        "type": strategy,
        "shifts_per_member": per,
        "members": [user_member(m) for m in members],
    }
    rules = [rule] if isinstance(rule, str) else rule
    since = since or utc(2000, 1, 1)
    return FakeEvent("E1", "e", local, local + length, zone, since, until, rules, plan)


def final(*events, since, until):
    return on_call(FakeScheduleV3("S", "S", LONDON, rotations=[FakeRotation("R", list(events))]),
                   since, until)  # fmt: skip


# start (local wall clock), members, extra, window -> merged (start, end, who)
CASES = {
    "weekly across the spring DST change: 167 h, 09:00 local both sides": (
        event(datetime(2027, 3, 22, 9), ["a", "b"]),
        (utc(2027, 3, 22, 9), utc(2027, 4, 5, 8)),
        [
            (utc(2027, 3, 22, 9), utc(2027, 3, 29, 8), "a"),
            (utc(2027, 3, 29, 8), utc(2027, 4, 5, 8), "b"),
        ],
    ),
    "weekly across the autumn change: 169 h": (
        event(datetime(2027, 10, 25, 9), ["a", "b"]),
        (utc(2027, 10, 25, 8), utc(2027, 11, 8, 9)),
        [
            (utc(2027, 10, 25, 8), utc(2027, 11, 1, 9), "a"),
            (utc(2027, 11, 1, 9), utc(2027, 11, 8, 9), "b"),
        ],
    ),
    "turns count from start_time, before effective_since too": (
        event(datetime(2026, 11, 30, 9), ["a", "b", "c"], since=utc(2026, 12, 14, 9)),
        (utc(2026, 12, 7), utc(2026, 12, 21, 9)),
        [(utc(2026, 12, 14, 9), utc(2026, 12, 21, 9), "c")],
    ),
    "effective_until cuts a shift": (
        event(datetime(2026, 12, 7, 9), ["a"], until=utc(2026, 12, 9, 12)),
        (utc(2026, 12, 7), utc(2026, 12, 20)),
        [(utc(2026, 12, 7, 9), utc(2026, 12, 9, 12), "a")],
    ),
    "shifts_per_member 2": (
        event(
            datetime(2026, 12, 7, 9),
            ["a", "b"],
            rule="RRULE:FREQ=DAILY",
            length=timedelta(days=1),
            per=2,
        ),
        (utc(2026, 12, 7, 9), utc(2026, 12, 11, 9)),
        [
            (utc(2026, 12, 7, 9), utc(2026, 12, 9, 9), "a"),
            (utc(2026, 12, 9, 9), utc(2026, 12, 11, 9), "b"),
        ],
    ),
    "every member at once": (
        event(
            datetime(2026, 12, 7, 9),
            ["a", "b"],
            strategy="every_member_assignment_strategy",
            rule="RRULE:FREQ=DAILY",
            length=timedelta(hours=8),
        ),
        (utc(2026, 12, 7), utc(2026, 12, 8)),
        [(utc(2026, 12, 7, 9), utc(2026, 12, 7, 17), "a+b")],
    ),
    "EXDATE drops an occurrence without skipping a member": (
        event(
            datetime(2026, 12, 7, 9),
            ["a", "b"],
            rule=["RRULE:FREQ=DAILY", "EXDATE:20261208T090000"],
            length=timedelta(hours=1),
        ),
        (utc(2026, 12, 7), utc(2026, 12, 10)),
        [
            (utc(2026, 12, 7, 9), utc(2026, 12, 7, 10), "a"),
            (utc(2026, 12, 9, 9), utc(2026, 12, 9, 10), "b"),
        ],
    ),
}


@pytest.mark.parametrize(("made", "window", "expected"), CASES.values(), ids=CASES.keys())
def test_the_final_schedule_of_one_event(made, window, expected):
    assert final(made, since=window[0], until=window[1]) == expected


@pytest.fixture
def api(pagerduty_fake, monkeypatch):
    """The fake at NOW with users a and b, a v2 schedule P2 and a v3 schedule P3 (weekly a, b)."""
    fake = pagerduty_fake
    fake.clock = NOW
    for name, value in fake_env(fake).items():
        monkeypatch.setenv(name, value)
    a, b = fake.add_user("a@example.com"), fake.add_user("b@example.com")
    fake.add_schedule("P2", "Layers", LONDON)
    fake.add_layer("P2", [a, b], utc(2026, 11, 2, 9))
    fake.add_schedule_v3("P3", "Shifts", LONDON)
    rotation = fake.add_rotation("P3")
    fake.add_event("P3", rotation, [a, b], utc(2026, 11, 2, 9), zone=LONDON)
    client = pagerduty.RestApiV2Client(fake.token, base_url=fake.url)
    return fake, client, rotation, (a, b)


def test_each_kind_answers_400_on_the_other_kinds_path(api):
    fake, client, _, _ = api
    assert client.get("/v3/schedules/P2").status_code == 400
    assert client.get("/schedules/P3").status_code == 400
    assert client.get("/v3/schedules/NOPE").status_code == 404
    adapter = PagerDuty(fake.token)
    with pytest.raises(BadRequest):
        adapter.shift_schedule("P2")
    assert isinstance(adapter.schedule("P3"), ShiftSchedule)
    # who is on call, either kind: the final schedule (v3: include[]=final_schedule)
    assert adapter.holder("P3", NOW).user_id == adapter.holder("P2", NOW).user_id


def _post_event(client, rotation, **change):
    body = {
        "name": "e",
        "start_time": {"date_time": "2026-12-14T09:00:00+00:00", "time_zone": LONDON},
        "end_time": {"date_time": "2026-12-21T09:00:00+00:00", "time_zone": LONDON},
        "effective_since": "2026-12-14T09:00:00Z",
        "recurrence": ["RRULE:FREQ=WEEKLY"],
        "assignment_strategy": {"type": "rotating_member_assignment_strategy",
                                "shifts_per_member": 1,
                                "members": [{"type": "user_member", "user_id": "PU000001"}]},
    } | change  # fmt: skip
    return client.post(f"/v3/schedules/P3/rotations/{rotation}/events", json={"event": body})


def test_events_refused_as_documented(api):
    fake, client, rotation, _ = api
    # the hand-made event runs open-ended: a second one would overlap
    assert _post_event(client, rotation).status_code == 400
    (running,) = fake.schedules_v3["P3"].rotations[0].events
    path = f"/v3/schedules/P3/rotations/{rotation}/events/{running.id}"
    assert client.put(path, json={"event": {"name": "x"}}).status_code == 400  # active
    ended = client.put(path, json={"event": {"effective_until": "2026-12-14T09:00:00Z"}})
    assert ended.status_code == 200
    ahead = _post_event(client, rotation, effective_since="2028-01-10T09:00:00Z")
    assert ahead.status_code == 400 and "12 months" in ahead.text
    past = _post_event(client, rotation, effective_since="2026-01-01T00:00:00Z")
    assert past.status_code == 400  # clamped to now: it overlaps the running event again
    assert _post_event(client, rotation).status_code == 201
    assert fake.history_rewrites == []


def test_at_most_five_events_a_rotation_ended_ones_too(api):
    _, client, _, _ = api
    rotation = client.post("/v3/schedules/P3/rotations", json={}).json()["rotation"]["id"]
    for week in range(5):
        start = utc(2026, 12, 14, 9) + timedelta(weeks=week)
        end = start + timedelta(weeks=1)
        made = _post_event(client, rotation, effective_since=start.isoformat(),
                           effective_until=end.isoformat())  # fmt: skip
        assert made.status_code == 201, made.text
    sixth = _post_event(client, rotation, effective_since="2027-02-01T09:00:00Z")
    assert sixth.status_code == 400 and "at most 5" in sixth.text


def test_overrides_need_the_overridden_member_on_call_and_are_all_or_nothing(api):
    fake, client, rotation, (a, b) = api
    week = {"start_time": "2026-12-14T09:00:00Z", "end_time": "2026-12-21T09:00:00Z"}

    def override(overridden, overriding):
        return {"type": "override_shift", "rotation_id": rotation, **week,
                "overridden_member": user_member(overridden),
                "overriding_member": user_member(overriding)}  # fmt: skip

    on = fake.final("P3", utc(2026, 12, 15), utc(2026, 12, 15, 1))[0][2]
    off = b if on == a else a
    both = [override(on, off), override(off, on)]  # the second: off is not on that week
    assert client.post("/v3/schedules/P3/overrides", json={"overrides": both}).status_code == 400
    assert fake.schedules_v3["P3"].overrides == []
    made = client.post("/v3/schedules/P3/overrides", json={"overrides": both[:1]})
    assert made.status_code == 201
    assert fake.final("P3", utc(2026, 12, 15), utc(2026, 12, 15, 1))[0][2] == off
