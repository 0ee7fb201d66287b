"""The one JSON encoder of every JSON output (scan, explain, baseline): stable, nothing that drives a terminal."""

from __future__ import annotations

import json
import re
from typing import Any

# json.dumps escapes C0 controls but leaves DEL, C1 controls (0x9b is a one-byte CSI) and bidi
# overrides raw; escaped as \uXXXX they stay the same JSON string but cannot drive a terminal.
_UNSAFE = re.compile(r"[\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
# Lone surrogates (from undecodable log bytes) cannot be written as UTF-8 at all.
_SURROGATE = re.compile(r"[\ud800-\udfff]")


def dumps(obj: Any, indent: int | None = 2) -> str:
    """JSON text with stable layout, no raw terminal-control characters and no lone surrogates."""
    separators = (",", ": ") if indent is not None else (",", ":")
    text = json.dumps(obj, indent=indent, ensure_ascii=False, separators=separators)
    return _UNSAFE.sub(lambda m: f"\\u{ord(m.group(0)):04x}", _SURROGATE.sub("\ufffd", text))
