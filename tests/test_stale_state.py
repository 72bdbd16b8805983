"""flag_stale's state file: kept between runs, and any file it cannot trust is an empty state."""

import json
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from scripts.sources.state import MAX_AGE, State, record, restore
from tests.stale_world import CORRUPT_STATE

NOW = datetime(2026, 12, 2, 15, 0, tzinfo=UTC)


def saved(path, now=NOW, **entries) -> None:
    state = State.open(path, now)
    for key, value in entries.items():
        state.put("kind", key, value)
    state.save()


def test_what_a_run_put_the_next_run_gets(tmp_path):
    path = tmp_path / "deep" / "state.sqlite"  # its folders are made
    saved(path, a={"stamp": [2, "1.5"], "messages": [{"ts": "1.5"}]}, b=[1, "x"])
    state = State.open(path, NOW + timedelta(minutes=20))
    assert (state.get("kind", "a"), state.get("kind", "b")) == (
        {"stamp": [2, "1.5"], "messages": [{"ts": "1.5"}]},
        [1, "x"],
    )
    assert (state.get("kind", "c"), state.get("other", "a"), state.why_empty) == (None, None, "")


def test_only_what_this_run_used_is_written_back(tmp_path):
    path = tmp_path / "state.sqlite"
    saved(path, a=1, b=2)
    state = State.open(path, NOW)
    state.put("kind", "a", state.get("kind", "a"))  # b: not used this run
    state.put("kind", "c", 3)
    state.save()
    again = State.open(path, NOW)
    assert [again.get("kind", k) for k in "abc"] == [1, None, 3]
    assert again.carried == 2


@pytest.mark.parametrize(
    ("case", "spoil", "why"),
    [
        ("missing", lambda p: p.unlink(), "no state file yet"),
        ("not SQLite", lambda p: p.write_bytes(b"hello"), "an unusable state file"),
        ("corrupted", lambda p: p.write_bytes(CORRUPT_STATE), "an unusable state file"),
        ("cut off", lambda p: p.write_bytes(p.read_bytes()[:600]), "an unusable state file"),
        ("empty", lambda p: p.write_bytes(b""), "an unusable state file"),
        ("a directory", lambda p: (p.unlink(), p.mkdir()), "no state file yet"),
    ],
)
def test_a_file_it_cannot_read_is_an_empty_state(tmp_path, capsys, case, spoil, why):
    path = tmp_path / "state.sqlite"
    saved(path, a=1)
    spoil(path)
    state = State.open(path, NOW)
    assert (state.get("kind", "a"), state.carried, state.why_empty) == (None, 0, why)
    if why == "an unusable state file":
        assert f"the state file {path} is unusable" in capsys.readouterr().err


def foreign(path, job="other_job", schema="1") -> None:
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT)")
        db.execute("CREATE TABLE entries (kind TEXT, key TEXT, value TEXT)")
        meta = {"job": job, "schema": schema, "saved_at": NOW.isoformat()}
        db.executemany("INSERT INTO meta VALUES (?, ?)", meta.items())
        db.execute("INSERT INTO entries VALUES ('kind', 'a', '1')")


@pytest.mark.parametrize(
    ("case", "make", "why"),
    [
        ("another job's", lambda p: foreign(p), "a state file of another job or version"),
        ("an older version", lambda p: foreign(p, "flag_stale", "0"), "another job or version"),
        ("other tables", lambda p: sqlite3.connect(p).execute("CREATE TABLE t (x)"), "unusable"),
    ],
)
def test_a_foreign_file_is_an_empty_state(tmp_path, case, make, why):
    path = tmp_path / "state.sqlite"
    make(path)
    state = State.open(path, NOW)
    assert state.get("kind", "a") is None
    assert why in state.why_empty


@pytest.mark.parametrize(
    ("saved_at", "usable"),
    [
        (NOW - MAX_AGE, True),
        (NOW - MAX_AGE - timedelta(seconds=1), False),  # a day old: read afresh
        (NOW + timedelta(seconds=1), False),  # saved "later" than now (--now in the past)
    ],
)
def test_an_old_state_is_not_used(tmp_path, saved_at, usable):
    path = tmp_path / "state.sqlite"
    saved(path, now=saved_at, a=1)
    assert (State.open(path, NOW).get("kind", "a") == 1) is usable


def test_a_state_that_cannot_be_saved_is_a_warning(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    state = State.open(blocker / "state.sqlite", NOW)
    state.put("kind", "a", 1)
    state.save()  # no exception: the run's work is done, only the next run pays
    assert "was not saved" in capsys.readouterr().err


def test_a_run_cut_off_before_saving_leaves_the_last_state(tmp_path):
    path = tmp_path / "state.sqlite"
    saved(path, a=1)
    cut = State.open(path, NOW)
    cut.put("kind", "a", 2)  # never saved: the process died
    assert State.open(path, NOW).get("kind", "a") == 1
    assert [p.name for p in tmp_path.iterdir()] == ["state.sqlite"]  # no half-written file


def test_no_state_reads_and_writes_nothing(tmp_path):
    state = State.empty(NOW)
    state.put("kind", "a", 1)
    state.save()
    assert (state.get("kind", "a"), list(tmp_path.iterdir())) == (None, [])


# --- entries: dataclasses checked field by field on the way back ------------------------------


@dataclass(frozen=True)
class Sample:
    name: str
    at: datetime
    count: int = 0
    note: str | None = None
    tags: tuple[str, ...] = ()
    is_bot: bool = False


def test_a_record_comes_back_as_it_was():
    item = Sample("x", NOW, 3, None, ("a", "b"), True)
    assert restore(Sample, json.loads(json.dumps(record(item)))) == item
    assert restore(Sample, record(item, ("note",)), note="given") == Sample(
        "x", NOW, 3, "given", ("a", "b"), True
    )


@pytest.mark.parametrize(
    "raw",
    [
        [],  # not an object
        {"name": "x"},  # a field missing
        {"name": "x", "at": NOW.isoformat(), "size": 1},  # a field it does not have
        {"name": 1, "at": NOW.isoformat()},
        {"name": "x", "at": "2026-12-02T15:00:00"},  # no offset: not comparable with ours
        {"name": "x", "at": "yesterday"},
        {"name": "x", "at": NOW.isoformat(), "count": True},  # a bool is not a count
        {"name": "x", "at": NOW.isoformat(), "tags": "ab"},
        {"name": "x", "at": NOW.isoformat(), "tags": [1]},
        {"name": "x", "at": NOW.isoformat(), "is_bot": 1},
    ],
)
def test_anything_else_is_refused(raw):
    with pytest.raises((ValueError, TypeError)):
        restore(Sample, raw)


def test_a_damaged_entry_is_a_missing_one_with_one_warning(tmp_path, capsys):
    path = tmp_path / "state.sqlite"
    saved(path, a=[1], b={"name": 2})
    state = State.open(path, NOW)
    decode = lambda v: restore(Sample, v)  # noqa: E731
    assert (state.decoded("kind", "a", decode), state.decoded("kind", "b", decode)) == (None, None)
    assert capsys.readouterr().err.count("warning") == 1


def test_the_log_line_says_where_a_run_started_from(tmp_path):
    path = tmp_path / "state.sqlite"
    first = State.open(path, NOW)
    first.put("kind", "a", 1)
    assert first.summary() == f"state: no state file yet; 1 kept for the next run in {path}"
    first.save()
    assert State.open(path, NOW).summary().startswith("state: 1 entries of the last run; 0 kept")
    assert State.empty(NOW).summary() == "state: none kept (--state '')"
