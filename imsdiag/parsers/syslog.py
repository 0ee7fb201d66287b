"""The syslog parser: line prefixes, year-less time stamps, and dispatch of each line to its program's handler."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import BinaryIO, Protocol

from ..models import Event, EventTally, LogSpan, Source, TimeQuality
from ..names import normalize_host
from .base import ParseContext, Parser, Record, iter_lines
from .common import classify_loop_text, evolve, frac6, is_comment, limited_issue, score_share, sniff_lines

MONTHS = {
    m: i for i, m in enumerate(("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), 1)
}

# `Mar  1 12:00:00 host prog[pid]: msg`. The program may hold slashes and dashes
# (`postfix/submission/smtpd`, `postfix-secondary/qmgr`); every repetition is bounded.
_BSD = re.compile(
    r"(?P<mon>[A-Z][a-z]{2}) {1,2}(?P<day>\d{1,2}) (?P<h>\d\d):(?P<m>\d\d):(?P<s>\d\d)(?:\.\d{1,9})? "
    r"(?:<[\w.]{1,32}> )?(?P<host>\S{0,255}) (?P<prog>[^\s\[\]:]{1,128})(?:\[(?P<pid>\d{1,10})\])?:(?: |$)(?P<msg>.*)",
    re.DOTALL,
)
# rsyslog high-precision / RFC 3339: `2019-01-11T06:54:52.628611+07:00 host prog[pid]: msg`.
_RFC3339 = re.compile(
    r"(?P<ts>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?P<frac>\.\d{1,9})?(?P<zone>Z|[+-]\d\d:?\d\d)? "
    r"(?P<host>\S{1,255}) (?P<prog>[^\s\[\]:]{1,128})(?:\[(?P<pid>\d{1,10})\])?:(?: |$)(?P<msg>.*)",
    re.DOTALL,
)
# loghub: `- 1131566491 2005.11.09 eadmin1 Nov 9 12:01:31 src@eadmin1 sendmail[4306]: msg`; the epoch is UTC.
_LOGHUB = re.compile(
    r"(?P<label>\S{1,32}) (?P<epoch>\d{9,11}) \d{4}\.\d\d\.\d\d (?P<node>\S{1,255}) "
    r"[A-Z][a-z]{2} {1,2}\d{1,2} \d\d:\d\d:\d\d (?P<src>\S{1,255}) "
    r"(?P<prog>[^\s\[\]:]{1,128})(?:\[(?P<pid>\d{1,10})\])?:(?: |$)(?P<msg>.*)",
    re.DOTALL,
)
# docker-compose output: `postfix-mailcow_1    | Sep  2 22:43:28 mx postfix/smtp[341]: ...`.
_COMPOSE = re.compile(r"[\w.-]{1,128} {0,64}\| ")


@dataclass(frozen=True)
class SyslogLine:
    """The parsed syslog prefix of one line and the message after it."""

    time: datetime | None
    quality: TimeQuality
    host: str | None
    program: str
    pid: int | None
    message: str


DATED_STAMPS = "dated-stamps"
"""Counter of lines whose stamp carried its year (RFC 3339, loghub epochs) in a format that usually has none."""
LEAP_WINDOW_STAMPS = "leap-window-stamps"
"""Counter of year-less stamps dated 28 February to 1 March (at least the first of each run of them): only such
a log reads differently in a leap year and in another (29 February exists in one; and a local stamp near
midnight there is another UTC day), so only it must be read again, not moved, from one to the other."""


class YearTracker:
    """Supplies the year that BSD stamps leave out, across one file.

    The first stamp takes `ctx.year_hint` (the file's modification year), one year less when
    that would put it more than a day after the file was last written; later stamps move to
    the next year when the month jumps back by half a year or more (a Dec -> Jan rollover).
    """

    def __init__(self, ctx: ParseContext) -> None:
        self._ctx = ctx
        self._year: int | None = None
        self._month = 0
        # One-entry cache of the last stamp: consecutive lines usually share their second, and
        # building and converting the datetime was a tenth of a Postfix parse.
        self.last_stamp: tuple[str, str | None] | None = None
        self.last_time: tuple[datetime | None, TimeQuality] = (None, TimeQuality.NONE)
        self.hosts: dict[str, str | None] = {}
        """Raw host field -> normalised name: a log names few hosts, normalising each line was costly."""

    def year_for(self, month: int, day: int, hms: tuple[int, int, int]) -> int:
        if self._year is None:
            self._year = self._ctx.year_hint
            mtime = self._ctx.file_mtime
            if mtime is not None:
                limit = mtime.replace(tzinfo=None) + timedelta(days=1)
                try:
                    if datetime(self._year, month, day, *hms) > limit:
                        self._year -= 1
                except ValueError:  # Feb 29 in a common year: decided below by the caller
                    pass
        elif self._month - month >= 6:
            self._year += 1
        self._month = month
        return self._year


def _stamp_bsd(
    m: re.Match[str], ctx: ParseContext, years: YearTracker, host: str | None
) -> tuple[datetime | None, TimeQuality]:
    return bsd_time(m["mon"], int(m["day"]), (int(m["h"]), int(m["m"]), int(m["s"])), ctx, years, host)


def bsd_time(
    mon: str, day: int, hms: tuple[int, int, int], ctx: ParseContext, years: YearTracker, host: str | None
) -> tuple[datetime | None, TimeQuality]:
    """The UTC time of a BSD stamp's parts, its year from `years` (the fast extractor shares it)."""
    month = MONTHS.get(mon)
    if month is None:
        return None, TimeQuality.NONE
    year = years.year_for(month, day, hms)
    if (month == 2 and day >= 28) or (month == 3 and day == 1):
        ctx.count(LEAP_WINDOW_STAMPS)
    try:
        naive = datetime(year, month, day, *hms)
    except ValueError:
        return None, TimeQuality.NONE
    return ctx.localize(naive, host)


def _stamp_rfc3339(m: re.Match[str], ctx: ParseContext, host: str | None) -> tuple[datetime | None, TimeQuality]:
    text = m["ts"] + frac6(m["frac"])
    try:
        naive = datetime.fromisoformat(text)
    except ValueError:
        return None, TimeQuality.NONE
    zone = m["zone"]
    if zone is None:
        return ctx.localize(naive, host)
    if zone == "Z":
        return naive.replace(tzinfo=timezone.utc), TimeQuality.EXACT
    sign = -1 if zone[0] == "-" else 1
    digits = zone[1:].replace(":", "")
    offset = timedelta(hours=int(digits[:2]), minutes=int(digits[2:4]))
    aware = naive.replace(tzinfo=timezone(sign * offset))
    return aware.astimezone(timezone.utc), TimeQuality.EXACT


def _pid(text: str | None) -> int | None:
    return int(text) if text else None


def _host(raw: str, years: YearTracker) -> str | None:
    cache = years.hosts
    if raw in cache:
        return cache[raw]
    if len(cache) >= 4096:  # hostile logs with a new host on every line stay bounded
        cache.clear()
    host = cache[raw] = normalize_host(raw)
    return host


def parse_prefix(text: str, ctx: ParseContext, years: YearTracker) -> SyslogLine | None:
    """The syslog prefix of `text` in any of the supported forms, or None when it has none."""
    head = text[:3]
    if head in MONTHS:
        m = _BSD.match(text)
        if m is None:
            return None
        host = _host(m["host"], years)
        key = (text[: m.end("s")], host)
        if key == years.last_stamp:
            when, quality = years.last_time
        else:
            when, quality = _stamp_bsd(m, ctx, years, host)
            years.last_stamp, years.last_time = key, (when, quality)
        return SyslogLine(when, quality, host, m["prog"], _pid(m["pid"]), m["msg"])
    if text[:1].isdigit() and text[10:11] == "T":
        m = _RFC3339.match(text)
        if m is None:
            return None
        host = normalize_host(m["host"])
        when, quality = _stamp_rfc3339(m, ctx, host)
        ctx.count(DATED_STAMPS)  # the file is not year-less: its years are its own, never re-dated
        return SyslogLine(when, quality, host, m["prog"], _pid(m["pid"]), m["msg"])
    if text[:2] == "- " or (text[:1].isupper() and " 1" in text[:40]):
        m = _LOGHUB.match(text)
        if m is not None:
            host = normalize_host(m["node"])
            when = datetime.fromtimestamp(int(m["epoch"]), tz=timezone.utc)
            ctx.count(DATED_STAMPS)
            return SyslogLine(when, TimeQuality.EXACT, host, m["prog"], _pid(m["pid"]), m["msg"])
    if "| " in text[:200]:
        c = _COMPOSE.match(text)
        if c is not None and c.end() < len(text) and text[c.end()] != "|":
            return parse_prefix(text[c.end() :], ctx, years)
    return None


class ProgramHandler(Protocol):
    """One MTA's interpretation of the syslog lines written by its programs."""

    def accepts(self, program: str) -> bool: ...

    def handle(self, line: SyslogLine, lineno: int, text: str) -> Iterator[Record]: ...

    def finish(self) -> Iterator[Record]: ...


def parse_syslog_stream(stream: BinaryIO, ctx: ParseContext, handlers: Sequence[ProgramHandler]) -> Iterator[Record]:
    """Read a syslog file line by line and hand each line to the first handler that owns its program.

    A mail log often interleaves several MTAs (Sendmail relaying into Postfix) and unrelated
    daemons: the former are all parsed so their queue ids can be joined, the latter counted.
    """
    years = YearTracker(ctx)
    for lineno, text in iter_lines(stream, ctx):
        ctx.count("lines")
        yield from handle_line(text, lineno, ctx, years, handlers)
    for h in handlers:
        yield from h.finish()


def handle_line(
    text: str, lineno: int, ctx: ParseContext, years: YearTracker, handlers: Sequence[ProgramHandler]
) -> Iterator[Record]:
    """One line of a syslog file (not counted in `lines`): comment, pasted loop text, or its program's line."""
    if is_comment(text):
        ctx.count("comments")
        return
    line = parse_prefix(text, ctx, years)
    if line is None:
        signal = classify_loop_text(text) if text.strip() else None
        if signal is not None:
            # A bounce text or SMTP reply pasted into a log (support cases do this) is still
            # evidence of a loop, even with no syslog prefix: keep it, with no time and no
            # server (who wrote pasted text is unknown, whatever folder it sits in).
            ctx.count("loop-text")
            yield Event(location=ctx.loc(lineno), source=Source.LOOP_TEXT, text=text[:4096], loop_signal=signal)
            return
        ctx.count("unparsed")
        limited_issue(ctx, lineno, "not-syslog", "line has no syslog prefix", text)
        return
    for h in handlers:
        if h.accepts(line.program):
            yield from h.handle(line, lineno, text)
            return
    ctx.count("ignored")


def sniff_programs(head: bytes, match: re.Pattern[str]) -> float:
    """Share of the head's data lines that carry a syslog prefix with a program matching `match`."""
    lines = sniff_lines(head)
    ctx = ParseContext(path="<sniff>")
    years = YearTracker(ctx)
    hits = 0
    for raw in lines:
        line = parse_prefix(raw, ctx, years)
        if line is not None and match.match(line.program):
            hits += 1
    return hits / len(lines) if lines else 0.0


def line_event(template: Event, ctx: ParseContext, line: SyslogLine, lineno: int, text: str, event_code: str) -> Event:
    """`template` with what every event of a syslog line carries: place, text, time and the host that wrote it."""
    return evolve(
        template,
        location=ctx.loc(lineno),
        text=text,
        time=line.time,
        time_quality=line.quality if line.time else TimeQuality.NONE,
        server=line.host,
        server_source="content" if line.host else None,
        event_code=event_code,
    )


@dataclass(frozen=True)
class SyslogFormat:
    """One MTA whose syslog lines imsdiag reads: the format name files get when its lines lead, and its handler."""

    name: str
    """Format name in reports and for `--log-format`; also the `source` of its handler's events."""
    description: str
    sniff_program: re.Pattern[str]
    """Programs whose lines count for this format when sniffing a file."""
    handler: Callable[[ParseContext], ProgramHandler]
    """Makes the per-file handler of this MTA's lines."""
    walked: bool = False
    """The fast extractor reads this MTA's lines itself (Postfix). A file named after an MTA it does not walk is
    read by the full parser even when a fast read is asked for: walking it line by line only added cost
    (a Sendmail log took 1.5x the full parser's time)."""


class SyslogParser(Parser):
    """Syslog with BSD, RFC 3339, loghub or docker-compose prefixes; each line goes to its program's handler.

    There is one instance per MTA format: it takes that MTA's name and its sniff counts only that
    MTA's lines, so a file is named after the MTA that wrote it. Yet every MTA's lines are read
    (Sendmail relaying into Postfix on one host) so their queue ids can be joined.
    """

    yearless_stamps = True
    local_time = True
    has_extractor = True
    extractor_spans = True

    def __init__(self, own: SyslogFormat, formats: Sequence[SyslogFormat]) -> None:
        self.name = own.name
        self.description = own.description
        self._sniff_program = own.sniff_program
        # Its own handler first, as when each MTA had its own parser class (the handlers' programs
        # do not overlap, but the order of their end-of-file counters stays as it was).
        self._formats = (own, *(f for f in formats if f is not own))

    def sniff(self, head: bytes, filename: str) -> int:
        return score_share(sniff_programs(head, self._sniff_program))

    def parse(self, stream: BinaryIO, ctx: ParseContext) -> Iterator[Record]:
        return parse_syslog_stream(stream, ctx, [f.handler(ctx) for f in self._formats])

    def line_handlers(self, ctx: ParseContext) -> list[ProgramHandler]:
        """Fresh handlers for reading chosen lines of a file with `handle_line` (explain reads spans again)."""
        return [f.handler(ctx) for f in self._formats]

    def extract(self, stream: BinaryIO, ctx: ParseContext) -> Iterator[Record | EventTally | LogSpan]:
        if not self._formats[0].walked:
            return self.parse(stream, ctx)  # exact by definition; the index keeps its events whole
        from .fast.syslog_blocks import extract_syslog  # the fast extractor builds on this module

        return extract_syslog(stream, ctx, [f.handler(ctx) for f in self._formats])
