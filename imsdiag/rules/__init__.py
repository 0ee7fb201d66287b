"""Rule registry: every known cause, by stable id. Specific causes run before generic ones."""

from __future__ import annotations

import re
from collections.abc import Sequence

from ..models import Finding, Loop, Severity
from ..policy import in_order
from .base import Rule, RuleContext
from .explicit import ForwardingLoop, HopLimitExceeded, LoopsBackToMyself, RoutingLoopReported
from .generic import AutoReplyVolley, NullSenderPingPong, ReceivedChainCycle
from .q178436 import Q178436

# Order matters: a loop claimed by an earlier rule is not offered to later ones.
RULE_ORDER: tuple[type[Rule], ...] = (
    Q178436,
    HopLimitExceeded,
    LoopsBackToMyself,
    ForwardingLoop,
    RoutingLoopReported,
    AutoReplyVolley,
    NullSenderPingPong,
    ReceivedChainCycle,
)

RULE_ID = re.compile(r"^(?:Q\d{6}|LOOP\d{3})$")
"""Shape of a rule id: a KB number for a known Microsoft cause, LOOPnnn for a generic loop kind."""

RETIRED_IDS: frozenset[str] = frozenset()
"""Ids once used and retired: never to be given to another rule."""


def all_rules() -> list[type[Rule]]:
    """Every rule, sorted by id (for listings and documentation)."""
    return sorted(RULE_ORDER, key=lambda r: (not r.id.startswith("Q"), r.id))


def get_rule(key: str) -> type[Rule]:
    """The rule with id or slug `key` (case-insensitive); KeyError names the known ones."""
    k = key.strip().lower()
    for r in RULE_ORDER:
        if r.id.lower() == k or r.slug == k:
            return r
    known = ", ".join(f"{r.id} ({r.slug})" for r in all_rules())
    raise KeyError(f"no such rule: {key!r}; known rules: {known}")


def apply_rules(
    loops: Sequence[Loop],
    ctx: RuleContext,
    enabled: Sequence[type[Rule]] | None = None,
    severity_overrides: dict[str, Severity] | None = None,
) -> tuple[list[Finding], int]:
    """Run the rules in order; each loop is explained by the first rule that claims it.

    Returns the findings of the enabled rules and how many findings disabled rules produced.
    """
    remaining = list(loops)
    offered = list(range(len(remaining)))
    claimed: set[int] = set()
    findings: list[Finding] = []
    hidden = 0
    active = set(enabled) if enabled is not None else set(RULE_ORDER)
    for rule_cls in RULE_ORDER:
        free = [i for i in offered if i not in claimed]
        if not free:
            break
        subset = [remaining[i] for i in free]
        for finding, used in rule_cls().check(subset, ctx):
            claimed.update(free[u] for u in used)
            if rule_cls not in active:
                hidden += 1
                continue  # a disabled rule still claims its loops: --ignore Q178436 must not re-report them as LOOP001
            override = (severity_overrides or {}).get(rule_cls.id)
            if override is not None:
                from dataclasses import replace

                finding = replace(finding, severity=override)
            findings.append(finding)
    return list(in_order(findings)), hidden


__all__ = ["RETIRED_IDS", "RULE_ID", "RULE_ORDER", "Rule", "RuleContext", "all_rules", "apply_rules", "get_rule"]
