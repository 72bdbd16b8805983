"""A requests Session with bounded retries, for the services that have no official client."""

from __future__ import annotations

import os
import ssl
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import MaxRetryError, ResponseError
from urllib3.util.retry import Retry

RETRY_STATUSES = (429, 500, 502, 503, 504)


class Failure(Exception):
    """Base of every adapter's error: a service failed after retries. `setup` when it refused
    the token (or its access): the fix is in the set-up, and the job exits 2."""

    @property
    def setup(self) -> bool:
        return False


class ServiceError(Failure):
    """A request failed (after retries); says which request and why, never the credentials."""

    service = "The service"  # each adapter's subclass names its own

    def __init__(self, what: str, status: int | None, message: str):
        code = f"HTTP {status}" if status else "no answer"
        super().__init__(f"{self.service} {what}: {code}: {message}")
        self.what, self.status, self.message = what, status, message

    @property
    def setup(self) -> bool:
        return self.status in (401, 403)


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
    retries = retry_cap(retries)
    retry = _BoundedRetry(
        total=retries,
        connect=retries,  # refused or reset: often a restart, worth a few quick tries
        read=0,  # a request sent and not answered within the timeout is not sent again
        other=0,  # a TLS failure does not mend itself
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


# --- what went wrong, in one line ---------------------------------------------------------------

TIMEOUT_VARIABLE = "SUPPORT_HERO_TIMEOUT"
DEFAULT_TIMEOUT = 30.0  # seconds for one request to answer; a silent server costs no more
CONNECT_TIMEOUT = 10.0  # seconds to connect (at most the request timeout)


def request_timeout() -> float:
    """Seconds one request may take to answer: $SUPPORT_HERO_TIMEOUT, else 30."""
    try:
        value = float(os.environ.get(TIMEOUT_VARIABLE) or DEFAULT_TIMEOUT)
    except ValueError:
        return DEFAULT_TIMEOUT
    return value if 0 < value <= 600 else DEFAULT_TIMEOUT


RETRIES_VARIABLE = "SUPPORT_HERO_RETRIES"


def retry_cap(retries: int) -> int:
    """`retries`, or fewer when $SUPPORT_HERO_RETRIES (0-10) caps every client's retries."""
    try:
        cap = int(os.environ.get(RETRIES_VARIABLE) or retries)
    except ValueError:
        return retries
    return max(0, min(retries, cap, 10))


def timeouts() -> tuple[float, float]:
    """(connect, read) seconds, as requests and urllib3 take them."""
    read = request_timeout()
    return min(CONNECT_TIMEOUT, read), read


def _causes(exc: BaseException) -> list[BaseException]:
    """The exception and what it wraps: causes, contexts, urllib3's and urllib's `reason`."""
    seen: list[BaseException] = []
    todo: list[object] = [exc]
    while todo and len(seen) < 20:
        e = todo.pop()
        if not isinstance(e, BaseException) or any(e is s for s in seen):
            continue
        seen.append(e)
        todo += [e.__cause__, e.__context__, getattr(e, "reason", None), *e.args]
    return seen


def transport_reason(exc: BaseException, timeout: float | tuple[float, float] | None = None) -> str:
    """Why no answer came, in words, with what to check: refused, TLS, timed out, DNS."""
    seconds = timeout[-1] if isinstance(timeout, tuple) else timeout or request_timeout()
    causes = _causes(exc)
    text = " ".join(f"{type(e).__name__} {e}" for e in causes).lower()
    if any(isinstance(e, ssl.SSLError) for e in causes) or "certificate" in text or "ssl" in text:
        return "TLS failed (certificate not trusted?): check the URL, SSL_CERT_FILE and any proxy"
    if any(isinstance(e, ConnectionRefusedError) for e in causes) or "refused" in text:
        return "connection refused: check the URL and the network"
    if any(isinstance(e, TimeoutError) for e in causes) or "timed out" in text or "timeout" in text:
        return f"no answer within {seconds:g} s: the service or the network is down"
    if "name or service" in text or "getaddrinfo" in text or "resolve" in text:
        return "the host name does not resolve: check the URL and DNS"
    return f"no answer ({type(exc).__name__}): check the URL and the network"


def answer_reason(status: int | None, content_type: str | None, text: str | None) -> str:
    """A server's answer that is not the API's JSON, in words (never the page itself)."""
    code = f"HTTP {status}" if status else "an answer"
    body = (text or "").lstrip()
    if "html" in (content_type or "").lower() or body[:1] == "<":
        return f"{code} with an HTML page, not the API's JSON (a proxy, a login page or an outage?)"
    return f"{code} that is not the API's JSON: {first_line(body) or '(empty)'}"


def not_json(response) -> str:
    """`answer_reason` of a requests or httpx response (both have these three attributes)."""
    kind = response.headers.get("content-type")  # both look headers up in any case
    return answer_reason(response.status_code, kind, response.text)


def first_line(text: object, limit: int = 160) -> str:
    """The first non-empty line of `text`, cut to `limit` characters."""
    line = next((ln.strip() for ln in str(text).splitlines() if ln.strip()), "")
    return line if len(line) <= limit else line[: limit - 1] + "…"
