"""`--format gitlab`: GitLab Code Quality JSON (the Code Climate issue subset GitLab reads), one issue per finding."""

from __future__ import annotations

from typing import Any, ClassVar, TextIO

from ..jsontext import clean_text, dumps
from ..models import Finding, Severity
from ..result import ScanResult
from .base import Reporter
from .records import first_location

# GitLab's levels are info, minor, major, critical, blocker. A loop that is filling disks now is critical;
# blocker is left for nothing: imsdiag cannot know what blocks a merge request.
SEVERITIES = {Severity.ERROR: "critical", Severity.WARNING: "major", Severity.INFO: "info"}
_DESCRIPTION_LIMIT = 1000


def issue(finding: Finding, fingerprint: str) -> dict[str, Any]:
    """One Code Quality issue: description, check_name, fingerprint, severity, location.path and lines.begin."""
    loc = first_location(finding)
    title = clean_text(finding.title).rstrip(".")
    summary = clean_text(finding.summary)
    description = f"{title}. {summary}" if summary else title
    return {
        "description": description[:_DESCRIPTION_LIMIT],
        "check_name": f"{finding.rule_id} {finding.slug}",
        "fingerprint": fingerprint,
        "severity": SEVERITIES[finding.severity],
        "location": {
            "path": clean_text(loc.path) if loc else "",
            # Code Quality needs a line; a finding about a whole file points at its first.
            "lines": {"begin": max(loc.line, 1) if loc else 1},
        },
    }


def unique_fingerprints(findings: tuple[Finding, ...]) -> list[str]:
    """Each finding's fingerprint, made unique within the report (GitLab drops repeats as one issue)."""
    seen: dict[str, int] = {}
    out: list[str] = []
    for f in findings:
        base = f.fingerprint or f"{f.rule_id}-{len(out)}"
        seen[base] = seen.get(base, 0) + 1
        out.append(base if seen[base] == 1 else f"{base}-{seen[base]}")
    return out


class GitlabReporter(Reporter[ScanResult]):
    """A JSON array for a GitLab CI job's `artifacts: reports: codequality:` (merge request widget)."""

    name: ClassVar[str] = "gitlab"
    description: ClassVar[str] = "GitLab Code Quality report (JSON array)"

    def report(self, result: ScanResult, out: TextIO) -> None:
        prints = unique_fingerprints(result.findings)
        out.write(dumps([issue(f, fp) for f, fp in zip(result.findings, prints, strict=True)]) + "\n")
