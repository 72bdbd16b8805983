"""Shared pytest setup: each service fake registers its fixtures here."""

pytest_plugins: list[str] = [
    # one line per fake, e.g. "tests.fakes.pagerduty",
]
