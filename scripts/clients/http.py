"""A requests Session with bounded retries, for the services that have no official client."""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import MaxRetryError, ResponseError
from urllib3.util.retry import Retry

RETRY_STATUSES = (429, 500, 502, 503, 504)


class ServiceError(Exception):
    """A request failed (after retries); says which request and why, never the credentials."""

    service = "The service"  # each adapter's subclass names its own

    def __init__(self, what: str, status: int | None, message: str):
        code = f"HTTP {status}" if status else "no answer"
        super().__init__(f"{self.service} {what}: {code}: {message}")
        self.what, self.status, self.message = what, status, message


class _BoundedRetry(Retry):
    """urllib3's Retry, except that a Retry-After longer than `retry_after_max` fails at once:
    urllib3 would shorten the wait to the maximum and ask again, up to `total` times, only to
    be refused again (docs/flag_stale.md: such a source fails for this run)."""

    def increment(self, method=None, url=None, response=None, error=None, *args, **kwargs):
        wait = retry_after(response.headers.get("Retry-After")) if response is not None else None
        if wait is not None and wait > self.retry_after_max:
            # retries end here; with raise_on_status off, urllib3 hands back this answer
            reason = f"asked to wait {wait:.0f} s, more than the {self.retry_after_max} s we wait"
            raise MaxRetryError(kwargs.get("_pool"), url, ResponseError(reason))
        return super().increment(method, url, response, error, *args, **kwargs)


def retry_after(value: str | None) -> float | None:
    """Retry-After as seconds: a number, or an HTTP date."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        try:
            return max(0.0, (parsedate_to_datetime(value) - datetime.now(UTC)).total_seconds())
        except (TypeError, ValueError):
            return None


def wait_note(response: requests.Response) -> str:
    """For an answer refused with a Retry-After: how long it asked us to wait."""
    wait = retry_after(response.headers.get("Retry-After"))
    return f" (asked to wait {wait:.0f} s, longer than a run waits)" if wait else ""


def retrying_session(
    retries: int = 3,
    backoff: float = 0.25,
    max_wait: int = 30,
    methods: frozenset[str] = frozenset({"GET"}),
) -> requests.Session:
    """Retry 429, 5xx and connection errors at most `retries` times for `methods`, honouring
    Retry-After up to `max_wait` seconds, so that one run's waiting stays bounded."""
    retry = _BoundedRetry(
        total=retries,
        status_forcelist=RETRY_STATUSES,
        allowed_methods=methods,
        backoff_factor=backoff,  # 0, 2*backoff, 4*backoff ... between consecutive failures
        backoff_max=max_wait,
        respect_retry_after_header=True,
        retry_after_max=max_wait,  # a longer Retry-After fails at once: the run stays bounded
        raise_on_status=False,  # the last answer comes back, for a readable error
    )
    session = requests.Session()
    session.mount("https://", HTTPAdapter(max_retries=retry))
    session.mount("http://", HTTPAdapter(max_retries=retry))
    return session
