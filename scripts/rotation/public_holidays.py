"""Public holidays of the country a person works in (the `holidays` package), and the shifts of
theirs that hold one: check_rotation's warnings, the fairness count and swap suggestions."""

from __future__ import annotations

import functools
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import holidays

from scripts.rotation.model import Person, Rotation
from scripts.rotation.problems import suggest
from scripts.rotation.schedule import Shift


def split(country: str) -> tuple[str, str | None]:
    """ "GB-ENG" -> ("GB", "ENG"); "DE" -> ("DE", None)."""
    code, _, subdivision = country.partition("-")
    return code, subdivision or None


@functools.cache
def _supported() -> dict[str, list[str]]:
    return {k: list(v) for k, v in holidays.list_supported_countries().items() if len(k) == 2}


def unknown(country: str) -> str | None:
    """Why `country` gives no holidays (with a suggestion), or None when it does."""
    code, subdivision = split(country)
    supported = _supported()
    if code not in supported:
        return f"'{code}' is not a country the holidays package knows{suggest(code, supported)}"
    if subdivision and subdivision not in supported[code]:
        return (
            f"'{subdivision}' is not a subdivision of {code}"
            f"{suggest(subdivision, supported[code])} (or leave it out: {code})"
        )
    return None


@functools.cache
def _days(country: str, year: int) -> dict[date, str]:
    code, subdivision = split(country)
    return dict(holidays.country_holidays(code, subdiv=subdivision, years=year).items())


def days(person: Person, first: date, last: date) -> dict[date, str]:
    """The person's public holidays from `first` to `last` (inclusive); none without a country."""
    if not person.country:
        return {}
    found: dict[date, str] = {}
    for year in range(first.year, last.year + 1):
        found |= {d: n for d, n in _days(person.country, year).items() if first <= d <= last}
    return found


def held(rot: Rotation, person: Person, start: datetime, end: datetime) -> list[tuple[date, str]]:
    """(day, name) of each of the person's public holidays that [start, end) overlaps, the
    holiday taken as the whole day where they are (their timezone, else the rotation's)."""
    zone = ZoneInfo(person.timezone or rot.timezone)
    first, last = start.astimezone(zone).date(), end.astimezone(zone).date()
    found = []
    for day, name in sorted(days(person, first, last).items()):
        begins = datetime.combine(day, time(0), tzinfo=zone)
        ends = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone)  # 23 or 25 h too
        if begins < end and ends > start:
            found.append((day, name))
    return found


def held_by_shift(rot: Rotation, shift: Shift) -> list[tuple[date, str]]:
    return held(rot, rot.people[shift.person], shift.start, shift.end)
