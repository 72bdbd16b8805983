"""The secrets a run holds, and their removal from any text before it is printed or posted."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

from scripts import environment

MASK = "***"
SECRET_VARIABLES = environment.SECRETS  # README: "Tokens come only from the environment"
MIN_LENGTH = 4  # a shorter value would mask ordinary words wherever they occur
# Line by line, as the Actions runner masks a multi-line secret: an echo of the directory's raw
# text is hidden, while a customer's name in a plan line stays readable. Shorter lines are YAML
# structure ("tier: focus") that says nothing about a customer.
MIN_LINE = 12
# Credentials by their vendors' documented shapes, for one this run was not given (a proxy
# echoing another request): Slack xox*- and xapp-, GitHub gh*_ and github_pat_, Stripe
# sk_/rk_, HubSpot private-app pat-, and whatever follows an Authorization header or "token=".
_SHAPES = re.compile(
    r"\b(?:xox[abeoprs]-|xapp-)[A-Za-z0-9-]{6,}"
    r"|\b(?:gh[pousr]_[A-Za-z0-9]{16,}|github_pat_[A-Za-z0-9_]{16,})"
    r"|\b[sr]k_(?:live|test)_[A-Za-z0-9]{6,}"
    r"|\bpat-[a-z]{2,3}\d-[A-Za-z0-9-]{8,}"
)
_AFTER_NAME = re.compile(  # the value after the name: "Authorization: Bearer x", "token=x"
    r"""(?i)(authorization["']?\s*[:=]\s*["']?(?:(?:bearer|token|basic)\s+)?(?:token=)?"""
    r"""|\b(?:access_|api_)?token(?:=|["']\s*:\s*["']))[^\s"',;&}]+"""
)


class Secrets:
    """The values to hide; `redact` replaces each, and anything shaped like a credential."""

    def __init__(self, values: Iterable[str] = ()):
        self._values: set[str] = set()
        self._pattern: re.Pattern[str] | None = None
        for value in values:
            self.add(value)

    @classmethod
    def from_environment(cls, env: Mapping[str, str]) -> Secrets:
        secrets = cls()
        for name in SECRET_VARIABLES:
            value = env.get(name) or ""
            secrets.add(value)
            if name == "PAGERDUTY_ROUTING_KEYS":
                secrets.add_all(_json_strings(value))
            if name == "CUSTOMERS_YAML":
                lines = (line.strip().removeprefix("- ") for line in value.splitlines())
                secrets.add_all(line for line in lines if len(line) >= MIN_LINE)
        return secrets

    def add(self, value: str | None) -> None:
        """Hide `value` from now on (a session token the run was handed, say)."""
        if value and len(value.strip()) >= MIN_LENGTH:
            self._values.add(value.strip())
            self._pattern = None

    def add_all(self, values: Iterable[str]) -> None:
        for value in values:
            self.add(value)

    def redact(self, text: str) -> str:
        if self._pattern is None:  # longest first: a secret holding another is hidden whole
            alternatives = sorted(self._values, key=len, reverse=True)
            self._pattern = re.compile("|".join(map(re.escape, alternatives)) or r"(?!x)x")
        text = _SHAPES.sub(MASK, self._pattern.sub(MASK, text))
        return _AFTER_NAME.sub(lambda m: m[1] + MASK, text)

    def redact_data(self, data: Any) -> Any:
        """A JSON-like value with every string in it redacted (a payload about to be posted)."""
        if isinstance(data, str):
            return self.redact(data)
        if isinstance(data, Mapping):
            return {k: self.redact_data(v) for k, v in data.items()}
        if isinstance(data, list | tuple):
            return [self.redact_data(v) for v in data]
        return data


def _json_strings(text: str) -> list[str]:
    try:
        data = json.loads(text)
    except ValueError:
        return []
    return [v for v in data.values() if isinstance(v, str)] if isinstance(data, dict) else []


_current = Secrets()


def begin(env: Mapping[str, str]) -> Secrets:
    """Start a run: its secrets are the environment's (cli.guard calls this for every job)."""
    global _current
    _current = Secrets.from_environment(env)
    return _current


def current() -> Secrets:
    """This run's secrets, for the adapters that post text and the console that prints it."""
    return _current


def redact(text: str) -> str:
    return _current.redact(text)
