"""The rotation as frozen dataclasses: what rotation.yaml means, independent of YAML."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, time
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

if TYPE_CHECKING:
    from scripts.rotation.yaml_source import Source

HERO = "support-hero"  # the schedule key of the Support Hero rotation; team keys name the others
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


@dataclass(frozen=True)
class Person:
    handle: str
    name: str
    email: str
    team: str
    github: str | None = None
    slack: str | None = None
    timezone: str | None = None
    line: int = 0
    country: str | None = None  # ISO 3166, maybe with a subdivision: "GB-ENG"


@dataclass(frozen=True)
class Cycle:
    """A weekly rotation: `order`, one shift each, starting with `first` in the week of `since`."""

    order: tuple[str, ...]
    since: date
    first: str
    line: int = 0  # of `order`
    since_line: int = 0
    since_col: int = 1

    def person_at(self, week_index: int) -> str:
        """Who is on `week_index` weeks after `since` (negative: before it)."""
        start = self.order.index(self.first)
        return self.order[(start + week_index) % len(self.order)]


@dataclass(frozen=True)
class Team:
    key: str
    name: str
    pagerduty_schedule: str | None = None
    secondary: Cycle | None = None
    line: int = 0


@dataclass(frozen=True)
class HeroRotation:
    cycle: Cycle
    pagerduty_schedule: str | None = None
    hero_is_team_secondary: bool = True
    line: int = 0


@dataclass(frozen=True)
class Swap:
    """Both halves of a swap: people[i] is on at dates[i]; each covers the other's shift or day."""

    people: tuple[str, str]
    dates: tuple[date, date]
    single_day: bool = False
    schedule: str = HERO
    reason: str = ""
    line: int = 0


@dataclass(frozen=True)
class TimeOff:
    person: str
    first: date
    last: date  # inclusive
    reason: str = ""
    line: int = 0


@dataclass(frozen=True)
class Rotation:
    """A loaded, valid rotation.yaml."""

    file: str
    timezone: str
    handoff_weekday: int  # 0 = Monday
    handoff_time: time
    people: Mapping[str, Person]
    teams: Mapping[str, Team]
    hero: HeroRotation
    swaps: tuple[Swap, ...] = ()
    time_off: tuple[TimeOff, ...] = ()
    settings: Mapping[str, object] = field(default_factory=dict)  # job sections: slack, github, ...
    # The file as read: every value's line:col, so that a job's own checks of its section name
    # their place without reading or searching the file again.
    source: Source | None = field(default=None, compare=False, repr=False)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def section(self, name: str) -> Mapping[str, Any]:
        """A job's section of rotation.yaml (`slack`, `github`, ...) as the schema validated it;
        empty when the file has none."""
        found = self.settings.get(name)
        return found if isinstance(found, Mapping) else {}

    def cycle(self, schedule: str) -> Cycle | None:
        """The weekly cycle of a schedule key (HERO or a team key), or None."""
        if schedule == HERO:
            return self.hero.cycle
        team = self.teams.get(schedule)
        return team.secondary if team else None

    def cycle_of(self, schedule: str) -> Cycle:
        """The weekly cycle of a schedule key that has one (KeyError for any other key)."""
        if (found := self.cycle(schedule)) is None:
            raise KeyError(f"{schedule!r} has no weekly rotation")
        return found

    def schedules(self) -> list[str]:
        """Every schedule key: the hero rotation first, then teams with a secondary rotation."""
        return [HERO] + sorted(k for k, t in self.teams.items() if t.secondary)

    def pagerduty_schedule(self, schedule: str) -> str | None:
        if schedule == HERO:
            return self.hero.pagerduty_schedule
        team = self.teams.get(schedule)
        return team.pagerduty_schedule if team else None

    def schedule_name(self, schedule: str) -> str:
        return "Support Hero" if schedule == HERO else self.teams[schedule].name

    def schedule_label(self, schedule: str) -> str:
        """ "Support Hero", or "Core Experience secondary": a schedule as a person reads it."""
        return "Support Hero" if schedule == HERO else f"{self.teams[schedule].name} secondary"
