"""stdout and stderr for a job: secrets redacted, GitHub Actions workflow commands defused.

The Actions runner reads every line a step prints, on stdout and stderr alike, and runs a line
that starts with "::" (after leading whitespace) as a workflow command, and a "##[" anywhere in
it as an old-style one (actions/runner src/Runner.Common/ActionCommand.cs, TryParseV2 and
TryParse; docs.github.com "Workflow commands for GitHub Actions"). It splits lines at "\\r" as
well as "\\n". Text from rotation.yaml, customers or a server could therefore mask a value, stop
command processing or forge an annotation; every line passes through `defuse`, and only
`command` (our own annotations) writes one.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO

from scripts import redaction

_LINE_BREAK = re.compile(r"\r\n?|\n")
ESCAPE = "\\"  # "\::error" reads as what it was and is no command


def defuse(line: str) -> str:
    """One line (no line break in it) that the runner cannot read as a workflow command."""
    if line.lstrip().startswith("::"):
        line = ESCAPE + line
    return line.replace("##[", "## [")


class _Defused(io.TextIOBase):
    """A text stream that writes whole lines to `raw`, each redacted and defused."""

    def __init__(self, raw: TextIO):
        self.raw = raw
        self._pending = ""

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        *lines, self._pending = _LINE_BREAK.split(self._pending + text)
        for line in lines:
            self._out(defuse(redaction.redact(line)) + "\n")
        return len(text)

    def flush(self) -> None:
        # a partial line waits for its end: a secret or "::" split across writes stays whole
        self._out("")

    def finish(self) -> None:
        if self._pending:
            self._out(defuse(redaction.redact(self._pending)))
            self._pending = ""
        self._out("")

    def _out(self, text: str) -> None:
        """Write and flush; a reader that went away (`job | head`) stops the output, not the
        job: an apply half-way must not stop for want of an audience. As the Python docs
        advise (signal, "Note on SIGPIPE"), the stream then points at devnull, so that the
        flush at exit finds no broken pipe either."""
        try:
            if text:
                self.raw.write(text)
            self.raw.flush()
        except BrokenPipeError:
            with contextlib.suppress(OSError, ValueError):  # no file descriptor: nothing to do
                os.dup2(os.open(os.devnull, os.O_WRONLY), self.raw.fileno())


@contextmanager
def defused() -> Iterator[None]:
    """Inside: sys.stdout and sys.stderr redact and defuse every line; restored after. Log
    handlers that print go through stderr's filter too (PyGithub adds one at import, bound to
    the stderr of that moment)."""
    saved = sys.stdout, sys.stderr
    out, err = _Defused(sys.stdout), _Defused(sys.stderr)
    sys.stdout, sys.stderr = out, err
    printing = [h for h in _handlers() if type(h) is logging.StreamHandler]
    streams = [h.stream for h in printing]
    for handler in printing:
        handler.stream = err  # not setStream: it flushes the old stream, which may be closed
    try:
        yield
    finally:
        for handler, stream in zip(printing, streams, strict=True):
            handler.stream = stream
        out.finish()
        err.finish()
        sys.stdout, sys.stderr = saved


def _handlers() -> list[logging.Handler]:
    loggers = [logging.getLogger(), *logging.Logger.manager.loggerDict.values()]
    return [h for lg in loggers if isinstance(lg, logging.Logger) for h in lg.handlers]


def command(text: str) -> None:
    """Our own workflow command (an `::error file=...` annotation), on stderr, redacted."""
    stream = sys.stderr
    raw = stream.raw if isinstance(stream, _Defused) else stream
    stream.flush()
    # callers escape their data (problems.annotation); this is a backstop
    one_line = _LINE_BREAK.sub(" ", redaction.redact(text)).replace("##[", "## [")
    raw.write(one_line + "\n")
    raw.flush()


def data(text: str) -> None:
    """Text the user asked for on stdout as it is (build_customers --output -: the customer
    directory itself, which CUSTOMERS_YAML's masking would otherwise blank out line by line)."""
    stream = sys.stdout
    raw = stream.raw if isinstance(stream, _Defused) else stream
    stream.flush()
    raw.write(text)
    raw.flush()
