"""Working-time arithmetic: how much of a span falls in someone's working hours, DST-correct."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

WEEKDAYS_MON_FRI = frozenset(range(5))  # 0 = Monday


@dataclass(frozen=True)
class WorkingHours:
    """A working day (wall clock in `zone`) on the given weekdays; `end` after `start`."""

    zone: str
    days: frozenset[int] = WEEKDAYS_MON_FRI
    start: time = time(9, 0)
    end: time = time(17, 30)

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.zone)

    @property
    def day_length(self) -> timedelta:
        """The working day as written (wall clock); a DST day is counted by the real clock."""
        return datetime.combine(date.min, self.end) - datetime.combine(date.min, self.start)

    def window(self, day: date) -> tuple[datetime, datetime] | None:
        """That day's working window as UTC instants, or None on a day off."""
        if day.weekday() not in self.days:
            return None
        # Aware datetimes sharing one tzinfo subtract as wall clock: compare in UTC only.
        opens = datetime.combine(day, self.start, self.tz).astimezone(UTC)
        closes = datetime.combine(day, self.end, self.tz).astimezone(UTC)
        return opens, closes


def working_time(hours: WorkingHours, start: datetime, end: datetime) -> timedelta:
    """The real time within [start, end) that falls inside `hours`."""
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    if end <= start:
        return timedelta(0)
    day, last = start.astimezone(hours.tz).date(), end.astimezone(hours.tz).date()
    total = timedelta(0)
    while day <= last:
        if window := hours.window(day):
            lo, hi = max(window[0], start), min(window[1], end)
            total += max(hi - lo, timedelta(0))
        day += timedelta(days=1)
    return total


def elapsed(start: datetime, end: datetime) -> timedelta:
    """Real time between two instants (never wall-clock arithmetic)."""
    return max(end.astimezone(UTC) - start.astimezone(UTC), timedelta(0))
