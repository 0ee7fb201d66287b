"""Read directory exports, each detected by content: DSEXPORT CSV, PowerShell proxyAddresses CSV, or LDIF."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..models import Location, ParseIssue
from .csvexport import read_csv, sniff
from .ldif import looks_like_ldif, read_ldif
from .records import ExportFile, Mailbox
from .textfile import decode, read_bytes

FORMATS = ("dsexport", "proxy-csv", "ldif")


@dataclass(frozen=True)
class Exports:
    """Everything the export files gave: mailboxes in file order, parse issues, and per-file totals."""

    mailboxes: tuple[Mailbox, ...]
    issues: tuple[ParseIssue, ...]
    files: tuple[ExportFile, ...]


def read_export(path: str, separator: str | None = None) -> tuple[list[Mailbox], ExportFile, list[ParseIssue]]:
    """One export file. Raises OSError when it cannot be read; anything inside it is data."""
    issues: list[ParseIssue] = []
    data = read_bytes(path)
    if b"\x00" in data[:4096] and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
        issues.append(ParseIssue(Location(path), "binary-content", "NUL bytes: not a text export"))
        return [], ExportFile(path, None), issues
    text, _ = decode(data)
    if looks_like_ldif(text):
        mailboxes, info = read_ldif(path, text, issues)
        return mailboxes, info, issues
    sniffed = sniff(text)
    if sniffed is None:
        issues.append(
            ParseIssue(
                Location(path),
                "unknown-format",
                "not a directory export: no LDIF dn: lines and no CSV header with a proxy column "
                "(E-mail Addresses, Proxy-Addresses, proxyAddresses, EmailAddresses)",
            )
        )
        return [], ExportFile(path, None), issues
    fmt, delimiter = sniffed
    mailboxes, info = read_csv(path, text, fmt, delimiter, separator, issues)
    return mailboxes, info, issues


def read_exports(paths: Sequence[str], separator: str | None = None) -> Exports:
    """Every export in order; a file that cannot be opened raises OSError for the caller (exit 3)."""
    mailboxes: list[Mailbox] = []
    issues: list[ParseIssue] = []
    files: list[ExportFile] = []
    for path in paths:
        got, info, found = read_export(path, separator)
        mailboxes.extend(got)
        issues.extend(found)
        files.append(info)
    return Exports(tuple(mailboxes), tuple(issues), tuple(files))
