"""Several started fakes as one world: the environment of a job that talks to exactly them, and
their books added up. Multi-service tests, the demo and the benchmark all build on it."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from fakes.base import FakeService, fake_env
from scripts import environment

# Every variable that logs a job in to a service or points it at one (scripts/environment.py),
# and the CA bundles a fake on TLS sets: a job in a world reaches the world's fakes only, never
# a service (or a token) of the shell or the test run around it.
SERVICE_VARIABLES = frozenset(
    v.name for v in environment.VARIABLES if v.kind in ("secret", "address")
) | {"SSL_CERT_FILE", "REQUESTS_CA_BUNDLE"}


class World:
    """Started fakes by name (`world.slack`); `env` is what a job gets to reach them."""

    def __init__(self, **fakes: FakeService):
        self.fakes: dict[str, FakeService] = dict(fakes)

    def __getattr__(self, name: str) -> Any:
        fakes = self.__dict__.get("fakes", {})
        if name in fakes:
            return fakes[name]
        raise AttributeError(f"{type(self).__name__} has no {name!r} (its fakes: {list(fakes)})")

    def __iter__(self) -> Iterator[FakeService]:
        return iter(self.fakes.values())

    def env(self, *names: str) -> dict[str, str]:
        """The variables pointing a job at the named fakes (all of them by default)."""
        return fake_env(*(self.fakes[n] for n in names or self.fakes))

    def environ(self, base: Mapping[str, str], names: Iterable[str]) -> dict[str, str]:
        """`base` (a shell's environment) without any service's token or address, plus the
        fakes' of `names`: a job run as a process with it talks to those fakes only."""
        kept = {k: v for k, v in base.items() if k not in SERVICE_VARIABLES}
        return kept | fake_env(*(self.fakes[n] for n in names))

    def point(self, monkeypatch: Any, *names: str) -> None:
        """Point this process's environment (pytest's monkeypatch) at the named fakes only."""
        for name in SERVICE_VARIABLES:
            monkeypatch.delenv(name, raising=False)
        for name, value in self.env(*names).items():
            monkeypatch.setenv(name, value)

    def requests(self) -> tuple[int, ...]:
        return tuple(f.count() for f in self)

    def writes(self) -> tuple[int, ...]:
        return tuple(f.writes() for f in self)

    def reset_counts(self) -> None:
        for fake in self:
            fake.reset_counts()

    def pending(self) -> bool:
        """Whether any fake still holds a fault or an edit waiting for a request."""
        return any(f.pending() for f in self)
