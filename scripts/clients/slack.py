"""Thin adapter over slack_sdk.WebClient: bounded retries, paging, and small dataclasses."""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)

from scripts import redaction
from scripts.clients.access import adapter, writes
from scripts.clients.http import (
    Failure,
    answer_reason,
    first_line,
    retry_cap,
    timeouts,
    transport_reason,
)

DEFAULT_URL = "https://slack.com/api/"
PAGE = 200  # Slack's advice for history paging (the method takes up to 999)
MAX_PAGE = 999  # the most a page of history holds: fewest requests for a long search
LOOK_BACK = 100  # newest messages searched for a post whose answer was lost


# Errors that mean the token, the app's scopes or slack.channel need fixing: exit 2.
SETUP_ERRORS = frozenset({
    "not_authed", "invalid_auth", "token_revoked", "token_expired", "account_inactive",
    "missing_scope", "channel_not_found", "not_in_channel",
})  # fmt: skip


class SlackError(Failure):
    """A Slack method answered ok: false (after retries); carries the method and error code."""

    def __init__(self, method: str, error: str):
        super().__init__(f"Slack {method} failed: {error}")
        self.method, self.error = method, error

    @property
    def setup(self) -> bool:
        return self.error in SETUP_ERRORS


@dataclass(frozen=True)
class Message:
    ts: str
    text: str
    user: str | None = None
    bot_id: str | None = None
    thread_ts: str | None = None
    reply_count: int = 0
    reply_users: tuple[str, ...] = ()
    latest_reply: str | None = None
    event_type: str | None = None  # message metadata
    payload: Mapping[str, Any] = field(default_factory=dict)
    blocks: tuple[dict, ...] = ()
    subtype: str | None = None
    reply_users_count: int = 0  # all repliers; reply_users may list fewer
    reactions: tuple[str, ...] = ()  # emoji names


@dataclass(frozen=True)
class UserGroup:
    id: str
    handle: str
    name: str
    users: tuple[str, ...]
    disabled: bool = False


def _usergroup(raw: dict) -> UserGroup:
    users = tuple(raw.get("users", ()))
    return UserGroup(raw["id"], raw["handle"], raw["name"], users, bool(raw.get("date_delete")))


@dataclass(frozen=True)
class Channel:
    id: str
    name: str
    topic: str


class _BoundedRateLimit(RateLimitErrorRetryHandler):
    """slack-sdk's Retry-After handler, refusing waits longer than `max_wait` seconds."""

    def __init__(self, max_retry_count: int, max_wait: float):
        super().__init__(max_retry_count=max_retry_count)
        self.max_wait = max_wait

    def _can_retry(self, *, state, request, response=None, error=None) -> bool:
        if not super()._can_retry(state=state, request=request, response=response, error=error):
            return False
        wait = next((v for k, v in response.headers.items() if k.lower() == "retry-after"), ["1"])
        return float(wait[0]) <= self.max_wait


class _AnyServerError(ServerErrorRetryHandler):
    """slack-sdk retries 500 and 503 only; 502 and 504 are as transient."""

    def _can_retry(self, *, state, request, response=None, error=None) -> bool:
        return response is not None and 500 <= response.status_code < 600


def retry_handlers(retries: int = 3, max_wait: float = 30.0) -> list:
    """At most `retries` retries of a request, each wait at most `max_wait` seconds."""
    retries = retry_cap(retries)
    return [
        ConnectionErrorRetryHandler(max_retry_count=retries),
        _BoundedRateLimit(retries, max_wait),
        _AnyServerError(max_retry_count=retries),
    ]


def write_once_handlers(retries: int = 3, max_wait: float = 30.0) -> list:
    """For writes that are not idempotent: a 429 means Slack did nothing, so it is waited out;
    a 5xx or a lost connection may come after the write was made, so it is not retried here."""
    return [_BoundedRateLimit(retry_cap(retries), max_wait)]


class LostAnswer(SlackError):
    """A write got no answer (5xx, timeout, dropped connection): it may or may not have been
    made. The caller looks for what it may have created before writing again."""


def _message(raw: dict) -> Message:
    meta = raw.get("metadata") or {}
    return Message(
        ts=raw["ts"],
        text=raw.get("text", ""),
        user=raw.get("user"),
        bot_id=raw.get("bot_id"),
        thread_ts=raw.get("thread_ts"),
        reply_count=raw.get("reply_count", 0),
        reply_users=tuple(raw.get("reply_users", ())),
        latest_reply=raw.get("latest_reply"),
        event_type=meta.get("event_type"),
        payload=meta.get("event_payload") or {},
        blocks=tuple(raw.get("blocks") or ()),
        subtype=raw.get("subtype"),
        reply_users_count=raw.get("reply_users_count", len(raw.get("reply_users", ()))),
        reactions=tuple(r["name"] for r in raw.get("reactions") or ()),
    )


@adapter
class Slack:
    """The Web API methods the jobs use; SLACK_API_URL overrides the base URL."""

    def __init__(
        self,
        token: str,
        base_url: str | None = None,
        retries: int = 3,
        max_wait: float = 30.0,
        timeout: float | None = None,
    ):
        url = (base_url or os.environ.get("SLACK_API_URL") or DEFAULT_URL).rstrip("/") + "/"
        timeout = timeout or timeouts()[1]  # urllib takes one timeout, for connect and read
        self.retries = retries
        self.client = WebClient(
            token=token, base_url=url, timeout=timeout,
            retry_handlers=retry_handlers(retries, max_wait),
        )  # fmt: skip
        self._once = WebClient(
            token=token, base_url=url, timeout=timeout,
            retry_handlers=write_once_handlers(retries, max_wait),
        )  # fmt: skip

    def _call(self, method: str, *, once: bool = False, **args) -> dict:
        """One method through the WebClient's own wrapper (it knows form vs JSON per method);
        ok: false becomes SlackError, which never holds the token. `once`: a write that is not
        idempotent, retried on 429 only; no answer raises LostAnswer."""
        call = getattr(self._once if once else self.client, method.replace(".", "_"))
        # nothing this run holds secret is posted, whatever the text's source (a server's echo)
        args = redaction.current().redact_data(_drop_none(args))
        try:
            return call(**args).data
        except SlackApiError as exc:
            status = exc.response.status_code
            data = exc.response.data
            error = data.get("error") if isinstance(data, dict) else None
            if once and status >= 500:
                raise LostAnswer(method, f"HTTP {status}, it may have been made") from None
            if status in (401, 403):  # Slack itself says invalid_auth; a proxy or gateway this
                error = "invalid_auth"
            if not error or not isinstance(data, dict) or "non-JSON" in str(error):
                headers = exc.response.headers or {}
                kind = next((v for k, v in headers.items() if k.lower() == "content-type"), "")
                error = answer_reason(status, kind, str(data if isinstance(data, str) else ""))
            raise SlackError(method, first_line(error)) from None
        except OSError as exc:  # URLError, timeouts, refused or dropped connections
            if once:
                raise LostAnswer(method, f"no answer: {transport_reason(exc)}") from None
            raise SlackError(method, f"no answer: {transport_reason(exc)}") from None

    # -- users

    def lookup_user(self, email: str) -> str | None:
        """The user ID for an email address, or None when Slack knows no one by it."""
        try:
            return self._call("users.lookupByEmail", email=email)["user"]["id"]
        except SlackError as exc:
            if exc.error == "users_not_found":
                return None
            raise

    def user(self, user_id: str) -> dict:
        return self._call("users.info", user=user_id)["user"]

    # -- messages

    @writes
    def post(
        self,
        channel: str,
        text: str,
        blocks=None,
        metadata: dict | None = None,
        thread_ts: str | None = None,
    ) -> Message:
        """Post a message (with metadata when given); link_names off: no names become pings.

        A post is not idempotent: after a 5xx or no answer, Slack may have posted it all the
        same (specs/README.md). So before each new try the channel (or thread) is searched for
        a message with the same metadata; without metadata nothing is tried again.
        """
        args = {"channel": channel, "text": text, "blocks": blocks, "metadata": metadata,
                "thread_ts": thread_ts, "link_names": False}  # fmt: skip

        def write() -> Message:
            raw = self._call("chat.postMessage", once=True, **args)
            return _message(raw["message"] | {"ts": raw["ts"]})

        look = (lambda: self._posted(channel, thread_ts, metadata)) if metadata else None
        return self._write_once(write, look)

    def _write_once(self, write, look):
        """`write()`; after a lost answer, again only if `look()` finds nothing it made (no
        `look`: never again). At most `retries` more tries."""
        for attempt in range(self.retries + 1):
            try:
                return write()
            except LostAnswer:
                if look is None or attempt == self.retries:
                    raise
            if (found := look()) is not None:
                return found
        raise AssertionError("unreachable")  # the loop returns or raises

    def _posted(self, channel: str, thread_ts: str | None, metadata: dict) -> Message | None:
        """A message with exactly this metadata: in the thread, or the channel's newest page."""
        want = (metadata["event_type"], dict(metadata.get("event_payload") or {}))
        if thread_ts:
            found = self.thread(channel, thread_ts)
        else:
            data = self._call(
                "conversations.history", channel=channel, limit=LOOK_BACK,
                include_all_metadata=True,
            )  # fmt: skip
            found = [_message(m) for m in data.get("messages", [])]
        return next((m for m in found if (m.event_type, dict(m.payload)) == want), None)

    @writes
    def update(
        self, channel: str, ts: str, text: str, blocks=None, metadata: dict | None = None
    ) -> None:
        self._call(
            "chat.update", channel=channel, ts=ts, text=text, blocks=blocks, metadata=metadata
        )

    def history(
        self,
        channel: str,
        oldest: str | None = None,
        latest: str | None = None,
        limit: int = PAGE,
    ) -> Iterator[Message]:
        """Top-level messages, newest first, with their metadata; pages lazily."""
        yield from self._pages(
            "conversations.history", limit, channel=channel, oldest=oldest, latest=latest
        )

    def replies(self, channel: str, ts: str, oldest: str | None = None) -> Iterator[Message]:
        """A thread: its parent first, then the replies; pages lazily."""
        yield from self._pages("conversations.replies", PAGE, channel=channel, ts=ts, oldest=oldest)

    def _pages(self, method: str, limit: int, **args) -> Iterator[Message]:
        cursor = None
        while True:
            data = self._call(method, limit=limit, cursor=cursor, include_all_metadata=True, **args)
            yield from (_message(m) for m in data.get("messages", []))
            cursor = (data.get("response_metadata") or {}).get("next_cursor")
            if not cursor or not data.get("has_more", True):
                return

    def find_message(
        self,
        channel: str,
        event_type: str,
        oldest: str | None = None,
        limit: int = PAGE,
        **payload,
    ) -> Message | None:
        """The newest message since `oldest` whose metadata has `event_type` and `payload`;
        `limit` messages a page (MAX_PAGE for a search through a busy channel)."""
        for msg in self.history(channel, oldest=oldest, limit=limit):
            if msg.event_type == event_type and all(
                msg.payload.get(k) == v for k, v in payload.items()
            ):
                return msg
        return None

    def permalink(self, channel: str, ts: str) -> str:
        return self._call("chat.getPermalink", channel=channel, message_ts=ts)["permalink"]

    def open_dm(self, user_id: str) -> str:
        """The ID of the direct-message channel with a user (opened if need be)."""
        return self._call("conversations.open", users=user_id)["channel"]["id"]

    # -- channels

    def channel(self, channel_id: str) -> Channel:
        raw = self._call("conversations.info", channel=channel_id)["channel"]
        return Channel(raw["id"], raw.get("name", ""), (raw.get("topic") or {}).get("value", ""))

    @writes
    def set_topic(self, channel_id: str, topic: str) -> None:
        self._call("conversations.setTopic", channel=channel_id, topic=topic)

    # -- user groups

    def usergroups(self) -> list[UserGroup]:
        """Every user group of the workspace with its members, disabled ones too: Slack leaves
        those out unless include_disabled=true, yet their handle cannot be created again."""
        raw = self._call("usergroups.list", include_users=True, include_disabled=True)
        return [_usergroup(g) for g in raw["usergroups"]]

    @writes
    def set_usergroup_users(self, group_id: str, users: list[str]) -> None:
        self._call("usergroups.users.update", usergroup=group_id, users=",".join(users))

    @writes
    def enable_usergroup(self, group_id: str) -> None:
        self._call("usergroups.enable", usergroup=group_id)

    @writes
    def create_usergroup(self, handle: str, name: str, description: str = "") -> UserGroup:
        """Create a group; after a lost answer, the group with that handle if Slack made it."""
        args = {"handle": handle, "name": name, "description": description}
        return self._write_once(
            lambda: _usergroup(self._call("usergroups.create", once=True, **args)["usergroup"]),
            lambda: next((g for g in self.usergroups() if g.handle == handle), None),
        )

    # -- reading a channel page by page (flag_stale)

    def whoami(self) -> Identity:
        """auth.test: the bot's own user ID and the workspace's web address."""
        raw = self._call("auth.test")
        return Identity(raw["user_id"], raw["url"], raw.get("bot_id"))

    def history_page(
        self, channel: str, oldest: str | None = None, cursor: str | None = None, limit: int = 999
    ) -> Page:
        """One page of top-level messages, newest first (999: the most Slack gives a page)."""
        data = self._call(
            "conversations.history", channel=channel, oldest=oldest, cursor=cursor, limit=limit,
            include_all_metadata=True,
        )  # fmt: skip
        cursor = (data.get("response_metadata") or {}).get("next_cursor") or None
        more = data.get("has_more", False) and cursor is not None
        return Page(tuple(_message(m) for m in data.get("messages", [])), cursor if more else None)

    def thread(self, channel: str, ts: str, limit: int = 999) -> list[Message]:
        """A whole thread, parent first, in pages of up to 999 (one request for most threads)."""
        messages, cursor = [], None
        while True:
            data = self._call(
                "conversations.replies", channel=channel, ts=ts, cursor=cursor, limit=limit,
                include_all_metadata=True,
            )  # fmt: skip
            messages += [_message(m) for m in data.get("messages", [])]
            cursor = (data.get("response_metadata") or {}).get("next_cursor")
            if not cursor or not data.get("has_more", True):
                return messages


@dataclass(frozen=True)
class Identity:
    user_id: str
    url: str  # e.g. https://kestrel.slack.com/
    bot_id: str | None = None


@dataclass(frozen=True)
class Page:
    messages: tuple[Message, ...]
    next_cursor: str | None  # None: the last page


def _drop_none(args: dict) -> dict:
    return {k: v for k, v in args.items() if v is not None}
