"""Exchange 5.x IMS archive/spool file (ImCr...EwLs envelope + RFC 822 headers) parser. (Being written: owned by a helper.)"""

from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO

from .base import ParseContext, Parser, Record


class ImsArchiveParser(Parser):
    """Exchange 5.x IMS archive/spool file (ImCr...EwLs envelope + RFC 822 headers)."""

    name = "ims-archive"
    description = "Exchange 5.x IMS archive/spool file (ImCr...EwLs envelope + RFC 822 headers)"

    def sniff(self, head: bytes, filename: str) -> int:
        return 0

    def parse(self, stream: BinaryIO, ctx: ParseContext) -> Iterator[Record]:
        return iter(())
