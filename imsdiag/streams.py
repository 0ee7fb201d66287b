"""Byte-stream layers every input is read through: a replayed sniffed head, guarded decompression, UTF-16 to UTF-8."""

from __future__ import annotations

import bz2
import codecs
import gzip
import io
import lzma
import zlib
from typing import BinaryIO

EXPANSION_RATIO = 250
"""Decompressed bytes per compressed byte above which reading stops: real logs compress 5-30x,
a decompression bomb (one line repeated) about 1000x for gzip and far more for bz2."""
EXPANSION_FLOOR = 64 << 20
"""Output below this size is never stopped, however well it compressed (small files of repeats)."""
CHUNK = 1 << 16
STEP = 8192

_MAGIC = (
    (b"\x1f\x8b", "gzip"),
    (b"BZh", "bz2"),
    (b"\xfd7zXZ\x00", "xz"),
)


def compression_of(head: bytes) -> str | None:
    """The compression format named by the first bytes, if any."""
    for magic, name in _MAGIC:
        if head.startswith(magic):
            return name
    return None


class Prefixed(io.RawIOBase):
    """A stream that first replays bytes already read (for sniffing standard input)."""

    def __init__(self, prefix: bytes, rest: BinaryIO) -> None:
        self._prefix = prefix
        self._rest = rest

    def readable(self) -> bool:
        return True

    def close(self) -> None:
        # Closing the replaying wrapper must close the file underneath, or every file leaks a handle.
        if not self.closed:
            self._rest.close()
        super().close()

    def readinto(self, b: bytearray | memoryview) -> int:  # type: ignore[override]
        if self._prefix:
            n = min(len(b), len(self._prefix))
            b[:n] = self._prefix[:n]
            self._prefix = self._prefix[n:]
            return n
        # read1: one read of the layer below. A buffered read(n) gathers several and, when the last one
        # raises (a truncated .gz), drops what it had gathered: up to a buffer of lines zcat would show.
        read1 = getattr(self._rest, "read1", None)
        data = read1(len(b)) if read1 is not None else self._rest.read(len(b))
        n = len(data)
        b[:n] = data
        return n


class HighExpansion(OSError):
    """A compressed input expanded far beyond any real log: reading stopped (decompression bomb)."""


class _Counting(io.RawIOBase):
    """Counts the compressed bytes a decompressor pulls, so its output can be compared with them."""

    def __init__(self, raw: BinaryIO) -> None:
        self._raw = raw
        self.count = 0

    def readable(self) -> bool:
        return True

    def close(self) -> None:
        if not self.closed:
            self._raw.close()
        super().close()

    def readinto(self, b: bytearray | memoryview) -> int:  # type: ignore[override]
        data = self._raw.read(len(b))
        n = len(data)
        b[:n] = data
        self.count += n
        return n


class _Guarded(io.RawIOBase):
    """Decompressed output that stops with HighExpansion past EXPANSION_RATIO, and closes both layers."""

    def __init__(self, inner: BinaryIO, counted: _Counting) -> None:
        self._inner = inner
        self._counted = counted
        self.produced = 0

    def readable(self) -> bool:
        return True

    def close(self) -> None:
        if not self.closed:
            # GzipFile/BZ2File/LZMAFile given a file object never close it themselves.
            try:
                self._inner.close()
            finally:
                self._counted.close()
        super().close()

    def readinto(self, b: bytearray | memoryview) -> int:  # type: ignore[override]
        # Small read1 steps: a truncated stream raises on the step that hits its end, so everything
        # decompressed before it still reaches the parser (one big read would lose it all).
        data = self._inner.read1(min(len(b), STEP))  # type: ignore[attr-defined]
        n = len(data)
        b[:n] = data
        self.produced += n
        if self.produced > EXPANSION_FLOOR and self.produced > EXPANSION_RATIO * max(self._counted.count, 1):
            raise HighExpansion(
                f"{self.produced >> 20} MiB decompressed from {self._counted.count} bytes, over "
                f"{EXPANSION_RATIO}x (a decompression bomb?): decompress it yourself to read it all",
            )
        return n


class _Transcoded(io.RawIOBase):
    """A UTF-16 stream re-encoded as UTF-8 chunk by chunk, so parsers only ever see byte-oriented text."""

    def __init__(self, inner: BinaryIO, encoding: str) -> None:
        self._inner = inner
        self._decoder = codecs.getincrementaldecoder(encoding)(errors="replace")
        self._pending = b""
        self._eof = False

    def readable(self) -> bool:
        return True

    def close(self) -> None:
        if not self.closed:
            self._inner.close()
        super().close()

    def readinto(self, b: bytearray | memoryview) -> int:  # type: ignore[override]
        while not self._pending and not self._eof:
            chunk = self._inner.read(CHUNK)
            self._eof = not chunk
            # errors="replace" both ways: an unpaired surrogate becomes U+FFFD, never a crash.
            self._pending = self._decoder.decode(chunk, final=self._eof).encode("utf-8", errors="replace")
        n = min(len(b), len(self._pending))
        b[:n] = self._pending[:n]
        self._pending = self._pending[n:]
        return n


class _Failing(io.RawIOBase):
    """A stream whose first read raises the error met while opening it."""

    def __init__(self, exc: BaseException) -> None:
        self._exc = exc

    def readable(self) -> bool:
        return True

    def readinto(self, b: bytearray | memoryview) -> int:  # type: ignore[override]
        raise self._exc


def text_encoding_of(head: bytes) -> str | None:
    """`utf-16-le`/`utf-16-be` when `head` is UTF-16 (by BOM, or ASCII text with every other byte NUL)."""
    if head.startswith(b"\xff\xfe") and not head.startswith(b"\xff\xfe\x00\x00"):
        return "utf-16"  # the codec reads and drops the BOM itself
    if head.startswith(b"\xfe\xff"):
        return "utf-16"
    sample = head[:64] if len(head) >= 16 else b""
    if len(sample) % 2:
        sample = sample[:-1]
    if sample and not any(sample[1::2]) and all(sample[0::2]):
        return "utf-16-le"
    if sample and not any(sample[0::2]) and all(sample[1::2]):
        return "utf-16-be"
    return None


class _GzipMembers(io.RawIOBase):
    """Every gzip member of a stream, up to the damage, with all the bytes zlib can give back.

    `gzip.GzipFile` raises on the read that meets a truncated end or trailing junk and drops what
    that read had decompressed; `zcat` prints it. This reader hands out everything decodable first,
    then raises EOFError (truncated) or BadGzipFile (junk after a member) on the next read, which the
    engine counts as a `decompress-error` issue.
    """

    def __init__(self, source: BinaryIO) -> None:
        self._source = source
        self._d = zlib.decompressobj(wbits=31)
        self._pending = b""
        self._error: Exception | None = None
        self._done = False

    def readable(self) -> bool:
        return True

    def readinto(self, b: bytearray | memoryview) -> int:  # type: ignore[override]
        while not self._pending and not self._done:
            self._pending = self._step()
        if not self._pending and self._error is not None:
            error, self._error = self._error, None
            raise error
        n = min(len(b), len(self._pending))
        b[:n] = self._pending[:n]
        self._pending = self._pending[n:]
        return n

    def _step(self) -> bytes:
        """Decompress the next piece; at the end of input or a member, decide what comes next."""
        d = self._d
        if d.eof:
            rest = d.unused_data
            if not rest:
                rest = self._source.read(CHUNK)
                if not rest:
                    self._done = True
                    return b""
            if not rest.startswith(b"\x1f\x8b"):
                self._done = True
                self._error = gzip.BadGzipFile("trailing data after the last gzip member")
                return b""
            self._d = d = zlib.decompressobj(wbits=31)  # the next member
            return d.decompress(rest, STEP)
        if d.unconsumed_tail:
            return d.decompress(d.unconsumed_tail, STEP)
        chunk = self._source.read(CHUNK)
        if not chunk:
            self._done = True
            self._error = EOFError("Compressed file ended before the end-of-stream marker was reached")
            return d.flush()  # whatever a truncated stream still holds
        try:
            return d.decompress(chunk, STEP)
        except zlib.error as exc:
            self._done = True
            self._error = exc
            return b""


def _decompressor(kind: str, source: BinaryIO) -> BinaryIO:
    if kind == "gzip":
        return io.BufferedReader(_GzipMembers(source), buffer_size=STEP)
    if kind == "bz2":
        return bz2.BZ2File(source, "rb")  # type: ignore[return-value]
    return lzma.LZMAFile(source, "rb")  # type: ignore[return-value]


def decompressed(kind: str, raw: BinaryIO) -> BinaryIO:
    """`raw` decompressed as `kind`, raising HighExpansion (an OSError) while reading past EXPANSION_RATIO."""
    counted = _Counting(raw)
    return io.BufferedReader(_Guarded(_decompressor(kind, counted), counted), buffer_size=CHUNK)  # type: ignore[arg-type]


def transcoded(stream: BinaryIO) -> BinaryIO:
    """`stream` itself, or a UTF-8 view of it when it holds UTF-16 text."""
    try:
        head = stream.peek(64)[:64]  # type: ignore[attr-defined]
    except (OSError, EOFError, lzma.LZMAError, zlib.error) as exc:
        stream.close()
        # The first read raises the same error, where the caller already expects read errors.
        return _Failing(exc)  # type: ignore[return-value]
    encoding = text_encoding_of(head)
    if encoding is None:
        return stream
    return io.BufferedReader(_Transcoded(stream, encoding), buffer_size=CHUNK)
