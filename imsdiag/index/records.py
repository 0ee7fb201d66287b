"""Writing one file's records to the index: the fast event encoding, compressed blocks, one short transaction."""

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

from ..models import Event, EventTally, Location, LogSpan, ParseIssue
from ..serialize import dumps, to_dict
from ..sources import InputFile
from . import blocks
from .core import IndexCore
from .damage import DECODE_ERRORS
from .ids import KIND_CODE, event_ids, stat_key
from .schema import SKIPPED_REASON_KEY, SPANS_KEY

SPOOL_BYTES = 4 << 20
"""Compressed blocks kept in memory before they move to a temporary file: memory stays bounded on any file."""

Sealed = tuple[bytes, list[blocks.Key]]
"""A finished block: its packed records and keys, and the keys for its `ids` rows."""


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
        self._lines: list[str] = []
        self._line_bytes = 0
        self._keys: dict[blocks.Key, None] = {}
        self._sealed: list[Sealed] = []
        self._sealed_bytes = 0
        self._file_id: int | None = None
        self._dead = self._key is None or index.conn is None
        self._open = False
        self._spool: IO[bytes] | None = None
        self._spooled = 0
        self._spans = 0

    def add(self, record: Event | ParseIssue | EventTally | LogSpan) -> None:
        if self._dead:
            return
        if isinstance(record, Event):
            line = blocks.EVENT + event_json(record)
            for n, kind in event_ids(record):
                self._keys[(n, KIND_CODE[kind])] = None
        elif isinstance(record, LogSpan):
            # Keyed by every id its lines name: a lookup of one of them reads the span from the log.
            line = blocks.SPAN + dumps(record)
            self._spans += 1
            for n, kind in record.ids:
                self._keys[(n, KIND_CODE[kind])] = None
        elif isinstance(record, EventTally):
            line = blocks.TALLY + dumps(record)  # replayed by warm scans; it names no id
        else:
            line = blocks.ISSUE + dumps(record)
        self._lines.append(line)
        self._line_bytes += len(line)
        if len(self._lines) >= blocks.BLOCK_RECORDS or self._line_bytes >= blocks.BLOCK_BYTES:
            self._seal()

    def _seal(self) -> None:
        """Compress the open block now, while parsing: the write lock is held only for the inserts."""
        keys = list(self._keys)
        data = blocks.pack(self._lines, keys)
        self._sealed.append((data, keys))
        # The keys count too: a block of short records can hold more ids than its compressed size suggests.
        self._sealed_bytes += len(data) + 64 * len(keys)
        self._lines = []
        self._line_bytes = 0
        self._keys = {}
        if self._sealed_bytes > SPOOL_BYTES:
            self._spill()

    def _spill(self) -> None:
        """Move the sealed blocks to a temporary file: memory stays bounded and no lock is held yet.

        Holding the database's write lock from the first block to the end of a file made the
        `--jobs` workers wait for each other for the whole parse; now a file's rows are written
        in one short transaction at `commit`.
        """
        try:
            if self._spool is None:
                # Closed by commit/abort (`_close_spool`); a context manager cannot span the file's parse.
                self._spool = tempfile.TemporaryFile(prefix="imsdiag-index-")  # noqa: SIM115
            pickle.dump(self._sealed, self._spool, protocol=pickle.HIGHEST_PROTOCOL)
        except OSError as exc:  # a full temp folder only stops caching this file
            self._fail(exc)
            return
        self._spooled += 1
        self._sealed = []
        self._sealed_bytes = 0

    def _blocks(self) -> Iterator[Sealed]:
        if self._spool is not None:
            self._spool.seek(0)
            for _ in range(self._spooled):
                yield from pickle.load(self._spool)
        yield from self._sealed

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
            if self._lines:
                self._seal()
            self._start()
            for seq, block in enumerate(self._blocks()):
                self._write(seq, block)
            stored: dict[str, object] = dict(counters)
            if skipped_reason:
                stored[SKIPPED_REASON_KEY] = skipped_reason
            if self._spans:
                stored[SPANS_KEY] = str(self._spans)  # a string: it is no counter of the file
            conn.execute("UPDATE files SET counters=? WHERE id=?", (json.dumps(stored), self._file_id))
            conn.execute("COMMIT")
            self._open = False
        except (sqlite3.Error, OSError, pickle.UnpicklingError, EOFError, *DECODE_ERRORS) as exc:
            self._fail(exc)
        self._close_spool()
        self._drop_buffers()
        self._dead = True

    def _drop_buffers(self) -> None:
        self._lines = []
        self._keys = {}
        self._sealed = []

    def abort(self) -> None:
        if self._open and self._index.conn is not None:
            with contextlib.suppress(sqlite3.Error):
                self._index.conn.execute("ROLLBACK")
        self._open = False
        self._dead = True
        self._drop_buffers()
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

    def _write(self, seq: int, block: Sealed) -> None:
        """Insert one block and the ids its events carry, inside the open transaction."""
        conn = self._index.conn
        assert conn is not None
        data, keys = block
        fid = self._file_id
        cur = conn.execute("INSERT INTO blocks(file_id, seq, data) VALUES (?,?,?)", (fid, seq, data))
        bid = cur.lastrowid
        conn.executemany(
            "INSERT INTO ids(id_norm, block_id, kind, file_id) VALUES (?,?,?,?)",
            [(n, bid, k, fid) for n, k in keys],
        )

    def _fail(self, exc: Exception) -> None:
        self.abort()
        self._index.trouble(exc, f"caching {self._file.display}")


def forget_file(conn: sqlite3.Connection, abs_path: str) -> None:
    """Drop a file's rows (inside the caller's transaction).

    `ids` is keyed by the id text, so its rows are deleted by key, from the keys kept with each block:
    a second index by file would store every id twice.
    """
    row = conn.execute("SELECT id FROM files WHERE path=?", (abs_path,)).fetchone()
    if row is None:
        return
    fid = row["id"]
    for (bid,) in conn.execute("SELECT id FROM blocks WHERE file_id=?", (fid,)).fetchall():
        # One block in memory at a time: a large file's blocks are megabytes.
        (data,) = conn.execute("SELECT data FROM blocks WHERE id=?", (bid,)).fetchone()
        _lines, keys = blocks.unpack(data)
        conn.executemany("DELETE FROM ids WHERE id_norm=? AND block_id=? AND kind=?", [(n, bid, k) for n, k in keys])
    conn.execute("DELETE FROM blocks WHERE file_id=?", (fid,))
    conn.execute("DELETE FROM files WHERE id=?", (fid,))
