"""`--format junit`: JUnit XML, one test case per rule, a failure per finding at or above `--fail-on`."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from typing import TextIO

from ..models import Finding
from ..result import ScanResult
from ..ruleinfo import RuleInfo
from .base import Reporter
from .records import at_or_above, rule_infos

SUITE = "imsdiag"
CLASSNAME = "imsdiag.rules"

_XML_FORBIDDEN = re.compile(r"[^\x09\x0a\x0d\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_XML_VISIBLE = re.compile(r"[\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def xml_text(text: str | None) -> str:
    """Text XML 1.0 can carry: NUL, other C0 controls and lone surrogates removed, line ends as LF.

    C1 controls (U+009B is a one-byte CSI on some terminals) and bidi overrides are legal XML but
    reach whoever opens the report in a terminal or a CI page: they are written as visible `\\uXXXX`.
    """
    if not text:
        return ""
    # An XML parser turns CR into LF anyway (XML 1.0 §2.11); doing it here keeps a raw CR out of logs.
    cleaned = _XML_FORBIDDEN.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))
    return _XML_VISIBLE.sub(lambda m: f"\\u{ord(m.group(0)):04x}", cleaned)


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


class JunitReporter(Reporter[ScanResult]):
    """JUnit XML for GitLab, Jenkins and any CI that shows test reports."""

    name = "junit"
    description = "JUnit XML: a test case per rule, a failure per finding at or above --fail-on"

    def report(self, result: ScanResult, out: TextIO) -> None:
        infos = rule_infos(result)
        out.write(junit_xml(result, infos, self.options.fail_on))
