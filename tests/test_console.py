"""What a job prints: every line redacted and defused for the GitHub Actions runner."""

import io
import os
import subprocess
import sys

import pytest

from scripts import console, redaction
from tests.processes import ROOT


@pytest.mark.parametrize(
    ("line", "printed"),
    [
        ("plain text", "plain text"),
        ("::error::forged", "\\::error::forged"),
        ("   ::add-mask::x", "\\   ::add-mask::x"),
        ("\t::stop-commands::t", "\\\t::stop-commands::t"),
        ("name ##[error]forged", "name ## [error]forged"),
        ("a :: in the middle", "a :: in the middle"),
        (":single colon", ":single colon"),
    ],
)
def test_defuse(line, printed):
    assert console.defuse(line) == printed


def printed(*writes: str, secrets=("s3cret-value",)) -> str:
    """What reaches the real stream when a job writes `writes` to stdout."""
    redaction.begin({"SLACK_BOT_TOKEN": secrets[0]})
    raw, saved = io.StringIO(), sys.stdout
    sys.stdout = raw
    try:
        with console.defused():
            for text in writes:
                sys.stdout.write(text)
                sys.stdout.flush()
    finally:
        sys.stdout = saved
    return raw.getvalue()


def test_every_line_break_starts_a_line_the_runner_would_read():
    # the runner splits at \r too (StreamReader.ReadLine): each piece is defused
    assert printed("ok\n::error::a\r::warning::b\r\n##[group]c") == (
        "ok\n\\::error::a\n\\::warning::b\n## [group]c"
    )


def test_a_line_written_in_pieces_is_judged_whole():
    assert printed(":", ":error::split\n") == "\\::error::split\n"
    assert printed("token s3cret", "-value here\n") == "token *** here\n"


def test_our_own_annotation_is_the_only_command(monkeypatch):
    raw = io.StringIO()
    monkeypatch.setattr(sys, "stderr", raw)
    redaction.begin({})
    with console.defused():
        print("::error::from a file", file=sys.stderr)
        console.command("::error file=rotation.yaml,line=1::ours")
    assert raw.getvalue().splitlines() == [
        "\\::error::from a file",
        "::error file=rotation.yaml,line=1::ours",
    ]


def test_a_reader_that_goes_away_stops_the_output_not_the_job():
    """`sync_pagerduty | head`: the pipe breaks before the job prints; no traceback, exit 0."""
    job = subprocess.Popen(
        [sys.executable, "-m", "scripts.sync_pagerduty", "--now", "2026-12-14T05:30:00Z"],
        cwd=ROOT, env={"PATH": os.environ["PATH"]}, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    job.stdout.close()  # at once: the job is still importing, nothing is written yet
    err = job.stderr.read()
    assert (job.wait(timeout=60), err) == (0, "")
