"""Stateful fake of the Slack Web API: channels, messages (metadata, threads), users, groups, DMs.

The real slack_sdk WebClient talks to it over loopback (it POSTs every method, form or JSON);
every request and response is checked against specs/slack-web.json, patched below where that
2021 file is older than the live API (each patch says why). Outside pytest (the demo)::

    fake = SlackFake().start()
    fake.seed_from_rotation(rot)   # people as users, the support channel with the bot in it
    os.environ.update(fake.env())  # SLACK_API_URL and SLACK_BOT_TOKEN
    fake.now = datetime(...)       # stamp messages on the job's --now clock (default: real time)
    ...
    fake.stop()
"""

from __future__ import annotations

import functools
import itertools
import json
import time
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from fakes import spec as specs
from fakes.base import FakeService, route

TOKEN = "xoxb-fake-support-hero"
TEAM = "T0KESTREL1"
BOT_USER, BOT_ID, APP_ID = "U0HEROBOT1", "B0HEROBOT1", "A0HEROAPP1"
WORKSPACE_URL = "https://kestrel-example.slack.com"
READ_METHODS = frozenset(
    {
        "auth.test",
        "chat.getPermalink",
        "conversations.history",
        "conversations.info",
        "conversations.list",
        "conversations.replies",
        "reactions.get",
        "users.info",
        "users.list",
        "users.lookupByEmail",
        "usergroups.list",
        "usergroups.users.list",
        "conversations.open",  # opens (or finds) the bot's DM with a user: nobody sees a change
    }
)

# --- where specs/slack-web.json is older than the live API ----------------------------------------

_RAW = json.loads((specs.SPECS_DIR / "slack-web.json").read_text())


def authorized(fn):
    """Answer as Slack does without the fake's token: every method page lists the errors
    `not_authed` ("No authentication token provided") and `invalid_auth` ("Some aspect of
    authentication cannot be validated"), in a 200 answer with `ok: false`."""

    @functools.wraps(fn)
    def check(self, req, **params):
        header = req.authorization or ""
        if not header:
            return 200, {"ok": False, "error": "not_authed"}
        if header != f"Bearer {self.token}":
            return 200, {"ok": False, "error": "invalid_auth"}
        return fn(self, req, **params)

    return check


def _at(*keys):
    node = _RAW
    for key in keys:
        node = node[key]
    return node


def _plus(keys: tuple, extra) -> tuple:
    """A patch: the list or mapping at `keys` with `extra` added."""
    old = _at(*keys)
    return (keys, old + list(extra) if isinstance(old, list) else {**old, **extra})


def _errors(path: str, verb: str, *errors: str) -> tuple:
    keys = ("paths", path, verb, "responses", "default", "schema", "properties", "error", "enum")
    return _plus(keys, errors)


def _form(name: str, kind: str = "string", required: bool = False) -> dict:
    return {"name": name, "in": "formData", "type": kind, "required": required}


# Message metadata (2022) postdates the file: the argument, and the field on messages ...
METADATA = {
    "type": "object",
    "additionalProperties": False,
    "required": ["event_type", "event_payload"],
    "properties": {"event_type": {"type": "string"}, "event_payload": {"type": "object"}},
}
EDITED = {"type": "object", "properties": {"user": {"type": "string"}, "ts": {"type": "string"}}}
_HISTORY = ("paths", "/conversations.history", "get")
_REPLIES = ("paths", "/conversations.replies", "get")
_REPLY_ITEMS = (*_REPLIES, "responses", "200", "schema", "properties", "messages", "items", "items")
_BOT_FIELDS = {
    "bot_id": {"$ref": "#/definitions/defs_bot_id"},
    "app_id": {"type": "string"},
    "blocks": {"$ref": "#/definitions/blocks"},
    "metadata": METADATA,
}
_CURSOR = {"type": "object", "properties": {"next_cursor": {"type": "string"}}}

# usergroups.create: the live codes for a name or handle that a group (a disabled one too) holds,
# missing from the enum of the file (specs/README.md; docs.slack.dev/.../usergroups.create).
USERGROUP_TAKEN = ("name_already_exists", "handle_already_exists", "missing_subteam_name")


SPEC_PATCHES = (
    _plus(("paths", "/chat.postMessage", "post", "parameters"), [_form("metadata")]),
    _plus(("paths", "/chat.update", "post", "parameters"), [_form("metadata")]),
    _plus(
        (*_HISTORY, "parameters"),
        [{"name": "include_all_metadata", "in": "query", "type": "boolean"}],
    ),
    _plus(
        (*_REPLIES, "parameters"),
        [{"name": "include_all_metadata", "in": "query", "type": "boolean"}],
    ),
    # ... and chat.update marks a message `edited`, which the file's message object lacks.
    _plus(
        ("definitions", "objs_message", "properties"),
        {"metadata": METADATA, "app_id": {"type": "string"}, "edited": EDITED},
    ),
    # Cursor paging (specs/README.md): history and replies answer response_metadata, and an
    # empty history is `messages: []`, which the file's minItems 1 would refuse.
    _plus(
        (*_HISTORY, "responses", "200", "schema", "properties"),
        {
            "response_metadata": _CURSOR,
            "messages": {"type": "array", "items": {"$ref": "#/definitions/objs_message"}},
        },
    ),
    _plus((*_REPLIES, "responses", "200", "schema", "properties"), {"response_metadata": _CURSOR}),
    # A bot's thread messages carry bot_id, blocks and metadata like any other message.
    _plus((*_REPLY_ITEMS, 0, "properties"), _BOT_FIELDS),
    _plus((*_REPLY_ITEMS, 1, "properties"), _BOT_FIELDS),
    # chat.update answers `message.blocks` as the array it is, not the file's "object".
    (
        (
            "paths",
            "/chat.update",
            "post",
            "responses",
            "200",
            "schema",
            "properties",
            "message",
            "properties",
            "blocks",
        ),
        {"$ref": "#/definitions/blocks"},
    ),
    # Live error codes missing from the file's enums.
    _errors(
        "/chat.postMessage",
        "post",
        "invalid_blocks",
        "invalid_metadata_format",
        "thread_not_found",
        "invalid_arguments",
    ),
    _errors(
        "/chat.update", "post", "invalid_blocks", "invalid_metadata_format", "invalid_arguments"
    ),
    _errors(
        "/usergroups.users.update",
        "post",
        "no_such_subteam",
        "invalid_users",
        "no_users_provided",
        "invalid_arguments",
    ),
    _errors("/usergroups.users.list", "get", "no_such_subteam"),
    _errors("/usergroups.create", "post", *USERGROUP_TAKEN),
    _errors("/usergroups.enable", "post", "no_such_subteam"),
    # specs/README.md: reply_users may hold bot IDs (B...), not only the file's user IDs.
    (
        ("definitions", "objs_message", "properties", "reply_users", "items"),
        {"type": "string", "pattern": "^[UWB][A-Z0-9]{2,}$"},
    ),
)

# --- what the fake checks by hand (the file's `blocks` is "a very loose definition") --------------

BLOCK_TYPES = {"section", "context", "header", "divider", "actions", "image", "rich_text"}


def block_problems(blocks: Any) -> list[str]:
    """Block Kit limits the live API enforces (docs.slack.dev/reference/block-kit)."""
    if not isinstance(blocks, list) or len(blocks) > 50:
        return ["blocks must be a list of at most 50"]
    problems, ids = [], set()
    for i, block in enumerate(blocks):
        kind = block.get("type") if isinstance(block, dict) else None
        if kind not in BLOCK_TYPES:
            problems.append(f"blocks[{i}]: unknown type {kind!r}")
            continue
        if (bid := block.get("block_id")) is not None:
            if bid in ids or len(bid) > 255:
                problems.append(f"blocks[{i}]: block_id {bid!r} repeated or too long")
            ids.add(bid)
        problems += [f"blocks[{i}]: {p}" for p in _text_problems(kind, block)]
    return problems


def _text_problems(kind: str, block: dict) -> list[str]:
    limit = {"section": 3000, "header": 150}.get(kind)
    texts = [block["text"]] if "text" in block else []
    if kind == "context":
        texts = block.get("elements", [])
        if not 1 <= len(texts) <= 10:
            return ["a context takes 1 to 10 elements"]
    problems = []
    for text in texts:
        kind_ok = isinstance(text, dict) and text.get("type") in ("plain_text", "mrkdwn")
        if not kind_ok or not isinstance(text.get("text"), str):
            problems.append(f"bad text object {text!r}")
        elif kind == "header" and text["type"] != "plain_text":
            problems.append("a header's text must be plain_text")
        elif limit and len(text["text"]) > limit:
            problems.append(f"text longer than {limit}")
    return problems


def _metadata_ok(meta: Any) -> bool:
    return (
        isinstance(meta, dict)
        and isinstance(meta.get("event_type"), str)
        and bool(meta["event_type"])
        and isinstance(meta.get("event_payload"), dict)
    )


# --- the fake -----------------------------------------------------------------------------------


class SlackFake(FakeService):
    """Slack's Web API over loopback HTTP, with a workspace held in memory."""

    spec = "slack-web.json"
    env_var = "SLACK_API_URL"
    spec_patches = SPEC_PATCHES
    # specs/README.md: every method also takes POST, with arguments in a form or JSON body.
    method_fallbacks = (("POST", "GET"),)
    args_anywhere = True
    # The file declares `token` as an argument; slack_sdk sends Authorization: Bearer (checked
    # by hand in `_auth`).
    ignore_params = (("header", "token"), ("query", "token"), ("formData", "token"))

    def __init__(self, **kw):
        super().__init__(**kw)
        self.token = TOKEN
        self.now: datetime | None = None  # the clock messages are stamped with (None: real time)
        self.users: dict[str, dict] = {}
        self.channels: dict[str, dict] = {}  # id -> internal record, messages included
        self.usergroups: dict[str, dict] = {}
        self.ims: dict[str, str] = {}  # user ID -> DM channel ID
        self._ids = itertools.count(1)
        self._last_ts = 0.0
        self.add_user(BOT_USER, "support-hero@bots.kestrel.example", "Support Hero bot", bot=True)

    def env(self) -> dict[str, str]:
        return super().env() | {"SLACK_BOT_TOKEN": self.token}

    def is_read(self, method: str, path: str) -> bool:
        return path.strip("/") in READ_METHODS

    def response_key(self, method: str, template: str, status: int, body: Any) -> str:
        # Slack answers errors as 200 {"ok": false}: those are the documented "default" response.
        if isinstance(body, dict) and body.get("ok") is False:
            return "default"
        return super().response_key(method, template, status, body)

    def error_body(self, status: int) -> Any:
        error = {429: "ratelimited", 400: "invalid_arguments"}.get(status, "fatal_error")
        return {"ok": False, "error": error}

    # -- seeding

    def _new_id(self, prefix: str) -> str:
        return f"{prefix}0FAKE{next(self._ids):05d}"

    def add_user(
        self, user_id: str, email: str, name: str, tz: str = "Europe/London", bot: bool = False
    ) -> dict:
        profile = {
            "real_name": name,
            "display_name": name.split()[0],
            "avatar_hash": "",
            "real_name_normalized": name,
            "display_name_normalized": name.split()[0],
            "title": "",
            "phone": "",
            "skype": "",
            "status_text": "",
            "status_emoji": "",
            "fields": {},
            "email": email,
        }
        user = {
            "id": user_id,
            "team_id": TEAM,
            "name": email.split("@")[0],
            "real_name": name,
            "tz": tz,
            "profile": profile,
            "is_bot": bot,
            "is_app_user": False,
            "deleted": False,
            "updated": int(time.time()),
        }
        with self.lock:
            self.users[user_id] = user
        return user

    def add_channel(
        self, channel_id: str, name: str, members: Iterable[str] = (BOT_USER,), topic: str = ""
    ) -> dict:
        record = {
            "id": channel_id,
            "name": name,
            "members": set(members),
            "messages": [],
            "topic": {"value": topic, "creator": "", "last_set": 0},
            "im_user": None,
        }
        with self.lock:
            self.channels[channel_id] = record
        return record

    def add_usergroup(self, handle: str, name: str, users: Iterable[str] = ()) -> dict:
        now, users = int(self._epoch()), list(users)
        group = {
            "id": self._new_id("S"),
            "team_id": TEAM,
            "is_usergroup": True,
            "is_subteam": True,
            "name": name,
            "description": "",
            "handle": handle,
            "is_external": False,
            "date_create": now,
            "date_update": now,
            "date_delete": 0,
            "auto_type": None,
            "auto_provision": False,
            "enterprise_subteam_id": "",
            "created_by": BOT_USER,
            "updated_by": BOT_USER,
            "deleted_by": None,
            "prefs": {"channels": [], "groups": []},
            "users": users,
            "user_count": len(users),
        }
        with self.lock:
            self.usergroups[group["id"]] = group
        return group

    def seed_from_rotation(self, rot, missing: Iterable[str] = ()) -> dict[str, str]:
        """Everyone in rotation.yaml as a Slack user (but `missing`), and the support channel.

        Returns handle -> user ID: the person's `slack` ID, or one made from the handle.
        """
        ids = {}
        for handle, person in rot.people.items():
            ids[handle] = person.slack or ("U" + handle.upper().replace("-", "")).ljust(9, "0")
            if handle not in missing:
                self.add_user(
                    ids[handle], person.email, person.name, person.timezone or rot.timezone
                )
        channel = (rot.settings.get("slack") or {}).get("channel")
        if channel:
            self.add_channel(channel, "support")
        return ids

    # -- time and ids

    def _epoch(self) -> float:
        return self.now.timestamp() if self.now else time.time()

    def _ts(self) -> str:
        """A fresh message timestamp on the fake's clock, unique and increasing."""
        self._last_ts = max(self._epoch(), self._last_ts + 0.000001)
        return f"{self._last_ts:.6f}"

    # -- the read and write helpers every handler shares

    def _channel(self, channel_id: str | None) -> dict | None:
        if channel_id in self.ims:  # a user ID posts to the bot's DM with them
            channel_id = self.ims[channel_id]
        return self.channels.get(channel_id or "")

    def _message_out(self, msg: dict, metadata: bool) -> dict:
        out = {k: v for k, v in msg.items() if not k.startswith("_")}
        if not metadata:
            out.pop("metadata", None)
        return out

    def _im(self, user_id: str) -> dict:
        if user_id not in self.ims:
            dm = self.add_channel(self._new_id("D"), "", members={BOT_USER, user_id})
            dm["im_user"] = user_id
            self.ims[user_id] = dm["id"]
        return self.channels[self.ims[user_id]]

    def _conversation(self, ch: dict) -> dict:
        """The conversation object the methods answer (public channel or IM shape)."""
        if ch["im_user"]:
            return {
                "id": ch["id"],
                "created": 0,
                "is_im": True,
                "is_org_shared": False,
                "user": ch["im_user"],
                "priority": 0,
            }
        return {
            "id": ch["id"],
            "name": ch["name"],
            "name_normalized": ch["name"],
            "created": 0,
            "creator": BOT_USER,
            "is_archived": False,
            "is_channel": True,
            "is_general": False,
            "is_mpim": False,
            "is_group": False,
            "is_org_shared": False,
            "is_im": False,
            "is_shared": False,
            "is_private": False,
            "is_member": BOT_USER in ch["members"],
            "topic": dict(ch["topic"]),
            "purpose": {"value": "", "creator": "", "last_set": 0},
        }

    def messages(self, channel_id: str) -> list[dict]:
        """Top-level messages of a channel, oldest first (for test assertions)."""
        with self.lock:
            ch = self._channel(channel_id)
            return [m for m in ch["messages"] if m.get("thread_ts", m["ts"]) == m["ts"]]

    def dm_messages(self, user_id: str) -> list[dict]:
        with self.lock:
            return self.messages(self.ims[user_id]) if user_id in self.ims else []

    def group(self, handle: str) -> dict | None:
        with self.lock:
            return next((g for g in self.usergroups.values() if g["handle"] == handle), None)

    # -- chat

    @route("POST", "/chat.postMessage")
    @authorized
    def post_message(self, req):
        args = req.args
        ch = self._channel(args.get("channel"))
        if ch is None:
            return 200, {"ok": False, "error": "channel_not_found"}
        if BOT_USER not in ch["members"]:
            return 200, {"ok": False, "error": "not_in_channel"}
        fields, error = self._content(args)
        if error:
            return 200, {"ok": False, "error": error}
        msg = {
            "type": "message",
            "ts": self._ts(),
            "user": BOT_USER,
            "bot_id": BOT_ID,
            "app_id": APP_ID,
            "team": TEAM,
            **fields,
        }
        if thread_ts := args.get("thread_ts"):
            parent = next((m for m in ch["messages"] if m["ts"] == thread_ts), None)
            if parent is None:
                return 200, {"ok": False, "error": "thread_not_found"}
            self._reply_to(parent, msg)
        ch["messages"].append(msg)
        return 200, {
            "ok": True,
            "channel": ch["id"],
            "ts": msg["ts"],
            "message": self._message_out(msg, True),
        }

    def _content(self, args) -> tuple[dict, str | None]:
        """text, blocks and metadata of a post or update, or the error the live API gives."""
        fields = {}
        text, blocks, meta = args.get("text"), _json_arg(args.get("blocks")), args.get("metadata")
        if text is None and blocks is None:
            return {}, "no_text"
        if text is not None and len(text) > 40000:
            return {}, "msg_too_long"
        if blocks is not None:
            if problems := block_problems(blocks):
                self.violation(f"invalid Block Kit: {problems}")
                return {}, "invalid_blocks"
            fields["blocks"] = blocks
        if meta is not None:
            meta = _json_arg(meta)
            if not _metadata_ok(meta):
                return {}, "invalid_metadata_format"
            fields["metadata"] = meta
        fields["text"] = text or ""
        return fields, None

    def _reply_to(self, parent: dict, reply: dict) -> None:
        reply["thread_ts"] = parent["ts"]
        reply["parent_user_id"] = parent.get("user", BOT_USER)
        parent["thread_ts"] = parent["ts"]
        parent["reply_count"] = parent.get("reply_count", 0) + 1
        # specs/README.md: reply_users may hold a bot's ID (B...) for a bot's reply
        users = parent.setdefault("reply_users", [])
        replier = reply.get("user") or reply.get("bot_id")
        if replier not in users:
            users.append(replier)
        parent["reply_users_count"] = len(users)
        parent["latest_reply"] = reply["ts"]

    def add_message(
        self,
        channel_id: str,
        user: str | None,
        text: str,
        thread_ts: str | None = None,
        *,
        broadcast: bool = False,
        **extra,
    ) -> dict:
        """A message by someone else (a customer, a teammate, a bot with `bot_id=` and no user),
        e.g. to seed a thread; `broadcast`: a thread reply sent also to the channel."""
        with self.lock:
            ch = self._channel(channel_id)
            msg = {"type": "message", "ts": self._ts(), "text": text, **extra}
            if user:
                msg["user"] = user
            if broadcast:
                msg["subtype"] = "thread_broadcast"
            if thread_ts:
                self._reply_to(next(m for m in ch["messages"] if m["ts"] == thread_ts), msg)
            ch["messages"].append(msg)
            return msg

    @route("POST", "/chat.update")
    @authorized
    def update_message(self, req):
        args = req.args
        ch = self._channel(args.get("channel"))
        if ch is None:
            return 200, {"ok": False, "error": "channel_not_found"}
        msg = next((m for m in ch["messages"] if m["ts"] == args.get("ts")), None)
        if msg is None:
            return 200, {"ok": False, "error": "message_not_found"}
        if msg.get("bot_id") != BOT_ID:
            return 200, {"ok": False, "error": "cant_update_message"}
        fields, error = self._content(args)
        if error:
            return 200, {"ok": False, "error": error}
        msg.update(fields)  # metadata left out of an update stays as it was
        msg["edited"] = {"user": BOT_USER, "ts": self._ts()}
        out = {"text": msg["text"], **({"blocks": msg["blocks"]} if "blocks" in msg else {})}
        return 200, {
            "ok": True,
            "channel": ch["id"],
            "ts": msg["ts"],
            "text": msg["text"],
            "message": out,
        }

    @route("POST", "/chat.getPermalink")
    @route("GET", "/chat.getPermalink")
    @authorized
    def permalink(self, req):
        args = req.args
        ch = self._channel(args.get("channel"))
        if ch is None:
            return 200, {"ok": False, "error": "channel_not_found"}
        ts = args.get("message_ts", "")
        if not any(m["ts"] == ts for m in ch["messages"]):
            return 200, {"ok": False, "error": "message_not_found"}
        url = f"{WORKSPACE_URL}/archives/{ch['id']}/p{ts.replace('.', '')}"
        return 200, {"ok": True, "channel": ch["id"], "permalink": url}

    # -- conversations

    @route("POST", "/conversations.history")
    @route("GET", "/conversations.history")
    @authorized
    def history(self, req):
        args = req.args
        ch = self._channel(args.get("channel"))
        if ch is None:
            return 200, {"ok": False, "error": "channel_not_found"}
        inclusive = _flag(args.get("inclusive"))
        oldest, latest = float(args.get("oldest") or 0), float(args.get("latest") or 1e10)
        # specs/README.md: a reply sent "also to the channel" is listed too, as a message with
        # subtype thread_broadcast whose thread_ts is its parent's
        top = [
            m
            for m in ch["messages"]
            if m.get("thread_ts", m["ts"]) == m["ts"] or m.get("subtype") == "thread_broadcast"
        ]
        within = [m for m in top if _between(float(m["ts"]), oldest, latest, inclusive)]
        page, more, cursor = _page(within[::-1], args)
        meta = _flag(args.get("include_all_metadata"))
        return 200, {
            "ok": True,
            "messages": [self._message_out(m, meta) for m in page],
            "has_more": more,
            "pin_count": 0,
            "channel_actions_ts": None,
            "channel_actions_count": 0,
            "response_metadata": {"next_cursor": cursor},
        }

    @route("POST", "/conversations.replies")
    @route("GET", "/conversations.replies")
    @authorized
    def replies(self, req):
        args = req.args
        ch = self._channel(args.get("channel"))
        if ch is None:
            return 200, {"ok": False, "error": "channel_not_found"}
        ts = args.get("ts")
        thread = [m for m in ch["messages"] if m["ts"] == ts or m.get("thread_ts") == ts]
        if not thread:
            return 200, {"ok": False, "error": "thread_not_found"}
        thread.sort(key=lambda m: float(m["ts"]))
        page, more, cursor = _page(thread, args)
        meta = _flag(args.get("include_all_metadata"))
        out = [self._thread_message(m, meta) for m in page]
        return 200, {
            "ok": True,
            "messages": out,
            "has_more": more,
            "response_metadata": {"next_cursor": cursor},
        }

    def _thread_message(self, msg: dict, metadata: bool) -> dict:
        """A message in the shape conversations.replies documents (parent or reply)."""
        keep = {
            "type",
            "user",
            "text",
            "ts",
            "thread_ts",
            "bot_id",
            "app_id",
            "blocks",
            "metadata",
            "team",
        }
        if msg.get("thread_ts") == msg["ts"] or "thread_ts" not in msg:
            keep |= {"reply_count", "reply_users", "reply_users_count", "latest_reply"}
            out = {k: v for k, v in msg.items() if k in keep}
            out.setdefault("thread_ts", msg["ts"])
            out.setdefault("reply_count", 0)
            out["subscribed"] = False
        else:
            out = {k: v for k, v in msg.items() if k in keep | {"parent_user_id"}}
        if not metadata:
            out.pop("metadata", None)
        return out

    @route("POST", "/conversations.info")
    @route("GET", "/conversations.info")
    @authorized
    def info(self, req):
        ch = self._channel(req.args.get("channel"))
        if ch is None:
            return 200, {"ok": False, "error": "channel_not_found"}
        return 200, {"ok": True, "channel": self._conversation(ch)}

    @route("POST", "/conversations.setTopic")
    @authorized
    def set_topic(self, req):
        args = req.args
        ch = self._channel(args.get("channel"))
        if ch is None:
            return 200, {"ok": False, "error": "channel_not_found"}
        if BOT_USER not in ch["members"]:
            return 200, {"ok": False, "error": "not_in_channel"}
        topic = args.get("topic") or ""
        if len(topic) > 250:
            return 200, {"ok": False, "error": "too_long"}
        ch["topic"] = {"value": topic, "creator": BOT_USER, "last_set": int(self._epoch())}
        # As in Slack, the change shows in the channel as a channel_topic message.
        ch["messages"].append(
            {
                "type": "message",
                "subtype": "channel_topic",
                "ts": self._ts(),
                "user": BOT_USER,
                "topic": topic,
                "text": f"set the channel topic: {topic}",
            }
        )
        return 200, {"ok": True, "channel": self._conversation(ch)}

    @route("POST", "/conversations.open")
    @authorized
    def open_dm(self, req):
        users = [u for u in (req.args.get("users") or "").split(",") if u]
        if not users:
            return 200, {"ok": False, "error": "users_list_not_supplied"}
        if len(users) > 1:  # group DMs are not modelled
            return 200, {"ok": False, "error": "too_many_users"}
        if users[0] not in self.users:
            return 200, {"ok": False, "error": "user_not_found"}
        existed = users[0] in self.ims
        dm = self._im(users[0])
        return 200, {"ok": True, "channel": {"id": dm["id"]}, "already_open": existed}

    # -- auth

    @route("POST", "/auth.test")
    @route("GET", "/auth.test")
    @authorized
    def auth_test(self, req):
        return 200, {
            "ok": True, "url": f"{WORKSPACE_URL}/", "team": "Kestrel", "user": "support-hero",
            "team_id": TEAM, "user_id": BOT_USER, "bot_id": BOT_ID,
        }  # fmt: skip

    # -- users

    @route("POST", "/users.lookupByEmail")
    @route("GET", "/users.lookupByEmail")
    @authorized
    def lookup_by_email(self, req):
        email = (req.args.get("email") or "").lower()
        user = next(
            (u for u in self.users.values() if u["profile"]["email"].lower() == email), None
        )
        if user is None:
            return 200, {"ok": False, "error": "users_not_found"}
        return 200, {"ok": True, "user": user}

    @route("POST", "/users.info")
    @route("GET", "/users.info")
    @authorized
    def user_info(self, req):
        user = self.users.get(req.args.get("user") or "")
        if user is None:
            return 200, {"ok": False, "error": "user_not_found"}
        return 200, {"ok": True, "user": user}

    # -- user groups

    @route("POST", "/usergroups.list")
    @route("GET", "/usergroups.list")
    @authorized
    def list_groups(self, req):
        """Disabled groups (date_delete set) only with include_disabled=true (specs/README.md)."""
        with_users = _flag(req.args.get("include_users"))
        disabled = _flag(req.args.get("include_disabled"))
        groups = [
            g if with_users else {k: v for k, v in g.items() if k != "users"}
            for g in self.usergroups.values()
            if disabled or not g["date_delete"]
        ]
        return 200, {"ok": True, "usergroups": groups}

    def disable_usergroup(self, group_id: str) -> None:
        """What an admin's "Disable" leaves: the group, its handle and members, hidden."""
        with self.lock:
            self.usergroups[group_id].update(date_delete=int(self._epoch()), deleted_by="U0ADMIN")

    @route("POST", "/usergroups.enable")
    @authorized
    def enable_group(self, req):
        group = self.usergroups.get(req.args.get("usergroup") or "")
        if group is None:
            return 200, {"ok": False, "error": "no_such_subteam"}
        group.update(date_delete=0, deleted_by=None, date_update=int(self._epoch()))
        return 200, {"ok": True, "usergroup": group}

    @route("POST", "/usergroups.users.list")
    @route("GET", "/usergroups.users.list")
    @authorized
    def group_users(self, req):
        group = self.usergroups.get(req.args.get("usergroup") or "")
        if group is None:
            return 200, {"ok": False, "error": "no_such_subteam"}
        return 200, {"ok": True, "users": list(group["users"])}

    @route("POST", "/usergroups.users.update")
    @authorized
    def update_group_users(self, req):
        args = req.args
        group = self.usergroups.get(args.get("usergroup") or "")
        if group is None:
            return 200, {"ok": False, "error": "no_such_subteam"}
        users = [u for u in (args.get("users") or "").split(",") if u]
        if not users:
            return 200, {"ok": False, "error": "no_users_provided"}
        if any(u not in self.users for u in users):
            return 200, {"ok": False, "error": "invalid_users"}
        # Slack does not say whether a disabled group can be edited; the fake refuses (stricter)
        if group["date_delete"]:
            return 200, {"ok": False, "error": "no_such_subteam"}
        group.update(users=users, user_count=len(users), date_update=int(self._epoch()))
        return 200, {"ok": True, "usergroup": group}

    @route("POST", "/usergroups.create")
    @authorized
    def create_group(self, req):
        args = req.args
        name, handle = args.get("name") or "", args.get("handle") or ""
        if not name:
            return 200, {"ok": False, "error": "missing_subteam_name"}
        for g in self.usergroups.values():  # disabled groups hold their name and handle too
            if g["name"] == name:
                return 200, {"ok": False, "error": "name_already_exists"}
            if handle and g["handle"] == handle:
                return 200, {"ok": False, "error": "handle_already_exists"}
        group = self.add_usergroup(handle or name.lower().replace(" ", "-"), name)
        group["description"] = args.get("description") or ""
        return 200, {"ok": True, "usergroup": group}


def _json_arg(value: Any) -> Any:
    """A structured argument: native in a JSON body, a JSON string in a form."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _flag(value: Any) -> bool:
    return value in (True, 1, "1", "true", "True")


def _between(ts: float, oldest: float, latest: float, inclusive: bool) -> bool:
    if inclusive:
        return oldest <= ts <= latest
    return oldest < ts < latest


def _page(items: list, args) -> tuple[list, bool, str]:
    """One page by `limit` and an opaque `cursor` (an offset here), as Slack pages."""
    start = int(args.get("cursor") or 0)
    limit = min(int(args.get("limit") or 100), 999)
    page = items[start : start + limit]
    more = start + limit < len(items)
    return page, more, str(start + limit) if more else ""
