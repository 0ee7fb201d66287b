"""`audit --format csv`: one row per mailbox, for the spreadsheet the directory export is already open in."""

from __future__ import annotations

import csv
from typing import ClassVar, TextIO

from ..audit.summary import AuditResult
from ..jsontext import clean_text
from ..textsafe import safe_text
from .base import Reporter

COLUMNS = (
    "Mailbox",
    "Display Name",
    "Home-Server",
    "Site",
    "Primary",
    "E-mail Addresses",
    "Verdict",
    "Reason Code",
    "Reason",
    "IMS",
    "IMS Build",
    "File",
    "Line",
)
# A spreadsheet runs a cell that starts with one of these as a formula (CSV injection): export content
# is not trusted, so such a cell gets a leading apostrophe, which the spreadsheet shows as text.
_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def cell(text: str | None) -> str:
    """Export text made safe for a terminal (the CSV may go to one) and for a spreadsheet."""
    value = safe_text(clean_text(text), None)
    return "'" + value if value.startswith(_FORMULA) else value


class AuditCsvReporter(Reporter[AuditResult]):
    name: ClassVar[str] = "csv"
    description: ClassVar[str] = "one CSV row per mailbox (proxies joined by %, as in the Administrator's export)"

    def report(self, result: AuditResult, out: TextIO) -> None:
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow(COLUMNS)
        for v in result.verdicts:
            mb = v.mailbox
            primary = mb.primary
            writer.writerow(
                [
                    cell(mb.mailbox),
                    cell(mb.display_name),
                    cell(mb.home_server),
                    cell(mb.site),
                    cell(primary.address if primary else ""),
                    cell("%".join(p.raw for p in mb.proxies)),
                    v.verdict.value,
                    v.code,
                    cell(v.reason),
                    cell(v.ims.server if v.ims else ""),
                    cell(v.ims.build if v.ims and v.ims.build else ""),
                    cell(mb.location.path),
                    mb.location.line,
                ]
            )
