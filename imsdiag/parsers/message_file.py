"""One RFC 822 message per file (.eml, .msg text, .txt), optionally opened by an mbox `From ` line."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

from ..models import Direction, Location, Source
from .base import ParseContext, Parser, Record, iter_lines
from .headers import message_event, read_message

MAX_MESSAGE = 2_000_000
"""Bytes of one message kept for reading; the rest of a bigger message is skipped, not held."""

_HEADER_NAME = re.compile(r"([!-9;-~]{1,80}):")
_KNOWN = frozenset(
    {"received", "from", "message-id", "return-path", "subject", "mime-version", "date", "to", "delivered-to"}
)
_FROM_SEPARATOR = re.compile(r"^From \S{0,512}")
_SEPARATOR_TIME = re.compile(r"\d{1,2}:\d{2}")


def is_from_separator(line: str) -> bool:
    """True for an mbox `From sender date` line (with a time, so body text rarely matches)."""
    return line.startswith("From ") and bool(_SEPARATOR_TIME.search(line[:300]))


def header_score(head: bytes) -> int:
    """How strongly the start of `head` looks like a message header block (0 when it does not).

    Every line up to the first blank one must be a header or a continuation; the score grows with
    the well-known names (`Received:`, `From:`, `Message-ID:`, ...) among them.
    """
    text = head[:4096].decode("latin-1").replace("\r\n", "\n").replace("\r", "\n")
    lines = text.split("\n")
    if lines and lines[0].startswith("From "):
        lines = lines[1:]
    valid = known = 0
    for line in lines[:-1]:  # the last line may be cut by the sniff window
        if not line.strip():
            break
        m = _HEADER_NAME.match(line)
        if m:
            valid += 1
            known += m.group(1).lower() in _KNOWN
        elif not (line[:1] in (" ", "\t") and valid):
            return 0
    if known >= 2:
        return min(45 + 2 * known, 60)
    if known == 1:
        return 45 if valid >= 2 else 35
    return 0


@dataclass
class MessageBuffer:
    """Collects one message's lines (bounded) and the line numbers of its Received headers."""

    first_line: int = 0
    size: int = 0
    truncated: bool = False
    in_headers: bool = True
    chunks: list[bytes] = field(default_factory=list)
    received_lines: list[int] = field(default_factory=list)

    def add(self, lineno: int, text: str) -> None:
        if self.first_line == 0:
            self.first_line = lineno
        if self.in_headers:
            if not text.strip():
                self.in_headers = False
            elif text[:9].lower() == "received:" or text[:10].lower() == "received :":
                self.received_lines.append(lineno)
        if self.truncated:
            return
        data = text.encode("utf-8", "replace") + b"\n"
        if self.size + len(data) > MAX_MESSAGE:
            self.truncated = True
            return
        self.chunks.append(data)
        self.size += len(data)

    @property
    def empty(self) -> bool:
        return not any(c.strip() for c in self.chunks)


def buffer_events(buf: MessageBuffer, ctx: ParseContext, source: Source, separator_line: int = 0) -> Iterator[Record]:
    """The Event (and issues) for one collected message; `separator_line` is its mbox `From ` line, if any."""
    if buf.empty:
        if separator_line:
            # A `From ` line promises a message: saying nothing would hide a cut or emptied mailbox.
            ctx.issue(separator_line, "empty-message", "mbox From line with no message after it")
        return
    loc = ctx.loc(buf.first_line)
    info = read_message(b"".join(buf.chunks), location=Location(ctx.path), received_lines=tuple(buf.received_lines))
    if buf.truncated:
        ctx.issue(buf.first_line, "message-truncated", f"message longer than {MAX_MESSAGE} bytes read only in part")
    if "no-headers" in info.defects:
        ctx.issue(buf.first_line, "not-a-message", "no message headers found")
        return
    ctx.count("messages")
    yield message_event(
        info,
        loc,
        source,
        direction=Direction.UNKNOWN,
        server=ctx.server_hint,
        server_source=ctx.server_hint_source if ctx.server_hint else None,
    )


class MessageFileParser(Parser):
    """One RFC 822 message (.eml, .msg text, with or without an mbox From line)."""

    name = Source.MESSAGE
    description = "One RFC 822 message (.eml, .msg text, with or without an mbox From line)"

    def sniff(self, head: bytes, filename: str) -> int:
        score = header_score(head)
        if score and os.path.splitext(filename)[1].lower() in (".eml", ".msg"):
            score += 5
        return score

    def parse(self, stream: BinaryIO, ctx: ParseContext) -> Iterator[Record]:
        buf = MessageBuffer()
        separator_line = 0
        for lineno, text in iter_lines(stream, ctx):
            if lineno == 1 and _FROM_SEPARATOR.match(text):
                separator_line = 1
                continue  # the mbox envelope line is not a header
            if buf.first_line == 0 and not text.strip():
                continue
            buf.add(lineno, text)
        yield from buffer_events(buf, ctx, Source.MESSAGE, separator_line)
