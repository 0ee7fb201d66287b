"""The index's connection and what every part of it does when the database fails: warn, recover, or refuse."""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from pathlib import Path

from ..errors import ImsdiagError
from .blocks import Decoded
from .damage import DECODE_ERRORS, brief, is_damage
from .opening import file_ident, move_aside, open_connection, state_of
from .spanfile import SpanSource

MAX_WARNINGS = 20
"""Index warnings kept per run: a full disk must not add one note per file."""
MAX_RECOVERIES = 2
"""Fresh indexes one run may start after finding damage; past that it runs without the index."""


class IndexCore:
    """One connection (None once unusable), the run's index warnings, and recovery from a damaged file."""

    def __init__(
        self, path: Path, conn: sqlite3.Connection | None, warnings: list[str], real: Path | None = None
    ) -> None:
        self.path = path
        self.conn = conn
        self.warnings = warnings
        self._scope: list[int] | None = None
        self._real = real if real is not None else path
        """The file itself (a symlink at `path` resolved): what is checked and moved aside."""
        self._ident = file_ident(self._real) if conn is not None else None
        """(device, inode) of the file opened: a damaged index is moved aside only if it is still that file."""
        self._recoveries = 0
        self._block_texts: dict[int, str] = {}
        """Lookups' decompressed blocks by id (see lookups.BLOCK_CACHE_BYTES)."""
        self._decoded: Decoded = {}
        """Lookups' decoded events by their block line (see blocks.events_carrying)."""
        self._cached_bytes = 0
        self.span_reader: SpanSource | None = None
        self._extracted: set[int] | None = None
        """Reads log spans again for lookups (explain sets it: the index does not import the parsers)."""

    def warn(self, message: str) -> None:
        """Keep a warning for the report, once, and at most MAX_WARNINGS of them."""
        if message in self.warnings:
            return
        if len(self.warnings) < MAX_WARNINGS:
            self.warnings.append(message)
        elif len(self.warnings) == MAX_WARNINGS:
            self.warnings.append("index: further index warnings not shown")

    def trouble(self, exc: BaseException, what: str) -> None:
        """A database operation failed: warn; when the file is damaged, move it aside and go on with a fresh one.

        Busy, read-only or full databases are not damage: the operation is skipped, the file kept.
        """
        self.warn(f"index: {what} failed ({brief(exc)})")
        if self.conn is not None and is_damage(exc):
            self._recover()

    def _recover(self) -> None:
        conn, self.conn = self.conn, None
        if conn is not None:
            with contextlib.suppress(sqlite3.Error):
                conn.close()
        self._scope = None
        self._block_texts.clear()  # a fresh index numbers its blocks anew
        self._decoded.clear()
        self._extracted = None
        self._cached_bytes = 0
        self._recoveries += 1
        # Another run (or a --jobs worker) may have replaced the damaged file already: never move its fresh one.
        if file_ident(self._real) == self._ident and state_of(self._real)[0] == "ours":
            self.warn(f"index: {self.path} is damaged; moved aside, a fresh index is built")
            move_aside(self._real, self.warnings)
        if self._recoveries > MAX_RECOVERIES:
            self.warn("index: damaged again; running without it")
            return
        try:
            fresh = open_connection(self.path)
        except ImsdiagError as exc:  # something that is not ours appeared at the path meanwhile
            self.warn(f"index: {exc}; running without it")
            return
        for message in fresh.warnings:
            self.warn(message)
        self.conn = fresh.conn
        self._real = fresh.real if fresh.real is not None else self.path
        self._ident = file_ident(self._real) if fresh.conn is not None else None

    def _intact(self) -> None:
        """Lookups after a recovery would search a fresh, empty index and answer "not found": refuse instead."""
        if self._recoveries:
            raise sqlite3.DatabaseError("the index was found damaged in this run and started afresh")

    @contextlib.contextmanager
    def _answering(self, what: str) -> Iterator[None]:
        """For lookups: recover, then raise sqlite3.Error.

        An empty answer would read as "no log mentions this id"; the caller (explain) reads the logs instead.
        """
        try:
            yield
        except sqlite3.Error as exc:
            self.trouble(exc, what)
            raise
        except DECODE_ERRORS as exc:
            self.trouble(exc, what)
            raise sqlite3.DatabaseError(f"index record unreadable ({brief(exc)})") from exc

    def close(self) -> None:
        if self.conn is not None:
            with contextlib.suppress(sqlite3.Error):
                self.conn.close()
            self.conn = None
