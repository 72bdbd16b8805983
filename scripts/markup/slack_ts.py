"""Slack's message timestamps ("1764687600.000100", seconds with microseconds): to and from
aware UTC instants. The one place that format is written down: history's `oldest`, a message's
`ts`, `latest_reply`."""

from __future__ import annotations

from datetime import UTC, datetime


def ts_time(ts: str) -> datetime:
    """A Slack timestamp as an aware UTC datetime (an edit keeps the message's `ts`)."""
    return datetime.fromtimestamp(float(ts), UTC)


def ts_of(instant: datetime) -> str:
    return f"{instant.timestamp():.6f}"
