"""Tier labels and triage comments, pure: what each issue needs, the write budget, our markers.

What it reads of an issue and a comment is `Issue` and `Comment`; the GitHub adapter's
dataclasses provide them.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from scripts.plan import Change, IssueComment, IssueLabels, LabelCreate
from scripts.tiers.names import COMMUNITY, FOCUS, SUBSCRIBER, TIERS

TEAM_ASSOCIATIONS = frozenset({"MEMBER", "OWNER", "COLLABORATOR"})
DEPLOYMENT, SLOWNESS = "deployment", "slowness"
# Anywhere in the body: its author may write below it. We rewrite it at the end.
_MARKER = re.compile(r"\n*<!-- support-hero (\{[^<>]*\}) -->[ \t]*")
_TRIAGE = re.compile(r"<!-- support-hero:triage ([a-z]+) -->")


class Issue(Protocol):
    """What the cores read of an issue (the issues API lists pull requests too): this one, and
    stale/github_threads.py's conversations."""

    @property
    def number(self) -> int: ...
    @property
    def title(self) -> str: ...
    @property
    def body(self) -> str | None: ...
    @property
    def state(self) -> str: ...
    @property
    def is_pull_request(self) -> bool: ...
    @property
    def labels(self) -> Sequence[str]: ...  # names
    @property
    def user(self) -> str: ...  # login
    @property
    def user_type(self) -> str: ...  # "User", "Bot", "Organization"
    @property
    def author_association(self) -> str: ...
    @property
    def comments(self) -> int: ...  # how many
    @property
    def created_at(self) -> datetime: ...
    @property
    def updated_at(self) -> datetime: ...
    @property
    def html_url(self) -> str: ...


class Comment(Protocol):
    """What this core reads of a comment."""

    @property
    def user(self) -> str: ...
    @property
    def body(self) -> str | None: ...


# --- settings ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class LabelSpec:
    tier: str
    name: str
    color: str  # six hex digits, no "#"
    description: str


DEFAULT_LABELS = {
    FOCUS: LabelSpec(FOCUS, "tier: focus", "b60205", "Focus customer: answered first"),
    SUBSCRIBER: LabelSpec(
        SUBSCRIBER, "tier: subscriber", "fbca04", "Subscriber: answered after Focus customers"
    ),
    COMMUNITY: LabelSpec(
        COMMUNITY, "tier: community", "c5def5", "Community: answered after Focus and Subscribers"
    ),
}


@dataclass(frozen=True)
class Settings:
    """The `github` section of rotation.yaml as the labelling job needs it."""

    repos: tuple[str, ...] = ()
    labels: Mapping[str, LabelSpec] = field(default_factory=lambda: dict(DEFAULT_LABELS))
    write_budget: int = 50
    lookup_budget: int = 300
    deployment: bool = True
    slowness: bool = True
    max_age_days: int = 14
    lines: Mapping[str, int] = field(default_factory=dict)  # github key -> rotation.yaml line

    @property
    def tier_names(self) -> dict[str, str]:
        """Label name -> tier."""
        return {spec.name: tier for tier, spec in self.labels.items()}

    def tier_label(self, name: str) -> str | None:
        """Our spelling of a tier label, whatever its case: GitHub label names are
        case-insensitive (`Tier: Focus` is `tier: focus`, specs/README.md)."""
        return next((n for n in self.tier_names if n.lower() == name.lower()), None)


def settings(raw: Mapping[str, Any] | None, lines: Mapping[str, int] | None = None) -> Settings:
    """Settings from the schema-checked `github` section (absent keys: defaults)."""
    raw = dict(raw or {})
    given = raw.get("labels") or {}
    labels = {
        tier: LabelSpec(tier, **{k: given.get(tier, {}).get(k, getattr(spec, k))
                                 for k in ("name", "color", "description")})
        for tier, spec in DEFAULT_LABELS.items()
    }  # fmt: skip
    triage = raw.get("triage") or {}
    return Settings(
        repos=tuple(raw.get("repos") or ()),
        labels=labels,
        write_budget=raw.get("write_budget", 50),
        lookup_budget=raw.get("lookup_budget", 300),
        deployment=triage.get(DEPLOYMENT, True),
        slowness=triage.get(SLOWNESS, True),
        max_age_days=triage.get("max_age_days", 14),
        lines=dict(lines or {}),
    )


# --- our marker in the issue body ---------------------------------------------------------------


@dataclass(frozen=True)
class Marker:
    """Hidden in the body with each label write: what we set, and what we had handled by then.

    `label`: the tier label we set ("" once we removed ours). A tier label other than this one
    was set by hand. `seen`: every issue updated before it had been handled when we wrote; the
    newest `seen` is where the next run starts. `fingerprint`: of title, body and comment count
    after our writes; equal later means nobody but us touched what the decision reads.
    """

    label: str
    seen: datetime
    fingerprint: str


def read_marker(body: str | None) -> Marker | None:
    found = _MARKER.findall(body or "")
    if not found:
        return None
    try:
        raw = json.loads(found[-1])  # the last one, should there be several
        return Marker(str(raw["label"]), _utc(raw["seen"]), str(raw["fp"]))
    except (ValueError, KeyError, TypeError):
        return None  # edited by someone: as if absent


def without_marker(body: str | None) -> str:
    return _MARKER.sub("", body or "").rstrip()


def with_marker(body: str | None, marker: Marker) -> str:
    seen = marker.seen.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    raw = json.dumps({"label": marker.label, "seen": seen, "fp": marker.fingerprint})
    text = without_marker(body)
    return f"{text}\n\n<!-- support-hero {raw} -->" if text else f"<!-- support-hero {raw} -->"


def fingerprint(title: str, body: str | None, comments: int) -> str:
    text = f"{title}\n{without_marker(body)}\n{comments}"
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _utc(text: str) -> datetime:
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=UTC)


# --- the window: issues updated since the last run ----------------------------------------------


@dataclass(frozen=True)
class Window:
    """What a scan of the issues (newest update first) found."""

    issues: tuple[Issue, ...]  # as listed, without repeats; all updated at or after `watermark`
    watermark: datetime | None  # the newest `seen` of our markers; None: never ran (all listed)
    newest: datetime | None  # updated_at of the newest issue listed


def scan(issues: Iterable[Issue], full: bool = False) -> Window:
    """Consume issues (newest update first) until they are older than the newest marker's `seen`.

    A marker's `seen` is capped at its issue's updated_at: whoever can edit the body can forge
    it, and no genuine `seen` is later than our write. Stopping there reads exactly the pages
    holding issues updated since; with `full`, everything is read.
    """
    best: datetime | None = None
    out: list[Issue] = []
    numbers: set[int] = set()
    for issue in issues:
        if not full and best is not None and issue.updated_at < best:
            break
        if issue.number in numbers:  # paging moved it while we read
            continue
        numbers.add(issue.number)
        out.append(issue)
        if marker := read_marker(issue.body):
            seen = min(marker.seen, issue.updated_at)
            best = seen if best is None else max(best, seen)
    return Window(tuple(out), best, out[0].updated_at if out else None)


def to_process(window: Window) -> list[Issue]:
    """Open issues (not pull requests) in the order writes are made: oldest update first."""
    chosen = [i for i in window.issues if i.state == "open" and not i.is_pull_request]
    return sorted(chosen, key=lambda i: (i.updated_at, i.number))


# --- per issue: who owns the tier label, what to look up -----------------------------------------


@dataclass(frozen=True)
class Assessment:
    """What an issue needs before a decision; `skip` says why nothing is to be done at all."""

    issue: Issue
    current: tuple[str, ...]  # tier labels on it now
    marker: Marker | None
    owner: str  # "us" (ours, or none yet), "hand" (a person's), "both" (ours and a person's)
    team: str = ""  # "team member" or "not a person" (a bot): no tier label, no triage
    skip: str = ""
    triage: tuple[str, ...] = ()  # triage kinds the text calls for (before reading comments)
    needs_tier: bool = False  # the decision needs the author's tier: the only lookups there are


def assess(
    issue: Issue, cfg: Settings, team_logins: frozenset[str], now: datetime, full: bool = False
) -> Assessment:
    """Classify one open issue: whose tier label it carries, and whether anything is to do.

    The tier of an issue that carries our label is looked up again only with `full`: it
    depends on the author and the directory, not on the issue, so an update changes nothing.
    """
    current = tuple(dict.fromkeys(t for n in issue.labels if (t := cfg.tier_label(n))))
    marker = read_marker(issue.body)
    if marker and (ours := cfg.tier_label(marker.label)):
        marker = replace(marker, label=ours)
    owner = _owner(current, marker)
    team = _team(issue, team_logins)
    if not full and owner == "us" and marker and marker.fingerprint == _fingerprint(issue):
        return Assessment(issue, current, marker, owner, team, "unchanged since our last write")
    triage = () if team else triage_kinds(issue, cfg, now)
    needs_tier = owner == "us" and not team and (full or not current)
    label_work = owner == "both" or needs_tier or (owner == "us" and bool(team and current))
    skip = ""
    if not label_work and not triage:
        skip = {"hand": "tier label set by hand"}.get(owner) or team or "labelled already"
    return Assessment(issue, current, marker, owner, team, skip, triage, needs_tier and not skip)


def _team(issue: Issue, team_logins: frozenset[str]) -> str:
    if issue.user_type != "User":
        return "not a person"
    if issue.user.lower() in team_logins or issue.author_association in TEAM_ASSOCIATIONS:
        return "team member"
    return ""


def _owner(current: tuple[str, ...], marker: Marker | None) -> str:
    mine = {marker.label} - {""} if marker else set()
    if set(current) == mine:
        return "us"
    return "both" if marker and marker.label in current else "hand"


def _fingerprint(issue: Issue, extra_comments: int = 0) -> str:
    return fingerprint(issue.title, issue.body, issue.comments + extra_comments)


# --- triage -------------------------------------------------------------------------------------

_DEPLOYMENT_WORDS = re.compile(
    r"\b(helm|kubernetes|k8s|kubectl|values\.ya?ml|self[- ]?hosted|on[- ]?prem(ise)?s?|"
    r"openshift|minikube|k3s|eks|gke|aks)\b",
    re.I,
)
_SLOW_WORDS = re.compile(
    r"\b(slow(ness|ly|er)?|sluggish|laggy|lags?|takes? (forever|ages)|latency|timing out|"
    r"time[sd]? ?out|hangs?|freez(es|ing)|performance)\b",
    re.I,
)
# What a complete deployment report holds, each with the words that show it is there.
DEPLOYMENT_DETAILS = (
    ("values", re.compile(r"```\s*ya?ml|values\.ya?ml\s*:?\s*\n\s*```", re.I),
     "your `values.yaml` (with passwords, keys and other secrets removed)"),
    ("guide", re.compile(r"https?://\S*(docs|guide|install)", re.I),
     "the installation guide you followed (a link is perfect)"),
    ("pods", re.compile(r"NAME\s+READY\s+STATUS", re.I),
     "the output of `kubectl get pods -A`"),
    ("logs", re.compile(r"kubectl\s+logs", re.I),
     "`kubectl logs <pod>` of any pod that is not Running and Ready"),
    ("chart", re.compile(r"(chart|helm)[^\n]{0,40}?\bv?\d+\.\d+\.\d+|\bCHART\s+APP VERSION", re.I),
     "the Helm chart version (`helm list -A` shows it)"),
)  # fmt: skip
_IMAGE = re.compile(r"!\[[^\]]*\]\(|<img\s|user-attachments/assets/", re.I)
_STATUS_PAGE = re.compile(r"system status", re.I)


def triage_kinds(issue: Issue, cfg: Settings, now: datetime) -> tuple[str, ...]:
    """Kinds of triage comment the issue's own text calls for (comments are checked later)."""
    if now - issue.created_at > timedelta(days=cfg.max_age_days):
        return ()  # asking months later helps no one
    text = f"{issue.title}\n{without_marker(issue.body)}"
    kinds = []
    if cfg.deployment and _DEPLOYMENT_WORDS.search(text) and missing_details(text):
        kinds.append(DEPLOYMENT)
    if cfg.slowness and _SLOW_WORDS.search(text) and not _has_status_screenshot(text):
        kinds.append(SLOWNESS)
    return tuple(kinds)


def missing_details(text: str) -> list[str]:
    """What a deployment report lacks, as the sentences that ask for it."""
    return [ask for _, pattern, ask in DEPLOYMENT_DETAILS if not pattern.search(text)]


def _has_status_screenshot(text: str) -> bool:
    return bool(_IMAGE.search(text) and _STATUS_PAGE.search(text))


def asked(comments: Iterable[Comment]) -> set[str]:
    """Triage kinds our comments already asked for (the hidden marker in each)."""
    return {kind for c in comments for kind in _TRIAGE.findall(c.body or "")}


def still_needed(
    assessment: Assessment, comments: Sequence[Comment], author: str
) -> tuple[str, ...]:
    """Triage kinds to ask for now: not asked before, and not answered in the author's comments."""
    done = asked(comments)
    theirs = "\n".join(c.body or "" for c in comments if c.user.lower() == author.lower())
    issue = assessment.issue
    text = f"{issue.title}\n{without_marker(issue.body)}\n{theirs}"
    out = []
    for kind in assessment.triage:
        if kind in done:
            continue
        if kind == DEPLOYMENT and not missing_details(text):
            continue
        if kind == SLOWNESS and _has_status_screenshot(text):
            continue
        out.append(kind)
    return tuple(out)


def greeting_name(login: str, name: str | None) -> str:
    """First name from the profile, else @login: "Hey Jane," as the support handbook asks."""
    first = (name or "").strip().split(" ")[0].strip(",")
    return first if first and not first.startswith("@") else f"@{login}"


def triage_comment(kinds: Sequence[str], who: str, text: str) -> str:
    """One comment asking for everything missing, with a hidden marker per kind asked."""
    parts = [f"Hey {who},", ""]
    if DEPLOYMENT in kinds:
        asks = missing_details(text)
        parts += [
            "Thanks for reporting this. So that we can look into your self-hosted deployment, "
            "could you share:",
            "",
            *[f"- {ask}" for ask in asks],
            "",
        ]
    if SLOWNESS in kinds:
        also = "Also, could" if DEPLOYMENT in kinds else "Thanks for letting us know. Could"
        parts += [
            f"{also} you send a screenshot of the **System Status** page? It shows where the "
            "time goes, which is usually the quickest way to the cause of slowness.",
            "",
        ]
    parts += ["Thank you!", ""] + [f"<!-- support-hero:triage {kind} -->" for kind in kinds]
    return "\n".join(parts)


# --- decisions and the plan ---------------------------------------------------------------------


@dataclass(frozen=True)
class Decision:
    """What one issue gets: its tier (None: no tier label), and the triage kinds to ask."""

    assessment: Assessment
    tier: str | None = None  # None for team members and accounts that are not people
    how: str = ""  # how the author was recognised, or why there is no tier
    rule_line: int = 0  # the rotation.yaml line of the tier rule that decided
    ask: tuple[str, ...] = ()
    greeting: str = ""  # "Jane" or "@login"
    details_text: str = ""  # title, body and the author's comments: what the asks are based on


@dataclass(frozen=True)
class SetLabels:
    """An issue's labels: `labels` all of them, `marker_label` the tier label our marker records
    ("" once ours is gone)."""

    labels: tuple[str, ...]
    marker_label: str


@dataclass(frozen=True)
class AskTriage:
    """A triage comment on an issue."""

    body: str


@dataclass(frozen=True)
class Write:
    """One write to make, in order; `issue` is None for a repository label (a LabelSpec)."""

    repo: str
    issue: Issue | None
    summary: str
    reason: str
    line: int
    data: SetLabels | AskTriage | LabelSpec

    @property
    def kind(self) -> str:
        """ "create-label", "labels" or "comment"."""
        return KINDS[type(self.data)]

    @property
    def updated_at(self) -> datetime | None:
        return self.issue.updated_at if self.issue is not None else None

    @property
    def key(self) -> tuple[str, int] | None:
        return (self.repo, self.issue.number) if self.issue is not None else None


KINDS: dict[type, str] = {LabelSpec: "create-label", SetLabels: "labels", AskTriage: "comment"}


def writes_for(repo: str, decision: Decision, cfg: Settings) -> list[Write]:
    """For one issue: the label write if its tier labels must change, then the comment."""
    a, out = decision.assessment, list[Write]()
    issue = a.issue
    if (new := _new_tier_labels(a, decision, cfg)) is not None:
        names, mine = new
        kept = [n for n in issue.labels if cfg.tier_label(n) is None]
        before = ", ".join(a.current) or "no tier label"
        summary = f"#{issue.number} @{issue.user}: {before} -> {', '.join(names) or 'none'}"
        line = decision.rule_line or cfg.lines.get("labels", 0)
        data = SetLabels(tuple(kept + names), mine)
        out.append(Write(repo, issue, summary, decision.how, line, data))
    if decision.ask:
        body = triage_comment(decision.ask, decision.greeting, decision.details_text)
        asks = " and ".join(_ASKS[k] for k in decision.ask)
        summary = f"#{issue.number} @{issue.user}: ask for {asks}"
        line = cfg.lines.get("triage", 0)
        out.append(Write(repo, issue, summary, "triage", line, AskTriage(body)))
    return out


_ASKS = {DEPLOYMENT: "deployment details", SLOWNESS: "a System Status screenshot"}


def _new_tier_labels(a: Assessment, d: Decision, cfg: Settings) -> tuple[list[str], str] | None:
    """(tier labels to have, the label our marker records), or None to leave them alone."""
    if a.skip or a.owner == "hand":
        return None
    if a.owner == "both" and a.marker:  # a person added theirs next to ours: theirs stands
        return [n for n in a.current if n != a.marker.label], a.marker.label
    if not a.needs_tier and not a.team:
        return None  # the tier was not looked up again, so it did not change: the label stays
    want = [cfg.labels[d.tier].name] if d.tier else []
    if set(want) == set(a.current):
        return None
    return want, (want[0] if want else "")


def labels_to_create(
    writes: Iterable[Write], existing: Iterable[str], cfg: Settings
) -> list[LabelSpec]:
    """The tier labels that label writes set and the repository lacks, in tier order."""
    used = {name for w in writes if isinstance(w.data, SetLabels) for name in w.data.labels}
    have = {name.lower() for name in existing}
    return [s for t in TIERS if (s := cfg.labels[t]).name in used and s.name.lower() not in have]


def create_label_write(repo: str, spec: LabelSpec, cfg: Settings) -> Write:
    summary = f"label '{spec.name}' (#{spec.color}, {spec.description})"
    return Write(repo, None, summary, "missing", cfg.lines.get("labels", 0), spec)


@dataclass(frozen=True)
class Budgeted:
    changes: tuple[Change, ...]
    deferred: tuple[Write, ...]


def budget(writes: Sequence[Write], limit: int, horizon: datetime | None) -> Budgeted:
    """The first `limit` writes as changes, each label write carrying our marker.

    A label write's `seen` is the updated_at of the issue of the next write (made or not):
    everything updated before it is handled once this write is made, so a run stopping there
    (budget spent, a failure) is resumed from it. The last write carries `horizon`: the newest
    update the run read, or where its lookups stopped.
    """
    made, deferred = writes[:limit], tuple(writes[limit:])
    changes = []
    for i, w in enumerate(made):
        nxt = writes[i + 1].updated_at if i + 1 < len(writes) else None
        changes.append(_change(w, nxt or horizon, writes))
    return Budgeted(tuple(changes), deferred)


def _change(w: Write, seen: datetime | None, writes: Sequence[Write]) -> Change:
    data: LabelCreate | IssueLabels | IssueComment
    match w.data, w.issue:
        case LabelSpec() as spec, None:
            data = LabelCreate(w.repo, spec.name, spec.color, spec.description)
        case SetLabels() as labels, issue if issue is not None:
            # Count our comments on it this run, made or deferred: a deferred one leaves the
            # fingerprint unequal, so the next run looks at the issue again.
            ours = sum(1 for x in writes if x.kind == "comment" and x.key == w.key)
            marker = Marker(
                labels.marker_label, seen or issue.updated_at, _fingerprint(issue, ours)
            )
            body = with_marker(issue.body, marker)
            data = IssueLabels(w.repo, issue.number, issue.updated_at, labels.labels, body)
        case AskTriage() as ask, issue if issue is not None:
            data = IssueComment(ask.body, w.repo, issue.number, issue.updated_at)
        case other:
            raise TypeError(f"not a label write: {other!r}")
    action = {"create-label": "create", "labels": "label", "comment": "comment"}[w.kind]
    return Change(action, w.repo, w.summary, w.reason, w.line, data)
