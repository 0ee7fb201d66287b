"""`--format text`: grep-friendly `path:line: severity RULEID slug: message`, one line per finding."""

from __future__ import annotations

from typing import TextIO

from ..models import Finding
from ..result import ScanResult
from ..textsafe import safe_text
from .base import Reporter
from .records import first_location

# A single evidence line is cut here so one hostile 1 MB log line cannot flood a CI log.
EVIDENCE_LIMIT = 300


def text_line(finding: Finding) -> str:
    """One finding as one line; everything from a log is escaped (no control characters, no newlines)."""
    loc = first_location(finding)
    where = safe_text(str(loc), limit=None) if loc else "-"
    line = (
        f"{where}: {finding.severity.value} {safe_text(finding.rule_id, 40)} {safe_text(finding.slug, 80)}: "
        f"{safe_text(finding.title, 300)}"
    )
    if finding.evidence and finding.evidence[0].text:
        line += f" | {safe_text(finding.evidence[0].text, EVIDENCE_LIMIT)}"
    return line


class TextReporter(Reporter[ScanResult]):
    """Plain lines like compiler diagnostics, for grep, editors and simple CI logs."""

    name = "text"
    description = "one line per finding: path:line: severity RULEID slug: message"

    def report(self, result: ScanResult, out: TextIO) -> None:
        for finding in result.findings:
            out.write(text_line(finding) + "\n")
