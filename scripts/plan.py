"""A plan: the changes a writing job would make, each with its reason and rotation.yaml line."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from scripts.markup.github_text import escape

if TYPE_CHECKING:  # scripts.pagerduty.plan builds Changes: importing it here would be a cycle
    from scripts.pagerduty.plan import Layer, Override
    from scripts.pagerduty.shifts import ShiftEvent, ShiftOverride

# --- typed writes: what the adapter needs to make one change, one dataclass per kind ----------


@dataclass(frozen=True)
class SlackPost:
    """A new top-level message (chat.postMessage)."""

    channel: str
    text: str
    blocks: Sequence[Mapping[str, Any]]
    metadata: Mapping[str, Any]


@dataclass(frozen=True)
class SlackUpdate:
    """An edit of one of our messages (chat.update); `digest`: it is flag_stale's digest."""

    channel: str
    ts: str
    text: str
    blocks: Sequence[Mapping[str, Any]]
    metadata: Mapping[str, Any]
    digest: bool = False


@dataclass(frozen=True)
class SlackReply:
    """A reply in a thread; `thread_ts` None: the thread of the message this run posts first."""

    channel: str
    text: str
    metadata: Mapping[str, Any]
    thread_ts: str | None


@dataclass(frozen=True)
class UserGroupCreate:
    """A new user group holding `users` (usergroups.create, then usergroups.users.update)."""

    handle: str
    name: str
    description: str
    users: Sequence[str]


@dataclass(frozen=True)
class UserGroupUsers:
    """A user group's members set to `users`; `enable`: the group is disabled, enable it first."""

    usergroup: str
    users: Sequence[str]
    enable: bool = False


@dataclass(frozen=True)
class ChannelTopic:
    """A channel's topic (conversations.setTopic)."""

    channel: str
    topic: str


@dataclass(frozen=True)
class Page:
    """A page: an Events API v2 `event`, or a REST API `incident` (create_incident_once's
    arguments), by `route`; None: no way to page (the plan shows it, an apply refuses)."""

    route: str | None
    dedup_key: str
    event: Mapping[str, Any] | None = None
    incident: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class TagCreate:
    """A new Papercups tag."""

    name: str
    color: str
    description: str


@dataclass(frozen=True)
class CustomerTags:
    """A Papercups customer's tier tag: `add` it (None: has it) and take off the `remove` ones."""

    customer: str
    add: str | None
    remove: Sequence[str]


@dataclass(frozen=True)
class CustomerMetadata:
    """A Papercups customer's whole metadata map (Papercups replaces it, never merges)."""

    customer: str
    metadata: Mapping[str, Any]


@dataclass(frozen=True)
class LabelCreate:
    """A new label in `repo` (a 422, created meanwhile, is what we wanted)."""

    repo: str
    name: str
    color: str
    description: str


@dataclass(frozen=True)
class IssueLabels:
    """Issue `number`'s labels and body (carrying our marker) set, if it has not changed since
    `updated_at` (then it is skipped: its update brings it back next run)."""

    repo: str
    number: int
    updated_at: datetime
    labels: Sequence[str]
    body: str


@dataclass(frozen=True)
class IssueComment:
    """A new comment on an issue or pull request: the one Change.target names (pr_comment), or
    `repo`#`number` if it has not changed since `updated_at` (label_issues)."""

    body: str
    repo: str = ""
    number: int = 0
    updated_at: datetime | None = None


@dataclass(frozen=True)
class IssueCommentEdit:
    """Our comment `comment_id`, its body replaced."""

    comment_id: int
    body: str


@dataclass(frozen=True)
class ScheduleUpdate:
    """A PagerDuty schedule's time zone and layers, lowest priority first (one PUT; a layer
    without an id is added on top, one left out is kept: PagerDuty never removes layers)."""

    schedule_id: str
    name: str  # the PUT needs it; the observed one, unchanged
    time_zone: str
    layers: Sequence[Layer]


@dataclass(frozen=True)
class OverrideCreate:
    """A new override on a PagerDuty schedule, its times written in `time_zone`; creates of one
    schedule go together, 50 to a POST."""

    schedule_id: str
    override: Override
    time_zone: str


@dataclass(frozen=True)
class OverrideDelete:
    """An override deleted from a PagerDuty schedule (one already gone counts as deleted)."""

    schedule_id: str
    override_id: str


@dataclass(frozen=True)
class ShiftZoneUpdate:
    """A shift-based (v3) schedule's time zone (its events carry their own)."""

    schedule_id: str
    time_zone: str


@dataclass(frozen=True)
class EventEnd:
    """An event of a shift-based schedule's rotation ended at `until`, or (None) open again (an
    event that has started can only change its end: PagerDuty changes nothing else of it)."""

    schedule_id: str
    rotation_id: str
    event_id: str
    until: datetime | None


@dataclass(frozen=True)
class EventDelete:
    """An event that has not started, deleted from its rotation."""

    schedule_id: str
    rotation_id: str
    event_id: str


@dataclass(frozen=True)
class EventCreate:
    """A new event in a rotation; `rotation_id` None: in a rotation created for it first."""

    schedule_id: str
    rotation_id: str | None
    event: ShiftEvent


@dataclass(frozen=True)
class ShiftOverrideCreate:
    """A new override of a rotation (`override.rotation_id`; None: the rotation this run created
    on that schedule); creates of one schedule go together, 50 to a POST."""

    schedule_id: str
    override: ShiftOverride


@dataclass(frozen=True)
class ShiftOverrideDelete:
    schedule_id: str
    override_id: str


@dataclass(frozen=True)
class CustomShiftDelete:
    """A custom shift that has not started, deleted."""

    schedule_id: str
    shift_id: str


@dataclass(frozen=True)
class PullRequestOpen:
    """A pull request on `repo` from `branch` (made from `base`) whose one change adds
    `entries` to rotation.yaml (at `path`) as the base branch has it then."""

    repo: str
    base: str
    branch: str
    path: str
    entries: Sequence[tuple[str, Mapping[str, Any]]]  # (swaps | time_off, the entry)
    title: str
    body: str


# Every kind of write a job makes.
Write = (
    SlackPost
    | SlackUpdate
    | SlackReply
    | UserGroupCreate
    | UserGroupUsers
    | ChannelTopic
    | Page
    | TagCreate
    | CustomerTags
    | CustomerMetadata
    | LabelCreate
    | IssueLabels
    | IssueComment
    | IssueCommentEdit
    | ScheduleUpdate
    | OverrideCreate
    | OverrideDelete
    | ShiftZoneUpdate
    | EventEnd
    | EventDelete
    | EventCreate
    | ShiftOverrideCreate
    | ShiftOverrideDelete
    | CustomShiftDelete
    | PullRequestOpen
)


@dataclass(frozen=True)
class Change:
    """One write a job would make; `target` groups changes (a schedule, a channel, a repo)."""

    action: str  # e.g. create, update, delete, post, label
    target: str
    summary: str  # what a person reads: "Wed 16 Dec 09:00 -> ...: frank covers erin"
    reason: str = ""  # why: "swap", "hero-as-secondary", "drift", ...
    line: int = 0  # the rotation.yaml line it comes from, 0 when none
    # What the adapter needs to apply it; None: shown only (the service was not read, so the
    # plan gives the desired state, which an apply reads before it writes)
    data: Write | None = field(default=None, compare=False)

    def where(self, config: str) -> str:
        return f"{config}:{self.line}" if self.line else ""


def render_text(changes: Iterable[Change], config: str, title: str) -> str:
    """Plain text grouped by target, with a count line."""
    changes = list(changes)
    lines = [title]
    for target in dict.fromkeys(c.target for c in changes):
        lines.append(f"\n{target}:")
        for c in (c for c in changes if c.target == target):
            why = ", ".join(x for x in (c.reason, c.where(config)) if x)
            lines.append(f"  {c.action:<7} {c.summary}" + (f" ({why})" if why else ""))
    lines.append(f"\n{count_line(changes)}")
    return "\n".join(lines)


def render_markdown(changes: Iterable[Change], config: str, title: str) -> str:
    """Markdown for the job summary: a section per target; every name and summary escaped (they
    come from rotation.yaml and the services)."""
    changes = list(changes)
    lines = [f"### {escape(title)}", ""]
    for target in dict.fromkeys(c.target for c in changes):
        lines += [f"**{escape(target)}**", ""]
        for c in (c for c in changes if c.target == target):
            why = ", ".join(x for x in (c.reason, c.where(config)) if x)
            lines.append(f"- {c.action} {escape(c.summary)}" + (f" ({escape(why)})" if why else ""))
        lines.append("")
    lines.append(count_line(changes))
    return "\n".join(lines)


def render_json(changes: Iterable[Change], **extra: Any) -> str:
    return json.dumps({"changes": [asdict(c) for c in changes], **extra}, indent=2, default=str)


def count_line(changes: list[Change]) -> str:
    if not changes:
        return "No changes: everything already matches."
    counts: dict[str, int] = {}
    for c in changes:
        counts[c.action] = counts.get(c.action, 0) + 1
    parts = ", ".join(f"{n} {action}" for action, n in counts.items())
    return f"{len(changes)} change{'s' if len(changes) != 1 else ''}: {parts}"
