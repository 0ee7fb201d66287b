"""IMS protocol-log lines: time-stamp and line-start shapes, joining wrapped lines, and line texts read alone."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache

from ..models import LoopSignal
from ..names import normalize_host
from .base import ParseContext
from .ims_time import parse_ims_stamp

# `2/7/01 5:01:20 PM : body`. The stamp follows the server locale, so accept `.`/`-` separators,
# four-digit years and the 24-hour clock; parse_ims_stamp decides whether the values are real.
TS_LINE = re.compile(
    r"^(\d{1,2}[/.-]\d{1,2}[/.-](?:\d{4}|\d{2})\s{1,4}\d{1,2}:\d{2}:\d{2}(?:\s{0,4}[AaPp]\.?[Mm]\.?)?)\s{0,4}:\s?"
)
# A date followed by the start of a time: the line meant to carry a stamp, so a failure is worth an issue.
_STAMP_LIKE = re.compile(r"^\d{1,4}[/.-]\d{1,2}[/.-]\d{1,4}\s{1,4}\d{1,2}:\d")
# Every shape that begins a new log line even without a stamp (Q245787 and Q250507 carry none).
_LINE_START = re.compile(
    r"^(?:<<<|>>>|IO:\s{0,4}\||A connection (?:was accepted from|to) |\d{3}(?:[ -]|$)"
    r"|(?:HELO|EHLO|AUTH|VRFY|EXPN|ETRN|HELP|XEXCH50)\b|MAIL\s{1,8}FROM\b|RCPT\s{1,8}TO\b"
    r"|(?:DATA|QUIT|RSET|NOOP|TURN|STARTTLS)\s{0,8}$)",
    re.IGNORECASE,
)
_QUOTED_LINE = re.compile(r"\d|IO:|<<<|>>>|A connection ")
REPLY = re.compile(r"^(\d{3})(?:[ -]|$)")
REPLY_MORE = re.compile(r"^\d{3}-")
_NO_ROUTE = re.compile(r"No routing hosts are reachable for\s{1,4}(\S{1,255})", re.IGNORECASE)
_HOP_LIMIT = re.compile(r"too many hops|\(00120270\)|hop count exceeded", re.IGNORECASE)

_SUBJECT_MARK = "message subject:"
_RESCHEDULE_MARK = "rescheduling delivery for later"

MAX_PARTS = 200
"""Continuation lines joined to one logical line at most; more start a new line (bounded memory)."""
MAX_JOINED = 1 << 16
"""Characters of continuation text joined to one logical line at most."""
MAX_TEXT = 4096
"""Evidence text kept per event."""


@dataclass
class Line:
    """One logical log line: a stamped (or stamp-less start) line plus its continuation lines."""

    lineno: int
    raw: str
    naive: datetime | None
    parts: list[str]
    """The body of the first physical line (stamp removed), then each continuation line."""
    size: int = 0
    marker: str | None = field(init=False)
    """`<<<` or `>>>` before the first part's payload, if any."""
    io: bool = field(init=False)
    """The first part is a raw `IO: |` echo."""
    payload: str = field(init=False)
    """The first part without its marker and `IO: |` (the session reads this several times per line)."""

    def __post_init__(self) -> None:
        self.marker, self.io, self.payload = split_marker(self.parts[0])

    @property
    def last_part(self) -> str:
        return self.parts[-1] if len(self.parts) > 1 else self.payload


def split_marker(body: str) -> tuple[str | None, bool, str]:
    """Split `<<< IO: |payload` into (marker, is-raw-echo, payload)."""
    marker: str | None = None
    s = body
    if s.startswith(("<<<", ">>>")):
        marker, s = s[:3], s[3:].lstrip(" ")
    if s.startswith("IO:"):
        rest = s[3:].lstrip(" ")
        if rest.startswith("|"):
            return marker, True, rest[1:]
    return marker, False, s


def _unquote(subject: str) -> str:
    """`""Case 27375""` (Q228725) or `"x"` -> the subject inside the quotes."""
    s = subject.strip()
    if len(s) >= 4 and s.startswith('""') and s.endswith('""'):
        return s[2:-2]
    if len(s) >= 2 and s.startswith('"') and s.endswith('"'):
        return s[1:-1]
    return s


def parse_reschedule(text: str, low: str | None = None) -> tuple[str, str | None, str | None, str | None] | None:
    """Read `<error> Message subject: <subj>. Rescheduling delivery for later.` (Q146669, Q239816).

    Returns (error text, reply code, destination domain, subject) or None when the line is not one.
    String search, not a regex, because the line may be a hostile megabyte. `low`: `text.lower()`, when
    the caller has it already.
    """
    if low is None:
        low = text.lower()
    i = low.find(_SUBJECT_MARK)
    j = low.rfind(_RESCHEDULE_MARK)
    if i < 0 or j < i:
        return None
    error = text[:i].strip()
    subject = text[i + len(_SUBJECT_MARK) : j].strip()
    if subject.endswith("."):
        subject = subject[:-1].rstrip()
    subject = _unquote(subject)
    code = error[:3] if error[:3].isdigit() else None
    m = _NO_ROUTE.search(error[:2000])
    domain = normalize_host(m.group(1).rstrip(".")) if m else None
    return error, code, domain, subject or None


def loop_signal_of(text: str, low: str | None = None) -> LoopSignal | None:
    """Explicit loop evidence in a log line: a hop limit, or a detected loop (`low`: `text.lower()`, if known)."""
    if low is None:
        low = text.lower()
    # On ASCII text, the case-blind regex and a search of the lower-cased text agree (beyond ASCII, `re`
    # also lets the long s `ſ` match `s`): three substring tests cost a fraction of the regex.
    if text.isascii():
        hop_limit = "too many hops" in low or "(00120270)" in low or "hop count exceeded" in low
    else:
        hop_limit = _HOP_LIMIT.search(text) is not None
    if hop_limit:
        return LoopSignal.HOP_LIMIT
    if "loop" in low and "detected" in low:
        return LoopSignal.ROUTING_LOOP
    return None


@lru_cache(maxsize=256)
def _stamp(text: str) -> datetime | None:
    """parse_ims_stamp, memoised: consecutive lines mostly share their second."""
    return parse_ims_stamp(text)


def strip_quotes(text: str) -> str:
    """KB articles quote whole log lines (Q239816, Q198981): drop the outer pair."""
    if len(text) >= 2 and text[0] == '"' and text[-1] == '"' and _QUOTED_LINE.match(text, 1):
        return text[1:-1]
    return text


def new_line(lineno: int, text: str, ctx: ParseContext, s: str | None = None) -> Line | None:
    """Read one physical line into a logical line, or None when it has no stamp (a candidate continuation).

    `s`: `strip_quotes(text)`, when the caller has it already.
    """
    if s is None:
        s = strip_quotes(text)
    m = TS_LINE.match(s)
    if m is not None:
        naive = _stamp(m.group(1))
        if naive is None:
            ctx.issue(lineno, "bad-timestamp", f"time stamp {m.group(1)!r} is not a valid date", text)
        return Line(lineno, text[:MAX_TEXT], naive, [s[m.end() :]])
    if _STAMP_LIKE.match(s):
        ctx.issue(lineno, "bad-timestamp", "line starts like a time stamp but it does not parse", text)
        return Line(lineno, text[:MAX_TEXT], None, [""])
    return None


def continues(held: Line, text: str) -> bool:
    """Whether a stamp-less line continues `held` (a wrapped line or a multi-line reply)."""
    if len(held.parts) >= MAX_PARTS or held.size + len(text) > MAX_JOINED:
        return False
    if _LINE_START.match(text) is None:
        low = text.lower()
        return not (_SUBJECT_MARK in low and _RESCHEDULE_MARK in low)
    return bool(REPLY.match(text)) and bool(REPLY_MORE.match(held.last_part))
