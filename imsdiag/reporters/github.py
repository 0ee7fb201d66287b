"""`--format github`: GitHub Actions workflow commands, one annotation per finding, grouped per file."""

from __future__ import annotations

from typing import TextIO

from ..models import Finding, Severity
from ..result import ScanResult
from ..textsafe import safe_text
from .base import Reporter
from .records import first_location

_LEVELS = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "notice"}
# GitHub shows annotation text in its UI; a bounded message keeps one hostile line from flooding it.
_TEXT_LIMIT = 500
_EVIDENCE_SHOWN = 5


def escape_data(text: str) -> str:
    """Escape a workflow-command message (`%`, CR, LF) so log text cannot start a new command."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """Escape a workflow-command property value: the message rules plus `:` and `,`."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def annotation_message(finding: Finding) -> str:
    """Title, summary and evidence lines; each piece made safe first, then joined by real newlines."""
    parts = [safe_text(finding.title, _TEXT_LIMIT)]
    if finding.summary:
        parts.append(safe_text(finding.summary, 2000))
    for ev in finding.evidence[:_EVIDENCE_SHOWN]:
        parts.append(f"{safe_text(str(ev.location), None)}: {safe_text(ev.text, _TEXT_LIMIT)}")
    return "\n".join(parts)


def annotation(finding: Finding) -> str:
    """One `::error file=F,line=L,title=ID slug::message` command."""
    props: list[str] = []
    loc = first_location(finding)
    if loc is not None:
        props.append(f"file={escape_property(safe_text(loc.path, None))}")
        if loc.line >= 1:
            props.append(f"line={loc.line}")
    props.append(f"title={escape_property(safe_text(f'{finding.rule_id} {finding.slug}', 200))}")
    level = _LEVELS[finding.severity]
    return f"::{level} {','.join(props)}::{escape_data(annotation_message(finding))}"


def _group_key(finding: Finding) -> str:
    loc = first_location(finding)
    return loc.path if loc else ""


class GithubReporter(Reporter[ScanResult]):
    """Annotations GitHub Actions shows on the run and the pull request."""

    name = "github"
    description = "GitHub Actions workflow commands (::error file=...,line=...::)"

    def report(self, result: ScanResult, out: TextIO) -> None:
        # Files appear in the order of their most severe finding, so the worst problem is read first.
        groups: dict[str, list[Finding]] = {}
        for finding in result.findings:
            groups.setdefault(_group_key(finding), []).append(finding)
        for path, group in groups.items():
            if path:
                out.write(f"::group::{escape_data(safe_text(path, None))}\n")
            for finding in group:
                out.write(annotation(finding) + "\n")
            if path:
                out.write("::endgroup::\n")
