"""What one file contributes to a scan (parsed, or replayed from the index), and the scan's totals they fold into."""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from .correlate import Correlator
from .models import Event, EventTally, LogSpan, ParseIssue
from .parsers import RECORDS_VERSION
from .parsers.base import ScanRecord
from .parsers.fast.blocks import UNPLACED_REST
from .parsers.run import ParsedFile, Ticker, make_context, parse_input
from .parsers.syslog import DATED_STAMPS, LEAP_WINDOW_STAMPS
from .result import ISSUE_EXAMPLES, FileStat
from .settings import ScanSettings
from .sources import InputFile
from .spanfilter import NotedIds, PlacedSpan

if TYPE_CHECKING:
    from .index import EventIndex


@dataclass
class FileOutcome:
    """Everything one file contributed (picklable, so `--jobs` workers can return it)."""

    stat: FileStat
    correlator: Correlator
    issue_counts: Counter[str]
    issue_examples: list[ParseIssue]
    index_warnings: tuple[str, ...] = ()
    """What a `--jobs` worker's own index connection had to say: the parent shows it with its own."""
    dated_stamps: int = 0
    """Lines of a year-less format whose stamp carried its year anyway: such a file is never re-dated."""
    leap_window_stamps: int = 0
    """Year-less stamps from 28 February to 1 March: such a file is read again, not moved, into a year of other
    leapness (see `syslog.LEAP_WINDOW_STAMPS`)."""
    spans: tuple[PlacedSpan, ...] = ()
    """With `ScanSettings.keep_spans`: where each block the fast extractor read lies, and a filter of its ids."""
    carried: bytes | None = None
    """With `ScanSettings.keep_spans`, for a file read without spans (or only partly with them): a filter of the
    ids its events carry."""


class RecordSink(Protocol):
    """Takes every record of a file as it is read: the index's writer, or explain's search of the logs.

    A fast extractor's EventTally and LogSpan records reach only the index's writer: explain's search reads
    with the full parser.
    """

    def add(self, record: ScanRecord) -> None: ...


class SpanSink(Protocol):
    """What explain's search without the index keeps of the scan's read: the places of the blocks of the logs a
    fast extractor read, and for each other log a filter of the ids its events carry."""

    def add_span(self, placed: PlacedSpan) -> None: ...
    def add_carried(self, display: str, table: bytes) -> None: ...


def new_correlator(settings: ScanSettings) -> Correlator:
    """An empty correlator with the scan's window and repeat settings."""
    return Correlator(
        min_repeat=settings.min_passes,
        since=settings.since,
        until=settings.until,
        window_seconds=settings.window_seconds,
    )


def consume(pf: ParsedFile, settings: ScanSettings, sink: RecordSink | None = None) -> FileOutcome:
    """Read a file's records to the end into its own correlator (and `sink`, when given)."""
    corr = new_correlator(settings)
    counts: Counter[str] = Counter()
    examples: list[ParseIssue] = []
    servers: Counter[str] = Counter()
    spans: list[PlacedSpan] = []
    noted = _id_filter(pf) if settings.keep_spans else None
    n_events = 0
    for rec in pf.records:
        if sink is not None:
            sink.add(rec)
        if isinstance(rec, LogSpan):  # where the extractor read: for the index, or explain's search
            if settings.keep_spans:
                # The ids are most of a span's size: a filter of them is a few bytes per id.
                spans.append(PlacedSpan.of(rec))
            continue
        if isinstance(rec, EventTally):  # ordinary events a fast extractor summed up
            n_events += rec.events
            corr.add_tally(rec)
            servers.update(dict(rec.servers))
            continue
        if isinstance(rec, Event):
            n_events += 1
            corr.add(rec)
            if noted is not None:
                noted.add_event(rec)
            if rec.server:
                servers[rec.server] += 1
        else:
            counts[rec.code] += 1
            if counts[rec.code] <= ISSUE_EXAMPLES:
                examples.append(rec)
    corr.hosts.learn_file(pf.file.server_hint, servers)
    return FileOutcome(
        _file_stat(pf, servers, n_events, sum(counts.values())),
        corr,
        counts,
        examples,
        dated_stamps=pf.counters.get(DATED_STAMPS, 0),
        leap_window_stamps=pf.counters.get(LEAP_WINDOW_STAMPS, 0),
        spans=tuple(spans),
        # A log read with spans needs the filter too when its end was read past them (a line too long for a block).
        carried=noted.frozen() if noted is not None and (not spans or pf.counters.get(UNPLACED_REST)) else None,
    )


def _file_stat(pf: ParsedFile, servers: Counter[str], events: int, issues: int) -> FileStat:
    """What the report says of one file read: its format, the server most of its events name, its counts."""
    f = pf.file
    return FileStat(
        path=f.display,
        format=pf.format,
        server=servers.most_common(1)[0][0] if servers else f.server_hint,
        compression=pf.compression,
        bytes=f.size,
        lines=pf.counters.get("lines", 0),
        events=events,
        issues=issues,
        skipped_reason=pf.skipped_reason if pf.format is None else None,
    )


def _id_filter(pf: ParsedFile) -> NotedIds:
    """The ids of a file's events, for a filter sized to the file (a compressed log holds about 8x its size)."""
    return NotedIds(pf.file.size * (8 if pf.compression else 1))


_WORKER_INDEX: dict[str | None, EventIndex] = {}
"""A worker process's own index connection per index path, opened once and reused for each file."""


def process_file(
    f: InputFile, settings: ScanSettings, ticker: Ticker | None = None, sink: RecordSink | None = None
) -> FileOutcome:
    """Parse one file completely and keep what correlation needs (the unit of work for `--jobs`).

    With the index on, a worker process opens its own connection once and reuses it; SQLite's
    WAL mode serialises the writers, one transaction per file. `sink` sees every record (explain's
    search without the index); the index is not used then.
    """
    if settings.use_index and f.path is not None and sink is None:
        index = _WORKER_INDEX.get(settings.index_path)
        if index is None:
            from .index import open_index  # sqlite stays out of plain scans

            index = open_index(Path(settings.index_path) if settings.index_path else None)
            _WORKER_INDEX[settings.index_path] = index
        out = indexed(f, settings, index, ticker)
        if index.warnings:  # a worker's warnings would die with it: they travel with the outcome
            out.index_warnings = tuple(index.warnings)
            index.warnings.clear()
        return out
    # A sink wants every record as the full parser makes it: no tallies of ordinary events.
    extract = sink is None and not full_parse(settings)
    # Explain's search reads the blocks again (standard input cannot be): the extractor's spans are kept.
    spans = extract and settings.keep_spans and f.path is not None
    pf = parse_input(f, settings, extract=extract, spans=spans)
    if ticker is not None:
        ticker.wrap(pf)
    return consume(pf, settings, sink)


FULL_PARSE_ENV = "IMSDIAG_FULL_PARSE"
"""Set to 1 to read every file with its full parser, never a fast extractor (`ScanSettings.full_parse`)."""


def full_parse(settings: ScanSettings) -> bool:
    """Whether this scan reads every file with the full parser (the differential tests compare both ways)."""
    return settings.full_parse or os.environ.get(FULL_PARSE_ENV, "") not in ("", "0")


def parse_key(f: InputFile, settings: ScanSettings) -> str:
    """The settings that change what a parser makes of a file's bytes, for the index to compare."""
    ctx = make_context(f, settings)
    zones = ",".join(f"{k}={v}" for k, v in sorted((k, str(v)) for k, v in ctx.server_tz.items()))
    # How the file was read: a copy of the full parser's records and one of the extractor's differ, and the
    # extractor's tallies count what falls outside --since/--until (a copy serves only the same window).
    read = "full" if full_parse(settings) else f"extract;window={settings.since}..{settings.until}"
    return (
        f"records={RECORDS_VERSION};tz={ctx.default_tz};assumed={ctx.tz_assumed};server_tz={zones};"
        f"year={ctx.year_hint};fmt={settings.log_format};read={read}"
    )


def indexed(f: InputFile, settings: ScanSettings, index: EventIndex, ticker: Ticker | None = None) -> FileOutcome:
    """Process a file through the index: replay cached records, or parse and store them."""
    key = parse_key(f, settings)
    # A format whose extractor yields LogSpans is read by it: the index keeps its records and the spans, and
    # explain reads the ordinary lines from the log again (imsdiag.logspans).
    fast = not full_parse(settings)

    def read() -> ParsedFile:
        return parse_input(f, settings, extract=fast, spans=fast)

    # `reparse`: should the database fail half way through the replay, the parser gives the rest of the file.
    cached = index.cached_file(f, key, lambda: read().records) if f.path is not None else None
    if cached is not None:
        pf = ParsedFile(file=f, format=cached.format, compression=cached.compression, records=cached.records())
        pf.counters = dict(cached.counters)
        pf.skipped_reason = cached.skipped_reason
        return consume(pf, settings)
    pf = read()
    if ticker is not None:
        ticker.wrap(pf)
    if f.path is None:
        return consume(pf, settings)
    writer = index.begin_file(f, pf.format, pf.compression, key)
    try:
        out = consume(pf, settings, sink=writer)
    except BaseException:
        writer.abort()
        raise
    writer.commit(pf.counters, pf.skipped_reason)
    return out


@dataclass
class Totals:
    """The scan's running totals: one correlator for all files, file rows, issue counts and examples."""

    corr: Correlator
    counts: Counter[str]
    examples: list[ParseIssue]
    stats: list[FileStat] = field(default_factory=list)

    @classmethod
    def start(cls, settings: ScanSettings, walk_issues: list[ParseIssue]) -> Totals:
        """Totals before any file is read: the issues of walking the input paths."""
        return cls(new_correlator(settings), Counter(i.code for i in walk_issues), list(walk_issues[:ISSUE_EXAMPLES]))

    def absorb(self, outcome: FileOutcome) -> None:
        """Fold one file's outcome into the scan totals."""
        self.stats.append(outcome.stat)
        self.corr.merge(outcome.correlator)
        for code, n in outcome.issue_counts.items():
            self.counts[code] += n
        for ex in outcome.issue_examples:
            if sum(1 for e in self.examples if e.code == ex.code) < ISSUE_EXAMPLES:
                self.examples.append(ex)
