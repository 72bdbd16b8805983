"""Each core declares what it reads of a service's data as a Protocol; the adapter's types
provide it. mypy (strict on this file, `make test`) checks the assignments below; pytest checks
that each value has every member its Protocol names."""

from datetime import UTC, datetime
from typing import Protocol

import pytest

from scripts.clients import github, pagerduty, slack
from scripts.escalation.paging import OnCallRow
from scripts.rotation.pr_comment_body import HasBody
from scripts.stale.github_threads import GitHubComment
from scripts.stale.slack_threads import SlackMessage
from scripts.tiers import labels

AT = datetime(2026, 12, 14, 9, tzinfo=UTC)
ISSUE = github.Issue("o/r", 1, "title", "body", "open", False, ("bug",), "jane", "User", "NONE",
                     0, AT, AT)  # fmt: skip
COMMENT = github.Comment(1, "jane", "text", AT, AT)
REPO_COMMENT = github.RepoComment(2, "jane", "text", AT, AT, issue_number=1)
MESSAGE = slack.Message("1765700000.000100", "hello")
ON_CALL = pagerduty.OnCall("PUSER01", "Erin", AT, None)

# what each core reads, from what each adapter gives (mypy checks these)
stale_comment: GitHubComment = COMMENT
stale_repo_comment: GitHubComment = REPO_COMMENT
stale_message: SlackMessage = MESSAGE
labels_issue: labels.Issue = ISSUE
labels_comment: labels.Comment = COMMENT
pr_comment: HasBody = COMMENT
on_call: OnCallRow = ON_CALL

CONTRACTS: list[tuple[type, object]] = [
    (GitHubComment, COMMENT), (GitHubComment, REPO_COMMENT),
    (SlackMessage, MESSAGE), (labels.Issue, ISSUE), (labels.Comment, COMMENT),
    (HasBody, COMMENT), (OnCallRow, ON_CALL),
]  # fmt: skip


def members(protocol: type) -> set[str]:
    return {
        name
        for klass in protocol.__mro__
        if klass not in (object, Protocol) and Protocol in klass.__mro__
        for name in vars(klass)
        if not name.startswith("_")
    }


@pytest.mark.parametrize(("protocol", "value"), CONTRACTS, ids=lambda x: type(x).__name__)
def test_the_adapter_type_has_every_member_the_core_reads(protocol: type, value: object) -> None:
    wanted = members(protocol)
    assert wanted and all(hasattr(value, name) for name in wanted), wanted
