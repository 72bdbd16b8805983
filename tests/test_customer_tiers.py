"""Papercups customer tiers, pure: matching by email domain and the plan, table by table."""

from dataclasses import asdict

import pytest

from scripts.plan import CustomerMetadata
from scripts.tiers import customers, directory
from scripts.tiers.customers import Record
from scripts.tiers.directory import COMMUNITY, FOCUS, SUBSCRIBER

DIRECTORY = directory.build(
    [
        directory.Customer("Big Bank", "enterprise", domains=("bigbank.example",), index=0),
        directory.Customer("Shop", "cloud", 100, domains=("shop.example",), index=1),
        directory.Customer("Free Co", "cloud", 0, domains=("free.example",), index=2),
    ]
)
RULES = directory.rules(
    [{"tier": "focus", "plans": ["enterprise"]}, {"tier": "subscriber", "monthly_spend_over": 0}],
    [40, 41],
)
FOCUS_TAG, SUB_TAG, COMM_TAG = (customers.TAGS[t].name for t in (FOCUS, SUBSCRIBER, COMMUNITY))
ALL_TAGS = {FOCUS_TAG: "t-focus", SUB_TAG: "t-sub", COMM_TAG: "t-comm"}


@pytest.mark.parametrize(
    ("email", "tier", "how", "line"),
    [
        ("ada@bigbank.example", FOCUS, "email domain: customers[0]", 40),
        ("Ada@BigBank.Example", FOCUS, "email domain: customers[0]", 40),  # no case
        ("ops@eu.bigbank.example", FOCUS, "email domain: customers[0]", 40),  # a subdomain
        ("sam@shop.example", SUBSCRIBER, "email domain: customers[1]", 41),
        ("kim@free.example", COMMUNITY, "email domain: customers[2]", 0),  # listed, no rule holds
        ("lee@gmail.com", COMMUNITY, "no directory entry", 0),
        ("x@notbigbank.example", COMMUNITY, "no directory entry", 0),  # a suffix is no subdomain
        ("x@bigbank.example.evil", COMMUNITY, "no directory entry", 0),
    ],
)
def test_the_tier_comes_from_the_email_domain(email, tier, how, line):
    assert customers.wanted(email, DIRECTORY, RULES) == customers.Want(tier, how, line)


@pytest.mark.parametrize("email", [None, "", "not an address"])
def test_no_email_means_nothing_to_go_by(email):
    assert customers.wanted(email, DIRECTORY, RULES) is None


def kinds(changes) -> list[tuple[str, str, dict]]:
    return [(c.action, c.target, asdict(c.data)) for c in changes]


# --- metadata (always) --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("metadata", "expected"),
    [
        (None, {"tier": FOCUS}),
        ({}, {"tier": FOCUS}),
        ({"plan": "x", "tier": COMMUNITY}, {"plan": "x", "tier": FOCUS}),  # other keys kept
        ({"tier": FOCUS, "plan": "x"}, None),  # already right: nothing
    ],
)
def test_metadata_tier_is_set_keeping_the_other_keys(metadata, expected):
    changes = customers.plan([Record("c1", "a@bigbank.example", metadata)], DIRECTORY, RULES, None)
    if expected is None:
        assert changes == []
    else:
        (change,) = changes
        assert (change.action, change.data.metadata, change.line) == ("set", expected, 40)
        assert change.reason == "email domain: customers[0]"


def test_without_a_login_no_tags_are_planned_or_created():
    records = [Record("c1", "a@bigbank.example"), Record("c2", "b@gmail.com"), Record("c3", None)]
    changes = customers.plan(records, DIRECTORY, RULES, None)
    assert [(c.action, c.target) for c in changes] == [
        ("set", "customer c1"),
        ("set", "customer c2"),
    ]  # c3 has no email: left alone


def test_the_plan_names_no_email_and_no_company():
    changes = customers.plan([Record("c1", "ada@bigbank.example")], DIRECTORY, RULES, {})
    text = repr([(c.target, c.summary, c.reason) for c in changes])
    assert "ada@" not in text and "Big Bank" not in text and "bigbank" not in text


# --- tags (with a login) --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("has", "add", "remove"),
    [
        (frozenset(), FOCUS_TAG, []),  # untagged: add
        ({SUB_TAG}, FOCUS_TAG, [SUB_TAG]),  # a tier change replaces the tag
        ({SUB_TAG, COMM_TAG}, FOCUS_TAG, [COMM_TAG, SUB_TAG]),  # and every other (sorted)
        ({FOCUS_TAG, COMM_TAG}, None, [COMM_TAG]),  # right tag, plus a stray one
        ({FOCUS_TAG}, None, None),  # already right: nothing
    ],
)
def test_tier_tags_are_added_and_replaced(has, add, remove):
    record = Record("c1", "a@bigbank.example", {"tier": FOCUS}, frozenset(has))
    changes = customers.plan([record], DIRECTORY, RULES, ALL_TAGS)
    if remove is None:
        assert changes == []
        return
    (change,) = changes
    assert (change.action, change.data.add, change.data.remove) == ("tag", add, remove)


def test_missing_tags_are_created_first_and_only_those_needed():
    records = [
        Record("c1", "a@bigbank.example", {}, frozenset()),
        Record("c2", "b@gmail.com", {}, frozenset({COMM_TAG})),  # has its tag already
    ]
    changes = customers.plan(records, DIRECTORY, RULES, {COMM_TAG: "t-comm"})
    assert kinds(changes)[0] == (
        "create",
        customers.TAGS_TARGET,
        {"name": FOCUS_TAG, "color": "#b60205", "description": "Focus customer: answered first"},
    )
    assert [c.action for c in changes] == ["create", "tag", "set", "set"]


def test_a_planned_apply_leaves_nothing_to_plan():
    """Applying the plan's data to the records, as Papercups would, plans nothing next time."""
    records = [
        Record("c1", "a@bigbank.example", {"plan": "p"}, frozenset({SUB_TAG})),
        Record("c2", "s@shop.example", None, frozenset()),
        Record("c3", "z@gmail.com", {"tier": FOCUS}, frozenset({FOCUS_TAG, COMM_TAG})),
    ]
    changes = customers.plan(records, DIRECTORY, RULES, ALL_TAGS)
    after = []
    for r in records:
        meta, tags = r.metadata, set(r.tier_tags)
        for c in (c for c in changes if getattr(c.data, "customer", None) == r.id):
            if isinstance(c.data, CustomerMetadata):
                meta = c.data.metadata
            else:
                tags = (tags | {c.data.add} - {None}) - set(c.data.remove)
        after.append(Record(r.id, r.email, meta, frozenset(tags)))
    assert len(changes) == 6
    assert customers.plan(after, DIRECTORY, RULES, ALL_TAGS) == []


def test_tally_counts_tiers_and_customers_without_email():
    records = [Record("1", "a@bigbank.example"), Record("2", "b@x.example"), Record("3", None)]
    assert customers.tally(records, DIRECTORY, RULES) == {
        FOCUS: 1, SUBSCRIBER: 0, COMMUNITY: 1, "no email": 1,
    }  # fmt: skip
