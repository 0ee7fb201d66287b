"""imsdiag: find and explain mail loops in mail server logs and archived messages.

Library use::

    from imsdiag import ScanSettings, scan
    result = scan(ScanSettings(paths=("logs/",)))
    for finding in result.findings:
        print(finding.rule_id, finding.title)
"""

from __future__ import annotations

__version__ = "0.1.0"

from .models import Event, Finding, Hop, Location, ParseIssue, Severity
from .result import ScanResult
from .settings import ScanSettings


def scan(settings: ScanSettings) -> ScanResult:
    """Run a scan (see `imsdiag.engine.scan`); imported lazily to keep `import imsdiag` light."""
    from .engine import scan as _scan

    return _scan(settings)


__all__ = ["Event", "Finding", "Hop", "Location", "ParseIssue", "ScanResult", "ScanSettings", "Severity", "scan"]
