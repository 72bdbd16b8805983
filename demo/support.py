"""The demo's support traffic: Slack threads, GitHub replies, customers with tiers to sync."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from fakes.github import GitHubFake
from fakes.papercups import PapercupsFake
from fakes.slack import SlackFake
from scripts.rotation.model import Rotation

H = timedelta(hours=1)
# Customers in the support channel, at domains of customers.example.yaml (their tier's source):
# (Slack user ID, email, name).
GLOBEX = ("UC0GLOBEX", "rita@globex.example", "Rita Globex")  # Cloud over $500: Focus
INITECH = ("UC0INITEC", "peter@initech.example", "Peter Initech")  # Cloud $120: Subscriber
VANDELAY = ("UC0VANDEL", "art@vandelay.example", "Art Vandelay")  # Cloud $49: Subscriber
# Papercups customers the directory knows, so that sync_customer_tiers has tiers to give.
PAPERCUPS_CUSTOMERS = [
    {"email": "wile@acme-rockets.example", "name": "Wile Coyote"},  # Enterprise: Focus
    {"email": "milton@initech.example", "name": "Milton Initech", "metadata": {"tier": "focus"}},
]
# rotation.yaml's commented-out `sentry:` section: "# sentry:" and the "#   key:" lines below it.
_SENTRY_BLOCK = re.compile(r"^# (sentry:.*\n)((?:#   .*\n)*)", re.M)
DEFAULT_SENTRY = "sentry:\n  organization: demo\n  projects: [web]\n"


def seed_slack(slack: SlackFake, rot: Rotation, ids: dict[str, str], now: datetime) -> None:
    """Three customer threads in the support channel, in time order: one we answered, one from a
    Focus customer still waiting, one where the customer wrote again after our reply."""
    channel = (rot.settings.get("slack") or {}).get("channel")
    if not channel:
        return
    us = next(iter(ids.values()))  # anyone in rotation.yaml replying is "us"
    for user_id, email, name in (GLOBEX, INITECH, VANDELAY):
        slack.add_user(user_id, email, name)
    said = [  # hours before now, who, what, the thread (its first message's key)
        (40, INITECH[0], "How do we rotate our API keys?", "initech"),
        (38, us, "Settings → API keys → Rotate; the old key works for a day.", "initech"),
        (20, VANDELAY[0], "Can we get an invoice with our VAT number?", "vandelay"),
        (19, us, "Done: the new invoice is in your billing page.", "vandelay"),
        (14, GLOBEX[0], "Exports have been failing since this morning, can you look?", "globex"),
        (13, INITECH[0], "Rotated, but the old key stopped at once. Is that expected?", "initech"),
    ]
    parents: dict[str, str] = {}
    for hours, user, text, thread in sorted(said, key=lambda s: -s[0]):
        slack.now = now - hours * H  # the fake stamps a message with its clock
        msg = slack.add_message(channel, user, text, parents.get(thread))
        parents.setdefault(thread, msg["ts"])
    slack.now = now


def seed_github(github: GitHubFake, rot: Rotation, now: datetime) -> None:
    """Replies on the customer issues opened this morning: one answered by the team, one where
    the customer wrote again after our reply."""
    repos = (rot.settings.get("github") or {}).get("repos") or ()
    team = [p.github for p in rot.people.values() if p.github]
    if not repos or not team:
        return
    issues = github.repos[repos[0].lower()].issues.values()
    theirs = [i for i in issues if not i.pull_request and i.user not in team]
    if len(theirs) < 2:
        return
    answered, again = theirs[0], theirs[1]
    reply = "Thanks! Which version did you upgrade from?"
    github.add_comment(repos[0], answered.number, team[0], reply, now - 2 * H, "MEMBER")
    github.add_comment(repos[0], again.number, team[0], reply, now - 2.5 * H, "MEMBER")
    github.add_comment(repos[0], again.number, again.user, "From 2.3. Still slow.", now - H)


def seed_papercups(papercups: PapercupsFake) -> None:
    papercups.seed({"customers": PAPERCUPS_CUSTOMERS})


def with_sentry(config_text: str) -> str:
    """rotation.yaml with a `sentry` section: its commented-out one switched on (same lines, so
    line numbers still point into your file), else a small one added at the end."""
    on = _SENTRY_BLOCK.sub(lambda m: m[1] + re.sub(r"^# ", "", m[2], flags=re.M), config_text)
    return on if on != config_text else config_text.rstrip("\n") + "\n\n" + DEFAULT_SENTRY
