"""Escaping of hostile log text before it reaches a terminal: control characters, ANSI/OSC, rich markup."""

from __future__ import annotations

import re

# C0 controls except TAB, DEL, and C1 controls (0x80-0x9f: 0x9b is a one-byte CSI on some terminals).
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")
# Bidirectional overrides can make a line read differently from what it is (CVE-2021-42574 style).
_BIDI = re.compile(r"[\u202a-\u202e\u2066-\u2069]")


def _escape_char(m: re.Match[str]) -> str:
    c = m.group(0)
    if c == "\n":
        return "\\n"
    if c == "\r":
        return "\\r"
    return f"\\x{ord(c):02x}"


def safe_text(text: str | None, limit: int | None = 500) -> str:
    """One printable line: control characters as `\\xNN`, lone surrogates and bidi overrides made visible.

    An ESC (0x1b) becomes `\\x1b`, so ANSI colour and OSC title sequences from a log line are shown,
    never executed. Long text is cut with an ellipsis at `limit` characters.
    """
    if not text:
        return ""
    s = _CONTROL.sub(_escape_char, text)
    s = _SURROGATE.sub(lambda m: f"\\u{ord(m.group(0)):04x}", s)
    s = _BIDI.sub(lambda m: f"\\u{ord(m.group(0)):04x}", s)
    if limit is not None and len(s) > limit:
        s = s[: limit - 1] + "…"
    return s


def safe_markup(text: str | None, limit: int | None = 500) -> str:
    """`safe_text`, then escaped for rich markup so `[bold red]` in a subject prints literally."""
    from rich.markup import escape  # rich stays out of the import path of non-terminal reporters

    return escape(safe_text(text, limit))
