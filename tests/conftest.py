"""Shared pytest setup: each service fake registers its fixtures here."""

pytest_plugins: list[str] = [
    "tests.fakes.slack",
    "tests.fakes.pagerduty",
    "tests.fakes.github",
]
