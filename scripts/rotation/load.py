"""Load and validate rotation.yaml into a Rotation; every problem at once, each at file:line:col."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, time
from pathlib import Path
from typing import Any, cast
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

import jsonschema

from scripts.rotation import consistency, public_holidays
from scripts.rotation.model import (
    HERO,
    WEEKDAYS,
    Cycle,
    HeroRotation,
    Person,
    Rotation,
    Swap,
    Team,
    TimeOff,
)
from scripts.rotation.problems import ConfigError, Problem, suggest
from scripts.rotation.yaml_source import Path as YamlPath
from scripts.rotation.yaml_source import Source, parse, read_text

SCHEMA_PATH = Path(__file__).resolve().parents[2] / "rotation.schema.json"
Raw = dict[str, Any]  # a mapping of rotation.yaml as read (the schema checks its shape)
_CORE_KEYS = {"timezone", "handoff", "people", "teams", "support_hero", "swaps", "time_off"}


def load(path: str | Path, text: str | None = None) -> tuple[Rotation, list[Problem]]:
    """Load a rotation file with its warnings, or raise ConfigError with every error at once."""
    path = Path(path)
    if text is None:
        text, problems = read_text(path)
        if text is None:
            raise ConfigError(problems)
    src = parse(text, str(path))
    if src.data is not None and not isinstance(src.data, dict):
        src.add((), "the file must be a mapping of keys such as timezone, people, support_hero")
    elif src.data is None and not src.problems:
        src.add((), "the file is empty")
    if isinstance(src.data, dict):  # read, though perhaps with local problems (9:30, no)
        _check_all(src)
    if _errors(src):
        raise ConfigError(_errors(src))
    rot = _build(src)
    src.problems.extend(consistency.check(rot, src))
    if _errors(src):
        raise ConfigError(_errors(src))
    return rot, sorted(p for p in src.problems if p.severity != "error")


def _check_all(src: Source) -> None:
    """Shape, then meaning, so that every error shows at once: a problem found while reading
    (an unquoted 9:30) hides neither the file's other errors nor is said twice by the schema."""
    read = list(src.problems)
    flagged = {(p.line, p.column) for p in read}
    _check_schema(src)
    found = src.problems[len(read) :]
    src.problems[len(read) :] = [p for p in found if (p.line, p.column) not in flagged]
    if len(src.problems) > len(read):
        return  # meaning needs the shape
    try:
        _check_meaning(src)
    except (TypeError, ValueError, KeyError, AttributeError, IndexError):
        if not read:
            raise  # a valid shape never breaks the meaning checks: that is a bug
        # a value the reading already flagged (570 for 9:30) broke a check: that error stands


def _errors(src: Source) -> list[Problem]:
    return [p for p in src.problems if p.severity == "error"]


def _schema() -> Raw:
    return cast(Raw, json.loads(SCHEMA_PATH.read_text(encoding="utf-8")))


def _check_schema(src: Source) -> None:
    schema = _schema()
    validator = jsonschema.Draft202012Validator(schema)
    for error in validator.iter_errors(src.data):
        _schema_problem(src, error, schema)


def _schema_problem(src: Source, error: jsonschema.ValidationError, schema: Raw) -> None:
    path = tuple(error.absolute_path)
    kind = error.validator
    if "propertyNames" in error.schema_path:
        kind = "propertyNames"
    if kind == "additionalProperties":
        known = set(error.schema.get("properties", {}))
        for key in sorted(set(error.instance) - known):
            src.add(path + (key,), f"unknown key '{key}'{suggest(key, known)}", key=True)
    elif kind == "required":
        missing = error.message.split("'")[1]
        src.add(path, f"missing required key '{missing}'")
    elif kind == "oneOf" and path and path[0] == "swaps":
        given = [k for k in ("dates", "days") if k in error.instance]
        src.add(
            path,
            "a swap needs either `dates` (whole shifts) or `days` (single days), "
            + ("not both" if given else "and has neither"),
        )
    elif kind == "pattern":
        src.add(path, f"{error.instance!r} {_pattern_hint(error.schema['pattern'])}")
    elif kind == "enum":
        choices = [str(c) for c in error.validator_value]
        src.add(
            path,
            f"{error.instance!r} is not one of {', '.join(choices)}"
            f"{suggest(str(error.instance).lower(), choices)}",
        )
    elif kind == "type":
        src.add(path, f"expected {error.validator_value}, got {_json_type(error.instance)}")
    elif kind == "propertyNames":
        src.add(
            path + (error.instance,),
            f"{error.instance!r} is not a valid handle: use "
            f"lowercase letters, digits and '-' (e.g. '{error.instance.lower()}')",
            key=True,
        )
    else:
        src.add(path, error.message)


_PATTERN_HINTS = {
    "^[a-z0-9-]+$": "is not a valid handle: use lowercase letters, digits and '-'",
    "^[0-9]{4}-[0-9]{2}-[0-9]{2}$": "is not a date: write YYYY-MM-DD",
    "^([01]?[0-9]|2[0-3]):[0-5][0-9]$": 'is not a time: write "HH:MM", quoted',
}


def _pattern_hint(pattern: str) -> str:
    return _PATTERN_HINTS.get(pattern, f"does not match {pattern}")


def _json_type(value: object) -> str:
    return {
        dict: "a mapping",
        list: "a list",
        str: "a string",
        bool: "a boolean",
        type(None): "nothing",
    }.get(type(value), "a number")


# --- meaning beyond shape -----------------------------------------------------------------


def _data(src: Source) -> Raw:
    """The document, once it is known to be a mapping."""
    return cast(Raw, src.data)


def _check_meaning(src: Source) -> None:
    data = _data(src)
    zone = _check_zone(src, ("timezone",), data["timezone"])  # None when it is no zone
    before = len(src.problems)
    _check_date_fields(src)
    if len(src.problems) > before:  # a date that is none: the checks below compute with dates
        return
    people = data["people"]
    teams = data.get("teams", {})
    _check_people(src, people, teams)
    weekday = WEEKDAYS.index(data["handoff"]["day"])
    _check_cycle(src, ("support_hero",), data["support_hero"], people, weekday)
    for key, team in teams.items():
        if "secondary" in team:
            _check_cycle(src, ("teams", key, "secondary"), team["secondary"], people, weekday)
    _check_swaps(src, data, people, teams)
    _check_time_off(src, data, people)
    if zone and not _errors(src):
        _warn_heroes_without_secondary(src, data, people, teams)


def _check_zone(src: Source, path: YamlPath, name: str) -> ZoneInfo | None:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        src.add(path, f"'{name}' is not an IANA time zone{suggest(name, available_timezones())}")
        return None


# Dates in rotation.yaml and --now: far enough either way for any real rotation, and far enough
# inside Python's years 1-9999 that a horizon or a year of history around them stays inside it.
EARLIEST, LATEST = date(1970, 1, 1), date(2999, 12, 31)
YEARS = f"{EARLIEST.year} to {LATEST.year}"


def _check_date_fields(src: Source) -> None:
    for path, value in _walk(src.data):
        is_date = (path and path[-1] in ("week", "from", "to")) or (
            len(path) > 1 and path[-2] in ("dates", "days")
        )
        if is_date and isinstance(value, str) and len(value) == 10:
            try:
                day = date.fromisoformat(value)
            except ValueError:
                src.add(path, f"'{value}' is not a calendar date")
                continue
            if not EARLIEST <= day <= LATEST:  # shifts around it would leave Python's calendar
                src.add(path, f"{value} is outside the years this tool plans for ({YEARS})")


def _walk(value: object, path: YamlPath = ()) -> Iterator[tuple[YamlPath, object]]:
    yield path, value
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _walk(v, path + (k,))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _walk(v, path + (i,))


def _check_people(src: Source, people: Raw, teams: Raw) -> None:
    seen: dict[tuple[str, str], str] = {}
    for handle, person in people.items():
        if teams and person["team"] not in teams:
            src.add(
                ("people", handle, "team"),
                f"'{person['team']}' is not a team{suggest(person['team'], teams)}",
            )
        if "timezone" in person:
            _check_zone(src, ("people", handle, "timezone"), person["timezone"])
        if "country" in person and (why := public_holidays.unknown(person["country"])):
            src.add(("people", handle, "country"), why)
        for field in ("email", "slack", "github"):
            if field not in person:
                continue
            value = str(person[field]).lower()
            other = seen.get((field, value))
            if other:
                src.add(("people", handle, field), f"{field} {person[field]!r} is also {other}'s")
            seen[(field, value)] = handle


def _unknown_person(src: Source, path: YamlPath, handle: str, people: Raw) -> bool:
    if handle in people:
        return False
    src.add(path, f"'{handle}' is not a person{suggest(handle, people)}")
    return True


def _check_cycle(src: Source, path: YamlPath, cycle: Raw, people: Raw, weekday: int) -> None:
    order = cycle["order"]
    seen = set()
    for i, handle in enumerate(order):
        _unknown_person(src, path + ("order", i), handle, people)
        if handle in seen:
            src.add(path + ("order", i), f"'{handle}' appears twice in the order")
        seen.add(handle)
    first = cycle["since"]["first"]
    if first not in order:
        src.add(path + ("since", "first"), f"'{first}' is not in the order{suggest(first, order)}")
    week = date.fromisoformat(cycle["since"]["week"])
    if week.weekday() != weekday:
        before = week.toordinal() - (week.weekday() - weekday) % 7
        src.add(
            path + ("since", "week"),
            f"{week} is a {WEEKDAYS[week.weekday()]}, not a handoff "
            f"day ({WEEKDAYS[weekday]}): use {date.fromordinal(before)}",
        )


def _check_swaps(src: Source, data: Raw, people: Raw, teams: Raw) -> None:
    schedules = [HERO] + [k for k, t in teams.items() if "secondary" in t]
    for i, swap in enumerate(data.get("swaps", [])):
        path = ("swaps", i)
        for j, handle in enumerate(swap["people"]):
            _unknown_person(src, path + ("people", j), handle, people)
        if swap["people"][0] == swap["people"][1]:
            src.add(path + ("people",), "a swap needs two different people")
        schedule = swap.get("schedule", HERO)
        if schedule not in schedules:
            src.add(
                path + ("schedule",),
                f"'{schedule}' is not a schedule: use {HERO} or a team "
                f"with a secondary rotation{suggest(schedule, schedules)}",
            )


def _check_time_off(src: Source, data: Raw, people: Raw) -> None:
    for i, entry in enumerate(data.get("time_off", [])):
        _unknown_person(src, ("time_off", i, "person"), entry["person"], people)
        if entry["to"] < entry["from"]:
            src.add(
                ("time_off", i, "to"), f"ends ({entry['to']}) before it starts ({entry['from']})"
            )


def _warn_heroes_without_secondary(src: Source, data: Raw, people: Raw, teams: Raw) -> None:
    if not data["support_hero"].get("hero_is_team_secondary", True):
        return
    for i, handle in enumerate(data["support_hero"]["order"]):
        team = people[handle]["team"]
        if "secondary" not in teams.get(team, {}):
            src.add(
                ("support_hero", "order", i),
                f"{handle}'s team '{team}' has no secondary "
                "rotation, so their hero weeks cover no team secondary",
                severity="warning",
            )


# --- build the model -----------------------------------------------------------------------


def _line(src: Source, path: YamlPath) -> int:
    return src.where(path)[0]


def _cycle(src: Source, path: YamlPath, raw: Raw) -> Cycle:
    return Cycle(
        order=tuple(raw["order"]),
        since=date.fromisoformat(raw["since"]["week"]),
        first=raw["since"]["first"],
        line=_line(src, path + ("order",)),
        since_line=src.where(path + ("since",))[0],
        since_col=src.where(path + ("since",))[1],
    )


def _person(src: Source, handle: str, p: Raw) -> Person:
    return Person(handle, p["name"], p["email"], p["team"], p.get("github"), p.get("slack"),
                  p.get("timezone"), _line(src, ("people", handle)), p.get("country"))  # fmt: skip


def _team(src: Source, key: str, t: Raw) -> Team:
    secondary = (
        _cycle(src, ("teams", key, "secondary"), t["secondary"]) if "secondary" in t else None
    )
    return Team(key, t["name"], t.get("pagerduty_schedule"), secondary, _line(src, ("teams", key)))


def _swap(src: Source, i: int, s: Raw) -> Swap:
    first, second = (date.fromisoformat(d) for d in s.get("dates") or s["days"])  # two
    a, b = s["people"]
    return Swap((a, b), (first, second), "days" in s, s.get("schedule", HERO),
                s.get("reason", ""), _line(src, ("swaps", i)))  # fmt: skip


def _time_off(src: Source, i: int, t: Raw) -> TimeOff:
    return TimeOff(t["person"], date.fromisoformat(t["from"]), date.fromisoformat(t["to"]),
                   t.get("reason", ""), _line(src, ("time_off", i)))  # fmt: skip


def _build(src: Source) -> Rotation:
    data = _data(src)
    hh, mm = (int(x) for x in data["handoff"]["time"].split(":"))
    raw_hero = data["support_hero"]
    hero = HeroRotation(
        _cycle(src, ("support_hero",), raw_hero),
        raw_hero.get("pagerduty_schedule"),
        raw_hero.get("hero_is_team_secondary", True),
        _line(src, ("support_hero",)),
    )
    return Rotation(
        file=src.file,
        timezone=data["timezone"],
        handoff_weekday=WEEKDAYS.index(data["handoff"]["day"]),
        handoff_time=time(hh, mm),
        people={h: _person(src, h, p) for h, p in data["people"].items()},
        teams={k: _team(src, k, t) for k, t in data.get("teams", {}).items()},
        hero=hero,
        swaps=tuple(_swap(src, i, s) for i, s in enumerate(data.get("swaps", []))),
        time_off=tuple(_time_off(src, i, t) for i, t in enumerate(data.get("time_off", []))),
        settings={k: v for k, v in data.items() if k not in _CORE_KEYS},
        source=src,
    )
