"""Explain without the index: after the scan, rounds of searching the logs for the ids wanted, as an admin greps.

The scan reads the logs as any scan does (with `--jobs`, and the fast extractors). Then each round asks
for the ids learned since the last one:

- in the logs a fast extractor read (Postfix, Sendmail, Exim), the blocks the scan kept the place of
  (`FileOutcome.spans`) are read again and only the lines naming an id are parsed, each message from all of
  its lines (the queue ids of those lines are asked for too), as explain through the index does
  (`logspans.SpanReader`);
- any other log (IMS logs, tracking logs, archived messages) is searched for the ids as text and parsed
  whole only when it names one: an event carries an id only when its file's text holds it.

The events found feed the net (`logsearch.Capture`), which learns their links; the links stop at
`LINK_DEPTH`, so the rounds do too. Memory holds the blocks' places and the events found, not the logs.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import replace
from pathlib import Path

from .correlate import years_later
from .index.ids import event_ids
from .index.spanfile import SpanFile
from .inputs import open_input
from .logsearch import Capture
from .logspans import SpanReader
from .models import Event, LogSpan
from .parsers.run import full_records, parse_input
from .result import FileStat, ScanContext
from .settings import ScanSettings
from .sources import InputFile
from .spanfilter import PlacedSpan, naming

READ_CHUNK = 1 << 20


class LogRounds:
    """The searches after the scan: each round asks every log for the wanted ids not asked for yet."""

    def __init__(
        self,
        capture: Capture,
        files: Sequence[InputFile],
        stats: Sequence[FileStat],
        settings: ScanSettings,
        context: ScanContext,
    ) -> None:
        self.capture = capture
        self.settings = settings
        self.context = context
        self.reader = SpanReader(settings, keep_bytes=0)  # a round reads every block: keeping some saves little
        formats = {s.path: s.format for s in stats}
        self.spanned = [
            (_span_file(f, formats.get(f.display)), spans)
            for f in files
            if f.path is not None and (spans := capture.spans.get(f.display))
        ]
        spanned = {f.display for f, _ in self.spanned}
        self.whole = [f for f in files if f.path is not None and formats.get(f.display) and f.display not in spanned]
        self.shifts = dict(context.year_shifts)
        self.asked: set[str] = set()
        self.changed: list[str] = []
        """Logs that changed since the scan read them: their lines are left out (explain says so)."""

    def run(self) -> None:
        """Search until every id the net wants has been asked for."""
        while True:
            norms = set(self.capture.wanted.depth) - self.asked
            if not norms:
                return
            self.asked |= norms
            found: list[Event] = []
            for stored, spans in self.spanned:
                found += self._in_spans(stored, spans, norms)
            needles = sorted(norms)
            for f in self.whole:
                if _names_any(f, needles):
                    found += self._whole(f, self.asked)
            self.capture.take_found(found)

    def _in_spans(self, f: SpanFile, placed: list[PlacedSpan], norms: set[str]) -> list[Event]:
        """The events of the lines naming one of `norms` in the blocks that may name one (and of their messages)."""
        spans = naming(placed, norms)
        if not spans or f.display in self.changed:
            return []
        if not self.reader.current(f):
            self.changed.append(f.display)
            return []
        # A message's lines all carry its queue id: the lines naming an id lead to its whole message, whose
        # other lines may lie in other blocks.
        qids = self.reader.queue_ids(f, spans, norms) - norms
        if qids:
            spans = sorted({(s.offset, s.length): s for s in [*spans, *naming(placed, qids)]}.values(), key=_offset)
        return [_shifted(e, self.shifts) for e in self.reader.events(f, spans, norms | qids)]

    def _whole(self, f: InputFile, norms: set[str]) -> list[Event]:
        """The file's events that carry one of `norms`, read the way the scan finally read it (in the year it
        gave a year-less log). The others are dropped as they come: a later round that wants one reads again."""
        year = self.context.year_of(f.display) if self.settings.year_hint is None else None
        read = replace(self.settings, year_hint=year) if year is not None else self.settings
        return [
            r
            for r in full_records(parse_input(f, read))
            if isinstance(r, Event) and any(n in norms for n, _ in event_ids(r))
        ]


def _offset(span: LogSpan) -> int:
    return span.offset


def _span_file(f: InputFile, fmt: str | None) -> SpanFile:
    try:
        mtime_ns = os.stat(str(f.path)).st_mtime_ns
    except OSError:
        mtime_ns = -1  # gone since the scan: the reader finds it changed
    return SpanFile(str(f.path), f.display, fmt, f.size, mtime_ns, f.server_hint)


def _shifted(event: Event, shifts: dict[str, int]) -> Event:
    """The event in the year the scan moved its log to after reading it (`years.redate`)."""
    path = event.location.path
    years = shifts.get(path) or shifts.get(os.path.abspath(path)) if shifts else None
    return years_later(event, years) if years else event


def _names_any(f: InputFile, norms: Iterable[str]) -> bool:
    """Whether the file's text (decompressed, transcoded) holds one of the ids, in any case; or its name is one.

    The ids are lower case, so the text is searched lower-cased. An id with a non-ASCII letter, whose lower
    case the bytes cannot be compared with, counts as found: the file is then parsed rather than missed.
    """
    wanted = list(norms)
    if Path(f.display).stem.lower() in wanted:  # an IMS archive file is named after its spool id
        return True
    if any(not n.isascii() for n in wanted):
        return True
    needles = [n.encode("ascii") for n in wanted]
    overlap = max(len(n) for n in needles) - 1
    try:
        raw, _compression, _position = open_input(f)
        with raw:
            tail = b""
            while chunk := raw.read(READ_CHUNK):
                text = tail + chunk.lower()
                if any(n in text for n in needles):
                    return True
                tail = text[-overlap:] if overlap else b""
    except OSError:  # unreadable now, or cut short: the full parser reads what it can, as the scan did
        return True
    return False


def changed_note(displays: Sequence[str]) -> str:
    """What explain says of logs that changed between the scan and the search of their blocks."""
    names = ", ".join(sorted(displays)[:3]) + (f" and {len(displays) - 3} more" if len(displays) > 3 else "")
    return f"{names} changed while explain read it: the lines naming the id there are left out"
