"""`--format junit`: JUnit XML, one test case per rule, a failure per finding at or above `--fail-on`."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence
from typing import TextIO

from ..models import Finding
from ..result import ScanResult
from ..rules.base import Rule
from .base import Reporter, ReportOptions
from .records import RuleInfo, at_or_above, rule_infos, xml_text

SUITE = "imsdiag"
CLASSNAME = "imsdiag.rules"


def finding_text(finding: Finding) -> str:
    """The body of a failure: what, where, and every evidence line (`path:line: text`)."""
    lines = [f"{finding.rule_id} {finding.slug} ({finding.severity.value}, {finding.confidence} confidence)"]
    if finding.summary:
        lines.append(finding.summary)
    if finding.hosts:
        lines.append("hosts: " + ", ".join(finding.hosts))
    if finding.addresses:
        lines.append("addresses: " + ", ".join(finding.addresses))
    lines.extend(f"{ev.location}: {ev.text}" for ev in finding.evidence)
    # Every character that XML 1.0 forbids (NUL, ESC, lone surrogates) is dropped; ElementTree escapes
    # `<`, `&` and `>`, so `]]>` in a log line is plain text too.
    return xml_text("\n".join(lines))


def _testcase(suite: ET.Element, info: RuleInfo, findings: list[Finding], fail_on: str) -> int:
    """Add the rule's test case; return how many failures it carries."""
    case = ET.SubElement(
        suite, "testcase", {"classname": CLASSNAME, "name": xml_text(f"{info.id} {info.slug}"), "time": "0"}
    )
    failures = [f for f in findings if at_or_above(f.severity, fail_on)]
    for finding in failures:
        failure = ET.SubElement(case, "failure", {"message": xml_text(finding.title), "type": finding.severity.value})
        failure.text = finding_text(finding)
    below = [f for f in findings if not at_or_above(f.severity, fail_on)]
    if below:
        ET.SubElement(case, "system-out").text = "\n\n".join(finding_text(f) for f in below)
    return len(failures)


def junit_xml(result: ScanResult, infos: list[RuleInfo], fail_on: str) -> str:
    """The JUnit document as text, with an XML declaration and two-space indentation."""
    findings = result.findings
    root = ET.Element("testsuites", {"name": SUITE})
    suite = ET.SubElement(root, "testsuite", {"name": SUITE})
    failures = sum(_testcase(suite, info, [f for f in findings if f.rule_id == info.id], fail_on) for info in infos)
    for element in (root, suite):
        element.set("tests", str(len(infos)))
        element.set("failures", str(failures))
        element.set("errors", "0")
        element.set("time", f"{result.seconds:.3f}")
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


class JunitReporter(Reporter):
    """JUnit XML for GitLab, Jenkins and any CI that shows test reports."""

    name = "junit"
    description = "JUnit XML: a test case per rule, a failure per finding at or above --fail-on"

    def __init__(self, options: ReportOptions | None = None, rules: Sequence[type[Rule]] | None = None):
        super().__init__(options)
        self.rules = rules
        """Rule classes to list; None means the registry (tests pass their own)."""

    def report(self, result: ScanResult, out: TextIO) -> None:
        infos = rule_infos(result.findings, self.rules)
        out.write(junit_xml(result, infos, self.options.fail_on))
