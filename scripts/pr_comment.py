"""Job: one comment on a rotation pull request, edited in place, naming whose shifts it moves."""

from __future__ import annotations

import os
import sys

from scripts import cli
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
    return cli.guard(_parser(), argv, run)


def run(args) -> int:
    new, base, errors = load(args)
    moves = moves_ahead(base, new, cli.now_or(args)) if new and base else []
    body = pr_comment_body.render(new, base, moves, errors)
    exit_code = cli.EXIT_USAGE if errors else cli.EXIT_OK
    token = cli.token(TOKEN, args.apply)
    repo = args.repo or os.environ.get(REPOSITORY)
    if args.apply and not repo:
        raise cli.UsageError(f"--apply needs --repo or ${REPOSITORY}; nothing was written")
    if errors:
        n = len(errors)
        print(f"{n} problem{'s' if n != 1 else ''} in {args.config}.", file=sys.stderr)
    # A dry run of a bad config reads nothing; an --apply posts the errors for the PR's author.
    if errors and not args.apply:
        render(args, body, None, f"{args.config} has problems: the pull request was not read")
        return exit_code
    if not (token and repo):
        unread = f"{TOKEN} or {REPOSITORY} is not set: the pull request was not read"
        render(args, body, None, unread)
        return exit_code
    gh = GitHub(token)
    target = f"{repo}#{args.pr}"
    try:
        ours = pr_comment_body.find_ours(gh.comments(repo, args.pr))
    except GitHubError as exc:
        print(f"error: reading the comments of {target}: {exc}", file=sys.stderr)
        return cli.failed(exc)
    changes = plan(ours, body, target)
    found = f"comment {ours.id}" if ours else "no comment of ours yet"
    render(args, body, changes, f"{target}: {found}")
    if not args.apply or not changes:
        return exit_code
    return apply(gh, repo, args.pr, changes) or exit_code


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


def render(args, body: Body, changes: list[Change] | None, note: str) -> None:
    """The comment and the plan (None: GitHub was not read); `note` says what was read."""
    title = TITLE + ("" if args.apply else " (dry run)")
    plan_md = plans.render_markdown(changes, args.config, title) if changes is not None else ""
    cli.write_summary(f"### {title}\n\n_{escape(note)}_\n\n{plan_md or body.text}")
    if args.format == "json":
        print(plans.render_json(changes or [], body=body.text, news=body.news, note=note))
    elif args.format == "markdown":
        print(body.text)
    else:
        quiet = "" if body.news else " (nothing moves: written only over an earlier comment)"
        print(f"{title}\nnote: {note}\n\nThe comment{quiet}:\n\n{body.text}")
        if changes is not None:
            print(plans.render_text(changes, args.config, "Plan:"))


def apply(gh: GitHub, repo: str, number: int, changes: list[Change]) -> int:
    for change in changes:
        try:
            match change.data:
                case IssueComment(body):
                    done = gh.comment(repo, number, body)
                case IssueCommentEdit(comment_id, body):
                    done = gh.edit_comment(repo, number, comment_id, body)
                case other:
                    raise TypeError(f"pr_comment cannot apply {type(other).__name__}")
        except GitHubError as exc:
            print(f"error: {change.action} {change.summary}: {exc}", file=sys.stderr)
            return cli.EXIT_APPLY_FAILED
        verb = "Posted" if change.action == "create" else "Updated"
        print(f"{verb} comment {done.id} on {change.target}.", file=sys.stderr)
    return cli.EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
