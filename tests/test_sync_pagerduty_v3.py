"""sync_pagerduty on shift-based (v3) schedules, end to end with the real `pagerduty` client."""

import json
import time
from datetime import timedelta

import pytest

from scripts.rotation.model import HERO
from tests.test_sync_pagerduty import NOW, SWAPS, assert_final_is_engine, load, sync, utc, who
from tests.test_sync_pagerduty import own as own  # the fixtures
from tests.test_sync_pagerduty import pd as pd

ALL = (HERO, "core", "ops")


def twice(pd, capsys, path, *args, now=NOW):
    """Apply, then apply again: the second run must write nothing. The first run's output."""
    code, out, err = sync(capsys, path, "--apply", *args, now=now)
    assert code == 0, out + err
    pd.reset_counts()
    code, again, err = sync(capsys, path, "--apply", *args, now=now)
    assert (code, pd.writes()) == (0, 0), again + err
    return out


def events(pd, sid):
    return [e for r in pd.schedules_v3[sid].rotations for e in r.events]


def test_adopts_an_empty_shift_based_schedule(pd, capsys, own):
    path = own(swaps=SWAPS)
    rot = load(path)
    pd.seed_from_rotation(rot, layer="none", v3=ALL)
    out = twice(pd, capsys, path)
    assert "shift-based (v3)" in out and "in a new rotation" in out
    assert_final_is_engine(pd, rot)
    (event,) = events(pd, "PHERO01")
    assert event.recurrence == ["RRULE:FREQ=WEEKLY"] and event.time_zone == "Europe/London"
    assert event.effective_since == NOW and event.effective_until is None
    assert pd.schedules_v3["PHERO01"].time_zone == "Europe/London"


def rotations(pd, sid):
    return pd.schedules_v3[sid].rotations


def test_adopts_a_hand_made_rotation_ending_its_event_now(pd, capsys, own):
    path = own()
    rot = load(path)
    pd.seed_from_rotation(rot, layer="hand-made", v3=ALL)
    out = twice(pd, capsys, path)
    assert "end Hand-made at Wed 09 Dec 12:00" in out and "new rotation" not in out
    for sid in ("PHERO01", "PCORE01", "POPS001"):
        (rotation,) = rotations(pd, sid)  # adopted: the new event goes in the same rotation
        old, new = rotation.events
        assert old.effective_until == new.effective_since == NOW
        assert new.name.startswith("rotation.yaml since")
    assert_final_is_engine(pd, rot)


def test_a_roster_change_with_a_future_since_ends_the_event_there(pd, capsys, own):
    before = own("v1.yaml")
    pd.seed_from_rotation(load(before), layer="none", v3=ALL)
    twice(pd, capsys, before)
    path = own("v2.yaml", core="a, c, b", core_since="2026-12-14")
    rot = load(path)
    this_week = pd.final("PCORE01", NOW, utc(2026, 12, 14, 9))
    out = twice(pd, capsys, path)
    assert "end rotation.yaml since 2026-11-02 at Mon 14 Dec 09:00" in out
    old, new = (e for r in rotations(pd, "PCORE01") for e in r.events)
    assert old.effective_until == new.effective_since == utc(2026, 12, 14, 9)
    assert pd.final("PCORE01", NOW, utc(2026, 12, 14, 9)) == this_week  # the shift in progress
    assert_final_is_engine(pd, rot)


def test_swaps_across_a_dst_change_keep_the_local_handoff(pd, capsys, own):
    # hero weeks from 2 Nov: a, d, b, e, c; 22 Mar 2027 is a's, 29 Mar (BST from the 28th) d's
    path = own(swaps="  - {people: [a, d], dates: [2027-03-22, 2027-03-29]}\n")
    rot = load(path)
    pd.seed_from_rotation(rot, layer="none", v3=ALL)
    twice(pd, capsys, path)
    assert who(pd, rot, "PHERO01", utc(2027, 3, 23, 12)) == "d"
    assert who(pd, rot, "PHERO01", utc(2027, 3, 30, 12)) == "a"
    spans = {(o.start, o.end) for o in pd.schedules_v3["PHERO01"].overrides}
    assert (utc(2027, 3, 22, 9), utc(2027, 3, 29, 8)) in spans  # 167 h: 09:00 GMT to 09:00 BST
    assert (utc(2027, 3, 29, 8), utc(2027, 4, 5, 8)) in spans
    (event,) = (e for r in rotations(pd, "PHERO01") for e in r.events)
    assert event.start_time.hour == 9 and event.time_zone == "Europe/London"  # wall-clock
    assert_final_is_engine(pd, rot)  # within the horizon; the swap weeks are checked above


def test_hero_as_secondary_overrides_the_team_rotation(pd, capsys, own):
    path = own(swaps=SWAPS)
    rot = load(path)
    pd.seed_from_rotation(rot, layer="none", v3=ALL)
    out = twice(pd, capsys, path)
    assert "(hero-as-secondary" in out
    assert who(pd, rot, "PHERO01", utc(2026, 12, 15, 12)) == "e"  # swap week
    assert who(pd, rot, "POPS001", utc(2026, 12, 15, 12)) == "e"  # ... and its hero on ops
    assert who(pd, rot, "PCORE01", utc(2027, 1, 5, 12)) == "c"  # c is hero, so core's too
    assert who(pd, rot, "PCORE01", utc(2027, 1, 6, 12)) == "a"  # but not on a's day
    core = pd.schedules_v3["PCORE01"]
    (rotation,) = core.rotations
    assert {o.rotation_id for o in core.overrides} == {rotation.id}
    assert_final_is_engine(pd, rot)


def _clutter(pd, rot):
    """A hand-made override and custom shift (future and in progress), and a second rotation
    whose shift is in progress: none of it is in rotation.yaml."""
    (mine,) = rotations(pd, "PHERO01")
    on = pd.final("PHERO01", utc(2026, 12, 21, 10), utc(2026, 12, 21, 11))[0][2]
    pd.add_shift_override("PHERO01", mine.id, on, "e@example.com",
                          utc(2026, 12, 21, 10), utc(2026, 12, 21, 11))  # fmt: skip
    pd.add_custom_shift("PHERO01", "b@example.com", utc(2026, 12, 24), utc(2026, 12, 25))
    pd.add_custom_shift(
        "PHERO01", "c@example.com", NOW - timedelta(hours=1), NOW + timedelta(hours=1)
    )
    extra = pd.add_rotation("PHERO01")
    daily = {"length": timedelta(hours=8), "recurrence": "RRULE:FREQ=DAILY"}
    pd.add_event(
        "PHERO01", extra, ["b@example.com"], utc(2026, 12, 9, 8), name="Daytime cover", **daily
    )


def test_drift_is_reported_and_kept_without_prune(pd, capsys, own):
    path = own()
    rot = load(path)
    pd.seed_from_rotation(rot, layer="none", v3=ALL)
    twice(pd, capsys, path)
    _clutter(pd, rot)
    pd.reset_counts()
    code, out, _ = sync(capsys, path, "--apply")
    assert (code, pd.writes()) == (0, 0)
    assert "--prune deletes or ends what is not in progress" in out
    assert "override Mon 21 Dec 10:00 -> Mon 21 Dec 11:00 Europe/London: e covers" in out
    assert "custom shift Thu 24 Dec 00:00 -> Fri 25 Dec 00:00 Europe/London: b" in out
    assert "custom shift Wed 09 Dec 11:00 -> Wed 09 Dec 13:00 Europe/London: c" in out
    assert "event Daytime cover (not in" in out


def test_prune_removes_drift_but_never_what_is_in_progress(pd, capsys, own):
    path = own()
    rot = load(path)
    pd.seed_from_rotation(rot, layer="none", v3=ALL)
    twice(pd, capsys, path)
    _clutter(pd, rot)
    twice(pd, capsys, path, "--prune")
    hero = pd.schedules_v3["PHERO01"]
    assert hero.overrides == []  # the hand-made one deleted (the hero schedule needs none)
    (left,) = hero.custom_shifts  # the one in progress stays, whole
    assert (left.start, left.end) == (NOW - timedelta(hours=1), NOW + timedelta(hours=1))
    (daytime,) = hero.rotations[1].events
    assert daytime.effective_until == utc(2026, 12, 9, 16)  # its shift in progress finishes
    after = utc(2026, 12, 9, 16)
    assert_final_is_engine(pd, rot, now=after)


def test_a_mixed_account_hero_shift_based_teams_layer_based(pd, capsys, own):
    path = own(swaps=SWAPS)
    rot = load(path)
    pd.seed_from_rotation(rot, layer="hand-made", v3=(HERO,))
    out = twice(pd, capsys, path)
    assert "Support Hero (PHERO01): shift-based (v3)" in out
    assert "Core (PCORE01): layer-based (v2)" in out
    assert set(pd.schedules_v3) == {"PHERO01"} and set(pd.schedules) == {"PCORE01", "POPS001"}
    assert_final_is_engine(pd, rot)
    code, out, _ = sync(capsys, path, "--format", "json")
    plan = json.loads(out[out.index("{") :])
    assert (
        code == 0
        and plan["kinds"] == {HERO: "v3", "core": "v2", "ops": "v2"}
        and plan["changes"] == []
    )


def test_a_schedule_upgraded_between_runs_is_managed_as_v3_unchanged(pd, capsys, own):
    path = own(swaps=SWAPS)
    rot = load(path)
    pd.seed_from_rotation(rot, layer="hand-made")
    twice(pd, capsys, path)
    end = NOW + timedelta(weeks=12)
    before = {s: pd.final(s, NOW, end) for s in ("PHERO01", "PCORE01", "POPS001")}
    for sid in before:
        pd.upgrade(sid)
    pd.reset_counts()
    code, out, _ = sync(capsys, path, "--apply")
    assert (code, pd.writes()) == (0, 0), out
    assert "No changes" in out and out.count("shift-based (v3)") == 3
    assert {s: pd.final(s, NOW, end) for s in before} == before


def test_users_missing_in_pagerduty_exit_2_and_nothing_is_written(pd, capsys, own):
    path = own()
    pd.seed_from_rotation(load(path), layer="none", v3=ALL)
    pd.users.pop(pd.user_id("e@example.com"))
    code, _, err = sync(capsys, path, "--apply")
    assert code == 2 and "e@example.com is not the email of any PagerDuty user" in err
    assert pd.writes() == 0


# -- faults: bounded, and a run cut off anywhere is finished by the next


def test_a_429_on_the_v3_reads_is_waited_out_as_pagerduty_asks(pd, capsys, own):
    path = own(swaps=SWAPS)
    rot = load(path)
    pd.seed_from_rotation(rot, layer="hand-made", v3=ALL)
    pd.inject("GET", "/v3/schedules/{id}", 429, headers={"ratelimit-reset": "1"})
    pd.inject("POST", "/v3/schedules/*/overrides", 429, times=2, headers={"Retry-After": "0"})
    began = time.monotonic()
    twice(pd, capsys, path)
    assert time.monotonic() - began >= 1.0  # ratelimit-reset honoured
    assert_final_is_engine(pd, rot)


def test_an_endless_5xx_on_v3_gives_up_in_bounded_time_writing_nothing(pd, capsys, own):
    path = own()
    pd.seed_from_rotation(load(path), layer="hand-made", v3=ALL)
    pd.inject("GET", "/v3/**", 503, times=1000, headers={"Retry-After": "0"})
    began = time.monotonic()
    code, _, err = sync(capsys, path, "--apply")
    assert code == 1 and "giving up" in err and time.monotonic() - began < 5
    assert pd.writes() == 0


@pytest.mark.parametrize(
    ("method", "where", "lost"),
    [
        ("POST", "/v3/schedules/PCORE01/rotations", True),  # the rotation made, answer lost
        ("POST", "/v3/schedules/PCORE01/rotations/*/events", True),  # the event made
        ("POST", "/v3/schedules/PCORE01/overrides", True),  # the overrides made
        ("POST", "/v3/schedules/PCORE01/overrides", False),  # refused before any write
        ("PUT", "/v3/schedules/PHERO01/rotations/*/events/*", False),  # retried: a PUT
    ],
    ids=["rotation-lost", "event-lost", "overrides-lost", "overrides-500", "end-503"],
)
def test_a_fault_half_way_then_the_rerun_finishes_without_doubles(
    pd, capsys, own, method, where, lost
):
    path = own(swaps=SWAPS)
    rot = load(path)
    seed = "hand-made" if "PHERO01" in where else "none"
    pd.seed_from_rotation(rot, layer=seed, v3=ALL)
    pd.inject(method, where, 503 if method == "PUT" else 500, after=lost)
    code, out, err = sync(capsys, path, "--apply")
    assert code == (0 if method == "PUT" else 1), out + err  # a POST is never sent twice
    twice(pd, capsys, path)
    core = pd.schedules_v3["PCORE01"]
    mine = [e for r in core.rotations for e in r.events if e.name.startswith("rotation.yaml")]
    assert len(mine) == 1 and len(core.rotations) <= 2  # an empty rotation left is harmless
    keys = [(o.start, o.end, o.rotation_id) for o in core.overrides]
    assert len(keys) == len(set(keys))  # no override twice
    assert_final_is_engine(pd, rot)


def test_the_json_plan_names_each_schedules_kind_and_drift(pd, capsys, own):
    path = own()
    rot = load(path)
    pd.seed_from_rotation(rot, layer="none", v3=ALL)
    twice(pd, capsys, path)
    pd.add_custom_shift("PHERO01", "b@example.com", utc(2026, 12, 24), utc(2026, 12, 25))
    code, out, _ = sync(capsys, path, "--format", "json")
    plan = json.loads(out[out.index("{") :])
    assert code == 0 and plan["kinds"] == dict.fromkeys((HERO, "core", "ops"), "v3")
    (drift,) = plan["drift"]
    assert drift["summary"].startswith("custom shift Thu 24 Dec 00:00") and not drift["in_progress"]


# -- from any starting state


def _cluttered(fake, rot):
    """A hand-made rotation, a second rotation starting later, stray overrides and shifts."""
    fake.seed_from_rotation(rot, layer="hand-made", v3=ALL)
    for sid in ("PHERO01", "PCORE01", "POPS001"):
        (hand,) = rotations(fake, sid)
        on = fake.final(sid, utc(2027, 1, 20), utc(2027, 1, 20, 1))[0][2]
        fake.add_shift_override(
            sid, hand.id, on, "c@example.com", utc(2027, 1, 20), utc(2027, 1, 21)
        )
        fake.add_custom_shift(sid, "d@example.com", utc(2026, 12, 30), utc(2027, 1, 2))
        later = fake.add_rotation(sid)
        fake.add_event(sid, later, ["e@example.com"], utc(2027, 1, 4, 9), since=utc(2027, 1, 4, 9))


def _upgraded(fake, rot):
    fake.seed_from_rotation(rot, layer="hand-made")
    for sid in ("PHERO01", "PCORE01", "POPS001"):
        fake.upgrade(sid)


MARCH = utc(2027, 3, 17, 15, 30)
V3_STARTS = {
    "empty": lambda fake, rot: fake.seed_from_rotation(rot, layer="none", v3=ALL),
    "hand-made": lambda fake, rot: fake.seed_from_rotation(rot, layer="hand-made", v3=ALL),
    "cluttered": _cluttered,
    "upgraded hand-made": _upgraded,
    "mixed": lambda fake, rot: fake.seed_from_rotation(rot, layer="hand-made", v3=(HERO, "ops")),
}


@pytest.mark.parametrize("start", sorted(V3_STARTS))
@pytest.mark.parametrize("now", [NOW, MARCH])  # the second crosses into BST
def test_from_any_start_two_applies_leave_the_engines_schedule(pd, capsys, own, start, now):
    path = own(swaps=SWAPS)
    rot = load(path)
    pd.clock = now
    V3_STARTS[start](pd, rot)
    twice(pd, capsys, path, "--prune", now=now)
    if (start, now) == ("cluttered", MARCH):  # its second rotation's shift in progress ends first
        assert_final_is_engine(pd, rot, utc(2027, 3, 22, 9), weeks=11)  # within the horizon
    else:
        assert_final_is_engine(pd, rot, now)


def test_a_rotation_longer_than_a_v3_event_holds_is_a_config_error(pd, capsys, tmp_path):
    people = [f"p{i:02d}" for i in range(21)]
    text = 'timezone: Europe/London\nhandoff: {day: monday, time: "09:00"}\npeople:\n'
    text += "".join(f"  {p}: {{name: {p}, email: {p}@example.com, team: core}}\n" for p in people)
    text += (
        "teams:\n  core: {name: Core}\nsupport_hero:\n  pagerduty_schedule: PHERO01\n"
        f"  order: [{', '.join(people)}]\n  since: {{week: 2026-11-02, first: p00}}\n"
    )
    path = tmp_path / "rotation.yaml"
    path.write_text(text)
    pd.seed_from_rotation(load(path), layer="none", v3=(HERO,))
    code, _, err = sync(capsys, path, "--apply")
    assert code == 2 and pd.writes() == 0
    assert "21 people, but PHERO01 is a shift-based PagerDuty schedule" in err
    assert "at most 20 members" in err and f"{path}:" in err


def test_a_full_rotation_gets_a_new_one_beside_it_and_the_overrides_follow(pd, capsys, own):
    path = own(swaps=SWAPS)
    rot = load(path)
    pd.seed_from_rotation(rot, layer="none", v3=ALL)
    full = pd.add_rotation("PCORE01")
    for week in range(5):  # five ended events of an older rotation.yaml (PagerDuty's limit)
        start = utc(2026, 10, 5, 9) + timedelta(weeks=week)
        pd.add_event("PCORE01", full, ["a@example.com"], start, zone="Europe/London",
                     until=start + timedelta(weeks=1), name="rotation.yaml since x")  # fmt: skip
    out = twice(pd, capsys, path)
    core = out[out.index("Core (PCORE01):") : out.index("Ops (POPS001):")]
    assert "new event from Wed 09 Dec 12:00" in core and "(in a new rotation)" in core
    old, new = rotations(pd, "PCORE01")
    assert len(old.events) == 5 and len(new.events) == 1
    overrides = pd.schedules_v3["PCORE01"].overrides
    assert overrides and {o.rotation_id for o in overrides} == {new.id}
    assert_final_is_engine(pd, rot)


def test_pagerdutys_own_now_a_moment_after_the_plans_is_still_ours(pd, capsys, own):
    # the plan starts the event at its now in whole seconds; PagerDuty moves that past instant
    # to its own now, a fraction later; the next run, within the same second, keeps it
    path = own()
    rot = load(path)
    pd.seed_from_rotation(rot, layer="hand-made", v3=ALL)
    pd.clock = NOW + timedelta(milliseconds=700)
    assert sync(capsys, path, "--apply", now=NOW + timedelta(milliseconds=300))[0] == 0
    pd.reset_counts()
    pd.clock = NOW + timedelta(milliseconds=950)
    code, out, _ = sync(capsys, path, "--apply", now=NOW + timedelta(milliseconds=900))
    assert (code, pd.writes()) == (0, 0), out


def test_a_future_change_taken_back_reopens_the_running_event(pd, capsys, own):
    before = own("v1.yaml")
    pd.seed_from_rotation(load(before), layer="none", v3=ALL)
    twice(pd, capsys, before)
    twice(pd, capsys, own("v2.yaml", core="a, c, b", core_since="2026-12-14"))
    out = twice(pd, capsys, before)  # the pull request reverted before the 14th
    assert "keep rotation.yaml since 2026-11-02 open (it was to end Mon 14 Dec 09:00)" in out
    (event,) = (e for r in rotations(pd, "PCORE01") for e in r.events)  # the later one deleted
    assert event.effective_until is None
    assert_final_is_engine(pd, load(before))
