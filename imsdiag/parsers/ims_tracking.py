"""Exchange 5.0/5.5 message tracking log (Tracking.log\yyyymmdd.log) parser. (Being written: owned by a helper.)"""

from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO

from .base import ParseContext, Parser, Record


class ImsTrackingParser(Parser):
    """Exchange 5.0/5.5 message tracking log (Tracking.log\yyyymmdd.log)."""

    name = "ims-tracking"
    description = "Exchange 5.0/5.5 message tracking log (Tracking.log\yyyymmdd.log)"

    def sniff(self, head: bytes, filename: str) -> int:
        return 0

    def parse(self, stream: BinaryIO, ctx: ParseContext) -> Iterator[Record]:
        return iter(())
