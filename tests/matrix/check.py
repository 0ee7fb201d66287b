"""Compare one scan result with the planted truth; every mismatch becomes one readable failure line."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from imsdiag import ScanSettings, scan
from imsdiag.result import ScanResult

from .knobs import Combo
from .model import Truth
from .world import build_world

RULE = "Q178436"


def scan_folder(folder: Path) -> ScanResult:
    return scan(ScanSettings(paths=(str(folder),), use_index=False))


def _map_names(truth: Truth, shown: list[str], what: str, failures: list[str]) -> Counter[str]:
    """Count the planted machines behind names the tool showed; unknown names are failures."""
    seen: Counter[str] = Counter()
    for name in shown:
        key = truth.machine_of(name)
        if key is None:
            failures.append(f"{what} shows {name!r}, which is no planted machine")
        else:
            seen[key] += 1
    return seen


def check_loop(result: ScanResult, truth: Truth) -> list[str]:
    """Failures of a scan of a world that has the Q178436 loop planted."""
    failures: list[str] = []
    hits = [f for f in result.findings if f.rule_id == RULE]
    if len(hits) != 1:
        others = sorted({f.rule_id for f in result.findings})
        failures.append(f"expected exactly one {RULE} finding, got {len(hits)} (all rules found: {others})")
    if hits:
        f = hits[0]
        if f.severity.value != "error":
            failures.append(f"severity is {f.severity.value}, expected error")
        if truth.address.lower() not in {a.lower() for a in f.addresses}:
            failures.append(f"looping address {truth.address} missing from finding.addresses {list(f.addresses)}")
        seen = _map_names(truth, list(f.hosts), "finding.hosts", failures)
        for key in truth.ring:
            if seen[key] != 1:
                failures.append(f"ring machine {key} appears {seen[key]} times in finding.hosts {list(f.hosts)}")
        for key in seen:
            if key not in truth.ring:
                failures.append(f"non-ring machine {key} in finding.hosts {list(f.hosts)}")
        if f.passes is None or abs(f.passes - truth.passes) > 1:
            failures.append(f"passes {f.passes}, planted {truth.passes} (tolerance +-1)")
        verdict = dict(truth.below_fix)
        texts = [f.build_verdict, *(v for _, v in f.details), f.summary, *f.confidence_reasons]
        for key, build in truth.builds:
            named = [b for s, b in f.builds if b == build and truth.machine_of(s) == key]
            if not named:
                failures.append(f"build {build} of {key} is in the evidence but not in finding.builds {list(f.builds)}")
            if verdict.get(build):
                # "5.5.1960.3 = Exchange 5.5 (no service pack), needs 5.5.2186.0" or "below the fixed ..."
                said = any(build in t and ("below" in t.lower() or "needs 5." in t.lower()) for t in texts)
                if not said:
                    failures.append(f"build {build} of {key} is below the fix but no detail says so")
    servers = _map_names(truth, [s.name for s in result.servers], "result.servers", failures)
    for key in truth.ring:
        if key in truth.scanned and servers[key] != 1:
            names = [s.name for s in result.servers]
            failures.append(f"scanned ring machine {key} appears {servers[key]} times in result.servers {names}")
    for key in servers:
        if key not in truth.scanned:
            failures.append(f"result.servers lists {key}, whose own logs were not scanned")
    return failures


def check_clean(result: ScanResult) -> list[str]:
    """Failures of a scan of a world without a loop: any finding at all."""
    return [f"no loop planted, but found {f.rule_id} ({f.severity.value}): {f.summary[:160]}" for f in result.findings]


def run_combo(combo: Combo, seed: int, tmp: Path) -> tuple[list[str], list[str], Truth]:
    """Build and scan the loop world and the no-loop world of one combo: (loop failures, clean failures, truth)."""
    truth = build_world(combo, seed, tmp / "loop", loop=True)
    res = scan_folder(tmp / "loop")
    loop_failures = check_loop(res, truth) if truth.loop else check_clean(res)
    build_world(combo, seed, tmp / "clean", loop=False)
    clean_failures = check_clean(scan_folder(tmp / "clean"))
    return loop_failures, clean_failures, truth
