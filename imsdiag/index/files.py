"""Reading from the index what it holds of a file: is the stored copy current, and its records replayed."""

from __future__ import annotations

import itertools
import json
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import replace

from ..models import Event, EventTally, Location
from ..sources import InputFile
from .blocks import StoredRecord, record_of, unpack
from .core import IndexCore
from .damage import DECODE_ERRORS
from .ids import stat_key
from .records import FileWriter
from .schema import SKIPPED_REASON_KEY


class CachedFile:
    """A file whose records are in the index and still current."""

    def __init__(
        self,
        index: IndexCore,
        file_id: int,
        row: sqlite3.Row,
        display: str,
        reparse: Callable[[], Iterable[StoredRecord]] | None = None,
    ) -> None:
        self._index = index
        self._conn = index.conn
        self._file_id = file_id
        self._reparse = reparse
        self._stored_display: str = row["display"]
        self._display = display
        self.format: str | None = row["format"]
        self.compression: str | None = row["compression"]
        self.server_hint: str | None = row["server_hint"]
        stored = json.loads(row["counters"] or "{}")
        self.counters: dict[str, int] = {k: v for k, v in stored.items() if isinstance(v, int)}
        # Why a file was not read (a README, an empty file): a warm scan says what the cold one said.
        reason = stored.get(SKIPPED_REASON_KEY)
        self.skipped_reason: str | None = reason if isinstance(reason, str) else None

    def records(self) -> Iterator[StoredRecord]:
        """Every stored record of the file, in original order, with locations under today's display path.

        Damage met half way (records already handed to the scan) cannot be undone: the rest of the
        file comes from the parser (`reparse`), which makes the same records in the same order.
        """
        done = 0
        try:
            if self._conn is None:
                raise sqlite3.ProgrammingError("the index was closed")
            cur = self._conn.execute("SELECT data FROM blocks WHERE file_id=? ORDER BY seq", (self._file_id,))
            for (data,) in cur:
                for line in unpack(data)[0]:
                    yield self._relocated(record_of(line))
                    done += 1
        except (sqlite3.Error, *DECODE_ERRORS) as exc:
            self._index.trouble(exc, f"reading {self._display}")
            if self._reparse is None:
                raise
            self._index.warn(f"index: the rest of {self._display} was read from the log itself")
            fresh = self._reparse()
            try:
                yield from itertools.islice(fresh, done, None)
            finally:
                close = getattr(fresh, "close", None)
                if close is not None:
                    close()

    def _relocated(self, record: StoredRecord) -> StoredRecord:
        if isinstance(record, Event):
            return self._relocate_event(record)
        if isinstance(record, EventTally) and self._display != self._stored_display:
            peers = tuple(replace(e, location=self._relocate(e.location)) for e in record.peers)
            return replace(record, location=self._relocate(record.location), peers=peers)
        return replace(record, location=self._relocate(record.location))

    def _relocate(self, loc: Location) -> Location:
        # The display path depends on the working folder of the run that indexed the file.
        if loc.path == self._stored_display and self._display != self._stored_display:
            return Location(self._display, loc.line)
        return loc

    def _relocate_event(self, event: Event) -> Event:
        if self._display == self._stored_display:
            return event
        hops = tuple(replace(h, location=self._relocate(h.location)) if h.location else h for h in event.received)
        return replace(event, location=self._relocate(event.location), received=hops)


class FileStore(IndexCore):
    """The index's files: the stored copy of a file when current, which files are stale, writers for new ones."""

    def cached_file(
        self,
        f: InputFile,
        parse_key: str | None = None,
        reparse: Callable[[], Iterable[StoredRecord]] | None = None,
    ) -> CachedFile | None:
        """The stored file when its size, mtime and parse settings still match; None when absent, stale or stdin.

        `parse_key` names the settings that change what a parser makes of the same bytes (zones, the
        year of year-less stamps, a forced format): a file parsed under other settings is read again.
        None accepts whatever settings the stored copy was parsed with (explain reads what scan stored).
        `reparse` (the file's records from the parser) finishes a replay the database fails half way.
        """
        if f.path is None or self.conn is None:
            return None
        key = stat_key(f.path)
        if key is None:
            return None
        try:
            row = self.conn.execute("SELECT * FROM files WHERE path=?", (key[0],)).fetchone()
            if (
                row is None
                or row["size"] != key[1]
                or row["mtime_ns"] != key[2]
                or (parse_key is not None and row["parse_key"] != parse_key)
            ):
                return None
            return CachedFile(self, row["id"], row, f.display, reparse)
        except (sqlite3.Error, *DECODE_ERRORS) as exc:
            self.trouble(exc, f"reading {f.display}")
            return None

    def stale_files(self, files: Sequence[InputFile]) -> list[InputFile]:
        """The files not stored as they are now (absent, or size/mtime changed), with one query for all."""
        if self.conn is None:
            return [f for f in files if f.path is not None]
        try:
            stored = {
                row["path"]: (row["size"], row["mtime_ns"])
                for row in self.conn.execute("SELECT path, size, mtime_ns FROM files")
            }
        except sqlite3.Error as exc:
            self.trouble(exc, "reading the file list")
            return [f for f in files if f.path is not None]
        stale = []
        for f in files:
            if f.path is None:
                continue
            key = stat_key(f.path)
            if key is None or stored.get(key[0]) != (key[1], key[2]):
                stale.append(f)
        return stale

    def begin_file(self, f: InputFile, fmt: str | None, compression: str | None, parse_key: str = "") -> FileWriter:
        """A writer for one file's records; nothing is stored until `commit`. stdin is never stored."""
        return FileWriter(self, f, fmt, compression, parse_key)
