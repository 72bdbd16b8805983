"""A swap request shown: the shift, who could take it and why each ranks there, the entry to add."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from scripts.markup.github_text import escape
from scripts.rotation.model import HERO, Rotation
from scripts.swaps import edit
from scripts.swaps.candidates import Candidate, Span, describe, rank_words


def entry(asker: str, c: Candidate, span: Span, reason: str) -> dict[str, Any]:
    """The `swaps:` entry that makes the swap with `c`, as rotation.yaml writes it."""
    assert c.give_back is not None
    data: dict[str, Any] = {
        "people": [asker, c.person],
        "days" if span.single_day else "dates": [str(span.day), str(c.give_back.day)],
    }
    if span.schedule != HERO:
        data["schedule"] = span.schedule
    if reason:
        data["reason"] = reason
    return data


def text(rot: Rotation, asker: str, span: Span, found: Sequence[Candidate], reason: str) -> str:
    can = [c for c in found if c.can]
    lines = [f"{asker}'s {describe(rot, span)}", ""]
    if can:
        lines.append("Who could take it, best first:")
        for n, c in enumerate(can, 1):
            assert c.give_back is not None
            lines.append(
                f"  {n}. {c.person}: {asker} covers their {describe(rot, c.give_back)} in return "
                f"({rank_words(c, span.schedule)})"
            )
    else:
        lines.append("Nobody on the rotation can take it as things stand.")
    cannot = [c for c in found if not c.can]
    if cannot:
        lines += ["", "Who cannot, and why:"]
        lines += [f"  {c.person}: {'; '.join(c.reasons)}" for c in cannot]
    if can:
        lines += ["", f"The swap with {can[0].person}, for the swaps: list of {rot.file}:", ""]
        lines += edit.block(entry(asker, can[0], span, reason), 2)
    return "\n".join(lines)


def markdown(rot: Rotation, asker: str, span: Span, found: Sequence[Candidate], reason: str) -> str:
    """The same for the job summary; names escaped (rotation.yaml comes from a pull request)."""
    head, *rest = text(rot, asker, span, found, reason).splitlines()
    lines = [f"- {escape(x.strip())}" if x.startswith("  ") else escape(x) for x in rest]
    return "\n".join([f"### Swap request: {escape(head)}", *lines])


def as_json(asker: str, span: Span, found: Sequence[Candidate]) -> dict[str, Any]:
    def when(s: Span | None) -> dict[str, Any] | None:
        if s is None:
            return None
        return {"schedule": s.schedule, "day": str(s.day), "start": s.start.isoformat(),
                "end": s.end.isoformat(), "single_day": s.single_day}  # fmt: skip

    return {
        "person": asker,
        "shift": when(span),
        "candidates": [
            {
                "person": c.person,
                "can": c.can,
                "gives_back": when(c.give_back),
                "load": c.load,
                "reasons": list(c.reasons),
            }
            for c in found
        ],
    }
