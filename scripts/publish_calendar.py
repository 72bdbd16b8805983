"""Publish the rotation as calendar feeds (a feed per person and per schedule) and a static site.

Pure: no token, no network. It reads rotation.yaml, and the feeds a previous build left in
--out (so that a shift that changes hands keeps its UID and gets a higher SEQUENCE), and writes
calendar/<name>.ics, index.html and people/<handle>.html there.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path

from scripts import cli
from scripts.calendar import events, ics, site
from scripts.markup.github_text import escape
from scripts.rotation import schedule

SUBDIRS = ("calendar", "people")  # what the job owns in --out (with index.html)


def main(argv: list[str] | None = None) -> int:
    return cli.guard(parser(), argv, run)


def parser() -> argparse.ArgumentParser:
    p = cli.parser(__doc__)
    p.add_argument("--out", required=True, metavar="DIR", help="where to write the site")
    p.add_argument(
        "--weeks",
        type=cli.count(1, 104),
        default=events.DEFAULT_WEEKS,
        help=f"weeks to publish from the shift holding now (default {events.DEFAULT_WEEKS})",
    )
    p.add_argument(
        "--base-url",
        default="",
        metavar="URL",
        help="the site's public address (GitHub Pages gives it): feeds linked in full, and "
        "webcal:// links to subscribe",
    )
    p.add_argument(
        "--commit",
        default=os.environ.get("GITHUB_SHA", ""),
        help="the commit shown as the source (default: GITHUB_SHA)",
    )
    return p


def run(args: argparse.Namespace) -> int:
    rot, _warnings = cli.load(args.config)  # a bad rotation.yaml stops here: nothing written
    now = cli.now_or(args)
    out = Path(args.out)
    span = events.horizon(rot, now, args.weeks)
    feeds = events.feeds(rot, span, ics.previous(_old_feeds(out)))
    build = site.Build(now, args.commit, args.base_url)
    files: dict[str, bytes] = {}
    for handle, mine in feeds.people.items():
        name = f"{rot.people[handle].name} · {events.title(rot)}"
        files[f"calendar/{handle}.ics"] = ics.feed(name, mine, rot.timezone, now)
    for key, theirs in feeds.schedules.items():
        name = f"{rot.schedule_label(key)} · {events.title(rot)}"
        files[f"calendar/{key}.ics"] = ics.feed(name, theirs, rot.timezone, now)
    shifts = schedule.shifts(rot, span.start, span.end)
    for path, html in site.pages(rot, span, shifts, feeds, build).items():
        files[path] = html.encode("utf-8")
    write_site(out, files)
    return report(out, files, args.format)


def _old_feeds(out: Path) -> list[bytes]:
    """The feeds a previous build left in `out`, if any."""
    folder = out / "calendar"
    return [p.read_bytes() for p in sorted(folder.glob("*.ics"))] if folder.is_dir() else []


def write_site(out: Path, files: Mapping[str, bytes]) -> None:
    """Each file whole (written beside it, then renamed over it: a reader or a run cut off
    half-way never sees half a file); what an earlier build wrote and this one does not (a
    person who left) is removed, so it is not published again."""
    for sub in SUBDIRS:
        (out / sub).mkdir(parents=True, exist_ok=True)
    for path, data in files.items():
        target = out / path
        with tempfile.NamedTemporaryFile(dir=target.parent, delete=False, suffix=".tmp") as f:
            f.write(data)
        os.replace(f.name, target)
    for sub in SUBDIRS:
        for old in (out / sub).iterdir():
            if f"{sub}/{old.name}" not in files and old.suffix in (".ics", ".html", ".tmp"):
                old.unlink()


def report(out: Path, files: Mapping[str, bytes], fmt: str) -> int:
    feeds = sorted(p for p in files if p.endswith(".ics"))
    pages = sorted(p for p in files if p.endswith(".html"))
    if fmt == "json":
        print(json.dumps({"out": str(out), "feeds": feeds, "pages": pages}, indent=2))
    else:
        print(f"Wrote {len(feeds)} calendar feeds and {len(pages)} pages to {out}/")
        print(f"Open {out / 'index.html'} to look at it.")
    cli.write_summary(
        f"### Calendar\n\nBuilt {len(feeds)} calendar feeds and {len(pages)} pages in "
        f"{escape(str(out))}."
    )
    return cli.EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
