"""The one set of pytest fixtures for the service fakes (fakes/): each a started fake that fails
the test, on leaving it, if any traffic broke the vendor's spec."""

from collections.abc import Iterator

import pytest

from fakes.github import GitHubFake
from fakes.hubspot import HubSpotFake
from fakes.pagerduty import PagerDutyFake
from fakes.pagerduty_events import PagerDutyEventsFake
from fakes.papercups import PapercupsFake
from fakes.sentry import SentryFake
from fakes.slack import SlackFake
from fakes.stripe import StripeFake


@pytest.fixture
def github_fake() -> Iterator[GitHubFake]:
    with GitHubFake() as fake:
        yield fake


@pytest.fixture
def hubspot_fake() -> Iterator[HubSpotFake]:
    with HubSpotFake() as fake:
        yield fake


@pytest.fixture
def pagerduty_fake() -> Iterator[PagerDutyFake]:
    with PagerDutyFake() as fake:
        yield fake


@pytest.fixture
def pagerduty_events_fake() -> Iterator[PagerDutyEventsFake]:
    with PagerDutyEventsFake() as fake:
        yield fake


@pytest.fixture
def papercups_fake() -> Iterator[PapercupsFake]:
    with PapercupsFake() as fake:
        yield fake


@pytest.fixture
def sentry_fake() -> Iterator[SentryFake]:
    with SentryFake() as fake:
        yield fake


@pytest.fixture
def slack_fake() -> Iterator[SlackFake]:
    with SlackFake() as fake:
        yield fake


@pytest.fixture
def stripe_fake() -> Iterator[StripeFake]:
    with StripeFake() as fake:
        yield fake
