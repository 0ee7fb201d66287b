"""Bytes of an export or zone file -> text: BOMs (UTF-8, UTF-16), else UTF-8, else the Windows ANSI code page."""

from __future__ import annotations

import codecs


def decode(data: bytes) -> tuple[str, str]:
    """(text, encoding). Exchange 5.5 exports are ANSI (cp1252) or Unicode (UTF-16 with a BOM); ldifde and
    PowerShell write UTF-8 or UTF-16. Bytes cp1252 leaves undefined become U+FFFD, never an error."""
    for bom, name in ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16")):
        if data.startswith(bom):
            return data.decode(name, errors="replace"), name
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace"), "cp1252"


def read_bytes(path: str, limit: int = 1 << 30) -> bytes:
    """The file's bytes (OSError for the caller to report); larger than `limit` is refused as not an export."""
    with open(path, "rb") as fh:
        data = fh.read(limit + 1)
    if len(data) > limit:
        raise OSError(f"larger than {limit >> 20} MiB")
    return data
