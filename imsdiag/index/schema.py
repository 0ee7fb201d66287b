"""The index's SQLite schema: tables, connection settings, creation and the checks that a file is a usable index."""

from __future__ import annotations

import contextlib
import os
import sqlite3
from pathlib import Path

from .damage import brief

SCHEMA_VERSION = 3
"""3: records in zlib blocks, ids pointing at blocks (version 2 kept one JSON row per event: 2-3x the logs)."""
APP_ID = 0x494D5344  # "IMSD": marks the file as ours, so a foreign database is never trusted
PAGE_SIZE = 4096
"""SQLite's default, set explicitly: 1 KB pages cut a small index's fixed cost (one page per table and index)
but give a large one four times the pages and every block an overflow chain; kept until measured better."""
BUSY_TIMEOUT_MS = 15000
SKIPPED_REASON_KEY = "_skipped_reason"
SPANS_KEY = "_spans"
"""Kept beside a file's counters when it was stored with LogSpans: explain reads its queue ids' spans too."""
"""Kept beside a file's counters: why it was skipped, so a warm scan words it as the cold scan did."""
QUICK_CHECK_MAX_BYTES = 32 << 20
"""Indexes up to this size get `PRAGMA quick_check` when opened (a few ms per MB); damage in a larger one is
found by the read or write that meets it, and recovered from there."""
TABLES = frozenset({"meta", "files", "blocks", "ids", "scans", "findings", "finding_ids"})

_SCHEMA = f"""
PRAGMA application_id = {APP_ID};
-- WITHOUT ROWID: a key-value table keyed by text keeps the key once, not again in an index
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
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
-- AUTOINCREMENT: a block id is never reused, so a block that lookups keep decompressed stays that block
CREATE TABLE IF NOT EXISTS blocks(
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    file_id INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    data BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS blocks_file ON blocks(file_id, seq);
CREATE TABLE IF NOT EXISTS ids(
    id_norm TEXT NOT NULL,
    block_id INTEGER NOT NULL,
    kind INTEGER NOT NULL,
    file_id INTEGER NOT NULL,
    PRIMARY KEY(id_norm, block_id, kind)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS scans(key TEXT PRIMARY KEY, files TEXT NOT NULL, at REAL NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS findings(rowid INTEGER PRIMARY KEY, scan_key TEXT NOT NULL, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS finding_ids(id_norm TEXT NOT NULL, finding_rowid INTEGER NOT NULL,
    scan_key TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS finding_ids_norm ON finding_ids(id_norm);
"""


def default_index_path() -> Path:
    """`$XDG_CACHE_HOME/imsdiag/index-v{N}.sqlite`, else `~/.cache/imsdiag/index-v{N}.sqlite` (N: SCHEMA_VERSION)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "imsdiag" / f"index-v{SCHEMA_VERSION}.sqlite"


def connect(path: Path) -> sqlite3.Connection:
    """A connection in WAL mode with explicit transactions and a busy timeout."""
    # isolation_level=None: transactions are explicit (BEGIN IMMEDIATE per file), never implicit.
    conn = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
    try:
        conn.row_factory = sqlite3.Row
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        conn.execute(f"PRAGMA page_size = {PAGE_SIZE}")  # only takes effect on a new file
        conn.execute("PRAGMA journal_mode = WAL")  # raises on a file that is not a database
        conn.execute("PRAGMA synchronous = NORMAL")
    except BaseException:
        conn.close()  # never left for the collector (Python 3.13 warns about an unclosed connection)
        raise
    return conn


def validate(conn: sqlite3.Connection, quick: bool = False) -> str | None:
    """Create the schema in a new file; for an existing one, the reason it is not a usable index, or None.

    Only creation takes the write lock: opening an index another run is writing must wait for
    nothing, and must never mistake "busy" for "corrupt". `quick`: also run `PRAGMA quick_check`
    when the file is small (QUICK_CHECK_MAX_BYTES), so damage is found before the scan relies on it.
    """
    if _is_new(conn):
        _create(conn)
    app_id = conn.execute("PRAGMA application_id").fetchone()[0]
    if app_id != APP_ID:
        return f"application id {app_id:#x}, not imsdiag's"
    row = conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
    if row is None or row[0] != str(SCHEMA_VERSION):
        return f"schema version {row[0] if row else 'missing'}, expected {SCHEMA_VERSION}"
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    if not tables >= TABLES:
        return "missing table(s): " + ", ".join(sorted(TABLES - tables))
    if quick and _size(conn) <= QUICK_CHECK_MAX_BYTES:
        return _quick_check(conn)
    return None


def _create(conn: sqlite3.Connection) -> None:
    """Create the schema under the write lock, unless another run created it meanwhile."""
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


def _quick_check(conn: sqlite3.Connection) -> str | None:
    """None when `PRAGMA quick_check` finds the file sound, else what it found, in one line."""
    result = conn.execute("PRAGMA quick_check(1)").fetchone()[0]
    if result == "ok":
        return None
    # Several lines ("*** in database main ***" first): one line for the report.
    lines = [line for line in str(result).splitlines() if not line.startswith("***")]
    return "damaged: " + brief(Exception("; ".join(lines)))


def _size(conn: sqlite3.Connection) -> int:
    """Bytes in the database, the WAL's pages included."""
    pages = conn.execute("PRAGMA page_count").fetchone()[0]
    return int(pages) * int(conn.execute("PRAGMA page_size").fetchone()[0])


def _is_new(conn: sqlite3.Connection) -> bool:
    app_id = conn.execute("PRAGMA application_id").fetchone()[0]
    return bool(app_id == 0 and conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0] == 0)
