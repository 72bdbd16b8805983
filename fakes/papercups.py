"""Stateful fake of the Papercups API: conversations, messages, customers, tags and sessions.

Validated against fakes/papercups-openapi.json (transcribed from specs/papercups-api.md).
Seed it from plain data (`seed`), from a rotation (`seed_from_rotation`, for the demo), or with
the `add_*` helpers; serve it outside pytest with `python -m fakes.serve papercups`.
"""

from __future__ import annotations

import base64
import itertools
import json
import random
import uuid
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from fakes.base import FakeService, route

SPEC_PATH = Path(__file__).with_name("papercups-openapi.json")
PAGE_MAX = 50  # conversations and customers: at most 50 a page
DEFAULT_KEY = "fake-papercups-api-key"
DEFAULT_PASSWORD = "fake-papercups-password"
_NS = uuid.UUID("6a6f5adc-0000-4000-8000-000000000000")


def _error(status: int, message: str) -> tuple[int, dict]:
    return status, {"error": {"status": status, "message": message}}


def naive(instant: datetime) -> str:
    """Ecto `timestamps()` (created_at): UTC without an offset."""
    return instant.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="seconds")


def utc(instant: datetime | None) -> str | None:
    """Ecto `:utc_datetime` fields: UTC with Z."""
    return None if instant is None else naive(instant) + "Z"


def parse_time(value: str | datetime) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _cursor(conv: dict) -> str:
    key = json.dumps([conv["last_activity_at"].isoformat(), conv["id"]])
    return base64.urlsafe_b64encode(key.encode()).decode()


def _uncursor(text: str) -> tuple[datetime, str] | None:
    try:
        at, cid = json.loads(base64.urlsafe_b64decode(text.encode()))
        return parse_time(at), cid
    except (ValueError, TypeError):
        return None


def _newest_first(conv: dict) -> tuple:
    return (-conv["last_activity_at"].timestamp(), conv["id"])


class PapercupsFake(FakeService):
    """Papercups: /api/v1 with a bearer API key, tag attach/detach with a session token."""

    spec = str(SPEC_PATH)
    env_var = "PAPERCUPS_API_URL"

    def __init__(self, api_key: str = DEFAULT_KEY, clock: datetime | None = None, **kw):
        super().__init__(**kw)
        self.api_key = api_key
        self.clock = clock  # the fake's "now" (closed_at); None: real time
        self._ids = itertools.count(1)
        self.accounts: list[str] = []
        self.users: dict[int, dict] = {}  # id -> {id, email, display_name, full_name, ...}
        self.api_keys: dict[str, int] = {}  # key -> user id
        self.sessions: dict[str, int] = {}  # session token -> user id
        self.customers: dict[str, dict] = {}
        self.customer_tags: dict[str, set[str]] = {}
        self.tags: dict[str, dict] = {}
        self.conversations: dict[str, dict] = {}
        self.messages: dict[str, dict] = {}
        self.account = self.add_account()
        self.owner = self.add_user("owner@papercups.test", "Account Owner", api_key=api_key)

    def now(self) -> datetime:
        return self.clock or datetime.now(UTC)

    def env(self) -> dict[str, str]:
        return super().env() | {"PAPERCUPS_TOKEN": self.api_key}

    def error_body(self, status: int) -> dict:
        return {"error": {"status": status, "message": "fake error"}}

    def _new_id(self, kind: str) -> str:
        return str(uuid.uuid5(_NS, f"{kind}:{next(self._ids)}"))

    # -- seeding (tests, the demo)

    def add_account(self) -> str:
        with self.lock:
            account = self._new_id("account")
            self.accounts.append(account)
            return account

    def add_user(
        self,
        email: str,
        name: str = "",
        *,
        password: str = DEFAULT_PASSWORD,
        api_key: str | None = None,
        account: str | None = None,
    ) -> int:
        """A team member (agent); optionally with a personal API key."""
        with self.lock:
            uid = 1 + max(self.users, default=0)
            self.users[uid] = {
                "id": uid,
                "email": email,
                "display_name": name.split(" ")[0] if name else None,
                "full_name": name or None,
                "password": password,
                "account_id": account or self.account,
            }
            if api_key:
                self.api_keys[api_key] = uid
            return uid

    def user_id(self, email: str) -> int:
        return next(u["id"] for u in self.users.values() if u["email"] == email)

    def add_customer(
        self,
        email: str | None,
        name: str | None = None,
        *,
        metadata: Mapping | None = None,
        external_id: str | None = None,
        company_id: str | None = None,
        tags: Iterable[str] = (),
        account: str | None = None,
    ) -> str:
        with self.lock:
            cid = self._new_id("customer")
            self.customers[cid] = {
                "id": cid,
                "name": name,
                "email": email,
                "external_id": external_id,
                "company_id": company_id,
                "metadata": dict(metadata) if metadata is not None else None,
                "last_seen_at": None,
                "created_at": self.now(),
                "account_id": account or self.account,
            }
            self.customer_tags[cid] = {self.tag_id(t, create=True) for t in tags}
            return cid

    def customer_id(self, email: str) -> str:
        return next(c["id"] for c in self.customers.values() if c["email"] == email)

    def add_tag(
        self,
        name: str,
        description: str | None = None,
        color: str | None = None,
        account: str | None = None,
    ) -> str:
        with self.lock:
            tid = self._new_id("tag")
            self.tags[tid] = {
                "id": tid,
                "name": name,
                "description": description,
                "color": color,
                "account_id": account or self.account,
            }
            return tid

    def tag_id(self, name: str, create: bool = False) -> str:
        found = next((t["id"] for t in self.tags.values() if t["name"] == name), None)
        return found or (self.add_tag(name) if create else "")

    def add_conversation(
        self,
        customer: str,
        created_at: datetime,
        *,
        status: str = "open",
        priority: str = "not_priority",
        subject: str | None = None,
        inbox_id: str | None = None,
        archived: bool = False,
        source: str = "chat",
    ) -> str:
        """A conversation of `customer` (an id); add its messages with `add_message`."""
        with self.lock:
            cust = self.customers[customer]
            cid = self._new_id("conversation")
            self.conversations[cid] = {
                "id": cid,
                "source": source,
                "created_at": created_at,
                "closed_at": created_at if status == "closed" else None,
                "last_activity_at": created_at,
                "status": status,
                "read": True,
                "priority": priority,
                "subject": subject,
                "account_id": cust["account_id"],
                "customer_id": customer,
                "assignee_id": None,
                "inbox_id": inbox_id,
                "metadata": None,
                "archived_at": created_at if archived else None,
                "message_ids": [],
                "tag_ids": set(),
            }
            return cid

    def add_message(
        self,
        conversation: str,
        at: datetime,
        author: str | int = "customer",
        body: str = "",
        *,
        private: bool = False,
    ) -> str:
        """`author`: "customer", "bot", or an agent (user id or email).

        As Papercups does: a customer message marks the conversation unread and reopens it; an
        agent's reply marks it read; every message moves last_activity_at.
        """
        with self.lock:
            conv = self.conversations[conversation]
            uid = self._author_user(author)
            mid = self._new_id("message")
            self.messages[mid] = {
                "id": mid,
                "body": body,
                "type": "bot" if author == "bot" else ("note" if private else "reply"),
                "content_type": "text",
                "private": private,
                "source": conv["source"],
                "created_at": at,
                "sent_at": at,
                "seen_at": None,
                "conversation_id": conversation,
                "account_id": conv["account_id"],
                "user_id": uid,
                "customer_id": conv["customer_id"] if author == "customer" else None,
                "metadata": None,
            }
            conv["message_ids"].append(mid)
            conv["last_activity_at"] = max(conv["last_activity_at"], at)
            if author == "customer":
                conv.update(read=False, status="open", closed_at=None)
            elif uid is not None and not private:
                conv["read"] = True
            return mid

    def _author_user(self, author: str | int) -> int | None:
        if author in ("customer", "bot"):
            return None
        return author if isinstance(author, int) else self.user_id(author)

    def seed(self, data: Mapping[str, Any]) -> dict[str, str]:
        """Seed from plain data; answers the conversation ids by their "key" (or index).

        {"users": [{"email", "name"?, "password"?}], "tags": [{"name", "description"?, "color"?}],
         "customers": [{"email", "name"?, "metadata"?, "external_id"?, "tags"?: [names]}],
         "conversations": [{"key"?, "customer": email, "status"?, "priority"?, "subject"?,
                            "inbox_id"?, "archived"?, "messages": [{"at", "from"?: "customer" |
                            "bot" | agent email, "body"?, "private"?}]}]}
        """
        for u in data.get("users", ()):
            self.add_user(
                u["email"], u.get("name", ""), password=u.get("password", DEFAULT_PASSWORD)
            )
        for t in data.get("tags", ()):
            self.add_tag(t["name"], t.get("description"), t.get("color"))
        for c in data.get("customers", ()):
            self.add_customer(
                c["email"],
                c.get("name"),
                metadata=c.get("metadata"),
                external_id=c.get("external_id"),
                tags=c.get("tags", ()),
            )
        return {
            c.get("key", str(i)): self._seed_conversation(c)
            for i, c in enumerate(data.get("conversations", ()))
        }

    def _seed_conversation(self, c: Mapping[str, Any]) -> str:
        messages = sorted((parse_time(m["at"]), i, m) for i, m in enumerate(c.get("messages", ())))
        cid = self.add_conversation(
            self.customer_id(c["customer"]),
            messages[0][0] if messages else self.now(),
            priority=c.get("priority", "not_priority"),
            subject=c.get("subject"),
            inbox_id=c.get("inbox_id"),
            archived=c.get("archived", False),
        )
        for at, _, m in messages:
            author = m.get("from", "customer")
            self.add_message(cid, at, author, m.get("body", ""), private=m.get("private", False))
        if c.get("status") == "closed":  # after the messages: a customer message reopens it
            self.conversations[cid].update(status="closed", closed_at=self.now())
        return cid

    def seed_from_rotation(self, rot, now: datetime | None = None) -> dict[str, str]:
        """The rotation's people as agents (password DEFAULT_PASSWORD), a demo inbox around now."""
        agents = [{"email": p.email, "name": p.name} for p in rot.people.values()]
        self.seed({"users": agents})
        return self.seed(demo_inbox(agents[0]["email"], now or self.now()))

    # -- reading state (tests)

    def conversation(self, cid: str) -> dict:
        return self.conversations[cid]

    def customer_tag_names(self, cid: str) -> set[str]:
        return {self.tags[t]["name"] for t in self.customer_tags[cid]}

    # -- auth

    def _api_user(self, req) -> dict | None:
        """/api/v1: `Authorization: Bearer <personal API key>`."""
        scheme, _, key = (req.authorization or "").partition(" ")
        uid = self.api_keys.get(key) if scheme == "Bearer" else None
        return self.users.get(uid) if uid else None

    def _session_user(self, req) -> dict | None:
        """Outside /api/v1: the session token as is; no "Bearer", and API keys are refused."""
        uid = self.sessions.get(req.authorization or "")
        return self.users.get(uid) if uid else None

    # -- JSON views

    def _customer_json(self, cust: dict, tags: bool = False) -> dict:
        out = {k: v for k, v in cust.items() if k not in ("account_id", "created_at")}
        out |= {
            "object": "customer",
            "created_at": naive(cust["created_at"]),
            "last_seen_at": utc(cust["last_seen_at"]),
        }
        if tags:
            out["tags"] = [self._tag_json(t) for t in sorted(self.customer_tags[cust["id"]])]
        return out

    def _tag_json(self, tid: str) -> dict:
        return {k: v for k, v in self.tags[tid].items() if k != "account_id"}

    def _user_json(self, uid: int | None) -> dict | None:
        if uid is None:
            return None
        return {k: v for k, v in self.users[uid].items() if k not in ("password", "account_id")}

    def _message_json(self, msg: dict) -> dict:
        cust = self.customers.get(msg["customer_id"] or "")
        return msg | {
            "created_at": naive(msg["created_at"]),
            "sent_at": utc(msg["sent_at"]),
            "seen_at": utc(msg["seen_at"]),
            "user": self._user_json(msg["user_id"]),
            "customer": self._customer_json(cust) if cust else None,
            "attachments": [],
        }

    def _conversation_json(self, conv: dict, tags: bool) -> dict:
        internal = ("archived_at", "message_ids", "tag_ids")
        out = {k: v for k, v in conv.items() if k not in internal}
        return out | {
            "object": "conversation",
            "created_at": naive(conv["created_at"]),
            "closed_at": utc(conv["closed_at"]),
            "last_activity_at": utc(conv["last_activity_at"]),
            "customer": self._customer_json(self.customers[conv["customer_id"]]),
            "messages": [self._message_json(self.messages[m]) for m in self._shuffled(conv)],
            "tags": [self._tag_json(t) for t in sorted(conv["tag_ids"])] if tags else [],
        }

    @staticmethod
    def _shuffled(conv: dict) -> list[str]:
        """Papercups guarantees no order of `messages`: a fixed shuffle, never the sorted one."""
        ids = list(conv["message_ids"])
        random.Random(conv["id"]).shuffle(ids)
        if len(ids) > 1 and ids == conv["message_ids"]:
            ids.reverse()
        return ids

    # -- conversations

    @route("GET", "/api/v1/conversations")
    def list_conversations(self, req):
        user = self._api_user(req)
        if user is None:
            return _error(401, "Invalid token")
        found = sorted(self._matching(req, user["account_id"]), key=_newest_first)
        limit = min(int(req.query.get("limit", PAGE_MAX)), PAGE_MAX)
        start = 0
        if after := req.query.get("after"):
            key = _uncursor(after)
            if key is None:
                self.violation(f"GET /api/v1/conversations: after={after!r} is no cursor we gave")
                return _error(422, "Invalid cursor")
            at, cid = key
            start = sum(_newest_first(c) <= (-at.timestamp(), cid) for c in found)
        page = found[start : start + limit]
        more = start + limit < len(found)
        return 200, {
            "data": [self._conversation_json(c, tags=False) for c in page],
            "next": _cursor(page[-1]) if more and page else None,
            "previous": _cursor(page[0]) if start and page else None,
            "limit": limit,
            "total": len(found),
        }

    def _matching(self, req, account: str) -> list[dict]:
        q = req.query
        wanted = {
            "status": q.get("status"),
            "priority": q.get("priority"),
            "inbox_id": q.get("inbox_id"),
            "assignee_id": int(q["assignee_id"]) if q.get("assignee_id") else None,
        }
        out = []
        for conv in self.conversations.values():
            if conv["account_id"] != account or conv["archived_at"] is not None:
                continue
            if any(v is not None and conv[k] != v for k, v in wanted.items()):
                continue
            if q.get("read") is not None and conv["read"] != (q["read"].lower() == "true"):
                continue
            if q.get("tag_id") and q["tag_id"] not in conv["tag_ids"]:
                continue
            out.append(conv)
        return out

    def _own_conversation(self, req, id) -> tuple[dict | None, tuple | None]:
        user = self._api_user(req)
        if user is None:
            return None, _error(401, "Invalid token")
        conv = self.conversations.get(id)
        if conv is None or conv["account_id"] != user["account_id"]:
            return None, _error(404, "Not found")
        return conv, None

    @route("GET", "/api/v1/conversations/{id}")
    def get_conversation(self, req, id):
        conv, refused = self._own_conversation(req, id)
        return refused or (200, {"data": self._conversation_json(conv, tags=True)})

    @route("PUT", "/api/v1/conversations/{id}")
    def update_conversation(self, req, id):
        conv, refused = self._own_conversation(req, id)
        if refused:
            return refused
        changes = req.json["conversation"]
        if "status" in changes and changes["status"] != conv["status"]:
            conv["closed_at"] = self.now() if changes["status"] == "closed" else None
        conv.update(changes)
        return 200, {"data": self._conversation_json(conv, tags=True)}

    # -- customers

    @route("GET", "/api/v1/customers")
    def list_customers(self, req):
        user = self._api_user(req)
        if user is None:
            return _error(401, "Invalid token")
        q = req.query
        found = [
            c
            for c in self.customers.values()
            if c["account_id"] == user["account_id"]
            and all(q.get(k) in (None, c[k]) for k in ("email", "external_id", "company_id"))
            and (not q.get("tag_id") or q["tag_id"] in self.customer_tags[c["id"]])
        ]
        size = min(int(q.get("page_size", PAGE_MAX)), PAGE_MAX)
        number = int(q.get("page", 1))
        page = found[(number - 1) * size : number * size]
        return 200, {
            "data": [self._customer_json(c) for c in page],
            "page_number": number,
            "page_size": size,
            "total_pages": max(1, -(-len(found) // size)),
            "total_entries": len(found),
        }

    def _own_customer(self, user: dict | None, id: str) -> tuple[dict | None, tuple | None]:
        if user is None:
            return None, _error(401, "Invalid token")
        cust = self.customers.get(id)
        if cust is None or cust["account_id"] != user["account_id"]:
            return None, _error(404, "Not found")
        return cust, None

    @route("GET", "/api/v1/customers/{id}")
    def get_customer(self, req, id):
        cust, refused = self._own_customer(self._api_user(req), id)
        return refused or (200, {"data": self._customer_json(cust, tags=True)})

    @route("PUT", "/api/v1/customers/{id}")
    def update_customer(self, req, id):
        cust, refused = self._own_customer(self._api_user(req), id)
        if refused:
            return refused
        cust.update(req.json["customer"])  # metadata is replaced, not merged, as Ecto casts a map
        return 200, {"data": self._customer_json(cust)}

    # -- tags

    @route("GET", "/api/v1/tags")
    def list_tags(self, req):
        user = self._api_user(req)
        if user is None:
            return _error(401, "Invalid token")
        own = [t for t, tag in self.tags.items() if tag["account_id"] == user["account_id"]]
        return 200, {"data": [self._tag_json(t) for t in own]}

    @route("POST", "/api/v1/tags")
    def create_tag(self, req):
        user = self._api_user(req)
        if user is None:
            return _error(401, "Invalid token")
        raw = req.json["tag"]
        taken = any(
            t["name"] == raw["name"] and t["account_id"] == user["account_id"]
            for t in self.tags.values()
        )
        if taken:
            return _error(422, "name has already been taken")
        tid = self.add_tag(
            raw["name"], raw.get("description"), raw.get("color"), account=user["account_id"]
        )
        return 201, {"data": self._tag_json(tid)}

    @route("POST", "/api/session")
    def create_session(self, req):
        creds = req.json["user"]
        user = next((u for u in self.users.values() if u["email"] == creds["email"]), None)
        if user is None or user["password"] != creds["password"]:
            return _error(401, "Invalid email or password")
        token = f"SFMyNTY.{uuid.uuid4().hex}"
        self.sessions[token] = user["id"]
        return 200, {"data": {"token": token, "renew_token": uuid.uuid4().hex}}

    def _tagging(self, req, owner: dict | None, tag_id: str | None):
        """Checks shared by the four attach/detach endpoints: session, ownership, the tag."""
        user = self._session_user(req)
        if user is None:
            return _error(401, "Invalid token")
        tag = self.tags.get(tag_id or "")
        mine = owner is not None and owner["account_id"] == user["account_id"]
        if not mine or tag is None or tag["account_id"] != user["account_id"]:
            return _error(404, "Not found")
        return None

    @route("POST", "/api/customers/{id}/tags")
    def add_customer_tag(self, req, id):
        tid = req.json["tag_id"]
        refused = self._tagging(req, self.customers.get(id), tid)
        if not refused:
            self.customer_tags[id].add(tid)
        return refused or (200, {"data": {"ok": True}})

    @route("DELETE", "/api/customers/{id}/tags/{tag_id}")
    def remove_customer_tag(self, req, id, tag_id):
        refused = self._tagging(req, self.customers.get(id), tag_id)
        if not refused:
            self.customer_tags[id].discard(tag_id)
        return refused or (200, {"data": {"ok": True}})

    @route("POST", "/api/conversations/{id}/tags")
    def add_conversation_tag(self, req, id):
        tid = req.json["tag_id"]
        conv = self.conversations.get(id)
        refused = self._tagging(req, conv, tid)
        if not refused:
            conv["tag_ids"].add(tid)
        return refused or (200, {"data": {"ok": True}})

    @route("DELETE", "/api/conversations/{id}/tags/{tag_id}")
    def remove_conversation_tag(self, req, id, tag_id):
        conv = self.conversations.get(id)
        refused = self._tagging(req, conv, tag_id)
        if not refused:
            conv["tag_ids"].discard(tag_id)
        return refused or (200, {"data": {"ok": True}})


def demo_inbox(agent: str, now: datetime) -> dict:
    """A few customers and conversations: late, a follow-up, fresh, one to close, a bot, a note."""

    def ago(**kw) -> str:
        return (now - timedelta(**kw)).isoformat()

    def said(at: str, body: str, by: str = "customer", private: bool = False) -> dict:
        return {"at": at, "from": by, "body": body, "private": private}

    customers = [
        ("ada@bigbank.example", "Ada Byron", {"tier": "focus"}),
        ("sam@shop.example", "Sam Okafor", {"tier": "subscriber"}),
        ("lee@hobby.example", "Lee <@channel> Park", None),
        ("kim@startup.example", "Kim Doe", {"tier": "subscriber"}),
    ]
    conversations = {
        "focus-late": ("ada@bigbank.example", [
            said(ago(minutes=50), "Our nightly export fails."),
            said(ago(minutes=45), "We'll be right with you!", by="bot"),
            said(ago(minutes=30), "looking into it", by=agent, private=True),
        ]),
        "follow-up": ("sam@shop.example", [
            said(ago(days=2), "Is SSO supported?"),
            said(ago(days=2, minutes=-20), "Yes, on every plan.", by=agent),
            said(ago(hours=30), "How do I turn it on?"),
        ]),
        "fresh": ("lee@hobby.example", [said(ago(minutes=5), "Hi! <!everyone> & co")]),
        "answered": ("kim@startup.example", [
            said(ago(days=9, hours=1), "A copy of my invoice, please"),
            said(ago(days=9), "Sent!", by=agent),
        ]),
    }  # fmt: skip
    return {
        "customers": [{"email": e, "name": n, "metadata": m} for e, n, m in customers],
        "conversations": [
            {"key": key, "customer": who, "messages": messages}
            for key, (who, messages) in conversations.items()
        ],
    }
