"""Job: one comment on a rotation pull request, edited in place, naming whose shifts it moves."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass

from scripts import cli, runner
from scripts import plan as plans
from scripts.clients.github import Comment, GitHub, GitHubError
from scripts.markup.github_text import escape
from scripts.plan import Change, IssueComment, IssueCommentEdit
from scripts.rotation import load as rotation
from scripts.rotation import pr_comment_body
from scripts.rotation.change import load_base, moves_ahead, rewrite_problems
from scripts.rotation.model import Rotation
from scripts.rotation.pr_comment_body import Body
from scripts.rotation.problems import ConfigError, Problem

TITLE = "Pull request comment"
TOKEN, REPOSITORY = "GITHUB_TOKEN", "GITHUB_REPOSITORY"


def _parser():
    p = cli.parser(__doc__)
    p.add_argument("--pr", type=int, required=True, metavar="N", help="the pull request number")
    p.add_argument(
        "--base",
        required=True,
        metavar="REV|FILE",
        help="the rotation before the pull request: a git revision (origin/main) or a file",
    )
    p.add_argument("--repo", metavar="OWNER/NAME", help=f"default: ${REPOSITORY}")
    return p


def main(argv=None) -> int:
    return runner.start(JOB, _parser(), argv)


@dataclass(frozen=True)
class Setup:
    config: str
    body: Body
    errors: list[Problem]  # the check's: the comment shows them, the exit code is 2
    repo: str | None
    number: int


def setup(args) -> Setup:
    new, base, errors = load(args)
    moves = moves_ahead(base, new, cli.now_or(args)) if new and base else []
    body = pr_comment_body.render(new, base, moves, errors)
    if errors:
        n = len(errors)
        print(f"{n} problem{'s' if n != 1 else ''} in {args.config}.", file=sys.stderr)
    return Setup(args.config, body, errors, args.repo or os.environ.get(REPOSITORY), args.pr)


def connect(s: Setup) -> GitHub | None:
    token = cli.token(TOKEN, False)
    return GitHub(token) if token and s.repo else None


def refuse(s: Setup) -> str | None:
    return None if s.repo else f"--apply needs --repo or ${REPOSITORY}"


def observe(s: Setup, gh: GitHub | None) -> Comment | bool | None:
    """Our comment on the pull request (None: none yet; False: GitHub was not read)."""
    if gh is None or s.repo is None:
        return False
    try:
        return pr_comment_body.find_ours(gh.comments(s.repo, s.number))
    except GitHubError as exc:
        raise runner.Halted(f"reading the comments of {s.repo}#{s.number}: {exc}", exc) from None


def planned(s: Setup, ours: Comment | bool | None, heading: str) -> runner.Planned:
    code = cli.EXIT_USAGE if s.errors else cli.EXIT_OK
    if ours is False:
        note = f"{TOKEN} or {REPOSITORY} is not set: the pull request was not read"
        if s.errors:
            note = f"{s.config} has problems: the pull request was not read"
        return render(s, heading, None, note, code)
    target = f"{s.repo}#{s.number}"
    comment = ours if isinstance(ours, Comment) else None
    changes = plan(comment, s.body, target)
    found = f"comment {comment.id}" if comment else "no comment of ours yet"
    return render(s, heading, changes, f"{target}: {found}", code)


def load(args) -> tuple[Rotation | None, Rotation | None, list[Problem]]:
    """The PR's rotation (None if it does not load), the base one, and the check's errors."""
    try:
        new, _ = rotation.load(args.config)
    except ConfigError as exc:
        return None, None, exc.problems  # the base is needed only to compare a rotation that loads
    base = load_base(args.base, args.config)
    return new, base, rewrite_problems(new, base, cli.now_or(args))


def plan(ours: Comment | None, body: Body, target: str) -> list[Change]:
    """Create the comment when there is news, else edit ours if it says something else."""
    if ours is None:
        if not body.news:
            return []
        new = IssueComment(body.text)
        return [Change("create", target, "the rotation comment", _why(body), 0, new)]
    if ours.body == body.text:
        return []
    edit = IssueCommentEdit(ours.id, body.text)
    return [Change("update", target, f"the rotation comment {ours.id}", _why(body), 0, edit)]


def _why(body: Body) -> str:
    return "shifts move or the check fails" if body.news else "nothing moves any more"


def render(s: Setup, heading: str, changes: list[Change] | None, note: str,
           code: int) -> runner.Planned:  # fmt: skip
    """The comment and the plan (None: GitHub was not read); `note` says what was read."""
    plan_md = plans.render_markdown(changes, s.config, heading) if changes is not None else ""
    quiet = "" if s.body.news else " (nothing moves: written only over an earlier comment)"
    text = f"{heading}\nnote: {note}\n\nThe comment{quiet}:\n\n{s.body.text}"
    if changes is not None:
        text += "\n" + plans.render_text(changes, s.config, "Plan:")
    return runner.Planned(
        changes or [],
        text,
        s.body.text,
        summary=f"### {heading}\n\n_{escape(note)}_\n\n{plan_md or s.body.text}",
        json={"body": s.body.text, "news": s.body.news, "note": note},
        code=code,
    )


def writer(s: Setup, ours: object, gh: GitHub, changes: Sequence[Change]) -> runner.Write:
    repo, number = s.repo or "", s.number

    def write(change: Change) -> str:
        match change.data:
            case IssueComment(body, _, _, _):
                done = gh.comment(repo, number, body)
                return f"Posted comment {done.id} on {change.target}."
            case IssueCommentEdit(comment_id, body):
                done = gh.edit_comment(repo, number, comment_id, body)
                return f"Updated comment {done.id} on {change.target}."
            case other:
                raise TypeError(f"pr_comment cannot apply {type(other).__name__}")

    return write


JOB = runner.Job(
    TITLE,
    runner.Policy.STOP,
    setup,
    connect,
    observe,
    planned,
    writer,
    tokens=runner.needs(TOKEN),
    refuse=refuse,
    # a dry run of a bad config reads nothing; an --apply posts the errors for the PR's author
    dry_run_reads=lambda s: not s.errors,
)


if __name__ == "__main__":
    sys.exit(main())
