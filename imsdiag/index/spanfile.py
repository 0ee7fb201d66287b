"""What explain's lookups need to read a log's spans again, without the index importing the parsers."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from ..models import Event, LogSpan


@dataclass(frozen=True)
class SpanFile:
    """The stored facts of a log whose spans are read again."""

    path: str
    """Absolute path, as the index keys it."""
    display: str
    """The path events name (as the scan that stored it showed it)."""
    format: str | None
    size: int
    mtime_ns: int
    server_hint: str | None = None


class SpanSource(Protocol):
    """Reads spans of logs (`imsdiag.logspans.SpanReader`)."""

    def current(self, f: SpanFile) -> bool: ...
    def queue_ids(self, f: SpanFile, spans: Sequence[LogSpan], norms: set[str]) -> set[str]: ...
    def events(self, f: SpanFile, spans: Sequence[LogSpan], norms: set[str]) -> list[Event]: ...
