"""Table-driven tests of the pure schedule engine: DST, swaps, hero-as-secondary, continuation."""

from datetime import UTC, datetime, timedelta

import pytest

from scripts.rotation import history, schedule
from scripts.rotation.model import HERO
from tests import rotations


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def people_by_week(rot, key, start, weeks):
    shifts = schedule.schedule_shifts(rot, key, start, start + timedelta(weeks=weeks))
    return [(s.start, s.end, s.person, s.why) for s in shifts]


@pytest.mark.parametrize(
    ("zone", "since", "week", "start", "end", "hours"),
    [
        # Europe/London springs forward on Sun 28 Mar 2027: 09:00 GMT -> 09:00 BST.
        (
            "Europe/London",
            "2027-03-01",
            "2027-03-22",
            utc(2027, 3, 22, 9),
            utc(2027, 3, 29, 8),
            167,
        ),
        # ... and falls back on Sun 25 Oct 2026: 09:00 BST -> 09:00 GMT.
        (
            "Europe/London",
            "2026-10-05",
            "2026-10-19",
            utc(2026, 10, 19, 8),
            utc(2026, 10, 26, 9),
            169,
        ),
        # America/New_York springs forward on Sun 14 Mar 2027 and falls back on Sun 1 Nov 2026.
        (
            "America/New_York",
            "2027-03-01",
            "2027-03-08",
            utc(2027, 3, 8, 14),
            utc(2027, 3, 15, 13),
            167,
        ),
        (
            "America/New_York",
            "2026-10-05",
            "2026-10-26",
            utc(2026, 10, 26, 13),
            utc(2026, 11, 2, 14),
            169,
        ),
        # An ordinary week is 168 hours.
        (
            "Europe/London",
            "2026-11-30",
            "2026-12-07",
            utc(2026, 12, 7, 9),
            utc(2026, 12, 14, 9),
            168,
        ),
    ],
)
def test_handoff_stays_at_local_time_across_dst(zone, since, week, start, end, hours):
    rot = rotations.make(zone=zone, hero_since=since)
    shift = schedule.on_call(rot, HERO, start + timedelta(hours=1))
    assert (shift.start, shift.end) == (start, end)
    assert (shift.end - shift.start) == timedelta(hours=hours)
    assert schedule.week_of(rot, start).isoformat() == week


@pytest.mark.parametrize(
    ("at", "expected"),
    [
        (utc(2026, 11, 30, 8, 59), None),  # before since: history, not managed
        (utc(2026, 11, 30, 9), "a"),
        (utc(2026, 12, 7, 8, 59), "a"),
        (utc(2026, 12, 7, 9), "b"),
        (utc(2026, 12, 14, 9), "c"),
        (utc(2026, 12, 21, 9), "a"),  # the order wraps around
    ],
)
def test_rotation_runs_through_order_from_first(at, expected):
    rot = rotations.make()
    shift = schedule.on_call(rot, HERO, at)
    assert (shift.person if shift else None) == expected


def test_first_starts_mid_order():
    rot = rotations.make(hero_first="b")
    names = [s[2] for s in people_by_week(rot, HERO, utc(2026, 11, 30, 9), 4)]
    assert names == ["b", "c", "a", "b"]


SWAPS = [
    (  # whole weeks: a is on 30 Nov, c on 14 Dec; each covers the other's week
        "  - {people: [a, c], dates: [2026-11-30, 2026-12-14]}",
        [
            ("2026-11-30", "2026-12-07", "c", "swap"),
            ("2026-12-07", "2026-12-14", "b", "rotation"),
            ("2026-12-14", "2026-12-21", "a", "swap"),
        ],
    ),
    (  # any date inside the week names that week's shift
        "  - {people: [a, c], dates: [2026-12-03, 2026-12-18]}",
        [
            ("2026-11-30", "2026-12-07", "c", "swap"),
            ("2026-12-07", "2026-12-14", "b", "rotation"),
            ("2026-12-14", "2026-12-21", "a", "swap"),
        ],
    ),
    (  # single days split a week in three
        "  - {people: [a, b], days: [2026-12-02, 2026-12-09]}",
        [
            ("2026-11-30", "2026-12-02", "a", "rotation"),
            ("2026-12-02", "2026-12-03", "b", "swap"),
            ("2026-12-03", "2026-12-07", "a", "rotation"),
            ("2026-12-07", "2026-12-09", "b", "rotation"),
            ("2026-12-09", "2026-12-10", "a", "swap"),
            ("2026-12-10", "2026-12-14", "b", "rotation"),
            ("2026-12-14", "2026-12-21", "c", "rotation"),
        ],
    ),
]


@pytest.mark.parametrize(("swaps", "expected"), SWAPS)
def test_swaps(swaps, expected):
    rot = rotations.make(swaps=swaps)
    got = people_by_week(rot, HERO, utc(2026, 11, 30, 9), 3)
    assert [(s.date().isoformat(), e.date().isoformat(), p, w) for s, e, p, w in got] == expected
    for s, e, _, _ in got:  # every boundary is at the 09:00 London handoff
        assert s.hour == 9 and e.hour == 9


def test_hero_is_also_their_teams_secondary():
    rot = rotations.make(
        people="abcdef",
        hero="adbe",
        team_of={"a": "core", "b": "core", "c": "core", "d": "data", "e": "data", "f": "data"},
        teams={"core": ("abc", "2026-11-30", "c"), "data": ("def", "2026-11-30", "f")},
    )
    core = [(p, w) for _, _, p, w in people_by_week(rot, "core", utc(2026, 11, 30, 9), 4)]
    data = [(p, w) for _, _, p, w in people_by_week(rot, "data", utc(2026, 11, 30, 9), 4)]
    # hero weeks: a, d, b, e. core's own order would give c, a, b, c; data's f, d, e, f.
    assert core == [("a", "hero"), ("a", "rotation"), ("b", "hero"), ("c", "rotation")]
    assert data == [("f", "rotation"), ("d", "hero"), ("e", "rotation"), ("e", "hero")]


def test_hero_as_secondary_can_be_switched_off():
    rot = rotations.make(teams={"core": ("cab", "2026-11-30", "c")}, hero_is_team_secondary=False)
    core = [p for _, _, p, _ in people_by_week(rot, "core", utc(2026, 11, 30, 9), 3)]
    assert core == ["c", "a", "b"]


def test_hero_day_swap_carries_into_team_schedule():
    rot = rotations.make(
        people="abcd",
        hero="abc",
        team_of={"d": "core"},
        teams={"core": ("dcba", "2026-11-30", "d")},
        swaps="  - {people: [a, b], days: [2026-12-02, 2026-12-09]}",
    )
    week = people_by_week(rot, "core", utc(2026, 11, 30, 9), 1)
    # a is hero except Wednesday, which b covers; both are core, so core follows the hero.
    assert [(s.day, e.day, p, w) for s, e, p, w in week] == [
        (30, 2, "a", "hero"),
        (2, 3, "b", "hero"),
        (3, 7, "a", "hero"),
    ]


def test_team_swap_loses_to_hero_shift():
    rot = rotations.make(
        teams={"core": ("cab", "2026-11-30", "c")},
        swaps="  - {people: [a, b], dates: [2026-12-07, 2026-12-14], schedule: core}",
    )
    core = [(p, w) for _, _, p, w in people_by_week(rot, "core", utc(2026, 11, 30, 9), 3)]
    assert core == [("a", "hero"), ("b", "hero"), ("c", "hero")]


def test_team_defined_only_from_hero_since_when_it_supplies_heroes():
    rot = rotations.make(hero_since="2026-12-14", teams={"core": ("abc", "2026-11-30", "a")})
    assert schedule.defined_from(rot, "core").isoformat() == "2026-12-14"
    assert schedule.on_call(rot, "core", utc(2026, 12, 1)) is None


def test_shifts_are_clipped_and_sorted():
    rot = rotations.make(teams={"core": ("abc", "2026-11-30", "a")})
    got = schedule.shifts(rot, utc(2026, 12, 3), utc(2026, 12, 10))
    assert [s.schedule for s in got] == [HERO, HERO, "core", "core"]
    assert got[0].start == utc(2026, 12, 3) and got[-1].end == utc(2026, 12, 10)


@pytest.mark.parametrize(
    ("edit", "now", "rewrite"),
    [
        # a new person added with the same since rewrites the week in progress
        (dict(people="abcd", hero="abdc"), utc(2026, 12, 16), ("c", "d", "2026-12-21", "a")),
        # the same edit with since at the next handoff and first = who was next keeps history
        (
            dict(people="abcd", hero="abdc", hero_since="2026-12-21", hero_first="a"),
            utc(2026, 12, 16),
            None,
        ),
        # an edit before the rotation starts moves nothing that has started
        (dict(people="abcd", hero="abdc"), utc(2026, 11, 20), None),
    ],
)
def test_continuation_after_roster_change(edit, now, rewrite):
    base = rotations.make(people="abcd")
    new = rotations.make(**edit)
    found = history.rewrites(base, new, now)
    if rewrite is None:
        assert found == []
    else:
        (r,) = found
        assert (r.before, r.after, r.since, r.first) == rewrite


def test_suggested_continuation_keeps_upcoming_weeks():
    base = rotations.make(people="abcd", hero="abcd")
    now = utc(2026, 12, 16)
    (r,) = history.rewrites(base, rotations.make(people="abcd", hero="abdc"), now)
    fixed = rotations.make(people="abcd", hero="abdc", hero_since=r.since, hero_first=r.first)
    assert history.rewrites(base, fixed, now) == []
    start = schedule.handoff(fixed, schedule.week_of(fixed, now))
    moved = history.moves(base, fixed, start, start + timedelta(weeks=3))
    # the week in progress and the next one stay; only later weeks follow the new order
    assert moved[0].start >= start + timedelta(weeks=2)


def test_moves_lists_before_and_after():
    base = rotations.make()
    new = rotations.make(swaps="  - {people: [a, b], dates: [2026-11-30, 2026-12-07]}")
    moved = history.moves(base, new, utc(2026, 11, 30, 9), utc(2026, 12, 14, 9))
    assert [(m.start.day, m.before, m.after) for m in moved] == [(30, "a", "b"), (7, "b", "a")]
