"""Explain without the index: after the scan, rounds of searching the logs for the ids wanted, as an admin greps.

The scan reads the logs as any scan does (worker processes, the fast extractors). Then each round asks
for the ids learned since the last one:

- in the logs a fast extractor read (Postfix, Sendmail, Exim), the blocks the scan kept the place of
  (`FileOutcome.spans`) are read again and only the lines naming an id are parsed, each message from all of
  its lines (the queue ids of those lines are asked for too), as explain through the index does
  (`logspans.SpanReader`);
- any other log (IMS logs, tracking logs, archived messages) is parsed whole again only when one of the ids
  may be carried by one of its events: the scan, which read all of them, kept a Bloom filter of those ids
  (`FileOutcome.carried`), so a log is never searched as text (a long loop asks for hundreds of ids).

The events found feed the net (`logsearch.Capture`), which learns their links; the links stop at
`LINK_DEPTH`, so the rounds do too. Memory holds the blocks' places, the filters (a bit per 8 bytes of log
at most) and the events found, not the logs.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import replace

from .correlate import years_later
from .index.ids import event_ids
from .index.spanfile import SpanFile
from .logsearch import Capture
from .logspans import SpanReader
from .models import Event, LogSpan
from .parsers.run import full_records, parse_input
from .result import FileStat, ScanContext
from .settings import ScanSettings
from .sources import InputFile
from .spanfilter import PlacedSpan, may_hold, naming, slots


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
        # The other logs the scan read, and those whose end no block covers (a line too long for a block): a
        # filter of the ids their events carry says which to parse again.
        self.whole = [f for f in files if f.path is not None and f.display in capture.carried]
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
            hashed = [slots(n) for n in norms]
            for f in self.whole:
                if may_hold(self.capture.carried[f.display], hashed):
                    found += self._whole(f, self.asked)
            self.capture.take_found(found)

    def _in_spans(self, f: SpanFile, placed: list[PlacedSpan], norms: set[str]) -> list[Event]:
        """The events of the lines naming one of `norms` in the blocks that may name one (and of their messages);
        each block is searched only for the ids its filter may hold."""
        chosen = naming(placed, norms)
        if not chosen or f.display in self.changed:
            return []
        if not self.reader.current(f):
            self.changed.append(f.display)
            return []
        # A message's lines all carry its queue id: the lines naming an id lead to its whole message, whose
        # other lines may lie in other blocks.
        each: dict[int, set[str]] = {at: set(named) for at, (_span, named) in chosen.items()}
        qids = self.reader.queue_ids(f, [s for s, _ in chosen.values()], norms, each) - norms
        for at, (span, named) in naming(placed, qids).items():
            chosen.setdefault(at, (span, frozenset()))
            each.setdefault(at, set()).update(named)
        spans = sorted((s for s, _ in chosen.values()), key=_offset)
        events = self.reader.events(f, spans, norms | qids, each)
        return [_shifted(e, self.shifts) for e in events]

    def _whole(self, f: InputFile, norms: set[str]) -> list[Event]:
        """The file's events that carry one of `norms`, read the way the scan finally read it (in the year it
        gave a year-less log); the others are dropped as they come."""
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


def changed_note(displays: Sequence[str]) -> str:
    """What explain says of logs that changed between the scan and the search of their blocks."""
    names = ", ".join(sorted(displays)[:3]) + (f" and {len(displays) - 3} more" if len(displays) > 3 else "")
    return f"{names} changed while explain read it: the lines naming the id there are left out"
