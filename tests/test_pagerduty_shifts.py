"""The pure v3 plan's pieces, table-driven: which rotation is owned, which event already is the
rotation, where a shift in progress ends."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from scripts.pagerduty import plan as pdp
from scripts.pagerduty import shifts
from scripts.pagerduty.shifts import ShiftEvent, ShiftRotation, ShiftSchedule
from tests.test_pagerduty_plan import load

NOW = datetime(2026, 12, 9, 12, tzinfo=UTC)
IDS = {p: f"P{p.upper()}" for p in "abcde"}


NOV_2 = datetime(2026, 11, 2, 9, tzinfo=UTC)


def ev(name="Hand-made", *, start=datetime(2026, 11, 2, 9), members=("PA", "PB", "PC"),
       zone="Europe/London", rule=("RRULE:FREQ=WEEKLY",), since=NOV_2, until=None,
       days=7) -> ShiftEvent:  # fmt: skip
    return ShiftEvent(name, start, start + timedelta(days=days), zone, rule,
                      shifts.ROTATING, members, 1, since, until, id=name)  # fmt: skip


def sched(*rotations) -> ShiftSchedule:
    return ShiftSchedule("PCORE01", "Core", "Europe/London", tuple(rotations))


OWNED = {
    "empty schedule: nothing owned": ((), [], []),
    "one hand-made rotation: adopted": ((ShiftRotation("R1", (ev(),)),), ["R1"], []),
    "ours beside a hand-made one": (
        (ShiftRotation("R1", (ev(),)), ShiftRotation("R2", (ev("rotation.yaml since x"),))),
        ["R2"],
        ["R1"],
    ),
    "an empty rotation is adopted when nothing else is": ((ShiftRotation("R9"),), ["R9"], []),
    "a rotation with events wins over an empty one": (
        (ShiftRotation("R9"), ShiftRotation("R1", (ev(),))),
        ["R1"],
        [],
    ),
}


@pytest.mark.parametrize(("rotations", "mine", "foreign"), OWNED.values(), ids=OWNED.keys())
def test_owned(rotations, mine, foreign):
    found = shifts.owned(sched(*rotations))
    assert [r.id for r in found.rotations] == mine and [r.id for r in found.foreign] == foreign


def _new():
    rot = load()
    want = pdp.wanted(rot, "core", NOW, 12)
    return rot, shifts.desired_event(rot, want, IDS)


SAME = {
    "the desired event itself": ({}, True),
    "the same turns from an earlier start": (
        {"start": datetime(2026, 11, 2, 9), "members": ("PA", "PB", "PC")},
        True,
    ),
    "another order": ({"members": ("PC", "PB", "PA")}, False),
    "with an end planned (reopened by the plan)": (
        {"until": datetime(2027, 1, 1, tzinfo=UTC)},
        True,
    ),
    "another zone": ({"zone": "UTC"}, False),
    "daily turns": ({"rule": ("RRULE:FREQ=DAILY",), "days": 1}, False),
    "handoff at another time": ({"start": datetime(2026, 11, 2, 10)}, False),
    "starting after the change": ({"since": datetime(2027, 1, 1, tzinfo=UTC)}, False),
}


@pytest.mark.parametrize(("change", "same"), SAME.values(), ids=SAME.keys())
def test_same_rotation(change, same):
    rot, new = _new()
    base = {"start": new.start, "members": new.members, "since": new.effective_since} | change
    assert shifts.same_rotation(rot, ev(**base), new) is same


def test_the_desired_event_starts_at_the_handoff_of_the_week_holding_the_change():
    _, new = _new()
    assert new.start == datetime(2026, 12, 7, 9) and new.end == datetime(2026, 12, 14, 9)
    # core a, b, c from 2 Nov: the week of 7 Dec is turn 5, c's; then a, b
    assert new.members == ("PC", "PA", "PB") and new.effective_since == NOW


ENDS = {
    "a daily 08:00-16:00 shift in progress ends at 16:00": (
        ev(start=datetime(2026, 12, 1, 8), rule=("RRULE:FREQ=DAILY",), days=0), timedelta(hours=8),
        datetime(2026, 12, 9, 16, tzinfo=UTC),
    ),
    "between two shifts: none in progress": (
        ev(start=datetime(2026, 12, 1, 13), rule=("RRULE:FREQ=DAILY",), days=0), timedelta(hours=1),
        None,
    ),
}  # fmt: skip


@pytest.mark.parametrize(("event", "length", "end"), ENDS.values(), ids=ENDS.keys())
def test_occurrence_end(event, length, end):
    event = replace(event, end=event.start + length)
    assert shifts.occurrence_end(event, NOW) == end
