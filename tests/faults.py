"""Endpoints that fail below the API: refused, untrusted TLS, silent, HTML, an echo of the request.

Not a fake of any service (the fakes in fakes/ are): these stand for what a network, a
proxy or a broken deployment puts between a job and the service, whatever the service. Each
answers every request the same way, over TLS signed by the fakes' CA (fakes/base.py), so
the clients that refuse http:// (pagerduty) reach them too.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import trustme

from fakes import base

HTML = b"<!DOCTYPE html><html><body><h1>502 Bad Gateway</h1><p>nginx</p></body></html>"
KINDS = ("refused", "tls", "silent", "html-200", "html-502", "echo-401", "echo-403", "echo-500")


def _answer(kind: str):
    """(status, content type, body) for an answering kind; the echo repeats every header."""

    def answer(request: BaseHTTPRequestHandler) -> tuple[int, str, bytes]:
        if kind.startswith("html-"):
            return int(kind[5:]), "text/html", HTML
        echoed = "\n".join(f"{k}: {v}" for k, v in request.headers.items())
        body = f'{{"error": "refused", "message": "request was:\\n{echoed}"}}'
        return int(kind[5:]), "application/json", body.replace("\n", "\\n").encode()

    return answer


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def handle_error(self, request, client_address) -> None:
        pass  # a refused handshake is the point of "tls": no traceback on the test's stderr


def _handler(kind: str, stopping: threading.Event):
    answer = _answer(kind) if kind != "silent" else None

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:
            pass

        def handle_one_request(self) -> None:
            if answer is None:  # read nothing, say nothing: the client's read timeout decides
                stopping.wait(60)
                return
            super().handle_one_request()

        def _any(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            self.rfile.read(length)
            status, kind_, body = answer(self)
            self.send_response(status)
            self.send_header("Content-Type", kind_)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _any

    return Handler


@contextlib.contextmanager
def endpoint(kind: str) -> Iterator[str]:
    """An https origin (https://127.0.0.1:port) that fails in the way `kind` names."""
    if kind == "refused":
        with socket.socket() as s:  # a port just freed: nothing listens there
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        yield f"https://127.0.0.1:{port}"
        return
    stopping = threading.Event()
    server = _Server(("127.0.0.1", 0), _handler(kind, stopping))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    if kind == "tls":  # a certificate from a CA no client here trusts
        trustme.CA().issue_cert("127.0.0.1").configure_cert(context)
        server.RequestHandlerClass = _handler("echo-500", stopping)
    else:
        base._tls()[0].configure_cert(context)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.daemon = True
    thread.start()
    try:
        yield f"https://127.0.0.1:{server.server_port}"
    finally:
        stopping.set()
        server.shutdown()
        server.server_close()


def ca_bundle() -> str:
    return base.ca_bundle_path()
