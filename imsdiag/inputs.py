"""Open one input for reading: a file, a named pipe or standard input, decompressed and transcoded by content."""

from __future__ import annotations

import errno
import io
import os
import stat
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, NamedTuple

from .streams import CHUNK, HighExpansion, Prefixed, compression_of, decompressed, transcoded

if TYPE_CHECKING:
    from .sources import InputFile

SNIFF_BYTES = 16384


def _open_regular(path: Path) -> BinaryIO:
    """Open a file for reading without ever blocking: a FIFO swapped in after discovery is refused."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    fd = os.open(path, flags)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(errno.EINVAL, "not a regular file", str(path))
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        return open(fd, "rb", buffering=CHUNK)
    except BaseException:
        os.close(fd)
        raise


def _open_pipe(path: str) -> BinaryIO:
    """Open a FIFO named on the command line, waiting for its writer the way reading `-` waits for input."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    try:
        mode = os.fstat(fd).st_mode
        if not (stat.S_ISFIFO(mode) or stat.S_ISREG(mode)):
            raise OSError(errno.EINVAL, "not a FIFO or a regular file", path)
        # Buffered like sys.stdin.buffer: read(8) waits for all 8 sniffing bytes, not the first write's worth.
        return open(fd, "rb", buffering=CHUNK)
    except BaseException:
        os.close(fd)
        raise


class Opened(NamedTuple):
    """An input opened for reading: the (decompressed, UTF-8) stream, its compression, and how far
    into the file on disk reading has got (for progress; 0 for standard input)."""

    stream: BinaryIO
    compression: str | None
    position: Callable[[], int]


def open_binary(f: InputFile) -> tuple[BinaryIO, str | None]:
    """Open an input for reading bytes, decompressing by content; returns the stream and compression."""
    opened = open_input(f)
    return opened.stream, opened.compression


def open_input(f: InputFile) -> Opened:
    """Open an input for reading bytes, decompressing by content.

    Compressed input is guarded against decompression bombs (HighExpansion, an OSError, is raised
    while reading) and UTF-16 text (BOM FF FE / FE FF) comes out transcoded to UTF-8.
    """
    raw: BinaryIO
    if f.path is None and f.pipe is not None:
        pipe = _open_pipe(f.pipe)
        try:
            head = pipe.read(8)
        except BaseException:
            pipe.close()
            raise
        raw = io.BufferedReader(Prefixed(head, pipe), buffer_size=CHUNK)
    elif f.path is None and f.url is None:
        stdin = sys.stdin.buffer
        head = stdin.read(8)
        raw = io.BufferedReader(Prefixed(head, stdin), buffer_size=CHUNK)
    else:
        raw = _open_url(f.url) if f.url is not None else _open_regular(f.path)  # type: ignore[arg-type]
        try:
            head = raw.read(8)
            raw.seek(0)
        except BaseException:
            raw.close()
            raise
    kind = compression_of(head)
    stream = raw if kind is None else decompressed(kind, raw)
    on_disk = f.path is not None or f.url is not None
    return Opened(transcoded(stream), kind, _position_of(raw) if on_disk else _zero)


def _open_url(url: str) -> BinaryIO:
    from .urls import open_url  # fsspec only for a URL

    return open_url(url)


def _zero() -> int:
    return 0


def _position_of(raw: BinaryIO) -> Callable[[], int]:
    """Bytes of the file on disk read so far, however many layers (decompressor, buffers) sit on top."""

    def position() -> int:
        try:
            return raw.tell()
        except (OSError, ValueError):  # closed or unseekable: progress simply stops moving
            return 0

    return position


def read_error_code(exc: BaseException, compression: str | None) -> str:
    """The ParseIssue code for an error met while reading an input."""
    if isinstance(exc, HighExpansion):
        return "high-expansion"
    return "decompress-error" if compression else "read-error"


def size_change(f: InputFile) -> str | None:
    """Why the file's size differs from when it was found (still written to, rotated, truncated), if it does."""
    if f.path is None:
        return None
    try:
        now = f.path.stat().st_size
    except OSError:
        now = 0  # removed while read: it shrank to nothing
    if now == f.size:
        return None
    if now < f.size:
        return f"file shrank from {f.size} to {now} bytes while being read (truncated or rotated): its end is missing"
    return f"file grew from {f.size} to {now} bytes while being read: lines written since may be missing"


def read_head(stream: BinaryIO, n: int = SNIFF_BYTES) -> tuple[bytes, BinaryIO]:
    """Read up to `n` bytes for sniffing and return them with a stream that starts again at byte 0."""
    chunks: list[bytes] = []
    got = 0
    while got < n:
        data = stream.read(n - got)
        if not data:
            break
        chunks.append(data)
        got += len(data)
    head = b"".join(chunks)
    return head, io.BufferedReader(Prefixed(head, stream), buffer_size=1 << 16)
