"""The parser contract (sniff + parse), the per-file ParseContext, and shared line/time helpers."""

from __future__ import annotations

import abc
import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone, tzinfo
from typing import BinaryIO, ClassVar

from ..models import Event, EventTally, Location, LogSpan, ParseIssue, TimeQuality

MAX_LINE = 1 << 20
"""Lines longer than this (1 MiB) are cut and reported; the rest of the line is skipped."""

MAX_SUBJECT = 2000
"""Characters of a subject kept on an Event: enough to group passes, and it bounds the work later
stages (prefix stripping, stems) do on a hostile megabyte-long Subject header."""

Record = Event | ParseIssue
ScanRecord = Event | ParseIssue | EventTally | LogSpan
"""What a fast extractor yields (`Parser.extract`): records, and tallies of the ordinary events it summed up."""


@dataclass
class ParseContext:
    """What a parser knows about the file it reads, and where it reports trouble."""

    path: str
    """Display path used in every Location."""
    server_hint: str | None = None
    """Server name guessed from the folder layout (`LOGDIR/<server>/...`) or given by option."""
    server_hint_source: str | None = None
    """`path` or `option`."""
    default_tz: tzinfo = timezone.utc
    """Zone for local time stamps when no per-server zone is set."""
    tz_assumed: bool = True
    """True when `default_tz` is a guess (no `--tz` given), so times are ZONE_ASSUMED."""
    server_tz: dict[str, tzinfo] = field(default_factory=dict)
    """Per-server zones from options (`--server-tz imc1=America/New_York`)."""
    year_hint: int = 2000
    """Year for stamps without one (syslog): the file's modification year."""
    file_mtime: datetime | None = None
    since: datetime | None = None
    until: datetime | None = None
    """The scan's window (`--since`/`--until`): only fast extractors read it, to count the events they summarise."""
    reliable_reads: bool = True
    """False for a decompressed or transcoded stream: damage raises mid-read, so it is read line by line."""
    spans: bool = False
    """A fast extractor also yields LogSpan records (the scan fills the index from it)."""
    place_full_blocks: bool = False
    """With `spans`: a block the extractor gives the full parser gets a LogSpan too, naming ANY_IDS (explain
    without the index finds its events in it; the index stores that block's events instead)."""
    issues: list[ParseIssue] = field(default_factory=list)
    counters: dict[str, int] = field(default_factory=dict)
    """Per-file counters a parser may bump: `lines`, `ignored`, `messages`, ..."""

    def loc(self, line: int = 0) -> Location:
        return Location(self.path, line)

    def issue(self, line: int, code: str, message: str, excerpt: str = "") -> None:
        """Record a parse issue; excerpts are cut to 200 characters."""
        self.issues.append(ParseIssue(self.loc(line), code, message, excerpt[:200]))

    def count(self, name: str, n: int = 1) -> None:
        self.counters[name] = self.counters.get(name, 0) + n

    def localize(self, naive: datetime, server: str | None = None) -> tuple[datetime, TimeQuality]:
        """Convert a local, zone-less time of `server` to UTC, saying whether the zone was assumed."""
        tz = self.server_tz.get(server or "") or self.server_tz.get(self.server_hint or "")
        if tz is not None:
            return naive.replace(tzinfo=tz).astimezone(timezone.utc), TimeQuality.EXACT
        quality = TimeQuality.ZONE_ASSUMED if self.tz_assumed else TimeQuality.EXACT
        return naive.replace(tzinfo=self.default_tz).astimezone(timezone.utc), quality


class Parser(abc.ABC):
    """One input format. Subclasses are stateless; all per-file state lives in `parse`."""

    # Plain attributes, not ClassVars: the syslog parser is one class with an instance per MTA format.
    name: str
    """Stable format name shown in reports and accepted by `--log-format`."""
    description: str
    yearless_stamps: ClassVar[bool] = False
    """Its time stamps leave out the year (BSD syslog): the scan may re-date the file with the year of the others."""
    local_time: ClassVar[bool] = False
    """It may read zone-less local times, converted with `--tz` or an assumed UTC (reports note the guess)."""

    @abc.abstractmethod
    def sniff(self, head: bytes, filename: str) -> int:
        """Confidence 0-100 that `head` (the first bytes, decompressed) is this format.

        Content decides; the file name may only break ties (add at most 10).
        """

    @abc.abstractmethod
    def parse(self, stream: BinaryIO, ctx: ParseContext) -> Iterator[Record]:
        """Yield Events and ParseIssues; never raise on bad data."""

    has_extractor: ClassVar[bool] = False
    """It has a fast extractor (`extract`): a scan without the index reads its files with that."""
    extractor_spans: ClassVar[bool] = False
    """Its extractor yields LogSpan records when `ctx.spans` is set: a scan fills the index from it too."""

    def extract(self, stream: BinaryIO, ctx: ParseContext) -> Iterator[ScanRecord]:
        """Like `parse`, but ordinary events may come summarised in EventTally records (see docs/architecture.md).

        What the Correlator and the file's statistics learn from the output is exactly what `parse` gives them.
        """
        return self.parse(stream, ctx)


def decode(raw: bytes) -> str:
    """UTF-8 when valid, else Windows-1252 (what Exchange 5.x wrote), never failing."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("cp1252", errors="replace")


def iter_lines(stream: BinaryIO, ctx: ParseContext, start: int = 0) -> Iterator[tuple[int, str]]:
    """Yield (1-based line number, text without line ending) for every line of `stream`.

    Handles LF, CRLF and bare CR endings, decodes each line on its own (a log may mix
    encodings), and cuts lines over MAX_LINE with a `line-too-long` issue. A NUL byte is
    replaced by U+FFFD so that later stages never see it, and counted (NUL_LINES). Numbering
    starts after line `start` (a fast extractor hands a block of a file over).

    A stream read whole from a file is read in blocks (`_block_lines`); other streams a line at a time.
    """
    if ctx.reliable_reads and callable(getattr(stream, "read", None)):
        return _block_lines(stream, ctx, start)
    return _readline_lines(stream, ctx, start)


LINE_BLOCK = 1 << 17
"""Bytes `_block_lines` reads at a time (128 KiB): no more than MAX_LINE, so only a block's first line can be too
long. A block, its text and its lines are in memory at once: 1 MiB blocks read no faster and cost 13 MiB more."""


def _block_lines(stream: BinaryIO, ctx: ParseContext, start: int) -> Iterator[tuple[int, str]]:
    """`_readline_lines`, a block at a time: a block of ASCII lines with LF or CRLF endings (nearly every block
    of nearly every log) is decoded and split at once; any other block goes through `_readline_lines`.

    A readline call, its checks and a decode per line were a sixth of an IMS protocol log's parse.
    """
    lineno = start
    carry = b""
    while True:
        chunk = stream.read(LINE_BLOCK)
        if not chunk:
            if carry:  # the last line, without a newline
                yield from _readline_lines(io.BytesIO(carry), ctx, lineno)
            return
        data = carry + chunk if carry else chunk
        cut = data.rfind(b"\n") + 1
        if cut == 0:
            if len(data) > MAX_LINE:  # a line too long: the line reader cuts it, and reads on to the end
                yield from _readline_lines(Carried(data, stream), ctx, lineno)  # type: ignore[arg-type]
                return
            carry = data
            continue
        body, carry = data[:cut], data[cut:]
        plain = body
        crs = body.count(b"\r")
        if crs and crs == body.count(b"\r\n"):  # CRLF endings (Exchange wrote them), and no bare CR
            plain, crs = body.replace(b"\r\n", b"\n"), 0
        # Lines after the first lie inside `chunk`, shorter than MAX_LINE: only the first can be too long
        # (its CR counts, as it does for readline).
        if not crs and plain.isascii() and b"\x00" not in plain and body.find(b"\n") <= MAX_LINE:
            lines = plain.decode("ascii").split("\n")
            lines.pop()  # the empty text after the block's last newline
            for text in lines:
                lineno += 1
                yield lineno, text
        else:
            at = lineno
            for at, text in _readline_lines(io.BytesIO(body), ctx, lineno):
                yield at, text
            lineno = at


def _readline_lines(stream: BinaryIO, ctx: ParseContext, start: int) -> Iterator[tuple[int, str]]:
    """`iter_lines` a line at a time: for streams that raise mid-read (what came before must be read) and
    for blocks `_block_lines` does not read itself."""
    lineno = start
    while True:
        raw = stream.readline(MAX_LINE + 1)
        if not raw:
            return
        if len(raw) > MAX_LINE and not raw.endswith(b"\n"):
            lineno += 1
            skipped = 0
            while True:  # drain the rest of the overlong line without keeping it
                more = stream.readline(MAX_LINE)
                if not more:
                    break
                skipped += len(more)
                if more.endswith(b"\n"):
                    break
            ctx.issue(lineno, "line-too-long", f"line longer than {MAX_LINE} bytes cut ({len(raw) + skipped} bytes)")
            yield lineno, _text(raw[:4096], lineno, ctx)
            continue
        raw = raw.rstrip(b"\n")
        if raw.endswith(b"\r"):
            raw = raw[:-1]
        if b"\r" in raw:  # bare-CR (old Mac) endings: one readline holds many lines
            for part in raw.split(b"\r"):
                lineno += 1
                yield lineno, _text(part, lineno, ctx)
            continue
        lineno += 1
        yield lineno, _text(raw, lineno, ctx)


class Carried:
    """`stream` with `head` before it, for `readline` (the line reader takes over mid-file)."""

    def __init__(self, head: bytes, stream: BinaryIO) -> None:
        self._head = head
        self._stream = stream

    def readline(self, limit: int = -1) -> bytes:
        if not self._head:
            return self._stream.readline(limit)
        cut = self._head.find(b"\n") + 1 or len(self._head)
        if 0 <= limit < cut:
            cut = limit
        got, self._head = self._head[:cut], self._head[cut:]
        if got.endswith(b"\n") or self._head or (0 <= limit <= len(got)):
            return got
        return got + self._stream.readline(-1 if limit < 0 else limit - len(got))


NUL_LINES = "nul-lines"
"""Counter: lines that held NUL bytes (shown as U+FFFD); the engine reports them once per file."""
NUL_FIRST = "nul-first-line"
"""Counter: the first line that held a NUL byte."""


def _text(raw: bytes, lineno: int, ctx: ParseContext) -> str:
    """Decode one line; NULs (a log written over a crash, a binary file) become U+FFFD and are counted."""
    text = decode(raw)
    if "\x00" in text:
        text = text.replace("\x00", "\ufffd")
        # Counted, not an issue per line: a zero-filled block after a crash would drown the report.
        ctx.count(NUL_LINES)
        ctx.counters.setdefault(NUL_FIRST, lineno)
    return text


def looks_binary(head: bytes) -> bool:
    """True when the head has many control bytes: not a text log (archive envelopes excepted)."""
    if not head:
        return False
    sample = head[:4096]
    if sample.count(b"\x00") > len(sample) // 10:
        return True
    # translate() counts in C: a genexpr over 4 KiB was 2% of a scan of an IMS archive folder (thousands of files).
    ctrl = len(sample) - len(sample.translate(None, _CONTROL_BYTES))
    return ctrl > len(sample) // 5


_CONTROL_BYTES = bytes([*range(9), *range(14, 32)])
"""The control bytes `looks_binary` counts: all below space but TAB, LF, VT, FF and CR."""
