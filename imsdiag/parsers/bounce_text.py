"""A message's own words about a loop: loop phrases, repeated Delivered-To, the failed recipient, pasted headers."""

from __future__ import annotations

import email.parser
import email.policy
import re
from collections import Counter
from email.message import Message

from ..models import LoopSignal

DELIVERED_TO_LOOP = 3
"""How often one address must stand in Delivered-To before the message itself shows a forwarding loop."""

_INLINE_HEADER = re.compile(r"([A-Za-z][A-Za-z0-9-]{0,60}):[ \t]")
_QUOTE_PREFIX = re.compile(r"^> ?")
_MX_LOOP_CODE = re.compile(
    r"(?i)\b5\.4\.(?:6|14)\b[^\n]{0,200}?\b(?:hop|loop)|\b(?:hop|loop)[^\n]{0,200}?\b5\.4\.(?:6|14)\b"
)

# Ordered: the most specific evidence first. Seeds: prior-art §1B (sisimai NetworkError) and ims-reference §5.
_LOOP_PATTERNS: tuple[tuple[re.Pattern[str], LoopSignal], ...] = (
    (re.compile(r"(?i)loops? back to myself|mail for \S{1,255} loops back"), LoopSignal.LOOPS_BACK),
    (
        re.compile(
            r"(?i)mail forwarding loop for|aliasing/forwarding loop|forwarding loop (?:count )?exceeded|"
            r"maximum forwarding loop count|alias(?:ing)? loop"
        ),
        LoopSignal.FORWARDING_LOOP,
    ),
    # Domino: "Maximum hop count exceeded.  Message probably in a routing loop." names the loop kind.
    (re.compile(r"(?i)probably in a routing loop"), LoopSignal.ROUTING_LOOP),
    (
        re.compile(
            r"(?i)too many hops|hop count exceeded|max(?:imum)? hop count|too many \"?received\"? headers|"
            r"\(00120270\)|too many received|hop limit exceeded"
        ),
        LoopSignal.HOP_LIMIT,
    ),
    (
        re.compile(r"(?i)routing loop|message looping|loop detected|mail loop(?:ing)? detected|looping message"),
        LoopSignal.ROUTING_LOOP,
    ),
    (_MX_LOOP_CODE, LoopSignal.HOP_LIMIT),
)

_FAILED = re.compile(
    r"(?:delivery (?:has )?failed|delivery to the following recipients? failed(?: permanently)?|"
    r"following (?:recipients?|address(?:es)?) (?:returned permanent errors|failed|had permanent fatal errors)|"
    r"error-for|failed recipients?|unable to deliver (?:your message )?to)\s*:?\s*(?:\r?\n\s*)?<?"
    r"(?P<addr>[\w.+=-]{1,64}@[\w-]{1,63}(?:\.[\w-]{1,63}){1,8})",
    re.IGNORECASE,
)


def loop_evidence(
    delivered_to: tuple[str, ...], bounce: bool, dsn: list[tuple[str, str]], subject: str | None, texts: list[str]
) -> tuple[LoopSignal | None, str | None]:
    """The loop a message shows, with the text that shows it: repeated Delivered-To, else a bounce's words."""
    # Twice is not yet a loop: one alias expanding to the same mailbox through two MTAs writes the
    # same Delivered-To twice and still delivers (seen in real bounces). A loop nobody stopped
    # repeats it again and again; Postfix itself stops at the first repeat with a bounce text.
    if delivered_to and max(Counter(delivered_to).values()) >= DELIVERED_TO_LOOP:
        return LoopSignal.FORWARDING_LOOP, "Delivered-To repeats: " + ", ".join(delivered_to)[:280]
    if bounce:
        diag = [v for k, v in dsn if k in ("diagnostic-code", "status")]
        return find_loop_signal(["\n".join(diag), subject or "", *texts])
    return None, None


def find_loop_signal(texts: list[str]) -> tuple[LoopSignal | None, str | None]:
    """The first (most specific) loop signal in `texts`, with the line it was found on."""
    for pattern, signal in _LOOP_PATTERNS:
        for text in texts:
            m = pattern.search(text)
            if m:
                start = text.rfind("\n", 0, m.start()) + 1
                end = text.find("\n", m.end())
                line = text[start : end if end >= 0 else len(text)].strip()
                return signal, line[:300]
    return None, None


def failed_recipient(texts: list[str]) -> str | None:
    """The recipient a human-readable bounce says failed, for bounces that carry no DSN part (Exchange
    Online's `Delivery failed: x`, Google's `permanent errors: x`, LSMTP's `Error-for: x`)."""
    for text in texts:
        m = _FAILED.search(text[:20000])
        if m:
            return m.group("addr").lower().rstrip(".")
    return None


def inline_header_blocks(text: str) -> list[Message]:
    """Header blocks with Received lines pasted into a text body (one forward pass, bounded)."""
    blocks: list[Message] = []
    current: list[str] = []
    has_received = False
    for line in text.splitlines()[:5000]:
        quoted = _QUOTE_PREFIX.sub("", line, count=1)  # `> ` of a quoted copy
        body = quoted.lstrip()
        m = _INLINE_HEADER.match(body) if len(quoted) - len(body) <= 8 else None
        if current and not m and quoted[:1] in (" ", "\t") and body:
            current.append(" " + body)  # a folded continuation of the previous header
            continue
        if m:
            current.append(body)
            has_received = has_received or m.group(1).lower() == "received"
            continue
        if has_received and len(blocks) < 10:
            blocks.append(_header_block(current))
        current, has_received = [], False
    if has_received and len(blocks) < 10:
        blocks.append(_header_block(current))
    return blocks


def _header_block(lines: list[str]) -> Message:
    return email.parser.Parser(policy=email.policy.compat32).parsestr("\n".join(lines) + "\n\n")
