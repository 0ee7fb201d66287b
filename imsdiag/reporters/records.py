"""Plain-dict views of findings, parse issues and stats, shared by the JSON, JSONL and SARIF reporters."""

from __future__ import annotations

from typing import Any

from .. import __version__
from ..humanize import finding_ring
from ..jsontext import clean_text, iso_time
from ..models import Evidence, Finding, Location, ParseIssue, Severity
from ..result import SCHEMA_VERSION, FileStat, FormatStat, ScanResult, ServerInfo
from ..ruleinfo import RuleInfo

SEVERITY_ORDER = (Severity.ERROR, Severity.WARNING, Severity.INFO)


def first_location(finding: Finding) -> Location | None:
    """Where a finding is reported: its first piece of evidence."""
    return finding.evidence[0].location if finding.evidence else None


def location_dict(loc: Location) -> dict[str, Any]:
    return {"path": clean_text(loc.path), "line": loc.line}


def evidence_dict(ev: Evidence) -> dict[str, Any]:
    return {**location_dict(ev.location), "text": clean_text(ev.text), "note": clean_text(ev.note)}


def finding_dict(finding: Finding) -> dict[str, Any]:
    """One finding as the versioned JSON object (same in `json` and `jsonl`)."""
    loc = first_location(finding)
    return {
        "rule_id": finding.rule_id,
        "slug": finding.slug,
        "severity": finding.severity.value,
        "confidence": finding.confidence,
        "title": clean_text(finding.title),
        "summary": clean_text(finding.summary),
        "location": location_dict(loc) if loc else None,
        "hosts": [clean_text(h) for h in finding.hosts],
        "addresses": [clean_text(a) for a in finding.addresses],
        "first_seen": iso_time(finding.first_seen),
        "last_seen": iso_time(finding.last_seen),
        "passes": finding.passes,
        "messages": finding.messages,
        "hops": finding.hops,
        "ring": clean_text(finding_ring(finding)),
        "ring_shape": finding.shape.value,
        "reporter": clean_text(finding.reporter) if finding.reporter else None,
        "build_verdict": clean_text(finding.build_verdict) if finding.build_verdict else None,
        "rate_per_hour": finding.rate_per_hour,
        "period_seconds": finding.period_seconds,
        "fingerprint": finding.fingerprint,
        "evidence": [evidence_dict(ev) for ev in finding.evidence],
        "confidence_reasons": [clean_text(r) for r in finding.confidence_reasons],
        "cause": clean_text(finding.cause),
        "fix": [clean_text(step) for step in finding.fix],
        "references": list(finding.references),
        "message_ids": [clean_text(m) for m in finding.message_ids],
        "builds": [{"server": clean_text(s), "build": clean_text(b)} for s, b in finding.builds],
        "details": [{"label": clean_text(k), "value": clean_text(v)} for k, v in finding.details],
    }


def issue_dict(issue: ParseIssue) -> dict[str, Any]:
    return {
        **location_dict(issue.location),
        "code": issue.code,
        "message": clean_text(issue.message),
        "excerpt": clean_text(issue.excerpt),
    }


def file_dict(stat: FileStat) -> dict[str, Any]:
    return {
        "path": clean_text(stat.path),
        "format": stat.format,
        "server": stat.server,
        "compression": stat.compression,
        "bytes": stat.bytes,
        "lines": stat.lines,
        "events": stat.events,
        "issues": stat.issues,
        "skipped_reason": clean_text(stat.skipped_reason) if stat.skipped_reason else None,
    }


def server_dict(server: ServerInfo) -> dict[str, Any]:
    return {
        "name": clean_text(server.name),
        "name_source": server.name_source,
        "builds": sorted(server.builds),
        "software": sorted(clean_text(s) for s in server.software),
        "formats": sorted(server.formats),
    }


def format_dict(stat: FormatStat) -> dict[str, Any]:
    return {
        "format": stat.format,
        "files": stat.files,
        "lines": stat.lines,
        "events": stat.events,
        "issues": stat.issues,
    }


def severity_counts(result: ScanResult) -> dict[str, int]:
    counts = {sev.value: 0 for sev in SEVERITY_ORDER}
    for finding in result.findings:
        counts[finding.severity.value] += 1
    return counts


def status(result: ScanResult) -> str:
    return "loops-found" if result.findings else "clean"


def summary_dict(result: ScanResult) -> dict[str, Any]:
    return {
        "findings": len(result.findings),
        **severity_counts(result),
        "files": result.files_read,
        "files_skipped": result.files_skipped,
        "lines": result.lines_read,
        "bytes": result.bytes_read,
        "events": result.events,
        "issues": result.issue_total,
        "suppressed": result.suppressed,
        "filtered": result.filtered,
        "seconds": round(result.seconds, 3),
        "first_time": iso_time(result.first_time),
        "last_time": iso_time(result.last_time),
    }


def tool_dict(version: str = "") -> dict[str, str]:
    return {"name": "imsdiag", "version": version or __version__}


def scan_document(result: ScanResult, fail_on: str = "error", version: str = "") -> dict[str, Any]:
    """The whole `--format json` document (schema: docs/schema/scan-v1.schema.json)."""
    examples = sorted(result.issues, key=lambda i: (i.location.path, i.location.line, i.code))
    return {
        "version": SCHEMA_VERSION,
        "tool": tool_dict(version),
        "status": status(result),
        "fail_on": fail_on,
        "summary": summary_dict(result),
        "findings": [finding_dict(f) for f in result.findings],
        "parse_issues": {
            "counts": {code: n for code, n in sorted(result.issue_counts)},
            "examples": [issue_dict(i) for i in examples],
        },
        "files": [file_dict(s) for s in sorted(result.files, key=lambda s: s.path)],
        "servers": [server_dict(s) for s in sorted(result.servers, key=lambda s: s.name)],
        "formats": [format_dict(s) for s in sorted(result.formats, key=lambda s: s.format)],
        "notes": [clean_text(n) for n in result.notes],
        "host_map": [
            {"name": clean_text(a), "same_as": clean_text(b), "reason": clean_text(r)} for a, b, r in result.host_joins
        ],
    }


def at_or_above(severity: Severity, fail_on: str) -> bool:
    """Whether a finding of `severity` fails a run judged at `fail_on` (`never` fails nothing)."""
    try:
        threshold = Severity(fail_on)
    except ValueError:
        return False
    return severity.rank >= threshold.rank


def finding_rule(finding: Finding) -> RuleInfo:
    """What a finding itself says of its rule, for a rule the result does not describe."""
    return RuleInfo(
        id=finding.rule_id,
        slug=finding.slug,
        title=clean_text(finding.title),
        summary="",
        doc="",
        default_severity=finding.severity,
        references=finding.references,
    )


def rule_infos(result: ScanResult) -> list[RuleInfo]:
    """The rules the result describes, in its order, then any rule a finding names that it lacks."""
    infos = list(result.rules)
    known = {info.id for info in infos}
    for finding in sorted(result.findings, key=lambda f: f.rule_id):
        if finding.rule_id not in known:
            known.add(finding.rule_id)
            infos.append(finding_rule(finding))
    return infos
