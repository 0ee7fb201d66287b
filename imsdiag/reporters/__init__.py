"""Reporter registry: every output format of `scan`, `explain` and `audit`, chosen by name with `--format`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, TypeVar

from ..result import ScanResult
from .audit_csv import AuditCsvReporter
from .audit_json import AuditJsonReporter
from .audit_sarif import AuditSarifReporter
from .audit_terminal import AuditTerminalReporter
from .base import Reporter, ReportOptions
from .explain_html import ExplainHtmlReporter
from .explain_json import ExplainJsonReporter
from .explain_terminal import ExplainTerminalReporter
from .github import GithubReporter
from .gitlab import GitlabReporter
from .html import HtmlReporter
from .json_report import JsonReporter
from .jsonl import JsonLinesReporter
from .junit import JunitReporter
from .sarif import SarifReporter
from .statistics import StatisticsJsonReporter, StatisticsReporter
from .terminal import TerminalReporter
from .text import TextReporter

if TYPE_CHECKING:
    from ..audit.summary import AuditResult
    from ..explain import Explanation

R = TypeVar("R")

REPORTERS: dict[str, type[Reporter[ScanResult]]] = {
    cls.name: cls
    for cls in (
        TerminalReporter,
        TextReporter,
        JsonReporter,
        JsonLinesReporter,
        SarifReporter,
        JunitReporter,
        GithubReporter,
        GitlabReporter,
        HtmlReporter,
    )
}

EXPLAIN_REPORTERS: dict[str, type[Reporter[Explanation]]] = {
    cls.name: cls for cls in (ExplainTerminalReporter, ExplainJsonReporter, ExplainHtmlReporter)
}

AUDIT_REPORTERS: dict[str, type[Reporter[AuditResult]]] = {
    cls.name: cls for cls in (AuditTerminalReporter, AuditJsonReporter, AuditCsvReporter, AuditSarifReporter)
}

FORMAT_CHOICES: tuple[str, ...] = ("auto", *REPORTERS)
"""Every value `scan --format` accepts, for click.Choice."""


def choose_format(name: str, env: Mapping[str, str]) -> str:
    """Resolve `auto`: `github` inside GitHub Actions (`GITHUB_ACTIONS` set), else `terminal`."""
    if name != "auto":
        return name
    return GithubReporter.name if env.get("GITHUB_ACTIONS") else TerminalReporter.name


def _make(registry: Mapping[str, type[Reporter[R]]], name: str, options: ReportOptions | None) -> Reporter[R]:
    try:
        return registry[name](options)
    except KeyError:
        raise ValueError(f"unknown format {name!r} (known: {', '.join(registry)})") from None


def get_reporter(name: str, options: ReportOptions | None = None) -> Reporter[ScanResult]:
    """A reporter instance for scan's format `name`."""
    return _make(REPORTERS, name, options)


def statistics_reporter(name: str, options: ReportOptions | None = None) -> Reporter[ScanResult]:
    """`--statistics`: per-rule counts, as JSON when the chosen format is a JSON one, else as text."""
    cls = StatisticsJsonReporter if name in ("json", "jsonl") else StatisticsReporter
    return cls(options)


def get_explain_reporter(name: str, options: ReportOptions | None = None) -> Reporter[Explanation]:
    """A reporter instance for explain's format `name`."""
    return _make(EXPLAIN_REPORTERS, name, options)


def get_audit_reporter(name: str, options: ReportOptions | None = None) -> Reporter[AuditResult]:
    """A reporter instance for audit's format `name`."""
    return _make(AUDIT_REPORTERS, name, options)


__all__ = [
    "AUDIT_REPORTERS",
    "EXPLAIN_REPORTERS",
    "FORMAT_CHOICES",
    "REPORTERS",
    "ReportOptions",
    "Reporter",
    "choose_format",
    "get_audit_reporter",
    "get_explain_reporter",
    "get_reporter",
    "statistics_reporter",
]
