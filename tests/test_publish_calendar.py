"""publish_calendar end to end: the feeds parsed back by two independent iCalendar parsers and
compared with the engine, UIDs and SEQUENCE across builds, and the page in a real browser."""

from __future__ import annotations

import html.parser
import io
import json
import re
import shutil
import socketserver
import subprocess
import threading
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import icalendar
import pytest
import vobject
from PIL import Image

from scripts import check_rotation, publish_calendar
from scripts.calendar import events
from scripts.rotation import load as rotation
from scripts.rotation import schedule
from scripts.rotation.model import HERO
from tests import rotations
from tests.processes import ROOT

NOW = datetime(2026, 12, 14, 5, 30, tzinfo=UTC)  # before Monday's 09:00 handoff (GMT)
EXAMPLE = ROOT / "rotation.yaml"
EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")


def build(tmp_path: Path, config: Path = EXAMPLE, now: datetime = NOW, *more: str) -> Path:
    out = tmp_path / "site"
    args = ["--config", str(config), "--now", now.isoformat(), "--out", str(out), *more]
    assert publish_calendar.main(args) == 0
    return out


def feed(out: Path, name: str) -> icalendar.Calendar:
    return icalendar.Calendar.from_ical((out / "calendar" / f"{name}.ics").read_bytes())


def shifts_of(rot, key: str, now: datetime = NOW):
    span = events.horizon(rot, now)
    return [s for s in schedule.shifts(rot, span.start, span.end) if s.schedule == key]


# --- the feeds are the engine's shifts, read back two ways -------------------------------------


def test_every_schedule_feed_holds_the_engines_shifts_and_nothing_else(tmp_path, capsys):
    out = build(tmp_path)
    rot = rotation.load(EXAMPLE)[0]
    assert "Wrote 14 calendar feeds and 11 pages" in capsys.readouterr().out
    for key in rot.schedules():
        want = [(s.start, s.end, rot.people[s.person].name) for s in shifts_of(rot, key)]
        events_ = feed(out, key).walk("VEVENT")
        got = [(e.decoded("dtstart"), e.decoded("dtend"), _who(str(e["summary"]))) for e in events_]
        assert got == want, key  # icalendar
        text = (out / "calendar" / f"{key}.ics").read_text()
        again = [(e.dtstart.value, e.dtend.value, _who(e.summary.value))
                 for e in vobject.readOne(text).vevent_list]  # fmt: skip
        assert again == want, key  # vobject, an independent parser
        assert len({e["uid"] for e in events_}) == len(want)


def test_a_calendar_shows_exactly_what_check_rotation_shows(tmp_path, capsys):
    out = build(tmp_path)
    capsys.readouterr()
    args = ["--config", str(EXAMPLE), "--now", NOW.isoformat(), "--weeks", "26", "--format", "json"]
    assert check_rotation.main(args) == 0
    shown = json.loads(capsys.readouterr().out)["shifts"]
    rot = rotation.load(EXAMPLE)[0]
    want = sorted((s["schedule"], datetime.fromisoformat(s["start"]), s["person"]) for s in shown)
    got = sorted(
        (key, e.decoded("dtstart"), _handle(rot, _who(str(e["summary"]))))
        for key in rot.schedules()
        for e in feed(out, key).walk("VEVENT")
    )
    assert got == want and len(got) == 116


def _handle(rot, name: str) -> str:
    return next(h for h, p in rot.people.items() if p.name == name)


def _who(summary: str) -> str:
    return summary.split(": ", 1)[1]


def test_instants_are_exact_across_the_dst_change_and_written_in_the_rotations_zone(tmp_path):
    out = build(tmp_path)
    hero = feed(out, "support-hero").walk("VEVENT")
    starts = [e.decoded("dtstart") for e in hero]
    # 09:00 London on both sides of 28 March 2027: 09:00 UTC in winter, 08:00 UTC in summer
    winter = next(s for s in starts if s.date() == date(2027, 3, 22))
    summer = next(s for s in starts if s.date() == date(2027, 3, 29))
    assert (winter.astimezone(UTC).hour, summer.astimezone(UTC).hour) == (9, 8)
    assert all(str(s.tzinfo) == "Europe/London" for s in starts)
    text = (out / "calendar" / "support-hero.ics").read_text()
    assert "DTSTART;TZID=Europe/London:20270329T090000" in text
    assert "BEGIN:VTIMEZONE" in text and "TZID:Europe/London" in text


def test_a_persons_feed_has_their_shifts_on_every_schedule_and_time_off_all_day(tmp_path):
    config = tmp_path / "rotation.yaml"
    config.write_text(EXAMPLE.read_text() + "\ncalendar:\n  title: Kestrel support\n")
    out = build(tmp_path, config)
    rot = rotation.load(config)[0]
    for handle in rot.people:
        span = events.horizon(rot, NOW)
        want = sorted((s.start, s.end) for s in schedule.shifts(rot, span.start, span.end)
                      if s.person == handle)  # fmt: skip
        cal = feed(out, handle)
        timed = [e for e in cal.walk("VEVENT") if isinstance(e.decoded("dtstart"), datetime)]
        assert sorted((e.decoded("dtstart"), e.decoded("dtend")) for e in timed) == want, handle
        assert str(cal["x-wr-calname"]) == f"{rot.people[handle].name} · Kestrel support"
    off = rot.time_off[0]
    (event,) = [e for e in feed(out, off.person).walk("VEVENT") if "Time off" in e["summary"]]
    assert (event.decoded("dtstart"), event.decoded("dtend")) == (
        off.first,
        off.last + timedelta(1),
    )


# --- UIDs and SEQUENCE across builds -----------------------------------------------------------


def uids(out: Path, name: str) -> dict[str, tuple[int, str]]:
    return {str(e["uid"]): (int(e["sequence"]), str(e["summary"]))
            for e in feed(out, name).walk("VEVENT")}  # fmt: skip


def test_a_rebuild_keeps_every_uid_and_sequence(tmp_path):
    first = uids(build(tmp_path), "support-hero")
    again = uids(build(tmp_path), "support-hero")  # the same DIR: it reads the last build
    assert again == first and {seq for seq, _ in first.values()} == {0}
    elsewhere = uids(build(tmp_path / "fresh"), "support-hero")
    assert set(elsewhere) == set(first)  # UIDs come from the shifts, not from the last build


def test_a_shift_that_changes_hands_keeps_its_uid_with_a_higher_sequence(tmp_path):
    config = tmp_path / "rotation.yaml"
    config.write_text(rotations.text())
    out = build(tmp_path, config)
    before = uids(out, HERO)
    rot = rotation.load(config)[0]
    a, b = [s for s in shifts_of(rot, HERO) if s.start > NOW][2:4]  # two later weeks
    day_a, day_b = (s.start.astimezone(rot.zone).date() for s in (a, b))
    config.write_text(rotations.text() + f"swaps:\n  - people: [{a.person}, {b.person}]\n"
                      f"    dates: [{day_a}, {day_b}]\n")  # fmt: skip
    after = uids(build(tmp_path, config), HERO)
    assert set(after) == set(before)
    changed = {u for u in after if after[u][1] != before[u][1]}
    assert len(changed) == 2 and all(after[u][0] == 1 for u in changed)
    assert all(after[u][0] == 0 for u in set(after) - changed)
    week_a = next(u for u in after if u.startswith(f"{HERO}-{a.start:%Y%m%dT%H%M%SZ}-"))
    assert week_a not in uids(out, a.person) and week_a in uids(out, b.person)  # moved: gone
    assert {u: s for u, s in uids(build(tmp_path, config), HERO).items()} == after  # stays 1


# --- the files: no email, nothing for a bad config, hostile names ------------------------------


def test_no_email_address_appears_in_any_file(tmp_path):
    out = build(tmp_path)
    files = [p for p in out.rglob("*") if p.is_file()]
    assert len(files) == 25
    assert [p.name for p in files if EMAIL.search(p.read_text())] == []


def test_a_bad_config_writes_nothing_and_exits_2(tmp_path, capsys):
    config = tmp_path / "rotation.yaml"
    config.write_text(rotations.text().replace("team: core", "team: nope", 1))
    out = tmp_path / "site"
    code = publish_calendar.main(["--config", str(config), "--out", str(out)])
    assert code == 2 and "is not a team" in capsys.readouterr().err
    assert not out.exists()


def test_names_from_rotation_yaml_are_escaped_in_pages_and_feeds(tmp_path):
    config = tmp_path / "rotation.yaml"
    hostile = "<script>alert(1)</script>, Bob"
    config.write_text(EXAMPLE.read_text().replace("name: Bob Brennan", f'name: "{hostile}"', 1))
    out = build(tmp_path, config)
    page = (out / "index.html").read_text() + (out / "people" / "bob.html").read_text()
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;, Bob" in page
    text = (out / "calendar" / "bob.ics").read_text()
    assert r"<script>alert(1)</script>\, Bob" in text  # RFC 5545 escapes the comma
    (event,) = feed(out, "bob").walk("VEVENT")[:1]
    assert str(event["summary"]).endswith(hostile)


def test_stale_files_of_a_person_who_left_are_removed(tmp_path):
    out = build(tmp_path)
    (out / "calendar" / "gone.ics").write_bytes(b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n")
    (out / "people" / "gone.html").write_text("old")
    build(tmp_path)
    assert (
        not (out / "calendar" / "gone.ics").exists() and not (out / "people" / "gone.html").exists()
    )


# --- the page in a real browser ----------------------------------------------------------------

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
needs_browser = pytest.mark.skipif(
    CHROMIUM is None,
    reason="no chromium: `make test` installs Debian's package where it can (root and apt-get)",
)
# Chromium's own background traffic, kept to a minimum; what is left is measured on a blank page
QUIET = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-sync",
         "--disable-background-networking", "--disable-component-update", "--disable-extensions",
         "--disable-default-apps", "--disable-client-side-phishing-detection", "--no-pings",
         "--disable-breakpad", "--disable-domain-reliability", "--metrics-recording-only",
         "--disable-features=NetworkTimeServiceQuerying,OptimizationHints,MediaRouter,Translate",
         "--hide-scrollbars", "--virtual-time-budget=3000"]  # fmt: skip


class _Proxy(socketserver.ThreadingTCPServer):
    """Every request the browser makes that is not to a file: its first line, then a 403."""

    daemon_threads = True

    def __init__(self) -> None:
        self.seen: list[str] = []
        proxy = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                proxy.seen.append(self.rfile.readline().decode(errors="replace").strip())
                self.wfile.write(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")

        super().__init__(("127.0.0.1", 0), Handler)


def browse(page: Path, profile: Path, *action: str) -> tuple[str, set[str]]:
    """Chromium on `page` through a recording proxy: its output, and the hosts it asked for."""
    with _Proxy() as proxy:
        threading.Thread(target=proxy.serve_forever, daemon=True).start()
        port = proxy.server_address[1]
        done = subprocess.run(
            [CHROMIUM, *QUIET, f"--user-data-dir={profile}", f"--proxy-server=127.0.0.1:{port}",
             "--proxy-bypass-list=<-loopback>", *action, page.as_uri()],
            capture_output=True, text=True, timeout=90, check=False,
        )  # fmt: skip
        proxy.shutdown()
    assert done.returncode == 0, done.stderr[-2000:]
    hosts = {re.split(r"[ /:]", line.split(" ", 1)[1].removeprefix("http://"))[0]
             for line in proxy.seen if " " in line}  # fmt: skip
    return done.stdout, hosts


class _Rows(html.parser.HTMLParser):
    """The text of the table row marked aria-current (the week holding now)."""

    def __init__(self) -> None:
        super().__init__()
        self.depth, self.text = 0, []

    def handle_starttag(self, tag, attrs):
        if tag == "tr" and ("aria-current", "true") in attrs:
            self.depth = 1
        elif self.depth and tag == "tr":
            self.depth += 1

    def handle_endtag(self, tag):
        if self.depth and tag == "tr":
            self.depth -= 1

    def handle_data(self, data):
        if self.depth:
            self.text.append(data)


@needs_browser
def test_the_page_renders_shows_the_hero_now_and_fetches_nothing(tmp_path):
    out = build(tmp_path)
    rot = rotation.load(EXAMPLE)[0]
    hero = rot.people[schedule.on_call(rot, HERO, NOW).person].name
    blank = tmp_path / "blank.html"
    blank.write_text("<!doctype html><title>blank</title>")
    _, background = browse(blank, tmp_path / "p0", "--dump-dom")  # what Chromium asks by itself
    dom, hosts = browse(out / "index.html", tmp_path / "p1", "--dump-dom")
    rows = _Rows()
    rows.feed(dom)
    now_row = " ".join(" ".join(rows.text).split())
    assert hero in now_row and "(now)" not in now_row  # "(now)" is CSS, the name is text
    assert hosts - background == set(), hosts
    shot = tmp_path / "shot.png"
    browse(out / "index.html", tmp_path / "p2", f"--screenshot={shot}", "--window-size=1024,1400")
    image = Image.open(io.BytesIO(shot.read_bytes())).convert("RGB")
    colours = image.getcolors(maxcolors=1 << 16) or []
    dark = sum(n for n, (r, g, b) in colours if r + g + b < 200)
    assert len(colours) > 50 and dark > 2000, (len(colours), dark)  # text drawn, not blank


@needs_browser
def test_the_browser_check_sees_a_page_that_fetches(tmp_path):
    """The check above can fail: an image from elsewhere is a host the proxy records."""
    page = tmp_path / "fetches.html"
    page.write_text('<!doctype html><img src="https://cdn.example.net/x.png" alt="">')
    blank = tmp_path / "blank.html"
    blank.write_text("<!doctype html><title>blank</title>")
    _, background = browse(blank, tmp_path / "p0", "--dump-dom")
    _, hosts = browse(page, tmp_path / "p1", "--dump-dom")
    assert hosts - background == {"cdn.example.net"}
