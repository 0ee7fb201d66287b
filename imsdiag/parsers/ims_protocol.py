"""Exchange 5.x IMS SMTP protocol-log parser (`Imcdata\\Log\\L*.LOG`): one Event per SMTP transaction."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import BinaryIO

from ..models import ParseIssue
from .base import ParseContext, Parser, Record, decode, iter_lines, looks_binary
from .ims_protocol_lines import (
    MAX_TEXT,
    TS_LINE,
    Line,
    continues,
    loop_signal_of,
    new_line,
    parse_reschedule,
    strip_quotes,
)
from .ims_protocol_session import Reader
from .ims_protocol_txn import NAME

# Tests and tools read the line-text helpers from here, where they lived before the split.
__all__ = ["NAME", "ImsProtocolParser", "loop_signal_of", "parse_reschedule"]


class ImsProtocolParser(Parser):
    """Exchange 5.x IMS SMTP protocol log (`Imcdata\\Log\\L*.LOG`)."""

    name = NAME
    description = "Exchange 5.x IMS SMTP protocol log (Imcdata\\Log\\L*.LOG)"
    local_time = True

    def sniff(self, head: bytes, filename: str) -> int:
        if looks_binary(head):
            return 0
        starts = stamped = bare = 0
        for raw in decode(head[:65536]).splitlines()[:400]:
            line = raw.strip('"')
            m = TS_LINE.match(line)
            body = line[m.end() :] if m else line
            if body.startswith(("A connection was accepted from", "A connection to ")):
                starts += 1
            elif body.startswith(("<<<", ">>>", "IO: |")):
                if m:
                    stamped += 1
                else:
                    bare += 1
        score = (40 if starts else 0) + 5 * min(stamped, 10) + 3 * min(bare, 5)
        score = min(score, 90)
        base = re.split(r"[\\/]", filename)[-1]
        if score and re.fullmatch(r"L\w{0,12}\.log", base, re.IGNORECASE):
            score += 10
        return score

    def parse(self, stream: BinaryIO, ctx: ParseContext) -> Iterator[Record]:
        reader = Reader(ctx)
        held: Line | None = None
        lines = 0
        try:
            for lineno, text in iter_lines(stream, ctx):
                lines += 1
                try:
                    body = strip_quotes(text) if text[:1] == '"' else text  # a quoted line is rare
                    line = new_line(lineno, text, ctx, body)
                    if line is None:
                        if held is not None and continues(held, body):
                            held.parts.append(body)
                            held.size += len(body)
                            continue
                        line = Line(lineno, text[:MAX_TEXT], None, [body])
                    if held is not None:
                        reader.feed(held)
                    held = line
                except Exception as exc:  # a parser bug must cost one line, never the file
                    held = None
                    yield ParseIssue(ctx.loc(lineno), "parser-error", f"{type(exc).__name__}: {exc}", text[:200])
                if reader.out:
                    yield from reader.drain()
        finally:
            ctx.count("lines", lines)  # once, not once a line: the count is read after the file
        try:
            if held is not None:
                reader.feed(held)
            reader.finish()
        except Exception as exc:
            yield ParseIssue(ctx.loc(0), "parser-error", f"{type(exc).__name__}: {exc}")
        yield from reader.drain()
