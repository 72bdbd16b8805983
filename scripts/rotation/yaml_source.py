"""Read YAML into plain data plus the line:col of every value, flagging YAML 1.1 traps."""

from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path as FilePath
from typing import Any

import yaml

from scripts.rotation.problems import Problem

Path = tuple[
    str | int, ...
]  # a path of keys and indexes into the document, e.g. ("swaps", 0, "people")

_BOOL_TAG = "tag:yaml.org,2002:bool"
_INT_TAG = "tag:yaml.org,2002:int"
_FLOAT_TAG = "tag:yaml.org,2002:float"
_NULL_TAG = "tag:yaml.org,2002:null"
_TIMESTAMP_TAG = "tag:yaml.org,2002:timestamp"
_SEXAGESIMAL = re.compile(r"^[-+]?[0-9][0-9_]*(:[0-5]?[0-9])+(\.[0-9_]*)?$")
MAX_BYTES = 2_000_000  # a rotation of 1,000 people is about 200 kB
MAX_DEPTH = 32  # rotation.yaml nests 5 deep; far deeper only exhausts the parser's recursion
_OPEN = (yaml.BlockMappingStartToken, yaml.BlockSequenceStartToken,
         yaml.FlowMappingStartToken, yaml.FlowSequenceStartToken)  # fmt: skip
_CLOSE = (yaml.BlockEndToken, yaml.FlowMappingEndToken, yaml.FlowSequenceEndToken)


def path_text(path: Path) -> str:
    """("swaps", 0, "people") -> 'swaps[0].people'."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


@dataclass
class Source:
    """A parsed YAML document: plain data, positions by path, and problems found while reading."""

    file: str
    data: object = None
    positions: dict[Path, tuple[int, int]] = field(default_factory=dict)
    key_positions: dict[Path, tuple[int, int]] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)

    def where(self, path: Path, key: bool = False) -> tuple[int, int]:
        """1-based line and column of the value (or its key) at path, or its nearest parent."""
        table = self.key_positions if key else self.positions
        path = tuple(path)
        while path and path not in table and path not in self.positions:
            path = path[:-1]
        return table.get(path) or self.positions.get(path) or (1, 1)

    def problem(
        self, path: Path, message: str, severity: str = "error", key: bool = False
    ) -> Problem:
        line, col = self.where(path, key=key)
        return Problem(self.file, line, col, path_text(path), message, severity)

    def add(self, path: Path, message: str, severity: str = "error", key: bool = False) -> None:
        self.problems.append(self.problem(path, message, severity, key))


def _mark(node: yaml.Node) -> tuple[int, int]:
    return node.start_mark.line + 1, node.start_mark.column + 1


def _scalar(src: Source, node: yaml.ScalarNode, path: Path) -> Any:
    text = node.value
    if node.style is not None:  # quoted or block scalars are always strings
        return text
    if node.tag == _BOOL_TAG:
        if text.lower() in ("true", "false"):
            return text.lower() == "true"
        src.add(path, f"'{text}' is read as a boolean by YAML 1.1; quote it (\"{text}\")")
        return text
    if node.tag == _INT_TAG:
        if _SEXAGESIMAL.match(text):
            src.add(
                path, f'{text} is read as a number ({yaml.safe_load(text)}); quote it: "{text}"'
            )
            return text
        return yaml.safe_load(text)
    if node.tag == _FLOAT_TAG:
        if _SEXAGESIMAL.match(text):
            src.add(path, f'{text} is read as a number; quote it: "{text}"')
            return text
        return yaml.safe_load(text)
    if node.tag == _NULL_TAG:
        return None
    # Timestamps stay as their text: the schema checks their shape, the loader parses them.
    return text


def _build(src: Source, node: yaml.Node, path: Path) -> Any:
    src.positions[path] = _mark(node)
    if isinstance(node, yaml.MappingNode):
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key = _build(src, key_node, path + ("<key>",))
            src.positions.pop(path + ("<key>",), None)
            if not isinstance(key, str):
                key = str(key)
            child = path + (key,)
            if key in result:
                first = src.key_positions[child][0]
                src.key_positions.setdefault(child + ("<dup>",), _mark(key_node))
                src.problems.append(
                    Problem(
                        src.file,
                        *_mark(key_node),
                        path_text(child),
                        f"duplicate key '{key}' (first defined on line {first})",
                    )
                )
                continue
            src.key_positions[child] = _mark(key_node)
            result[key] = _build(src, value_node, child)
        return result
    if isinstance(node, yaml.SequenceNode):
        return [_build(src, item, path + (i,)) for i, item in enumerate(node.value)]
    assert isinstance(node, yaml.ScalarNode)  # YAML has no fourth kind of node
    return _scalar(src, node, path)


def read_text(path: str | os.PathLike[str]) -> tuple[str | None, list[Problem]]:
    """A config file's text, or the problem that stops it: a symbolic link, not a regular file
    (a device, a FIFO, /dev/zero), over MAX_BYTES, or not UTF-8 (with the line:col of the first
    bad byte). Nothing is read past the size limit."""
    name = str(path)
    try:
        if os.path.islink(path):  # from a PR it may point at any file of the runner: read none
            return None, [Problem(name, 1, 1, "", "a symbolic link, not a rotation file")]
        info = os.stat(path)
        if not stat.S_ISREG(info.st_mode):
            return None, [Problem(name, 1, 1, "", "not a regular file: give a rotation file")]
        if info.st_size > MAX_BYTES:
            size = f"{info.st_size:,} bytes, more than {MAX_BYTES:,}"
            return None, [Problem(name, 1, 1, "", f"too large for a rotation file ({size})")]
        with FilePath(path).open("rb") as f:
            raw = f.read(MAX_BYTES + 1)
    except OSError as exc:
        return None, [Problem(name, 1, 1, "", f"cannot read: {exc.strerror}")]
    if len(raw) > MAX_BYTES:  # it grew since stat
        return None, [Problem(name, 1, 1, "", f"too large for a rotation file (> {MAX_BYTES:,})")]
    try:
        return raw.decode("utf-8"), []
    except UnicodeDecodeError as exc:
        before = raw[: exc.start]
        line = before.count(b"\n") + 1
        col = len(before) - (before.rfind(b"\n") + 1) + 1
        message = f"not UTF-8: byte 0x{raw[exc.start]:02x} cannot be read; save the file as UTF-8"
        return None, [Problem(name, line, col, "", message)]


def _hazards(text: str, file: str) -> list[Problem]:
    """Aliases (a few bytes can expand to gigabytes: "billion laughs") and nesting past
    MAX_DEPTH, found in one linear pass over the tokens before anything is built."""
    problems, depth = [], 0
    for token in yaml.scan(text, Loader=yaml.SafeLoader):
        line, col = token.start_mark.line + 1, token.start_mark.column + 1
        if isinstance(token, yaml.AliasToken | yaml.AnchorToken):
            kind = "alias" if isinstance(token, yaml.AliasToken) else "anchor"
            message = f"YAML {kind} '{token.value}' is not allowed here: write the value out"
            problems.append(Problem(file, line, col, "", message))
        elif isinstance(token, _OPEN):
            depth += 1
            if depth > MAX_DEPTH:
                problems.append(Problem(file, line, col, "", f"nested deeper than {MAX_DEPTH}"))
                break
        elif isinstance(token, _CLOSE):
            depth -= 1
    return problems


def parse(text: str, file: str) -> Source:
    """Parse one YAML document; syntax errors, aliases and deep nesting become problems."""
    src = Source(file)
    try:
        src.problems = _hazards(text, file)
        if src.problems:
            return src
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        src.problems.append(Problem(file, line, col, "", f"YAML syntax: {exc.problem}"))
        return src
    except yaml.YAMLError as exc:
        src.problems.append(Problem(file, 1, 1, "", f"YAML syntax: {exc}"))
        return src
    if node is not None:
        src.data = _build(src, node, ())
    return src
