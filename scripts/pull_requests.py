"""The steps request_swap and request_time_off share: where the pull request goes, finding the one
a request opened before (by its branch), and opening it with rotation.yaml edited from the base
branch's copy as it is then."""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scripts import runner
from scripts.clients.github import GitHub, GitHubError, PullRequest
from scripts.plan import Change, PullRequestOpen
from scripts.swaps import edit

TOKEN = "GITHUB_TOKEN"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--repo",
        default=os.environ.get("GITHUB_REPOSITORY", ""),
        help="owner/name holding rotation.yaml, for --apply (default: GITHUB_REPOSITORY)",
    )
    p.add_argument(
        "--base",
        default=os.environ.get("GITHUB_REF_NAME") or "main",
        help="the branch the pull request goes to (default: GITHUB_REF_NAME, else main)",
    )


@dataclass(frozen=True)
class Target:
    repo: str  # owner/name ("" when not known: --apply refuses)
    base: str  # the branch the pull request goes to
    path: str  # rotation.yaml's path in the repository


def target(args: argparse.Namespace) -> Target:
    config = Path(args.config)
    return Target(args.repo or "", args.base, config.name if config.is_absolute() else args.config)


def refuse(t: Target) -> str | None:
    if not t.repo:
        return "--apply needs the repository: --repo owner/name (in Actions: GITHUB_REPOSITORY)"
    return None


def find_open(gh: GitHub | None, t: Target, branch: str) -> PullRequest | None:
    """The request's pull request, already open; None too when GitHub is not read."""
    if gh is None or not t.repo:
        return None
    try:
        found: PullRequest | None = gh.open_pull(t.repo, branch)
    except GitHubError as exc:
        raise runner.Halted(f"reading GitHub: {exc}", exc) from None
    return found


def writer(
    setup: Any, seen: PullRequest | None, gh: GitHub, changes: Sequence[Change]
) -> runner.Write:
    """A request job's writes: each the pull request of its change."""

    def write(change: Change) -> str:
        match change.data:
            case PullRequestOpen() as pr:
                return open_one(gh, pr)
            case other:
                raise TypeError(f"not a request write: {other!r}")

    return write


def open_one(gh: GitHub, pr: PullRequestOpen) -> str:
    """Open the pull request; its file is the base branch's as it is now, with the entries."""
    current = gh.file_text(pr.repo, pr.path, pr.base)
    if current is None:
        raise runner.Skip(f"{pr.repo} has no {pr.path} on {pr.base}")
    try:
        text = current[0]
        for key, entry in pr.entries:
            text = edit.add_entry(text, key, entry)
    except edit.EditError as exc:
        raise runner.Skip(f"{pr.path} on {pr.base}: {exc}") from None
    made = gh.propose(pr.repo, pr.base, pr.branch, pr.path, text, pr.title, pr.body)
    return f"Pull request: {made.html_url}"
