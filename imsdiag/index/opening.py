"""Opening the index file: only an imsdiag index is ever changed; a damaged one is moved aside and rebuilt."""

from __future__ import annotations

import os
import sqlite3
import stat
import time
from pathlib import Path
from typing import NamedTuple

from ..errors import InputError
from .damage import brief, is_busy, is_damage
from .schema import APP_ID, BUSY_TIMEOUT_MS, connect, default_index_path, validate

_SQLITE_MAGIC = b"SQLite format 3\x00"
_HEADER_SIZE = 100
_APP_ID_OFFSET = 68  # big-endian u32 in the database header (sqlite.org/fileformat.html)


class Opened(NamedTuple):
    """What opening found: the path asked for, a usable connection or None, warnings, and the file itself."""

    target: Path
    conn: sqlite3.Connection | None
    warnings: list[str]
    real: Path | None = None


def open_connection(path: Path | None) -> Opened:
    """Open (creating folders and schema) the index at `path` or the default one; see `open_index`."""
    target = path if path is not None else default_index_path()
    warnings: list[str] = []
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        warnings.append(f"index: cannot create {target.parent} ({exc.strerror}); running without it")
        return Opened(target, None, warnings)
    for attempt in range(2):
        state, what = state_of(target)
        real = Path(os.path.realpath(target))
        if state == "foreign":
            if path is not None:
                raise InputError(f"--index {target} is {what}, not an imsdiag index; refusing to use or change it")
            warnings.append(f"index: {target} is {what}, not an imsdiag index; left untouched, running without it")
            return Opened(target, None, warnings)
        try:
            checked = _connect_checked(real, quick=state == "ours")
        except sqlite3.Error as exc:
            unusable = _unusable(target, exc)
            if unusable is not None:
                warnings.append(unusable)
                return Opened(target, None, warnings)
            checked = f"damaged: {brief(exc)}"
        if not isinstance(checked, str):
            return Opened(target, checked, warnings, real)
        # Checked again just before the rename: only a file that is still ours is ever moved.
        if attempt == 0 and state_of(real)[0] == "ours":
            warnings.append(f"index: {target} is an imsdiag index that cannot be used ({checked}); rebuilding it")
            move_aside(real, warnings)
            continue
        break
    warnings.append(f"index: cannot open {target}; running without it")
    return Opened(target, None, warnings)


def _connect_checked(real: Path, quick: bool) -> sqlite3.Connection | str:
    """A connection to a usable index, or why the file is not one; errors it cannot judge are raised."""
    conn = connect(real)
    try:
        problem = validate(conn, quick=quick)
    except BaseException:
        conn.close()
        raise
    if problem is None:
        return conn
    conn.close()
    return problem


def _unusable(target: Path, exc: sqlite3.Error) -> str | None:
    """The warning for an error that leaves the file as it is (busy, read-only, full); None for damage."""
    if isinstance(exc, sqlite3.OperationalError) and is_busy(exc):
        return f"index: {target} is busy ({brief(exc)}); running without it"
    if not is_damage(exc):  # read-only, full, unreachable: the file may be fine, keep it
        return f"index: cannot use {target} ({brief(exc)}); running without it"
    return None


def inspect(path: Path) -> tuple[str, str]:
    """What is at `path`, without opening anything but a regular file.

    ("absent" | "empty" | "ours" | "unmarked" | "foreign", what it is in words). "unmarked" is an SQLite
    file with application id 0: a database just being created (by us) or another program's.
    """
    link = "a symlink to " if os.path.islink(path) else ""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return ("foreign", "a symlink to a missing file") if link else ("absent", "")
    except OSError as exc:
        return "foreign", f"{link}a path that cannot be examined ({exc.strerror})"
    if not stat.S_ISREG(st.st_mode):
        return "foreign", link + _kind_of(st.st_mode)
    if st.st_size == 0:
        return "empty", ""  # nothing to lose; also what a run that crashed while creating the index leaves
    try:
        # O_NONBLOCK: should a FIFO replace the file after the stat, opening it must not hang.
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                return "foreign", f"{link}not a regular file"
            head = os.read(fd, _HEADER_SIZE)
        finally:
            os.close(fd)
    except OSError as exc:
        return "foreign", f"{link}an unreadable file ({exc.strerror})"
    if len(head) < _HEADER_SIZE or not head.startswith(_SQLITE_MAGIC):
        return "foreign", f"{link}a file that is not an SQLite database"
    app_id = int.from_bytes(head[_APP_ID_OFFSET : _APP_ID_OFFSET + 4], "big")
    if app_id == APP_ID:
        return "ours", ""
    if app_id == 0:
        return "unmarked", ""
    return "foreign", f"{link}an SQLite database of another program (application id {app_id:#x})"


def _kind_of(mode: int) -> str:
    kinds = (
        (stat.S_ISDIR, "a directory"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISFIFO, "a FIFO"),
        (stat.S_ISSOCK, "a socket"),
    )
    return next((name for test, name in kinds if test(mode)), "not a regular file")


def state_of(path: Path) -> tuple[str, str]:
    """`inspect`, with an "unmarked" SQLite file resolved to "ours", "new" or "foreign".

    In WAL mode the application id we set may still be in the WAL, not yet in the file's header (a run
    creating the index right now): SQLite itself is asked, on a read-only connection, so another
    program's database is never written to (not even its journal mode).
    """
    state, what = inspect(path)
    if state != "unmarked":
        return state, what
    foreign = "foreign", "an SQLite database of another program (application id 0x0)"
    try:
        conn = sqlite3.connect(
            f"{Path(os.path.realpath(path)).as_uri()}?mode=ro", uri=True, timeout=BUSY_TIMEOUT_MS / 1000
        )
    except sqlite3.Error:
        return foreign
    try:
        if conn.execute("PRAGMA application_id").fetchone()[0] == APP_ID:
            return "ours", ""
        if conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0] == 0:
            return "new", ""
    except sqlite3.Error:
        pass
    finally:
        conn.close()
    return foreign


def file_ident(path: Path) -> tuple[int, int] | None:
    """(device, inode) of the file at `path`, or None when it cannot be stat'ed."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_dev, st.st_ino


def move_aside(path: Path, warnings: list[str]) -> None:
    """Rename a bad index (and its WAL files) to `<name>.bad-<time>`: kept for inspection, never trusted."""
    stamp = time.strftime("%Y%m%d%H%M%S")
    for suffix in ("", "-wal", "-shm"):
        src = Path(str(path) + suffix)
        try:
            if not stat.S_ISREG(os.lstat(src).st_mode):
                continue  # not SQLite's own WAL file: leave it
        except OSError:
            continue
        dst = Path(f"{path}.bad-{stamp}-{os.getpid()}{suffix}")
        try:
            src.replace(dst)
            if not suffix:
                warnings.append(f"index: old file kept as {dst}")
        except OSError as exc:
            warnings.append(f"index: cannot move {src} aside ({exc.strerror})")
