"""Where support conversations come from: one reader per source, mapped to the stale model."""

from __future__ import annotations

import os
import sys
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from scripts.clients import papercups
from scripts.clients.github import DEFAULT_URL as DEFAULT_GITHUB_URL
from scripts.clients.github import Clients, GitHub, GitHubError
from scripts.clients.slack import Message, Slack, SlackError
from scripts.markup.slack_ts import ts_of, ts_time
from scripts.sources.github_listings import GitHubListings
from scripts.sources.state import State, record, restore
from scripts.stale import clock, github_threads, slack_threads
from scripts.stale.digest import EVENT_TYPE as DIGEST_EVENT
from scripts.stale.digest import SourceStatus
from scripts.stale.slack_threads import FETCH, SKIP, Profile
from scripts.tiers import directory as tiers
from scripts.tiers import labels

# A tier from the customer directory by email (scripts/tiers/directory.py), None when unknown.
TierOf = Callable[[str | None], str | None]
TierOfLogin = Callable[[str], str | None]
# Per-run bounds on requests: beyond them the digest says what was left out. The Slack ones
# keep a run inside the workflow's 15 minutes at Slack's per-minute floors (replies: Tier 3,
# 50 a minute, 9 minutes; users.info: Tier 4, 100 a minute, 5 minutes) and hold a 3,000-thread
# channel whole (bench/: 420 threads to read, 400 people; BENCHMARKS.md).
MAX_PAPERCUPS_PAGES = 40  # 2000 open conversations: the per-run bound on Papercups requests
MAX_SLACK_HISTORY_PAGES = 10  # conversations.history: 9,990 top-level messages
MAX_SLACK_THREADS = 450  # conversations.replies for threads their parent leaves open
MAX_SLACK_PROFILES = 500  # users.info for people not named in rotation.yaml
MAX_GITHUB_ISSUE_PAGES = 50  # per repository: 5,000 open issues and pull requests written to
# Per repository: 10,000 comments. A page settles up to 100 comments at once, while a cut leaves
# each issue it no longer settles to a request of its own: cutting the listing costs more than
# finishing it, so this bound sits well above the issue bound (two comments per listed issue).
MAX_GITHUB_COMMENT_PAGES = 100
MAX_GITHUB_THREADS = 100  # issues whose own comments are read (the listing left them open)


@dataclass(frozen=True)
class Reading:
    """What one source gave: its status for the digest and its conversations."""

    status: SourceStatus
    conversations: tuple[clock.Conversation, ...] = ()

    @property
    def failed(self) -> bool:
        return self.status.state == "failed"


def _no_tier(email: str | None) -> str | None:
    return None


# --- Papercups --------------------------------------------------------------------------------

_SENDER = {"customer": clock.CUSTOMER, "agent": clock.US, "bot": clock.BOT}


def papercups_conversation(
    conv: papercups.Conversation, web_url: str, team: clock.Team, tier_of: TierOf = _no_tier
) -> clock.Conversation:
    """Papercups says who wrote: an agent is us, even one who is also a customer elsewhere; a
    customer is a customer, even a rotation.yaml person testing the chat widget (flagged)."""
    cust = conv.customer
    email = cust.email if cust else None
    meta_tier = (cust.metadata or {}).get("tier") if cust else None
    return clock.Conversation(
        source="papercups",
        id=conv.id,
        customer_name=cust.name if cust else None,
        customer_email=email,
        tier=meta_tier if meta_tier in clock.TIERS else tier_of(email),
        url=f"{web_url.rstrip('/')}/conversations/all?cid={conv.id}",
        messages=tuple(
            clock.Message(_SENDER[m.sender], m.created_at, private=m.private) for m in conv.messages
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
        team: clock.Team,
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


# --- the Slack support channel ----------------------------------------------------------------


class SlackChannel:
    """The support channel, read once a run and shared: the Slack source reads its threads, the
    digest looks for today's post in it, nudges for the keys already posted, the handoff block
    for this week's handoff message."""

    def __init__(self, slack: Slack, channel: str, oldest: datetime, state: State | None = None):
        self.slack, self.id, self.oldest = slack, channel, oldest
        self.state = state or State.empty(oldest)
        self.me = None  # the bot's Identity (auth.test)
        self.parents: list | None = None  # top-level messages since `oldest`; None: not read
        self._by_ts: dict[str, Message] = {}
        self.cut: datetime | None = None  # history read back to here only (per-run bound)
        self.threads: dict[str, list] = {}  # parent ts -> the thread, as read
        self.people = slack_threads.People()

    def read(self) -> None:
        """auth.test, then history pages of 999 back to `oldest`, at most the per-run bound."""
        if self.parents is not None:
            return
        self.me = self.slack.whoami()
        parents, cursor = [], None
        for _ in range(MAX_SLACK_HISTORY_PAGES):
            page = self.slack.history_page(self.id, oldest=ts_of(self.oldest), cursor=cursor)
            parents += page.messages
            if (cursor := page.next_cursor) is None:
                break
        if cursor is not None and parents:
            self.cut = ts_time(parents[-1].ts)
        self.parents = parents
        self._by_ts = {m.ts: m for m in parents}

    def thread(self, ts: str) -> list:
        """A thread, parent first: as the state holds it while its parent's reply_count and
        latest_reply are what they were (a reply added or deleted changes one of them), else
        conversations.replies."""
        if ts not in self.threads:
            parent, key = self.parent(ts), f"{self.id}/{ts}"
            stamp = [parent.reply_count, parent.latest_reply] if parent else None
            kept = self.state.decoded(THREAD, key, _thread)
            if stamp and kept and kept[0] == stamp:
                self.threads[ts] = kept[1]
            else:
                self.threads[ts] = self.slack.thread(self.id, ts)
            if stamp:
                messages = [record(m, _NOT_KEPT) for m in self.threads[ts]]
                self.state.put(THREAD, key, {"stamp": stamp, "messages": messages})
        return self.threads[ts]

    def parent(self, ts: str):
        return self._by_ts.get(ts)

    def ours(self, event_type: str, **payload) -> list:
        """Our own top-level messages of an event_type (and payload), newest first."""
        return [
            m
            for m in self.parents or ()
            if m.event_type == event_type
            and (m.user == self.me.user_id or (m.bot_id and m.bot_id == self.me.bot_id))
            and all(m.payload.get(k) == v for k, v in payload.items())
        ]

    def user_id_for(self, email: str) -> str | None:
        """Someone's Slack ID: from the profiles looked up already, else users.lookupByEmail."""
        email = email.lower()
        known = next((p.id for p in self.people.profiles.values() if p.email == email), None)
        return known or self.slack.lookup_user(email)

    def nudged(self, late: Iterable[clock.Finding]) -> frozenset[str]:
        """The nudge keys posted already for these late conversations: a Slack conversation's in
        its own thread (read if our bot replied there), the others' in the threads of the digests
        that got a reply since the oldest of their waits began."""
        keys, others = set(), []
        for f in late:
            if f.conversation.source != "slack":
                others.append(f.waiting_since)
                continue
            ts, parent = f.conversation.id, self.parent(f.conversation.id)
            if ts in self.threads or (parent and self.me.user_id in parent.reply_users):
                keys |= slack_threads.nudge_keys(self.thread(ts), self.me.user_id)
        if others:
            since = min(others)
            for digest in self.ours(DIGEST_EVENT):
                if digest.reply_count and ts_time(digest.latest_reply or digest.ts) >= since:
                    keys |= slack_threads.nudge_keys(self.thread(digest.ts), self.me.user_id)
        return frozenset(keys)


THREAD, PROFILE = "slack.thread", "slack.profile"  # state kinds (scripts/sources/state.py)


# What the thread rules (slack_threads) do not read of a message: the state holds no one's words.
_NOT_KEPT = ("text", "blocks", "reactions", "reply_users", "reply_count", "latest_reply")


def _thread(entry) -> tuple[list, list[Message]]:
    stamp, messages = entry["stamp"], entry["messages"]
    if not (isinstance(stamp, list) and isinstance(messages, list)):
        raise ValueError("not a thread")
    return stamp, [restore(Message, m, text="") for m in messages]


class SlackSource:
    """Threads of the support channel started in the window in which a customer wrote."""

    name = "slack"

    def __init__(self, channel: SlackChannel | None, why_not: str, team: clock.Team,
                 tier_of: TierOf = lambda email: None):  # fmt: skip
        self.channel, self.why_not, self.team, self.tier_of = channel, why_not, team, tier_of

    def read(self) -> Reading:
        if self.channel is None:
            return Reading(SourceStatus(self.name, "not_configured", self.why_not))
        try:
            return self._read(self.channel)
        except SlackError as exc:
            return Reading(SourceStatus(self.name, "failed", str(exc)))

    def _read(self, ch: SlackChannel) -> Reading:
        ch.read()
        ch.people, skipped = self._people(ch)
        heads = [(p, slack_threads.read_head(p, ch.people)) for p in ch.parents]
        # Past the bound, the threads quiet longest are read: each is a long wait or one to
        # close, what the digest most needs; those left out are the most recently active.
        fetch = sorted(
            (p for p, head in heads if head.verdict == FETCH),
            key=lambda p: float(p.latest_reply or p.ts),
        )
        unread = {p.ts for p in fetch[max(0, MAX_SLACK_THREADS - len(ch.threads)) :]}
        convs = []
        for parent, head in heads:
            if head.verdict == SKIP or parent.ts in unread:
                continue
            if conv := self._conversation(ch, parent, head):
                convs.append(conv)
        notes = [f"history read back to {ch.cut:%Y-%m-%d %H:%M} UTC only"] if ch.cut else []
        notes += [f"{len(unread)} threads not read"] if unread else []
        notes += [f"{skipped} people not looked up"] if skipped else []
        detail = "; ".join(notes) + (" (per-run bound)" if notes else "")
        return Reading(SourceStatus(self.name, "ok", detail, len(convs)), tuple(convs))

    def _conversation(self, ch: SlackChannel, parent, head) -> clock.Conversation | None:
        if head.verdict == FETCH:
            thread = ch.thread(parent.ts)
            messages = slack_threads.thread_messages(thread, ch.people)
            customer = slack_threads.first_customer(thread, ch.people)
        else:
            messages, customer = head.messages, parent.user
        return slack_threads.conversation(
            ch.id, ch.me.url, parent.ts, messages, customer, ch.people, self.tier_of
        )

    def _people(self, ch: SlackChannel) -> tuple[slack_threads.People, int]:
        """users.info for everyone in the window's threads not known by ID: it tells a team member
        without `slack:` by email, a bot user by is_bot, and a customer's name and email (their
        tier). A bot's own messages say so (bot_id) and need no look-up."""
        bots = {ch.me.user_id, slack_threads.SLACKBOT}
        known = {i.upper() for i in self.team.slack_ids} | bots
        ids = slack_threads.to_identify(ch.parents, known)
        profiles = [self._profile(ch, i) for i in ids[:MAX_SLACK_PROFILES]]
        skipped = max(0, len(ids) - MAX_SLACK_PROFILES)
        return slack_threads.people(self.team, bots, profiles), skipped

    @staticmethod
    def _profile(ch: SlackChannel, user_id: str) -> slack_threads.Profile:
        """Someone's profile as the state holds it (a day at most), else users.info."""
        if kept := ch.state.decoded(PROFILE, user_id, lambda v: restore(Profile, v)):
            ch.state.put(PROFILE, user_id, record(kept))
            return kept
        try:
            found = slack_threads.profile(ch.slack.user(user_id))
        except SlackError as exc:
            if exc.error not in ("user_not_found", "user_not_visible"):
                raise
            found = slack_threads.Profile(user_id)
        ch.state.put(PROFILE, user_id, record(found))
        return found


# --- GitHub issues ------------------------------------------------------------------------------


class GitHubSource:
    """Open issues of the configured repositories written to in the window."""

    name = "github"

    def __init__(self, token: str | None, section: Mapping, team: clock.Team, start: datetime,
                 tier_of_login: TierOfLogin = lambda login: None,
                 env: Mapping[str, str] = os.environ, state: State | None = None):  # fmt: skip
        self.token, self.start, self.tier_of_login = token, start, tier_of_login
        self.env, self.state = env, state or State.empty(start)
        self.host = (env.get("GITHUB_API_URL") or DEFAULT_GITHUB_URL).rstrip("/")
        self.repos = tuple(section.get("repos") or ())
        self.tier_names = labels.settings(section).tier_names
        self.team = team.github_logins

    def read(self) -> Reading:
        if not self.repos:
            return Reading(SourceStatus(self.name, "not_configured", "github.repos is not set"))
        if not self.token:
            return Reading(SourceStatus(self.name, "not_configured", "GITHUB_TOKEN is not set"))
        clients, convs, notes = Clients(self.token, self.env), [], []
        for repo in self.repos:
            try:
                convs += self._repo(clients.for_repo(repo), repo, notes)
            except GitHubError as exc:
                detail = "; ".join([f"{repo}: {exc}", *notes])
                return Reading(SourceStatus(self.name, "failed", detail, len(convs)), tuple(convs))
        return Reading(SourceStatus(self.name, "ok", "; ".join(notes), len(convs)), tuple(convs))

    def _repo(self, gh: GitHub, repo: str, notes: list[str]) -> list[clock.Conversation]:
        """Issues written to since the window's start (the rest are backlog, never listed), one
        listing of the repository's comments where needed, an issue's own comments where that
        listing leaves the answer open. With a state, both listings are the last run's with
        what changed since (github_listings.py): the same issues and comments, fewer requests."""
        listings = GitHubListings(gh, repo, self.state, f"{self.host}|{repo.lower()}")
        cap = MAX_GITHUB_ISSUE_PAGES * 100
        issues = listings.issues(self.start, cap)
        if len(issues) == cap:
            notes.append(f"{repo}: only the {cap} most recently updated issues (per-run bound)")
        since = github_threads.listing_since(issues, self.start)
        known, known_since = self._comments(listings, repo, since, notes)
        convs, unread, read_one_by_one = [], 0, 0
        for issue in issues:
            v = github_threads.verdict(issue, known[issue.number], self.start, known_since,
                                       self.team)  # fmt: skip
            if len(known[issue.number]) > issue.comments:  # one was deleted: read them all
                v = github_threads.Verdict(github_threads.FETCH)
            if v.kind == github_threads.FETCH:
                if read_one_by_one >= MAX_GITHUB_THREADS:
                    unread += 1
                    continue
                read_one_by_one += 1
                v = github_threads.fetched(issue, listings.thread(issue), self.start, self.team)
            if v.kind == github_threads.DECIDED:
                conv = github_threads.conversation(
                    repo, issue, v.said, self.tier_names, self.tier_of_login
                )
                convs += [conv] if conv else []
        if unread:
            notes.append(f"{repo}: {unread} issues not read (per-run bound)")
        return convs

    @staticmethod
    def _comments(listings: GitHubListings, repo: str, since: datetime | None, notes: list[str]):
        """The repository's comments updated since `since`, newest first, by issue; and from
        when on every comment created is among them (where a cut stopped the listing)."""
        known: dict[int, list] = defaultdict(list)
        if since is None:
            return known, None
        cap = MAX_GITHUB_COMMENT_PAGES * 100
        listed = listings.comments(since, cap)
        for c in listed:
            known[c.issue_number].append(c)
        if len(listed) == cap:
            notes.append(f"{repo}: comments read back to {listed[-1].updated_at:%Y-%m-%d} only")
            return known, listed[-1].updated_at + timedelta(seconds=1)
        return known, since


# --- tiers from the customer directory ----------------------------------------------------------


def tier_by_email(directory: tiers.Directory | None, rules) -> TierOf:
    """The tier of the customer whose domain an email address is at (subdomains too)."""

    def tier_of(email: str | None) -> str | None:
        domain = (email or "").rpartition("@")[2]
        found = directory and domain and tiers.match_domain(directory, domain)
        return tiers.tier_of(found, rules)[0] if found else None

    return tier_of


def tier_by_login(directory: tiers.Directory | None, rules) -> TierOfLogin:
    """The tier of the customer listing a GitHub login (no lookups: label_issues does those)."""

    def tier_of(login: str) -> str | None:
        found = directory and tiers.match_login(directory, login)
        return tiers.tier_of(found.customer, rules)[0] if found else None

    return tier_of


# --- all sources ------------------------------------------------------------------------------


def sources(
    rot,
    start: datetime,
    channel: SlackChannel | None,
    directory: tiers.Directory | None = None,
    rules=(),
    env: Mapping[str, str] = os.environ,
    state: State | None = None,
) -> list:
    """Every source the job reads, in digest order; `start`: the Slack and GitHub window."""
    team = clock.Team.of(rot)
    by_email = tier_by_email(directory, rules)
    papercups_section = rot.section("papercups")
    why_not = (
        "slack.channel is not set"
        if not rot.section("slack").get("channel")
        else "SLACK_BOT_TOKEN is not set"
    )
    github = rot.section("github")
    by_login = tier_by_login(directory, rules)
    return [
        PapercupsSource(env.get("PAPERCUPS_TOKEN"), papercups_section, team, by_email, env=env),
        SlackSource(channel, why_not, team, by_email),
        GitHubSource(env.get("GITHUB_TOKEN"), github, team, start, by_login, env, state),
    ]


def read_all(readers: list) -> list[Reading]:
    """Each source in turn; one failing (even unexpectedly) never stops the others."""
    readings = []
    for reader in readers:
        try:
            readings.append(reader.read())
        except Exception as exc:  # a bug in one source must not hide the others' conversations
            where = exc.__traceback__  # the innermost frame of ours, for whoever fixes it
            while where and where.tb_next:
                where = where.tb_next
            line = f" at {where.tb_frame.f_code.co_filename}:{where.tb_lineno}" if where else ""
            print(f"error: {reader.name}: unexpected {type(exc).__name__}{line}", file=sys.stderr)
            status = SourceStatus(reader.name, "failed", f"unexpected {type(exc).__name__}")
            readings.append(Reading(status))
    return readings
