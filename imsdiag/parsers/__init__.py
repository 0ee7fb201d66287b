"""Parser registry: every input format imsdiag reads, and detection of a file's format by content."""

from __future__ import annotations

from .base import ParseContext, Parser, Record
from .exchange_tracking import ExchangeTrackingParser
from .exim import EximParser
from .ims_archive import ImsArchiveParser
from .ims_protocol import ImsProtocolParser
from .ims_tracking import ImsTrackingParser
from .mbox import MboxParser
from .message_file import MessageFileParser
from .postfix import PostfixParser
from .sendmail import SendmailParser

PARSERS: tuple[Parser, ...] = (
    ImsProtocolParser(),
    ImsTrackingParser(),
    ImsArchiveParser(),
    MboxParser(),
    MessageFileParser(),
    PostfixParser(),
    SendmailParser(),
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


__all__ = ["MIN_CONFIDENCE", "PARSERS", "ParseContext", "Parser", "Record", "by_name", "detect"]
