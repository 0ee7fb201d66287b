"""Input discovery: walk paths in a stable order, open files (gz/bz2/xz transparently), guess the server."""

from __future__ import annotations

import bz2
import codecs
import errno
import gzip
import io
import lzma
import os
import stat
import sys
import zlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, NamedTuple

from .models import Location, ParseIssue

SNIFF_BYTES = 16384

EXPANSION_RATIO = 250
"""Decompressed bytes per compressed byte above which reading stops: real logs compress 5-30x,
a decompression bomb (one line repeated) about 1000x for gzip and far more for bz2."""
EXPANSION_FLOOR = 64 << 20
"""Output below this size is never stopped, however well it compressed (small files of repeats)."""
_CHUNK = 1 << 16
_STEP = 8192

# Folder names that describe a log layout rather than a server: skipped when the server
# name is taken from the path (`LOGDIR/<server>/Imcdata/Log/L0000001.LOG` -> `<server>`).
LAYOUT_DIRS = frozenset(
    {
        "exchsrvr",
        "imcdata",
        "log",
        "logs",
        "in",
        "out",
        "archive",
        "pickup",
        "bad",
        "tracking.log",
        "tracking",
        "var",
        "mail",
        "maillog",
        "mta",
        "messagetracking",
        "transportroles",
        "exchange server",
        "exim",
        "exim4",
        "postfix",
        "sendmail",
        "mailbox",
        "maildir",
        "cur",
        "new",
        "tmp",
        "headers",
        "messages",
        "archives",
    }
)

_MAGIC = (
    (b"\x1f\x8b", "gzip"),
    (b"BZh", "bz2"),
    (b"\xfd7zXZ\x00", "xz"),
)


@dataclass(frozen=True)
class InputFile:
    """One file to scan; `path` is None for standard input."""

    display: str
    """The path as shown in evidence: relative to the working folder when possible."""
    path: Path | None
    size: int = 0
    mtime: float = 0.0
    server_hint: str | None = None
    compression: str | None = None
    pipe: str | None = None
    """A FIFO named on the command line (`<(zcat x.gz)`, /dev/fd/N): read once, like standard input,
    so `path` stays None and nothing treats it as a file (no index, no worker, no second read)."""


def _display(p: Path) -> str:
    try:
        rel = os.path.relpath(p)
    except ValueError:  # another drive on Windows
        return str(p)
    return str(p) if rel.startswith(".." + os.sep + "..") else rel


def server_from_path(path: Path, root: Path | None) -> str | None:
    """Nearest folder above the file, below the scan root, that is not a layout folder name."""
    parents = list(path.parent.parts)
    root_parts = list(root.parts) if root is not None else []
    # Only folders below the root the user named can name a server: `scan logs/` must not call
    # every server "logs".
    if root_parts and parents[: len(root_parts)] == root_parts:
        parents = parents[len(root_parts) :]
    else:
        parents = []
    for name in reversed(parents):
        if name.lower() not in LAYOUT_DIRS and name not in (".", ".."):
            return name.lower()
    return None


def is_stream_path(raw: str) -> bool:
    """Whether a path named on the command line is read once as a stream: `-` or a FIFO (`<(zcat x.gz)`)."""
    try:
        return raw == "-" or stat.S_ISFIFO(os.stat(raw).st_mode)
    except (OSError, ValueError):
        return False


def discover(paths: Sequence[str], follow_links: bool = False) -> Iterator[InputFile | ParseIssue]:
    """Yield every file under `paths` in a stable (sorted) order, and an issue for each one skipped.

    Folders are walked recursively without following symlinked folders twice (a symlink loop
    is reported, not followed forever); FIFOs, sockets and devices met in a folder are skipped with
    a note, while a FIFO named here (`<(zcat x.gz)`) is read like `-`. A symlink met in a folder
    whose target lies outside that folder is skipped with a note unless `follow_links`.
    """
    for raw in paths:
        if raw == "-":
            yield InputFile(display="<stdin>", path=None)
            continue
        p = Path(raw)
        try:
            st = p.stat()
        except OSError as exc:
            yield ParseIssue(Location(raw), "missing-path", f"cannot read {raw}: {exc.strerror or exc}")
            continue
        if stat.S_ISDIR(st.st_mode):
            yield from _walk(p, follow_links)
        elif stat.S_ISFIFO(st.st_mode):
            yield InputFile(display=raw, path=None, pipe=raw)
        else:
            yield from _one(p, p.parent, st)


def _one(p: Path, root: Path, st: os.stat_result) -> Iterator[InputFile | ParseIssue]:
    disp = _display(p)
    if not stat.S_ISREG(st.st_mode):
        kind = "FIFO" if stat.S_ISFIFO(st.st_mode) else "socket" if stat.S_ISSOCK(st.st_mode) else "device"
        yield ParseIssue(Location(disp), "not-a-file", f"skipped: {kind}, not a regular file")
        return
    yield InputFile(
        display=disp,
        path=p,
        size=st.st_size,
        mtime=st.st_mtime,
        server_hint=server_from_path(p, root),
    )


def _outside(entry: os.DirEntry[str], real_root: str) -> str | None:
    """The resolved target of a symlink entry when it lies outside `real_root`, else None."""
    if not entry.is_symlink():
        return None
    target = os.path.realpath(entry.path)
    return None if os.path.commonpath([real_root, target]) == real_root else target


def _walk(root: Path, follow_links: bool = False) -> Iterator[InputFile | ParseIssue]:
    seen_dirs: set[tuple[int, int]] = set()
    real_root = os.path.realpath(root)
    stack = [root]
    while stack:
        d = stack.pop()
        try:
            st = d.stat()
        except OSError as exc:
            yield ParseIssue(Location(_display(d)), "unreadable-folder", f"cannot read folder: {exc.strerror}")
            continue
        key = (st.st_dev, st.st_ino)
        if key in seen_dirs:
            yield ParseIssue(Location(_display(d)), "symlink-loop", "folder already scanned (symlink loop); skipped")
            continue
        seen_dirs.add(key)
        try:
            entries = sorted(os.scandir(d), key=lambda e: e.name)
        except OSError as exc:
            yield ParseIssue(Location(_display(d)), "unreadable-folder", f"cannot list folder: {exc.strerror}")
            continue
        subdirs: list[Path] = []
        for e in entries:
            p = Path(e.path)
            # A link out of the folder could make a scan (as root) read /etc/shadow into a report.
            target = None if follow_links else _outside(e, real_root)
            if target is not None:
                yield ParseIssue(
                    Location(_display(p)),
                    "symlink-outside",
                    f"skipped: symbolic link to {target}, outside the scanned folder (--follow-links reads it)",
                )
                continue
            try:
                est = p.stat()
            except OSError as exc:
                code = "broken-symlink" if e.is_symlink() else "unreadable-file"
                yield ParseIssue(Location(_display(p)), code, f"cannot read: {exc.strerror}")
                continue
            if stat.S_ISDIR(est.st_mode):
                subdirs.append(p)
            elif e.name.startswith(".") and e.name != ".":
                continue  # editor swap files, .DS_Store and the like are never mail evidence
            else:
                yield from _one(p, root, est)
        # Reverse so the stack pops folders in sorted order.
        stack.extend(reversed(subdirs))


def compression_of(head: bytes) -> str | None:
    """The compression format named by the first bytes, if any."""
    for magic, name in _MAGIC:
        if head.startswith(magic):
            return name
    return None


class _Prefixed(io.RawIOBase):
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
        data = self._inner.read1(min(len(b), _STEP))  # type: ignore[attr-defined]
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
            chunk = self._inner.read(_CHUNK)
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


def _open_regular(path: Path) -> BinaryIO:
    """Open a file for reading without ever blocking: a FIFO swapped in after discovery is refused."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    fd = os.open(path, flags)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(errno.EINVAL, "not a regular file", str(path))
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        return open(fd, "rb", buffering=_CHUNK)
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
        return open(fd, "rb", buffering=_CHUNK)
    except BaseException:
        os.close(fd)
        raise


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
                rest = self._source.read(_CHUNK)
                if not rest:
                    self._done = True
                    return b""
            if not rest.startswith(b"\x1f\x8b"):
                self._done = True
                self._error = gzip.BadGzipFile("trailing data after the last gzip member")
                return b""
            self._d = d = zlib.decompressobj(wbits=31)  # the next member
            return d.decompress(rest, _STEP)
        if d.unconsumed_tail:
            return d.decompress(d.unconsumed_tail, _STEP)
        chunk = self._source.read(_CHUNK)
        if not chunk:
            self._done = True
            self._error = EOFError("Compressed file ended before the end-of-stream marker was reached")
            return d.flush()  # whatever a truncated stream still holds
        try:
            return d.decompress(chunk, _STEP)
        except zlib.error as exc:
            self._done = True
            self._error = exc
            return b""


def _decompressor(kind: str, source: BinaryIO) -> BinaryIO:
    if kind == "gzip":
        return io.BufferedReader(_GzipMembers(source), buffer_size=_STEP)
    if kind == "bz2":
        return bz2.BZ2File(source, "rb")  # type: ignore[return-value]
    return lzma.LZMAFile(source, "rb")  # type: ignore[return-value]


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
        raw = io.BufferedReader(_Prefixed(head, pipe), buffer_size=_CHUNK)
    elif f.path is None:
        stdin = sys.stdin.buffer
        head = stdin.read(8)
        raw = io.BufferedReader(_Prefixed(head, stdin), buffer_size=_CHUNK)
    else:
        raw = _open_regular(f.path)
        try:
            head = raw.read(8)
            raw.seek(0)
        except BaseException:
            raw.close()
            raise
    kind = compression_of(head)
    stream = raw
    if kind is not None:
        counted = _Counting(raw)
        stream = io.BufferedReader(_Guarded(_decompressor(kind, counted), counted), buffer_size=_CHUNK)  # type: ignore[arg-type]
    return Opened(_transcode(stream), kind, _position_of(raw) if f.path is not None else _zero)


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


def _transcode(stream: BinaryIO) -> BinaryIO:
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
    return io.BufferedReader(_Transcoded(stream, encoding), buffer_size=_CHUNK)


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
    return head, io.BufferedReader(_Prefixed(head, stream), buffer_size=1 << 16)
