"""The plan-and-apply runner: read-only views in observe, failure policies, the Applied report."""

import dataclasses
from datetime import datetime

import pytest

from scripts import notify_failure, runner
from scripts.clients.access import ReadOnly, WriteRefused, read_only, write_methods
from scripts.clients.github import Clients, GitHub
from scripts.clients.http import ServiceError
from scripts.clients.pagerduty import PagerDuty, PagerDutyEvents
from scripts.clients.papercups import Papercups
from scripts.clients.slack import Slack
from scripts.plan import Change
from scripts.rotation import load as rotation
from tests import rotations

CHANNEL = "C0SUPPORT1"
NOW = "2026-12-14T05:30:00Z"
RUN = "https://github.com/kestrel-example/support/actions/runs/1234"
ROTATION_YAML = rotations.text() + f"slack:\n  channel: {CHANNEL}\n  reminders: false\n"


@pytest.fixture
def slack(slack_fake, monkeypatch, tmp_path):
    slack_fake.seed_from_rotation(rotation.load("rotation.yaml", text=ROTATION_YAML)[0])
    slack_fake.now = datetime.fromisoformat(NOW.replace("Z", "+00:00"))
    for name, value in slack_fake.env().items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    (tmp_path / "rotation.yaml").write_text(ROTATION_YAML)
    monkeypatch.chdir(tmp_path)
    return slack_fake


def run(job, capsys, *argv):
    p = notify_failure.cli.parser("test")
    p.add_argument("--run-url")
    p.add_argument("--workflow")
    code = runner.start(job, p, ["--now", NOW, "--run-url", RUN, *argv])
    return (code, *capsys.readouterr())


# --- a dry run cannot write ----------------------------------------------------------------------


def test_an_observe_step_that_posts_is_refused_and_nothing_is_posted(slack, capsys):
    def observe(setup, slack_view):
        slack_view.post(CHANNEL, "written while observing")
        return False

    job = dataclasses.replace(notify_failure.JOB, observe=observe)
    for argv in ((), ("--apply",)):  # the view is read-only in an apply's observe step too
        code, _, err = run(job, capsys, *argv)
        assert code == 1 and "WriteRefused: Slack.post is not available" in err
    assert slack.messages(CHANNEL) == [] and slack.writes() == 0


def test_the_raw_client_is_out_of_reach_too(slack, capsys):
    def observe(setup, slack_view):
        slack_view.client.chat_postMessage(channel=CHANNEL, text="around the adapter")
        return False

    code, _, err = run(dataclasses.replace(notify_failure.JOB, observe=observe), capsys)
    assert code == 1 and "Slack.client is not a read" in err
    assert slack.writes() == 0


def test_the_same_job_writes_in_apply(slack, capsys):
    code, out, _ = run(notify_failure.JOB, capsys, "--apply")
    assert code == 0 and "Applied 1 change." in out
    assert len(slack.messages(CHANNEL)) == 1


@pytest.mark.parametrize(
    ("adapter", "writes"),
    [
        (Slack, {"post", "update", "set_topic", "create_usergroup", "enable_usergroup",
                 "set_usergroup_users"}),
        (GitHub, {"create_label", "edit_issue", "comment", "edit_comment", "propose"}),
        (PagerDuty, {"update_schedule", "create_overrides", "delete_override", "create_incident",
                     "create_incident_once", "update_shift_zone", "end_event", "delete_event",
                     "create_event", "create_shift_overrides", "delete_shift_override",
                     "delete_custom_shift"}),
        (PagerDutyEvents, {"trigger"}),
        (Papercups, {"login", "update_customer_metadata", "create_tag", "add_customer_tag",
                     "remove_customer_tag"}),
    ],
)  # fmt: skip
def test_every_write_is_marked(adapter, writes):
    assert write_methods(adapter) == writes


def test_views_reach_through_reads_that_hand_out_adapters(monkeypatch):
    monkeypatch.setenv("GITHUB_API_URL", "http://127.0.0.1:9")  # never asked: no request is made
    view = read_only(Clients("t0ken"))
    repo = view.for_repo("kestrel-example/support")
    assert isinstance(view, ReadOnly) and isinstance(repo, ReadOnly)
    with pytest.raises(WriteRefused):
        repo.comment("kestrel-example/support", 1, "hello")
    with pytest.raises(WriteRefused):
        view._own  # noqa: B018  (a private attribute holds an adapter that could write)


# --- apply: one failure policy per job ----------------------------------------------------------


def changes(*targets: str) -> list[Change]:
    return [Change("post", t, f"{t} {n}") for n, t in enumerate(targets)]


def failing(*bad: int):
    def write(change: Change) -> None:
        if int(change.summary.split()[-1]) in bad:
            raise ServiceError("chat.postMessage", 500, "down")

    return write


@pytest.mark.parametrize(
    ("policy", "bad", "written", "not_written"),
    [
        (runner.Policy.STOP, (1,), [0], [2, 3]),
        (runner.Policy.GO_ON, (1,), [0, 2, 3], []),
        (runner.Policy.STOP_TARGET, (0,), [2, 3], [1]),  # target a stops; b goes on
        (runner.Policy.STOP, (), [0, 1, 2, 3], []),
    ],
)
def test_failure_policies(policy, bad, written, not_written, capsys):
    job = dataclasses.replace(notify_failure.JOB, policy=policy)
    plan = changes("a", "a", "b", "b")
    done = runner.apply_all(job, failing(*bad), plan)
    assert [plan.index(c) for c in done.written] == written
    assert [plan.index(c) for c in done.not_written] == not_written
    assert [plan.index(c) for c, _ in done.failed] == list(bad)
    planned = runner.Planned(plan, "", "")
    assert runner.exit_code(planned, done) == (1 if bad else 0)


def test_a_refused_token_exits_2_and_a_skip_is_no_failure(capsys):
    def write(change: Change) -> None:
        if change.target == "a":
            raise runner.Skip("changed meanwhile")
        raise ServiceError("chat.postMessage", 403, "missing_scope")

    done = runner.apply_all(notify_failure.JOB, write, changes("a", "b"))
    assert [c.target for c, _ in done.skipped] == ["a"] and done.setup
    assert runner.exit_code(runner.Planned([], "", ""), done) == 2  # README: exit codes
    runner.report(done, "text")
    err = capsys.readouterr().err
    assert "skipped     a: post a 0: changed meanwhile" in err
    assert "FAILED      b: post b 1" in err and "Run again to finish" in err


def batched(sent: list[list[int]], bad_item: int = -1, bad_request: int = -1) -> runner.Batches:
    """Creates go together by target, 2 to a request; a delete goes alone. `sent` records each
    request's changes; item `bad_item` fails inside its answer, request `bad_request` fails."""

    def many(batch):
        sent.append([int(c.summary.split()[-1]) for c in batch])
        if len(sent) - 1 == bad_request:
            raise ServiceError("POST overrides", 502, "bad gateway")
        return [ServiceError("item", 400, "refused") if n == bad_item else None for n in sent[-1]]

    def one(change):
        sent.append([int(change.summary.split()[-1])])

    def key(change):
        return change.target if change.action == "create" else None

    return runner.Batches(one, many, key, 2)


def creates(*spec: str) -> list[Change]:
    """ "a" a create on target a, "-a" a delete on it."""
    return [
        Change("delete" if t.startswith("-") else "create", t.strip("-"), f"{t} {n}")
        for n, t in enumerate(spec)
    ]


@pytest.mark.parametrize(
    ("spec", "bad_item", "bad_request", "requests", "written", "failed", "not_written"),
    [
        # neighbours with one key go together, `size` at most; a keyless change breaks the run
        (("a", "a", "a", "b", "-b", "b"), -1, -1, [[0, 1], [2], [3], [4], [5]], [0, 1, 2, 3, 4, 5],
         [], []),
        # an item failed inside a made request: the rest of it is written, then the apply stops
        (("a", "a", "a", "b"), 0, -1, [[0, 1]], [1], [0], [2, 3]),
        # a request that failed fails all its changes (any may be made: none is sent again)
        (("a", "a", "b"), -1, 0, [[0, 1]], [], [0, 1], [2]),
    ],
)  # fmt: skip
def test_batches(spec, bad_item, bad_request, requests, written, failed, not_written, capsys):
    plan, sent = creates(*spec), []
    done = runner.apply_all(notify_failure.JOB, batched(sent, bad_item, bad_request), plan)
    assert sent == requests
    assert [plan.index(c) for c in done.written] == written
    assert [plan.index(c) for c, _ in done.failed] == failed
    assert [plan.index(c) for c in done.not_written] == not_written
    if bad_request >= 0:
        assert all("may be partly written" in why for _, why in done.failed)


def test_a_set_of_adapters_gets_views_and_plain_data_stays_as_it_is(monkeypatch):
    monkeypatch.setenv("SLACK_API_URL", "http://127.0.0.1:9/")  # never asked
    pair = Pair(Slack("xoxb-t0ken"), None)
    view = read_only(pair)
    assert isinstance(view.slack, ReadOnly) and view.other is None
    with pytest.raises(WriteRefused):
        view.slack.post(CHANNEL, "no")
    page = [Change("post", "a", "plain data")]
    assert read_only(page) is page  # a read's answer is not copied


@dataclasses.dataclass(frozen=True)
class Pair:
    slack: Slack
    other: object
