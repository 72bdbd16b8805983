"""sync_pagerduty end to end: the CLI and the real `pagerduty` client against the HTTPS fake."""

import json
import os
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from fakes.base import fake_env
from fakes.pagerduty import FakeLayer, FakeOverride, FakeSchedule, render
from scripts import sync_pagerduty
from scripts.clients.pagerduty import PagerDuty
from scripts.pagerduty.plan import synced
from scripts.rotation import load as rotation
from scripts.rotation import schedule
from scripts.rotation.model import HERO
from tests.processes import run_job
from tests.test_pagerduty_plan import config

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "rotation.yaml"
NOW = datetime(2026, 12, 9, 12, 0, tzinfo=UTC)  # a Wednesday, mid-shift
SWAPS = (
    "  - {people: [d, e], dates: [2026-12-14, 2026-12-28], reason: holiday}\n"
    "  - {people: [c, a], days: [2027-01-06, 2027-01-13]}\n"
)


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.fixture
def pd(pagerduty_fake, monkeypatch, tmp_path):
    """The fake at NOW, and the environment a user would set to point the job at it."""
    pagerduty_fake.clock = NOW
    for name, value in fake_env(pagerduty_fake).items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(tmp_path / "summary.md"))
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    yield pagerduty_fake
    assert pagerduty_fake.history_rewrites == []


@pytest.fixture
def own(tmp_path):
    """Write a small rotation file (people a-e, see test_pagerduty_plan.config); its path."""

    def write(name="rotation.yaml", **kw) -> Path:
        path = tmp_path / name
        path.write_text(config(**kw), encoding="utf-8")
        return path

    return write


def sync(capsys, config_path, *args, now=NOW):
    code = sync_pagerduty.main(["--config", str(config_path), "--now", now.isoformat(), *args])
    out, err = capsys.readouterr()
    return code, out, err


def load(path):
    return rotation.load(path)[0]


def merged(rows):
    out = []
    for a, b, who in rows:
        if out and out[-1][1] == a and out[-1][2] == who:
            out[-1] = (out[-1][0], b, who)
        else:
            out.append((a, b, who))
    return out


def assert_final_is_engine(fake, rot, now=NOW, weeks=12):
    """PagerDuty's final schedule equals the engine's shifts over the next `weeks` weeks."""
    handle = {fake.user_id(p.email): h for h, p in rot.people.items()}
    for key in synced(rot):
        start = max(now, schedule.handoff(rot, schedule.defined_from(rot, key)))
        end = now + timedelta(weeks=weeks)
        if start >= end:
            continue
        want = merged(
            (s.start, s.end, s.person) for s in schedule.schedule_shifts(rot, key, start, end)
        )
        got = merged(
            (a, b, handle[u]) for a, b, u in fake.final(rot.pagerduty_schedule(key), start, end)
        )
        assert got == want, key


def who(fake, rot, schedule_id, instant):
    ((_, _, uid),) = fake.final(schedule_id, instant, instant + timedelta(seconds=1))
    return next(h for h, p in rot.people.items() if fake.user_id(p.email) == uid)


# -- adopting, re-running, counting


def test_adopts_a_hand_made_schedule_then_a_second_apply_writes_nothing(pd, capsys):
    rot = load(EXAMPLE)
    pd.seed_from_rotation(rot, layer="hand-made")
    code, out, _ = sync(capsys, EXAMPLE, "--apply")
    assert code == 0 and "update" in out and "Applied" in out
    assert pd.writes() > 0
    pd.reset_counts()
    code, out, _ = sync(capsys, EXAMPLE, "--apply")
    assert (code, pd.writes()) == (0, 0)
    assert "No changes: everything already matches." in out
    assert_final_is_engine(pd, rot)
    hero = pd.schedules[rot.pagerduty_schedule(HERO)]
    old, new = hero.layers  # the hand-made layer is ended now, never removed
    assert old.end == new.start == NOW and hero.time_zone == "Europe/London"
    assert new.rotation_virtual_start == schedule.handoff(rot, rot.hero.cycle.since)


def test_request_counts_of_a_first_apply_and_a_steady_run(pd, capsys):
    rot = load(EXAMPLE)
    n = len(synced(rot))
    pd.seed_from_rotation(rot, layer="hand-made")
    assert sync(capsys, EXAMPLE, "--apply")[0] == 0
    first = (pd.reads(), pd.writes())
    pd.reset_counts()
    assert sync(capsys, EXAMPLE, "--apply")[0] == 0
    steady = (pd.reads(), pd.writes())
    # reads: all users (one page), then per schedule the v3 probe (400: layer-based, as the
    # upgrade guide asks), its layers and its overrides; writes: per schedule one update (time
    # zone and layers) and one batch of overrides
    assert first == (1 + 3 * n, 2 * n)
    assert steady == (1 + 3 * n, 0)


def test_runs_as_a_module_with_only_the_environment(pd):
    rot = load(EXAMPLE)
    pd.seed_from_rotation(rot, layer="none")
    done = run_job("sync_pagerduty", "--now", NOW.isoformat(), "--apply", env=os.environ)
    assert done.returncode == 0, done.stderr
    assert pd.token not in done.stdout + done.stderr
    assert_final_is_engine(pd, rot)


# -- what rotation.yaml changes


def test_roster_change_with_a_future_since_ends_the_old_layer_there(pd, capsys, own):
    before = own("v1.yaml")
    pd.seed_from_rotation(load(before), layer="rotation")
    assert sync(capsys, before, "--apply")[0] == 0
    path = own("v2.yaml", core="a, c, b", core_since="2026-12-14")
    rot = load(path)
    this_week = pd.final("PCORE01", NOW, utc(2026, 12, 14, 9))
    code, out, _ = sync(capsys, path, "--apply")
    assert code == 0 and "end Layer 1 at Mon 14 Dec 09:00" in out
    core = pd.schedules["PCORE01"]
    assert [(x.start, x.end) for x in core.layers] == [
        (utc(2026, 11, 2, 9), utc(2026, 12, 14, 9)),
        (utc(2026, 12, 14, 9), None),
    ]
    assert pd.final("PCORE01", NOW, utc(2026, 12, 14, 9)) == this_week  # the shift in progress
    assert_final_is_engine(pd, rot)
    pd.reset_counts()
    assert sync(capsys, path, "--apply")[0] == 0 and pd.writes() == 0


def test_swaps_and_hero_as_secondary_land_on_every_schedule(pd, capsys, own):
    path = own(swaps=SWAPS)
    rot = load(path)
    pd.seed_from_rotation(rot)
    code, out, _ = sync(capsys, path, "--apply")
    assert code == 0
    line = rot.swaps[0].line
    assert (
        f"Mon 14 Dec 09:00 -> Mon 21 Dec 09:00 Europe/London: e covers d (swap, {path}:{line})"
        in out
    )
    assert "(hero-as-secondary" in out
    assert who(pd, rot, "PHERO01", utc(2026, 12, 15, 12)) == "e"  # swap week
    assert who(pd, rot, "POPS001", utc(2026, 12, 15, 12)) == "e"  # ... and its hero on ops
    assert who(pd, rot, "PHERO01", utc(2026, 12, 29, 12)) == "d"  # the other half
    assert who(pd, rot, "PHERO01", utc(2027, 1, 6, 12)) == "a"  # a single day
    assert who(pd, rot, "PHERO01", utc(2027, 1, 7, 12)) == "c"
    assert who(pd, rot, "PCORE01", utc(2027, 1, 5, 12)) == "c"  # c is hero, so core's too
    assert who(pd, rot, "PCORE01", utc(2027, 1, 6, 12)) == "a"  # but not on a's day
    assert_final_is_engine(pd, rot)


# -- drift


def test_drift_is_reported_and_kept_without_prune(pd, capsys, own, tmp_path):
    path = own()
    rot = load(path)
    pd.seed_from_rotation(rot, layer="rotation")
    assert sync(capsys, path, "--apply")[0] == 0
    pd.add_override("PHERO01", "e@example.com", utc(2026, 12, 20), utc(2026, 12, 21))
    code, out, _ = sync(capsys, path)
    assert code == 0
    assert "Sun 20 Dec 00:00 -> Mon 21 Dec 00:00 Europe/London: e (not in" in out
    assert "--prune deletes" in out
    assert "e (not in" in (tmp_path / "summary.md").read_text()
    pd.reset_counts()
    assert sync(capsys, path, "--apply")[0] == 0 and pd.writes() == 0
    assert len(pd.schedules["PHERO01"].overrides) == 1


def test_prune_deletes_drift_but_never_one_in_progress(pd, capsys, own):
    path = own()
    rot = load(path)
    pd.seed_from_rotation(rot, layer="rotation")
    pd.add_override("PHERO01", "e@example.com", utc(2026, 12, 20), utc(2026, 12, 21))
    running = pd.add_override("PHERO01", "b@example.com", utc(2026, 12, 9, 10), utc(2026, 12, 10))
    code, out, _ = sync(capsys, path, "--apply", "--prune")
    assert code == 0 and "delete" in out and "in progress" in out
    assert [o.id for o in pd.schedules["PHERO01"].overrides] == [running]
    pd.reset_counts()
    assert sync(capsys, path, "--apply", "--prune")[0] == 0 and pd.writes() == 0


def test_prune_never_cuts_cover_that_started_yesterday(pd, capsys, own):
    """Read with since=now, PagerDuty would show it starting now: a future override to delete,
    and deleting one in progress cuts it at now (the person covering is off call at once)."""
    path = own()
    rot = load(path)
    pd.seed_from_rotation(rot, layer="rotation")
    start, end = utc(2026, 12, 8, 10), utc(2026, 12, 11, 18)
    pd.add_override("PHERO01", "b@example.com", start, end)
    code, out, _ = sync(capsys, path, "--apply", "--prune")
    assert code == 0 and "in progress" in out and "delete" not in out
    ((left,),) = [pd.schedules["PHERO01"].overrides]
    assert (left.start, left.end) == (start, end)
    assert who(pd, rot, "PHERO01", NOW) == "b"
    assert pd.count("GET", "/schedules/*/overrides") == len(synced(rot))
    reads = [c for c in pd.calls if c.method == "GET" and c.path.endswith("/overrides")]
    assert reads and all(c.query.get("overflow") == ["true"] for c in reads)


def test_its_own_started_overrides_are_recognised_after_they_begin(pd, capsys, own):
    path = own(swaps=SWAPS)
    rot = load(path)
    pd.seed_from_rotation(rot, layer="rotation")
    before = utc(2026, 12, 14, 9)  # the 14 Dec swap week starts: its override is written
    pd.clock = before
    assert sync(capsys, path, "--apply", now=before)[0] == 0
    later = utc(2026, 12, 16, 12)  # inside it: the swap's override is in progress
    pd.clock = later
    pd.reset_counts()
    code, out, _ = sync(capsys, path, "--apply", "--prune", now=later)
    assert (code, pd.writes()) == (0, 0), out
    assert_final_is_engine(pd, rot, later)


def _hand_made_layer_above(fake, rot, start):
    fake.seed_from_rotation(rot, layer="rotation")
    for key in synced(rot):
        fake.add_layer(rot.pagerduty_schedule(key), ["c@example.com"], start, name="Holiday cover")


@pytest.mark.parametrize(
    ("name", "start", "layers_after"),
    [
        ("started last week: ended now", utc(2026, 12, 1, 9), 2),
        ("starts in two weeks: a new layer above it", utc(2026, 12, 21, 9), 3),
    ],
)
def test_a_hand_made_layer_above_the_rotation_stops_winning(pd, capsys, own, name, start,
                                                             layers_after):  # fmt: skip
    """PagerDuty lists the layer created last first, and it wins; a PUT never removes one."""
    path = own(swaps=SWAPS)
    rot = load(path)
    _hand_made_layer_above(pd, rot, start)
    code, out, _ = sync(capsys, path, "--apply")
    assert code == 0 and "Holiday cover" in out, name
    assert_final_is_engine(pd, rot)
    pd.reset_counts()
    code, out, _ = sync(capsys, path, "--apply")
    assert (code, pd.writes()) == (0, 0), (name, out)
    hero = pd.schedules["PHERO01"]
    assert len(hero.layers) == layers_after, name
    assert any(x.name == "Holiday cover" for x in hero.layers), name  # ended, not removed


# -- refusing to start


def test_missing_users_exit_2_naming_every_one_and_write_nothing(pd, capsys, own):
    path = own()
    pd.seed_from_rotation(load(path))
    for email in ("b@example.com", "e@example.com"):
        del pd.users[pd.user_id(email)]
    code, _, err = sync(capsys, path, "--apply")
    assert code == 2
    assert "b@example.com is not the email of any PagerDuty user" in err
    assert "e@example.com is not the email of any PagerDuty user" in err
    assert pd.writes() == 0


def test_a_schedule_missing_in_pagerduty_is_named(pd, capsys, own):
    path = own()
    pd.seed_from_rotation(load(path))
    del pd.schedules["POPS001"]
    code, _, err = sync(capsys, path, "--apply")
    assert code == 2 and "PagerDuty has no schedule POPS001" in err
    assert pd.writes() == 0


def test_a_bad_config_sends_no_request(pd, capsys, own):
    path = own()
    path.write_text(path.read_text().replace("first: d", "first: dd"))
    pd.seed_from_rotation(load(own("good.yaml")))
    for args in ((), ("--apply",)):
        code, _, err = sync(capsys, path, *args)
        assert code == 2 and "nothing was written" in err
    assert pd.count() == 0


def test_a_wrong_token_is_a_usage_error_and_never_printed(pd, capsys, own, monkeypatch):
    path = own()
    pd.seed_from_rotation(load(path))
    monkeypatch.setenv("PAGERDUTY_TOKEN", "wrong-secret-0123456789")
    code, out, err = sync(capsys, path, "--apply")
    assert code == 2 and "refused the token (401)" in err and "PAGERDUTY_TOKEN" in err
    assert "0123456789" not in out + err and "6789" not in out + err
    assert pd.writes() == 0


def test_without_a_token_the_desired_state_is_shown(pd, capsys, own, monkeypatch):
    path = own(swaps=SWAPS)
    monkeypatch.delenv("PAGERDUTY_TOKEN")
    code, out, _ = sync(capsys, path)
    assert code == 0 and "PagerDuty was not read (PAGERDUTY_TOKEN is not set)" in out
    assert "override Mon 14 Dec 09:00 -> Mon 21 Dec 09:00 Europe/London: e covers d" in out
    code, _, err = sync(capsys, path, "--apply")
    assert code == 2 and "PAGERDUTY_TOKEN" in err
    assert pd.count() == 0


# -- failures


def test_a_429_storm_is_waited_out_as_pagerduty_asks(pd, capsys, own):
    path = own(swaps=SWAPS)
    rot = load(path)
    pd.seed_from_rotation(rot)
    pd.inject("GET", "/users", 429, times=3, headers={"Retry-After": "0"})
    pd.inject("POST", "/schedules/*/overrides", 429, headers={"ratelimit-reset": "1"})
    began = time.monotonic()
    assert sync(capsys, path, "--apply")[0] == 0
    assert time.monotonic() - began >= 1.0  # ratelimit-reset honoured
    assert pd.count("GET", "/users") == 4
    assert_final_is_engine(pd, rot)


@pytest.mark.parametrize(
    ("headers", "says"),
    [({"Retry-After": "0"}, "after 5 retries"), ({"ratelimit-reset": "3600"}, "wait 3600s")],
)
def test_an_endless_429_gives_up_in_bounded_time(pd, capsys, own, headers, says):
    path = own()
    pd.seed_from_rotation(load(path))
    pd.inject("*", "/**", 429, times=1000, headers=headers)
    began = time.monotonic()
    code, _, err = sync(capsys, path, "--apply")
    assert code == 1 and says in err and "giving up" in err
    assert time.monotonic() - began < 5
    assert pd.writes() == 0 and pd.count() <= 6


def test_a_5xx_half_way_through_an_apply_then_the_rerun_finishes(pd, capsys, own):
    path = own(swaps=SWAPS)
    rot = load(path)
    pd.seed_from_rotation(rot)
    pd.inject("POST", "/schedules/PCORE01/overrides", 500)
    code, _, err = sync(capsys, path, "--apply")
    assert code == 1
    assert "written     Support Hero (PHERO01): update" in err
    assert "FAILED      Core (PCORE01): create" in err
    assert "not written Ops (POPS001): update" in err
    assert pd.schedules["POPS001"].time_zone == "UTC"  # untouched after the failure
    assert sync(capsys, path, "--apply")[0] == 0
    pd.reset_counts()
    assert sync(capsys, path, "--apply")[0] == 0 and pd.writes() == 0
    assert_final_is_engine(pd, rot)


def test_a_5xx_on_a_schedule_update_is_retried(pd, capsys, own):
    path = own()
    rot = load(path)
    pd.seed_from_rotation(rot)
    pd.inject("PUT", "/schedules/{id}", 503, times=2, headers={"Retry-After": "0"})
    assert sync(capsys, path, "--apply")[0] == 0
    assert_final_is_engine(pd, rot)


def test_failed_items_inside_a_201_stop_the_apply(pd, capsys, own):
    path = own(swaps=SWAPS)
    rot = load(path)
    pd.seed_from_rotation(rot)
    pd.refuse_override_items = 1
    code, _, err = sync(capsys, path, "--apply")
    assert code == 1 and "FAILED" in err and "fake: refused" in err
    assert "written     Support Hero (PHERO01): create" in err  # the rest of the batch
    assert sync(capsys, path, "--apply")[0] == 0
    pd.reset_counts()
    assert sync(capsys, path, "--apply")[0] == 0 and pd.writes() == 0
    assert_final_is_engine(pd, rot)


# -- output


def test_json_plan(pd, capsys, own):
    path = own(swaps=SWAPS)
    pd.seed_from_rotation(load(path))
    code, out, _ = sync(capsys, path, "--format", "json")
    plan = json.loads(out)
    assert code == 0 and plan["pagerduty_read"] is True and plan["drift"] == []
    actions = {(c["target"], c["action"]) for c in plan["changes"]}
    assert ("Support Hero (PHERO01)", "create") in actions
    assert all(c["line"] > 0 for c in plan["changes"])


def test_markdown_summary_has_a_section_per_schedule(pd, capsys, own, tmp_path):
    path = own(swaps=SWAPS)
    pd.seed_from_rotation(load(path))
    assert sync(capsys, path)[0] == 0
    summary = (tmp_path / "summary.md").read_text()
    for target in ("Support Hero (PHERO01)", "Core (PCORE01)", "Ops (POPS001)"):
        assert f"**{target}**" in summary
    assert "changes:" in summary


# -- from any starting state


def _clutter(fake, rot):
    """Hand-made layers plus a layer on top, stray overrides (one past, one ahead)."""
    fake.seed_from_rotation(rot, layer="hand-made")
    for key in synced(rot):
        sid = rot.pagerduty_schedule(key)
        fake.add_layer(sid, ["a@example.com", "b@example.com"], utc(2026, 11, 23, 9))
        fake.add_layer(sid, ["e@example.com"], utc(2027, 1, 4, 9), turn=86400)
        fake.add_override(sid, "c@example.com", utc(2026, 12, 1), utc(2026, 12, 2))
        fake.add_override(sid, "d@example.com", utc(2026, 12, 30), utc(2027, 1, 2))


STARTS = {
    "no layer": lambda fake, rot: fake.seed_from_rotation(rot, layer="none"),
    "hand-made": lambda fake, rot: fake.seed_from_rotation(rot, layer="hand-made"),
    "synced": lambda fake, rot: fake.seed_from_rotation(rot, layer="rotation"),
    "cluttered": _clutter,
}


@pytest.mark.parametrize("start", sorted(STARTS))
@pytest.mark.parametrize("now", [NOW, utc(2027, 3, 17, 15, 30)])  # the second crosses into BST
def test_from_any_start_two_applies_leave_the_engines_schedule(pd, capsys, own, start, now):
    path = own(swaps=SWAPS)
    rot = load(path)
    pd.clock = now
    STARTS[start](pd, rot)
    assert sync(capsys, path, "--apply", "--prune", now=now)[0] == 0
    pd.reset_counts()
    assert sync(capsys, path, "--apply", "--prune", now=now)[0] == 0
    assert pd.writes() == 0
    assert_final_is_engine(pd, rot, now)


# -- the adapter calls escalate will use


def test_on_call_now_and_an_incident(pd, own):
    rot = load(own())
    pd.seed_from_rotation(rot, layer="rotation")
    pd.escalation_policies["PEP0001"] = ["POPS001"]
    pd.services["PSVC001"] = {"id": "PSVC001", "escalation_policy": "PEP0001"}
    client = PagerDuty(pd.token)
    on = client.holder("POPS001", NOW)
    assert on.user_id == pd.user_id("e@example.com")  # week 5 from 2 Nov: [d, e][5 % 2]
    assert (on.start, on.end) == (utc(2026, 12, 7, 9), utc(2026, 12, 14, 9))  # whole, not cut
    assert client.user_by_email("E@example.com").id == pd.user_id("e@example.com")
    incident = client.create_incident(
        title="Checkout is down", service_id="PSVC001", from_email="a@example.com",
        incident_key="checkout-down",
    )  # fmt: skip
    assert incident.status == "triggered"
    assert pd.incidents[0]["assignments"][0]["assignee"]["id"] == on.user_id


# -- the fake renders final_schedule as PagerDuty does

LONDON = "Europe/London"


def _fake_schedule(*layers, overrides=()):
    sched = FakeSchedule("PS", "S", LONDON)
    for n, (start, end, users, turn, *virtual) in enumerate(layers):
        rvs = virtual[0] if virtual else start
        sched.layers.append(FakeLayer(f"L{n}", "", start, rvs, turn, list(users), end))
    for n, (start, end, user) in enumerate(overrides):
        sched.overrides.append(FakeOverride(f"Q{n}", start, end, user, n))
    return sched


MON = utc(2027, 3, 15, 9)  # 09:00 GMT; London moves to BST on Sun 28 Mar


@pytest.mark.parametrize(
    ("name", "sched", "since", "until", "expected"),
    [
        ("weekly turns stay at 09:00 local across DST",
         _fake_schedule((MON, None, "xy", 604800)), MON, utc(2027, 4, 5, 8),
         [(MON, utc(2027, 3, 22, 9), "x"), (utc(2027, 3, 22, 9), utc(2027, 3, 29, 8), "y"),
          (utc(2027, 3, 29, 8), utc(2027, 4, 5, 8), "x")]),
        ("a later layer wins over an earlier one, within its own start and end",
         _fake_schedule((MON, None, "x", 604800), (utc(2027, 3, 16), utc(2027, 3, 17), "y", 3600)),
         MON, utc(2027, 3, 18),
         [(MON, utc(2027, 3, 16), "x"), (utc(2027, 3, 16), utc(2027, 3, 17), "y"),
          (utc(2027, 3, 17), utc(2027, 3, 18), "x")]),
        ("an override wins over every layer; the later of two overlapping wins",
         _fake_schedule((MON, None, "x", 604800), (MON, None, "y", 604800),
                        overrides=[(utc(2027, 3, 16), utc(2027, 3, 18), "o"),
                                   (utc(2027, 3, 17), utc(2027, 3, 19), "p")]),
         MON, utc(2027, 3, 20),
         [(MON, utc(2027, 3, 16), "y"), (utc(2027, 3, 16), utc(2027, 3, 17), "o"),
          (utc(2027, 3, 17), utc(2027, 3, 19), "p"), (utc(2027, 3, 19), utc(2027, 3, 20), "y")]),
        ("nothing before a layer starts or after it ends",
         _fake_schedule((MON, utc(2027, 3, 16), "x", 604800)), utc(2027, 3, 14), utc(2027, 3, 17),
         [(MON, utc(2027, 3, 16), "x")]),
        ("turns count from the virtual start, not the layer start",
         _fake_schedule((MON, None, "xyz", 604800, utc(2027, 3, 1, 9))), MON, utc(2027, 3, 22, 9),
         [(MON, utc(2027, 3, 22, 9), "z")]),
    ],
)  # fmt: skip
def test_fake_final_schedule(name, sched, since, until, expected):
    assert render(sched, since, until) == expected, name
