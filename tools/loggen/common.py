"""Shared pieces of the generator: time formats, id makers, time-ordered output sinks and messages."""

from __future__ import annotations

import calendar
import heapq
import random
import string
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

CRLF = "\r\n"
LF = "\n"

_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_UPPER_DIGITS = string.ascii_uppercase + string.digits
_HEX = "0123456789ABCDEF"


def epoch(t: datetime) -> float:
    """Seconds since 1970 for a naive time read as UTC (never the host's zone: output must not vary)."""
    return float(calendar.timegm(t.timetuple()))


def at(base: datetime, seconds: float) -> datetime:
    """`base` plus a number of seconds, truncated to whole seconds (logs carry no fractions)."""
    return base + timedelta(seconds=int(seconds))


def fmt_ims(t: datetime) -> str:
    """IMS protocol-log stamp `3/15/99 9:14:02 AM` (US locale, two-digit year, 12-hour clock)."""
    hour = t.hour % 12 or 12
    half = "AM" if t.hour < 12 else "PM"
    return f"{t.month}/{t.day}/{t.year % 100:02d} {hour}:{t.minute:02d}:{t.second:02d} {half}"


def fmt_rfc822(t: datetime, zone: str) -> str:
    """RFC 822 date `Mon, 15 Mar 1999 09:14:03 -0500` for a local time in `zone`."""
    return f"{_DAYS[t.weekday()]}, {t.day} {_MONTHS[t.month - 1]} {t.year} {t:%H:%M:%S} {zone}"


def fmt_tracking(t: datetime) -> str:
    """Exchange 5.x tracking stamp `1999.3.15 14:14:3`: GMT, no zero padding anywhere."""
    return f"{t.year}.{t.month}.{t.day} {t.hour}:{t.minute}:{t.second}"


def fmt_syslog(t: datetime) -> str:
    """BSD syslog stamp `Mar 15 09:14:02` (day padded with a space, as syslogd writes it)."""
    return f"{_MONTHS[t.month - 1]} {t.day:2d} {t:%H:%M:%S}"


def fmt_exim(t: datetime) -> str:
    """Exim mainlog stamp `2024-05-06 10:11:12`."""
    return f"{t:%Y-%m-%d %H:%M:%S}"


class Ids:
    """Unique identifiers of every kind the servers write, all drawn from one seeded RNG."""

    def __init__(self, rng: random.Random, unique: bool = True) -> None:
        self.rng = rng
        # Bench mode turns the uniqueness check off: the set would grow with the output, and
        # collisions among 8-10 random characters are too rare to matter there.
        self.unique = unique
        self._seen: set[str] = set()
        self._pid = 1000 + rng.randrange(3000)

    def _fresh(self, alphabet: str, n: int, prefix: str = "") -> str:
        while True:
            value = prefix + "".join(self.rng.choice(alphabet) for _ in range(n))
            if not self.unique:
                return value
            if value not in self._seen:
                self._seen.add(value)
                return value

    def spool(self) -> str:
        """An IMS spool / archive file name: 8 upper-case letters and digits."""
        return self._fresh(_UPPER_DIGITS, 8)

    def exchange_msgid(self, host: str) -> str:
        """An Exchange 5.5 style Message-ID `<32 hex digits@host>`."""
        return f"<{self._fresh(_HEX, 32)}@{host}>"

    def plain_msgid(self, host: str) -> str:
        """A Unix MUA style Message-ID."""
        stamp = self._fresh(string.digits, 12)
        return f"<{stamp}.{self.rng.randrange(10000, 99999)}@{host}>"

    def pid(self) -> int:
        """A process id that only grows, as on a busy Unix host."""
        self._pid += self.rng.randrange(1, 40)
        if self._pid > 32000:
            self._pid = 1000 + self.rng.randrange(500)
        return self._pid

    def sendmail_qid(self, t: datetime, pid: int) -> str:
        """A sendmail 8.9 queue id: hour letter, two letters, five-digit pid (`JAA01234`)."""
        letters = self._fresh(string.ascii_uppercase, 2, prefix=f"{chr(65 + t.hour)}")
        return f"{letters}{pid % 100000:05d}"

    def postfix_qid(self) -> str:
        """A classic Postfix queue id: 10 upper-case hex digits."""
        return self._fresh(_HEX, 10)

    def exim_id(self, t: datetime) -> str:
        """A classic Exim message id `1cmsXD-003mi8-Iw` (base-62 time, pid, fraction)."""
        alphabet = string.digits + string.ascii_uppercase + string.ascii_lowercase
        secs = int(epoch(t))
        head = ""
        for _ in range(6):
            head = alphabet[secs % 62] + head
            secs //= 62
        return self._fresh(alphabet, 2, prefix=f"{head}-{self._fresh(alphabet, 6)}-")


@dataclass
class Sink:
    """One output log file: entries are added with a time and written in time order.

    A min-heap keyed on (time, insertion order) lets a generator add a whole session at its start
    time while other sessions are still open; `flush(before)` writes everything older than a
    horizon so memory stays bounded in bench mode.
    """

    path: Path
    newline: str = LF
    written: int = 0
    _heap: list[tuple[float, int, str]] = field(default_factory=list)
    _seq: int = 0
    _started: bool = False

    def add(self, t: datetime | float, lines: Iterable[str]) -> None:
        key = epoch(t) if isinstance(t, datetime) else t
        text = "".join(line + self.newline for line in lines)
        self._seq += 1
        heapq.heappush(self._heap, (key, self._seq, text))
        self.written += len(text)

    def flush(self, before: datetime | None = None) -> None:
        """Append every entry older than `before` (all of them when None) to the file."""
        horizon = epoch(before) if before is not None else float("inf")
        chunks: list[str] = []
        while self._heap and self._heap[0][0] < horizon:
            chunks.append(heapq.heappop(self._heap)[2])
        if not chunks and self._started:
            return
        if not self._started:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        # newline="" keeps CRLF files byte-exact on every platform.
        with open(self.path, "a" if self._started else "w", encoding="latin-1", newline="") as fh:
            fh.write("".join(chunks))
        self._started = True


@dataclass
class Message:
    """An RFC 822 message as a header list plus body; Received lines are kept apart so they can grow."""

    headers: list[tuple[str, str]]
    body: str
    received: list[str] = field(default_factory=list)
    """`Received:` values, newest first, exactly as they are written (may contain CRLF + TAB folds)."""

    @property
    def message_id(self) -> str:
        return self.header("Message-ID")

    def header(self, name: str) -> str:
        for key, value in self.headers:
            if key.lower() == name.lower():
                return value
        return ""

    def with_received(self, value: str) -> Message:
        """A copy with one more `Received:` line on top."""
        return Message(list(self.headers), self.body, [value, *self.received])

    def with_header(self, name: str, value: str) -> Message:
        """A copy with `name` replaced (or added) by `value`."""
        headers = [(k, value if k.lower() == name.lower() else v) for k, v in self.headers]
        if not any(k.lower() == name.lower() for k, _ in headers):
            headers.append((name, value))
        return Message(headers, self.body, list(self.received))

    def render(self) -> str:
        """The message text with CRLF line ends, as SMTP carries it and the IMS archives it."""
        lines = [f"Received: {r}" for r in self.received]
        lines += [f"{k}: {v}" for k, v in self.headers]
        head = CRLF.join(lines).replace(CRLF, LF).replace(LF, CRLF)
        body = self.body.replace(CRLF, LF).replace(LF, CRLF)
        return f"{head}{CRLF}{CRLF}{body}"

    @property
    def size(self) -> int:
        return len(self.render())


def text_body(rng: random.Random, paragraphs: int = 2) -> str:
    """A short plausible business mail body."""
    sentences = (
        "Please find the figures for the last quarter below.",
        "Let me know if the meeting on Thursday still works for you.",
        "The shipment left the warehouse this morning.",
        "I have attached the revised schedule to the shared folder.",
        "Could you review the draft before the end of the week?",
        "Thanks for the quick answer yesterday.",
        "The server maintenance window is Saturday from 22:00.",
        "Our team will send the signed contract by courier.",
    )
    out = []
    for _ in range(paragraphs):
        out.append(" ".join(rng.choice(sentences) for _ in range(rng.randrange(2, 5))))
    return LF.join(out) + LF + LF + "Regards" + LF


def write_bytes(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def write_text(path: Path, text: str, newline: str = LF) -> None:
    """Write text with the given line ends, byte-exact."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="latin-1", newline="") as fh:
        fh.write(text.replace(CRLF, LF).replace(LF, newline))
