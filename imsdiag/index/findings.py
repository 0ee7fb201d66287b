"""The findings of the last scans kept in the index, with the decisions (names, clocks, years) they were made under."""

from __future__ import annotations

import contextlib
import hashlib
import json
import sqlite3
import time
from collections.abc import Iterable, Sequence
from typing import Any

from ..models import Finding
from ..result import ScanContext
from ..serialize import dumps, finding_from_json
from .core import IndexCore
from .damage import DECODE_ERRORS
from .ids import chunks, norm_id, path_key

KEEP_SCANS = 20
"""Findings of this many distinct file sets are kept; older ones are dropped."""


class FindingStore(IndexCore):
    """Findings per scanned file set, looked up by the message ids they name."""

    def store_findings(
        self, findings: Sequence[Finding], files: Sequence[str], context: ScanContext | None = None
    ) -> None:
        """Keep the findings of a scan over `files` (paths), replacing those of an earlier scan of the same set.

        `context` (the scan's host names, clock offsets and year) lets `explain` repeat its decisions.
        """
        if self.conn is None:
            return
        abs_files = sorted({path_key(p) for p in files})
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
        key = _files_key(path_key(p) for p in files)
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
                key = _files_key(path_key(p) for p in files)
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
        except DECODE_ERRORS:  # a context of another shape: explain goes without it, the index is fine
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
            params = [_files_key(path_key(p) for p in files)]
        out: dict[str, Finding] = {}
        with self._answering("reading the findings"):
            for chunk in chunks(norms, 500):
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


def _context_dict(c: ScanContext) -> dict[str, object]:
    return {
        "names": c.names,
        "not_hosts": c.not_hosts,
        "offsets": c.offsets,
        "year": c.year,
        "files": c.file_years,
        "shifts": c.year_shifts,
    }


def _context_from(d: dict[str, Any]) -> ScanContext:
    return ScanContext(
        names=tuple((str(a), str(b)) for a, b in d["names"]),
        not_hosts=tuple(str(n) for n in d["not_hosts"]),
        offsets=tuple((str(a), float(b)) for a, b in d["offsets"]),
        year=int(d["year"]) if d.get("year") is not None else None,
        file_years=tuple((str(p), int(y)) for p, y in d.get("files", ())),
        year_shifts=tuple((str(p), int(n)) for p, n in d.get("shifts", ())),
    )


def _files_key(files: Iterable[str]) -> str:
    return hashlib.sha256("\n".join(sorted(set(files))).encode("utf-8", "surrogatepass")).hexdigest()[:32]
