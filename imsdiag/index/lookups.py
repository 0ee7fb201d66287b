"""Questions explain asks the index: which events carry an id, what they link to, which ids are close."""

from __future__ import annotations

import difflib
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from ..models import Event, LogSpan
from ..sources import InputFile
from .blocks import events_carrying, inflate, spans_in
from .core import IndexCore
from .ids import Origin, chunks, event_ids, link_allowed, norm_id, path_key
from .schema import SPANS_KEY
from .spanfile import SpanFile

MAX_RELATED = 5000
"""Cap on events `related` returns: a loop with thousands of passes must not flood explain."""
MAX_SUGGEST_POOL = 50000
CHANGED_SINCE_INDEXED = "changed since it was indexed"
"""Said of a log whose spans cannot be read again (explain words its hint from it)."""
BLOCK_CACHE_BYTES = 16 << 20
"""Decompressed block text kept for the lookups of one explain (ids are never reused, so a kept block stays
true); beyond it blocks are read again when a later link names them."""
FETCH_BLOCKS = 32
"""Blocks asked of SQLite at a time (each about 150 KB of text once inflated)."""
SCOPE_PARAMS = 500
"""Files a query names as parameters at most: a larger scope is put in a temporary table. SQLite caps the
parameters of a statement (32,766 in its own build, 999 before 3.32), and an IMS archive folder filled by a
loop holds more files than that."""
SCOPE_TABLE = "temp.imsdiag_scope"


class Lookups(IndexCore):
    """Lookups by id, restricted to a set of files (`set_scope`); a damaged index raises rather than answer empty."""

    def set_scope(self, files: Iterable[InputFile] | None) -> None:
        """Restrict lookups to these files (None: everything indexed); files not indexed are ignored."""
        self._intact()
        if files is None or self.conn is None:
            self._scope = None
            return
        keys = [path_key(f.path) for f in files if f.path is not None]
        stored: dict[str, int] = {}
        with self._answering("reading the file list"):
            for chunk in chunks(sorted(set(keys)), 500):  # a query per file cost more than the look-up itself
                marks = ",".join("?" * len(chunk))
                for row in self.conn.execute(f"SELECT id, path FROM files WHERE path IN ({marks})", list(chunk)):
                    stored[row["path"]] = row["id"]
        scope = [stored[k] for k in keys if k in stored]
        if len(scope) > SCOPE_PARAMS:
            with self._answering("keeping the file list"):
                # A TEMP table belongs to this connection and lives outside the index file, which stays unwritten.
                self.conn.execute(f"CREATE TABLE IF NOT EXISTS {SCOPE_TABLE} (file_id INTEGER PRIMARY KEY)")
                self.conn.execute(f"DELETE FROM {SCOPE_TABLE}")
                self.conn.executemany(f"INSERT OR IGNORE INTO {SCOPE_TABLE} VALUES (?)", ((i,) for i in scope))
        self._scope = scope  # only once the table holds it

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
        return [(kind, event) for ids, event in self._carrying([n]) for m, kind in ids if m == n]

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
            new_ids = _learn_ids(frontier, origins)
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
        return [event for _ids, event in self._carrying(norms)]

    def _carrying(self, norms: Sequence[str]) -> list[tuple[list[tuple[str, str]], Event]]:
        """(ids, event) for every event (in scope) carrying one of `norms`, in index order.

        The `ids` rows name blocks, not events: each block named is read once and only its events
        that really carry one of the ids are kept. A block may also hold LogSpans (a log the fast
        extractor read): the lines they name are read from the log again (`span_reader`).
        """
        conn = self.conn
        if conn is None:  # closed after damage found by an earlier lookup
            raise sqlite3.ProgrammingError("the index was closed after damage was found")
        scope, params = self._scope_sql("i.file_id")
        wanted: dict[int, set[str]] = {}
        file_of: dict[int, int] = {}
        found: list[tuple[int, list[tuple[str, str]], Event]] = []
        spans: dict[int, list[LogSpan]] = {}
        with self._answering("looking up ids"):
            for chunk in chunks(list(norms), 500):
                marks = ",".join("?" * len(chunk))
                # Joined with blocks: an index whose blocks are gone must fail here, not answer "not found".
                sql = (
                    "SELECT i.id_norm, i.block_id, b.file_id FROM ids i JOIN blocks b ON b.id=i.block_id "
                    f"WHERE i.id_norm IN ({marks}){scope}"
                )
                for n, block, file_id in conn.execute(sql, [*chunk, *params]):
                    wanted.setdefault(block, set()).add(n)
                    file_of[block] = file_id
            for block, text in self._texts(conn, sorted(wanted)):
                carrying = events_carrying(text, wanted[block], self._decoded)
                found.extend((file_of[block], ids, event) for ids, event in carrying)
                for span in spans_in(text, wanted[block]):
                    spans.setdefault(file_of[block], []).append(span)
            # A stored event's message goes on in the spans: its queue id's other lines are read too.
            stored_qids = self._stored_queue_ids(found) if self.span_reader is not None else {}
            if spans or stored_qids:
                found = self._with_spans(conn, found, spans, stored_qids, set(norms))
        return [(ids, event) for _file, ids, event in found]

    def _with_spans(
        self,
        conn: sqlite3.Connection,
        found: list[tuple[int, list[tuple[str, str]], Event]],
        spans: dict[int, list[LogSpan]],
        stored_qids: dict[int, set[str]],
        norms: set[str],
    ) -> list[tuple[int, list[tuple[str, str]], Event]]:
        """`found` with the events of the spans' lines that carry one of `norms`, in file and line order.

        The queue ids on those lines are read too, so each message is parsed from all of its lines (its
        state, such as the sender of a delivery, comes from other lines than the one that names the id).
        """
        reader = self.span_reader
        if reader is None:
            self.warn("explain: the index holds log spans but no reader was given: ordinary lines left out")
            return found
        seen = {_identity(e) for _f, _ids, e in found}
        added: list[tuple[int, list[tuple[str, str]], Event]] = []
        for file_id in sorted({*spans, *stored_qids}):
            file_spans = spans.get(file_id, [])
            f = self._span_file(conn, file_id)
            if f is None or not reader.current(f):
                name = f.display if f is not None else f"file {file_id}"
                self.warn(f"explain: {name} {CHANGED_SINCE_INDEXED}: its ordinary lines are left out")
                continue
            extra = (reader.queue_ids(f, file_spans, norms) | stored_qids.get(file_id, set())) - norms
            if extra:
                file_spans = [*file_spans, *self._spans_naming(conn, file_id, extra)]
            if not file_spans:
                continue
            unique = list({(s.offset, s.length): s for s in file_spans}.values())
            for event in reader.events(f, unique, norms | extra):
                ids = event_ids(event)
                key = _identity(event)
                if key not in seen and any(n in norms for n, _ in ids):
                    seen.add(key)
                    added.append((file_id, ids, event))
        if not added:
            return found
        return sorted([*found, *added], key=lambda x: (x[0], x[2].location.line))

    def _stored_queue_ids(self, found: list[tuple[int, list[tuple[str, str]], Event]]) -> dict[int, set[str]]:
        """File -> the queue ids of `found` in files stored with spans (the fast extractor read them)."""
        out: dict[int, set[str]] = {}
        for file_id, ids, _event in found:
            qids = [n for n, kind in ids if kind == "queue_id"]
            if qids and file_id in self._extracted_files():
                out.setdefault(file_id, set()).update(qids)
        return out

    def _extracted_files(self) -> set[int]:
        """Ids of the files stored with LogSpans (the fast extractor read them)."""
        if self._extracted is None:
            assert self.conn is not None
            rows = self.conn.execute("SELECT id, counters FROM files")
            self._extracted = {r[0] for r in rows if f'"{SPANS_KEY}"' in r[1]}
        return self._extracted

    def _spans_naming(self, conn: sqlite3.Connection, file_id: int, norms: set[str]) -> list[LogSpan]:
        """The LogSpans of one file that name one of `norms`."""
        blocks_of: dict[int, set[str]] = {}
        for chunk in chunks(sorted(norms), 500):
            marks = ",".join("?" * len(chunk))
            sql = f"SELECT id_norm, block_id FROM ids WHERE file_id=? AND id_norm IN ({marks})"
            for n, block in conn.execute(sql, [file_id, *chunk]):
                blocks_of.setdefault(block, set()).add(n)
        texts = self._texts(conn, sorted(blocks_of))
        return [span for block, text in texts for span in spans_in(text, blocks_of[block])]

    def _span_file(self, conn: sqlite3.Connection, file_id: int) -> SpanFile | None:
        row = conn.execute(
            "SELECT path, display, format, size, mtime_ns, server_hint FROM files WHERE id=?", (file_id,)
        ).fetchone()
        if row is None:
            return None
        return SpanFile(row[0], row[1], row[2], row[3], row[4], row[5])

    def _texts(self, conn: sqlite3.Connection, block_ids: list[int]) -> Iterator[tuple[int, str]]:
        """The text of each block, in id order, one fetch of FETCH_BLOCKS at a time.

        Explain asks for the same blocks again as it follows links, so texts are kept up to BLOCK_CACHE_BYTES;
        an id on thousands of lines (a long loop) names hundreds of blocks, which are inflated and dropped one
        by one rather than all held at once (600 blocks were 95 MB of text).
        """
        cache = self._block_texts
        for start in range(0, len(block_ids), FETCH_BLOCKS):
            batch = block_ids[start : start + FETCH_BLOCKS]
            missing = [b for b in batch if b not in cache]
            fetched: dict[int, str] = {}
            if missing:
                marks = ",".join("?" * len(missing))
                for block, data in conn.execute(f"SELECT id, data FROM blocks WHERE id IN ({marks})", missing):
                    fetched[block] = inflate(data)
            for b in batch:
                text = fetched.get(b)
                if text is None:
                    text = cache.get(b)
                    if text is None:
                        continue
                elif self._cached_bytes + len(text) <= BLOCK_CACHE_BYTES:
                    cache[b] = text
                    self._cached_bytes += len(text)
                yield b, text

    def _scope_sql(self, column: str) -> tuple[str, list[Any]]:
        if self._scope is None:
            return "", []
        if not self._scope:
            return " AND 0", []
        if len(self._scope) > SCOPE_PARAMS:  # filled by set_scope on this connection (recovery drops the scope)
            return f" AND {column} IN (SELECT file_id FROM {SCOPE_TABLE})", []
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


def _identity(e: Event) -> tuple[str, int, str, str | None, str | None]:
    return (e.location.path, e.location.line, e.source, e.message_id, e.queue_id)


def _learn_ids(events: Iterable[Event], origins: dict[str, set[Origin]]) -> set[str]:
    """Record where each id of `events` was seen (kind, server); return the ids not seen before."""
    new_ids: set[str] = set()
    for e in events:
        for n, kind in event_ids(e):
            if kind != "file":
                if n not in origins:
                    new_ids.add(n)
                origins.setdefault(n, set()).add((kind, e.server))
    return new_ids
