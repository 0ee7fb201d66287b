"""Postfix syslog parser. (Being written: owned by a helper.)"""

from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO

from .base import ParseContext, Parser, Record


class PostfixParser(Parser):
    """Postfix syslog."""

    name = "postfix"
    description = "Postfix syslog"

    def sniff(self, head: bytes, filename: str) -> int:
        return 0

    def parse(self, stream: BinaryIO, ctx: ParseContext) -> Iterator[Record]:
        return iter(())
