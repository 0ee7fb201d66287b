"""LDIF directory exports (`ldifde -f`, `ldapsearch`): records of `attr: value`, base64 `::`, folded lines."""

from __future__ import annotations

import base64
import binascii
import re
from collections import Counter
from collections.abc import Iterator

from ..models import Location, ParseIssue
from .entries import build_mailbox, norm_key
from .records import ExportFile, Mailbox

LDIF = "ldif"
_ATTR = re.compile(r"^([A-Za-z][A-Za-z0-9;.-]*)(:<|::?)\s?(.*)$")


def looks_like_ldif(text: str) -> bool:
    """The first line that is not a comment or empty is `version: 1` or `dn:`."""
    for line in text.splitlines()[:50]:
        if not line.strip() or line.startswith("#"):
            continue
        low = line.lower()
        return low.startswith("version:") or low.startswith("dn:")
    return False


def _logical_lines(text: str) -> Iterator[tuple[int, str]]:
    """(line number, unfolded line): a line that starts with one space continues the one before (RFC 2849)."""
    current: str | None = None
    start = 0
    for n, raw in enumerate(text.splitlines(), start=1):
        if raw.startswith(" ") and current is not None:
            current += raw[1:]
            continue
        if current is not None:
            yield start, current
        current, start = raw, n
    if current is not None:
        yield start, current


def read_ldif(path: str, text: str, issues: list[ParseIssue]) -> tuple[list[Mailbox], ExportFile]:
    """Every mailbox of an LDIF export: one record per blank-line-separated block with a `dn:`."""
    mailboxes: list[Mailbox] = []
    skipped: Counter[str] = Counter()
    rows = 0
    for start, fields in _records(path, text, issues):
        rows += 1
        got = build_mailbox(Location(path, start), fields, LDIF, issues)
        if isinstance(got, Mailbox):
            mailboxes.append(got)
        else:
            skipped[got] += 1
    return mailboxes, ExportFile(
        path, LDIF, rows=rows, mailboxes=len(mailboxes), skipped=tuple(sorted(skipped.items()))
    )


def _records(path: str, text: str, issues: list[ParseIssue]) -> Iterator[tuple[int, dict[str, list[str]]]]:
    """(first line, values by attribute key) per record; lines that cannot be read become parse issues."""
    fields: dict[str, list[str]] = {}
    start = 0
    for n, line in _logical_lines(text):
        if not line.strip():
            if fields:
                yield start, fields
            fields = {}
            continue
        if line.startswith("#"):
            continue
        m = _ATTR.match(line)
        if m is None:
            issues.append(ParseIssue(Location(path, n), "bad-ldif-line", "not an `attribute: value` line", line[:200]))
            continue
        name, kind, value = m.groups()
        key = norm_key(name.split(";", 1)[0])  # `proxyAddresses;binary` options are dropped
        if key == "version" and not fields:
            continue
        if key == "dn" and not fields:
            start = n
        decoded = _value(kind, value, line, Location(path, n), issues)
        if decoded is None:
            continue
        value = decoded
        if not fields and key != "dn":
            issues.append(ParseIssue(Location(path, n), "bad-ldif-line", "record does not start with dn:", line[:200]))
            start = n
        fields.setdefault(key, []).append(value)
    if fields:
        yield start, fields


def _value(kind: str, value: str, line: str, loc: Location, issues: list[ParseIssue]) -> str | None:
    """The value as written (`:`), decoded (`::`), or None with an issue when it cannot be read (`:<` URLs)."""
    if kind == "::":
        return _base64(value, loc, issues)
    if kind == ":<":
        issues.append(ParseIssue(loc, "ldif-url", "value given by URL, not read", line[:200]))
        return None
    return value


def _base64(value: str, loc: Location, issues: list[ParseIssue]) -> str | None:
    try:
        raw = base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError):
        issues.append(ParseIssue(loc, "bad-base64", "base64 value could not be decoded", value[:200]))
        return None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")
