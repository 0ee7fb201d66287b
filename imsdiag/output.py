"""Writing reports and baselines: atomic file writes (never a half-written file) or the given stream."""

from __future__ import annotations

import contextlib
import io
import os
import stat
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO, TypeVar

from .errors import InputError
from .reporters.base import Reporter
from .textsafe import safe_text

R = TypeVar("R")


def _new_file_mode() -> int:
    # mkstemp creates 0600; a report should get the mode any new file gets under the user's umask.
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def atomic_write_text(path: str | os.PathLike[str], text: str, encoding: str = "utf-8") -> None:
    """Write `text` to `path` through a temporary file in the same folder, fsync, then `os.replace`.

    Readers see the old file or the complete new one, never a partial write; on any error the
    temporary file is removed and the exception propagates (OSError, UnicodeEncodeError).
    """
    target = Path(path)
    old = target.stat() if target.exists() else None
    mode = old.st_mode & 0o7777 if old is not None else _new_file_mode()
    fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding=encoding, newline="") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        if old is not None and hasattr(os, "chown") and os.geteuid() == 0:
            # Root replacing another user's report must not hand it over to root.
            with contextlib.suppress(OSError):
                os.chown(tmp_name, old.st_uid, old.st_gid)
        os.chmod(tmp_name, mode)
        os.replace(tmp_name, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp_name)
        raise


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISBLK(mode):
        return "a block device"
    return "not a regular file"


def _is_input(target: str, st: os.stat_result, inputs: Sequence[str], follow_links: bool) -> bool:
    """Whether `target` (a regular file, stat `st`) is one of the files a scan of `inputs` reads."""
    from .sources import InputFile, discover  # only needed when an existing file would be replaced

    real = os.path.realpath(target)
    for raw in inputs:
        if raw == "-":
            continue
        try:
            ist = os.stat(raw)
        except OSError:
            continue
        if os.path.samestat(st, ist):
            return True
        if not stat.S_ISDIR(ist.st_mode):
            continue
        root = os.path.realpath(raw)
        inside = os.path.commonpath([root, real]) == root
        # A file outside the folder with one link can only be read through a link the walk follows.
        if not inside and st.st_nlink == 1 and not follow_links:
            continue
        for item in discover([raw], follow_links=follow_links):
            if isinstance(item, InputFile) and item.path is not None:
                with contextlib.suppress(OSError):
                    if os.path.samestat(st, item.path.stat()):
                        return True
    return False


def resolve_target(
    path: str | os.PathLike[str], what: str, inputs: Sequence[str] = (), follow_links: bool = False
) -> tuple[str, bool]:
    """Where a write to `path` goes and whether it is atomic (a regular file or a new path); InputError if refused.

    A symbolic link is followed to its target (so the link survives); a character device or a FIFO
    is written in place; a directory, socket, block device, read-only file or scanned input is refused.
    """
    name = os.fspath(path)
    shown = safe_text(name, 300)
    try:
        st = os.stat(name)
    except FileNotFoundError:
        # A new file, or a link to one that does not exist yet: create the target, keep the link.
        return (os.path.realpath(name) if os.path.islink(name) else name), True
    except OSError as exc:
        raise InputError(f"cannot write {what} to {shown}: {exc.strerror or exc}") from exc
    mode = st.st_mode
    if stat.S_ISCHR(mode) or stat.S_ISFIFO(mode):
        # Opened by the name given: /dev/stdout and /dev/fd/N lead to the pipe itself, not a path.
        return name, False
    if not stat.S_ISREG(mode):
        raise InputError(f"refusing to write {what} to {shown}: it is {_kind(mode)}")
    target = os.path.realpath(name) if os.path.islink(name) else name
    # Root may write anything, so a file with no write permission bit counts as read-only too.
    if not os.access(target, os.W_OK) or not mode & 0o222:
        raise InputError(f"refusing to write {what} to {shown}: the file is read-only")
    if _is_input(target, st, inputs, follow_links):
        raise InputError(f"refusing to write {what} to {shown}: it is one of the scanned input files")
    return target, True


def _write_in_place(target: str, text: str) -> None:
    """Write to a character device or FIFO: opened as it is (no create, no rename), refused if swapped."""
    data = text.encode("utf-8")  # an encoding error must come before anything reaches the reader
    fd = os.open(target, os.O_WRONLY | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0))
    try:
        mode = os.fstat(fd).st_mode
        if not (stat.S_ISCHR(mode) or stat.S_ISFIFO(mode)):
            # Replaced by a file between the check and the open: never write into it without the checks.
            raise OSError(0, "it changed while being opened")
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
    finally:
        os.close(fd)


def write_text(
    path: str | os.PathLike[str] | None,
    text: str,
    stdout: TextIO,
    *,
    what: str = "report",
    inputs: Sequence[str] = (),
    follow_links: bool = False,
) -> None:
    """Write finished `text` to `path` (see `resolve_target`), or to `stdout` for None or `-`.

    Anything that cannot or must not be written raises InputError (exit code 3) with one line.
    """
    if path is None or os.fspath(path) == "-":
        stdout.write(text)
        stdout.flush()
        return
    target, atomic = resolve_target(path, what, inputs, follow_links)
    try:
        if atomic:
            atomic_write_text(target, text)
        else:
            _write_in_place(target, text)
    except OSError as exc:
        raise InputError(f"cannot write {what} to {safe_text(os.fspath(path), 300)}: {exc.strerror or exc}") from exc


def render(reporter: Reporter[R], result: R) -> str:
    """The whole report as a string."""
    buffer = io.StringIO()
    reporter.report(result, buffer)
    return buffer.getvalue()


def write_report(
    reporter: Reporter[R],
    result: R,
    path: str | os.PathLike[str] | None,
    stdout: TextIO,
    *,
    inputs: Sequence[str] = (),
    follow_links: bool = False,
) -> None:
    """Render `result` with `reporter` to `path` (atomically) or, when `path` is None or `-`, to `stdout`.

    The report is rendered completely before anything is written, so a reporter error leaves no
    partial output. A file that cannot or must not be written (see `resolve_target`; `inputs` are
    the scanned paths) raises InputError (exit code 3).
    """
    if path is None or os.fspath(path) == "-":
        reporter.report(result, stdout)
        stdout.flush()
        return
    write_text(path, render(reporter, result), stdout, inputs=inputs, follow_links=follow_links)
