"""A log block's place and a small Bloom filter of the ids its lines name: explain without the index reads only
the blocks that may name an id, as explain through the index reads only the blocks its id table names.

The filter's hash is CRC-32, not Python's `hash`: the blocks are filtered in `--jobs` worker processes, whose
string hashes may be seeded differently from the process that asks.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from .models import ANY_IDS, LogSpan

BITS_PER_ID = 12
"""Filter bits per id: with 3 probes about 1% of the blocks that name none of the ids asked are read anyway."""
MIN_BITS = 512
PROBES = 3
_SECOND_SEED = 0x9E3779B9


def slots(norm: str) -> tuple[int, int]:
    """The two hashes of an id that its probes are made from (double hashing)."""
    data = norm.encode("utf-8")
    return zlib.crc32(data), zlib.crc32(data, _SECOND_SEED) | 1


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
        bits = MIN_BITS
        while bits < BITS_PER_ID * len(ids):
            bits <<= 1
        table = bytearray(bits >> 3)
        mask = bits - 1
        for n in ids:
            h1, h2 = slots(n)
            for i in range(PROBES):
                bit = (h1 + i * h2) & mask
                table[bit >> 3] |= 1 << (bit & 7)
        return cls(replace(span, ids=()), bytes(table))

    def may_name(self, hashed: Iterable[tuple[int, int]]) -> bool:
        """Whether the block may name one of the ids (given by their `slots`): False is certain."""
        table = self.filter
        if not table:  # a block the full parser read: its ids were not noted
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


def naming(placed: Sequence[PlacedSpan], norms: Iterable[str]) -> list[LogSpan]:
    """The spans that may name one of `norms`, in file order."""
    hashed = [slots(n) for n in norms]
    return [p.span for p in placed if p.may_name(hashed)]
