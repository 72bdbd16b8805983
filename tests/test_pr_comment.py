"""pr_comment: the pure comment body; the job end to end against the spec-checked GitHub fake."""

import json
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import cmarkgfm
import pytest

from fakes.github import VIEWER, GitHubFake
from scripts import pr_comment
from scripts.rotation import load as rotation
from scripts.rotation import pr_comment_body
from scripts.rotation.history import Move
from scripts.rotation.pr_comment_body import MARKER
from scripts.rotation.problems import Problem
from tests import rotations

EXAMPLE = Path(__file__).resolve().parents[1] / "rotation.yaml"
NOW = "2026-12-16T10:00:00Z"
REPO = "kestrel-example/support"
# Whole-week swaps of the example rotation (see its coming weeks): who is on each date swaps.
SWAP_ALICE_BOB = "  - {people: [alice, bob], dates: [2027-01-11, 2027-02-01], reason: a wedding}\n"
SWAP_JUDY_IVAN = "  - {people: [judy, ivan], dates: [2027-01-04, 2026-12-28], reason: moving}\n"
BROKEN_SWAP = "  - {people: [alice, bbo], dates: [2027-01-11, 2027-02-01]}\n"


# --- the pure body ------------------------------------------------------------------------------

ROT = rotation.load(str(EXAMPLE))[0]
WEEK = datetime(2027, 1, 11, 9, tzinfo=UTC)
NEXT = datetime(2027, 1, 18, 9, tzinfo=UTC)
PROBLEM = Problem("rotation.yaml", 3, 5, "swaps[0]", "'bbo' is not a `person`")


@pytest.mark.parametrize(
    ("moves", "errors", "news", "has", "lacks"),
    [
        (  # a login notifies the person; without one, the name
            [Move("support-hero", WEEK, NEXT, "alice", "carol")],
            [],
            True,
            ["| Support Hero | Mon 11 Jan 2027 09:00 | Mon 18 Jan 2027 09:00 | Alice Andersen |",
             "People affected: @alice-a, Carol Castillo", "1 shift (times in Europe/London)"],
            ["problem", "Nothing moves"],
        ),
        (  # a team's schedule, nobody before
            [Move("platform", WEEK, NEXT, None, "judy")],
            [],
            True,
            ["| Platform secondary |", "| (nobody) | Judy Jackson |", "People affected: Judy"],
            ["@"],
        ),
        ([], [], False, ["Nothing moves"], ["People affected", "problem"]),
        (  # errors are news on their own; backticks cannot break the code span
            [],
            [PROBLEM],
            True,
            ["**rotation.yaml has 1 problem**",
             "- `rotation.yaml:3:5: swaps[0]: 'bbo' is not a 'person'`"],
            ["People affected"],
        ),
    ],
)  # fmt: skip
def test_body(moves, errors, news, has, lacks):
    body = pr_comment_body.render(ROT, ROT, moves, errors)
    assert body.text.startswith(MARKER + "\n") and body.news is news
    for text in has:
        assert text in body.text
    for text in lacks:
        assert text not in body.text


def test_names_from_the_pull_request_render_as_text_and_mention_no_one():
    hostile = "![x](https://attacker.example/p.png) [click](https://attacker.example) @org/all"
    text = EXAMPLE.read_text().replace("name: Carol Castillo", f"name: {json.dumps(hostile)}")
    text = text.replace("name: Platform", 'name: "<img src=x> | *Ops*"')
    rot = rotation.load("rotation.yaml", text=text)[0]
    moves = [Move("platform", WEEK, NEXT, "carol", "judy")]
    body = pr_comment_body.render(rot, rot, moves, [])
    html = cmarkgfm.github_flavored_markdown_to_html(body.text)
    assert "<img" not in html and "<a " not in html and html.count("<em>") == 1, html  # footer
    assert html.count("<td>") == 5  # one row of five cells: "|" in a name is text
    assert "@\u2060org/all" in html and "@org/all" not in html


def test_body_of_a_rotation_that_does_not_load_shows_only_the_errors():
    body = pr_comment_body.render(None, None, [], [PROBLEM])
    assert body.news and "Nothing moves" not in body.text and "rotation.yaml:3:5" in body.text


def test_a_long_list_of_moves_is_cut_but_everyone_is_named():
    moves = [Move("support-hero", WEEK, NEXT, "alice", "bob")] * (pr_comment_body.MAX_ROWS + 3)
    moves.append(Move("support-hero", WEEK, NEXT, "carol", "dave"))
    text = pr_comment_body.render(ROT, ROT, moves, []).text
    assert text.count("| Support Hero |") == pr_comment_body.MAX_ROWS
    assert "…and 4 more" in text and "@ddimitrov" in text and "Carol Castillo" in text


def test_a_person_the_edit_removes_is_named_from_the_base():
    new = rotations.make(people="ab", hero="ab")
    body = pr_comment_body.render(new, ROT, [Move("support-hero", WEEK, NEXT, "alice", "a")], [])
    assert "| Alice Andersen | A |" in body.text and "People affected: A, @alice-a" in body.text


class C:
    def __init__(self, body):
        self.body = body


@pytest.mark.parametrize(
    ("bodies", "index"),
    [
        ([], None),
        (["hello", None, f"{MARKER}\nours", f"{MARKER}\nlater"], 2),
        ([f"> {MARKER}\nquoted", f"  {MARKER}\nours"], 1),
    ],
)
def test_find_ours(bodies, index):
    comments = [C(b) for b in bodies]
    found = pr_comment_body.find_ours(comments)
    assert found is (None if index is None else comments[index])


# --- end to end ---------------------------------------------------------------------------------


@pytest.fixture
def gh(monkeypatch, tmp_path):
    """The fake with a pull request that has a human comment; the job's env pointing at it."""
    with GitHubFake() as fake:
        fake.add_repo(REPO)
        fake.pr = fake.add_issue(REPO, "alice-a", "Swap a week", pull_request=True)
        fake.add_comment(REPO, fake.pr, "bobbrennan", "Fine by me")
        for name, value in fake.env().items():
            monkeypatch.setenv(name, value)
        monkeypatch.setenv("GITHUB_REPOSITORY", REPO)
        monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(tmp_path / "summary.md"))
        monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
        yield fake


@pytest.fixture
def files(tmp_path, monkeypatch):
    """base.yaml (the example) and rotation.yaml (the PR's edit), relative as in Actions."""
    monkeypatch.chdir(tmp_path)
    shutil.copy(EXAMPLE, "base.yaml")
    edit(EXAMPLE.read_text())
    return tmp_path


def edit(text: str, swap: str = "") -> None:
    """rotation.yaml as the example with one more swap."""
    Path("rotation.yaml").write_text(text.replace("\ntime_off:", swap + "\ntime_off:", 1))


def run(capsys, gh, *argv):
    code = pr_comment.main(
        ["--pr", str(gh.pr), "--base", "base.yaml", "--now", NOW, "--config", "rotation.yaml"]
        + list(argv)
    )
    out, err = capsys.readouterr()
    return code, out, err


def ours(gh) -> list[dict]:
    return [c for c in gh.issue(REPO, gh.pr).comments if c["body"].startswith(MARKER)]


def test_first_post_then_a_second_apply_writes_nothing(gh, files, capsys):
    edit(EXAMPLE.read_text(), SWAP_ALICE_BOB)
    code, out, _ = run(capsys, gh, "--apply")
    assert code == 0
    (comment,) = ours(gh)
    assert comment["user"] == VIEWER
    assert "People affected: @alice-a, @bobbrennan" in comment["body"]
    assert "| Support Hero | Mon 11 Jan 2027 09:00 | Mon 18 Jan 2027 09:00 |" in comment["body"]
    assert gh.count("POST") == 1 and gh.writes() == 1 and gh.reads() == 1
    gh.reset_counts()
    code, out, _ = run(capsys, gh, "--apply")
    assert code == 0 and gh.writes() == 0 and gh.reads() == 1 and len(ours(gh)) == 1
    assert "No changes" in out


def test_a_different_change_edits_the_same_comment(gh, files, capsys):
    edit(EXAMPLE.read_text(), SWAP_ALICE_BOB)
    run(capsys, gh, "--apply")
    (first,) = ours(gh)
    first_id, first_body = first["id"], first["body"]
    edit(EXAMPLE.read_text(), SWAP_JUDY_IVAN)
    gh.reset_counts()
    code, out, _ = run(capsys, gh)  # a dry run shows the edit and writes nothing
    assert code == 0 and gh.writes() == 0 and f"update  the rotation comment {first_id}" in out
    code, out, _ = run(capsys, gh, "--apply")
    assert code == 0 and f"Updated comment {first_id}" in out
    (comment,) = ours(gh)
    assert comment["id"] == first_id and comment["body"] != first_body
    assert "People affected: Ivan Ivanov, Judy Jackson" in comment["body"]
    assert "@alice-a" not in comment["body"]
    assert gh.count("PATCH") == 1 and gh.count("POST") == 0 and gh.reads() == 2  # 2 runs
    assert len(gh.issue(REPO, gh.pr).comments) == 2  # the human's comment is untouched


def test_nothing_moves_and_no_comment_yet_posts_nothing(gh, files, capsys):
    code, out, _ = run(capsys, gh, "--apply")
    assert code == 0 and gh.writes() == 0 and ours(gh) == []
    assert "No changes" in out


def test_nothing_moves_any_more_corrects_the_comment(gh, files, capsys):
    edit(EXAMPLE.read_text(), SWAP_ALICE_BOB)
    run(capsys, gh, "--apply")
    edit(EXAMPLE.read_text())  # the author took the swap out again
    code, _, _ = run(capsys, gh, "--apply")
    (comment,) = ours(gh)
    assert code == 0 and "Nothing moves" in comment["body"] and "@" not in comment["body"]
    gh.reset_counts()
    assert run(capsys, gh, "--apply")[0] == 0 and gh.writes() == 0


def test_bad_config_dry_run_reads_nothing_and_apply_posts_the_errors(gh, files, capsys):
    edit(EXAMPLE.read_text(), BROKEN_SWAP)
    code, out, err = run(capsys, gh)
    assert code == 2 and gh.calls == [] and "1 problem in rotation.yaml" in err
    assert "`rotation.yaml:" in out and "'bbo' is not a person (did you mean 'bob'?)" in out
    code, _, _ = run(capsys, gh, "--apply")
    (comment,) = ours(gh)
    assert code == 2 and "**rotation.yaml has 1 problem**" in comment["body"]
    assert "did you mean 'bob'?" in comment["body"]
    edit(EXAMPLE.read_text(), SWAP_ALICE_BOB)  # fixed: the same comment now shows the moves
    assert run(capsys, gh, "--apply")[0] == 0
    (comment,) = ours(gh)
    assert "problem" not in comment["body"] and "@alice-a" in comment["body"]


def test_a_started_shift_rewritten_is_an_error_in_the_comment(gh, files, capsys):
    edit(EXAMPLE.read_text().replace("[grace, heidi, ivan, judy]", "[heidi, grace, ivan, judy]"))
    code, _, _ = run(capsys, gh, "--apply")
    (comment,) = ours(gh)
    assert code == 2 and "moves a shift that has already started" in comment["body"]
    assert "This pull request moves" in comment["body"]


def test_fork_without_a_token_dry_run_shows_the_comment(gh, files, capsys, monkeypatch):
    monkeypatch.delenv("GITHUB_TOKEN")
    edit(EXAMPLE.read_text(), SWAP_ALICE_BOB)
    code, out, _ = run(capsys, gh)
    assert code == 0 and gh.calls == []
    assert "GITHUB_TOKEN or GITHUB_REPOSITORY is not set" in out and "@bobbrennan" in out
    code, _, err = run(capsys, gh, "--apply")
    assert code == 2 and "GITHUB_TOKEN" in err and gh.calls == []


def test_apply_needs_the_repository(gh, files, capsys, monkeypatch):
    monkeypatch.delenv("GITHUB_REPOSITORY")
    code, _, err = run(capsys, gh, "--apply")
    assert code == 2 and "GITHUB_REPOSITORY" in err and gh.calls == []


def test_a_5xx_on_the_edit_is_retried_once_and_a_refused_post_fails(gh, files, capsys):
    edit(EXAMPLE.read_text(), SWAP_ALICE_BOB)
    gh.inject("POST", "/repos/*/*/issues/*/comments", 403, body={"message": "Forbidden"})
    code, _, err = run(capsys, gh, "--apply")
    # a 403 is the token's access: set-up, exit 2 (README, exit codes; the runner's rule for
    # every job since issue 16, where pr_comment alone said 1)
    assert code == 2 and "403" in err and ours(gh) == []
    run(capsys, gh, "--apply")
    edit(EXAMPLE.read_text(), SWAP_JUDY_IVAN)
    gh.inject("PATCH", "/repos/*/*/issues/comments/*", 502, headers={"Retry-After": "0"})
    code, _, _ = run(capsys, gh, "--apply")
    (comment,) = ours(gh)
    assert code == 0 and "Judy Jackson" in comment["body"] and gh.count("PATCH") == 2


def test_json_output(gh, files, capsys):
    edit(EXAMPLE.read_text(), SWAP_ALICE_BOB)
    code, out, _ = run(capsys, gh, "--format", "json")
    data = json.loads(out)
    assert code == 0 and data["news"] and data["changes"][0]["action"] == "create"
    assert data["body"].startswith(MARKER)


def test_base_from_git(gh, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run(["git", "init", "-q", "-b", "main"], check=True)
    shutil.copy(EXAMPLE, "rotation.yaml")
    subprocess.run([*git, "add", "rotation.yaml"], check=True)
    subprocess.run([*git, "commit", "-qm", "base"], check=True)
    edit(EXAMPLE.read_text(), SWAP_ALICE_BOB)
    code = pr_comment.main(["--pr", str(gh.pr), "--base", "HEAD", "--now", NOW, "--apply"])
    assert code == 0 and "@alice-a" in ours(gh)[0]["body"]


@pytest.mark.parametrize("fault", [{"status": 502, "after": True}, {"status": 503}])
def test_a_lost_answer_to_the_comment_post_never_posts_twice(gh, files, capsys, fault):
    """A 5xx may follow a comment GitHub made (specs/README.md): it is looked for first."""
    edit(EXAMPLE.read_text(), SWAP_ALICE_BOB)
    gh.inject("POST", "/repos/*/*/issues/*/comments", headers={"Retry-After": "0"}, **fault)
    code, _, err = run(capsys, gh, "--apply")
    assert code == 0, err
    assert len(ours(gh)) == 1
    gh.reset_counts()
    assert run(capsys, gh, "--apply")[0] == 0 and gh.writes() == 0


def test_a_comment_post_that_timed_out_is_found_not_sent_again(gh):
    from scripts.clients.github import GitHub

    gh.inject("POST", "/repos/*/*/issues/*/comments", delay=3, after=True)
    client = GitHub(gh.token, timeout=1)
    made = client.comment(REPO, gh.pr, "<!-- ours --> hello")
    (found,) = [c for c in gh.issue(REPO, gh.pr).comments if c["body"] == "<!-- ours --> hello"]
    assert made.id == found["id"]
