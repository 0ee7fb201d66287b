"""What the user asked to see of the findings: the one order they are shown in, in every output."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from .models import Finding


def finding_order(f: Finding) -> tuple[int, int, str, bool, datetime | None, str, int, str]:
    """Worst first, then the busiest loop (the one filling the disk), then rule, time, place and fingerprint.

    Stable across runs, so golden files, baselines and CI diffs do not churn.
    """
    loc = f.evidence[0].location if f.evidence else None
    return (
        -f.severity.rank,
        -(f.passes or 0),
        f.rule_id,
        f.first_seen is None,
        f.first_seen,
        loc.path if loc else "",
        loc.line if loc else 0,
        f.fingerprint,
    )


def in_order(findings: Iterable[Finding]) -> tuple[Finding, ...]:
    return tuple(sorted(findings, key=finding_order))
