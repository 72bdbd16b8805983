"""sync_customer_tiers end to end: the real adapter over HTTP against the Papercups fake."""

import json
from datetime import UTC, datetime

import pytest

from fakes.base import fake_env
from fakes.papercups import DEFAULT_PASSWORD, PapercupsFake
from scripts import sync_customer_tiers
from scripts.clients.papercups import Papercups
from scripts.tiers import customers as customer_tiers
from scripts.tiers.directory import COMMUNITY, FOCUS, SUBSCRIBER
from tests import rotations

NOW = datetime(2026, 12, 2, 15, 0, tzinfo=UTC)
OWNER = "owner@papercups.test"  # the fake's account owner, holder of the API key
CONFIG = rotations.text(teams={"core": (["a", "b", "c"], "2026-11-30", "a")}) + (
    "tiers:\n"
    "  rules:\n"
    "    - {tier: focus, plans: [enterprise]}\n"
    "    - {tier: subscriber, plans: [cloud], monthly_spend_over: 0}\n"
)
DIRECTORY = """\
customers:
  - {company: Big Bank, plan: enterprise, domains: [bigbank.example]}
  - {company: Shop, plan: cloud, monthly_spend: 100, domains: [shop.example]}
"""
TAG = {tier: customer_tiers.TAGS[tier].name for tier in (FOCUS, SUBSCRIBER, COMMUNITY)}


@pytest.fixture
def papercups():
    with PapercupsFake(clock=NOW) as fake:  # leaving the block fails on any spec violation
        yield fake


@pytest.fixture
def config(tmp_path):
    path = tmp_path / "rotation.yaml"
    path.write_text(CONFIG, encoding="utf-8")
    return path


@pytest.fixture
def env(papercups, monkeypatch, tmp_path):
    for name, value in fake_env(papercups).items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("CUSTOMERS_YAML", DIRECTORY)
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(tmp_path / "summary.md"))
    for name in ("PAPERCUPS_EMAIL", "PAPERCUPS_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


@pytest.fixture
def login(env):
    env.setenv("PAPERCUPS_EMAIL", OWNER)
    env.setenv("PAPERCUPS_PASSWORD", DEFAULT_PASSWORD)


@pytest.fixture
def job(env, config, capsys):
    def run(*args: str) -> tuple[int, str, str]:
        code = sync_customer_tiers.main(["--config", str(config), "--now", NOW.isoformat(), *args])
        out, err = capsys.readouterr()
        return code, out, err

    return run


def seed(fake, n: int = 120) -> dict[str, str]:
    """n customers in turn: Big Bank (focus), Shop (subscriber), free mail (community), no
    email (left alone); every other one with metadata of its own to keep."""
    domains = ["bigbank.example", "shop.example", "gmail.com", None]
    ids = {}
    for i in range(n):
        domain = domains[i % 4]
        email = f"c{i:03d}@{domain}" if domain else None
        meta = {"plan_seen": f"p{i}"} if i % 2 else None
        ids[email or f"anon{i}"] = fake.add_customer(email, f"C{i}", metadata=meta)
    return ids


def tier_tags(fake, cid: str) -> set[str]:
    return fake.customer_tag_names(cid) & set(TAG.values())


def metadata_tier(fake, cid: str):
    return (fake.customers[cid]["metadata"] or {}).get("tier")


# --- metadata only (no login) ---------------------------------------------------------------------


def test_without_a_login_the_tier_goes_into_metadata(papercups, job):
    ids = seed(papercups)
    code, out, _ = job()  # a dry run reads and writes nothing
    assert code == 0 and "Mode: metadata only" in out
    assert papercups.writes() == 0 and papercups.reads() == 3  # 120 customers, 50 a page
    assert "90 changes: 90 set" in out

    papercups.reset_counts()
    code, out, err = job("--apply")
    assert code == 0, err
    assert metadata_tier(papercups, ids["c000@bigbank.example"]) == FOCUS
    assert metadata_tier(papercups, ids["c001@shop.example"]) == SUBSCRIBER
    assert metadata_tier(papercups, ids["c002@gmail.com"]) == COMMUNITY
    assert papercups.customers[ids["c001@shop.example"]]["metadata"]["plan_seen"] == "p1"
    assert papercups.customers[ids["anon3"]]["metadata"] == {"plan_seen": "p3"}  # no email
    assert not any(papercups.customer_tags.values())  # no login, no tags
    assert (papercups.reads(), papercups.writes()) == (3, 90)  # one PUT per customer: minimum
    assert papercups.count("POST", "/api/session") == 0

    papercups.reset_counts()
    code, out, _ = job("--apply")
    assert code == 0 and "No changes" in out
    assert (papercups.reads(), papercups.writes()) == (3, 0)


# --- tags (with a login) -------------------------------------------------------------------------


def test_tags_are_created_added_then_replaced_when_a_tier_changes(papercups, job, login, env):
    ids = seed(papercups)
    code, out, err = job("--apply")
    assert code == 0, err
    # 3 customer pages and the tag list (no tier tag yet, so no member lists)
    assert papercups.reads() == 4
    # a login, 3 tags, 90 tags attached, 90 metadata writes
    assert papercups.writes() == 1 + 3 + 90 + 90
    made = {t["name"]: t for t in papercups.tags.values()}
    assert made[TAG[FOCUS]]["color"] == "#b60205"
    assert made[TAG[FOCUS]]["description"] == "Focus customer: answered first"
    assert tier_tags(papercups, ids["c000@bigbank.example"]) == {TAG[FOCUS]}
    assert tier_tags(papercups, ids["c001@shop.example"]) == {TAG[SUBSCRIBER]}
    assert tier_tags(papercups, ids["c002@gmail.com"]) == {TAG[COMMUNITY]}
    assert metadata_tier(papercups, ids["c001@shop.example"]) == SUBSCRIBER  # flag_stale reads it

    papercups.reset_counts()
    code, out, _ = job("--apply")
    assert code == 0 and "No changes" in out
    # customers (3 pages), tags, and each tier tag's customers (30 each: one page): the minimum
    assert (papercups.reads(), papercups.writes()) == (3 + 1 + 3, 0)

    # Shop's deal closes on Enterprise: its people move from Subscriber to Focus
    promoted = DIRECTORY.replace("plan: cloud, monthly_spend: 100", "plan: enterprise")
    env.setenv("CUSTOMERS_YAML", promoted)
    papercups.reset_counts()
    code, out, err = job("--apply")
    assert code == 0, err
    sam = ids["c001@shop.example"]
    assert tier_tags(papercups, sam) == {TAG[FOCUS]}  # the old tier tag is gone
    assert metadata_tier(papercups, sam) == FOCUS
    # 30 customers: add the new tag, remove the old, set the metadata; one login
    assert papercups.writes() == 1 + 30 * 3
    assert papercups.count("DELETE", "/api/customers/*/tags/*") == 30


def test_a_tag_left_on_by_hand_is_corrected(papercups, job, login):
    cid = papercups.add_customer("ada@bigbank.example", tags=[TAG[COMMUNITY], "vip"])
    papercups.customers[cid]["metadata"] = {"tier": FOCUS}
    code, out, err = job("--apply")
    assert code == 0, err
    assert papercups.customer_tag_names(cid) == {TAG[FOCUS], "vip"}  # other tags untouched
    assert "tag     tier: focus (was: tier: community)" in out


def test_the_dry_run_with_a_login_does_not_log_in(papercups, job, login):
    seed(papercups, 8)
    code, out, _ = job("--format", "json")
    assert code == 0
    report = json.loads(out)
    assert report["mode"] == "tags" and report["customers"]["no email"] == 2
    assert {c["action"] for c in report["changes"]} == {"create", "tag", "set"}
    assert papercups.writes() == 0


def test_a_tag_created_meanwhile_is_found_not_doubled(papercups):
    existing = papercups.add_tag(TAG[FOCUS], "by hand", "#000000")
    client = Papercups(papercups.api_key, papercups.url)
    tag_id = sync_customer_tiers.create_tag(client, TAG[FOCUS], "Focus", "#b60205")
    assert tag_id == existing
    assert [t["name"] for t in papercups.tags.values()].count(TAG[FOCUS]) == 1


# --- failures ------------------------------------------------------------------------------------


def test_an_interrupted_apply_is_finished_by_the_next_run(papercups, job, login):
    ids = seed(papercups, 12)
    # a refusal that is not retried stands for the run dying half-way (and keeps the test fast)
    papercups.inject("PUT", "/api/v1/customers/*", 404, times=100)
    code, _, err = job("--apply")
    assert code == 1 and "HTTP 404" in err
    assert tier_tags(papercups, ids["c000@bigbank.example"]) == {TAG[FOCUS]}  # the rest went on
    papercups.faults.clear()
    code, _, err = job("--apply")
    assert code == 0, err
    assert metadata_tier(papercups, ids["c000@bigbank.example"]) == FOCUS
    papercups.reset_counts()
    assert job("--apply")[0] == 0 and papercups.writes() == 0


def test_a_wrong_password_writes_nothing(papercups, job, env):
    seed(papercups, 8)
    env.setenv("PAPERCUPS_EMAIL", OWNER)
    env.setenv("PAPERCUPS_PASSWORD", "Pw-n0t-th1s")
    code, _, err = job("--apply")
    assert code == 2 and "login" in err and "nothing was written" in err, err
    assert "Pw-n0t-th1s" not in err
    assert papercups.writes() == 1  # the refused login only
    assert not any(c["metadata"] and "tier" in c["metadata"] for c in papercups.customers.values())


@pytest.mark.parametrize("half", ["PAPERCUPS_EMAIL", "PAPERCUPS_PASSWORD"])
def test_half_a_login_is_a_usage_error_before_any_request(papercups, job, env, half):
    env.setenv(half, "x")
    code, _, err = job()
    assert code == 2 and "tagging needs both" in err
    assert papercups.count() == 0


def test_a_bad_directory_is_exit_2_with_no_request(papercups, job, env):
    env.setenv("CUSTOMERS_YAML", "customers: [{company: X, domains: [gmail.com]}]")
    code, _, err = job("--apply")
    assert code == 2 and "free-mail" in err
    assert papercups.count() == 0


def test_a_bad_api_key_is_exit_2(papercups, job, env):
    env.setenv("PAPERCUPS_TOKEN", "not-the-key")
    code, _, err = job()
    assert code == 2 and "HTTP 401" in err and "not-the-key" not in err


def test_no_token_shows_the_desired_state_and_apply_needs_it(papercups, job, env, login):
    env.delenv("PAPERCUPS_TOKEN")
    code, out, _ = job()
    assert code == 0 and "PAPERCUPS_TOKEN is not set" in out
    assert "2 customers, 1 focus, 1 subscriber, 0 community" in out
    assert "tags: tier: focus (#b60205)" in out
    code, _, err = job("--apply")
    assert code == 2 and "PAPERCUPS_TOKEN" in err
    assert papercups.count() == 0
