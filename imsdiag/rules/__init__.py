"""Rule registry: every known cause, by stable id. Specific causes run before generic ones."""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import cache

from ..models import Finding, Loop
from ..ruleinfo import RuleInfo, find_rule
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


@cache
def rule_infos() -> tuple[RuleInfo, ...]:
    """Every rule's metadata, sorted by id like `all_rules`: what a scan result carries for its reporters."""
    return tuple(r.info() for r in all_rules())


def get_rule(key: str) -> type[Rule]:
    """The rule with id or slug `key` (case-insensitive); KeyError names the known ones."""
    found = find_rule(key, rule_infos())
    return next(r for r in RULE_ORDER if r.id == found.id)


def run_rules(loops: Sequence[Loop], ctx: RuleContext) -> list[Finding]:
    """Run every rule in order; each loop is explained by the first rule that claims it.

    Every rule runs, whatever `--select`/`--ignore` say: an ignored rule still claims its loops, so
    `--ignore Q178436` does not re-report them as LOOP001. What is shown is the policy's choice.
    """
    free = list(range(len(loops)))
    findings: list[Finding] = []
    for rule_cls in RULE_ORDER:
        if not free:
            break
        claimed: set[int] = set()
        for finding, used in rule_cls().check([loops[i] for i in free], ctx):
            claimed.update(free[u] for u in used)
            findings.append(finding)
        free = [i for i in free if i not in claimed]
    return findings


__all__ = [
    "RETIRED_IDS",
    "RULE_ID",
    "RULE_ORDER",
    "Rule",
    "RuleContext",
    "all_rules",
    "get_rule",
    "rule_infos",
    "run_rules",
]
