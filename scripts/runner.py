"""The one frame of every writing job: setup -> observe -> plan -> render -> apply (--apply only).

A job gives its steps as a `Job`; `run` calls them in order and is the one place in the code that
looks at `--apply`. Observe gets read-only views of the job's adapters and plan gets none, so a
dry run cannot write even by mistake. Apply makes one change at a time under the job's stated
failure policy, and one `Applied` report says what was and was not written.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Hashable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from enum import Enum
from typing import Any, Generic, TypeVar

from scripts import cli
from scripts.clients.access import read_only
from scripts.clients.http import Failure
from scripts.markup.github_text import escape
from scripts.plan import Change, render_json
from scripts.rotation.problems import UsageError

S = TypeVar("S")  # what setup made: the loaded rotation, settings, now
A = TypeVar("A")  # the job's adapters
R = TypeVar("R")  # what observe read


class Policy(Enum):
    """What apply does after a change fails."""

    STOP = "stop"  # later changes build on earlier ones: stop at the first failure
    STOP_TARGET = "stop-target"  # a target (a repository) stops there; the others go on
    GO_ON = "go-on"  # each change stands alone: make the others, report the failure


class Skip(Exception):
    """A write found its change no longer applies (say, the issue changed since it was read)."""


class Halted(Exception):
    """Observe could not read a service, or the writer could not start (a login failed):
    nothing is written. The message says where; `cause` decides the exit code."""

    def __init__(self, message: str, cause: Failure):
        super().__init__(message)
        self.cause = cause


@dataclass(frozen=True)
class Planned:
    """What plan made, and how each format shows it."""

    changes: Sequence[Change]
    text: str  # --format text (and what a person reads in the log)
    markdown: str  # --format markdown
    summary: str | None = None  # the Actions job summary (default: the markdown)
    json: Mapping[str, Any] = field(default_factory=dict)  # beside "changes" with --format json
    code: int = cli.EXIT_OK  # the exit code at least (a source that failed: 1)


@dataclass
class Applied:
    """What apply did, change by change."""

    written: list[Change] = field(default_factory=list)
    skipped: list[tuple[Change, str]] = field(default_factory=list)
    failed: list[tuple[Change, str]] = field(default_factory=list)
    not_written: list[Change] = field(default_factory=list)
    said: list[str] = field(default_factory=list)  # what writes reported ("Paged: incident #12")
    setup: bool = False  # a write was refused for the token or its access: exit 2


# One write: makes `change` (raising the adapter's Failure, or Skip) and may say what it did.
Write = Callable[[Change], str | None]
# How one change of a batch went: made (None, or what it did), or the Failure that stopped it.
Outcome = str | None | Failure


@dataclass(frozen=True)
class Batches:
    """A writer that sends like changes together, up to `size` to a request (PagerDuty takes 50
    overrides in one POST). `key` says which go together (None: the change goes alone, through
    `one`); `many` makes one batch and says how each change went, since a batch can be partly
    made (a PagerDuty 201 holds a status per item)."""

    one: Write
    many: Callable[[Sequence[Change]], Sequence[Outcome]]
    key: Callable[[Change], Hashable | None]
    size: int


class PartlyWritten(Failure):
    """A batch's request failed: any of its changes may have been made (the next run reads
    them back and plans only the rest), so each is reported failed, none is sent again."""

    def __init__(self, cause: Failure):
        super().__init__(f"{cause} (the batch may be partly written)")
        self.cause = cause

    @property
    def setup(self) -> bool:
        return self.cause.setup


@dataclass(frozen=True)
class Job(Generic[S, A, R]):
    """A writing job's steps; `run` calls them in this order."""

    title: str  # the plan's heading: "Slack handoff"
    policy: Policy
    setup: Callable[[Any], S]  # args -> settings; raises ConfigError / UsageError
    connect: Callable[[S], A | None]  # the adapters, from tokens in the environment (None: none)
    observe: Callable[[S, A | None], R]  # through read-only views (None: not read); may Halt
    plan: Callable[[S, R, str], Planned]  # pure; the str: the heading to show the plan under
    # the writes, in plan order, from what setup and observe made and the changes: one at a
    # time, or Batches
    writer: Callable[[S, R, A, Sequence[Change]], Write | Batches]
    # what --apply needs: the environment variables, and a reason it cannot (None: it can)
    tokens: Callable[[S], Sequence[str]] = lambda setup: ()
    refuse: Callable[[S], str | None] = lambda setup: None
    # False: a dry run reads nothing (observe gets None for the adapters), e.g. pr_comment's
    # of a rotation that does not load
    dry_run_reads: Callable[[S], bool] = lambda setup: True
    finish: Callable[[S], None] = lambda setup: None  # after everything (flag_stale's state)
    after_failure: Callable[[Change], str] = lambda change: ""  # what a failure left unwritten
    unwritten: str = "nothing was written"  # how a refused or halted run says so


def client(variable: str, make: Callable[[str], A]) -> Callable[[Any], A | None]:
    """A connect step for a job with one service: `make(token)` when the environment has the
    token `variable`, else None (the service is not read; the plan shows the desired state)."""

    def connect(setup: Any) -> A | None:
        token = cli.token(variable, False)
        return make(token) if token else None

    return connect


def needs(*variables: str) -> Callable[[Any], Sequence[str]]:
    """A tokens step: --apply needs these environment variables, whatever the settings."""
    return lambda setup: variables


def start(job: Job[Any, Any, Any], parser: Any, argv: list[str] | None) -> int:
    """Parse `argv` and run `job` inside the frame of cli.guard."""
    return cli.guard(parser, argv, lambda args: run(job, args))


def run(job: Job[S, A, R], args: Any) -> int:
    apply = bool(args.apply)  # the one place that looks at --apply
    setup = job.setup(args)
    if apply:
        for name in job.tokens(setup):
            cli.token(name, needed=True)
        if why := job.refuse(setup):
            raise UsageError(f"{why}; {job.unwritten}")
    adapters = job.connect(setup) if apply or job.dry_run_reads(setup) else None
    try:
        seen = job.observe(setup, read_only(adapters))
        planned = job.plan(setup, seen, job.title + ("" if apply else " (dry run)"))
        show(planned, args.format)
        applied = None
        if apply and planned.changes and adapters is not None:  # an apply has connected
            write = job.writer(setup, seen, adapters, planned.changes)
            applied = apply_all(job, write, planned.changes)
            report(applied, args.format)
    except Halted as exc:
        print(f"error: {exc}; {job.unwritten}", file=sys.stderr)
        job.finish(setup)
        return cli.failed(exc.cause)
    if args.format == "json":
        extra = {"applied": asdict(applied)} if applied else {}
        print(render_json(planned.changes, **planned.json, **extra))
    job.finish(setup)
    return exit_code(planned, applied)


def show(planned: Planned, fmt: str) -> None:
    """The plan on stdout (JSON waits for what apply did) and in the job summary."""
    cli.write_summary(planned.summary if planned.summary is not None else planned.markdown)
    if fmt == "text":
        print(planned.text)
    elif fmt == "markdown":
        print(planned.markdown)


def apply_all(
    job: Job[Any, Any, Any], write: Write | Batches, changes: Sequence[Change]
) -> Applied:
    """Each change (or batch of them) in plan order, under the job's failure policy."""
    done, stopped = Applied(), set[str]()
    batches = list(_batches(write, changes))
    for n, batch in enumerate(batches):
        if batch[0].target in stopped:
            done.not_written.extend(batch)
            continue
        failed = [c for c, outcome in _outcomes(write, batch) if not _record(job, done, c, outcome)]
        if failed and job.policy is Policy.STOP:
            done.not_written.extend(c for later in batches[n + 1 :] for c in later)
            break
        if failed and job.policy is Policy.STOP_TARGET:
            stopped.update(c.target for c in failed)
    return done


def _batches(write: Write | Batches, changes: Sequence[Change]) -> Iterator[list[Change]]:
    """The changes as requests: alone, or a run of neighbours with one key, `size` at most."""
    if not isinstance(write, Batches):
        yield from ([c] for c in changes)
        return
    batch: list[Change] = []
    for change in changes:
        key = write.key(change)
        if batch and (key != write.key(batch[0]) or len(batch) == write.size):
            yield batch
            batch = []
        if key is None:
            yield [change]
        else:
            batch.append(change)
    if batch:
        yield batch


def _outcomes(write: Write | Batches, batch: list[Change]) -> list[tuple[Change, Outcome | Skip]]:
    """How each change of one request went; a request that failed failed all of its changes."""
    if not isinstance(write, Batches) or write.key(batch[0]) is None:
        one = write.one if isinstance(write, Batches) else write
        try:
            return [(batch[0], one(batch[0]))]
        except (Skip, Failure) as exc:
            return [(batch[0], exc)]
    try:
        outcomes = write.many(batch)
    except Failure as exc:
        return [(c, PartlyWritten(exc)) for c in batch]
    return list(zip(batch, outcomes, strict=True))


def _record(
    job: Job[Any, Any, Any], done: Applied, change: Change, outcome: Outcome | Skip
) -> bool:
    """Put one change's outcome in `done`, saying a skip or failure; False: it failed."""
    if isinstance(outcome, Skip):
        done.skipped.append((change, str(outcome)))
        print(f"skipped {change.summary}: {outcome}")
    elif isinstance(outcome, Failure):
        done.failed.append((change, str(outcome)))
        done.setup = done.setup or outcome.setup
        after = job.after_failure(change)
        where = f"{change.action} {change.target}"
        print(f"error: {where}: {outcome}" + (f"; {after}" if after else ""), file=sys.stderr)
        return False
    else:
        done.written.append(change)
        if outcome:
            done.said.append(outcome)
    return True


def report(done: Applied, fmt: str) -> None:
    """What was written; after a failure, what was and was not (stderr: stdout keeps the plan)."""
    for said in done.said:
        cli.write_summary(escape(said))
        print(said, file=sys.stderr if fmt == "json" else sys.stdout)
    if not done.failed:
        n = len(done.written)
        message = f"Applied {n} change{'s' if n != 1 else ''}."
        cli.write_summary(message)
        print(message, file=sys.stderr if fmt == "json" else sys.stdout)
        return
    lines = ["Apply failed; what was and was not written:"]
    lines += [f"  written     {c.target}: {c.action} {c.summary}" for c in done.written]
    lines += [f"  skipped     {c.target}: {c.action} {c.summary}: {why}" for c, why in done.skipped]
    lines += [f"  FAILED      {c.target}: {c.action} {c.summary}: {why}" for c, why in done.failed]
    lines += [f"  not written {c.target}: {c.action} {c.summary}" for c in done.not_written]
    lines.append("Run again to finish: the next run plans only what is still missing.")
    cli.write_summary(
        "\n".join(["**" + lines[0] + "**", ""] + [f"- {escape(x.strip())}" for x in lines[1:]])
    )
    print("\n".join(lines), file=sys.stderr)


def exit_code(planned: Planned, done: Applied | None) -> int:
    """The README's table: 0 done (an empty plan too), 1 a service failed, 2 set-up (a bad
    config, planned.code; or a token the service refused, here or in cli.guard)."""
    failed = cli.EXIT_OK
    if done and done.failed:
        failed = cli.EXIT_USAGE if done.setup else cli.EXIT_APPLY_FAILED
    return max(planned.code, failed)
