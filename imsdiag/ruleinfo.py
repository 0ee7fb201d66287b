"""What the policy and the reports know of a rule, as plain data: id, slug, title, severity, documentation, link."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

from .models import Severity

DOCS_URL_ENV = "IMSDIAG_DOCS_URL"
"""Where a site publishes docs/rules.md (an intranet page, a fork): rule links point there. imsdiag itself
is not published, so without it no link is made (a link to nowhere is worse than none)."""


def help_uri(rule_id: str, slug: str) -> str:
    """The rule's section of docs/rules.md where the site publishes it (IMSDIAG_DOCS_URL), else ""."""
    base = os.environ.get(DOCS_URL_ENV, "").strip()
    return f"{base}#{rule_id.lower()}-{slug}" if base else ""


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
    default_severity: Severity
    references: tuple[str, ...] = ()


def match_rules(key: str, rules: Sequence[RuleInfo]) -> list[RuleInfo]:
    """The rules `key` names: an id or slug (any case), `ALL`, or an id prefix as ruff takes them (`LOOP`).

    KeyError, naming the known rules, when it names none.
    """
    k = key.strip()
    if k.upper() == "ALL":
        return list(rules)
    try:
        return [find_rule(k, rules)]
    except KeyError:
        hits = [info for info in rules if k and info.id.upper().startswith(k.upper())]
        if not hits:
            raise
        return hits


def find_rule(key: str, rules: Sequence[RuleInfo]) -> RuleInfo:
    """The rule with id or slug `key` (case-insensitive); KeyError names the known ones in the order given."""
    k = key.strip().lower()
    for info in rules:
        if info.id.lower() == k or info.slug == k:
            return info
    known = ", ".join(f"{info.id} ({info.slug})" for info in rules)
    raise KeyError(f"no such rule: {key!r}; known rules: {known}")
