"""imsdiag: find and explain mail loops in mail server logs and archived messages.

Library use::

    from imsdiag import ScanSettings, scan
    result = scan(ScanSettings(paths=("logs/",)))
    for finding in result.findings:
        print(finding.rule_id, finding.title)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

__version__ = "0.1.0"

from .models import Event, Finding, Hop, Location, ParseIssue, Severity
from .result import ScanResult
from .settings import ScanSettings

if TYPE_CHECKING:
    from .explain import Explanation


def explain(ident: str, settings: ScanSettings) -> Explanation:
    """Explain one message or loop (see `imsdiag.explain.explain`)."""
    from .explain import explain as _explain

    return _explain(ident, settings)


def scan(settings: ScanSettings) -> ScanResult:
    """Run a scan (see `imsdiag.engine.scan`); imported lazily to keep `import imsdiag` light."""
    from .engine import scan as _scan

    return _scan(settings)


__all__ = [
    "Event",
    "Finding",
    "Hop",
    "Location",
    "ParseIssue",
    "ScanResult",
    "ScanSettings",
    "Severity",
    "explain",
    "scan",
]
