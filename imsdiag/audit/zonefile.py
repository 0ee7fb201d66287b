"""BIND zone files (`--zone`): the MX, A, AAAA and CNAME records, with `$ORIGIN`, `@`, blank owners and `( )`."""

from __future__ import annotations

import re
from collections.abc import Iterator

from ..models import Location, ParseIssue
from .records import ZoneRecord
from .textfile import decode, read_bytes

TYPES = frozenset({"MX", "A", "AAAA", "CNAME"})
_CLASSES = frozenset({"IN", "CH", "HS", "CS"})
_TTL = re.compile(r"^\d+[smhdwSMHDW]?(\d+[smhdwSMHDW])*$")
_OTHER_TYPES = frozenset({"SOA", "NS", "TXT", "PTR", "SRV", "HINFO", "SPF", "CAA", "DS", "DNSKEY", "RRSIG", "NSEC"})


def _strip_comment(line: str) -> str:
    """Text before a `;` that is not inside quotes (TXT records may hold one)."""
    quoted = False
    for i, c in enumerate(line):
        if c == '"':
            quoted = not quoted
        elif c == ";" and not quoted:
            return line[:i]
    return line


def _entries(text: str) -> Iterator[tuple[int, bool, list[str]]]:
    """(line, starts with blank, tokens) per entry; an entry in parentheses spans lines (an SOA)."""
    tokens: list[str] = []
    depth = 0
    start, blank = 0, False
    for n, raw in enumerate(text.splitlines(), start=1):
        line = _strip_comment(raw)
        if depth == 0:
            if not line.strip():
                continue
            start, blank, tokens = n, line[:1] in (" ", "\t"), []
        depth += line.count("(") - line.count(")")
        tokens.extend(line.replace("(", " ").replace(")", " ").split())
        if depth <= 0:
            depth = 0
            yield start, blank, tokens
    if depth > 0 and tokens:
        yield start, blank, tokens


def absolute(name: str, origin: str | None) -> str:
    """A name in lower case without the final dot: `@` is the origin, a name without a final dot is relative to it."""
    if name == "@":
        return origin or ""
    if name.endswith("."):
        return name[:-1].lower()
    # Without an $ORIGIN (named.conf would give it) the name is taken as written.
    return f"{name}.{origin}".lower() if origin else name.lower()


def read_zone(path: str) -> tuple[list[ZoneRecord], list[ParseIssue]]:
    """Every MX, A, AAAA and CNAME record. Raises OSError when the file cannot be read."""
    text, _ = decode(read_bytes(path, 64 << 20))
    records: list[ZoneRecord] = []
    issues: list[ParseIssue] = []
    origin: str | None = None
    owner: str | None = None
    for n, blank, tokens in _entries(text):
        loc = Location(path, n)
        if tokens[0].startswith("$"):
            origin = _directive(tokens, origin, loc, issues)
            continue
        if not blank:
            owner = absolute(tokens[0], origin)
            tokens = tokens[1:]
        if owner is None:
            issues.append(ParseIssue(loc, "bad-zone-line", "record without an owner name", " ".join(tokens)[:200]))
            continue
        record = _typed_record(loc, owner, tokens, origin, issues)
        if record is not None:
            records.append(record)
    return records, issues


def _directive(tokens: list[str], origin: str | None, loc: Location, issues: list[ParseIssue]) -> str | None:
    """The origin after a `$` line: `$ORIGIN` sets it; `$INCLUDE` is reported, not followed; `$TTL` changes nothing."""
    head = tokens[0].upper()
    if head == "$ORIGIN" and len(tokens) > 1:
        return absolute(tokens[1] if tokens[1].endswith(".") else tokens[1] + ".", None)
    if head == "$INCLUDE":
        issues.append(ParseIssue(loc, "zone-include", "$INCLUDE not followed: give that file with --zone too"))
    return origin


def _typed_record(
    loc: Location, owner: str, tokens: list[str], origin: str | None, issues: list[ParseIssue]
) -> ZoneRecord | None:
    """The record after its owner name, or None: a type not kept, or one that cannot be read (an issue)."""
    # [TTL] [class] or [class] [TTL] before the type.
    while tokens and (tokens[0].upper() in _CLASSES or _TTL.match(tokens[0])):
        tokens = tokens[1:]
    if not tokens:
        issues.append(ParseIssue(loc, "bad-zone-line", "no record type", owner))
        return None
    rtype, rdata = tokens[0].upper(), tokens[1:]
    if rtype in _OTHER_TYPES:
        return None
    if rtype not in TYPES:
        issues.append(ParseIssue(loc, "bad-zone-line", f"unknown record type {rtype}", " ".join(tokens)[:200]))
        return None
    record = _record(loc, owner, rtype, rdata, origin)
    if record is None:
        issues.append(ParseIssue(loc, "bad-zone-line", f"{rtype} record without its data", " ".join(tokens)[:200]))
    return record


def _record(loc: Location, owner: str, rtype: str, rdata: list[str], origin: str | None) -> ZoneRecord | None:
    if rtype == "MX":
        if len(rdata) < 2 or not rdata[0].isdigit():
            return None
        return ZoneRecord(loc, owner, rtype, absolute(rdata[1], origin), int(rdata[0]))
    if not rdata:
        return None
    value = absolute(rdata[0], origin) if rtype == "CNAME" else rdata[0].lower()
    return ZoneRecord(loc, owner, rtype, value)
