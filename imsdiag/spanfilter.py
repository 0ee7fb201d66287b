"""A log block's place and a small Bloom filter of the ids its lines name: explain without the index reads only
the blocks that may name an id, as explain through the index reads only the blocks its id table names.

The filter's hash is CRC-32, not Python's `hash`: the blocks are filtered in `--jobs` worker processes, whose
string hashes may be seeded differently from the process that asks.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from .models import ANY_IDS, Event, LogSpan

BITS_PER_ID = 12
"""Filter bits per id: with 3 probes about 1% of the blocks that name none of the ids asked are read anyway."""
MIN_BITS = 512
PROBES = 3
_SECOND_SEED = 0x9E3779B9


def slots(norm: str) -> tuple[int, int]:
    """The two hashes of an id that its probes are made from (double hashing)."""
    data = norm.encode("utf-8")
    return zlib.crc32(data), zlib.crc32(data, _SECOND_SEED) | 1


class IdFilter:
    """A Bloom filter of ids, filled as they come; `bits` fixed at the start (a power of two)."""

    def __init__(self, bits: int = MIN_BITS) -> None:
        """At least `bits` bits, rounded up to a power of two (MIN_BITS at the least): the probes are masked."""
        self.table = bytearray(max(MIN_BITS, 1 << (bits - 1).bit_length()) >> 3)
        self.mask = (len(self.table) << 3) - 1

    @classmethod
    def sized_for(cls, ids: int) -> IdFilter:
        """A filter for about `ids` ids at BITS_PER_ID bits each."""
        return cls(BITS_PER_ID * ids)

    def add(self, norm: str) -> None:
        h1, h2 = slots(norm)
        table, mask = self.table, self.mask
        for i in range(PROBES):
            bit = (h1 + i * h2) & mask
            table[bit >> 3] |= 1 << (bit & 7)

    def frozen(self) -> bytes:
        return bytes(self.table)


class EventIdFilter(IdFilter):
    """The filter of the ids a log's events carry (`index.ids.event_ids`), sized to the log."""

    @classmethod
    def for_log(cls, size: int) -> EventIdFilter:
        """A bit per 8 bytes of log: a line of 100 to 300 bytes names one to three ids, so 12 bits or more per
        id, and about 1% of the rounds asking for ids the log's events do not carry parse it anyway."""
        return cls(size // 8)

    def add_event(self, event: Event) -> None:
        from .index.ids import event_ids  # the index package brings sqlite3: only explain's search needs it

        for n, _ in event_ids(event):
            self.add(n)


NOTED_IDS = 1 << 16
"""Ids `NotedIds` keeps in a set before it makes the log-sized filter (a few MB at most)."""


class NotedIds:
    """The ids a log's events carry, for its `EventIdFilter`, which is made only when it is asked for or the ids
    are many. Most logs of a search read with spans (Postfix, Exim) never need the filter, a bit per 8 bytes of
    log (8 MiB for a 429 MiB log), and their events are few: the candidates and loop lines."""

    def __init__(self, log_size: int) -> None:
        self.log_size = log_size
        self._ids: set[str] | None = set()
        self._filter: EventIdFilter | None = None

    def add_event(self, event: Event) -> None:
        from .index.ids import event_ids  # the index package brings sqlite3: only explain's search needs it

        if self._ids is None:
            assert self._filter is not None
            self._filter.add_event(event)
            return
        self._ids.update(n for n, _ in event_ids(event))
        if len(self._ids) > NOTED_IDS:
            self._spill()

    def frozen(self) -> bytes:
        """The filter's bytes: the same as an `EventIdFilter` of the log given every event (a Bloom filter's
        bits do not depend on the order its ids came in)."""
        if self._filter is None:
            self._spill()
        assert self._filter is not None
        return self._filter.frozen()

    def _spill(self) -> None:
        table = self._filter = EventIdFilter.for_log(self.log_size)
        for n in self._ids or ():
            table.add(n)
        self._ids = None


def may_hold(table: bytes, hashed: Iterable[tuple[int, int]]) -> bool:
    """Whether a filter (`IdFilter.frozen`) may hold one of the ids given by their `slots`: False is certain.

    An empty filter stands for one whose ids were not noted: it may hold any.
    """
    if not table:
        return True
    mask = (len(table) << 3) - 1
    for h1, h2 in hashed:
        for i in range(PROBES):
            bit = (h1 + i * h2) & mask
            if not table[bit >> 3] >> (bit & 7) & 1:
                break
        else:
            return True
    return False


@dataclass(frozen=True)
class PlacedSpan:
    """Where a block lies (a LogSpan without its ids) and the filter of those ids."""

    span: LogSpan
    filter: bytes

    @classmethod
    def of(cls, span: LogSpan) -> PlacedSpan:
        """The span's place, its ids folded into a filter sized to their number (empty: it may name any)."""
        if span.ids == ANY_IDS:  # kept: the span reader splits such a block as the full parser's line reader does
            return cls(span, b"")
        ids = {n for n, _ in span.ids}
        table = IdFilter.sized_for(len(ids))
        for n in ids:
            table.add(n)
        return cls(replace(span, ids=()), table.frozen())


def naming(placed: Sequence[PlacedSpan], norms: Iterable[str]) -> dict[int, tuple[LogSpan, frozenset[str]]]:
    """Span offset -> (span, the ids of `norms` it may name), for the spans that may name one, in file order."""
    hashed = [(n, slots(n)) for n in norms]
    out: dict[int, tuple[LogSpan, frozenset[str]]] = {}
    for p in placed:
        named = frozenset(n for n, h in hashed if may_hold(p.filter, (h,)))
        if named:
            out[p.span.offset] = (p.span, named)
    return out
