"""Telling a damaged index (moved aside and rebuilt) from a busy or unusable one (kept), and errors in one line."""

from __future__ import annotations

import sqlite3
import zlib

DECODE_ERRORS = (ValueError, KeyError, TypeError, zlib.error)
"""What reading a stored record raises when its bytes are not what was written (zlib.error: a damaged block)."""

_SQLITE_CORRUPT, _SQLITE_NOTADB = 11, 26
_DAMAGE_TEXT = ("malformed", "not a database", "no such table", "no such column", "corrupt", "could not decode")
"""Error texts of a damaged file: "could not decode" is a TEXT cell that is no longer the UTF-8 written."""


def brief(exc: BaseException, limit: int = 160) -> str:
    """An error as one short line: SQLite quotes a whole undecodable cell, garbage included."""
    text = " ".join(str(exc).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def is_damage(exc: BaseException) -> bool:
    """True for errors that mean the file is damaged (corrupt pages, missing tables, undecodable rows)."""
    if isinstance(exc, DECODE_ERRORS):
        return True
    if not isinstance(exc, sqlite3.DatabaseError):
        return False  # OSError, closed connection, programming errors: not the file's fault
    code = getattr(exc, "sqlite_errorcode", None)  # Python 3.11+; extended codes keep the primary in the low byte
    if code is not None and code & 0xFF in (_SQLITE_CORRUPT, _SQLITE_NOTADB):
        return True
    text = str(exc).lower()
    return any(t in text for t in _DAMAGE_TEXT)


def is_busy(exc: sqlite3.OperationalError) -> bool:
    """True when another run holds the lock: the file is fine, just not ours now."""
    text = str(exc).lower()
    return "locked" in text or "busy" in text
