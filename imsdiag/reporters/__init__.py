"""Reporter registry: every output format, chosen by name with `--format`."""

from __future__ import annotations

from collections.abc import Mapping

from .base import Reporter, ReportOptions
from .github import GithubReporter
from .json_report import JsonReporter
from .jsonl import JsonLinesReporter
from .junit import JunitReporter
from .sarif import SarifReporter
from .terminal import TerminalReporter
from .text import TextReporter

REPORTERS: dict[str, type[Reporter]] = {
    cls.name: cls
    for cls in (
        TerminalReporter,
        TextReporter,
        JsonReporter,
        JsonLinesReporter,
        SarifReporter,
        JunitReporter,
        GithubReporter,
    )
}

FORMAT_CHOICES: tuple[str, ...] = ("auto", *REPORTERS)
"""Every value `--format` accepts, for click.Choice."""


def choose_format(name: str, env: Mapping[str, str]) -> str:
    """Resolve `auto`: `github` inside GitHub Actions (`GITHUB_ACTIONS` set), else `terminal`."""
    if name != "auto":
        return name
    return GithubReporter.name if env.get("GITHUB_ACTIONS") else TerminalReporter.name


def get_reporter(name: str, options: ReportOptions | None = None) -> Reporter:
    """A reporter instance for format `name`."""
    try:
        return REPORTERS[name](options)
    except KeyError:
        raise ValueError(f"unknown format {name!r} (known: {', '.join(REPORTERS)})") from None


__all__ = ["FORMAT_CHOICES", "REPORTERS", "ReportOptions", "Reporter", "choose_format", "get_reporter"]
