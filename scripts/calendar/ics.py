"""Feeds as iCalendar (RFC 5545, with the `icalendar` package), and the last build read back."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import icalendar

from scripts.calendar.events import Event, Previous

PRODID = "-//support-hero//publish_calendar//EN"
FINGERPRINT = "X-SUPPORT-HERO-FINGERPRINT"  # what the event showed, to know if it changed


def feed(name: str, events: Sequence[Event], zone: str, built: datetime) -> bytes:
    """One calendar: its events, their instants in `zone` (TZID, with the VTIMEZONE a calendar
    needs to show 09:00 local on both sides of a DST change), stamped `built`."""
    cal = icalendar.Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", name)  # the name Apple, Google and Outlook give a subscription
    cal.add("x-wr-timezone", zone)
    for e in events:
        cal.add_component(_event(e, zone, built))
    instants = [x for e in events for x in (e.start, e.end) if isinstance(x, datetime)]
    if instants:
        # only the transitions the events need: a VTIMEZONE of 1970-2037 is 2 kB per feed
        cal.add_missing_timezones(
            first_date=min(instants).date() - timedelta(days=1),
            last_date=max(instants).date() + timedelta(days=1),
        )
    return bytes(cal.to_ical())


def _event(e: Event, zone: str, built: datetime) -> icalendar.Event:
    ev = icalendar.Event()
    ev.add("uid", e.uid)
    ev.add("dtstamp", built)
    if isinstance(e.start, datetime) and isinstance(e.end, datetime):
        tz = ZoneInfo(zone)
        ev.add("dtstart", e.start.astimezone(tz))
        ev.add("dtend", e.end.astimezone(tz))
        ev.add("transp", "OPAQUE")
    else:
        ev.add("dtstart", e.start)  # a date: VALUE=DATE, an all-day event
        ev.add("dtend", e.end)
        ev.add("transp", "TRANSPARENT")  # time off is not a meeting to block
    ev.add("summary", e.summary)
    ev.add("description", e.description)
    ev.add("sequence", e.sequence)
    ev.add("categories", [e.why])
    ev.add(FINGERPRINT, e.fingerprint)
    return ev


def previous(files: Iterable[bytes]) -> Previous:
    """uid -> (SEQUENCE, fingerprint) over the feeds of the last build; what cannot be read
    counts as absent (a new event then starts at 0)."""
    found: dict[str, tuple[int, str]] = {}
    for data in files:
        try:
            cal = icalendar.Calendar.from_ical(data)
        except ValueError:
            continue
        for ev in cal.walk("VEVENT"):
            uid, seq, fp = ev.get("uid"), ev.get("sequence", 0), ev.get(FINGERPRINT)
            if uid and fp:
                best = max(found.get(str(uid), (0, ""))[0], int(seq))
                found[str(uid)] = (best, str(fp))
    return found
