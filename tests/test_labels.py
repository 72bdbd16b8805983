"""Label plans, triage decisions, markers, the window and the budget: table-driven, plain data."""

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

import pytest

from scripts.tiers import labels
from scripts.tiers.labels import DEPLOYMENT, SLOWNESS, Marker

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
CFG = labels.settings({"repos": ["o/r"]}, {"labels": 40, "triage": 50})
FOCUS, SUB, COMM = "tier: focus", "tier: subscriber", "tier: community"
TEAM = frozenset({"alice-a"})


@dataclass(frozen=True)
class Issue:
    number: int = 1
    title: str = "Export fails"
    body: str | None = "It fails."
    labels: tuple = ()
    user: str = "jane"
    user_type: str = "User"
    author_association: str = "NONE"
    comments: int = 0
    state: str = "open"
    is_pull_request: bool = False
    created_at: datetime = NOW - timedelta(hours=1)
    updated_at: datetime = NOW - timedelta(minutes=5)


@dataclass(frozen=True)
class Comment:
    user: str
    body: str


def at(minutes: int) -> datetime:
    return NOW + timedelta(minutes=minutes)


def marked(issue: Issue, label: str, seen=NOW, fp: str | None = None) -> Issue:
    """The issue as we left it: `label` set, our marker in the body."""
    fp = fp or labels.fingerprint(issue.title, issue.body, issue.comments)
    return replace(issue, body=labels.with_marker(issue.body, Marker(label, seen, fp)))


# --- markers -------------------------------------------------------------------------------------


@pytest.mark.parametrize("body", ["It fails.", "", None, "Line\n\n<!-- a comment of theirs -->"])
def test_marker_round_trip_keeps_the_text(body):
    marker = Marker(FOCUS, NOW, "abc")
    written = labels.with_marker(body, marker)
    assert labels.read_marker(written) == marker
    assert labels.without_marker(written) == (body or "").rstrip()
    again = labels.with_marker(written, Marker("", NOW, "def"))
    assert again.count("support-hero") == 1  # replaced, not added


@pytest.mark.parametrize(
    "body",
    [
        "no marker",
        '<!-- support-hero {"label": "x"} -->',  # fields missing
        "<!-- support-hero {not json} -->",
        '<!-- support-hero {"label": "x", "seen": "yesterday", "fp": "1"} -->',
    ],
)
def test_unreadable_markers_count_as_absent(body):
    assert labels.read_marker(body) is None


def test_a_marker_the_author_wrote_below_is_still_ours_and_moves_to_the_end():
    body = labels.with_marker("Boom", Marker(FOCUS, NOW, "abc")) + "\n\nPS: on Safari only"
    assert labels.read_marker(body) == Marker(FOCUS, NOW, "abc")
    moved = labels.with_marker(body, Marker(FOCUS, NOW, "def"))
    assert moved.startswith("Boom\n\nPS: on Safari only\n\n<!-- support-hero {")


# --- the window ----------------------------------------------------------------------------------


def test_scan_stops_below_the_newest_seen_and_caps_forged_ones():
    issues = [
        Issue(5, updated_at=at(50)),
        marked(Issue(4, updated_at=at(40)), FOCUS, seen=at(30)),
        Issue(3, updated_at=at(30)),  # equal to `seen`: kept (re-reading is harmless)
        Issue(2, updated_at=at(20)),  # older than `seen`: the scan stops here
        Issue(1, updated_at=at(10)),
    ]
    window = labels.scan(iter(issues))
    assert [i.number for i in window.issues] == [5, 4, 3]
    assert (window.watermark, window.newest) == (at(30), at(50))
    forged = [marked(Issue(9, updated_at=at(40)), FOCUS, seen=at(999)), Issue(8, updated_at=at(39))]
    assert labels.scan(iter(forged)).watermark == at(40)  # capped at its own update


def test_scan_without_markers_or_with_full_reads_everything():
    issues = [Issue(3, updated_at=at(30)), marked(Issue(2, updated_at=at(20)), FOCUS, at(20))]
    issues.append(Issue(1, updated_at=at(10)))
    assert len(labels.scan(iter(issues)).issues) == 2
    assert len(labels.scan(iter(issues), full=True).issues) == 3
    assert labels.scan(iter(issues[:1])).watermark is None
    assert labels.scan(iter([])) == labels.Window((), None, None)


def test_scan_skips_an_issue_listed_twice_and_processing_is_oldest_first():
    issues = [Issue(2, updated_at=at(20)), Issue(1, updated_at=at(10)), Issue(2, updated_at=at(20))]
    issues += [Issue(3, updated_at=at(5), is_pull_request=True), Issue(4, state="closed")]
    window = labels.scan(iter(issues))
    assert [i.number for i in window.issues] == [2, 1, 3, 4]
    assert [i.number for i in labels.to_process(window)] == [1, 2]


# --- assessing an issue --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("issue", "owner", "skip", "needs_tier"),
    [
        (Issue(), "us", "", True),  # new: ours to label
        (Issue(labels=(FOCUS, "bug")), "hand", "tier label set by hand", False),
        # ours, edited since: the tier depends on the author, not the issue (--full re-checks)
        (marked(Issue(labels=(FOCUS,)), FOCUS, fp="old"), "us", "labelled already", False),
        (marked(Issue(labels=(FOCUS,)), FOCUS), "us", "unchanged since our last write", False),
        (marked(Issue(labels=(SUB,)), FOCUS), "hand", "tier label set by hand", False),
        (marked(Issue(labels=()), FOCUS), "hand", "tier label set by hand", False),  # removed
        (marked(Issue(labels=(FOCUS, SUB)), FOCUS), "both", "", False),
        (marked(Issue(labels=()), "", fp="old"), "us", "", True),  # we had removed ours
        (Issue(user="Alice-A"), "us", "team member", False),
        (Issue(author_association="COLLABORATOR"), "us", "team member", False),
        (Issue(user="dependabot[bot]", user_type="Bot"), "us", "not a person", False),
        (marked(Issue(user="alice-a", labels=(COMM,)), COMM, fp="x"), "us", "", False),  # ours goes
    ],
)
def test_assess(issue, owner, skip, needs_tier):
    a = labels.assess(issue, CFG, TEAM, NOW)
    assert (a.owner, a.skip, a.needs_tier) == (owner, skip, needs_tier)


def test_full_checks_the_tier_of_our_labelled_issues_again():
    for issue in (
        marked(Issue(labels=(FOCUS,)), FOCUS),
        marked(Issue(labels=(FOCUS,)), FOCUS, fp="x"),
    ):
        assert labels.assess(issue, CFG, TEAM, NOW, full=True).needs_tier


# --- triage --------------------------------------------------------------------------------------

COMPLETE = """Helm install on EKS fails, followed https://docs.kestrel.example/install/helm
```yaml
replicaCount: 2
```
NAME READY STATUS RESTARTS AGE
api-0 0/1 CrashLoopBackOff 5 3m
kubectl logs api-0 says: boom
chart kestrel-1.4.2"""


@pytest.mark.parametrize(
    ("title", "body", "kinds"),
    [
        ("Export fails", "Clicking export does nothing.", ()),
        ("Helm install fails", "Pods crash.", (DEPLOYMENT,)),
        ("Install broken", "my values.yaml sets replicaCount: 2", (DEPLOYMENT,)),
        ("Self-hosted: login loop", "", (DEPLOYMENT,)),
        ("Install broken", COMPLETE, ()),  # nothing missing
        ("Dashboards are slow", "Takes forever since Monday", (SLOWNESS,)),
        ("Dashboards are slow", "System Status: ![shot](https://x.example/s.png)", ()),
        ("Slow queries on our kubernetes install", "", (DEPLOYMENT, SLOWNESS)),
        ("Helmet detection", "the helmet model is wrong", ()),  # whole words only
    ],
)
def test_triage_kinds(title, body, kinds):
    assert labels.triage_kinds(Issue(title=title, body=body), CFG, NOW) == kinds


def test_triage_respects_settings_and_age():
    helm = Issue(title="Helm install fails")
    assert labels.triage_kinds(helm, replace(CFG, deployment=False), NOW) == ()
    old = replace(helm, created_at=NOW - timedelta(days=15))
    assert labels.triage_kinds(old, CFG, NOW) == ()
    assert labels.assess(replace(helm, user="alice-a"), CFG, TEAM, NOW).triage == ()


@pytest.mark.parametrize(
    ("comments", "still"),
    [
        ([], (DEPLOYMENT,)),
        ([Comment("bot", "Hey!\n<!-- support-hero:triage deployment -->")], ()),  # asked once
        ([Comment("bot", "<!-- support-hero:triage slowness -->")], (DEPLOYMENT,)),
        ([Comment("jane", COMPLETE)], ()),  # the author gave the details in a comment
        ([Comment("someone-else", COMPLETE)], (DEPLOYMENT,)),
    ],
)
def test_still_needed(comments, still):
    a = labels.assess(Issue(title="Helm install fails"), CFG, TEAM, NOW)
    assert labels.still_needed(a, comments, "Jane") == still


def test_triage_comment_greets_asks_for_what_is_missing_and_is_marked():
    text = "Helm install fails\nchart kestrel-1.4.2 and NAME READY STATUS ..."
    body = labels.triage_comment((DEPLOYMENT, SLOWNESS), "Jane", text)
    assert body.startswith("Hey Jane,\n")
    assert "values.yaml" in body and "kubectl logs" in body and "guide" in body
    assert "kubectl get pods -A" not in body and "chart version" not in body  # given already
    assert "System Status" in body
    assert labels.asked([Comment("bot", body)]) == {DEPLOYMENT, SLOWNESS}


@pytest.mark.parametrize(
    ("name", "expected"),
    [("Jane Doe", "Jane"), (None, "@jdoe"), ("", "@jdoe"), ("  ", "@jdoe"), ("Dr, Who", "Dr")],
)
def test_greeting_name(name, expected):
    assert labels.greeting_name("jdoe", name) == expected


# --- writes --------------------------------------------------------------------------------------


def _decide(issue, tier=None, ask=(), how="GitHub login", full=False):
    a = labels.assess(issue, CFG, TEAM, NOW, full)
    return labels.Decision(a, tier, how, 0, ask, "Jane", issue.title)


@pytest.mark.parametrize(
    ("issue", "tier", "full", "new_labels", "marker_label"),
    [
        (Issue(labels=("bug",)), "focus", False, ["bug", FOCUS], FOCUS),
        (Issue(), "community", False, [COMM], COMM),
        (marked(Issue(labels=("bug", COMM)), COMM), "focus", True, ["bug", FOCUS], FOCUS),
        (marked(Issue(labels=(FOCUS,)), FOCUS), "focus", True, None, None),  # no change
        (Issue(labels=(SUB,)), "focus", True, None, None),  # set by hand: left alone
        (marked(Issue(labels=(FOCUS, SUB)), FOCUS), None, False, [SUB], FOCUS),  # theirs stays
        (marked(Issue(user="alice-a", labels=(COMM,)), COMM, fp="x"), None, False, [], ""),
    ],
)
def test_label_writes(issue, tier, full, new_labels, marker_label):
    decision = _decide(issue, tier, full=full)
    writes = [w for w in labels.writes_for("o/r", decision, CFG) if w.kind == "labels"]
    assert [list(w.data.labels) for w in writes] == ([new_labels] if new_labels is not None else [])
    assert [w.data.marker_label for w in writes] == ([marker_label] if writes else [])


def test_labels_to_create_only_the_missing_tier_labels_in_tier_order():
    writes = labels.writes_for("o/r", _decide(Issue(2), "community"), CFG)
    writes += labels.writes_for("o/r", _decide(Issue(1), "focus"), CFG)
    assert [s.name for s in labels.labels_to_create(writes, ["bug", "Tier: Community"], CFG)] == [
        FOCUS
    ]
    assert labels.create_label_write("o/r", CFG.labels["focus"], CFG).line == 40


def test_budget_defers_the_rest_and_each_marker_resumes_at_the_next_write():
    one, two, three = (Issue(n, updated_at=at(n)) for n in (1, 2, 3))
    writes = labels.writes_for("o/r", _decide(one, "focus"), CFG)
    writes += labels.writes_for("o/r", _decide(two, "focus", ask=(SLOWNESS,)), CFG)
    writes += labels.writes_for("o/r", _decide(three, "community"), CFG)
    assert [w.kind for w in writes] == ["labels", "labels", "comment", "labels"]
    run = labels.budget(writes, 2, horizon=at(60))
    assert [c.data.number for c in run.changes] == [1, 2]
    assert [w.kind for w in run.deferred] == ["comment", "labels"]
    seen = [labels.read_marker(c.data.body).seen for c in run.changes]
    assert seen == [at(2), at(2)]  # #2's comment is deferred: the next run starts at #2
    # #2's fingerprint counts the deferred comment: unequal next run, so #2 is looked at again.
    fp = labels.read_marker(run.changes[1].data.body).fingerprint
    assert fp == labels.fingerprint(two.title, two.body, 1) != labels.fingerprint(two.title, "", 0)
    whole = labels.budget(writes, 10, horizon=at(60))
    assert labels.read_marker(whole.changes[-1].data.body).seen == at(60)
    assert not whole.deferred


def test_changes_name_no_company_and_carry_the_rule_line():
    decision = labels.Decision(labels.assess(Issue(7), CFG, TEAM, NOW), "focus", "GitHub login", 12)
    (change,) = labels.budget(labels.writes_for("o/r", decision, CFG), 5, NOW).changes
    assert (change.action, change.line, change.reason) == ("label", 12, "GitHub login")
    assert change.summary == "#7 @jane: no tier label -> tier: focus"


def test_settings_override_label_names_and_colours():
    cfg = labels.settings({"labels": {"focus": {"name": "prio: focus", "color": "000000"}}})
    assert cfg.labels["focus"].name == "prio: focus"
    assert cfg.labels["focus"].description == labels.DEFAULT_LABELS["focus"].description
    assert cfg.tier_names["prio: focus"] == "focus"
