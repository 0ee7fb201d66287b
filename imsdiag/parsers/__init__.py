"""Parser registry: every input format imsdiag reads, and detection of a file's format by content."""

from __future__ import annotations

from functools import cache

from .base import NUL_FIRST, NUL_LINES, ParseContext, Parser, Record, looks_binary
from .exchange_tracking import ExchangeTrackingParser
from .exim import EximParser
from .ims_archive import ImsArchiveParser
from .ims_protocol import ImsProtocolParser
from .ims_tracking import ImsTrackingParser
from .mbox import MboxParser
from .message_file import MessageFileParser
from .postfix import POSTFIX
from .sendmail import SENDMAIL
from .syslog import SyslogFormat, SyslogParser

RECORDS_VERSION = 4
"""Bumped whenever a parser makes different records from the same bytes, so the index reads stored files again
(2: bounces carry their Reporting-MTA and the postmaster domain that wrote them; 3: Postfix and Sendmail logs
are stored as their fast extractor reads them, tallies and LogSpans; 4: syslog files count their stamps of 28
February to 1 March, which decide whether a year-less log is moved to another year or read again)."""

SYSLOG_FORMATS: tuple[SyslogFormat, ...] = (POSTFIX, SENDMAIL)
"""MTAs whose lines the syslog parser reads; each is also a format of its own (the file's leading MTA)."""

# The order breaks ties in `detect` (the first best score wins): moving a parser may rename some files' format.
PARSERS: tuple[Parser, ...] = (
    ImsProtocolParser(),
    ImsTrackingParser(),
    ImsArchiveParser(),
    MboxParser(),
    MessageFileParser(),
    *(SyslogParser(f, SYSLOG_FORMATS) for f in SYSLOG_FORMATS),
    EximParser(),
    ExchangeTrackingParser(),
)

MIN_CONFIDENCE = 30
"""A file whose best sniff score is below this is skipped as `unknown-format`."""


def by_name(name: str) -> Parser:
    """The parser called `name`; the error lists the known ones."""
    for p in PARSERS:
        if p.name == name:
            return p
    known = ", ".join(p.name for p in PARSERS)
    raise ValueError(f"no such log format: {name!r} (known: {known})")


def detect(head: bytes, filename: str) -> tuple[Parser | None, int]:
    """The parser whose sniff scores highest for `head`, with its score; None below MIN_CONFIDENCE."""
    best: Parser | None = None
    best_score = 0
    for p in PARSERS:
        try:
            score = p.sniff(head, filename)
        except Exception:  # a sniffer bug must not hide the file from the others
            score = 0
        if score > best_score:
            best, best_score = p, score
    if best_score < MIN_CONFIDENCE:
        return None, best_score
    return best, best_score


@cache
def yearless_formats() -> frozenset[str]:
    """Formats whose time stamps carry no year (`Parser.yearless_stamps`)."""
    return frozenset(p.name for p in PARSERS if p.yearless_stamps)


@cache
def local_time_formats() -> frozenset[str]:
    """Formats that may hold zone-less local times (`Parser.local_time`)."""
    return frozenset(p.name for p in PARSERS if p.local_time)


__all__ = [
    "MIN_CONFIDENCE",
    "NUL_FIRST",
    "NUL_LINES",
    "PARSERS",
    "RECORDS_VERSION",
    "SYSLOG_FORMATS",
    "ParseContext",
    "Parser",
    "Record",
    "by_name",
    "detect",
    "local_time_formats",
    "looks_binary",
    "yearless_formats",
]
