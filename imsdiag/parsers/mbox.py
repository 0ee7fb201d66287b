"""Unix mbox folder: many messages separated by `From ` lines, read one message at a time."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import BinaryIO

from ..models import Source
from .base import ParseContext, Parser, Record, iter_lines
from .message_file import MessageBuffer, buffer_events, header_score, is_from_separator


class MboxParser(Parser):
    """Unix mbox folder of messages."""

    name = Source.MBOX
    description = "Unix mbox folder of messages"

    def sniff(self, head: bytes, filename: str) -> int:
        if not head.startswith(b"From "):
            return 0
        first, _, rest = head.partition(b"\n")
        if not is_from_separator(first.decode("latin-1")[:300]):
            return 0
        seconds = [ln for ln in rest.split(b"\n") if ln.startswith(b"From ")]
        if any(is_from_separator(ln.decode("latin-1")[:300]) for ln in seconds):
            return 80
        if os.path.basename(filename).lower().startswith("mbox") and header_score(head):
            return 70
        return 0

    def parse(self, stream: BinaryIO, ctx: ParseContext) -> Iterator[Record]:
        buf: MessageBuffer | None = None
        separator_line = 0
        previous_blank = True
        for lineno, text in iter_lines(stream, ctx):
            # A `From ` line separates messages only after a blank line (or at the top):
            # a body line that happens to start with "From " must not split a message.
            if previous_blank and is_from_separator(text):
                if buf is not None:
                    yield from buffer_events(buf, ctx, Source.MBOX, separator_line)
                buf = MessageBuffer()
                buf.first_line = lineno + 1  # the event points at the message's first header
                separator_line = lineno
                previous_blank = False
                continue
            previous_blank = not text.strip()
            if buf is None:
                buf = MessageBuffer()  # junk before the first separator still gets read
            buf.add(lineno, text)
        if buf is not None:
            yield from buffer_events(buf, ctx, Source.MBOX, separator_line)
