"""Input discovery: walk paths in a stable order, open files (gz/bz2/xz transparently), guess the server."""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import os
import stat
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from .models import Location, ParseIssue

SNIFF_BYTES = 16384

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


def discover(paths: Sequence[str]) -> Iterator[InputFile | ParseIssue]:
    """Yield every file under `paths` in a stable (sorted) order, and an issue for each one skipped.

    Folders are walked recursively without following symlinked folders twice (a symlink loop
    is reported, not followed forever); FIFOs, sockets and devices are skipped with a note.
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
            yield from _walk(p)
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


def _walk(root: Path) -> Iterator[InputFile | ParseIssue]:
    seen_dirs: set[tuple[int, int]] = set()
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
        data = self._rest.read(len(b))
        n = len(data)
        b[:n] = data
        return n


def open_binary(f: InputFile) -> tuple[BinaryIO, str | None]:
    """Open an input for reading bytes, decompressing by content; returns the stream and compression."""
    raw: BinaryIO
    if f.path is None:
        stdin = sys.stdin.buffer
        head = stdin.read(8)
        raw = io.BufferedReader(_Prefixed(head, stdin), buffer_size=1 << 16)
    else:
        raw = open(f.path, "rb", buffering=1 << 16)  # noqa: SIM115 - closed by the caller
        head = raw.read(8)
        raw.seek(0)
    kind = compression_of(head)
    if kind is None:
        return raw, None
    if f.path is not None:
        # Reopen by name so the decompressor owns (and closes) the file handle.
        raw.close()
        if kind == "gzip":
            return gzip.open(f.path, "rb"), kind  # type: ignore[return-value]
        if kind == "bz2":
            return bz2.open(f.path, "rb"), kind  # type: ignore[return-value]
        return lzma.open(f.path, "rb"), kind  # type: ignore[return-value]
    if kind == "gzip":
        return gzip.GzipFile(fileobj=raw, mode="rb"), kind  # type: ignore[return-value]
    if kind == "bz2":
        return bz2.BZ2File(raw, "rb"), kind  # type: ignore[return-value]
    return lzma.LZMAFile(raw, "rb"), kind  # type: ignore[return-value]


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
