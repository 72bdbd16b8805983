"""Tier rules, the customer directory and author matching: table-driven, plain data."""

from pathlib import Path

import pytest

from scripts.rotation.problems import ConfigError
from scripts.tiers import directory as tiers
from scripts.tiers.directory import COMMUNITY, FOCUS, SUBSCRIBER, Customer, Profile

ROOT = Path(__file__).resolve().parents[1]
DEFAULTS = tiers.rules(None)


@pytest.mark.parametrize(
    ("plan", "spend", "in_sales", "tier"),
    [
        ("enterprise", 0, False, FOCUS),
        ("Scale", 10, False, FOCUS),  # plan names compare without case
        ("cloud", 0, True, FOCUS),  # in the sales process
        (None, 0, True, FOCUS),  # a prospect with an open deal
        ("cloud", 500.01, False, FOCUS),
        ("cloud", 500, False, SUBSCRIBER),  # "$1-500" includes 500
        ("cloud", 1, False, SUBSCRIBER),
        ("cloud", 0, False, COMMUNITY),  # a free Cloud account
        ("starter", 900, False, COMMUNITY),  # no rule names the plan
        (None, 0, False, COMMUNITY),
    ],
)
def test_default_rules(plan, spend, in_sales, tier):
    customer = Customer("X", plan, spend, in_sales)
    assert tiers.tier_of(customer, DEFAULTS)[0] == tier


def test_nobody_is_community_and_the_first_rule_that_holds_wins():
    assert tiers.tier_of(None, DEFAULTS) == (COMMUNITY, None)
    custom = tiers.rules(
        [{"tier": "subscriber", "plans": ["cloud"]}, {"tier": "focus", "monthly_spend_over": 100}],
        [30, 31],
    )
    tier, rule = tiers.tier_of(Customer("X", "cloud", 900), custom)
    assert (tier, rule.line) == (SUBSCRIBER, 30)
    assert tiers.tier_of(Customer("X", "scale", 900), custom)[1].line == 31


def test_the_example_directory_loads_with_every_tier_represented():
    directory = tiers.load_directory({tiers.ENV_PATH: str(ROOT / "customers.example.yaml")})
    found = {tiers.tier_of(c, DEFAULTS)[0] for c in directory.customers}
    assert found == {FOCUS, SUBSCRIBER}
    assert directory.logins["wile-e-coyote"].company == "Acme Rockets"


def test_content_in_the_environment_wins_over_a_path(tmp_path):
    (tmp_path / "customers.yaml").write_text("customers: [{company: FromFile}]\n")
    env = {tiers.ENV_CONTENT: "customers: [{company: FromSecret}]", tiers.ENV_PATH: "nope.yaml"}
    assert tiers.load_directory(env, tmp_path).customers[0].company == "FromSecret"
    assert tiers.load_directory({}, tmp_path).customers[0].company == "FromFile"
    assert tiers.load_directory({}, tmp_path).source == str(tmp_path / "customers.yaml")


def test_no_directory_is_an_error_naming_both_variables(tmp_path):
    with pytest.raises(ConfigError) as caught:
        tiers.load_directory({}, tmp_path)
    assert "CUSTOMERS_YAML" in str(caught.value)
    assert "CUSTOMERS_FILE" in str(caught.value)


@pytest.mark.parametrize(
    ("text", "where", "message"),
    [
        ("customers:\n  - company: Acme\n    domains: [gmail.com]\n", "3:15",
         "free-mail domain"),
        ("customers:\n  - {company: Acme, github_logins: [wile]}\n"
         "  - {company: Globex, github_logins: [WILE]}\n", "3:39", "also listed for customers[0]"),
        ("customers:\n  - {company: Acme, domains: [Acme.example]}\n", "2:31", "lowercase domain"),
        ("customers:\n  - {company: Acme, mrr: 4}\n", "2:21", "unknown key 'mrr'"),
        ("customers:\n  - {plan: cloud}\n", "2:5", "missing required key 'company'"),
        ("customers:\n  - {company: Acme, monthly_spend: lots}\n", "2:36", "expected number"),
        ("customers:\n  - {company: Acme, github_orgs: [-acme]}\n", "2:35", "not a GitHub login"),
        ("- just a list\n", "1:1", "must be a mapping"),
        ("customers: [\n", "2:1", "YAML syntax"),
    ],
)  # fmt: skip
def test_directory_problems_name_the_place_not_the_value(text, where, message):
    with pytest.raises(ConfigError) as caught:
        tiers.parse_directory(text, "customers.yaml")
    shown = str(caught.value)
    assert f"customers.yaml:{where}:" in shown
    assert message in shown
    for private in ("acme", "globex", "gmail", "wile", "lots"):  # the directory is private
        assert private not in shown.lower()


def _directory() -> tiers.Directory:
    return tiers.build(
        [
            Customer("Acme Rockets, Inc.", "enterprise", domains=("acme.example",),
                     github_logins=("Wile-E",), github_orgs=("acme-rockets",), aliases=("ACME",)),
            Customer("Globex", "cloud", 100, domains=("globex.example",), github_orgs=("globex",),
                     index=1),
            Customer("Initech", "cloud", 900, github_orgs=("initech",), index=2),
        ]
    )  # fmt: skip


@pytest.mark.parametrize(
    ("profile", "company", "how"),
    [
        (Profile("x", email="jane@acme.example"), "Acme Rockets, Inc.", "profile email domain"),
        (Profile("x", email="jane@eu.acme.example"), "Acme Rockets, Inc.", "profile email domain"),
        (Profile("x", email="jane@notacme.example"), None, None),
        (Profile("x", company="@globex"), "Globex", "profile company"),
        (Profile("x", company="Globex Ltd."), "Globex", "profile company"),
        (Profile("x", company="acme"), "Acme Rockets, Inc.", "profile company"),  # an alias
        (Profile("x", company="Acme Rockets"), "Acme Rockets, Inc.", "profile company"),
        (Profile("x", company="Freelance / ex-Initech"), None, None),
        (Profile("x", company="Freelance / Initech"), "Initech", "profile company"),
        (Profile("x", blog="https://www.globex.example/about"), "Globex", "profile website"),
        (Profile("x", blog="globex.example"), "Globex", "profile website"),
        # the email comes first, then the company, then the site
        (Profile("x", email="a@globex.example", company="@acme-rockets"), "Globex",
         "profile email domain"),
        (Profile("x", company="@globex", blog="acme.example"), "Globex", "profile company"),
        (Profile("x", email="jane@gmail.com", name="Jane"), None, None),
        (Profile("x"), None, None),
    ],
)  # fmt: skip
def test_match_profile(profile, company, how):
    found = tiers.match_profile(_directory(), profile)
    assert ((found.customer.company, found.how) if found else (None, None)) == (company, how)


def test_match_login_ignores_case_and_orgs_are_checked_highest_tier_first():
    directory = _directory()
    assert tiers.match_login(directory, "wile-e").customer.index == 0
    assert tiers.match_login(directory, "someone") is None
    # Acme (enterprise) and Initech (cloud, $900) are Focus, Globex ($100) Subscriber.
    assert tiers.orgs_to_check(directory, DEFAULTS) == ["acme-rockets", "initech", "globex"]
    assert tiers.match_org(directory, "GLOBEX").how == "public organisation"


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("ACME Rockets, Inc.", "acme rockets"),
        ("Globex Corporation", "globex"),
        ("Co", "co"),  # a suffix alone stays: it is the whole name
        ("  Initech  GmbH ", "initech"),
        ("", ""),
    ],
)
def test_company_key(name, key):
    assert tiers.company_key(name) == key
