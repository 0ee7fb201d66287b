"""Writing one file's records to the index: the fast event encoding, spooled batches, one short transaction."""

from __future__ import annotations

import contextlib
import dataclasses
import enum
import json
import pickle
import sqlite3
import tempfile
from collections.abc import Iterator
from datetime import datetime
from typing import IO, Any

from ..models import Event, Location, ParseIssue
from ..serialize import dumps, to_dict
from ..sources import InputFile
from .core import IndexCore
from .ids import event_ids, stat_key
from .schema import SKIPPED_REASON_KEY

BATCH = 2000
"""Records buffered before one executemany: bounded memory, few round trips."""


def _default_of(f: dataclasses.Field[Any]) -> Any:
    if f.default is not dataclasses.MISSING:
        return f.default
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    return dataclasses.MISSING


_EVENT_DEFAULTS = tuple((f.name, _default_of(f)) for f in dataclasses.fields(Event))


def _encode_value(value: Any) -> Any:
    """`serialize._encode` for the values an Event holds, with the common types first."""
    t = type(value)
    if value is None or t is str or t is int or t is bool or t is float:
        return value
    if isinstance(value, enum.Enum):
        return value.value
    if t is datetime:
        return value.isoformat()
    if t is Location:
        return {"path": value.path, "line": value.line} if value.line else {"path": value.path}
    if isinstance(value, (tuple, list)):
        return [_encode_value(v) for v in value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return to_dict(value)
    return str(value)


def event_json(event: Event) -> str:
    """`serialize.dumps(event)`, byte for byte, without the per-field introspection.

    Writing the index made a scan two to three times slower, most of it in the generic
    dataclass-to-dict walk; this reads the instance dict against precomputed defaults.
    """
    values = event.__dict__
    out: dict[str, Any] = {}
    for name, default in _EVENT_DEFAULTS:
        value = values[name]
        if value == default:
            continue
        out[name] = _encode_value(value)
    return json.dumps(out, separators=(",", ":"), ensure_ascii=False)


class FileWriter:
    """Stores one file's records in one transaction; a database failure only stops caching, never the scan."""

    def __init__(
        self, index: IndexCore, f: InputFile, fmt: str | None, compression: str | None, parse_key: str = ""
    ) -> None:
        self._parse_key = parse_key
        self._index = index
        self._file = f
        self._fmt = fmt
        self._compression = compression
        self._key = stat_key(f.path) if f.path is not None else None
        self._events: list[tuple[int, str, list[tuple[str, str]]]] = []
        self._issues: list[tuple[int, str]] = []
        self._seq = 0
        self._file_id: int | None = None
        self._dead = self._key is None or index.conn is None
        self._open = False
        self._spool: IO[bytes] | None = None
        self._spooled = 0

    def add(self, record: Event | ParseIssue) -> None:
        if self._dead:
            return
        self._seq += 1
        if isinstance(record, Event):
            self._events.append((self._seq, event_json(record), event_ids(record)))
        else:
            self._issues.append((self._seq, dumps(record)))
        if len(self._events) + len(self._issues) >= BATCH:
            self._spill()

    def _spill(self) -> None:
        """Move the buffered batch to a temporary file: memory stays bounded and no lock is held yet.

        Holding the database's write lock from the first batch to the end of a file made the
        `--jobs` workers wait for each other for the whole parse; now a file's rows are written
        in one short transaction at `commit`.
        """
        try:
            if self._spool is None:
                # Closed by commit/abort (`_close_spool`); a context manager cannot span the file's parse.
                self._spool = tempfile.TemporaryFile(prefix="imsdiag-index-")  # noqa: SIM115
            pickle.dump((self._events, self._issues), self._spool, protocol=pickle.HIGHEST_PROTOCOL)
        except OSError as exc:  # a full temp folder only stops caching this file
            self._fail(exc)
            return
        self._spooled += 1
        self._events = []
        self._issues = []

    def _batches(self) -> Iterator[tuple[list[tuple[int, str, list[tuple[str, str]]]], list[tuple[int, str]]]]:
        if self._spool is not None:
            self._spool.seek(0)
            for _ in range(self._spooled):
                yield pickle.load(self._spool)
        yield self._events, self._issues

    def _close_spool(self) -> None:
        if self._spool is not None:
            self._spool.close()
            self._spool = None
            self._spooled = 0

    def commit(self, counters: dict[str, int], skipped_reason: str | None = None) -> None:
        if self._dead:
            return
        conn = self._index.conn
        if conn is None:
            return
        try:
            self._start()
            for events, issues in self._batches():
                self._write(events, issues)
            stored: dict[str, object] = dict(counters)
            if skipped_reason:
                stored[SKIPPED_REASON_KEY] = skipped_reason
            conn.execute("UPDATE files SET counters=? WHERE id=?", (json.dumps(stored), self._file_id))
            conn.execute("COMMIT")
            self._open = False
        except (sqlite3.Error, OSError, pickle.UnpicklingError, EOFError) as exc:
            self._fail(exc)
        self._close_spool()
        self._events.clear()
        self._issues.clear()
        self._dead = True

    def abort(self) -> None:
        if self._open and self._index.conn is not None:
            with contextlib.suppress(sqlite3.Error):
                self._index.conn.execute("ROLLBACK")
        self._open = False
        self._dead = True
        self._events.clear()
        self._issues.clear()
        self._close_spool()

    def _start(self) -> None:
        conn = self._index.conn
        assert conn is not None and self._key is not None
        path, size, mtime_ns = self._key
        # BEGIN IMMEDIATE takes the write lock now, so two runs never interleave one file's rows.
        conn.execute("BEGIN IMMEDIATE")
        self._open = True
        forget_file(conn, path)
        cur = conn.execute(
            "INSERT INTO files(path, size, mtime_ns, display, format, compression, server_hint, parse_key)"
            " VALUES (?,?,?,?,?,?,?,?)",
            (
                path,
                size,
                mtime_ns,
                self._file.display,
                self._fmt,
                self._compression,
                self._file.server_hint,
                self._parse_key,
            ),
        )
        self._file_id = cur.lastrowid

    def _write(self, events: list[tuple[int, str, list[tuple[str, str]]]], issues: list[tuple[int, str]]) -> None:
        """Insert one batch inside the open transaction."""
        conn = self._index.conn
        assert conn is not None
        fid = self._file_id
        conn.executemany(
            "INSERT INTO records(file_id, seq, kind, data) VALUES (?,?,'i',?)",
            [(fid, seq, data) for seq, data in issues],
        )
        # Rowids are given, not read back row by row, so each batch is two executemany calls.
        # BEGIN IMMEDIATE holds the write lock, so no other writer can take these rowids.
        (top,) = conn.execute("SELECT COALESCE(MAX(rowid), 0) FROM records").fetchone()
        rows = [(top + i, fid, seq, data) for i, (seq, data, _ids) in enumerate(events, 1)]
        conn.executemany("INSERT INTO records(rowid, file_id, seq, kind, data) VALUES (?,?,?,'e',?)", rows)
        conn.executemany(
            "INSERT INTO ids(id_norm, kind, event_rowid, file_id) VALUES (?,?,?,?)",
            [(n, k, top + i, fid) for i, (_seq, _data, ids) in enumerate(events, 1) for n, k in ids],
        )

    def _fail(self, exc: Exception) -> None:
        self.abort()
        self._index.trouble(exc, f"caching {self._file.display}")


def forget_file(conn: sqlite3.Connection, abs_path: str) -> None:
    """Drop a file's rows (inside the caller's transaction)."""
    row = conn.execute("SELECT id FROM files WHERE path=?", (abs_path,)).fetchone()
    if row is None:
        return
    fid = row["id"]
    conn.execute("DELETE FROM ids WHERE file_id=?", (fid,))
    conn.execute("DELETE FROM records WHERE file_id=?", (fid,))
    conn.execute("DELETE FROM files WHERE id=?", (fid,))
