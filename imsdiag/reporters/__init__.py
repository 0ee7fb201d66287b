"""Reporter registry: every output format of `scan`, `explain` and `audit`, chosen by name with `--format`."""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Generic, TypeVar

from ..result import ScanResult
from .base import Reporter, ReportOptions

if TYPE_CHECKING:
    from ..audit.summary import AuditResult
    from ..explain import Explanation

R = TypeVar("R")


class LazyRegistry(Mapping[str, "type[Reporter[R]]"], Generic[R]):
    """Format name -> reporter class, each module imported when its format is used.

    Every command checks `--format` against these names before it runs, and importing every reporter (the
    HTML templates' engine, the audit tables, ...) cost a tenth of a second of each run's start-up.
    """

    def __init__(self, where: dict[str, str]) -> None:
        self._where = where
        """name -> "module:Class" inside this package."""

    def __getitem__(self, name: str) -> type[Reporter[R]]:
        module, cls = self._where[name].split(":")
        found: type[Reporter[R]] = getattr(importlib.import_module(f"{__name__}.{module}"), cls)
        return found

    def __iter__(self) -> Iterator[str]:
        return iter(self._where)

    def __len__(self) -> int:
        return len(self._where)


REPORTERS: LazyRegistry[ScanResult] = LazyRegistry(
    {
        "terminal": "terminal:TerminalReporter",
        "text": "text:TextReporter",
        "json": "json_report:JsonReporter",
        "jsonl": "jsonl:JsonLinesReporter",
        "sarif": "sarif:SarifReporter",
        "junit": "junit:JunitReporter",
        "github": "github:GithubReporter",
        "gitlab": "gitlab:GitlabReporter",
        "html": "html:HtmlReporter",
    }
)

EXPLAIN_REPORTERS: LazyRegistry[Explanation] = LazyRegistry(
    {
        "terminal": "explain_terminal:ExplainTerminalReporter",
        "json": "explain_json:ExplainJsonReporter",
        "html": "explain_html:ExplainHtmlReporter",
    }
)

AUDIT_REPORTERS: LazyRegistry[AuditResult] = LazyRegistry(
    {
        "terminal": "audit_terminal:AuditTerminalReporter",
        "json": "audit_json:AuditJsonReporter",
        "csv": "audit_csv:AuditCsvReporter",
        "sarif": "audit_sarif:AuditSarifReporter",
    }
)

FORMAT_CHOICES: tuple[str, ...] = ("auto", *REPORTERS)
"""Every value `scan --format` accepts, for click.Choice."""


def choose_format(name: str, env: Mapping[str, str]) -> str:
    """Resolve `auto`: `github` inside GitHub Actions (`GITHUB_ACTIONS` set), else `terminal`."""
    if name != "auto":
        return name
    return "github" if env.get("GITHUB_ACTIONS") else "terminal"


def _make(registry: LazyRegistry[R], name: str, options: ReportOptions | None) -> Reporter[R]:
    try:
        return registry[name](options)
    except KeyError:
        raise ValueError(f"unknown format {name!r} (known: {', '.join(registry)})") from None


def get_reporter(name: str, options: ReportOptions | None = None) -> Reporter[ScanResult]:
    """A reporter instance for scan's format `name`."""
    return _make(REPORTERS, name, options)


def statistics_reporter(name: str, options: ReportOptions | None = None) -> Reporter[ScanResult]:
    """`--statistics`: per-rule counts, as JSON when the chosen format is a JSON one, else as text."""
    from .statistics import StatisticsJsonReporter, StatisticsReporter

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
