"""Base of the local fake services: a threaded Werkzeug server checking all traffic against specs/.

A fake is a subclass with a spec and routes; handlers get a Request and path parameters and answer
`(status, json_body)` or `(status, json_body, headers)`, holding `self.lock`::

    class PagerDutyFake(FakeService):
        spec = "pagerduty-rest.json"    # file in specs/ (or an inline dict; None: no checks)
        env_var = "PAGERDUTY_API_URL"   # fake_env() sets it to .url
        tls = True                      # the pagerduty client refuses http://
        # specs/README.md: documented as answering 201, the live API answers 200
        status_aliases = (("GET", "/schedules/{id}/overrides", 200, 201),)

        def __init__(self, **kw):
            super().__init__(**kw)
            self.users = {}

        @route("GET", "/users/{id}")
        def get_user(self, req, id):
            if id not in self.users:
                return 404, {"error": {"message": "Not Found", "code": 2100}}
            return 200, {"user": self.users[id]}

    with PagerDutyFake() as pd:  # leaving the block raises if anything broke the spec
        env = fake_env(pd)       # {"PAGERDUTY_API_URL": ..., "SSL_CERT_FILE": ..., ...}

Quirk hooks, each to be commented with the vendor note it follows: class attributes (tuples, so
ruff's RUF012 stays quiet) `base_path`, `status_aliases`, `spec_patches`, `unchecked_responses`
(with a reason), `more_specs`, `ignore_params`, `greedy_params`, `method_fallbacks`,
`args_anywhere`; methods `is_read`, `response_key`, `error_body`, `env`. Tests drive `inject()`
and `latency`, and read `calls`, `count()`, `reads()`, `writes()` and `violations` (or call
`assert_clean()`).
"""

from __future__ import annotations

import atexit
import json
import re
import shutil
import socket
import ssl
import tempfile
import threading
import time
import traceback
import weakref
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import parse_qsl, unquote

import trustme
from werkzeug.datastructures import Headers, MultiDict
from werkzeug.serving import WSGIRequestHandler, make_server
from werkzeug.wrappers import Request as WerkzeugRequest
from werkzeug.wrappers import Response

from fakes import spec as specs

READ_METHODS = frozenset({"GET", "HEAD"})


def route(method: str, template: str):
    """Mark a method as the handler of `method template` (template relative to base_path)."""

    def mark(fn):
        fn.routes = [*getattr(fn, "routes", []), (method.upper(), template)]
        return fn

    return mark


@dataclass
class Request:
    """What a handler sees of a request; `path` is below base_path, percent-decoded."""

    method: str
    path: str
    query: MultiDict  # .get(name) first value, .getlist(name) all of them
    headers: Headers
    data: bytes = b""
    form: MultiDict = field(default_factory=MultiDict)  # a form-encoded body
    json: Any = None  # a JSON body, parsed
    json_error: str | None = None

    @property
    def content_type(self) -> str:
        return self.headers.get("Content-Type", "").split(";")[0].strip().lower()

    @property
    def authorization(self) -> str | None:
        return self.headers.get("Authorization")

    @property
    def args(self) -> MultiDict:
        """Query, form and JSON-object arguments in one (Slack reads them from any of these)."""
        members = self.json.items() if isinstance(self.json, dict) else []
        return MultiDict([*self.query.items(multi=True), *self.form.items(multi=True), *members])


@dataclass
class Call:
    """One request as the fake answered it."""

    method: str
    path: str
    query: dict[str, list[str]]
    status: int
    time: float  # time.time() when answered
    fault: bool = False  # answered by an injected fault, not by the handler


@dataclass
class Fault:
    """An injected answer for the next `remaining` matching requests."""

    method: str
    path: str
    status: int | None
    remaining: int
    headers: dict[str, str]
    body: Any
    delay: float
    after: bool = False  # the handler runs first (the write happens), then the answer is lost


@cache
def _pattern(glob: str) -> re.Pattern:
    """`{name}` and `*` match within one path segment, `**` across segments."""
    parts = re.split(r"(\*\*|\*|\{[^}]*\})", glob)
    wild = {"**": ".*", "*": "[^/]*"}
    return re.compile(
        "".join(wild.get(p) or ("[^/]+" if p[:1] == "{" else re.escape(p)) for p in parts) + "$"
    )


def _matches(method: str | None, path: str | None, call_method: str, call_path: str) -> bool:
    if method not in (None, "*", call_method):
        return False
    return path is None or bool(_pattern(path).match(call_path))


@cache
def _tls() -> tuple[trustme.LeafCert, str]:
    """One throwaway CA per process, its server certificate, and the CA as a PEM file."""
    ca = trustme.CA()
    folder = tempfile.mkdtemp(prefix="fake-ca-")
    atexit.register(shutil.rmtree, folder, True)
    bundle = Path(folder) / "ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    return ca.issue_cert("127.0.0.1", "localhost"), str(bundle)


def ca_bundle_path() -> str:
    """PEM file of the CA that signs every TLS fake (for SSL_CERT_FILE / REQUESTS_CA_BUNDLE)."""
    return _tls()[1]


def fake_env(*fakes: FakeService) -> dict[str, str]:
    """Environment for code under test: each fake's URL variable, and the CA if any uses TLS."""
    env: dict[str, str] = {}
    for fake in fakes:
        env.update(fake.env())
    return env


class _Handler(WSGIRequestHandler):
    def setup(self) -> None:
        # Without this, Nagle's algorithm holds a response behind the unacknowledged TLS session
        # tickets until Werkzeug closes the connection: 10 ms more per HTTPS request.
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().setup()

    def log_request(self, *args: Any) -> None:
        pass  # a log line per request would drown test and benchmark output


class FakeService:
    """A fake HTTP service on 127.0.0.1; subclass it, see the module docstring."""

    spec: ClassVar[str | dict | None] = None
    base_path: str | None = None  # None: the spec's server path ("" without a spec)
    env_var: ClassVar[str | None] = None
    tls: bool = False
    # (method, spec template, status answered, status documented): a vendor file's wrong status
    status_aliases: ClassVar[tuple[tuple[str, str, int, int], ...]] = ()
    # (method, spec template, why): responses not validated, only for a stated reason
    unchecked_responses: ClassVar[tuple[tuple[str, str, str], ...]] = ()
    # ((key, ...), value): set in the spec before use, where a vendor file is known to be wrong
    spec_patches: ClassVar[specs.Patches] = ()
    # ((file, patches), ...): more descriptions served beside `spec` on the same server, tried
    # after it (PagerDuty documents its shift-based schedules in a file of their own)
    more_specs: ClassVar[tuple[tuple[str, specs.Patches], ...]] = ()
    ignore_params: ClassVar[tuple[tuple[str, str], ...]] = ()  # (in, name) left unchecked
    greedy_params: ClassVar[tuple[str, ...]] = ()  # path parameters that may hold "/"
    # (method sent, method documented): e.g. ("POST", "GET"), Slack takes either for any method
    method_fallbacks: ClassVar[tuple[tuple[str, str], ...]] = ()
    args_anywhere: ClassVar[bool] = False  # query/form arguments may come in any part (Slack)
    check_on_exit: ClassVar[bool] = True  # `with` raises on exit if any violation was recorded
    # Every fake serving now: a test's side runs (tests/stale_world.py) set their books back.
    running: ClassVar[weakref.WeakSet[FakeService]] = weakref.WeakSet()

    def __init__(self, *, tls: bool | None = None, latency: float = 0.0):
        self.tls = type(self).tls if tls is None else tls
        self.latency = latency  # seconds added to every request (benchmarks)
        self.lock = threading.RLock()  # guards all state; handlers run holding it
        self.violations: list[str] = []
        self.faults: list[Fault] = []
        self._calls: list[Call] = []
        self._aliases = {(m, t, answered): told for m, t, answered, told in self.status_aliases}
        self._unchecked = {(m, t): why for m, t, why in self.unchecked_responses}
        self._fallbacks = dict(self.method_fallbacks)
        self._greedy, self._ignore = frozenset(self.greedy_params), frozenset(self.ignore_params)
        self._spec = self._load_spec()
        self._specs = [x for x in (self._spec,) if x] + [
            specs.load(source, patches) for source, patches in self.more_specs
        ]
        self._check_quirks()
        self._routes = _route_table(type(self))
        self._stopping = threading.Event()
        self._server = None

    def _load_spec(self) -> specs.Spec | None:
        source = type(self).spec
        if isinstance(source, dict):
            loaded = specs.Spec(source, self.spec_patches)  # inline specs are small: no cache
        else:
            loaded = specs.load(source, self.spec_patches) if source else None
        if self.base_path is None:
            self.base_path = loaded.base_path if loaded else ""
        return loaded

    def _check_quirks(self) -> None:
        for key in [(m, t) for m, t, _ in self._aliases] + list(self._unchecked):
            if not any(key in x.operations for x in self._specs):  # a misspelt quirk checks nothing
                raise ValueError(f"{type(self).__name__}: {key} is not an operation of the spec")
        for key, reason in self._unchecked.items():
            if not reason.strip():
                raise ValueError(f"{type(self).__name__}: unchecked {key} needs a reason")

    # -- lifecycle

    def start(self) -> FakeService:
        context = self._ssl_context() if self.tls else None
        self._stopping.clear()
        self._server = make_server(
            "127.0.0.1", 0, self._wsgi, threaded=True, ssl_context=context,
            request_handler=_Handler,
        )  # fmt: skip
        # A short poll interval keeps stop() fast: tests start and stop many servers.
        serve = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        serve.start()
        FakeService.running.add(self)
        return self

    def stop(self) -> None:
        FakeService.running.discard(self)
        if self._server is not None:
            self._stopping.set()  # cuts injected delays short
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeService:
        return self.start()

    def __exit__(self, exc_type, exc, tb) -> None:
        self.stop()
        if not self.check_on_exit:
            return
        if exc is None:
            self.assert_clean()
        elif self.violations:  # often the cause of the failure: show them with it
            exc.add_note(f"{type(self).__name__} violations:\n" + "\n".join(self.violations))

    @staticmethod
    def _ssl_context() -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        _tls()[0].configure_cert(context)
        return context

    @property
    def origin(self) -> str:
        """scheme://127.0.0.1:port, without base_path."""
        assert self._server is not None, "start() the fake first"
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self._server.server_port}"

    @property
    def url(self) -> str:
        """Base URL of the API: origin + base_path."""
        return self.origin + self.base_path

    @property
    def ca_bundle_path(self) -> str:
        return ca_bundle_path()

    def env(self) -> dict[str, str]:
        """Variables pointing code under test here; override to add e.g. a token."""
        env = {self.env_var: self.url} if self.env_var else {}
        if self.tls:  # urllib/ssl and httpx read SSL_CERT_FILE, requests REQUESTS_CA_BUNDLE
            env |= {"SSL_CERT_FILE": ca_bundle_path(), "REQUESTS_CA_BUNDLE": ca_bundle_path()}
        return env

    # -- violations

    def violation(self, message: str) -> None:
        with self.lock:
            self.violations.append(message)

    def assert_clean(self) -> None:
        """Raise if any request or response broke the spec (or no handler answered)."""
        with self.lock:
            found = list(self.violations)
        if found:
            lines = "\n".join(f"  - {v}" for v in found)
            raise AssertionError(f"{type(self).__name__}: {len(found)} violation(s):\n{lines}")

    # -- faults and accounting

    def inject(
        self,
        method: str,
        path: str,
        status: int | None = None,
        *,
        times: int = 1,
        headers: dict[str, str] | None = None,
        body: Any = None,
        delay: float = 0.0,
        after: bool = False,
    ) -> Fault:
        """Answer the next `times` matching requests with `status` (after `delay` seconds).

        `path` is a template or glob below base_path ("/users/{id}", "/users/*", "/**"); with
        no status the request goes on to its handler after the delay (to provoke timeouts).
        With `after` the handler runs first, so the write is made, and only then comes the
        delay and the status: a lost response (specs/README.md: a 5xx to a post does not mean
        nothing was posted).
        """
        fault = Fault(method.upper(), path, status, times, dict(headers or {}), body, delay, after)
        with self.lock:
            self.faults.append(fault)
        return fault

    def _take_fault(self, method: str, path: str) -> Fault | None:
        with self.lock:
            for fault in self.faults:
                if fault.remaining > 0 and _matches(fault.method, fault.path, method, path):
                    fault.remaining -= 1
                    return fault
        return None

    def error_body(self, status: int) -> Any:
        """Body of errors the fake makes up (faults, invalid requests); override per service."""
        return {"error": {"code": status, "message": "fake error"}}

    @property
    def calls(self) -> list[Call]:
        with self.lock:
            return list(self._calls)

    def count(self, method: str | None = None, path: str | None = None) -> int:
        """Requests so far, optionally of one method and path (template or glob)."""
        return sum(_matches(method, path, c.method, c.path) for c in self.calls)

    def is_read(self, method: str, path: str) -> bool:
        """Whether a request only reads; override where reads are POSTs (Slack)."""
        return method in READ_METHODS

    def reads(self) -> int:
        return sum(self.is_read(c.method, c.path) for c in self.calls)

    def writes(self) -> int:
        return sum(not self.is_read(c.method, c.path) for c in self.calls)

    def reset_counts(self) -> None:
        with self.lock:
            self._calls.clear()

    def pending(self) -> bool:
        """Whether a test set something up for a later request (a fault): a side run would
        take it from the run it was meant for."""
        with self.lock:
            return any(f.remaining > 0 for f in self.faults)

    def bookmark(self) -> Any:
        """Where the books stand, for rewind(): side runs of a test leave no trace in them."""
        with self.lock:
            return len(self._calls)

    def rewind(self, mark: Any) -> None:
        with self.lock:
            del self._calls[mark:]

    def response_key(self, method: str, template: str, status: int, body: Any) -> str:
        """Which documented response an answer is (a status or "default"); a quirk hook."""
        return str(self._aliases.get((method, template, status), status))

    # -- serving

    def _wsgi(self, environ: dict, start_response) -> Any:
        return self._respond(WerkzeugRequest(environ))(environ, start_response)

    def _respond(self, raw: WerkzeugRequest) -> Response:
        req = _request(raw, self.base_path)
        where = f"{raw.method} {unquote(raw.full_path.rstrip('?'))}"
        self._pause(self.latency)
        op, valid = self._check_request(req, where) if req else (None, True)
        fault = self._take_fault(req.method, req.path) if req else None
        if fault and not fault.after:
            self._pause(fault.delay)
        if fault and fault.status and not fault.after:
            status, payload, headers = self._fault_answer(fault)
        elif not valid:  # as the real service would; handlers need not guard against it
            status, payload, headers = 400, _encode(self.error_body(400)), {}
        else:
            status, payload, headers = self._answer(req, op, where)
            if fault and fault.after:
                self._pause(fault.delay)
                if fault.status:
                    status, payload, headers = self._fault_answer(fault)
        self._record(raw, req, status, fault is not None and bool(fault.status))
        return _response(status, payload, headers)

    def _fault_answer(self, fault: Fault) -> tuple[int, bytes, dict]:
        body = self.error_body(fault.status) if fault.body is None else fault.body
        return fault.status, _encode(body), fault.headers

    def _pause(self, seconds: float) -> None:
        if seconds > 0:
            self._stopping.wait(seconds)  # returns early when the fake stops

    def _check_request(self, req: Request, where: str) -> tuple[specs.Operation | None, bool]:
        """The spec operation of a request (None if none), and whether the request is valid."""
        if not self._specs:
            return None, True
        found = self._match(req.method, req.path)
        if found is None and (fallback := self._fallbacks.get(req.method)):
            found = self._match(fallback, req.path)
        if found is None:
            self.violation(f"{where}: not in the spec")
            return None, True  # still up to a handler: the fake may know better than the file
        op, params = found
        problems = op.check_request(req, params, self._ignore, self.args_anywhere)
        for problem in problems:
            self.violation(f"{where} ({op}): {problem}")
        return op, not problems

    def _match(self, method: str, path: str) -> tuple[specs.Operation, dict] | None:
        """The first description (`spec`, then `more_specs`) with an operation for the path."""
        for spec in self._specs:
            if found := spec.match(method, path, self._greedy):
                return found
        return None

    def _answer(self, req: Request | None, op, where: str) -> tuple[int, bytes, dict]:
        """Status, body and headers from the handler, with the response checked."""
        handler = self._handler(req) if req else None
        if handler is None:
            self.violation(f"{where}: no handler in {type(self).__name__}")
            return 404, _encode({"error": f"no fake handler for {where}"}), {}
        fn, params = handler
        try:
            with self.lock:
                status, body, *rest = fn(self, req, **params)
                payload = _encode(body)  # inside the lock: body may be live state
        except Exception:
            self.violation(f"{where}: handler failed:\n{traceback.format_exc()}")
            return 500, _encode({"error": "fake handler failed"}), {}
        if op is not None and (op.method, op.template) not in self._unchecked:
            parsed = _parsed(payload)
            key = self.response_key(op.method, op.template, status, parsed)
            for problem in op.check_response(key, parsed):
                self.violation(f"{where} ({op}) -> {status}: {problem}")
        return status, payload, rest[0] if rest else {}

    def _handler(self, req: Request):
        for method, regex, names, fn in self._routes:
            if method == req.method and (match := regex.match(req.path)):
                return fn, dict(zip(names, match.groups(), strict=True))
        return None

    def _record(self, raw: WerkzeugRequest, req: Request | None, status: int, fault: bool):
        path = req.path if req else raw.path
        call = Call(raw.method, path, dict(raw.args.lists()), status, time.time(), fault)
        with self.lock:
            self._calls.append(call)


@cache
def _route_table(cls: type) -> list[tuple[str, re.Pattern, list[str], Any]]:
    """Every @route of a class and its bases (subclass wins), most specific template first."""
    handlers = {}
    for klass in reversed(cls.__mro__):
        handlers |= {name: fn for name, fn in vars(klass).items() if hasattr(fn, "routes")}
    routes = {(m, t): fn for fn in handlers.values() for m, t in fn.routes}
    order = specs.by_specificity(list({t for _, t in routes}))
    table = []
    for template in order:
        regex = specs.compile_template(template, frozenset(cls.greedy_params))
        names = specs.names(template)
        table += [(m, regex, names, fn) for (m, t), fn in routes.items() if t == template]
    return table


def _request(raw: WerkzeugRequest, base_path: str) -> Request | None:
    """Our Request from Werkzeug's; None when the path is outside base_path."""
    if not (raw.path == base_path or raw.path.startswith(base_path + "/")):
        return None
    data = raw.get_data()
    req = Request(raw.method, raw.path[len(base_path) :] or "/", raw.args, raw.headers, data)
    if data and "json" in req.content_type:
        try:
            req.json = json.loads(data)
        except ValueError as error:
            req.json_error = str(error)
    elif data and req.content_type == "application/x-www-form-urlencoded":
        req.form = MultiDict(parse_qsl(data.decode(), keep_blank_values=True))
    return req


def _parsed(payload: bytes) -> Any:
    """A response body as the client sees it, for validation."""
    if not payload:
        return specs.NO_BODY
    try:
        return json.loads(payload)
    except ValueError:
        return payload.decode(errors="replace")  # fails any object schema, readably


def _encode(body: Any) -> bytes:
    if body is None:
        return b""
    return body if isinstance(body, bytes) else json.dumps(body).encode()


def _response(status: int, payload: bytes, headers: dict) -> Response:
    response = Response(payload, status=status, headers=headers)
    if payload and not any(k.lower() == "content-type" for k in headers):
        response.headers["Content-Type"] = "application/json"
    return response
