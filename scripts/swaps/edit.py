"""rotation.yaml with one more `swaps` or `time_off` entry, every other byte kept.

A text insertion rather than a YAML round trip: comments, key order, flow and block styles and
alignment stay exactly as the person wrote them. The new entry takes the style of the list's last
entry (a block mapping, or a `{...}` flow one) and its indentation; the result is parsed again and
must be the old document with just that entry added, else nothing is returned.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import yaml


class EditError(ValueError):
    """The file could not be edited safely (it is left as it was)."""


# Words YAML 1.1 reads as booleans or null (yaml_source.py flags them unquoted): quoted here.
_WORDS = {"y", "n", "yes", "no", "on", "off", "true", "false", "null", "~"}


def scalar(value: Any) -> str:
    """A YAML scalar for a handle, a date or free text: plain where safe, else double-quoted."""
    text = str(value)
    plain = text.replace("-", "").replace("_", "").isalnum() and not text[:1].isdigit()
    plain = plain and text.lower() not in _WORDS
    return text if plain or _is_date(text) else json.dumps(text, ensure_ascii=False)


def _is_date(text: str) -> bool:
    return len(text) == 10 and text[4] == text[7] == "-" and text.replace("-", "").isdigit()


def flow(entry: Mapping[str, Any]) -> str:
    parts = []
    for key, value in entry.items():
        shown = (
            f"[{', '.join(scalar(v) for v in value)}]" if isinstance(value, list) else scalar(value)
        )
        parts.append(f"{key}: {shown}")
    return "{" + ", ".join(parts) + "}"


def block(entry: Mapping[str, Any], dash: int) -> list[str]:
    lines = []
    for n, (key, value) in enumerate(entry.items()):
        shown = (
            f"[{', '.join(scalar(v) for v in value)}]" if isinstance(value, list) else scalar(value)
        )
        lines.append(" " * dash + ("- " if n == 0 else "  ") + f"{key}: {shown}")
    return lines


def add_entry(text: str, key: str, entry: Mapping[str, Any]) -> str:
    """`text` with `entry` appended to the top-level list `key` (created when absent)."""
    try:
        root = yaml.compose(text)
    except yaml.YAMLError as exc:
        raise EditError(f"rotation.yaml does not parse: {exc}") from None
    if not isinstance(root, yaml.MappingNode):
        raise EditError("rotation.yaml is not a mapping")
    node = next((v for k, v in root.value if k.value == key), None)
    lines = text.splitlines(keepends=True)
    if node is None:
        tail = "" if text.endswith("\n") or not text else "\n"
        new = text + tail + f"\n{key}:\n" + "".join(x + "\n" for x in block(entry, 2))
    elif isinstance(node, yaml.ScalarNode) and node.tag.endswith(":null"):
        at = _offset(lines, node.start_mark.line, node.start_mark.column)
        end = _offset(lines, node.end_mark.line, node.end_mark.column)
        rest = text[end:]
        items = "".join("\n" + x for x in block(entry, 2))
        new = text[:at].rstrip(" ") + items + ("" if rest.startswith("\n") else "\n") + rest
    elif isinstance(node, yaml.SequenceNode) and node.flow_style:
        end = _offset(lines, node.end_mark.line, node.end_mark.column) - 1  # the "]"
        inside = text[_offset(lines, node.start_mark.line, node.start_mark.column) + 1 : end]
        sep = ", " if inside.strip() else ""
        new = text[:end].rstrip() + sep + flow(entry) + text[end:]
    elif isinstance(node, yaml.SequenceNode) and node.value:
        new = _after_last_item(text, lines, node, entry)
    else:
        raise EditError(f"`{key}` is not a list")
    _check(text, new, key, entry)
    return new


def _after_last_item(
    text: str, lines: list[str], node: yaml.SequenceNode, entry: Mapping[str, Any]
) -> str:
    last = node.value[-1]
    line = _content_end(last)
    dash = lines[last.start_mark.line][: last.start_mark.column].rindex("-")
    as_flow = isinstance(last, yaml.MappingNode) and last.flow_style
    added = [" " * dash + "- " + flow(entry)] if as_flow else block(entry, dash)
    at = _offset(lines, line + 1, 0)
    before = text[:at] if text[:at].endswith("\n") else text[:at] + "\n"
    return before + "".join(x + "\n" for x in added) + text[at:]


def _content_end(node: yaml.Node) -> int:
    """The last line holding a value of `node` (a block node's end_mark is the next token's)."""
    if isinstance(node, yaml.ScalarNode) or getattr(node, "flow_style", False):
        return node.end_mark.line
    children: list[yaml.Node] = []
    if isinstance(node, yaml.MappingNode):
        children = [v for _, v in node.value]
    elif isinstance(node, yaml.SequenceNode):
        children = list(node.value)
    return max((_content_end(c) for c in children), default=node.start_mark.line)


def _offset(lines: list[str], line: int, column: int) -> int:
    return sum(len(x) for x in lines[:line]) + column


def _check(old: str, new: str, key: str, entry: Mapping[str, Any]) -> None:
    """The new document is the old one plus the entry at the end of `key`, nothing else."""
    before, after = yaml.safe_load(old) or {}, yaml.safe_load(new)
    want = dict(before)
    want[key] = list(before.get(key) or []) + [_loaded(entry)]
    if after != want:
        raise EditError("the edit would change more than the new entry: rotation.yaml left alone")


def _loaded(entry: Mapping[str, Any]) -> dict[str, Any]:
    """The entry as YAML reads it back (dates become dates)."""
    loaded = yaml.safe_load(flow(entry))
    assert isinstance(loaded, dict)
    return loaded
