"""Explain through the index: the lines of a log span that name an id, read again and parsed in full.

A scan that reads a Postfix (with its Sendmail lines) or Exim log with a fast extractor stores only what
detection keeps and, for each block of the log, a LogSpan: where it lies and the ids its lines name.
Explain reads those spans from the log again and parses just the lines holding the ids asked for, with the
full parser, the year tracker set as the scan had it there. A message's lines all carry its queue id, so
the queue ids of the chosen lines are asked for too (`queue_ids`): each message is then parsed from all of
its lines.
"""

from __future__ import annotations

import io
import os
import re
from collections.abc import Iterator, Mapping, Sequence
from collections.abc import Set as AbstractSet
from pathlib import Path

from .index.spanfile import SpanFile
from .inputs import open_input
from .models import ANY_IDS, Event, LogSpan
from .parsers import by_name
from .parsers.base import ParseContext, Record, decode, iter_lines
from .parsers.exim import EximParser, _EximReader
from .parsers.run import make_context
from .parsers.syslog import SyslogParser, YearTracker, handle_line
from .settings import ScanSettings
from .sources import InputFile

_QUEUE_ID = re.compile(
    rb"\]: ([0-9A-Za-z]{6,20}): "
    rb"|^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9:]{8}(?:\.[0-9]{1,6})?(?: [+-][0-9]{4})?(?: \[[0-9]{1,10}\])? "
    rb"([0-9A-Za-z]{6}-[0-9A-Za-z]{6,11}-[0-9A-Za-z]{2,4}) "
)
"""The queue id a Postfix or Sendmail line starts its message with, or an Exim line's message id."""
SpanNorms = Mapping[int, AbstractSet[str]]
"""Span offset -> the ids to look for in that span (explain without the index: those its filter may hold)."""
SKIP_CHUNK = 1 << 20
KEEP_BYTES = 24 << 20
"""Span bytes one explain keeps in memory for its later lookups, lower-case copies included (a span is 1 MiB)."""


class SpanReader:
    """Reads spans of logs for one explain, with its zones (`settings`)."""

    def __init__(self, settings: ScanSettings, keep_bytes: int = KEEP_BYTES) -> None:
        self.settings = settings
        self.keep_bytes = keep_bytes
        self._kept: dict[tuple[str, int], tuple[bytes, bytes]] = {}
        self._kept_bytes = 0

    def current(self, f: SpanFile) -> bool:
        """Whether the log is still the one the spans were taken from (same size and modification time)."""
        try:
            st = os.stat(f.path)
        except OSError:
            return False
        return st.st_size == f.size and st.st_mtime_ns == f.mtime_ns

    def queue_ids(
        self, f: SpanFile, spans: Sequence[LogSpan], norms: set[str], each: SpanNorms | None = None
    ) -> set[str]:
        """The queue ids (lower case) of the lines of `spans` that name one of `norms` (`each`: a span's own)."""
        out: set[str] = set()
        for _span, _lineno, line in self._lines(f, spans, norms, each):
            m = _QUEUE_ID.search(line)
            if m is not None:
                out.add((m[1] or m[2]).decode("ascii").lower())
        return out

    def events(
        self, f: SpanFile, spans: Sequence[LogSpan], norms: set[str], each: SpanNorms | None = None
    ) -> list[Event]:
        """The events the full parser makes of the lines of `spans` that name one of `norms`, in file order
        (`each`: the ids to look for in a span, by its offset, where not all of `norms`)."""
        st_mtime = f.mtime_ns / 1e9
        stored = InputFile(display=f.display, path=Path(f.path), size=f.size, mtime=st_mtime, server_hint=f.server_hint)
        ctx = make_context(stored, self.settings)
        reader = _line_reader(f.format, ctx)
        if reader is None:
            return []
        out: list[Event] = []
        at: LogSpan | None = None
        for span, lineno, line in self._lines(f, spans, norms, each):
            if span is not at:
                at = span
                reader.start(span)
            out.extend(r for r in reader.line(lineno, _text(line)) if isinstance(r, Event))
        out.extend(r for r in reader.finish() if isinstance(r, Event))
        return out

    def _lines(
        self, f: SpanFile, spans: Sequence[LogSpan], norms: set[str], each: SpanNorms | None = None
    ) -> Iterator[tuple[LogSpan, int, bytes]]:
        """(span, line number, line) of each line of the spans that holds one of `norms`, in file order."""
        everywhere = [n.encode("utf-8") for n in norms]
        for span, data, low in self._read(f, sorted(spans, key=lambda s: s.offset)):
            own = each.get(span.offset) if each is not None else None
            if span.ids == ANY_IDS:
                yield from _lines_as_read(f, span, data, norms if own is None else set(own))
                continue
            # A long loop asks for hundreds of ids: each span is searched only for those it may name.
            needles = everywhere if own is None else [n.encode("utf-8") for n in own]
            starts: set[int] = set()
            for needle in needles:
                pos = low.find(needle)
                while pos >= 0:
                    starts.add(data.rfind(b"\n", 0, pos) + 1)
                    pos = low.find(needle, pos + 1)
            lineno, counted = span.location.line, 0
            for start in sorted(starts):
                lineno += data.count(b"\n", counted, start)
                counted = start
                end = data.find(b"\n", start)
                yield span, lineno, data[start : end if end >= 0 else len(data)]

    def _read(self, f: SpanFile, spans: Sequence[LogSpan]) -> Iterator[tuple[LogSpan, bytes, bytes]]:
        """(span, its bytes, the same in lower case), in offset order: kept ones from memory, others from the log.

        One explain reads the same spans several times (the lines naming the id, then its messages' lines,
        then each link): up to KEEP_BYTES of them are kept.
        """
        missing = [span for span in spans if (f.path, span.offset) not in self._kept]
        fresh = self._from_log(f, missing) if missing else iter(())
        for span in spans:  # both in offset order: a missing span is the next one read
            kept = self._kept.get((f.path, span.offset))
            if kept is None:
                got = next(fresh, None)
                if got is None:  # the log ended early (it changed after all)
                    return
                kept = (got[1], got[1].lower())
                if self._kept_bytes + 2 * len(got[1]) <= self.keep_bytes:
                    self._kept[(f.path, span.offset)] = kept
                    self._kept_bytes += 2 * len(got[1])
            yield span, kept[0], kept[1]

    def _from_log(self, f: SpanFile, spans: Sequence[LogSpan]) -> Iterator[tuple[int, bytes]]:
        """(offset, bytes) of each span, read from the log in offset order (a compressed log is read through)."""
        raw, compression, _position = open_input(InputFile(display=f.display, path=Path(f.path), size=f.size))
        with raw:
            # Only the file itself seeks to a span: a decompressed or transcoded (UTF-16) stream is read through.
            if compression is None and isinstance(raw, io.BufferedReader | io.FileIO):
                for span in spans:
                    raw.seek(span.offset)
                    yield span.offset, raw.read(span.length)
                return
            done = 0
            for span in spans:
                while done < span.offset:  # a compressed stream cannot seek: read through
                    skipped = raw.read(min(SKIP_CHUNK, span.offset - done))
                    if not skipped:
                        return
                    done += len(skipped)
                data = raw.read(span.length)
                done += len(data)
                yield span.offset, data


def _lines_as_read(f: SpanFile, span: LogSpan, data: bytes, norms: set[str]) -> Iterator[tuple[LogSpan, int, bytes]]:
    """The lines of a block the full parser read whole (bare CRs, overlong lines), split and numbered as its line
    reader did, that hold one of `norms` (in any case)."""
    ctx = ParseContext(path=f.display)  # its issues and counters were the scan's: dropped here
    for lineno, text in iter_lines(io.BytesIO(data), ctx, span.location.line - 1):
        low = text.lower()
        if any(n in low for n in norms):
            yield span, lineno, text.encode("utf-8")


def _text(raw: bytes) -> str:
    """A line as the line reader gives it to a parser: no CR, decoded (UTF-8, else Windows-1252), no NUL."""
    return decode(raw.rstrip(b"\r")).replace("\x00", "\ufffd")


class _SyslogLines:
    """Chosen lines of a Postfix or Sendmail log through the full parser's handlers."""

    def __init__(self, parser: SyslogParser, ctx: ParseContext) -> None:
        self.ctx = ctx
        self.years = YearTracker(ctx)
        self.handlers = parser.line_handlers(ctx)

    def start(self, span: LogSpan) -> None:
        """Date the span's lines as the scan's read had them dated there."""
        self.years._year, self.years._month, self.years.last_stamp = span.year, span.month, None
        self.ctx.year_hint = span.year_hint

    def line(self, lineno: int, text: str) -> Iterator[Record]:
        return handle_line(text, lineno, self.ctx, self.years, self.handlers)

    def finish(self) -> Iterator[Record]:
        for h in self.handlers:
            yield from h.finish()


class _EximLines:
    """Chosen lines of an Exim mainlog through the full parser's reader (its stamps carry their year)."""

    def __init__(self, ctx: ParseContext) -> None:
        self.reader = _EximReader(ctx)

    def start(self, span: LogSpan) -> None:
        return None

    def line(self, lineno: int, text: str) -> Iterator[Record]:
        return self.reader.handle(lineno, text)

    def finish(self) -> Iterator[Record]:
        return iter(())


def _line_reader(fmt: str | None, ctx: ParseContext) -> _SyslogLines | _EximLines | None:
    """The full parser's per-line reader for a stored log's format (None: no spans of that format)."""
    parser = by_name(fmt) if fmt else None
    if isinstance(parser, SyslogParser):
        return _SyslogLines(parser, ctx)
    if isinstance(parser, EximParser):
        return _EximLines(ctx)
    return None
