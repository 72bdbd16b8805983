"""Block Kit helpers: every block they build is within Slack's limits, whatever goes in."""

import pytest

from fakes.slack import block_problems
from scripts.markup import slack_blocks as sb


@pytest.mark.parametrize(
    ("rows", "most", "sections", "more"),
    [
        (["x" * 100] * 5, 3, 1, None),
        (["x" * 1000] * 9, 5, 5, None),  # the heading and two rows of 1,000 fill a section
        (["x" * 1000] * 20, 3, 3, 14),
        (["y" * 5000], 2, 2, None),  # one row over the limit is clipped, not refused
        ([], 1, 1, None),
    ],
)
def test_sections_pack_rows_and_count_what_is_left_out(rows, most, sections, more):
    blocks = sb.sections("list", "*Heading*", rows, most)
    assert len(blocks) == sections and not block_problems(blocks)
    assert [b["block_id"] for b in blocks] == ["list"] + [
        f"list-{i}" for i in range(2, sections + 1)
    ]
    last = blocks[-1]["text"]["text"]
    assert (f"…and {more} more" in last) if more else ("more" not in last)


def test_header_context_and_block_count_are_capped():
    blocks = [sb.header("h" * 400), sb.context(*["c"] * 14), *[sb.section("s")] * 60]
    fitted = sb.within_limits(blocks)
    assert len(fitted) == 50 and not block_problems(fitted)
    assert "13 blocks left out" in fitted[-1]["elements"][0]["text"]


def test_clip_cuts_at_a_space_when_one_is_near():
    assert sb.clip("short", 10) == "short"
    assert sb.clip("one two three four", 12) == "one two…"
    assert len(sb.clip("z" * 50, 10)) == 10
