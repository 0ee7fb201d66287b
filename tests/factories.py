"""Findings and scan results for tests, stamped from the real rule registry so fixtures cannot drift from the rules."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from imsdiag.models import Finding
from imsdiag.result import ScanResult
from imsdiag.ruleinfo import RuleInfo
from imsdiag.rules import get_rule, rule_infos


def finding(rule: str, **fields: Any) -> Finding:
    """A finding of `rule` (id or slug) as the rule stamps it: its id, slug, default severity, title and
    references, `high` confidence and no summary, each replaced by the field of that name when given.

    An unknown rule is a KeyError: a fixture cannot name a rule the registry does not have.
    """
    cls = get_rule(rule)
    stamped: dict[str, Any] = {
        "rule_id": cls.id,
        "slug": cls.slug,
        "severity": cls.default_severity,
        "confidence": "high",
        "title": cls.title,
        "summary": "",
        "references": cls.references,
    }
    if "rule_id" in fields or "slug" in fields:
        raise TypeError("a finding's rule id and slug come from the registry: name another rule instead")
    return Finding(**{**stamped, **fields})


def rules(ids: Iterable[str] | None = None) -> tuple[RuleInfo, ...]:
    """The registry's metadata for the rules `ids` (ids or slugs, in the order given), or for every rule."""
    if ids is None:
        return rule_infos()
    return tuple(get_rule(key).info() for key in ids)


def scan_result(*findings: Finding, rule_ids: Iterable[str] | None = None, **fields: Any) -> ScanResult:
    """A result over `findings` that read nothing, describing the registered rules (or only `rule_ids`).

    Any other ScanResult field may be given by name (`files=`, `issues=`, `suppressed=`, ...).
    """
    base: dict[str, Any] = {"issues": (), "issue_counts": (), "files": (), "servers": (), "formats": ()}
    return ScanResult(findings=findings, **{**base, **fields, "rules": rules(rule_ids)})
