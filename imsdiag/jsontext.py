"""The JSON text of every JSON output (scan, explain, baseline): stable layout, safe text, and its time stamps."""

from __future__ import annotations

import json
import re
from datetime import datetime, timezone
from typing import Any

# json.dumps escapes C0 controls but leaves DEL, C1 controls (0x9b is a one-byte CSI) and bidi
# overrides raw; escaped as \uXXXX they stay the same JSON string but cannot drive a terminal.
_UNSAFE = re.compile(r"[\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
# Lone surrogates (from undecodable log bytes) cannot be written as UTF-8 at all.
_SURROGATE = re.compile(r"[\ud800-\udfff]")


def clean_text(text: str | None) -> str:
    """Text that encodes to UTF-8: lone surrogates (from undecodable bytes) become U+FFFD; None becomes ''."""
    if not text:
        return ""
    return _SURROGATE.sub("\ufffd", text)


def dumps(obj: Any, indent: int | None = 2) -> str:
    """JSON text with stable layout, no raw terminal-control characters and no lone surrogates."""
    separators = (",", ": ") if indent is not None else (",", ":")
    text = json.dumps(obj, indent=indent, ensure_ascii=False, separators=separators)
    return _UNSAFE.sub(lambda m: f"\\u{ord(m.group(0)):04x}", clean_text(text))


def iso_time(value: datetime | None) -> str | None:
    """ISO 8601 in UTC with a `Z`, to the second (microseconds only when present): scan documents and baselines."""
    if value is None:
        return None
    if value.tzinfo is None or value.utcoffset() is None:
        value = value.replace(tzinfo=timezone.utc)
    value = value.astimezone(timezone.utc)
    spec = "microseconds" if value.microsecond else "seconds"
    return value.replace(tzinfo=None).isoformat(timespec=spec) + "Z"


def iso_stamp(value: datetime | None) -> str | None:
    """ISO 8601 as the time was recorded, offset included (`+00:00`): the explain document and stored records.

    Version 1 of the explain document has always written times this way; changing it is a schema change.
    """
    return value.isoformat() if value is not None else None
