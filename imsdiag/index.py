"""The embedded event index (stdlib sqlite3): parsed records per file, every id, the last scan's findings."""

from __future__ import annotations

import contextlib
import dataclasses
import difflib
import enum
import functools
import hashlib
import itertools
import json
import os
import pickle
import sqlite3
import stat
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from .errors import ImsdiagError, InputError
from .models import Event, Finding, Location, ParseIssue
from .names import normalize_message_id
from .result import ScanContext
from .serialize import dumps, event_from_json, finding_from_json, issue_from_json, to_dict
from .sources import InputFile

SCHEMA_VERSION = 2
APP_ID = 0x494D5344  # "IMSD": marks the file as ours, so a foreign database is never trusted
BUSY_TIMEOUT_MS = 15000
BATCH = 2000
"""Records buffered before one executemany: bounded memory, few round trips."""
MAX_RELATED = 5000
"""Cap on events `related` returns: a loop with thousands of passes must not flood explain."""
MAX_SUGGEST_POOL = 50000
KEEP_SCANS = 20
"""Findings of this many distinct file sets are kept; older ones are dropped."""

ID_FIELDS = ("message_id", "queue_id", "mts_id", "about_id", "next_id")
"""Event fields that carry an id of the message itself or of a message it links to."""

SERVER_LOCAL_KINDS = frozenset({"queue_id"})
"""Id kinds unique only within one server: the same queue id on two servers is two messages."""

Origin = tuple[str, "str | None"]
"""(id kind, server) of an event an id was learned from."""

_SQLITE_MAGIC = b"SQLite format 3\x00"
_HEADER_SIZE = 100
_APP_ID_OFFSET = 68  # big-endian u32 in the database header (sqlite.org/fileformat.html)
QUICK_CHECK_MAX_BYTES = 32 << 20
"""Indexes up to this size get `PRAGMA quick_check` when opened (a few ms per MB); damage in a larger one is
found by the read or write that meets it, and recovered from there."""
MAX_WARNINGS = 20
"""Index warnings kept per run: a full disk must not add one note per file."""
MAX_RECOVERIES = 2
"""Fresh indexes one run may start after finding damage; past that it runs without the index."""
_TABLES = frozenset({"meta", "files", "records", "ids", "scans", "findings", "finding_ids"})
_SQLITE_CORRUPT, _SQLITE_NOTADB = 11, 26
_DAMAGE_TEXT = ("malformed", "not a database", "no such table", "no such column", "corrupt", "could not decode")
"""Error texts of a damaged file: "could not decode" is a TEXT cell that is no longer the UTF-8 written."""

_SCHEMA = f"""
PRAGMA application_id = {APP_ID};
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS files(
    id INTEGER PRIMARY KEY,
    path TEXT NOT NULL UNIQUE,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    display TEXT NOT NULL,
    format TEXT,
    compression TEXT,
    server_hint TEXT,
    parse_key TEXT NOT NULL DEFAULT '',
    counters TEXT NOT NULL DEFAULT '{{}}'
);
CREATE TABLE IF NOT EXISTS records(
    rowid INTEGER PRIMARY KEY,
    file_id INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    kind TEXT NOT NULL,
    data TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS records_file ON records(file_id, seq);
CREATE TABLE IF NOT EXISTS ids(id_norm TEXT NOT NULL, kind TEXT NOT NULL, event_rowid INTEGER NOT NULL,
    file_id INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS ids_norm ON ids(id_norm);
CREATE INDEX IF NOT EXISTS ids_file ON ids(file_id);
CREATE TABLE IF NOT EXISTS scans(key TEXT PRIMARY KEY, files TEXT NOT NULL, at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS findings(rowid INTEGER PRIMARY KEY, scan_key TEXT NOT NULL, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS finding_ids(id_norm TEXT NOT NULL, finding_rowid INTEGER NOT NULL,
    scan_key TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS finding_ids_norm ON finding_ids(id_norm);
"""


def norm_id(ident: str | None) -> str | None:
    """The form every id is indexed and looked up in: no angle brackets, no spaces around, lower case."""
    m = normalize_message_id(ident)
    return m.lower() if m else None


def event_ids(event: Event) -> list[tuple[str, str]]:
    """(normalised id, kind) for every id an event carries, including each Received hop's `id`."""
    out: list[tuple[str, str]] = []
    for kind in ID_FIELDS:
        n = norm_id(getattr(event, kind))
        if n:
            out.append((n, kind))
    for hop in event.received:
        n = norm_id(hop.id)
        if n:
            out.append((n, "received_id"))
    if event.source in ("ims-archive", "message-file"):
        # An IMS archive file is named after its spool id: users paste the file name.
        stem = norm_id(Path(event.location.path).stem)
        if stem:
            out.append((stem, "file"))
    return list(dict.fromkeys(out))


def link_allowed(kind: str, server: str | None, origins: Iterable[Origin]) -> bool:
    """May an event holding an id as `kind` on `server` be linked through it to events it came from?

    A queue id joins only events of the same server; `queued as` (next_id) and the other ids
    cross servers, which is how a message is followed from one server to the next.
    """
    return any(
        not (kind in SERVER_LOCAL_KINDS and okind in SERVER_LOCAL_KINDS and oserver != server)
        for okind, oserver in origins
    )


def default_index_path() -> Path:
    """`$XDG_CACHE_HOME/imsdiag/index-v2.sqlite`, else `~/.cache/imsdiag/index-v2.sqlite`."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "imsdiag" / f"index-v{SCHEMA_VERSION}.sqlite"


@functools.lru_cache(maxsize=65536)
def abs_path(path: str | Path) -> str:
    """The absolute, symlink-resolved path that keys a file in the index, computed once per path.

    Resolving walks every component with lstat: done four times per file for a 4,000-file log set,
    it was most of an `explain` run.
    """
    return str(Path(path).resolve())


def _abs(path: str | Path) -> str:
    return abs_path(str(path))


def _identity(e: Event) -> tuple[str, int, str, str | None, str | None]:
    return (e.location.path, e.location.line, e.source, e.message_id, e.queue_id)


def _stat_key(path: Path) -> tuple[str, int, int] | None:
    """(absolute path, size, mtime_ns) of a file now, or None when it cannot be stat'ed."""
    try:
        st = path.stat()
    except OSError:
        return None
    return _abs(path), st.st_size, st.st_mtime_ns


def _context_dict(c: ScanContext) -> dict[str, object]:
    return {"names": c.names, "not_hosts": c.not_hosts, "offsets": c.offsets, "year": c.year, "files": c.file_years}


def _context_from(d: dict[str, Any]) -> ScanContext:
    return ScanContext(
        names=tuple((str(a), str(b)) for a, b in d["names"]),
        not_hosts=tuple(str(n) for n in d["not_hosts"]),
        offsets=tuple((str(a), float(b)) for a, b in d["offsets"]),
        year=int(d["year"]) if d.get("year") is not None else None,
        file_years=tuple((str(p), int(y)) for p, y in d.get("files", ())),
    )


def _files_key(files: Iterable[str]) -> str:
    return hashlib.sha256("\n".join(sorted(set(files))).encode("utf-8", "surrogatepass")).hexdigest()[:32]


class CachedFile:
    """A file whose records are in the index and still current."""

    def __init__(
        self,
        index: EventIndex,
        file_id: int,
        row: sqlite3.Row,
        display: str,
        reparse: Callable[[], Iterable[Event | ParseIssue]] | None = None,
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
        self.counters: dict[str, int] = json.loads(row["counters"] or "{}")

    def records(self) -> Iterator[Event | ParseIssue]:
        """Every stored record of the file, in original order, with locations under today's display path.

        Damage met half way (records already handed to the scan) cannot be undone: the rest of the
        file comes from the parser (`reparse`), which makes the same records in the same order.
        """
        done = 0
        try:
            if self._conn is None:
                raise sqlite3.ProgrammingError("the index was closed")
            cur = self._conn.execute("SELECT kind, data FROM records WHERE file_id=? ORDER BY seq", (self._file_id,))
            for kind, data in cur:
                if kind == "e":
                    record: Event | ParseIssue = self._relocate_event(event_from_json(data))
                else:
                    issue = issue_from_json(data)
                    record = replace(issue, location=self._relocate(issue.location))
                yield record
                done += 1
        except (sqlite3.Error, *_DECODE_ERRORS) as exc:
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
        self, index: EventIndex, f: InputFile, fmt: str | None, compression: str | None, parse_key: str = ""
    ) -> None:
        self._parse_key = parse_key
        self._index = index
        self._file = f
        self._fmt = fmt
        self._compression = compression
        self._key = _stat_key(f.path) if f.path is not None else None
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

    def commit(self, counters: dict[str, int]) -> None:
        if self._dead:
            return
        conn = self._index.conn
        if conn is None:
            return
        try:
            self._start()
            for events, issues in self._batches():
                self._write(events, issues)
            conn.execute("UPDATE files SET counters=? WHERE id=?", (json.dumps(counters), self._file_id))
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
        self._index.forget_path(path)
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


class EventIndex:
    """The on-disk index; open it with `open_index`."""

    def __init__(
        self, path: Path, conn: sqlite3.Connection | None, warnings: list[str], real: Path | None = None
    ) -> None:
        self.path = path
        self.conn = conn
        self.warnings = warnings
        self._scope: list[int] | None = None
        self._real = real if real is not None else path
        """The file itself (a symlink at `path` resolved): what is checked and moved aside."""
        self._ident = _file_ident(self._real) if conn is not None else None
        """(device, inode) of the file opened: a damaged index is moved aside only if it is still that file."""
        self._recoveries = 0

    # -- failures ----------------------------------------------------------------------------

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
        self.warn(f"index: {what} failed ({_brief(exc)})")
        if self.conn is not None and _is_damage(exc):
            self._recover()

    def _recover(self) -> None:
        conn, self.conn = self.conn, None
        if conn is not None:
            with contextlib.suppress(sqlite3.Error):
                conn.close()
        self._scope = None
        self._recoveries += 1
        # Another run (or a --jobs worker) may have replaced the damaged file already: never move its fresh one.
        if _file_ident(self._real) == self._ident and _state(self._real)[0] == "ours":
            self.warn(f"index: {self.path} is damaged; moved aside, a fresh index is built")
            _move_aside(self._real, self.warnings)
        if self._recoveries > MAX_RECOVERIES:
            self.warn("index: damaged again; running without it")
            return
        try:
            fresh = open_index(self.path)
        except ImsdiagError as exc:  # something that is not ours appeared at the path meanwhile
            self.warn(f"index: {exc}; running without it")
            return
        for message in fresh.warnings:
            self.warn(message)
        self.conn, self._real, self._ident = fresh.conn, fresh._real, fresh._ident

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
        except _DECODE_ERRORS as exc:
            self.trouble(exc, what)
            raise sqlite3.DatabaseError(f"index record unreadable ({_brief(exc)})") from exc

    # -- files -------------------------------------------------------------------------------

    def cached_file(
        self,
        f: InputFile,
        parse_key: str | None = None,
        reparse: Callable[[], Iterable[Event | ParseIssue]] | None = None,
    ) -> CachedFile | None:
        """The stored file when its size, mtime and parse settings still match; None when absent, stale or stdin.

        `parse_key` names the settings that change what a parser makes of the same bytes (zones, the
        year of year-less stamps, a forced format): a file parsed under other settings is read again.
        None accepts whatever settings the stored copy was parsed with (explain reads what scan stored).
        `reparse` (the file's records from the parser) finishes a replay the database fails half way.
        """
        if f.path is None or self.conn is None:
            return None
        key = _stat_key(f.path)
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
        except (sqlite3.Error, *_DECODE_ERRORS) as exc:
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
            key = _stat_key(f.path)
            if key is None or stored.get(key[0]) != (key[1], key[2]):
                stale.append(f)
        return stale

    def begin_file(self, f: InputFile, fmt: str | None, compression: str | None, parse_key: str = "") -> FileWriter:
        """A writer for one file's records; nothing is stored until `commit`. stdin is never stored."""
        return FileWriter(self, f, fmt, compression, parse_key)

    def forget_path(self, abs_path: str) -> None:
        """Drop a file's rows (inside the caller's transaction)."""
        assert self.conn is not None
        row = self.conn.execute("SELECT id FROM files WHERE path=?", (abs_path,)).fetchone()
        if row is None:
            return
        fid = row["id"]
        self.conn.execute("DELETE FROM ids WHERE file_id=?", (fid,))
        self.conn.execute("DELETE FROM records WHERE file_id=?", (fid,))
        self.conn.execute("DELETE FROM files WHERE id=?", (fid,))

    def set_scope(self, files: Iterable[InputFile] | None) -> None:
        """Restrict lookups to these files (None: everything indexed); files not indexed are ignored."""
        self._intact()
        if files is None or self.conn is None:
            self._scope = None
            return
        ids: list[int] = []
        with self._answering("reading the file list"):
            for f in files:
                if f.path is None:
                    continue
                row = self.conn.execute("SELECT id FROM files WHERE path=?", (_abs(f.path),)).fetchone()
                if row is not None:
                    ids.append(row["id"])
        self._scope = ids

    # -- findings ----------------------------------------------------------------------------

    def store_findings(
        self, findings: Sequence[Finding], files: Sequence[str], context: ScanContext | None = None
    ) -> None:
        """Keep the findings of a scan over `files` (paths), replacing those of an earlier scan of the same set.

        `context` (the scan's host names, clock offsets and year) lets `explain` repeat its decisions.
        """
        if self.conn is None:
            return
        abs_files = sorted({_abs(p) for p in files})
        key = _files_key(abs_files)
        try:
            self.conn.execute("BEGIN IMMEDIATE")
            if context is not None:
                self.conn.execute(
                    "INSERT OR REPLACE INTO meta(key, value) VALUES (?,?)",
                    ("context:" + key, json.dumps(_context_dict(context), separators=(",", ":"))),
                )
            self.conn.execute("DELETE FROM finding_ids WHERE scan_key=?", (key,))
            self.conn.execute("DELETE FROM findings WHERE scan_key=?", (key,))
            self.conn.execute(
                "INSERT OR REPLACE INTO scans(key, files, at) VALUES (?,?,?)", (key, json.dumps(abs_files), time.time())
            )
            for finding in findings:
                cur = self.conn.execute("INSERT INTO findings(scan_key, data) VALUES (?,?)", (key, dumps(finding)))
                norms = {n for n in map(norm_id, finding.message_ids) if n}
                self.conn.executemany(
                    "INSERT INTO finding_ids(id_norm, finding_rowid, scan_key) VALUES (?,?,?)",
                    [(n, cur.lastrowid, key) for n in sorted(norms)],
                )
            self._drop_old_scans()
            self.conn.execute("COMMIT")
        except sqlite3.Error as exc:
            with contextlib.suppress(sqlite3.Error):
                self.conn.execute("ROLLBACK")
            self.trouble(exc, "storing the findings")

    def _drop_old_scans(self) -> None:
        assert self.conn is not None
        sql = "SELECT key FROM scans ORDER BY at DESC LIMIT -1 OFFSET ?"
        old = [r[0] for r in self.conn.execute(sql, (KEEP_SCANS,))]
        for key in old:
            for table in ("finding_ids", "findings"):
                self.conn.execute(f"DELETE FROM {table} WHERE scan_key=?", (key,))
            self.conn.execute("DELETE FROM scans WHERE key=?", (key,))

    def has_findings_for(self, files: Sequence[str]) -> bool:
        """True when a scan over exactly these files stored its findings (even none)."""
        if self.conn is None:
            return False
        key = _files_key(_abs(p) for p in files)
        try:
            return self.conn.execute("SELECT 1 FROM scans WHERE key=?", (key,)).fetchone() is not None
        except sqlite3.Error as exc:
            self.trouble(exc, "reading the stored scans")
            return False

    def context_for(self, files: Sequence[str] | None) -> ScanContext | None:
        """The stored decisions of the scan over `files` (or of the latest scan kept when None)."""
        if self.conn is None:
            return None
        try:
            if files is not None:
                key = _files_key(_abs(p) for p in files)
            else:
                row = self.conn.execute("SELECT key FROM scans ORDER BY at DESC LIMIT 1").fetchone()
                if row is None:
                    return None
                key = row[0]
            found = self.conn.execute("SELECT value FROM meta WHERE key=?", ("context:" + key,)).fetchone()
        except sqlite3.Error as exc:
            self.trouble(exc, "reading the scan's context")
            return None
        try:
            return _context_from(json.loads(found[0])) if found else None
        except _DECODE_ERRORS:  # a context of another shape: explain goes without it, the index is fine
            return None

    def findings_for(self, ids: Iterable[str], files: Sequence[str] | None = None) -> list[Finding]:
        """Findings whose message ids include any of `ids`: from the scan of `files`, else from every scan kept."""
        self._intact()
        if self.conn is None:
            return []
        norms = sorted({n for n in map(norm_id, ids) if n})
        if not norms:
            return []
        where, params = "", []
        if files is not None:
            where = " AND f.scan_key=?"
            params = [_files_key(_abs(p) for p in files)]
        out: dict[str, Finding] = {}
        with self._answering("reading the findings"):
            for chunk in _chunks(norms, 500):
                marks = ",".join("?" * len(chunk))
                sql = (
                    "SELECT f.data FROM finding_ids i JOIN findings f ON f.rowid=i.finding_rowid "
                    f"WHERE i.id_norm IN ({marks}){where} ORDER BY f.rowid"
                )
                for (data,) in self.conn.execute(sql, [*chunk, *params]):
                    finding = finding_from_json(data)
                    # The same loop found by scans of overlapping file sets is one finding.
                    out.setdefault(finding.fingerprint or data, finding)
        return list(out.values())

    # -- lookups -----------------------------------------------------------------------------

    def lookup(self, ident: str) -> list[Event]:
        """Every event (in scope) carrying `ident` in any id field, in index order."""
        self._intact()
        n = norm_id(ident)
        if n is None or self.conn is None:
            return []
        return self._events_for([n])

    def lookup_kinds(self, ident: str) -> list[tuple[str, Event]]:
        """(kind, event) for every event carrying `ident`: which field matched, for ambiguity checks."""
        self._intact()
        n = norm_id(ident)
        if n is None or self.conn is None:
            return []
        scope, params = self._scope_sql("i.file_id")
        sql = (
            "SELECT i.kind, r.data FROM ids i JOIN records r ON r.rowid=i.event_rowid "
            f"WHERE i.id_norm=?{scope} ORDER BY r.rowid"
        )
        with self._answering("looking up an id"):
            return [(kind, event_from_json(data)) for kind, data in self.conn.execute(sql, [n, *params])]

    def related(self, events: Sequence[Event], depth: int = 2) -> list[Event]:
        """Events linked to `events` by any shared id, following links `depth` steps (not including `events`)."""
        self._intact()
        if self.conn is None:
            return []
        origins: dict[str, set[Origin]] = {}
        # One record per file line and source: its location identifies it (serialising every event
        # to compare them cost most of an explain on a long loop).
        known = {_identity(e) for e in events}
        frontier = list(events)
        out: list[Event] = []
        for _ in range(depth):
            new_ids: set[str] = set()
            for e in frontier:
                for n, kind in event_ids(e):
                    if kind != "file":
                        if n not in origins:
                            new_ids.add(n)
                        origins.setdefault(n, set()).add((kind, e.server))
            if not new_ids:
                break
            frontier = []
            for event in self._events_for(sorted(new_ids)):
                key = _identity(event)
                if key in known:
                    continue
                if not any(n in new_ids and link_allowed(k, event.server, origins[n]) for n, k in event_ids(event)):
                    continue  # only a reused queue id of another server: another message
                known.add(key)
                frontier.append(event)
                out.append(event)
                if len(out) >= MAX_RELATED:
                    self.warn(f"explain: related events capped at {MAX_RELATED}")
                    return out
        return out

    def _events_for(self, norms: Sequence[str]) -> list[Event]:
        conn = self.conn
        if conn is None:  # closed after damage found by an earlier lookup
            raise sqlite3.ProgrammingError("the index was closed after damage was found")
        scope, params = self._scope_sql("i.file_id")
        rowids: set[int] = set()
        out: list[Event] = []
        with self._answering("looking up ids"):
            for chunk in _chunks(list(norms), 500):
                marks = ",".join("?" * len(chunk))
                sql = f"SELECT DISTINCT i.event_rowid FROM ids i WHERE i.id_norm IN ({marks}){scope}"
                rowids.update(r[0] for r in conn.execute(sql, [*chunk, *params]))
            for chunk in _chunks(sorted(rowids), 500):
                marks = ",".join("?" * len(chunk))
                sql = f"SELECT data FROM records WHERE rowid IN ({marks}) ORDER BY rowid"
                out.extend(event_from_json(data) for (data,) in conn.execute(sql, chunk))
        return out

    def _scope_sql(self, column: str) -> tuple[str, list[Any]]:
        if self._scope is None:
            return "", []
        if not self._scope:
            return " AND 0", []
        return f" AND {column} IN ({','.join('?' * len(self._scope))})", list(self._scope)

    def suggest(self, ident: str, n: int = 5) -> list[str]:
        """Up to `n` indexed ids close to `ident`: ids containing it first, then difflib's nearest."""
        q = norm_id(ident)
        if q is None or self.conn is None:
            return []
        scope, params = self._scope_sql("file_id")
        try:
            return self._suggest(q, n, scope, params)
        except sqlite3.Error as exc:  # suggestions only decorate "not found": go without them
            self.trouble(exc, "suggesting ids")
            return []

    def _suggest(self, q: str, n: int, scope: str, params: list[Any]) -> list[str]:
        assert self.conn is not None
        contains = [
            r[0]
            for r in self.conn.execute(
                f"SELECT DISTINCT id_norm FROM ids WHERE instr(id_norm, ?) > 0{scope} LIMIT ?", [q, *params, n]
            )
        ]
        # Only ids sharing the first character are compared: difflib over millions of ids is too slow,
        # and a typo in the first character is the rarest kind.
        hi = q[0] + "\U0010ffff"
        pool = [
            r[0]
            for r in self.conn.execute(
                f"SELECT DISTINCT id_norm FROM ids WHERE id_norm >= ? AND id_norm < ?{scope} LIMIT ?",
                [q[0], hi, *params, MAX_SUGGEST_POOL],
            )
        ]
        close = difflib.get_close_matches(q, pool, n=n, cutoff=0.6)
        return list(dict.fromkeys([*contains, *close]))[:n]

    def close(self) -> None:
        if self.conn is not None:
            with contextlib.suppress(sqlite3.Error):
                self.conn.close()
            self.conn = None

    def __enter__(self) -> EventIndex:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def open_index(path: Path | None) -> EventIndex:
    """Open (creating folders and schema) the index at `path` or the default one.

    Only an imsdiag index (SQLite header with our application id) is ever changed: one that is damaged
    (schema, `PRAGMA quick_check` when small) or of another schema version is moved aside and a fresh
    index built, with a warning. Anything else at `path` (a folder, device, FIFO, another program's file
    or database, or a symlink to one) is an InputError for `--index` and left untouched; at the default
    path it is a warning and the run goes without the index. When no index can be opened at all the
    returned index is inert (caches nothing) and says why.
    """
    target = path if path is not None else default_index_path()
    warnings: list[str] = []
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        warnings.append(f"index: cannot create {target.parent} ({exc.strerror}); running without it")
        return EventIndex(target, None, warnings)
    for attempt in range(2):
        state, what = _state(target)
        real = Path(os.path.realpath(target))
        if state == "foreign":
            if path is not None:
                raise InputError(f"--index {target} is {what}, not an imsdiag index; refusing to use or change it")
            warnings.append(f"index: {target} is {what}, not an imsdiag index; left untouched, running without it")
            return EventIndex(target, None, warnings)
        try:
            conn = _connect(real)
            try:
                problem = _validate(conn, quick=state == "ours")
            except BaseException:
                conn.close()
                raise
            if problem is None:
                return EventIndex(target, conn, warnings, real)
            conn.close()
        except sqlite3.OperationalError as exc:
            if _is_busy(exc):  # another run holds the lock: the file is fine, just not ours now
                warnings.append(f"index: {target} is busy ({_brief(exc)}); running without it")
                return EventIndex(target, None, warnings)
            if not _is_damage(exc):  # read-only, full, unreachable: the file may be fine, keep it
                warnings.append(f"index: cannot use {target} ({_brief(exc)}); running without it")
                return EventIndex(target, None, warnings)
            problem = f"damaged: {_brief(exc)}"
        except sqlite3.Error as exc:
            if not _is_damage(exc):
                warnings.append(f"index: cannot use {target} ({_brief(exc)}); running without it")
                return EventIndex(target, None, warnings)
            problem = f"damaged: {_brief(exc)}"
        # Checked again just before the rename: only a file that is still ours is ever moved.
        if attempt == 0 and _state(real)[0] == "ours":
            warnings.append(f"index: {target} is an imsdiag index that cannot be used ({problem}); rebuilding it")
            _move_aside(real, warnings)
            continue
        break
    warnings.append(f"index: cannot open {target}; running without it")
    return EventIndex(target, None, warnings)


def _inspect(path: Path) -> tuple[str, str]:
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


def _state(path: Path) -> tuple[str, str]:
    """`_inspect`, with an "unmarked" SQLite file resolved to "ours", "new" or "foreign".

    In WAL mode the application id we set may still be in the WAL, not yet in the file's header (a run
    creating the index right now): SQLite itself is asked, on a read-only connection, so another
    program's database is never written to (not even its journal mode).
    """
    state, what = _inspect(path)
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


def _brief(exc: BaseException, limit: int = 160) -> str:
    """An error as one short line: SQLite quotes a whole undecodable cell, garbage included."""
    text = " ".join(str(exc).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _file_ident(path: Path) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_dev, st.st_ino


_DECODE_ERRORS = (ValueError, KeyError, TypeError)
"""What reading a stored record raises when its bytes are not what was written."""


def _is_damage(exc: BaseException) -> bool:
    """True for errors that mean the file is damaged (corrupt pages, missing tables, undecodable rows)."""
    if isinstance(exc, _DECODE_ERRORS):
        return True
    if not isinstance(exc, sqlite3.DatabaseError):
        return False  # OSError, closed connection, programming errors: not the file's fault
    code = getattr(exc, "sqlite_errorcode", None)  # Python 3.11+; extended codes keep the primary in the low byte
    if code is not None and code & 0xFF in (_SQLITE_CORRUPT, _SQLITE_NOTADB):
        return True
    text = str(exc).lower()
    return any(t in text for t in _DAMAGE_TEXT)


def _is_busy(exc: sqlite3.OperationalError) -> bool:
    text = str(exc).lower()
    return "locked" in text or "busy" in text


def _connect(path: Path) -> sqlite3.Connection:
    # isolation_level=None: transactions are explicit (BEGIN IMMEDIATE per file), never implicit.
    conn = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
    conn.row_factory = sqlite3.Row
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    return conn


def _validate(conn: sqlite3.Connection, quick: bool = False) -> str | None:
    """Create the schema in a new file; for an existing one, the reason it is not a usable index, or None.

    Only creation takes the write lock: opening an index another run is writing must wait for
    nothing, and must never mistake "busy" for "corrupt". `quick`: also run `PRAGMA quick_check`
    when the file is small (QUICK_CHECK_MAX_BYTES), so damage is found before the scan relies on it.
    """
    if _is_new(conn):
        conn.execute("BEGIN IMMEDIATE")
        try:
            if _is_new(conn):  # still new under the lock: no other run created it meanwhile
                # One statement at a time inside the lock: another run opening the file waits,
                # then sees a complete schema with our application id.
                for statement in _SCHEMA.split(";"):
                    if statement.strip():
                        conn.execute(statement)
                conn.execute(
                    "INSERT OR IGNORE INTO meta(key, value) VALUES ('schema_version', ?), ('app', 'imsdiag')",
                    (str(SCHEMA_VERSION),),
                )
            conn.execute("COMMIT")
        except sqlite3.Error:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
            raise
    app_id = conn.execute("PRAGMA application_id").fetchone()[0]
    if app_id != APP_ID:
        return f"application id {app_id:#x}, not imsdiag's"
    row = conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
    if row is None or row[0] != str(SCHEMA_VERSION):
        return f"schema version {row[0] if row else 'missing'}, expected {SCHEMA_VERSION}"
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    if not tables >= _TABLES:
        return "missing table(s): " + ", ".join(sorted(_TABLES - tables))
    if quick and _size(conn) <= QUICK_CHECK_MAX_BYTES:
        result = conn.execute("PRAGMA quick_check(1)").fetchone()[0]
        if result != "ok":  # several lines ("*** in database main ***" first): one line for the report
            lines = [line for line in str(result).splitlines() if not line.startswith("***")]
            return "damaged: " + _brief(Exception("; ".join(lines)))
    return None


def _size(conn: sqlite3.Connection) -> int:
    """Bytes in the database, the WAL's pages included."""
    pages = conn.execute("PRAGMA page_count").fetchone()[0]
    return int(pages) * int(conn.execute("PRAGMA page_size").fetchone()[0])


def _is_new(conn: sqlite3.Connection) -> bool:
    app_id = conn.execute("PRAGMA application_id").fetchone()[0]
    return bool(app_id == 0 and conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0] == 0)


def _move_aside(path: Path, warnings: list[str]) -> None:
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
