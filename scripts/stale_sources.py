"""Where support conversations come from: one reader per source, mapped to the stale model."""

from __future__ import annotations

import os
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from scripts import stale
from scripts.clients import papercups
from scripts.stale_digest import SourceStatus

# A tier from the customer directory by email (phase 2: scripts/tiers.py), None when unknown.
TierOf = Callable[[str | None], str | None]
MAX_PAPERCUPS_PAGES = 40  # 2000 open conversations: the per-run bound on Papercups requests


@dataclass(frozen=True)
class Reading:
    """What one source gave: its status for the digest and its conversations."""

    status: SourceStatus
    conversations: tuple[stale.Conversation, ...] = ()

    @property
    def failed(self) -> bool:
        return self.status.state == "failed"


def _no_tier(email: str | None) -> str | None:
    return None


# --- Papercups --------------------------------------------------------------------------------

_SENDER = {"customer": stale.CUSTOMER, "agent": stale.US, "bot": stale.BOT}


def papercups_conversation(
    conv: papercups.Conversation, web_url: str, team: stale.Team, tier_of: TierOf = _no_tier
) -> stale.Conversation:
    """Papercups says who wrote: an agent is us, even one who is also a customer elsewhere; a
    customer is a customer, even a rotation.yaml person testing the chat widget (flagged)."""
    cust = conv.customer
    email = cust.email if cust else None
    meta_tier = (cust.metadata or {}).get("tier") if cust else None
    return stale.Conversation(
        source="papercups",
        id=conv.id,
        customer_name=cust.name if cust else None,
        customer_email=email,
        tier=meta_tier if meta_tier in stale.TIERS else tier_of(email),
        url=f"{web_url.rstrip('/')}/conversations/all?cid={conv.id}",
        messages=tuple(
            stale.Message(_SENDER[m.sender], m.created_at, private=m.private) for m in conv.messages
        ),
        customer_is_team=team.has_email(email),
    )


class PapercupsSource:
    """Open Papercups conversations; not configured without PAPERCUPS_TOKEN."""

    name = "papercups"

    def __init__(
        self,
        token: str | None,
        section: Mapping,
        team: stale.Team,
        tier_of: TierOf = _no_tier,
        env: Mapping[str, str] = os.environ,
    ):
        self.token, self.team, self.tier_of = token, team, tier_of
        self.api_url = env.get("PAPERCUPS_API_URL") or papercups.DEFAULT_URL
        self.web_url = section.get("url") or self.api_url  # self-hosted: one host serves both
        self.inbox_id = section.get("inbox_id")

    def read(self) -> Reading:
        if not self.token:
            return Reading(SourceStatus(self.name, "not_configured", "PAPERCUPS_TOKEN is not set"))
        client = papercups.Papercups(self.token, self.api_url)
        try:
            listing = client.open_conversations(self.inbox_id, max_pages=MAX_PAPERCUPS_PAGES)
        except papercups.PapercupsError as exc:
            return Reading(SourceStatus(self.name, "failed", str(exc)))
        convs = tuple(
            papercups_conversation(c, self.web_url, self.team, self.tier_of)
            for c in listing.conversations
        )
        detail = "" if listing.complete else f"only the newest {len(convs)} of {listing.total}"
        return Reading(SourceStatus(self.name, "ok", detail, len(convs)), convs)


# --- all sources ------------------------------------------------------------------------------


def sources(rot, env: Mapping[str, str] = os.environ) -> list:
    """Every source the job reads, in digest order (phase 2 adds Slack and GitHub here)."""
    team = stale.Team.of(rot)
    section = rot.settings.get("papercups") or {}
    return [PapercupsSource(env.get("PAPERCUPS_TOKEN"), section, team, env=env)]


def read_all(readers: list) -> list[Reading]:
    """Each source in turn; one failing (even unexpectedly) never stops the others."""
    readings = []
    for reader in readers:
        try:
            readings.append(reader.read())
        except Exception as exc:  # a bug in one source must not hide the others' conversations
            traceback.print_exc()  # to stderr, for whoever fixes it
            status = SourceStatus(reader.name, "failed", f"unexpected {type(exc).__name__}")
            readings.append(Reading(status))
    return readings
