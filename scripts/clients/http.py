"""A requests Session with bounded retries, for the services that have no official client."""

from __future__ import annotations

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

RETRY_STATUSES = (429, 500, 502, 503, 504)


class ServiceError(Exception):
    """A request failed (after retries); says which request and why, never the credentials."""

    service = "The service"  # each adapter's subclass names its own

    def __init__(self, what: str, status: int | None, message: str):
        code = f"HTTP {status}" if status else "no answer"
        super().__init__(f"{self.service} {what}: {code}: {message}")
        self.what, self.status, self.message = what, status, message


def retrying_session(
    retries: int = 3,
    backoff: float = 0.25,
    max_wait: int = 30,
    methods: frozenset[str] = frozenset({"GET"}),
) -> requests.Session:
    """Retry 429, 5xx and connection errors at most `retries` times for `methods`, honouring
    Retry-After up to `max_wait` seconds, so that one run's waiting stays bounded."""
    retry = Retry(
        total=retries,
        status_forcelist=RETRY_STATUSES,
        allowed_methods=methods,
        backoff_factor=backoff,  # 0, 2*backoff, 4*backoff ... between consecutive failures
        backoff_max=max_wait,
        respect_retry_after_header=True,
        retry_after_max=max_wait,  # a longer Retry-After is cut to this: the run stays bounded
        raise_on_status=False,  # the last answer comes back, for a readable error
    )
    session = requests.Session()
    session.mount("https://", HTTPAdapter(max_retries=retry))
    session.mount("http://", HTTPAdapter(max_retries=retry))
    return session
