"""build_customers: the pure mapping (table-driven), then end to end against service fakes."""

import pytest

from fakes.hubspot import HubSpotFake
from fakes.stripe import StripeFake
from fakes.world import World
from scripts import build_customers
from scripts.tiers import build
from scripts.tiers import directory as tiers
from scripts.tiers.build import Entry, Item, OpenDeal, Subscription


def item(cents, interval="month", quantity=1, plan="cloud", currency="usd"):
    return Item(cents, currency, interval, 1, quantity, plan)


@pytest.mark.parametrize(
    ("it", "dollars"),
    [
        (item(4900), 49.0),
        (item(4900, quantity=3), 147.0),
        (item(120000, "year"), 100.0),
        (item(1000, "week"), 1000 * 52 / 12 / 100),
        (item(None), 0.0),  # metered: no fixed price
    ],
)
def test_monthly_dollars(it, dollars):
    assert build.monthly_dollars(it) == pytest.approx(dollars)


def sub(email, *items, status="active", name=None, customer=None, **metadata):
    return Subscription(customer or f"cus_{email}", status, email, name, metadata, items)


def test_from_stripe_groups_by_domain_sums_spend_and_takes_the_biggest_plan():
    entries = build.from_stripe(
        [
            sub("a@acme.example", item(10000), name="Acme"),
            sub("b@acme.example", item(500000, plan="Enterprise"), github_orgs="acme, acme-labs"),
            sub("c@acme.example", item(9900), status="canceled"),  # ignored
            sub("t@trial.example", item(9900, plan="scale"), status="trialing", name="Trial"),
            sub("me@gmail.com", item(2000), name="Solo", customer="cus_solo"),
        ],
        warn=lambda _: None,
    )
    acme = entries["acme.example"]
    assert (acme.company, acme.plan, acme.monthly_spend) == ("Acme", "enterprise", 5100.0)
    assert acme.github_orgs == ["acme", "acme-labs"]
    assert (entries["trial.example"].plan, entries["trial.example"].monthly_spend) == ("scale", 0)
    assert entries["cus_solo"].domains == []  # free-mail recognises no company


def test_deals_mark_the_sales_process_and_add_prospects():
    entries = {"acme.example": Entry("Acme", "cloud", 10, domains=["acme.example"])}
    build.add_deals(
        entries,
        [OpenDeal("ACME Inc", None), OpenDeal("Newco", "www.newco.example"), OpenDeal(None, None)],
    )
    assert entries["acme.example"].in_sales_process
    assert entries["newco.example"].in_sales_process and entries["newco.example"].plan is None
    assert len(entries) == 2


def test_hand_added_recognition_is_kept():
    entries = {"acme.example": Entry("Acme", domains=["acme.example"])}
    kept = tiers.build(
        [
            tiers.Customer("Acme Old Name", domains=("acme.example",), github_logins=("wile",)),
            tiers.Customer("Gone", github_orgs=("gone",), index=1),
        ]
    )
    warnings = []
    build.keep_recognition(entries, kept, warnings.append)
    assert entries["acme.example"].github_logins == ["wile"]
    assert warnings == ["warning: 1 kept entries match no Stripe or HubSpot company: left out"]


@pytest.fixture
def services(monkeypatch):
    with StripeFake() as stripe, HubSpotFake() as hubspot:
        World(stripe=stripe, hubspot=hubspot).point(monkeypatch)
        yield stripe, hubspot


def test_builds_a_directory_label_issues_accepts(services, tmp_path, capsys):
    stripe, hubspot = services
    cloud, scale = stripe.add_product("Kestrel Cloud", plan="cloud"), stripe.add_product("Scale")
    for k in range(105):  # more than a page of 100
        stripe.add_subscription(f"ops@co{k}.example", cloud, 1000 * k, name=f"Co {k}")
    stripe.add_subscription("cto@hooli.example", scale, 2400000, interval="year", name="Hooli",
                            metadata={"github_orgs": "hooli-xyz"})  # fmt: skip
    stripe.add_subscription("old@gone.example", cloud, 9900, status="canceled")
    hooli = hubspot.add_company("Hooli", "hooli.example")
    prospect = hubspot.add_company("Umbrella Research", "umbrella.example")
    for k in range(120):
        hubspot.add_deal(f"won {k}", hooli, stage="closedwon")
    hubspot.add_deal("Enterprise pilot", prospect)
    kept = tmp_path / "old.yaml"
    kept.write_text("customers:\n  - {company: Hooli, domains: [hooli.example], aliases: [HLI]}\n")
    out = tmp_path / "customers.yaml"

    code = build_customers.main(["--output", str(out), "--keep", str(kept)])
    assert code == 0
    directory = tiers.load_directory({tiers.ENV_PATH: str(out)})
    by_domain = directory.domains
    assert len(directory.customers) == 107  # 105 + Hooli + the prospect; not the cancelled one
    hooli_entry = by_domain["hooli.example"]
    assert (hooli_entry.plan, hooli_entry.monthly_spend) == ("scale", 2000.0)
    assert hooli_entry.github_orgs == ("hooli-xyz",) and hooli_entry.aliases == ("HLI",)
    assert not hooli_entry.in_sales_process  # only closed deals
    assert by_domain["umbrella.example"].in_sales_process
    assert by_domain["co7.example"].monthly_spend == 70.0
    rules = tiers.rules(None)
    assert tiers.tier_of(by_domain["umbrella.example"], rules)[0] == "focus"
    err = capsys.readouterr().err
    assert "107 customers" in err and "Hooli" not in err  # names stay out of logs
    assert stripe.count("GET", "/v1/subscriptions") == 2 and hubspot.count() == 3


def test_without_credentials_it_exits_2_and_writes_nothing(tmp_path, monkeypatch, capsys):
    for name in ("STRIPE_API_KEY", "HUBSPOT_ACCESS_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    out = tmp_path / "customers.yaml"
    assert build_customers.main(["--output", str(out)]) == 2
    assert not out.exists()
    assert "STRIPE_API_KEY" in capsys.readouterr().err


def test_stripe_alone_is_enough_and_server_errors_are_retried(services, tmp_path, monkeypatch):
    stripe, hubspot = services
    monkeypatch.delenv("HUBSPOT_ACCESS_TOKEN")
    cloud = stripe.add_product("Cloud", plan="cloud")
    stripe.add_subscription("a@acme.example", cloud, 60000, name="Acme")
    stripe.inject("GET", "/v1/subscriptions", 500, times=1, headers={"Stripe-Should-Retry": "true"})
    out = tmp_path / "c.yaml"
    assert build_customers.main(["--output", str(out)]) == 0
    assert tiers.load_directory({tiers.ENV_PATH: str(out)}).domains["acme.example"].plan == "cloud"
    assert [c.status for c in stripe.calls if c.path == "/v1/subscriptions"] == [500, 200]
    assert hubspot.count() == 0


def test_output_to_stdout_is_the_directory_as_built_even_beside_the_secret(
    services, tmp_path, capsys, monkeypatch
):
    stripe, _ = services
    cloud = stripe.add_product("Kestrel Cloud", plan="cloud")
    stripe.add_subscription("ops@acme-rockets.example", cloud, 90000, name="Acme Rockets Ltd")
    assert build_customers.main(["--output", str(tmp_path / "first.yaml")]) == 0
    built = (tmp_path / "first.yaml").read_text()
    monkeypatch.setenv("CUSTOMERS_YAML", built)  # the secret holds that very directory
    capsys.readouterr()
    assert build_customers.main(["--output", "-"]) == 0
    assert capsys.readouterr().out == built  # asked for: not masked line by line
