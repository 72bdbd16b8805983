"""Swap requests: who could take a shift (table-driven on small rotations), request_swap's
answers and refusals, public holidays in rotation.yaml and in check_rotation's warnings."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import pytest

from fakes.world import World
from scripts import check_rotation, request_swap, request_time_off
from scripts.rotation import fairness, public_holidays, schedule
from scripts.rotation import load as rotation
from scripts.rotation.model import HERO
from scripts.rotation.problems import ConfigError
from scripts.swaps import candidates as cands
from scripts.swaps import edit, report
from tests import rotations
from tests.processes import ROOT

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)  # a Wednesday; the hero weeks start 30 Nov
EXAMPLE_NOW = "2026-12-14T05:30:00Z"


def with_country(text: str, person: str, country: str) -> str:
    old = f"{person}: {{name: {person.upper()}, email: {person}@example.com, team: core}}"
    new = old[:-1] + f", country: {country}}}"
    assert old in text
    return text.replace(old, new)


def load(text: str):
    return rotation.load("rotation.yaml", text=text)[0]


# Hero a, b, c, d from 30 Nov 2026, no team secondaries: every other person could take a's week
# of 14 Dec, giving back their nearest own week; the order is fewest hero weeks, then nearest.
@pytest.mark.parametrize(
    ("name", "text", "asker", "day", "can", "cannot"),
    [
        ("everyone free, nearest return first", rotations.text(people="abcd", hero="abcd"),
         "c", date(2026, 12, 14), ["b", "d", "a"], {}),
        ("time off in the span", rotations.text(people="abcd", hero="abcd",
         time_off="  - {person: b, from: 2026-12-15, to: 2026-12-16}\n"),
         "c", date(2026, 12, 14), ["d", "a"], {"b": "b is on time off 2026-12-15..2026-12-16"}),
        ("a public holiday of theirs", with_country(rotations.text(people="abcd", hero="abcd"),
         "b", "GB-ENG"), "d", date(2026, 12, 21), ["a", "c"],
         {"b": "Fri 25 Dec is Christmas Day, a public holiday for b (GB-ENG)"}),
        ("the asker off in the return week", rotations.text(people="abcd", hero="abcd",
         time_off="  - {person: c, from: 2026-12-22, to: 2026-12-22}\n"),
         "c", date(2026, 12, 14), ["b", "a"],
         {"d": "d would be on Support Hero right after"}),  # d's 21 Dec: 18 Jan, then 2 in a row
    ],
)  # fmt: skip
def test_candidates(name, text, asker, day, can, cannot):
    rot = load(text)
    span = cands.span_of(rot, HERO, day, False)
    assert cands.base_person(rot, span) == asker, name
    found = cands.candidates(rot, asker, span, NOW)
    assert [c.person for c in found if c.can] == can, name
    reasons = {c.person: "; ".join(c.reasons) for c in found if not c.can}
    for who, why in cannot.items():
        assert why in reasons[who], (name, reasons)


def test_a_return_the_asker_cannot_take_moves_to_the_next_one():
    rot = load(rotations.text(people="abcd", hero="abcd",
               time_off="  - {person: c, from: 2026-12-29, to: 2026-12-29}\n"))  # fmt: skip
    span = cands.span_of(rot, HERO, date(2026, 12, 14), False)
    (a,) = cands.candidates(rot, "c", span, NOW, only="a")
    # a's nearest own week not started is 28 Dec, when c is off: the next, 25 Jan, is given back
    assert a.can and a.give_back.day == date(2027, 1, 25)


OFF_15_DEC = "  - {person: a, from: 2026-12-15, to: 2026-12-15}\n"


def test_with_a_partner_every_reason_is_said():
    text = rotations.text(people="abcd", hero="abcd", team_of={"a": "ops", "b": "ops"},
                          teams={"ops": ("ab", "2026-11-30", "b")},
                          time_off=OFF_15_DEC)  # fmt: skip
    rot = load(text)
    span = cands.span_of(rot, HERO, date(2026, 12, 14), False)  # c's week; ops has b, then a
    (a,) = cands.candidates(rot, "c", span, NOW, only="a")
    assert not a.can and a.reasons == (
        "a is on time off 2026-12-15..2026-12-15",
        "a would be on Ops secondary right after",
    )


def test_the_entry_it_proposes_passes_check_rotation_and_moves_just_those_shifts(tmp_path):
    rot = load(rotations.text(people="abcd", hero="abcd"))
    span = cands.span_of(rot, HERO, date(2026, 12, 14), False)
    best = cands.candidates(rot, "c", span, NOW)[0]
    swapped = cands.with_swap(rot, "c", best.person, span, best.give_back)
    assert schedule.on_call(swapped, HERO, span.start).person == best.person
    assert schedule.on_call(swapped, HERO, best.give_back.start).person == "c"
    config = tmp_path / "rotation.yaml"
    entry = report.entry("c", best, span, 'Away: a conference, "quoted"')
    config.write_text(edit.add_entry(rotations.text(people="abcd", hero="abcd"), "swaps", entry))
    assert check_rotation.main(["--config", str(config), "--now", NOW.isoformat()]) == 0
    (swap,) = load(config.read_text()).swaps
    assert swap.people == ("c", best.person) and swap.reason == 'Away: a conference, "quoted"'


# --- the job ---------------------------------------------------------------------------------


def run(capsys, *argv: str) -> tuple[int, str, str]:
    try:
        code = request_swap.main(["--now", EXAMPLE_NOW, *argv])
    except SystemExit as exc:  # argparse's own errors
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def test_request_swap_on_the_example(capsys):
    code, out, _ = run(capsys, "--person", "judy", "--date", "2027-01-06")
    assert code == 0
    assert "judy's Support Hero, week of Mon 04 Jan 2027" in out
    assert "1. heidi: judy covers their Support Hero, week of Mon 15 Feb 2027 in return" in out
    assert "grace: grace is on time off 2027-01-04..2027-01-08" in out
    assert "  - people: [judy, heidi]\n    dates: [2027-01-04, 2027-02-15]" in out
    code, out, _ = run(capsys, "--person", "judy", "--date", "2027-01-06", "--format", "json")
    doc = json.loads(out)
    assert code == 0 and doc["candidates"][0]["person"] == "heidi"
    assert [c["action"] for c in doc["changes"]] == ["open"]  # the pull request, with --apply


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["--person", "jduy", "--date", "2027-01-06"],
         "--person 'jduy' is not a person (did you mean 'judy'?)"),
        (["--person", "alice", "--date", "2027-01-06"],
         "alice is not on Support Hero, week of Mon 04 Jan 2027 (judy is, before swaps); their "
         "nearest is the week of 2027-01-11"),
        (["--person", "heidi", "--date", "2026-12-08"], "has started: a swap cannot change"),
        (["--person", "judy", "--date", "2026-12-23", "--with", "dave", "--schedule", "platform"],
         "--with dave is not on the platform rotation"),
        (["--person", "judy", "--date", "2027-01-06", "--schedule", "platfrom"],
         "'platfrom' is not a schedule (did you mean 'platform'?)"),
        (["--person", "judy", "--date", "6 Jan"], "not a date: '6 Jan'"),
        (["--person", "judy", "--date", "9999-12-31"], "is outside the years 1970 to 2999"),
        # rotation.yaml (or a merged request) already gives it away: a second entry would fight it
        (["--person", "frank", "--date", "2026-12-22"],
         "dave already holds Support Hero, week of Mon 21 Dec 2026 from Mon 21 Dec by the swap at "
         "rotation.yaml:97: change that entry instead"),
        (["--person", "carol", "--date", "2026-12-14"], "erin already holds Support Hero, week of "
         "Mon 14 Dec 2026 from Wed 16 Dec by the swap at rotation.yaml:101"),
    ],
)  # fmt: skip
def test_bad_requests_exit_2_with_the_reason(capsys, argv, says):
    code, _, err = run(capsys, *argv)
    assert code == 2 and says in err, err
    assert "Traceback" not in err


# --- public holidays ---------------------------------------------------------------------------


def test_a_country_the_holidays_package_does_not_know_is_an_error_at_its_line():
    text = with_country(rotations.text(people="abc", hero="abc"), "b", "GB-ENX")
    with pytest.raises(ConfigError) as caught:
        load(text)
    (problem,) = caught.value.problems
    assert problem.path == "people.b.country" and "did you mean 'ENG'?" in problem.message
    assert problem.line == 5


def test_holidays_count_where_the_person_is():
    rot = load(with_country(rotations.text(people="abc", hero="abc"), "b", "US-CA"))
    b = rot.people["b"]
    start = datetime(2026, 12, 21, 9, tzinfo=UTC)
    assert public_holidays.held(rot, b, start, start.replace(day=28)) == [
        (date(2026, 12, 25), "Christmas Day")
    ]
    assert public_holidays.held(rot, rot.people["a"], start, start.replace(day=28)) == []


def test_check_rotation_warns_of_a_holiday_on_call_naming_the_swap(tmp_path, capsys):
    config = tmp_path / "rotation.yaml"
    config.write_text(with_country(rotations.text(people="abcd", hero="abcd"), "d", "GB-ENG"))
    assert check_rotation.main(["--config", str(config), "--now", NOW.isoformat()]) == 0
    err = "".join(capsys.readouterr())  # the warnings: in the text report, and annotations
    assert "d holds Support Hero on Fri 25 Dec 2026, Christmas Day (GB-ENG); a one-day swap " in err
    assert "python -m scripts.request_swap --person d --date 2026-12-25 --days" in err
    assert "Boxing Day" in err  # 26 Dec, in the same week


# --- the edit keeps every other byte -----------------------------------------------------------

NEW = {"people": ["c", "d"], "days": ["2027-02-01", "2027-02-08"], "reason": "no: a quote"}


@pytest.mark.parametrize(
    ("before", "after"),
    [
        ("a: 1  # note\n", "a: 1  # note\n\nswaps:\n  - people: [c, d]\n    days: [2027-02-01, "
         "2027-02-08]\n    reason: \"no: a quote\"\n"),
        ("a: 1\nswaps: []\nb: 2\n",
         "a: 1\nswaps: [{people: [c, d], days: [2027-02-01, 2027-02-08], reason: \"no: a quote\"}]"
         "\nb: 2\n"),
        ("swaps:\n# none yet\nb: 2\n",
         "swaps:\n  - people: [c, d]\n    days: [2027-02-01, 2027-02-08]\n    reason: \"no: a "
         "quote\"\n# none yet\nb: 2\n"),
        ("swaps:\n- people: [a, b]   # aligned\n  dates: [2027-01-04, 2027-01-11]\n  # said\n\n"
         "b: 2",
         "swaps:\n- people: [a, b]   # aligned\n  dates: [2027-01-04, 2027-01-11]\n- people: [c, d]"
         "\n  days: [2027-02-01, 2027-02-08]\n  reason: \"no: a quote\"\n  # said\n\nb: 2"),
        ("time_off: []\nswaps:\n    -   {people: [a, b], dates: [2027-01-04, 2027-01-11]}\n",
         "time_off: []\nswaps:\n    -   {people: [a, b], dates: [2027-01-04, 2027-01-11]}\n    - "
         "{people: [c, d], days: [2027-02-01, 2027-02-08], reason: \"no: a quote\"}\n"),
    ],
)  # fmt: skip
def test_an_entry_is_added_and_nothing_else_changes(before, after):
    assert edit.add_entry(before, "swaps", NEW) == after


def test_the_example_gains_only_the_entry():
    text = (ROOT / "rotation.yaml").read_text(encoding="utf-8")
    erin = {"person": "erin", "from": "2027-03-01", "to": "2027-03-05"}
    new = edit.add_entry(text, "time_off", erin)
    added = [line for line in new.splitlines() if line not in text.splitlines()]
    assert added == ["  - {person: erin, from: 2027-03-01, to: 2027-03-05}"]
    assert new.replace(added[0] + "\n", "", 1) == text


@pytest.mark.parametrize("text", ["swaps: 5\n", "- a list\n", "a: [unclosed\n"])
def test_a_file_it_cannot_edit_safely_is_refused(text):
    with pytest.raises(edit.EditError):
        edit.add_entry(text, "swaps", NEW)


# --- --apply: the pull request, against the GitHub fake ------------------------------------------

REPO = "kestrel-example/support"


@pytest.fixture
def gh(github_fake, monkeypatch, tmp_path):
    """The example rotation.yaml on the fake's main branch, and the job pointed at the fake."""
    github_fake.add_repo(REPO)
    github_fake.add_file(REPO, "rotation.yaml", (ROOT / "rotation.yaml").read_bytes())
    World(github=github_fake).point(monkeypatch)
    monkeypatch.setenv("GITHUB_REPOSITORY", REPO)
    monkeypatch.delenv("GITHUB_REF_NAME", raising=False)
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    monkeypatch.chdir(ROOT)  # --config rotation.yaml: its path in the repository too
    return github_fake


def test_apply_opens_one_pull_request_whose_file_passes_the_check(gh, capsys, tmp_path):
    code, out, err = run(capsys, "--person", "judy", "--date", "2027-01-06", "--reason",
                         "Family wedding", "--apply")  # fmt: skip
    assert code == 0, err
    (pull,) = gh.pulls(REPO)
    branch = "support-hero/swap-support-hero-judy-week-2027-01-04"
    assert (pull["head"], pull["base"], pull["state"]) == (branch, "main", "open")
    assert f"Pull request: https://github.com/{REPO}/pull/{pull['number']}" in out
    body = gh.issue(REPO, pull["number"]).body
    assert "Judy Jackson asks to swap their Support Hero, week of Mon 04 Jan 2027" in body
    assert "Reason: Family wedding" in body and "| Schedule | From | Until |" in body
    new = gh.file(REPO, "rotation.yaml", branch).decode()
    old = (ROOT / "rotation.yaml").read_text()
    added = [line for line in new.splitlines() if line not in old.splitlines()]
    assert added == ["  - people: [judy, heidi]", "    dates: [2027-01-04, 2027-02-15]",
                     "    reason: \"Family wedding\""]  # fmt: skip
    assert gh.file(REPO, "rotation.yaml", "main") == old.encode()  # main untouched
    edited = tmp_path / "rotation.yaml"
    edited.write_text(new)
    assert check_rotation.main(["--config", str(edited), "--now", EXAMPLE_NOW]) == 0

    capsys.readouterr()
    gh.reset_counts()
    code, out, _ = run(capsys, "--person", "judy", "--date", "2027-01-06", "--apply")
    assert code == 0 and f"open already: https://github.com/{REPO}/pull/{pull['number']}" in out
    assert len(gh.pulls(REPO)) == 1 and gh.writes() == 0


def test_a_run_cut_off_after_the_branch_is_finished_by_the_next(gh, capsys):
    """The branch and the file exist (a run stopped there): no second branch, one PR."""
    branch = "support-hero/swap-support-hero-judy-week-2027-01-04"
    assert run(capsys, "--person", "judy", "--date", "2027-01-06", "--apply")[0] == 0
    (pull,) = gh.pulls(REPO)
    repo = gh.repos[REPO.lower()]
    del repo.pulls[pull["number"]]  # as if the POST never happened
    gh.reset_counts()
    assert run(capsys, "--person", "judy", "--date", "2027-01-06", "--apply")[0] == 0
    assert [p["head"] for p in gh.pulls(REPO)] == [branch]
    assert gh.count("POST", "/repos/*/*/git/refs") == 0  # the branch was there
    assert gh.count("PUT", "/repos/*/*/contents/*") == 0  # and its file already right


def test_apply_needs_a_token_and_writes_nothing_without(gh, capsys, monkeypatch):
    monkeypatch.delenv("GITHUB_TOKEN")
    code, _, err = run(capsys, "--person", "judy", "--date", "2027-01-06", "--apply")
    assert code == 2 and "--apply needs GITHUB_TOKEN" in err and gh.writes() == 0


# --- request_time_off ----------------------------------------------------------------------------


def time_off(capsys, *argv: str) -> tuple[int, str, str]:
    try:
        code = request_time_off.main(["--now", EXAMPLE_NOW, *argv])
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def test_time_off_opens_one_pull_request_with_the_time_off_and_its_swaps(gh, capsys, tmp_path):
    code, out, err = time_off(capsys, "--person", "heidi", "--from", "2027-02-16", "--to",
                              "2027-02-17", "--reason", "a course", "--apply")  # fmt: skip
    assert code == 0, err
    assert "Support Hero, week of Mon 15 Feb 2027: judy takes it; heidi covers their" in out
    (pull,) = gh.pulls(REPO)
    assert pull["head"] == "support-hero/time-off-heidi-2027-02-16"
    new = gh.file(REPO, "rotation.yaml", pull["head"]).decode()
    edited = tmp_path / "rotation.yaml"
    edited.write_text(new)
    assert check_rotation.main(["--config", str(edited), "--now", EXAMPLE_NOW]) == 0
    rot = load(new)
    assert rot.time_off[-1].person == "heidi" and rot.swaps[-1].people == ("heidi", "judy")
    hero = schedule.on_call(rot, HERO, datetime(2027, 2, 16, 12, tzinfo=UTC))
    assert hero.person == "judy"  # heidi is off: someone else holds her week
    assert time_off(capsys, "--person", "heidi", "--from", "2027-02-16", "--to", "2027-02-17",
                    "--apply")[0] == 0 and len(gh.pulls(REPO)) == 1  # fmt: skip


def test_a_shift_nobody_can_take_is_said_and_the_rest_still_proposed(capsys, tmp_path):
    config = tmp_path / "rotation.yaml"
    config.write_text(rotations.text(people="abcdefg", hero="abcdf", hero_is_team_secondary=False,
                                     team_of={p: "ops" for p in "aeg"},
                                     teams={"ops": ("aeg", "2026-11-30", "a")}))  # fmt: skip
    code, out, _ = time_off(capsys, "--config", str(config), "--person", "a", "--from",
                            "2027-01-11", "--to", "2027-01-15")  # fmt: skip
    assert code == 0
    # the hero week of 4 Jan ends on the 11th at 09:00, inside the time off
    assert "Support Hero, week of Mon 04 Jan 2027: nobody on the rotation can take it" in out
    assert "Ops secondary, week of Mon 11 Jan 2027: e takes it" in out
    assert "swaps:\n  - people: [a, e]\n    dates: [2027-01-11," in out


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["--person", "hedi", "--from", "2027-02-16", "--to", "2027-02-17"],
         "--person 'hedi' is not a person (did you mean 'heidi'?)"),
        (["--person", "heidi", "--from", "2027-02-17", "--to", "2027-02-16"], "is before --from"),
        (["--person", "heidi", "--from", "2026-12-01", "--to", "2026-12-20"],
         "has begun or is past"),
    ],
)  # fmt: skip
def test_bad_time_off_requests_exit_2(capsys, argv, says):
    code, _, err = time_off(capsys, *argv)
    assert code == 2 and says in err, err


@pytest.mark.parametrize(
    ("people", "counts", "warning"),
    [
        ("ab", {"a": 7, "b": 7}, None),
        ("abc", {"a": 5, "b": 6, "c": 3}, "b holds 6 of theirs, c 3"),
    ],
)
def test_the_fairness_warnings_count_public_holidays_on_call(people, counts, warning):
    """England's holidays over the 52 weeks from 30 Nov 2026, split by who is hero then."""
    text = rotations.text(people=people, hero=people)
    for person in people:
        text = with_country(text, person, "GB-ENG")
    rot = load(text)
    assert fairness.holidays_on_call(rot, NOW) == counts
    warned = [m for _, m in fairness.warnings(rot, NOW) if "public holidays" in m]
    assert warned == ([f"uneven public holidays on call over the next 52 weeks: {warning}; "
                       "`check_rotation --weeks 52` names a one-day swap for each"]
                      if warning else [])  # fmt: skip


def test_time_off_over_a_week_partly_swapped_says_so(capsys):
    code, out, _ = time_off(capsys, "--person", "carol", "--from", "2026-12-15", "--to",
                            "2026-12-15")  # fmt: skip
    assert code == 0
    assert ("Support Hero, week of Mon 14 Dec 2026: erin holds part of it by a swap (line 101): "
            "change that; it stays carol's") in out  # fmt: skip


WRITES = [("POST", "/repos/*/*/git/refs"), ("PUT", "/repos/*/*/contents/*"),
          ("POST", "/repos/*/*/pulls")]  # fmt: skip


def test_a_pull_request_closed_by_hand_is_opened_again_from_its_branch(gh, capsys):
    argv = ("--person", "judy", "--date", "2027-01-06", "--apply")
    assert run(capsys, *argv)[0] == 0
    # the first apply: branch, file, pull request; and the reads before each
    assert [gh.count(m, p) for m, p in WRITES] == [1, 1, 1]
    (first,) = gh.pulls(REPO)
    gh.close_pull(REPO, first["number"])
    gh.reset_counts()
    code, out, _ = run(capsys, *argv)
    assert code == 0 and "Pull request: " in out
    states = sorted((p["number"], p["state"]) for p in gh.pulls(REPO))
    assert states == [(first["number"], "closed"), (first["number"] + 1, "open")]
    assert [gh.count(m, p) for m, p in WRITES] == [0, 0, 1]  # the branch and its file were there
