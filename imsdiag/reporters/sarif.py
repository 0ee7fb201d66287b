"""`--format sarif`: SARIF 2.1.0 for GitHub code scanning and other static-analysis dashboards."""

from __future__ import annotations

import re
from typing import Any, TextIO
from urllib.parse import quote

from ..humanize import finding_ring
from ..jsontext import clean_text, dumps
from ..markdown_text import plain_text
from ..models import Evidence, Finding, Severity
from ..result import ScanResult
from ..ruleinfo import RuleInfo, help_uri
from .base import Reporter
from .records import rule_infos, tool_dict

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
FINGERPRINT_KEY = "imsdiagFingerprint/v1"
LEVELS = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}
_ABSOLUTE = re.compile(r"(?:/|[A-Za-z]:/)")


def artifact_uri(path: str) -> str:
    """A relative URI reference for a display path (percent-encoded); absolute paths become file URIs."""
    posix = clean_text(path).replace("\\", "/")
    if _ABSOLUTE.match(posix):
        return "file://" + quote(posix if posix.startswith("/") else "/" + posix, safe="/:")
    return quote(posix, safe="/")


def physical_location(ev: Evidence) -> dict[str, Any]:
    """The evidence file and line; line 0 (a whole file) has no region."""
    loc: dict[str, Any] = {"artifactLocation": {"uri": artifact_uri(ev.location.path)}}
    if ev.location.line >= 1:
        loc["region"] = {"startLine": ev.location.line, "snippet": {"text": clean_text(ev.text)}}
    return loc


def rule_descriptor(info: RuleInfo) -> dict[str, Any]:
    doc = info.doc or info.summary or info.title
    descriptor: dict[str, Any] = {
        "id": info.id,
        "name": info.slug,
        "shortDescription": {"text": info.title},
        "fullDescription": {"text": info.summary or info.title},
        # GitHub code scanning shows `markdown` where it is given and `text` elsewhere: both, each in its form.
        "help": {"text": plain_text(doc), "markdown": doc},
        "defaultConfiguration": {"level": LEVELS[info.default_severity]},
    }
    link = help_uri(info.id, info.slug)  # read when rendering: the site's setting of this run
    if link:
        descriptor["helpUri"] = link
    if info.references:
        descriptor["properties"] = {"references": list(info.references)}
    return descriptor


def result_message(finding: Finding) -> str:
    title = clean_text(finding.title)
    summary = clean_text(finding.summary)
    return f"{title.rstrip('.')}. {summary}" if summary else title


def sarif_result(finding: Finding, rule_index: int) -> dict[str, Any]:
    """One SARIF result: the first evidence as the location, the rest as related locations."""
    res: dict[str, Any] = {
        "ruleId": finding.rule_id,
        "ruleIndex": rule_index,
        "level": LEVELS[finding.severity],
        "message": {"text": result_message(finding)},
    }
    if finding.evidence:
        res["locations"] = [{"physicalLocation": physical_location(finding.evidence[0])}]
        related = []
        for n, ev in enumerate(finding.evidence[1:], start=1):
            entry: dict[str, Any] = {"id": n, "physicalLocation": physical_location(ev)}
            if ev.note:
                entry["message"] = {"text": clean_text(ev.note)}
            related.append(entry)
        if related:
            res["relatedLocations"] = related
    if finding.fingerprint:
        res["partialFingerprints"] = {FINGERPRINT_KEY: finding.fingerprint}
    res["properties"] = {
        "confidence": finding.confidence,
        "hosts": [clean_text(h) for h in finding.hosts],
        "addresses": [clean_text(a) for a in finding.addresses],
        "passes": finding.passes,
        "messages": finding.messages,
        "hops": finding.hops,
        "ring": clean_text(finding_ring(finding)),
    }
    return res


def invocation(result: ScanResult) -> dict[str, Any]:
    """The run succeeded (findings are results, not failures); parse issues become notifications."""
    inv: dict[str, Any] = {"executionSuccessful": True}
    notes = [
        {"level": "warning", "message": {"text": f"{n} parse issue(s) {code}"}, "descriptor": {"id": code}}
        for code, n in sorted(result.issue_counts)
    ]
    if notes:
        inv["toolExecutionNotifications"] = notes
    return inv


def sarif_log(
    tool_version: str, rules: list[dict[str, Any]], run_invocation: dict[str, Any], results: list[dict[str, Any]]
) -> dict[str, Any]:
    """A SARIF 2.1.0 log of one run of imsdiag (`scan`'s and `audit`'s share it)."""
    tool = tool_dict(tool_version)
    # No `informationUri`: imsdiag has no published home page, and a SARIF viewer would link to one.
    driver = {"name": tool["name"], "version": tool["version"], "rules": rules}
    return {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [{"tool": {"driver": driver}, "invocations": [run_invocation], "results": results}],
    }


class SarifReporter(Reporter[ScanResult]):
    """A SARIF 2.1.0 log with one run; the rules are the ones the result describes."""

    name = "sarif"
    description = "SARIF 2.1.0 (GitHub code scanning, Azure DevOps, IDEs)"

    def document(self, result: ScanResult) -> dict[str, Any]:
        findings = result.findings
        infos = rule_infos(result)
        index = {info.id: n for n, info in enumerate(infos)}
        rules = [rule_descriptor(info) for info in infos]
        results = [sarif_result(f, index[f.rule_id]) for f in findings]
        return sarif_log(self.options.tool_version, rules, invocation(result), results)

    def report(self, result: ScanResult, out: TextIO) -> None:
        out.write(dumps(self.document(result)) + "\n")
