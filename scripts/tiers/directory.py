"""Customer tiers, pure: the rules, the customer directory (load, validate) and author matching."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast
from urllib.parse import urlsplit

import jsonschema

from scripts.rotation.problems import ConfigError, Problem
from scripts.rotation.yaml_source import Source, parse, read_text
from scripts.tiers.names import COMMUNITY, FOCUS, SUBSCRIBER, TIERS

DEFAULT_RULES = (
    {"tier": FOCUS, "plans": ["scale", "enterprise"]},
    {"tier": FOCUS, "in_sales_process": True},
    {"tier": FOCUS, "plans": ["cloud"], "monthly_spend_over": 500},
    {"tier": SUBSCRIBER, "plans": ["cloud"], "monthly_spend_over": 0},
)
ENV_CONTENT, ENV_PATH = "CUSTOMERS_YAML", "CUSTOMERS_FILE"
DEFAULT_PATH = "customers.yaml"  # next to rotation.yaml; ignored by git
# Domains anyone can have an address at: they identify no company, so the directory refuses them.
FREE_MAIL = frozenset(
    {
        "gmail.com", "googlemail.com", "outlook.com", "hotmail.com", "live.com", "msn.com",
        "yahoo.com", "icloud.com", "me.com", "mac.com", "aol.com", "proton.me", "protonmail.com",
        "pm.me", "gmx.com", "gmx.de", "gmx.net", "web.de", "yandex.ru", "mail.ru", "qq.com",
        "163.com", "126.com", "hey.com", "fastmail.com", "zoho.com", "users.noreply.github.com",
        "github.com",
    }
)  # fmt: skip
_LEGAL_SUFFIXES = {
    "inc", "ltd", "llc", "gmbh", "corp", "corporation", "co", "plc", "sa", "ag", "bv", "limited",
    "company", "sas", "srl", "oy", "ab", "as", "pty", "kk",
}  # fmt: skip


# --- tier rules ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rule:
    """A tier for customers meeting every condition given (None: no condition on that field)."""

    tier: str
    plans: frozenset[str] | None = None
    in_sales_process: bool | None = None
    monthly_spend_over: float | None = None
    line: int = 0  # in rotation.yaml; 0 for the built-in defaults

    def holds(self, customer: Customer) -> bool:
        if self.plans is not None and (customer.plan or "").lower() not in self.plans:
            return False
        if self.in_sales_process is not None and customer.in_sales_process != self.in_sales_process:
            return False
        over = self.monthly_spend_over
        return over is None or customer.monthly_spend > over


def rules(raw: Iterable[Mapping[str, Any]] | None, lines: Iterable[int] = ()) -> tuple[Rule, ...]:
    """Rules from the `tiers.rules` list of rotation.yaml (schema-checked), or the defaults."""
    raw = list(raw) if raw is not None else list(DEFAULT_RULES)
    lines = list(lines) + [0] * len(raw)
    return tuple(
        Rule(
            tier=r["tier"],
            plans=frozenset(p.lower() for p in r["plans"]) if "plans" in r else None,
            in_sales_process=r.get("in_sales_process"),
            monthly_spend_over=r.get("monthly_spend_over"),
            line=line,
        )
        for r, line in zip(raw, lines, strict=False)
    )


def tier_of(customer: Customer | None, rule_list: Iterable[Rule]) -> tuple[str, Rule | None]:
    """The first rule that holds decides; nobody (or no rule): Community."""
    if customer is not None:
        for rule in rule_list:
            if rule.holds(customer):
                return rule.tier, rule
    return COMMUNITY, None


# --- the directory ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Customer:
    """One company; `index` is its place in the directory (messages name places, not companies)."""

    company: str
    plan: str | None = None
    monthly_spend: float = 0.0
    in_sales_process: bool = False
    domains: tuple[str, ...] = ()
    github_logins: tuple[str, ...] = ()
    github_orgs: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()  # other names of the company, as people write it on profiles
    index: int = 0


@dataclass(frozen=True)
class Directory:
    customers: tuple[Customer, ...]
    source: str = ""  # the file name or $CUSTOMERS_YAML
    logins: Mapping[str, Customer] = field(default_factory=dict)  # lowercase keys
    orgs: Mapping[str, Customer] = field(default_factory=dict)
    domains: Mapping[str, Customer] = field(default_factory=dict)
    companies: Mapping[str, Customer] = field(default_factory=dict)  # normalised names


_NAME = {"type": "string", "minLength": 1}
_LOGIN = {"type": "string", "pattern": "^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$"}
_DOMAIN = {
    "type": "string",
    "pattern": r"^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+[a-z]{2,}$",
}
_PATTERN_HINTS = {
    _LOGIN["pattern"]: "is not a GitHub login or organisation",
    _DOMAIN["pattern"]: "is not a lowercase domain name such as example.com",
}
SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "required": ["customers"],
    "properties": {
        "customers": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["company"],
                "properties": {
                    "company": _NAME,
                    "plan": {"type": ["string", "null"]},
                    "monthly_spend": {"type": "number", "minimum": 0},
                    "in_sales_process": {"type": "boolean"},
                    "domains": {"type": "array", "items": _DOMAIN},
                    "github_logins": {"type": "array", "items": _LOGIN},
                    "github_orgs": {"type": "array", "items": _LOGIN},
                    "aliases": {"type": "array", "items": _NAME},
                    "note": {"type": "string"},
                },
            },
        }
    },
}


def load_directory(environ: Mapping[str, str], base: Path = Path()) -> Directory:
    """The directory from $CUSTOMERS_YAML (its content), else $CUSTOMERS_FILE, else customers.yaml.

    Raises ConfigError when there is none or it is invalid: labelling everyone Community for
    want of a directory would be wrong, so the job stops instead.
    """
    if environ.get(ENV_CONTENT):
        return parse_directory(environ[ENV_CONTENT], f"${ENV_CONTENT}")
    path = Path(environ.get(ENV_PATH) or base / DEFAULT_PATH)
    if not path.exists() and not path.is_symlink():
        raise ConfigError(
            [Problem(str(path), 1, 1, "", f"no customer directory (no such file): set "
                     f"{ENV_CONTENT} (its content, e.g. from a secret) or {ENV_PATH} (a path)")]
        )  # fmt: skip
    text, problems = read_text(path)  # a link, a device, over 2 MB or not UTF-8: refused
    if text is None:
        raise ConfigError(problems)
    return parse_directory(text, str(path))


def parse_directory(text: str, name: str) -> Directory:
    """Parse and validate directory YAML; problems cite places, never values (they are private)."""
    src = parse(text, name)
    if not src.problems and not isinstance(src.data, dict):
        src.add((), "the directory must be a mapping with a `customers` list")
    if not src.problems:
        for error in jsonschema.Draft202012Validator(SCHEMA).iter_errors(src.data):
            _schema_problem(src, error)
    if not src.problems:
        _check_meaning(src)
    if src.problems:
        raise ConfigError(src.problems)
    return build(_customers(_entries(src)), name)


def _entries(src: Source) -> list[dict[str, Any]]:
    """The `customers` list of a directory the schema has checked."""
    return cast("list[dict[str, Any]]", cast("dict[str, Any]", src.data)["customers"])


def _schema_problem(src: Source, error: jsonschema.ValidationError) -> None:
    path = tuple(error.absolute_path)
    if error.validator == "additionalProperties":
        for key in sorted(set(error.instance) - set(error.schema.get("properties", {}))):
            src.add(path + (key,), f"unknown key '{key}'", key=True)
    elif error.validator == "required":
        src.add(path, f"missing required key '{error.message.split(chr(39))[1]}'")
    elif error.validator == "type":
        kinds = (
            error.validator_value
            if isinstance(error.validator_value, list)
            else [error.validator_value]
        )
        src.add(path, f"expected {' or '.join(k for k in kinds if k != 'null')}")
    elif error.validator == "pattern":
        src.add(path, _PATTERN_HINTS.get(error.validator_value, "has the wrong form"))
    else:
        src.add(path, f"fails the `{error.validator}` check")  # jsonschema's text quotes the value


def _check_meaning(src: Source) -> None:
    """Free-mail domains, and anything that would recognise two customers at once."""
    seen: dict[tuple[str, str], int] = {}
    for i, entry in enumerate(_entries(src)):
        keys = [("domains", d) for d in entry.get("domains", [])]
        keys += [(f, v.lower()) for f in ("github_logins", "github_orgs") for v in entry.get(f, [])]
        for j, (kind, value) in enumerate(keys):
            where = ("customers", i, kind, _position(entry, kind, j))
            if kind == "domains" and value in FREE_MAIL:
                src.add(where, "a free-mail domain recognises no one company: remove it")
            other = seen.setdefault((kind, value), i)
            if other != i:
                src.add(where, f"also listed for customers[{other}]: one place per customer")


def _position(entry: Mapping[str, Any], kind: str, flat_index: int) -> int:
    """Index within `kind` of the flat_index-th key of that kind (keys are grouped by kind)."""
    before = {"domains": 0, "github_logins": len(entry.get("domains", []))}
    before["github_orgs"] = before["github_logins"] + len(entry.get("github_logins", []))
    return flat_index - before[kind]


def _customers(raw: list[dict[str, Any]]) -> list[Customer]:
    return [
        Customer(
            company=c["company"],
            plan=str(c["plan"]).lower() if c.get("plan") else None,
            monthly_spend=float(c.get("monthly_spend", 0)),
            in_sales_process=bool(c.get("in_sales_process", False)),
            domains=tuple(c.get("domains", [])),
            github_logins=tuple(c.get("github_logins", [])),
            github_orgs=tuple(c.get("github_orgs", [])),
            aliases=tuple(c.get("aliases", [])),
            index=i,
        )
        for i, c in enumerate(raw)
    ]


def build(customers: Iterable[Customer], source: str = "") -> Directory:
    """A directory with its lookup tables (first listed wins a clash; validation refuses them)."""
    customers = tuple(customers)
    logins: dict[str, Customer] = {}
    orgs: dict[str, Customer] = {}
    domains: dict[str, Customer] = {}
    companies: dict[str, Customer] = {}
    for c in customers:
        for login in c.github_logins:
            logins.setdefault(login.lower(), c)
        for org in c.github_orgs:
            orgs.setdefault(org.lower(), c)
        for domain in c.domains:
            domains.setdefault(domain.lower(), c)
        for name in (c.company, *c.aliases):
            companies.setdefault(company_key(name), c)
    return Directory(customers, source, logins, orgs, domains, companies)


def company_key(name: str) -> str:
    """A company name reduced for comparison: "ACME Rockets, Inc." -> "acme rockets"."""
    words = re.findall(r"[a-z0-9]+", name.lower())
    while len(words) > 1 and words[-1] in _LEGAL_SUFFIXES:
        words.pop()
    return " ".join(words)


# --- matching an author ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Profile:
    """What a GitHub profile says publicly (any of it may be missing)."""

    login: str
    name: str | None = None
    company: str | None = None
    email: str | None = None
    blog: str | None = None


@dataclass(frozen=True)
class Match:
    """Who an author is, and how we know: shown in plans instead of the (private) company."""

    customer: Customer | None
    how: str = "no match"


def match_login(directory: Directory, login: str) -> Match | None:
    found = directory.logins.get(login.lower())
    return Match(found, "GitHub login") if found else None


def orgs_to_check(directory: Directory, rule_list: Iterable[Rule]) -> list[str]:
    """Customer organisations, highest tier first: the first public membership found is the best."""
    rule_list = tuple(rule_list)
    rank = {c.index: TIERS.index(tier_of(c, rule_list)[0]) for c in directory.customers}
    ordered = sorted(directory.orgs.items(), key=lambda item: (rank[item[1].index], item[1].index))
    return [org for org, _ in ordered]


def match_org(directory: Directory, org: str) -> Match:
    return Match(directory.orgs[org.lower()], "public organisation")


def match_profile(directory: Directory, profile: Profile) -> Match | None:
    """The email domain, then the company (an @organisation or a name), then the website."""
    domain = (profile.email or "").rpartition("@")[2]
    if domain and (found := match_domain(directory, domain)):
        return Match(found, "profile email domain")
    if found := match_company(directory, profile.company or ""):
        return Match(found, "profile company")
    if profile.blog:
        host = urlsplit(profile.blog if "//" in profile.blog else "//" + profile.blog).hostname
        if host and (found := match_domain(directory, host.removeprefix("www."))):
            return Match(found, "profile website")
    return None


def match_domain(directory: Directory, domain: str) -> Customer | None:
    """A customer domain or any subdomain of it: eu.acme.example matches acme.example."""
    parts = domain.lower().strip().rstrip(".").split(".")
    for i in range(len(parts) - 1):
        if found := directory.domains.get(".".join(parts[i:])):
            return found
    return None


def match_company(directory: Directory, company: str) -> Customer | None:
    """An "@organisation" mention, else the text (or a part of it) as a company name."""
    for mention in re.findall(r"@([A-Za-z0-9-]+)", company):
        if found := directory.orgs.get(mention.lower()):
            return found
    text = re.sub(r"@[A-Za-z0-9-]+", " ", company)
    for part in [text, *re.split(r"[,;/|()]", text)]:
        if (key := company_key(part)) and (found := directory.companies.get(key)):
            return found
    return None
