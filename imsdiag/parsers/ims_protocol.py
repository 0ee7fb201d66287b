"""Exchange 5.x IMS SMTP protocol log (Imcdata\Log\L*.LOG) parser. (Being written: owned by a helper.)"""

from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO

from .base import ParseContext, Parser, Record


class ImsProtocolParser(Parser):
    """Exchange 5.x IMS SMTP protocol log (Imcdata\Log\L*.LOG)."""

    name = "ims-protocol"
    description = "Exchange 5.x IMS SMTP protocol log (Imcdata\Log\L*.LOG)"

    def sniff(self, head: bytes, filename: str) -> int:
        return 0

    def parse(self, stream: BinaryIO, ctx: ParseContext) -> Iterator[Record]:
        return iter(())
