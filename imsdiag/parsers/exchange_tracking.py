"""Exchange 2007-2019 message tracking CSV (MSGTRK) parser. (Being written: owned by a helper.)"""

from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO

from .base import ParseContext, Parser, Record


class ExchangeTrackingParser(Parser):
    """Exchange 2007-2019 message tracking CSV (MSGTRK)."""

    name = "exchange-tracking"
    description = "Exchange 2007-2019 message tracking CSV (MSGTRK)"

    def sniff(self, head: bytes, filename: str) -> int:
        return 0

    def parse(self, stream: BinaryIO, ctx: ParseContext) -> Iterator[Record]:
        return iter(())
