"""Input discovery: walk paths in a stable order, skip what is no file, and guess each file's server from its path."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from .inputs import SNIFF_BYTES, Opened, open_binary, open_input, read_error_code, read_head, size_change
from .models import Location, ParseIssue
from .streams import HighExpansion, compression_of, text_encoding_of

# Opening and decoding moved to inputs and streams; callers may still import those names from here.
__all__ = [
    "LAYOUT_DIRS",
    "SNIFF_BYTES",
    "HighExpansion",
    "InputFile",
    "Opened",
    "compression_of",
    "discover",
    "is_stream_path",
    "open_binary",
    "open_input",
    "read_error_code",
    "read_head",
    "server_from_path",
    "size_change",
    "text_encoding_of",
]

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
    url: str | None = None
    """An fsspec URL (`s3://bucket/mx1/maillog`, see `urls.py`): `path` stays None, the index is not used."""


def _display(p: Path) -> str:
    if not p.is_absolute() and ".." not in p.parts:
        return str(p)  # what relpath gives, without its two absolute paths per file
    try:
        rel = os.path.relpath(p)
    except ValueError:  # another drive on Windows
        return str(p)
    return str(p) if rel.startswith(_UP_TWO) else rel


_UP_TWO = ".." + os.sep + ".."
"""A display name starting so is further from the working folder than its absolute path says plainly."""


class _FolderNames:
    """`_display` and `server_from_path` for the files of one folder, each worked out once per folder: a walk
    of 4,000 files under an absolute path spent most of its time in `os.path.relpath`."""

    def __init__(self, folder: Path, root: Path) -> None:
        self.server = _server_of_folder(folder, root)
        self._rel: str | None = None
        if folder.is_absolute() or ".." in folder.parts:
            try:
                self._rel = os.path.relpath(folder)
            except ValueError:  # another drive on Windows: files are shown by their paths
                self._rel = None

    def display(self, p: Path) -> str:
        if self._rel is None:
            return str(p)
        # relpath(folder/name) is relpath(folder)/name: the name holds no separator and is no `.` or `..`.
        rel = p.name if self._rel == os.curdir else os.path.join(self._rel, p.name)
        return str(p) if rel.startswith(_UP_TWO) else rel


def server_from_path(path: Path, root: Path | None) -> str | None:
    """Nearest folder above the file, below the scan root, that is not a layout folder name."""
    return _server_of_folder(path.parent, root)


def _server_of_folder(folder: Path, root: Path | None) -> str | None:
    """`server_from_path` of any file in `folder` (a walk asks once per folder, not once per file)."""
    parents = list(folder.parts)
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
        if _is_url(raw):
            from .urls import discover_url  # fsspec is imported only for a URL

            yield from discover_url(raw)
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
            yield from _one(p, st, _FolderNames(p.parent, p.parent))  # a file named alone is its own root


def _is_url(raw: str) -> bool:
    """A `scheme://` path that is no local file (a folder really named `file:` is still read as one)."""
    from .urls import is_url

    return is_url(raw) and not os.path.lexists(raw)


def _one(p: Path, st: os.stat_result, names: _FolderNames) -> Iterator[InputFile | ParseIssue]:
    disp = names.display(p)
    if not stat.S_ISREG(st.st_mode):
        kind = "FIFO" if stat.S_ISFIFO(st.st_mode) else "socket" if stat.S_ISSOCK(st.st_mode) else "device"
        yield ParseIssue(Location(disp), "not-a-file", f"skipped: {kind}, not a regular file")
        return
    yield InputFile(
        display=disp,
        path=p,
        size=st.st_size,
        mtime=st.st_mtime,
        server_hint=names.server,
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
        names = _FolderNames(d, root)
        for e in entries:
            p = d / e.name  # only the name is parsed, not the whole path again
            # A link out of the folder could make a scan (as root) read /etc/shadow into a report.
            target = None if follow_links else _outside(e, real_root)
            if target is not None:
                yield ParseIssue(
                    Location(names.display(p)),
                    "symlink-outside",
                    f"skipped: symbolic link to {target}, outside the scanned folder (--follow-links reads it)",
                )
                continue
            try:
                est = e.stat()  # follows a link, as Path.stat does, without building the path again
            except OSError as exc:
                code = "broken-symlink" if e.is_symlink() else "unreadable-file"
                yield ParseIssue(Location(names.display(p)), code, f"cannot read: {exc.strerror}")
                continue
            if stat.S_ISDIR(est.st_mode):
                subdirs.append(p)
            elif e.name.startswith(".") and e.name != ".":
                continue  # editor swap files, .DS_Store and the like are never mail evidence
            else:
                yield from _one(p, est, names)
        # Reverse so the stack pops folders in sorted order.
        stack.extend(reversed(subdirs))
