"""Reading one file: open, sniff, and run its parser under a guard that turns any failure into ParseIssues."""

from __future__ import annotations

import lzma
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import BinaryIO, Protocol

from ..inputs import open_input, read_error_code, read_head, size_change
from ..models import EventTally, Location, LogSpan, ParseIssue
from ..settings import ScanSettings
from ..sources import InputFile
from . import by_name, detect
from .base import NUL_FIRST, NUL_LINES, ParseContext, Parser, Record, ScanRecord, looks_binary

READ_ERRORS = (OSError, EOFError, lzma.LZMAError, zlib.error)
"""What reading a (compressed) file raises when its bytes end early or are damaged."""


class ProgressSink(Protocol):
    """What the engine tells a progress display (see `imsdiag.progress`)."""

    def start(self, total_files: int, total_bytes: int) -> None: ...
    def file_started(self, display: str) -> None: ...
    def advance(self, nbytes: int) -> None: ...
    def file_done(self) -> None: ...
    def stop(self) -> None: ...


@dataclass
class ParsedFile:
    """A file opened and recognised; `records` streams its Events and ParseIssues."""

    file: InputFile
    format: str | None = None
    compression: str | None = None
    skipped_reason: str | None = None
    records: Iterator[ScanRecord] = field(default_factory=lambda: iter(()))
    """Events and ParseIssues; EventTally records too when read by `extract_input`."""
    counters: dict[str, int] = field(default_factory=dict)
    """Filled while `records` is consumed (`lines`, `ignored`, ...)."""
    position: Callable[[], int] = field(default=lambda: 0)
    """Bytes of the file on disk read so far (drives progress inside one large file)."""


def make_context(f: InputFile, settings: ScanSettings) -> ParseContext:
    """The ParseContext for one file: display path, server hint, zones, year for year-less stamps."""
    year = settings.year_hint or (
        datetime.fromtimestamp(f.mtime, timezone.utc).year if f.mtime else datetime.now(timezone.utc).year
    )
    return ParseContext(
        path=f.display,
        server_hint=f.server_hint,
        server_hint_source="path" if f.server_hint else None,
        default_tz=settings.tz or timezone.utc,
        tz_assumed=settings.tz is None,
        server_tz=dict(settings.server_tz),
        year_hint=year,
        file_mtime=datetime.fromtimestamp(f.mtime, timezone.utc) if f.mtime else None,
    )


def parse_input(f: InputFile, settings: ScanSettings, extract: bool = False, spans: bool = False) -> ParsedFile:
    """Open, decompress and sniff one input; never raises for bad input (issues come out of `records`).

    With `extract`, a format with a fast extractor is read by it (`Parser.extract`): ordinary events come
    summed up in EventTally records, which tell the Correlator and the file's statistics the same. With
    `spans` too, only an extractor that yields LogSpan records for the index is used (the index needs them).
    """
    pf = ParsedFile(file=f)
    loc = Location(f.display)
    try:
        raw, pf.compression, pf.position = open_input(f)
    except OSError as exc:
        pf.skipped_reason = f"cannot open: {exc.strerror or exc}"
        pf.records = iter([ParseIssue(loc, "unreadable-file", pf.skipped_reason)])
        return pf
    try:
        head, stream = read_head(raw)
    except READ_ERRORS as exc:
        raw.close()
        code = read_error_code(exc, pf.compression)
        pf.skipped_reason = f"{code}: {exc}"
        pf.records = iter([ParseIssue(loc, code, f"cannot read the start of the file: {exc}")])
        return pf
    if not head:
        stream.close()
        pf.skipped_reason = "empty file"
        return pf
    parser: Parser | None
    if settings.log_format:
        parser = by_name(settings.log_format)
    else:
        parser, _score = detect(head, f.display)
    if parser is None:
        stream.close()
        pf.skipped_reason = "binary content, not a mail log" if looks_binary(head) else "not a recognised mail log"
        return pf
    pf.format = parser.name
    ctx = make_context(f, settings)
    ctx.reliable_reads = pf.compression is None  # a damaged archive raises mid-read: read it line by line
    pf.counters = ctx.counters
    if extract and parser.has_extractor and (parser.extractor_spans or not spans):
        ctx.since, ctx.until = settings.since, settings.until
        ctx.spans = spans
        ctx.place_full_blocks = spans and settings.keep_spans
        pf.records = _guarded(parser, stream, ctx, pf.compression, f, parser.extract)
    else:
        pf.records = _guarded(parser, stream, ctx, pf.compression, f)
    return pf


def full_records(pf: ParsedFile) -> Iterator[Record]:
    """The records of a file read without `extract` (which never hold an EventTally or LogSpan), typed so."""
    for rec in pf.records:
        if not isinstance(rec, EventTally | LogSpan):
            yield rec


def _guarded(
    parser: Parser,
    stream: BinaryIO,
    ctx: ParseContext,
    compression: str | None,
    f: InputFile | None = None,
    read: Callable[[BinaryIO, ParseContext], Iterator[ScanRecord]] | None = None,
) -> Iterator[ScanRecord]:
    """Run a parser (or its `read` method), passing its issues through, turning read errors and bugs into issues."""
    try:
        for rec in (read or parser.parse)(stream, ctx):
            if ctx.issues:
                yield from ctx.issues
                ctx.issues.clear()
            yield rec
        yield from ctx.issues
        ctx.issues.clear()
        nul_lines = ctx.counters.get(NUL_LINES, 0)
        if nul_lines:
            first = ctx.counters.get(NUL_FIRST, 0)
            yield ParseIssue(ctx.loc(first), "nul-bytes", f"{nul_lines} line(s) held NUL bytes, shown as U+FFFD")
        changed = size_change(f) if f is not None else None
        if changed is not None:
            yield ParseIssue(Location(f.display if f else ctx.path), "file-changed", changed)
    except READ_ERRORS as exc:
        yield from ctx.issues
        ctx.issues.clear()
        code = read_error_code(exc, compression)
        line = ctx.counters.get("lines", 0)
        yield ParseIssue(ctx.loc(line), code, f"reading stopped after line {line}: {exc}")
    except RecursionError as exc:  # pathological nesting in a message: report, keep scanning
        yield ParseIssue(ctx.loc(ctx.counters.get("lines", 0)), "too-deep", f"input nested too deeply: {exc}")
    except Exception as exc:  # a parser bug must cost one file, not the whole scan
        yield ParseIssue(
            ctx.loc(ctx.counters.get("lines", 0)),
            "internal-error",
            f"{parser.name} parser failed: {type(exc).__name__}: {exc} (please report this with the file)",
        )
    finally:
        stream.close()


class Ticker:
    """Moves the progress bar while one file is read, from the file's position on disk."""

    EVERY = 512
    """Records between two position checks: cheap, and a few hundred KB of log at most."""

    def __init__(self, progress: ProgressSink) -> None:
        self.progress = progress
        self.advanced = 0

    def wrap(self, pf: ParsedFile) -> None:
        pf.records = self._ticking(pf.records, pf.position)

    def _ticking(self, records: Iterator[ScanRecord], position: Callable[[], int]) -> Iterator[ScanRecord]:
        for n, rec in enumerate(records, 1):
            if n % self.EVERY == 0 or isinstance(rec, EventTally):  # a tally stands for a block of the file
                pos = position()
                if pos > self.advanced:
                    self.progress.advance(pos - self.advanced)
                    self.advanced = pos
            yield rec
