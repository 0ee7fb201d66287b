"""Records (Event, Hop, ParseIssue, Finding, ...) to compact plain dicts and back, driven by their type hints."""

from __future__ import annotations

import dataclasses
import enum
import json
import types
import typing
from datetime import datetime
from functools import cache
from typing import Any, TypeVar

from .jsontext import iso_stamp
from .models import Event, Finding, Hop, ParseIssue

T = TypeVar("T")

# A decoder for one annotated type: takes the JSON value, returns the Python value.
_Decoder = typing.Callable[[Any], Any]


def to_dict(obj: Any, compact: bool = True) -> dict[str, Any]:
    """A dataclass as a plain JSON-ready dict; when `compact`, fields equal to their default are left out."""
    out: dict[str, Any] = {}
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        if compact and _is_default(f, value):
            continue
        out[f.name] = _encode(value, compact)
    return out


def from_dict(cls: type[T], data: dict[str, Any]) -> T:
    """Rebuild a dataclass of type `cls` from `to_dict` output; unknown keys (a newer writer) are ignored."""
    decoders = _decoders(typing.cast(type, cls))
    kwargs = {name: decoders[name](value) for name, value in data.items() if name in decoders}
    return cls(**kwargs)


def dumps(obj: Any) -> str:
    """Compact JSON text of a record (no spaces, non-ASCII kept)."""
    return json.dumps(to_dict(obj), separators=(",", ":"), ensure_ascii=False)


def event_from_json(text: str) -> Event:
    return from_dict(Event, json.loads(text))


def issue_from_json(text: str) -> ParseIssue:
    return from_dict(ParseIssue, json.loads(text))


def finding_from_json(text: str) -> Finding:
    return from_dict(Finding, json.loads(text))


def hop_to_dict(hop: Hop) -> dict[str, Any]:
    return to_dict(hop)


def _is_default(f: dataclasses.Field[Any], value: Any) -> bool:
    if f.default is not dataclasses.MISSING:
        return bool(value == f.default)
    if f.default_factory is not dataclasses.MISSING:
        return bool(value == f.default_factory())
    return False


def _encode(value: Any, compact: bool) -> Any:
    if value is None or isinstance(value, (bool, int, float, str)):
        # Enums are str subclasses here; their .value is what JSON readers expect.
        return value.value if isinstance(value, enum.Enum) else value
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, datetime):
        return iso_stamp(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return to_dict(value, compact)
    if isinstance(value, (tuple, list, frozenset, set)):
        return [_encode(v, compact) for v in value]
    return str(value)


@cache
def _decoders(cls: type) -> dict[str, _Decoder]:
    hints = typing.get_type_hints(cls)
    return {f.name: _decoder_for(hints[f.name]) for f in dataclasses.fields(cls)}


def _identity(v: Any) -> Any:
    return v


def _decoder_for(tp: Any) -> _Decoder:
    """Build a decoder for an annotation: Optional, tuples, enums, datetimes, nested dataclasses."""
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        return _optional_decoder(args)
    if origin is tuple:
        return _tuple_decoder(args)
    if origin is frozenset:
        item = _decoder_for(args[0]) if args else _identity
        return lambda v: frozenset(item(x) for x in v)
    if isinstance(tp, type):
        return _class_decoder(tp)
    return _identity


def _optional_decoder(args: tuple[Any, ...]) -> _Decoder:
    """`X | None` decodes X or passes None; a union of several types is left as JSON gave it."""
    inner = [a for a in args if a is not type(None)]
    sub = _decoder_for(inner[0]) if len(inner) == 1 else _identity
    return lambda v: None if v is None else sub(v)


def _tuple_decoder(args: tuple[Any, ...]) -> _Decoder:
    """`tuple[X, ...]` decodes each item as X; `tuple[X, Y]` each position as its own type."""
    if len(args) == 2 and args[1] is Ellipsis:
        item = _decoder_for(args[0])
        return lambda v: tuple(item(x) for x in v)
    parts = [_decoder_for(a) for a in args]
    return lambda v: tuple(d(x) for d, x in zip(parts, v, strict=False))


def _class_decoder(tp: type) -> _Decoder:
    """Enums from their value, datetimes from ISO text, dataclasses from their dict; anything else as is."""
    if issubclass(tp, enum.Enum):
        return tp
    if issubclass(tp, datetime):
        return datetime.fromisoformat
    if dataclasses.is_dataclass(tp):
        cls = tp
        return lambda v: from_dict(cls, v)
    return _identity
