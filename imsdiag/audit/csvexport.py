"""CSV directory exports: the Exchange 4.0/5.x Administrator Directory Export (DSEXPORT) and PowerShell CSVs."""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Iterator

from ..models import Location, ParseIssue
from .entries import KNOWN, PROXIES, build_mailbox, norm_key
from .proxies import split_values
from .records import ExportFile, Mailbox

DSEXPORT = "dsexport"
PROXY_CSV = "proxy-csv"
DELIMITERS = (",", "\t", ";", "|")
"""Column separators the Administrator program offers (comma by default); PowerShell writes commas."""
MAX_FIELD = 1 << 24
"""csv's default field limit (128 KiB) is below a big distribution list's proxy field: raise it, with a cap."""


def header_line(text: str) -> tuple[int, str] | None:
    """(index, line) of the header: the first line that is not empty and not PowerShell's `#TYPE` line."""
    for n, line in enumerate(text.splitlines()[:5]):
        if line.strip() and not line.startswith("#TYPE"):
            return n, line
    return None


def sniff(text: str) -> tuple[str, str] | None:
    """(format, column delimiter) when the header names a proxy column, else None."""
    found = header_line(text)
    if found is None:
        return None
    line = found[1]
    best: tuple[int, str] | None = None
    for delim in DELIMITERS:
        names = next(csv.reader([line], delimiter=delim), [])
        keys = {norm_key(n) for n in names}
        score = len(keys & KNOWN)
        if keys & set(PROXIES) and (best is None or score > best[0]):
            best = (score, delim)
    if best is None:
        return None
    # `proxyAddresses`/`EmailAddresses` in camel case is what AD cmdlets write; the Administrator writes
    # `E-mail Addresses` or `Proxy-Addresses`.
    camel = "proxyAddresses" in line or "EmailAddresses" in line
    return (PROXY_CSV if camel else DSEXPORT), best[1]


def default_separator(fmt: str) -> str:
    """Between the values of one field: `%` in the Administrator's export (its default), `;` from PowerShell."""
    return ";" if fmt == PROXY_CSV else "%"


def read_csv(
    path: str, text: str, fmt: str, delimiter: str, separator: str | None, issues: list[ParseIssue]
) -> tuple[list[Mailbox], ExportFile]:
    """Every mailbox of a CSV export; short rows, bad proxies and odd lines become parse issues."""
    csv.field_size_limit(MAX_FIELD)
    sep = separator or default_separator(fmt)
    skip, _ = header_line(text) or (0, "")
    reader = csv.reader(io.StringIO(_after_lines(text, skip)), delimiter=delimiter)
    mailboxes: list[Mailbox] = []
    skipped: Counter[str] = Counter()
    rows = 0
    header: list[str] = []
    names: list[str] = []
    for start, row in _rows(reader, skip, path, issues):
        if not header:
            header, names = [norm_key(h) for h in row], [h.strip() for h in row]
            continue
        if not any(cell.strip() for cell in row):
            continue
        rows += 1
        loc = Location(path, start)
        if not _fits(loc, row, header, names, issues):
            continue
        fields = _fields(header, row, sep)
        got = build_mailbox(loc, fields, fmt, issues)
        if isinstance(got, Mailbox):
            mailboxes.append(got)
        else:
            skipped[got] += 1
    info = ExportFile(path, fmt, rows=rows, mailboxes=len(mailboxes), skipped=tuple(sorted(skipped.items())))
    return mailboxes, info


def _fits(loc: Location, row: list[str], header: list[str], names: list[str], issues: list[ParseIssue]) -> bool:
    """Whether a row is read: a short or long one is a parse issue, and a short one without its proxies is skipped."""
    if len(row) < len(header):
        missing = ", ".join(h for h in names[len(row) :] if h) or "?"
        issues.append(ParseIssue(loc, "short-row", f"{len(row)} of {len(header)} fields (missing: {missing})"))
        return any(k in PROXIES for k in header[: len(row)])
    if len(row) > len(header):
        issues.append(ParseIssue(loc, "long-row", f"{len(row)} fields for {len(header)} columns; extra ignored"))
    return True


def _fields(header: list[str], row: list[str], sep: str) -> dict[str, list[str]]:
    """A row's cells by column key; a proxy cell holds several values, split at `sep`."""
    fields: dict[str, list[str]] = {}
    for key, cell in zip(header, row, strict=False):  # short rows were reported by _fits
        if key in PROXIES:
            fields.setdefault(key, []).extend(split_values(cell, sep))
        else:
            fields.setdefault(key, []).append(cell)
    return fields


def _after_lines(text: str, n: int) -> str:
    """`text` from its line `n` on (0-based), without copying the lines of a large export one by one."""
    pos = 0
    for _ in range(n):
        nl = text.find("\n", pos)
        pos = len(text) if nl < 0 else nl + 1
    return text[pos:] if pos else text


def _rows(
    reader: Iterator[list[str]], skip: int, path: str, issues: list[ParseIssue]
) -> Iterator[tuple[int, list[str]]]:
    """(first line of the record, fields); a record csv cannot read ends the file with an issue, never a crash."""
    line_num = getattr(reader, "line_num", 0)
    while True:
        start = skip + getattr(reader, "line_num", line_num) + 1
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            issues.append(ParseIssue(Location(path, start), "bad-csv", f"CSV not readable from here on: {exc}"))
            return
        yield start, row
