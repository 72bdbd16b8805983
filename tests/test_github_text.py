"""Untrusted text in GitHub Markdown, rendered by GitHub's own cmark-gfm (cmarkgfm)."""

import re

import cmarkgfm
import pytest

from scripts.markup.github_text import WORD_JOINER, escape

HOSTILE = [
    "![x](http://attacker.example/pixel.png)",
    "[click](https://attacker.example)",
    "<https://attacker.example>",
    "http://attacker.example and www.attacker.example",
    "<img src=x onerror=alert(1)> <b>bold</b>",
    "*em* **strong** _u_ ~~del~~ `code`",
    "a | b | c",
    "line one\n# a heading\n- a list",
    "&#64;org/everyone &lt;b&gt;",
    "\\[escaped\\](x)",
]
# GitHub's mentions and references: "@" or "#" after a non-word character, then a name
# (docs.github.com "Mentioning people and teams", "Autolinked references and URLs").
REFERENCE = re.compile(r"(?<![\w/])[@#][\w-]")
TAGS = re.compile(r"<(?!/?p>)[a-z/]")  # any element but the paragraph around the text


def html(markdown: str) -> str:
    return cmarkgfm.github_flavored_markdown_to_html(markdown)


def text_of(rendered: str) -> str:
    inner = rendered.strip().removeprefix("<p>").removesuffix("</p>")
    return inner.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", '"')


@pytest.mark.parametrize("text", HOSTILE)
def test_renders_as_written_with_no_element(text):
    rendered = html(escape(text))
    assert not TAGS.search(rendered), rendered
    shown = text_of(rendered).replace("&amp;", "&").replace(WORD_JOINER, "")
    assert shown == " ".join(text.splitlines())


@pytest.mark.parametrize("text", ["@org/everyone", "cc @alice", "see #12", "(@bob)"])
def test_mentions_and_references_reach_no_one(text):
    assert REFERENCE.search(text) and not REFERENCE.search(text_of(html(escape(text))))


def test_an_address_is_left_alone():
    assert escape("ada@example.com") == "ada@example.com"


def test_a_table_cell_stays_one_cell():
    row = "| " + " | ".join([escape("a | b"), escape("c\nd")]) + " |"
    rendered = html("| x | y |\n|---|---|\n" + row)
    assert rendered.count("<td>") == 2, rendered
