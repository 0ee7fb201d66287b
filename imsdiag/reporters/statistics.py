"""`scan --statistics`: how many findings each rule made, one line (or JSON object) per rule, as `ruff --statistics`."""

from __future__ import annotations

from collections import Counter
from typing import Any, ClassVar, TextIO

from ..jsontext import dumps
from ..result import ScanResult
from ..textsafe import safe_text
from .base import Reporter
from .records import rule_infos


def rule_counts(result: ScanResult) -> list[dict[str, Any]]:
    """Rules with findings, the busiest first (then by id): count, id, slug, severity shown, title."""
    counts = Counter(f.rule_id for f in result.findings)
    worst: dict[str, str] = {}
    for f in result.findings:  # findings come worst first: the first of a rule is its worst severity
        worst.setdefault(f.rule_id, f.severity.value)
    infos = {info.id: info for info in rule_infos(result)}
    return [
        {
            "count": n,
            "rule_id": rule_id,
            "slug": infos[rule_id].slug if rule_id in infos else "",
            "severity": worst[rule_id],
            "title": infos[rule_id].title if rule_id in infos else "",
        }
        for rule_id, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    ]


class StatisticsReporter(Reporter[ScanResult]):
    """Aligned columns: count, rule id, slug, severity, title; `No findings.` when there are none."""

    name: ClassVar[str] = "statistics"
    description: ClassVar[str] = "one line per rule with its count"

    def report(self, result: ScanResult, out: TextIO) -> None:
        rows = rule_counts(result)
        if not rows:
            out.write("No findings.\n")
            return
        width = max(len(str(r["count"])) for r in rows)
        ids = max(len(r["rule_id"]) for r in rows)
        slugs = max(len(r["slug"]) for r in rows)
        for r in rows:
            out.write(
                f"{r['count']:>{width}}  {r['rule_id']:<{ids}}  {r['slug']:<{slugs}}  {r['severity']:<7}  "
                f"{safe_text(r['title'], 200)}\n"
            )


class StatisticsJsonReporter(Reporter[ScanResult]):
    """A JSON array of {count, rule_id, slug, severity, title}, for `--statistics --format json`."""

    name: ClassVar[str] = "statistics-json"
    description: ClassVar[str] = "per-rule counts as JSON"

    def report(self, result: ScanResult, out: TextIO) -> None:
        out.write(dumps(rule_counts(result)) + "\n")
