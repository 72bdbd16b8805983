"""What flag_stale learned on its last run, kept in SQLite between runs: a cache, never the truth.

Each entry is looked up by a kind ("slack.thread", "slack.profile", ...) and a key that names
where it came from (a channel and a thread's ts, a user ID, a repository on one GitHub host), and
is used only where what the service says now shows it still holds (a thread's reply_count and
latest_reply, an issue's updated_at). A missing, unreadable, foreign or old file is an empty state:
it costs one full read and never changes what the digest says. What a run did not use is not
written back, so the file holds one run's worth and no more.
"""

from __future__ import annotations

import json
import os
import sqlite3
import sys
import types
import typing
from collections.abc import Callable, Iterator, Mapping
from dataclasses import fields
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")
Entries = dict[tuple[str, str], Any]  # (kind, key) -> a JSON value

JOB = "flag_stale"
SCHEMA = "1"  # bump when an entry's shape changes: an older file is then an empty state
# Entries older than this are not used: people's profiles (a name, an email) and deleted
# comments show in no listing, so once a day everything is read afresh (docs/flag_stale.md).
MAX_AGE = timedelta(hours=24)
DEFAULT_PATH = Path(".cache") / "support-hero" / "flag_stale.sqlite"  # beside rotation.yaml


class State:
    """The entries of the last run (read at open) and those of this run (written at save)."""

    def __init__(
        self, path: Path | None, now: datetime, old: Entries | None = None, why: str = ""
    ) -> None:
        self.path, self.now = path, now
        self._old: dict[tuple[str, str], Any] = old or {}
        self._new: dict[tuple[str, str], Any] = {}
        self.why_empty = why  # why nothing was carried over ("" when something was)
        self._warned = False

    @classmethod
    def empty(cls, now: datetime) -> State:
        """No state file at all (--state ''): nothing is read or written."""
        return cls(None, now, why="no state file")

    @classmethod
    def open(cls, path: Path, now: datetime) -> State:
        """The state saved at `path`; empty, with the reason, when it cannot be used."""
        old, why = _read(path, now)
        return cls(path, now, old, why)

    def get(self, kind: str, key: str) -> Any | None:
        return self._old.get((kind, key))

    def decoded(self, kind: str, key: str, decode: Callable[[Any], T]) -> T | None:
        """The last run's entry through `decode`; None, with one warning a run, when it does
        not decode (a damaged or foreign entry is a missing one)."""
        value = self.get(kind, key)
        if value is None:
            return None
        try:
            return decode(value)
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            if not self._warned:
                print(f"warning: the state file {self.path}: {kind} {key}: {exc}", file=sys.stderr)
                self._warned = True
            return None

    def put(self, kind: str, key: str, value: Any) -> None:
        """Keep `value` for the next run (JSON: strings, numbers, lists, mappings)."""
        self._new[(kind, key)] = value

    @property
    def carried(self) -> int:
        return len(self._old)

    def summary(self) -> str:
        """One line for the log: what this run had to start from, and what it leaves."""
        if self.path is None:
            return "state: none kept (--state '')"
        start = self.why_empty or f"{self.carried} entries of the last run"
        return f"state: {start}; {len(self._new)} kept for the next run in {self.path}"

    def save(self) -> None:
        """Write this run's entries: a new file moved over the old one, so a run cut off
        anywhere leaves the last complete state (or none). A failure is one warning line."""
        if self.path is None:
            return
        try:
            _write(self.path, self.now, self._new)
        except (OSError, sqlite3.Error) as exc:
            print(f"warning: the state file {self.path} was not saved: {exc}", file=sys.stderr)


def _read(path: Path, now: datetime) -> tuple[Entries, str]:
    if not path.is_file():
        return {}, "no state file yet"
    try:
        with _connect(path, read_only=True) as db:
            meta = dict(db.execute("SELECT key, value FROM meta"))
            if (meta.get("job"), meta.get("schema")) != (JOB, SCHEMA):
                return {}, "a state file of another job or version"
            saved = datetime.fromisoformat(meta["saved_at"])
            if not timedelta(0) <= now - saved <= MAX_AGE:
                return {}, f"a state file saved at {saved:%Y-%m-%d %H:%M} UTC, too old to use"
            rows = db.execute("SELECT kind, key, value FROM entries").fetchall()
        return {(kind, key): json.loads(value) for kind, key, value in rows}, ""
    except (sqlite3.Error, KeyError, TypeError, ValueError) as exc:  # corrupt, foreign, cut off
        print(f"warning: the state file {path} is unusable ({exc}): read afresh", file=sys.stderr)
        return {}, "an unusable state file"


def _write(path: Path, now: datetime, entries: dict[tuple[str, str], Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fresh = path.with_name(path.name + f".{os.getpid()}.new")
    fresh.unlink(missing_ok=True)
    try:
        with _connect(fresh) as db:
            db.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
            db.execute(
                "CREATE TABLE entries (kind TEXT, key TEXT, value TEXT NOT NULL,"
                " PRIMARY KEY (kind, key))"
            )
            meta = {"job": JOB, "schema": SCHEMA, "saved_at": now.isoformat()}
            db.executemany("INSERT INTO meta VALUES (?, ?)", meta.items())
            db.executemany("INSERT INTO entries VALUES (?, ?, ?)", _rows(entries))
        os.replace(fresh, path)
    finally:
        fresh.unlink(missing_ok=True)


def _rows(entries: dict[tuple[str, str], Any]) -> Iterator[tuple[str, str, str]]:
    for (kind, key), value in sorted(entries.items()):
        yield kind, key, json.dumps(value, separators=(",", ":"), sort_keys=True)


# --- dataclasses as entries ---------------------------------------------------------------------


def record(item: Any, leave_out: tuple[str, ...] = ()) -> dict[str, Any]:
    """A dataclass as a JSON object, without the fields in `leave_out` (text nobody needs)."""
    out = {}
    for f in fields(item):
        if f.name not in leave_out:
            value = getattr(item, f.name)
            if isinstance(value, datetime):
                value = value.isoformat()
            out[f.name] = list(value) if isinstance(value, tuple) else value
    return out


def restore(cls: type[T], raw: Any, **given: Any) -> T:
    """The dataclass a record() was made of, each field checked against its type; `given`:
    the fields left out. ValueError for anything else (a damaged or foreign entry)."""
    if not isinstance(raw, Mapping):
        raise ValueError(f"not a {cls.__name__}")
    hints = typing.get_type_hints(cls)
    unknown = set(raw) - set(hints) | set(raw) & set(given)
    if unknown:
        raise ValueError(f"not a {cls.__name__}: {sorted(unknown)}")
    values = {name: _typed(hints[name], value) for name, value in raw.items()}
    return cls(**values, **given)


def _typed(hint: Any, value: Any) -> Any:
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if hint is Any:
        return value
    if origin in (typing.Union, types.UnionType):
        for option in args:
            try:
                return _typed(option, value)
            except ValueError:
                continue
        raise ValueError(f"{value!r} is not {hint}")
    if origin is tuple and isinstance(value, list | tuple):
        return tuple(_typed(args[0], v) for v in value)
    if origin in (Mapping, dict) and isinstance(value, dict):
        return value
    if hint is datetime and isinstance(value, str):
        if (instant := datetime.fromisoformat(value)).tzinfo is None:
            raise ValueError(f"{value!r} has no offset")
        return instant
    if hint is type(None) and value is None:
        return None
    if hint in (str, bool) and type(value) is hint:
        return value
    if hint is int and type(value) is int:
        return value
    raise ValueError(f"{value!r} is not {hint}")


class _connect:
    """A connection closed on leaving the block (sqlite3's own context manager only commits)."""

    def __init__(self, path: Path, read_only: bool = False):
        uri = f"{path.resolve().as_uri()}?mode=ro" if read_only else str(path)
        self.db = sqlite3.connect(uri, uri=read_only, timeout=5)

    def __enter__(self) -> sqlite3.Connection:
        return self.db

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc_type is None:
            self.db.commit()
        self.db.close()
