"""What the user asked to see of the findings: which rules report, at what severity, minus a baseline, in one order."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING

from .errors import ConfigError
from .models import Finding, Severity
from .ruleinfo import RuleInfo, match_rules

if TYPE_CHECKING:
    from .settings import ScanSettings


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


@dataclass(frozen=True)
class Shown:
    """The findings a run shows, and what the policy hid."""

    findings: tuple[Finding, ...]
    """In the one finding order."""
    known: tuple[Finding, ...] = ()
    """Findings the baseline hid: still found, so a new baseline and the index keep them."""
    filtered: int = 0
    """Findings of rules left out by --select/--ignore."""

    @property
    def suppressed(self) -> int:
        return len(self.known)

    @property
    def found(self) -> tuple[Finding, ...]:
        """Every finding of the chosen rules, the baseline's included (what `--write-baseline` records)."""
        return self.findings + self.known


@dataclass(frozen=True)
class Policy:
    """The user's choice of findings; `apply` is the one place it is applied."""

    hidden: frozenset[str] = frozenset()
    """Ids of the rules whose findings are not shown (not in --select, or in --ignore)."""
    severities: tuple[tuple[str, Severity], ...] = ()
    """(rule id, severity) from --severity."""
    baseline: frozenset[str] = frozenset()
    """Fingerprints of findings already known (--baseline)."""

    @classmethod
    def from_settings(
        cls, settings: ScanSettings, rules: Sequence[RuleInfo], baseline: Iterable[str] | None = None
    ) -> Policy:
        """`settings`' rule names (ids or slugs) resolved against `rules`; an unknown name is a ConfigError.

        `baseline` replaces the fingerprints `settings` holds, when given.
        """
        try:
            chosen = _ids(settings.select, rules) if settings.select else {r.id for r in rules}
            ignored = _ids(settings.ignore, rules)
            # A prefix sets the severity of every rule it names (`--severity LOOP=warning`).
            severities = tuple((r.id, sev) for k, sev in settings.severity_overrides for r in match_rules(k, rules))
        except KeyError as exc:
            raise ConfigError(str(exc.args[0])) from None
        shown = chosen - ignored
        return cls(
            hidden=frozenset(r.id for r in rules if r.id not in shown),
            severities=severities,
            baseline=frozenset(settings.baseline if baseline is None else baseline),
        )

    def apply(self, findings: Iterable[Finding]) -> Shown:
        """Drop the hidden rules' findings, override severities, set the baseline's aside, and order the rest."""
        overrides = dict(self.severities)
        shown: list[Finding] = []
        known: list[Finding] = []
        filtered = 0
        for finding in findings:
            if finding.rule_id in self.hidden:
                filtered += 1
                continue
            if finding.rule_id in overrides:
                finding = replace(finding, severity=overrides[finding.rule_id])
            # A finding without a fingerprint cannot be matched again, so no baseline hides it.
            (known if finding.fingerprint and finding.fingerprint in self.baseline else shown).append(finding)
        return Shown(in_order(shown), tuple(known), filtered)


def _ids(keys: Iterable[str], rules: Sequence[RuleInfo]) -> set[str]:
    """The ids of the rules named by `keys` (ids, slugs, prefixes or ALL)."""
    return {info.id for key in keys for info in match_rules(key, rules)}
