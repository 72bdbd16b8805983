"""Names the GitHub fake's modules share: GitHub's addresses, whose token it is, its time format."""

from __future__ import annotations

from datetime import UTC, datetime

VIEWER = "support-hero-bot"  # whose token it is: not a member of any customer organisation
DOCS = "https://docs.github.com/rest"
SITE = "https://github.com"


def stamp(instant: datetime) -> str:
    return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_stamp(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)
