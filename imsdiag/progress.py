"""Scan progress on stderr (files, bytes, rate, ETA), shown only on a terminal and never when quiet."""

from __future__ import annotations

import os
import sys
from types import TracebackType

from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)
from rich.progress import Progress as RichProgress
from rich.table import Column

from .console import make_console, make_error_console
from .textsafe import safe_markup

_NAME_WIDTH = 30
"""Characters of the current file name shown; the tail is kept because it names the file."""


def _shorten(display: str, width: int = _NAME_WIDTH) -> str:
    # Paths differ at their end (L0000001.LOG vs L0000002.LOG), so cut from the left.
    return display if len(display) <= width else "…" + display[-(width - 1) :]


class NullProgress:
    """Progress that shows nothing: quiet runs, pipes, CI logs and library use."""

    def start(self, total_files: int, total_bytes: int) -> None:
        """Begin a scan of `total_files` files holding `total_bytes` bytes (0 when unknown)."""

    def file_started(self, display: str) -> None:
        """A file (its display path) is being read."""

    def advance(self, nbytes: int) -> None:
        """`nbytes` more bytes were read."""

    def file_done(self) -> None:
        """The current file is finished."""

    def stop(self) -> None:
        """End the display; safe to call more than once."""

    def __enter__(self) -> NullProgress:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


class Progress(NullProgress):
    """A rich progress bar on a stderr console: current file, files done, bytes, rate and ETA.

    The engine calls `advance` per file or per ~1 MB, so each call is a counter update under
    rich's lock; drawing happens on rich's own refresh thread at a few frames per second.
    Calls before `start` or after `stop` are ignored rather than raising: progress must never
    break a scan.
    """

    def __init__(self, console: Console | None = None, *, transient: bool = True) -> None:
        self._console = console if console is not None else make_error_console()
        # Transient: the bar vanishes when done, so the terminal keeps only the report.
        self._progress = RichProgress(
            # A fixed-width name column keeps the bar from jumping as file names change length.
            TextColumn("{task.description}", table_column=Column(width=_NAME_WIDTH, no_wrap=True)),
            BarColumn(bar_width=None),  # the bar takes what the other columns leave (80-column ttys)
            TextColumn("{task.fields[files_done]}/{task.fields[files_total]} files"),
            DownloadColumn(),
            TransferSpeedColumn(),
            TimeRemainingColumn(),
            console=self._console,
            transient=transient,
            # The report goes to stdout after the scan; rich must not hijack sys.stdout/stderr
            # (click's test runner and `-o -` swap them).
            redirect_stdout=False,
            redirect_stderr=False,
            refresh_per_second=4,
            expand=True,
        )
        self._task: TaskID | None = None
        self._files_done = 0

    def start(self, total_files: int, total_bytes: int) -> None:
        """Show the bar; an unknown total (stdin, 0 bytes) gives a pulsing bar without ETA."""
        if self._task is not None:
            return
        self._files_done = 0
        self._task = self._progress.add_task(
            "starting",
            total=total_bytes if total_bytes > 0 else None,
            files_done=0,
            files_total=max(total_files, 0),
        )
        self._progress.start()

    def file_started(self, display: str) -> None:
        """Name the file being read; the name is escaped (a file name may hold ESC or `[markup]`)."""
        if self._task is not None:
            self._progress.update(self._task, description=safe_markup(_shorten(display), _NAME_WIDTH))

    def advance(self, nbytes: int) -> None:
        """Count `nbytes` more bytes read."""
        if self._task is not None and nbytes > 0:
            self._progress.advance(self._task, nbytes)

    def file_done(self) -> None:
        """Count one more finished file."""
        if self._task is not None:
            self._files_done += 1
            self._progress.update(self._task, files_done=self._files_done)

    def stop(self) -> None:
        """Stop drawing (the last frame is cleared when transient); idempotent."""
        if self._task is not None:
            self._progress.stop()
            self._task = None


def _stderr_is_terminal() -> bool:
    if os.environ.get("TERM") == "dumb":
        return False  # a dumb terminal cannot redraw a bar in place
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):  # closed or replaced stderr
        return False


def _terminal_width() -> int | None:
    try:
        columns = os.get_terminal_size(sys.stderr.fileno()).columns
    except (AttributeError, ValueError, OSError):  # no real fd (tests, IDEs): let rich decide
        return None
    # A pseudo-terminal that never got a size (`script`, some CI runners) reports 0 columns: a bar
    # 0 columns wide draws nothing at all, so fall back to the classic 80.
    return columns if columns > 0 else 80


def make_progress(quiet: bool, color: str) -> Progress | NullProgress:
    """A stderr progress bar when stderr is a terminal and not `quiet`, else a silent stand-in.

    `color` follows `--color`: with `never` (or NO_COLOR) the bar is drawn without colour.
    """
    if quiet or not _stderr_is_terminal():
        return NullProgress()
    # make_console pins 100 columns when colour is off (for piped reports); a live bar must fit
    # the real terminal instead, or every redraw wraps and scrolls.
    return Progress(make_console(sys.stderr, color, _terminal_width()))
