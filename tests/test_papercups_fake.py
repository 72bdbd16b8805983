"""The Papercups fake with the real requests-based adapter: auth, paging, order, tags, metadata."""

from datetime import UTC, datetime, timedelta

import pytest
import requests

from fakes.papercups import DEFAULT_KEY, DEFAULT_PASSWORD, PapercupsFake
from scripts.clients.papercups import PAGE, Papercups, PapercupsError
from scripts.rotation import load as rotation

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def fake():
    with PapercupsFake(clock=T0) as f:  # leaving the block fails on any spec violation
        yield f


@pytest.fixture
def client(fake):
    return Papercups(DEFAULT_KEY, fake.url)


def conversation(fake, email="ada@example.com", minutes=0, status="open", **kw) -> str:
    """A conversation opened by a customer's message `minutes` after T0."""
    cust = next((c["id"] for c in fake.customers.values() if c["email"] == email), None)
    cust = cust or fake.add_customer(email, email.split("@")[0].title())
    cid = fake.add_conversation(cust, T0 + timedelta(minutes=minutes), **kw)
    fake.add_message(cid, T0 + timedelta(minutes=minutes), "customer", "hello")
    if status == "closed":  # after the message: a customer message reopens a conversation
        fake.conversation(cid).update(status="closed", closed_at=T0)
    return cid


def raw(fake, method: str, path: str, auth: str | None = f"Bearer {DEFAULT_KEY}", **kw):
    """A request as is (no adapter), to see exactly what the fake answers."""
    headers = {"Authorization": auth} if auth else {}
    return requests.request(method, fake.url + path, headers=headers, timeout=5, **kw)


# --- auth -----------------------------------------------------------------------------------


AUTH = [
    # (Authorization header, path, status)
    (None, "/api/v1/conversations", 401),
    ("Bearer wrong", "/api/v1/conversations", 401),
    (DEFAULT_KEY, "/api/v1/conversations", 401),  # the key without "Bearer"
    (f"Bearer {DEFAULT_KEY}", "/api/v1/conversations", 200),
    (f"Bearer {DEFAULT_KEY}", "/api/v1/tags", 200),
]


@pytest.mark.parametrize(("header", "path", "status"), AUTH)
def test_api_v1_takes_a_bearer_api_key(fake, header, path, status):
    assert raw(fake, "GET", path, header).status_code == status


def test_tagging_needs_a_session_not_the_api_key(fake, client):
    cust = fake.add_customer("ada@example.com", "Ada")
    tag = fake.add_tag("tier: focus")
    with pytest.raises(PapercupsError, match="log in first"):
        client.add_customer_tag(cust, tag)  # refused before any request
    assert raw(fake, "POST", f"/api/customers/{cust}/tags", json={"tag_id": tag}).status_code == 401
    with pytest.raises(PapercupsError, match="HTTP 401"):
        client.login("owner@papercups.test", "wrong password")
    client.login("owner@papercups.test", DEFAULT_PASSWORD)
    token = client._session_token
    bearer = raw(
        fake, "POST", f"/api/customers/{cust}/tags", f"Bearer {token}", json={"tag_id": tag}
    )
    assert bearer.status_code == 401  # the session token goes without "Bearer"
    client.add_customer_tag(cust, tag)
    client.add_customer_tag(cust, tag)  # attaching twice is harmless
    assert fake.customer_tag_names(cust) == {"tier: focus"}
    assert client.customer(cust).tags[0].name == "tier: focus"
    client.remove_customer_tag(cust, tag)
    assert fake.customer_tag_names(cust) == set()


def test_another_accounts_key_sees_nothing(fake):
    conversation(fake)
    other = fake.add_account()
    fake.add_user("eve@other.example", "Eve", api_key="other-key", account=other)
    listing = Papercups("other-key", fake.url).open_conversations()
    assert (listing.conversations, listing.total) == ((), 0)


def test_errors_never_carry_the_token(fake):
    with pytest.raises(PapercupsError) as caught:
        Papercups("secret-token-123", fake.url).open_conversations()
    assert "secret-token-123" not in str(caught.value)
    assert str(caught.value) == "Papercups GET /api/v1/conversations: HTTP 401: Invalid token"


# --- conversations --------------------------------------------------------------------------


def test_paging_order_and_what_is_left_out(fake, client):
    open_ids = [conversation(fake, f"c{i}@example.com", minutes=i) for i in range(120)]
    conversation(fake, "closed@example.com", status="closed")
    conversation(fake, "archived@example.com", archived=True)
    listing = client.open_conversations()
    assert listing.complete and listing.total == 120
    assert [c.id for c in listing.conversations] == open_ids[::-1]  # newest activity first
    assert fake.count("GET", "/api/v1/conversations") == 3  # ceil(120 / 50)
    assert all(c.query["limit"] == [str(PAGE)] for c in fake.calls)
    bounded = client.open_conversations(max_pages=1)
    assert (len(bounded.conversations), bounded.total, bounded.complete) == (50, 120, False)


def test_a_page_is_at_most_50(fake):
    for i in range(60):
        conversation(fake, f"c{i}@example.com", minutes=i)
    page = raw(fake, "GET", "/api/v1/conversations", params={"limit": 100}).json()
    assert (len(page["data"]), page["limit"], page["total"]) == (50, 50, 60)
    assert page["next"] and page["previous"] is None


def test_messages_come_unsorted_and_the_adapter_sorts_them(fake, client):
    cid = conversation(fake)
    agent = fake.add_user("ann@example.com", "Ann")
    for minutes, who in [(5, agent), (6, "bot"), (7, "customer"), (8, agent), (9, "customer")]:
        fake.add_message(cid, T0 + timedelta(minutes=minutes), who, private=minutes == 8)
    served = raw(fake, "GET", f"/api/v1/conversations/{cid}").json()["data"]
    stamps = [m["created_at"] for m in served["messages"]]
    assert stamps != sorted(stamps)
    (conv,) = client.open_conversations().conversations
    assert [m.created_at for m in conv.messages] == sorted(m.created_at for m in conv.messages)
    assert [(m.sender, m.private) for m in conv.messages] == [
        ("customer", False), ("agent", False), ("bot", False), ("customer", False),
        ("agent", True), ("customer", False),
    ]  # fmt: skip
    assert conv.messages[1].user_email == "ann@example.com"


def test_read_and_reopen_follow_the_messages(fake):
    cid = conversation(fake)
    agent = fake.add_user("ann@example.com", "Ann")
    assert fake.conversation(cid)["read"] is False
    fake.add_message(cid, T0 + timedelta(minutes=1), agent, "on it", private=True)
    assert fake.conversation(cid)["read"] is False  # a note is no reply
    fake.add_message(cid, T0 + timedelta(minutes=2), agent, "fixed")
    assert fake.conversation(cid)["read"] is True
    fake.conversation(cid).update(status="closed", closed_at=T0)
    fake.add_message(cid, T0 + timedelta(minutes=3), "customer", "not quite")
    assert fake.conversation(cid)["status"] == "open" and fake.conversation(cid)["read"] is False


def test_list_items_never_carry_tags_but_show_does(fake, client):
    cid = conversation(fake)
    fake.conversation(cid)["tag_ids"].add(fake.add_tag("billing"))
    (listed,) = raw(fake, "GET", "/api/v1/conversations").json()["data"]
    shown = raw(fake, "GET", f"/api/v1/conversations/{cid}").json()["data"]
    assert listed["tags"] == [] and [t["name"] for t in shown["tags"]] == ["billing"]


def test_closing_a_conversation_sets_closed_at(fake):
    cid = conversation(fake)
    answer = raw(fake, "PUT", f"/api/v1/conversations/{cid}",
                 json={"conversation": {"status": "closed"}})  # fmt: skip
    assert answer.json()["data"]["closed_at"] == "2026-12-01T09:00:00Z"
    assert fake.conversation(cid)["status"] == "closed"


# --- customers and tags ---------------------------------------------------------------------


def test_customers_page_by_50_and_filter(fake, client):
    for i in range(73):
        fake.add_customer(f"c{i}@example.com", f"C{i}")
    assert len(list(client.customers())) == 73
    assert fake.count("GET", "/api/v1/customers") == 2
    (one,) = client.customers(email="c42@example.com")
    assert one.name == "C42"


def test_metadata_is_replaced(fake, client):
    cust = fake.add_customer("ada@example.com", "Ada", metadata={"plan": "scale"})
    updated = client.update_customer_metadata(cust, {"tier": "focus"})
    assert dict(updated.metadata) == {"tier": "focus"} == fake.customers[cust]["metadata"]


def test_tags_list_and_create(fake, client):
    made = client.create_tag("tier: focus", "Focus customers", "#d73a4a")
    assert [t.name for t in client.tags()] == ["tier: focus"]
    assert made.color == "#d73a4a"
    with pytest.raises(PapercupsError, match="HTTP 422"):
        client.create_tag("tier: focus")


# --- seeding ---------------------------------------------------------------------------------


def test_seed_from_plain_data(fake, client):
    ids = fake.seed({
        "users": [{"email": "ann@example.com", "name": "Ann"}],
        "customers": [{"email": "ada@example.com", "name": "Ada", "metadata": {"tier": "focus"},
                       "tags": ["vip"]}],
        "conversations": [{"key": "q", "customer": "ada@example.com", "messages": [
            {"at": "2026-12-01T08:00:00Z", "body": "help"},
            {"at": "2026-12-01T08:05:00Z", "from": "ann@example.com", "body": "sure"},
        ]}],
    })  # fmt: skip
    (conv,) = client.open_conversations().conversations
    assert conv.id == ids["q"] and conv.customer.metadata == {"tier": "focus"}
    assert [m.sender for m in conv.messages] == ["customer", "agent"]
    assert conv.read is True and conv.last_activity_at == datetime(2026, 12, 1, 8, 5, tzinfo=UTC)
    assert fake.customer_tag_names(conv.customer.id) == {"vip"}


def test_seed_from_rotation(fake, client):
    rot, _ = rotation.load("rotation.yaml")
    ids = fake.seed_from_rotation(rot, T0)
    assert set(ids) == {"focus-late", "follow-up", "fresh", "answered"}
    assert len(client.open_conversations().conversations) == 4
    person = next(iter(rot.people.values()))
    client.login(person.email, DEFAULT_PASSWORD)  # every person can log in for tagging
