"""Block Kit blocks that stay within Slack's limits, built with slack_sdk.models.blocks.

Slack refuses a whole message over a limit (`invalid_blocks`): at most 50 blocks, a section's
text at most 3,000 characters, a header's 150, a context block 10 elements (specs/README.md,
docs.slack.dev/reference/block-kit/blocks). slack_sdk's models raise on a text over its limit,
so everything here is cut to fit first: long lists become several sections, and what still
does not fit ends in "…and N more".
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from slack_sdk.models.blocks import (
    ContextBlock,
    HeaderBlock,
    MarkdownTextObject,
    PlainTextObject,
    SectionBlock,
)

MAX_BLOCKS = 50
SECTION_CHARS = 3000
HEADER_CHARS = 150
CONTEXT_ELEMENTS = 10
TEXT_CHARS = 12000  # a message's fallback text; Slack refuses more than 40,000 (msg_too_long)
_MORE_ROOM = 40  # kept free in a list's last section for its "…and N more" line


def clip(text: str, limit: int) -> str:
    """`text` cut to `limit` characters with an ellipsis, at a space where one is near."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    return (cut[:space] if space > limit // 2 else cut) + "…"


def _mrkdwn(text: str) -> MarkdownTextObject:
    # verbatim: Slack turns no bare URL, #channel or @name into a link or mention by itself
    return MarkdownTextObject(text=text, verbatim=True)


def section(text: str, block_id: str | None = None) -> dict[str, Any]:
    return SectionBlock(block_id=block_id, text=_mrkdwn(clip(text, SECTION_CHARS))).to_dict()


def header(text: str, block_id: str | None = None) -> dict[str, Any]:
    return HeaderBlock(block_id=block_id, text=PlainTextObject(text=clip(text, HEADER_CHARS)))\
        .to_dict()  # fmt: skip


def context(*texts: str, block_id: str | None = None) -> dict[str, Any]:
    """A context block; texts past the tenth are joined into the tenth."""
    if len(texts) > CONTEXT_ELEMENTS:
        texts = (*texts[: CONTEXT_ELEMENTS - 1], " · ".join(texts[CONTEXT_ELEMENTS - 1 :]))
    elements = [_mrkdwn(clip(t, SECTION_CHARS)) for t in texts]
    return ContextBlock(block_id=block_id, elements=elements).to_dict()


def chunks(lines: Sequence[str], limit: int = SECTION_CHARS) -> list[str]:
    """Lines joined into texts of at most `limit` characters; a longer line is clipped."""
    out: list[list[str]] = []
    size = 0
    for line in (clip(x, limit) for x in lines):
        if out and size + 1 + len(line) <= limit:
            out[-1].append(line)
            size += 1 + len(line)
        else:
            out.append([line])
            size = len(line)
    return ["\n".join(x) for x in out]


def sections(block_id: str, heading: str, rows: Sequence[str], most: int) -> list[dict[str, Any]]:
    """A heading and its rows in at most `most` sections; rows that do not fit are counted in
    a last line "…and N more". Block IDs are `block_id`, `block_id-2`, ..."""
    texts = chunks([heading, *rows])
    if len(texts) > most:
        kept = len(rows)
        while kept and (len(texts) > most or len(texts[-1]) > SECTION_CHARS - _MORE_ROOM):
            kept -= 1
            texts = chunks([heading, *rows[:kept]])
        texts[-1] += f"\n…and {len(rows) - kept} more"
    return [section(t, block_id if i == 0 else f"{block_id}-{i + 1}") for i, t in enumerate(texts)]


def within_limits(
    blocks: Sequence[dict[str, Any]], note: str = "…more than one message holds"
) -> list[dict[str, Any]]:
    """At most MAX_BLOCKS blocks: past that, the last kept one says the rest was left out."""
    if len(blocks) <= MAX_BLOCKS:
        return list(blocks)
    left = len(blocks) - (MAX_BLOCKS - 1)
    return [*blocks[: MAX_BLOCKS - 1], context(f"{note} ({left} blocks left out)")]
