"""Which adapter methods write, and read-only views of adapters that refuse them.

A job observes through `read_only(adapters)`: a dry run then cannot write even by mistake. The
view hands out an adapter's reads and plain values only: a method marked `@writes` raises
WriteRefused, and so does anything that could reach a service another way (the official client
an adapter wraps, a session, a private attribute). What a read returns that is itself an adapter
(GitHub `Clients.for_repo`) comes back as a view too.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Iterator
from datetime import date, datetime, timedelta
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])
T = TypeVar("T")
_PLAIN = (str, bytes, int, float, bool, type(None), datetime, date, timedelta, frozenset)


class WriteRefused(RuntimeError):
    """A write through a read-only view: a bug in a job's observe or plan step."""


def writes(method: F) -> F:
    """Mark an adapter method as one that changes something at the service."""
    method.__writes__ = True  # type: ignore[attr-defined]
    return method


def adapter(cls: type[T]) -> type[T]:
    """Mark a class as an adapter: read_only() puts its instances behind a view."""
    cls.__adapter__ = True  # type: ignore[attr-defined]
    return cls


def is_adapter(cls: type) -> bool:
    return bool(getattr(cls, "__adapter__", False))


_WRITES: dict[type, frozenset[str]] = {}


def write_methods(cls: type) -> frozenset[str]:
    """The names of `cls`'s methods marked @writes."""
    if cls not in _WRITES:
        names = (n for n in dir(cls) if getattr(getattr(cls, n, None), "__writes__", False))
        _WRITES[cls] = frozenset(names)
    return _WRITES[cls]


def read_only(value: T) -> T:
    """`value` with its adapters behind read-only views; plain data is returned as it is. A
    frozen dataclass of adapters (a job's set of clients) gets each field replaced by a view."""
    if isinstance(value, (ReadOnly, *_PLAIN)):
        return value
    if is_adapter(type(value)):
        return ReadOnly(value)  # type: ignore[return-value]
    # Rebuilt only when it holds an adapter: a page of 999 messages comes back as it is.
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
        if not any(is_adapter(type(v)) for v in fields.values()):
            return value
        return dataclasses.replace(value, **{k: read_only(v) for k, v in fields.items()})
    if isinstance(value, tuple | list) and any(is_adapter(type(v)) for v in value):
        return type(value)(read_only(v) for v in value)
    return value


def _safe(value: Any) -> bool:
    """Plain data, or containers and dataclasses of it: nothing that can send a request."""
    if isinstance(value, _PLAIN):
        return True
    if isinstance(value, tuple | list | frozenset | set):
        return all(_safe(v) for v in value)
    if isinstance(value, dict):
        return all(_safe(k) and _safe(v) for k, v in value.items())
    return dataclasses.is_dataclass(value) and not is_adapter(type(value))


class ReadOnly:
    """A view of one adapter: its reads (results wrapped again) and its plain attributes."""

    __slots__ = ("_adapter",)

    def __init__(self, adapter: object):
        object.__setattr__(self, "_adapter", adapter)

    def __getattr__(self, name: str) -> Any:
        adapter = object.__getattribute__(self, "_adapter")
        kind = type(adapter).__name__
        if name.startswith("_") or name in write_methods(type(adapter)):
            raise WriteRefused(f"{kind}.{name} is not available in a read-only view (a dry run)")
        value = getattr(adapter, name)
        if callable(value) and not isinstance(value, type):
            return _reading(value)
        if _safe(value) or is_adapter(type(value)):
            return read_only(value)
        raise WriteRefused(f"{kind}.{name} is not a read: not available in a read-only view")

    def __setattr__(self, name: str, value: Any) -> None:
        raise WriteRefused(f"a read-only view of {type(self._adapter).__name__} cannot be changed")

    def __repr__(self) -> str:
        return f"ReadOnly({self._adapter!r})"


def _reading(method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def call(*args: Any, **kwargs: Any) -> Any:
        result = method(*args, **kwargs)
        if isinstance(result, Iterator):  # a paged listing: its items are data
            return result
        return read_only(result)

    return call
