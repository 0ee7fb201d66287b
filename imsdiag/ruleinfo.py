"""What the policy and the reports know of a rule, as plain data: id, slug, title, severity, documentation, link."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .models import Severity

DOCS_URL = "https://github.com/imsdiag/imsdiag/blob/main/docs/rules.md"


def help_uri(rule_id: str, slug: str) -> str:
    """The rule's section of docs/rules.md."""
    return f"{DOCS_URL}#{rule_id.lower()}-{slug}"


@dataclass(frozen=True)
class RuleInfo:
    """One rule's metadata, taken from its class where the scan result is made, so reporters need no registry."""

    id: str
    slug: str
    title: str
    summary: str
    """First paragraph of the documentation, on one line."""
    doc: str
    """The whole documentation (the rule's class docstring, dedented)."""
    help_uri: str
    default_severity: Severity
    references: tuple[str, ...] = ()


def find_rule(key: str, rules: Sequence[RuleInfo]) -> RuleInfo:
    """The rule with id or slug `key` (case-insensitive); KeyError names the known ones in the order given."""
    k = key.strip().lower()
    for info in rules:
        if info.id.lower() == k or info.slug == k:
            return info
    known = ", ".join(f"{info.id} ({info.slug})" for info in rules)
    raise KeyError(f"no such rule: {key!r}; known rules: {known}")
