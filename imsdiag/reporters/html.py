"""`--format html` for scan: one self-contained page with each loop's ring and pass timeline drawn (issue 18)."""

from __future__ import annotations

from collections import Counter
from typing import Any, ClassVar, TextIO

from ..humanize import format_span, plural, utc
from ..models import Severity
from ..result import ScanResult
from .base import Reporter
from .html_env import render
from .html_view import finding_view
from .records import status

_SEVERITY_ORDER = (Severity.ERROR, Severity.WARNING, Severity.INFO)


def headline(result: ScanResult) -> str:
    """`LOOP FOUND: 1 loop (1 error) in 179 files, 3 servers, 5,588 lines`, as the terminal report's first line."""
    scope = (
        f"{plural(result.files_read, 'file')}, {plural(len(result.servers), 'server')}, "
        f"{plural(result.lines_read, 'line')}"
    )
    if not result.findings:
        return f"No mail loops found in {scope}"
    counts = Counter(f.severity for f in result.findings)
    by_severity = ", ".join(plural(counts[s], s.value) for s in _SEVERITY_ORDER if counts[s])
    label = "LOOP FOUND" if len(result.findings) == 1 else "LOOPS FOUND"
    return f"{label}: {plural(len(result.findings), 'loop')} ({by_severity}) in {scope}"


def _span(result: ScanResult) -> tuple[str, str]:
    """The input's own time span, else the loops' activity (the terminal report's second line)."""
    if result.first_time is not None or result.last_time is not None:
        return "Input covers", format_span(result.first_time, result.last_time)
    firsts = [f.first_seen for f in result.findings if f.first_seen is not None]
    lasts = [f.last_seen for f in result.findings if f.last_seen is not None]
    if not firsts and not lasts:
        return "", ""
    return "Loop activity", format_span(min(firsts, key=utc, default=None), max(lasts, key=utc, default=None))


def _inputs(result: ScanResult) -> str:
    read = f"{plural(result.files_read, 'file')} read, {plural(result.lines_read, 'line')}, "
    read += f"{plural(result.events, 'event')}"
    return read + (f"; {plural(result.files_skipped, 'file')} skipped" if result.files_skipped else "")


def _skipped(result: ScanResult) -> str:
    skipped = [f for f in result.files if f.format is None]
    if not skipped:
        return ""
    reasons = Counter(f.skipped_reason or "no reason given" for f in skipped)
    shown = ", ".join(f"{n} {reason}" for reason, n in reasons.most_common(3))
    extra = "" if len(reasons) <= 3 else f", {len(reasons) - 3} other reasons"
    return f"Skipped files: {len(skipped):,} of {len(result.files):,} ({shown}{extra})"


def _hidden(result: ScanResult) -> str:
    hidden = []
    if result.suppressed:
        hidden.append(f"{plural(result.suppressed, 'finding')} hidden by the baseline")
    if result.filtered:
        hidden.append(f"{plural(result.filtered, 'finding')} hidden by --select/--ignore")
    return "; ".join(hidden)


def page_context(result: ScanResult, fail_on: str, tool_version: str) -> dict[str, Any]:
    """Everything scan.html.j2 shows, worded."""
    span_label, span = _span(result)
    worst = result.max_severity()
    return {
        "result": result,
        "headline": headline(result),
        "status": status(result),
        "status_class": worst.value if worst else "clean",
        "fail_on": fail_on,
        "span_label": span_label,
        "span": span,
        "inputs": _inputs(result),
        "issues": plural(result.issue_total, "issue") if result.issue_total else "none",
        "hidden": _hidden(result),
        "skipped": _skipped(result),
        "views": [finding_view(f, f"finding-{i}") for i, f in enumerate(result.findings, 1)],
        "tool_version": tool_version,
    }


class HtmlReporter(Reporter[ScanResult]):
    """A page for people to read, print or send: the loop drawn, the fix first, every fact with its file:line."""

    name: ClassVar[str] = "html"
    description: ClassVar[str] = "one self-contained HTML page with each loop drawn (write it with -o FILE)"

    def report(self, result: ScanResult, out: TextIO) -> None:
        out.write(render("scan.html.j2", **page_context(result, self.options.fail_on, self.options.tool_version)))
