"""Writing reports and baselines: atomic file writes (never a half-written file) or the given stream."""

from __future__ import annotations

import contextlib
import io
import os
import tempfile
from pathlib import Path
from typing import TextIO

from .errors import InputError
from .reporters.base import Reporter
from .result import ScanResult


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
    mode = target.stat().st_mode & 0o7777 if target.exists() else _new_file_mode()
    fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding=encoding, newline="") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp_name, mode)
        os.replace(tmp_name, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp_name)
        raise


def render(reporter: Reporter, result: ScanResult) -> str:
    """The whole report as a string."""
    buffer = io.StringIO()
    reporter.report(result, buffer)
    return buffer.getvalue()


def write_report(reporter: Reporter, result: ScanResult, path: str | os.PathLike[str] | None, stdout: TextIO) -> None:
    """Render `result` with `reporter` to `path` (atomically) or, when `path` is None or `-`, to `stdout`.

    The report is rendered completely before anything is written, so a reporter error leaves no
    partial output. A file that cannot be written raises InputError (exit code 3).
    """
    if path is None or os.fspath(path) == "-":
        reporter.report(result, stdout)
        stdout.flush()
        return
    text = render(reporter, result)
    try:
        atomic_write_text(path, text)
    except OSError as exc:
        raise InputError(f"cannot write report to {os.fspath(path)}: {exc.strerror or exc}") from exc
