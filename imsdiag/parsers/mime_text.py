"""Text out of a compat32 message: decoded header values, address lists and the start of each text part."""

from __future__ import annotations

import email.header
import email.utils
from email.message import Message
from typing import Any

from ..names import normalize_address
from .base import decode
from .received import unfold

MAX_TEXT_SCAN = 65536
"""Only the first 64 KB of each text part is searched for loop phrases."""


def hstr(value: Any) -> str:
    """Any header value compat32 hands back (str with surrogates, or Header) as clean text."""
    if value is None:
        return ""
    if isinstance(value, email.header.Header):
        return decode_words(str(value)) if not _has_8bit_chunks(value) else _header_bytes(value)
    text = str(value)
    if any("\udc80" <= ch <= "\udcff" for ch in text):
        text = decode(text.encode("utf-8", "surrogateescape"))
    return text


def _has_8bit_chunks(h: email.header.Header) -> bool:
    return any(str(charset) == "unknown-8bit" for _, charset in getattr(h, "_chunks", ()))


def _header_bytes(h: email.header.Header) -> str:
    parts = []
    for chunk, charset in getattr(h, "_chunks", ()):
        if isinstance(chunk, str) and str(charset) == "unknown-8bit":
            chunk = decode(chunk.encode("ascii", "surrogateescape"))
        parts.append(str(chunk))
    return "".join(parts)


def decode_words(text: str) -> str:
    """Decode RFC 2047 encoded words; unknown charsets and broken base64 fall back, never raise."""
    if "=?" not in text:
        return text
    try:
        pieces = email.header.decode_header(text)
    except Exception:  # the stdlib raises HeaderParseError and friends on junk
        return text
    out: list[str] = []
    for chunk, charset in pieces:
        if isinstance(chunk, str):
            out.append(chunk)
            continue
        try:
            out.append(chunk.decode(charset or "ascii"))
        except (LookupError, UnicodeDecodeError):
            out.append(decode(chunk))
    return "".join(out)


def header_value(msg: Message, name: str) -> str | None:
    """One header as unfolded, decoded text, or None when absent."""
    try:
        value = msg.get(name)
    except Exception:
        return None
    if value is None:
        return None
    return unfold(hstr(value)).strip()


def header_values(msg: Message, name: str) -> list[str]:
    """Every instance of a header as unfolded, decoded text, in header order."""
    try:
        values = msg.get_all(name) or []
    except Exception:
        return []
    return [unfold(hstr(v)).strip() for v in values]


def addresses(values: list[str]) -> tuple[str, ...]:
    """Bare, lower-cased addresses from address-list headers (display names dropped)."""
    out: list[str] = []
    try:
        pairs = email.utils.getaddresses(values)
    except Exception:
        return ()
    for _, addr in pairs:
        norm = normalize_address(addr)
        if norm:
            out.append(norm)
    return tuple(out)


def text_of(part: Message) -> str:
    """The decoded text of a text part, first 64 KB only."""
    try:
        raw = part.get_payload(decode=True)
    except Exception:
        return ""
    if not isinstance(raw, bytes):
        return ""
    return decode(raw[:MAX_TEXT_SCAN])
