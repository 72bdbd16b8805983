"""Table-driven tests of the pure PagerDuty plan: wanted overrides, layer and override changes."""

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest

from scripts.pagerduty import plan as pdp
from scripts.rotation import load as rotation
from scripts.rotation import schedule
from scripts.rotation.model import HERO

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)  # a Wednesday: c is hero, b core secondary
WEEK = timedelta(weeks=1)
IDS = {h: f"U{h}" for h in "abcde"}


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


# core's hero-as-secondary overrides around NOW: c is hero (core's b would be on), then a (c)
C_COVERS_B = (utc(2026, 11, 30, 9), utc(2026, 12, 7, 9))  # in progress at NOW
A_COVERS_C = (utc(2026, 12, 7, 9), utc(2026, 12, 14, 9))


def config(
    *,
    hero="a, d, b, e, c",
    hero_since="2026-11-02",
    core="a, b, c",
    core_since="2026-11-02",
    core_first="a",
    swaps="",
    extra="",
) -> str:
    """People a, b, c (team core) and d, e (team ops); hero order a, d, b, e, c by default."""
    people = "\n".join(
        f"  {p}: {{name: {p.upper()}, email: {p}@example.com, team: {t}}}"
        for p, t in zip("abcde", ["core"] * 3 + ["ops"] * 2, strict=True)
    )
    text = f"""timezone: Europe/London
handoff: {{day: monday, time: "09:00"}}
people:
{people}
teams:
  core:
    name: Core
    pagerduty_schedule: PCORE01
    secondary:
      order: [{core}]
      since: {{week: {core_since}, first: {core_first}}}
  ops:
    name: Ops
    pagerduty_schedule: POPS001
    secondary:
      order: [d, e]
      since: {{week: 2026-11-02, first: d}}
support_hero:
  pagerduty_schedule: PHERO01
  order: [{hero}]
  since: {{week: {hero_since}, first: a}}
"""
    if swaps:
        text += "swaps:\n" + swaps
    return text + extra


def load(**kw):
    return rotation.load("rotation.yaml", text=config(**kw))[0]


def since(rot, key=HERO) -> datetime:
    return schedule.handoff(rot, rot.cycle(key).since)


def exact_layer(rot, key=HERO, **kw) -> pdp.Layer:
    """The layer a previous sync leaves: what rotation.yaml says, from `since`."""
    users = tuple(IDS[p] for p in pdp.layer_people(rot.cycle(key)))
    return replace(pdp.Layer(since(rot, key), since(rot, key), 604800, users, id="L1"), **kw)


def sched(rot, key=HERO, layers=None, overrides=(), time_zone="Europe/London") -> pdp.Schedule:
    layers = (exact_layer(rot, key),) if layers is None else layers
    return pdp.Schedule(rot.pagerduty_schedule(key), key, time_zone, layers, tuple(overrides))


def spans(overrides):
    return [(o.start, o.end, o.person, o.covers, o.why) for o in overrides]


# -- wanted overrides


@pytest.mark.parametrize(
    ("swaps", "key", "weeks", "expected"),
    [
        # hero-as-secondary: c (hero now) covers b on core, then a covers c; b's hero week
        # (21 Dec) needs none, b being core's secondary then; 4 Jan is past the horizon.
        ("", "core", 4, [
            (utc(2026, 11, 30, 9), utc(2026, 12, 7, 9), "c", "b", "hero"),
            (utc(2026, 12, 7, 9), utc(2026, 12, 14, 9), "a", "c", "hero"),
        ]),
        ("", HERO, 4, []),
        # a whole-week swap: each half on the hero schedule, and its echo on ops
        ("  - {people: [d, e], dates: [2026-12-14, 2026-12-28]}\n", HERO, 4, [
            (utc(2026, 12, 14, 9), utc(2026, 12, 21, 9), "e", "d", "swap"),
            (utc(2026, 12, 28, 9), utc(2027, 1, 4, 9), "d", "e", "swap"),
        ]),
        ("  - {people: [d, e], dates: [2026-12-14, 2026-12-28]}\n", "ops", 4, [
            (utc(2026, 12, 14, 9), utc(2026, 12, 21, 9), "e", "d", "hero"),
        ]),
        # single days: handoff time on the date to handoff time the next day
        ("  - {people: [d, c], days: [2026-12-16, 2027-01-06]}\n", HERO, 6, [
            (utc(2026, 12, 16, 9), utc(2026, 12, 17, 9), "c", "d", "swap"),
            (utc(2027, 1, 6, 9), utc(2027, 1, 7, 9), "d", "c", "swap"),
        ]),
        # a swap far past the horizon is written anyway, at 09:00 BST (08:00 UTC)
        ("  - {people: [b, e], dates: [2027-04-05, 2027-04-12]}\n", HERO, 2, [
            (utc(2027, 4, 5, 8), utc(2027, 4, 12, 8), "e", "b", "swap"),
            (utc(2027, 4, 12, 8), utc(2027, 4, 19, 8), "b", "e", "swap"),
        ]),
    ],
)  # fmt: skip
def test_wanted_overrides(swaps, key, weeks, expected):
    rot = load(swaps=swaps)
    assert spans(pdp.wanted(rot, key, NOW, weeks).overrides) == expected


def test_a_far_hero_swap_reaches_team_schedules_only_within_its_own_weeks():
    rot = load(swaps="  - {people: [b, e], dates: [2027-04-05, 2027-04-12]}\n")
    # b takes e's hero week of 12 Apr, so b is core's secondary then instead of c; the
    # hero-as-secondary weeks between the horizon and the swap are not written yet
    assert spans(pdp.wanted(rot, "core", NOW, 2).overrides) == [
        (*C_COVERS_B, "c", "b", "hero"),
        (*A_COVERS_C, "a", "c", "hero"),
        (utc(2027, 4, 12, 8), utc(2027, 4, 19, 8), "b", "c", "hero"),
    ]


def test_overrides_do_not_depend_on_where_the_window_ends():
    rot = load(hero="a")  # a is hero every week, so core's b and c weeks all become a's
    short, long = (pdp.wanted(rot, "core", NOW, weeks).overrides for weeks in (4, 8))
    assert long[: len(short)] == short
    assert all(o.end - o.start <= WEEK for o in long)


@pytest.mark.parametrize(
    ("settings", "flag", "expected"),
    [({}, None, 12), ({"pagerduty": {"horizon_weeks": 4}}, None, 4), ({}, 20, 20),
     ({"pagerduty": {"horizon_weeks": 4}}, 6, 6)],
)  # fmt: skip
def test_horizon_weeks(settings, flag, expected):
    rot = replace(load(), settings=settings)
    assert pdp.horizon_weeks(rot, flag) == expected


def test_horizon_covers_the_shift_holding_now_plus_the_weeks():
    win = pdp.window(load(), "core", NOW, 12)
    assert win.start == utc(2026, 11, 30, 9)
    assert win.horizon_end == utc(2027, 3, 1, 9) > NOW + timedelta(weeks=12)


# -- layers


def _layers(rot, key=HERO, **kw):
    return pdp.layer_change(rot, pdp.wanted(rot, key, NOW, 4), sched(rot, key, **kw), IDS, 7)


SYNCED = exact_layer(load())
OTHER = ("Ua", "Ub", "Uc", "Ud", "Ue")  # the hero people, in another order
RVS_BEFORE = schedule.handoff(load(), date(2026, 10, 26))  # a Monday 09:00 GMT, a week before


@pytest.mark.parametrize(
    ("name", "layers"),
    [
        ("what a sync leaves", None),
        ("same cycle from an older virtual start", (pdp.Layer(
            RVS_BEFORE, RVS_BEFORE, 604800, ("Uc", "Ua", "Ud", "Ub", "Ue"), id="L0"),)),
        ("ended layers before it", (
            pdp.Layer(utc(2025, 1, 6, 9), utc(2025, 1, 6, 9), 604800, OTHER,
                      end=since(load()), id="L0"),
            exact_layer(load()))),
    ],
)  # fmt: skip
def test_an_unchanged_rotation_writes_nothing(name, layers):
    assert _layers(load(), layers=layers) is None, name


def test_a_new_order_ends_the_old_layer_now_and_starts_one_now_turning_from_since():
    old = pdp.Layer(utc(2025, 1, 6, 9), utc(2025, 1, 6, 9), 604800, OTHER, id="L0", name="Old")
    change = _layers(load(), layers=(old,))
    now = NOW.replace(microsecond=0)
    ended, new = change.data.layers
    assert ended == replace(old, end=now)
    assert (new.start, new.rotation_virtual_start, new.end, new.id) == (
        now,
        since(load()),
        None,
        None,
    )
    assert new.user_ids == ("Ua", "Ud", "Ub", "Ue", "Uc") and new.turn_seconds == 604800
    assert (change.action, change.reason, change.line) == (
        "update",
        "rotation",
        load().hero.cycle.line,
    )
    assert "end Old at Wed 02 Dec 12:00" in change.summary


def test_a_future_since_ends_the_old_layer_at_since():
    rot = load(hero_since="2026-12-14")
    old = pdp.Layer(utc(2025, 1, 6, 9), utc(2025, 1, 6, 9), 604800, OTHER, id="L0")
    ended, new = _layers(rot, layers=(old,)).data.layers
    assert ended.end == new.start == new.rotation_virtual_start == utc(2026, 12, 14, 9)


@pytest.mark.parametrize(
    ("name", "extra", "expected"),
    [
        ("an open layer above wins: ended now", pdp.Layer(
            utc(2026, 11, 16, 9), utc(2026, 11, 16, 9), 604800, OTHER, id="L2"),
         ["kept", NOW.replace(microsecond=0)]),
        # it cannot be ended before it starts, nor removed: a new layer goes above it
        ("a layer above not started yet: a new layer on top", pdp.Layer(
            utc(2026, 12, 21, 9), utc(2026, 12, 21, 9), 604800, OTHER, id="L2"),
         [NOW.replace(microsecond=0), None, "new"]),
        ("a layer above that has ended: untouched", pdp.Layer(
            utc(2026, 11, 16, 9), utc(2026, 11, 16, 9), 604800, OTHER, id="L2",
            end=utc(2026, 11, 23, 9)), None),
    ],
)  # fmt: skip
def test_layers_above_the_rotation(name, extra, expected):
    """Layers are lowest priority first; whatever is above the rotation must not win from now."""
    rot = load()
    change = _layers(rot, layers=(exact_layer(rot), extra))
    if expected is None:
        assert change is None, name
        return
    after = change.data.layers
    assert len(after) == len(expected), name
    for layer, want in zip(after, expected, strict=True):
        if want == "kept":
            assert layer == exact_layer(rot), name
        elif want == "new":
            assert layer.id is None and layer.user_ids == exact_layer(rot).user_ids, name
        else:
            assert layer.end == want, name
    assert {"L2", exact_layer(rot).id} <= {x.id for x in after}, name  # none is removed


@pytest.mark.parametrize(
    ("name", "layer"),
    [
        ("daily turns", replace(SYNCED, turn_seconds=86400)),
        ("restricted", replace(SYNCED, restrictions=({"type": "daily_restriction"},))),
        ("handoff at 10:00", replace(SYNCED, rotation_virtual_start=utc(2026, 11, 2, 10))),
        ("a person missing", replace(SYNCED, user_ids=("Ua", "Ud", "Ub", "Ue"))),
        ("starts after now", replace(SYNCED, start=utc(2026, 12, 7, 9))),
    ],
)  # fmt: skip
def test_a_layer_that_differs_is_replaced(name, layer):
    change = _layers(load(), layers=(layer,))
    assert change is not None and change.data.layers[-1].id is None, name


def test_no_layer_at_all_gets_one():
    (new,) = _layers(load(), layers=()).data.layers
    assert new.start == NOW.replace(microsecond=0)


def test_time_zone_alone():
    change = _layers(load(), time_zone="UTC")
    assert (change.reason, change.line) == ("timezone", 7)
    assert change.summary == "time zone UTC -> Europe/London"
    assert change.data.layers == (exact_layer(load()),)


# -- overrides


def ov(start, end, who, oid="O1"):
    return pdp.Override(start, end, IDS.get(who, who), oid)


@pytest.mark.parametrize(
    ("name", "observed", "prune", "actions", "drift"),
    [
        ("all there", [ov(*C_COVERS_B, "c"), ov(*A_COVERS_C, "a", "O2")], False, [], []),
        ("one created mid-shift still counts",
         [ov(utc(2026, 12, 1, 10), C_COVERS_B[1], "c"), ov(*A_COVERS_C, "a", "O2")],
         False, [], []),
        ("missing ones are created; the one in progress from now",
         [], False, [("create", NOW.replace(microsecond=0)), ("create", A_COVERS_C[0])], []),
        ("wrong person: drift, kept without --prune",
         [ov(*C_COVERS_B, "c"), ov(*A_COVERS_C, "b", "O2")], False,
         [("create", A_COVERS_C[0])], [False]),
        ("wrong person: deleted with --prune",
         [ov(*C_COVERS_B, "c"), ov(*A_COVERS_C, "b", "O2")], True,
         [("delete", "O2"), ("create", A_COVERS_C[0])], []),
        ("drift in progress is never deleted",
         [ov(*C_COVERS_B, "e"), ov(*A_COVERS_C, "a", "O2")], True,
         [("create", NOW.replace(microsecond=0))], [True]),
        ("a twin of a wanted override is drift",
         [ov(*C_COVERS_B, "c"), ov(*A_COVERS_C, "a", "O2"), ov(*A_COVERS_C, "a", "O3")], True,
         [("delete", "O3")], []),
        ("an unknown user's override is drift",
         [ov(*C_COVERS_B, "c"), ov(*A_COVERS_C, "a", "O2"),
          ov(utc(2026, 12, 20), utc(2026, 12, 21), "PXYZ", "O4")], False, [], [False]),
        ("one that ended is not looked at",
         [ov(utc(2026, 11, 2, 9), utc(2026, 12, 2, 9), "e", "O5"), ov(*C_COVERS_B, "c"),
          ov(*A_COVERS_C, "a", "O2")], True, [], []),
    ],
)  # fmt: skip
def test_override_changes(name, observed, prune, actions, drift):
    rot = load()
    want = pdp.wanted(rot, "core", NOW, 2)
    changes, left = pdp.override_changes(rot, want, sched(rot, "core", overrides=observed),
                                         IDS, NOW, prune)  # fmt: skip
    got = [
        (c.action, (c.data.override_id if c.action == "delete" else c.data.override.start))
        for c in changes
    ]
    assert got == actions, name
    assert [d.in_progress for d in left] == drift, name


def test_override_words_carry_reason_and_line():
    rot = load(swaps="  - {people: [d, c], days: [2026-12-16, 2027-01-06]}\n")
    changes, _ = pdp.override_changes(rot, pdp.wanted(rot, HERO, NOW, 6), sched(rot), IDS, NOW,
                                      False)  # fmt: skip
    first = changes[0]
    assert first.summary == "Wed 16 Dec 09:00 -> Thu 17 Dec 09:00 Europe/London: c covers d"
    assert (first.reason, first.line) == ("swap", rot.swaps[0].line)
    assert first.target == "Support Hero (PHERO01)"


def test_drift_names_who_when_and_where():
    rot = load()
    extra = ov(utc(2026, 12, 20), utc(2026, 12, 21), "e", "O9")
    _, (drift,) = pdp.override_changes(rot, pdp.wanted(rot, HERO, NOW, 2),
                                       sched(rot, overrides=[extra]), IDS, NOW, False)  # fmt: skip
    assert drift.target == "Support Hero (PHERO01)"
    assert drift.summary == (
        "Sun 20 Dec 00:00 -> Mon 21 Dec 00:00 Europe/London: e (not in rotation.yaml)"
    )


def test_overrides_before_the_rotation_starts_are_not_judged():
    rot = load(hero_since="2026-12-14")
    early = ov(utc(2026, 12, 8), utc(2026, 12, 9), "e", "O9")  # under the old layer
    _, drift = pdp.override_changes(rot, pdp.wanted(rot, HERO, NOW, 2),
                                    sched(rot, overrides=[early]), IDS, NOW, True)  # fmt: skip
    assert drift == []


# -- the whole plan: applying it leaves nothing to do


def apply(observed: dict, changes) -> dict:
    """What PagerDuty would hold after the changes (ids made up), for the re-plan."""
    out = dict(observed)
    for n, c in enumerate(changes):
        key = next(k for k, s in out.items() if s.id == c.data.schedule_id)
        s = out[key]
        if c.action == "update":
            layers = tuple(replace(x, id=x.id or f"N{n}") for x in c.data.layers)
            out[key] = replace(s, time_zone=c.data.time_zone, layers=layers)
        elif c.action == "create":
            new = replace(c.data.override, id=f"C{n}")
            out[key] = replace(s, overrides=(*s.overrides, new))
        else:
            kept = tuple(o for o in s.overrides if o.id != c.data.override_id)
            out[key] = replace(s, overrides=kept)
    return out


STATES = {
    "empty": lambda rot, key: sched(rot, key, layers=(), time_zone="UTC"),
    "synced": lambda rot, key: sched(rot, key),
    "hand-made": lambda rot, key: sched(rot, key, time_zone="UTC", layers=(pdp.Layer(
        utc(2025, 1, 6, 9), utc(2025, 1, 6, 9), 604800,
        tuple(sorted(IDS[p] for p in rot.cycle(key).order)), id="L0"),)),
    "drifted": lambda rot, key: sched(rot, key, overrides=[
        ov(utc(2026, 12, 8), utc(2026, 12, 9), "e", "X1"),
        ov(utc(2026, 12, 21, 9), utc(2026, 12, 28, 9), "a", "X2")]),
}  # fmt: skip


@pytest.mark.parametrize("state", sorted(STATES))
@pytest.mark.parametrize(
    "swaps",
    ["", "  - {people: [d, e], dates: [2026-12-14, 2026-12-28]}\n"
         "  - {people: [d, c], days: [2026-12-16, 2027-01-06]}\n"],
)  # fmt: skip
def test_after_applying_the_plan_nothing_is_left(state, swaps):
    rot = load(swaps=swaps)
    observed = {key: STATES[state](rot, key) for key in pdp.synced(rot)}
    first = pdp.plan(rot, observed, IDS, NOW, 12, prune=True)
    assert first.changes or state == "synced"
    later = NOW + timedelta(minutes=5)
    assert pdp.plan(rot, apply(observed, first.changes), IDS, later, 12, prune=True) == pdp.Plan()


def test_a_schedule_without_pagerduty_id_is_not_synced():
    rot = load(extra="")
    assert pdp.synced(rot) == [HERO, "core", "ops"]
    no_ops = replace(rot, teams={**rot.teams, "ops": replace(rot.teams["ops"],
                                                             pagerduty_schedule=None)})  # fmt: skip
    assert pdp.synced(no_ops) == [HERO, "core"]


def test_describe_reads_like_the_plan():
    rot = load(swaps="  - {people: [d, c], days: [2026-12-16, 2027-01-06]}\n")
    lines = pdp.describe(rot, pdp.wanted(rot, HERO, NOW, 6))
    assert lines[0].startswith("layer from Wed 02 Dec 12:00: a, d, b, e, c, weekly turns from")
    assert lines[1] == (
        "override Wed 16 Dec 09:00 -> Thu 17 Dec 09:00 Europe/London: c covers d "
        f"(swap, rotation.yaml:{rot.swaps[0].line})"
    )
