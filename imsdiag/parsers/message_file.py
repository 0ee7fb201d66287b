"""One RFC 822 message (.eml, .msg text, with or without an mbox From line) parser. (Being written: owned by a helper.)"""

from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO

from .base import ParseContext, Parser, Record


class MessageFileParser(Parser):
    """One RFC 822 message (.eml, .msg text, with or without an mbox From line)."""

    name = "message"
    description = "One RFC 822 message (.eml, .msg text, with or without an mbox From line)"

    def sniff(self, head: bytes, filename: str) -> int:
        return 0

    def parse(self, stream: BinaryIO, ctx: ParseContext) -> Iterator[Record]:
        return iter(())
