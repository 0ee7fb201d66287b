"""Sendmail syslog parser. (Being written: owned by a helper.)"""

from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO

from .base import ParseContext, Parser, Record


class SendmailParser(Parser):
    """Sendmail syslog."""

    name = "sendmail"
    description = "Sendmail syslog"

    def sniff(self, head: bytes, filename: str) -> int:
        return 0

    def parse(self, stream: BinaryIO, ctx: ParseContext) -> Iterator[Record]:
        return iter(())
