"""Cutting a byte stream into blocks of whole lines, and handing the rest of a stream back to a line reader."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable, Iterator
from typing import BinaryIO, TypeVar

from ...models import ANY_IDS, EventTally, LogSpan
from ..base import MAX_LINE, Carried, ParseContext, Record

BLOCK_SIZE = 1 << 20
"""Bytes read at a time: a block ends at the last newline in it, the rest is carried into the next one."""
UNPLACED_REST = "unplaced-rest"
"""Counter: the blocks stopped at a line too long for them and the full parser read the rest of the file, which
no LogSpan covers (explain without the index then parses such a log whole, as it does a log read without spans)."""
MEMO_SIZE = 8192
"""Values an extractor remembers per kind and file before it starts again: memory stays flat on logs of
ever-new addresses, while a log's usual few senders and relays are worked out once."""

K = TypeVar("K")
V = TypeVar("V")


class Memo(dict[K, V]):
    """`fn(key)` remembered, up to `limit` keys (then it starts again); a hit costs one dict lookup."""

    def __init__(self, fn: Callable[[K], V], limit: int = MEMO_SIZE) -> None:
        super().__init__()
        self._fn = fn
        self._limit = limit

    def __missing__(self, key: K) -> V:
        if len(self) >= self._limit:
            self.clear()
        value = self[key] = self._fn(key)
        return value


class Blocks:
    """Blocks of whole lines from `stream`; `rest` is set when a line too long for a block shows up."""

    def __init__(self, stream: BinaryIO, size: int = BLOCK_SIZE, by_lines: bool = False) -> None:
        self._stream = stream
        self._size = size
        self._by_lines = by_lines
        self._error: Exception | None = None
        self.rest: Carried | None = None
        """The unread stream (with the carried bytes) for the line reader, when blocks had to stop."""

    def _read(self) -> bytes:
        if self._error is not None:
            error, self._error = self._error, None
            raise error
        if not self._by_lines:
            return self._stream.read(self._size)
        # A compressed stream that ends in damage raises: the whole lines read before that are read as
        # the line reader would have read them, and the error comes with the next read.
        got: list[bytes] = []
        total = 0
        while total < self._size:
            try:
                line = self._stream.readline(MAX_LINE + 1)
            except Exception as exc:
                if not got:
                    raise
                self._error = exc
                break
            if not line:
                break
            got.append(line)
            total += len(line)
        return b"".join(got)

    def __iter__(self) -> Iterator[bytes]:
        """Each block holds whole lines, the last of them with its newline (except at the end of the stream)."""
        carry = b""
        while True:
            chunk = self._read()
            if not chunk:
                if carry:
                    yield carry
                return
            data = carry + chunk if carry else chunk
            if self._error is not None:  # the stream broke: what was read is the last block
                carry = b""
                yield data
                continue
            cut = data.rfind(b"\n") + 1
            if cut == 0:
                if len(data) > MAX_LINE:  # one line longer than the line reader takes whole: it decides
                    self.rest = Carried(data, self._stream)
                    return
                carry = data
                continue
            carry = data[cut:]
            yield data[:cut]


def hint_hits(
    low: bytes, hints: Iterable[bytes], accept: Callable[[bytes, int, bytes], bool] | None = None
) -> Iterator[int]:
    """Offsets in a lower-cased block of its loop-text hints, one a line for each hint (the search goes on at
    the next line); `accept(low, at, hint)` can turn a find down, and the search goes on past it."""
    for hint in hints:
        at = low.find(hint)
        while at >= 0:
            if accept is not None and not accept(low, at, hint):
                at = low.find(hint, at + len(hint))
                continue
            yield at
            end = low.find(b"\n", at)
            if end < 0:
                break
            at = low.find(hint, end)


def with_offsets(blocks: Iterable[bytes]) -> Iterator[tuple[bytes, int]]:
    """Each block with its byte offset in the (decompressed) stream: a LogSpan points the index at it."""
    offset = 0
    for block in blocks:
        yield block, offset
        offset += len(block)


class BlockWalker:
    """An extractor's reading of one file: each block of whole lines walked, what blocks cannot take read by
    the full parser, then what the file's handlers hold at its end."""

    ctx: ParseContext
    lineno: int

    def run(self, stream: BinaryIO, block_size: int) -> Iterator[Record | EventTally | LogSpan]:
        blocks = Blocks(stream, block_size, by_lines=not self.ctx.reliable_reads)
        for block, offset in with_offsets(blocks):
            yield from self._block(block, offset)
        if blocks.rest is not None:
            self.ctx.count(UNPLACED_REST)
            yield from self._full(blocks.rest)  # type: ignore[arg-type]  # readline is all iter_lines uses
        yield from self._finish()

    def _block(self, block: bytes, offset: int) -> Iterator[Record | EventTally | LogSpan]:
        raise NotImplementedError

    def _full(self, stream: BinaryIO) -> Iterator[Record | EventTally]:
        raise NotImplementedError

    def _full_block(self, block: bytes, offset: int) -> Iterator[Record | EventTally | LogSpan]:
        """A block the full parser reads whole; placed, naming any id, for explain without the index when it asks."""
        first, (year, month) = self.lineno, self._year_state()
        yield from self._full(io.BytesIO(block))
        if self.ctx.place_full_blocks:
            yield LogSpan(self.ctx.loc(first + 1), offset, len(block), year, month, self.ctx.year_hint, ANY_IDS)

    def _year_state(self) -> tuple[int | None, int]:
        """The year tracker's (year, month) before a block, for its LogSpan: none for stamps that carry a year."""
        return None, 0

    def _finish(self) -> Iterator[Record]:
        """What the file's handlers say at its end (messages still open): nothing unless a reader has handlers."""
        return iter(())
