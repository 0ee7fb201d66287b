"""Shared syslog handling for MTA logs: line prefixes, year-less time stamps, program dispatch, loop texts."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import BinaryIO, Protocol, TypeVar

from ..models import Event, LoopSignal, TimeQuality
from ..names import normalize_host
from .base import ParseContext, Record, iter_lines

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


def evolve(ev: Event, **changes: object) -> Event:
    """`dataclasses.replace` for an Event, without its per-field introspection (about 6x faster).

    Event has no `__post_init__`, so copying the instance dict is equivalent; parsers call this
    once or twice for every event they yield, which made `replace` the top entry of the profile.
    """
    new = object.__new__(Event)
    d = new.__dict__
    d.update(ev.__dict__)
    d.update(changes)
    return new


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
    month = MONTHS.get(m["mon"])
    if month is None:
        return None, TimeQuality.NONE
    hms = (int(m["h"]), int(m["m"]), int(m["s"]))
    day = int(m["day"])
    year = years.year_for(month, day, hms)
    try:
        naive = datetime(year, month, day, *hms)
    except ValueError:
        return None, TimeQuality.NONE
    return ctx.localize(naive, host)


def frac6(frac: str | None) -> str:
    """`.62` -> `.620000`: Python 3.10's fromisoformat takes only 3 or 6 fraction digits."""
    if not frac:
        return ""
    return "." + (frac[1:] + "000000")[:6]


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
        return SyslogLine(when, quality, host, m["prog"], _pid(m["pid"]), m["msg"])
    if text[:2] == "- " or (text[:1].isupper() and " 1" in text[:40]):
        m = _LOGHUB.match(text)
        if m is not None:
            host = normalize_host(m["node"])
            when = datetime.fromtimestamp(int(m["epoch"]), tz=timezone.utc)
            return SyslogLine(when, TimeQuality.EXACT, host, m["prog"], _pid(m["pid"]), m["msg"])
    if "| " in text[:200]:
        c = _COMPOSE.match(text)
        if c is not None and c.end() < len(text) and text[c.end()] != "|":
            return parse_prefix(text[c.end() :], ctx, years)
    return None


# Loop phrases as MTAs write them in log lines and NDR texts, lower-cased; first match wins, so
# the specific hop-limit texts come before the generic "loop detected".
_LOOP_TEXTS: tuple[tuple[str, LoopSignal], ...] = (
    ("too many hops", LoopSignal.HOP_LIMIT),
    ("hopcount exceeded", LoopSignal.HOP_LIMIT),
    ("hop count exceeded", LoopSignal.HOP_LIMIT),
    ('too many "received" headers', LoopSignal.HOP_LIMIT),
    ("too many received headers", LoopSignal.HOP_LIMIT),
    ("5.4.14", LoopSignal.HOP_LIMIT),
    ("loops back to myself", LoopSignal.LOOPS_BACK),
    ("greeted me with my own hostname", LoopSignal.LOOPS_BACK),
    ("mail forwarding loop for", LoopSignal.FORWARDING_LOOP),
    ("aliasing/forwarding loop", LoopSignal.FORWARDING_LOOP),
    ("routing loop", LoopSignal.ROUTING_LOOP),
    ("loop detected", LoopSignal.ROUTING_LOOP),
    ("message looping", LoopSignal.ROUTING_LOOP),
)
_LOOP_HINT = re.compile(r"hop|loop|received|5\.4\.14|greeted", re.IGNORECASE)


def classify_loop_text(text: str | None) -> LoopSignal | None:
    """The loop evidence a log line or status text carries, if any."""
    if not text or _LOOP_HINT.search(text) is None:  # most lines: one cheap scan, no lowering
        return None
    low = text.lower()
    for phrase, signal in _LOOP_TEXTS:
        if phrase in low:
            return signal
    return None


class ProgramHandler(Protocol):
    """One MTA's interpretation of the syslog lines written by its programs."""

    def accepts(self, program: str) -> bool: ...

    def handle(self, line: SyslogLine, lineno: int, text: str) -> Iterator[Record]: ...

    def finish(self) -> Iterator[Record]: ...


MAX_ISSUES_PER_CODE = 1000
"""After this many issues of one code in a file only the counter grows, so memory stays bounded."""


def limited_issue(ctx: ParseContext, line: int, code: str, message: str, excerpt: str = "") -> None:
    """Record an issue unless this file already has MAX_ISSUES_PER_CODE of that code; always count it."""
    key = f"issue:{code}"
    ctx.count(key)
    if ctx.counters[key] <= MAX_ISSUES_PER_CODE:
        ctx.issue(line, code, message, excerpt)


def is_comment(text: str) -> bool:
    """Blank lines and `#` annotations (fail2ban's `# failJSON:`) carry no log data."""
    stripped = text.strip()
    return not stripped or stripped.startswith("#")


def parse_syslog_stream(stream: BinaryIO, ctx: ParseContext, handlers: Sequence[ProgramHandler]) -> Iterator[Record]:
    """Read a syslog file line by line and hand each line to the first handler that owns its program.

    A mail log often interleaves several MTAs (Sendmail relaying into Postfix) and unrelated
    daemons: the former are all parsed so their queue ids can be joined, the latter counted.
    """
    years = YearTracker(ctx)
    for lineno, text in iter_lines(stream, ctx):
        ctx.count("lines")
        if is_comment(text):
            ctx.count("comments")
            continue
        line = parse_prefix(text, ctx, years)
        if line is None:
            signal = classify_loop_text(text) if text.strip() else None
            if signal is not None:
                # A bounce text or SMTP reply pasted into a log (support cases do this) is still
                # evidence of a loop, even with no syslog prefix: keep it, with no time and no
                # server (who wrote pasted text is unknown, whatever folder it sits in).
                ctx.count("loop-text")
                yield Event(location=ctx.loc(lineno), source="loop-text", text=text[:4096], loop_signal=signal)
                continue
            ctx.count("unparsed")
            limited_issue(ctx, lineno, "not-syslog", "line has no syslog prefix", text)
            continue
        for h in handlers:
            if h.accepts(line.program):
                yield from h.handle(line, lineno, text)
                break
        else:
            ctx.count("ignored")
    for h in handlers:
        yield from h.finish()


def sniff_programs(head: bytes, match: re.Pattern[str]) -> float:
    """Share of the head's data lines that carry a syslog prefix with a program matching `match`."""
    text = head.decode("utf-8", errors="replace")
    lines = text.splitlines()
    if len(head) >= 16384 and lines:
        lines = lines[:-1]  # the last line may be cut by the sniff window
    ctx = ParseContext(path="<sniff>")
    years = YearTracker(ctx)
    total = hits = 0
    for raw in lines[:400]:
        if is_comment(raw):
            continue
        total += 1
        line = parse_prefix(raw, ctx, years)
        if line is not None and match.match(line.program):
            hits += 1
    return hits / total if total else 0.0


def score_share(share: float) -> int:
    """A sniff score from the share of recognised lines: any real share scores above MIN_CONFIDENCE."""
    if share <= 0.0:
        return 0
    return min(95, int(31 + 64 * share))


MAX_AGE = timedelta(hours=24)
"""Open queue ids not seen for this long (log time) are dropped, so memory stays bounded."""
MAX_OPEN = 100_000
"""Hard cap on open queue ids, for logs without usable times."""


class _Stamped(Protocol):
    last_seen: datetime | None


S = TypeVar("S", bound=_Stamped)


class OpenIds(dict[str, S]):
    """Per-queue-id state of an MTA log with bounded memory.

    Ids the log never closes (a message frozen, a log cut mid-message, Sendmail's missing `removed`)
    are swept out once they have been silent for `max_age` of log time, checked every `sweep_every`
    new ids; beyond `max_open` the oldest go first, for logs without usable times.
    """

    def __init__(
        self,
        factory: Callable[[], S],
        ctx: ParseContext,
        max_age: timedelta = MAX_AGE,
        max_open: int = MAX_OPEN,
        sweep_every: int = 1000,
    ) -> None:
        super().__init__()
        self._factory = factory
        self._ctx = ctx
        self._max_age = max_age
        self._max_open = max_open
        self._sweep_every = sweep_every
        self._new = 0

    def state(self, qid: str, when: datetime | None) -> S:
        """The state of `qid`, created when new, stamped with `when`."""
        st = self.get(qid)
        if st is None:
            self._new += 1
            if self._new >= self._sweep_every or len(self) >= self._max_open:
                self._sweep(when)
            st = self[qid] = self._factory()
        if when is not None:
            st.last_seen = when
        return st

    def _sweep(self, now: datetime | None) -> None:
        self._new = 0
        if now is not None:
            stale = [q for q, s in self.items() if s.last_seen is not None and now - s.last_seen > self._max_age]
            for q in stale:
                del self[q]
            self._ctx.count("evicted", len(stale))
        while len(self) >= self._max_open:
            del self[next(iter(self))]
            self._ctx.count("evicted")
