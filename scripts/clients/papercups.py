"""Thin adapter over requests for the Papercups API: bounded retries, paging, small dataclasses."""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import requests

from scripts import redaction
from scripts.clients.access import adapter, writes
from scripts.clients.http import (
    ServiceError,
    first_line,
    not_json,
    retrying_session,
    timeouts,
    transport_reason,
    wait_note,
)

DEFAULT_URL = "https://app.papercups.io"
PAGE = 50  # the most Papercups answers a page, for conversations and customers alike


class PapercupsError(ServiceError):
    """A Papercups request failed (after retries); never carries the credentials."""

    service = "Papercups"


@dataclass(frozen=True)
class Tag:
    id: str
    name: str
    description: str | None = None
    color: str | None = None


@dataclass(frozen=True)
class Customer:
    id: str
    name: str | None
    email: str | None
    external_id: str | None = None
    company_id: str | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)
    tags: tuple[Tag, ...] = ()  # only from customer(id): lists do not load tags


@dataclass(frozen=True)
class Message:
    """One message; `sender` as the API defines it: "bot", "agent" (a team member) or "customer"."""

    id: str
    created_at: datetime
    sender: str  # "bot" | "agent" | "customer"
    private: bool = False  # an internal note
    body: str = ""
    user_id: int | None = None
    user_email: str | None = None
    customer_id: str | None = None


@dataclass(frozen=True)
class Conversation:
    id: str
    status: str
    created_at: datetime
    last_activity_at: datetime
    read: bool = False
    priority: str = "not_priority"
    subject: str | None = None
    inbox_id: str | None = None
    assignee_id: int | None = None
    customer: Customer | None = None
    messages: tuple[Message, ...] = ()  # oldest first (the API guarantees no order)


@dataclass(frozen=True)
class ConversationList:
    conversations: tuple[Conversation, ...]
    total: int  # as the API counts them
    complete: bool  # False when max_pages stopped the paging early


def parse_time(text: str | None) -> datetime | None:
    """ISO 8601; `created_at` comes without an offset (Ecto naive timestamps), meaning UTC."""
    if not text:
        return None
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _customer(raw: Mapping) -> Customer:
    return Customer(
        id=raw["id"],
        name=raw.get("name"),
        email=raw.get("email"),
        external_id=raw.get("external_id"),
        company_id=raw.get("company_id"),
        metadata=raw.get("metadata") or {},
        tags=tuple(_tag(t) for t in raw.get("tags") or ()),
    )


def _tag(raw: Mapping) -> Tag:
    return Tag(raw["id"], raw["name"], raw.get("description"), raw.get("color"))


def _sender(raw: Mapping) -> str:
    """specs/papercups-api.md: type bot a bot; no customer_id an agent; no user_id the customer."""
    if raw.get("type") == "bot" or not (raw.get("user_id") or raw.get("customer_id")):
        return "bot"  # neither sender set: a system message, no person's
    return "customer" if raw.get("customer_id") else "agent"


def _message(raw: Mapping) -> Message:
    return Message(
        id=raw["id"],
        created_at=parse_time(raw["created_at"]),
        sender=_sender(raw),
        private=bool(raw.get("private")),
        body=raw.get("body") or "",
        user_id=raw.get("user_id"),
        user_email=(raw.get("user") or {}).get("email"),
        customer_id=raw.get("customer_id"),
    )


def _conversation(raw: Mapping) -> Conversation:
    messages = sorted(
        (_message(m) for m in raw.get("messages") or ()), key=lambda m: (m.created_at, m.id)
    )
    return Conversation(
        id=raw["id"],
        status=raw["status"],
        created_at=parse_time(raw["created_at"]),
        last_activity_at=parse_time(raw["last_activity_at"]),
        read=bool(raw.get("read")),
        priority=raw.get("priority") or "not_priority",
        subject=raw.get("subject"),
        inbox_id=raw.get("inbox_id"),
        assignee_id=raw.get("assignee_id"),
        customer=_customer(raw["customer"]) if raw.get("customer") else None,
        messages=tuple(messages),
    )


@adapter
class Papercups:
    """The Papercups endpoints the jobs use; PAPERCUPS_API_URL overrides the base URL."""

    def __init__(
        self,
        token: str,
        base_url: str | None = None,
        *,
        retries: int = 3,
        backoff: float = 0.25,
        max_wait: int = 30,
        timeout: tuple[float, float] | None = None,
    ):
        self.url = (base_url or os.environ.get("PAPERCUPS_API_URL") or DEFAULT_URL).rstrip("/")
        # POST too: the POSTs used are a login, attaching a tag (idempotent) and creating a tag
        # (a repeat is refused with 422 as a duplicate name, never doubled).
        self.http = retrying_session(
            retries, backoff, max_wait, frozenset({"GET", "PUT", "DELETE", "POST"})
        )
        self.http.headers["Authorization"] = f"Bearer {token}"
        self.timeout = timeout or timeouts()
        self._session_token: str | None = None

    def _call(self, method: str, path: str, *, session_auth: bool = False, **kw) -> Any:
        what = f"{method} {path}"
        headers = {}
        if session_auth:
            if not self._session_token:
                raise PapercupsError(what, None, "log in first (tags need a session)")
            headers["Authorization"] = self._session_token  # as is: no "Bearer"
        try:
            r = self.http.request(
                method, self.url + path, headers=headers, timeout=self.timeout, **kw
            )
        except requests.RequestException as exc:
            raise PapercupsError(what, None, transport_reason(exc, self.timeout)) from None
        if r.status_code >= 400:
            raise PapercupsError(what, r.status_code, _error_message(r) + wait_note(r))
        try:
            return r.json()
        except ValueError:
            raise PapercupsError(what, None, not_json(r)) from None

    # -- conversations

    def open_conversations(
        self, inbox_id: str | None = None, max_pages: int | None = None
    ) -> ConversationList:
        """Every open conversation with its messages, 50 a page (archived ones are left out)."""
        params: dict[str, Any] = {"status": "open", "limit": PAGE}
        if inbox_id:
            params["inbox_id"] = inbox_id
        found, total, pages = [], 0, 0
        while True:
            page = self._call("GET", "/api/v1/conversations", params=params)
            found += [_conversation(c) for c in page["data"]]
            total, pages = page["total"], pages + 1
            if not page.get("next"):
                return ConversationList(tuple(found), total, True)
            if max_pages is not None and pages >= max_pages:
                return ConversationList(tuple(found), total, False)
            params["after"] = page["next"]

    # -- customers

    def customers(self, email: str | None = None, tag_id: str | None = None) -> Iterator[Customer]:
        """Customers page by page (50 a page), optionally filtered."""
        params: dict[str, Any] = {"page_size": PAGE, "page": 1}
        params |= {k: v for k, v in (("email", email), ("tag_id", tag_id)) if v}
        while True:
            page = self._call("GET", "/api/v1/customers", params=params)
            yield from (_customer(c) for c in page["data"])
            if page["page_number"] >= page["total_pages"]:
                return
            params["page"] = page["page_number"] + 1

    def customer(self, customer_id: str) -> Customer:
        """One customer with its tags."""
        return _customer(self._call("GET", f"/api/v1/customers/{customer_id}")["data"])

    @writes
    def update_customer_metadata(self, customer_id: str, metadata: Mapping[str, Any]) -> Customer:
        """Set a customer's metadata (Papercups replaces the whole map)."""
        body = {"customer": {"metadata": dict(metadata)}}
        return _customer(self._call("PUT", f"/api/v1/customers/{customer_id}", json=body)["data"])

    # -- tags

    @writes
    def login(self, email: str, password: str) -> None:
        """Open a session: attaching and detaching tags need one (an API key cannot tag)."""
        body = {"user": {"email": email, "password": password}}
        self._session_token = self._call("POST", "/api/session", json=body)["data"]["token"]
        redaction.current().add(self._session_token)  # a secret this run now holds too

    def tags(self) -> list[Tag]:
        return [_tag(t) for t in self._call("GET", "/api/v1/tags")["data"]]

    @writes
    def create_tag(
        self, name: str, description: str | None = None, color: str | None = None
    ) -> Tag:
        raw = {"name": name} | {
            k: v for k, v in (("description", description), ("color", color)) if v is not None
        }
        return _tag(self._call("POST", "/api/v1/tags", json={"tag": raw})["data"])

    @writes
    def add_customer_tag(self, customer_id: str, tag_id: str) -> None:
        self._call(
            "POST", f"/api/customers/{customer_id}/tags", json={"tag_id": tag_id}, session_auth=True
        )

    @writes
    def remove_customer_tag(self, customer_id: str, tag_id: str) -> None:
        self._call("DELETE", f"/api/customers/{customer_id}/tags/{tag_id}", session_auth=True)


def _error_message(r: requests.Response) -> str:
    """The API's own error message, else the reason phrase (never the request's headers)."""
    try:
        return first_line(r.json()["error"]["message"])
    except (ValueError, KeyError, TypeError):
        return not_json(r) if r.status_code >= 500 else (r.reason or "error")
