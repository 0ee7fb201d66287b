"""Long fuzz run: every parser and parse_received under hypothesis for a time budget, with figures at the end.

Usage: python benchmarks/fuzz_long.py [--minutes 5] [--examples 500] [--seed N]

Runs the same properties as tests/hostile/test_fuzz.py (arbitrary bytes, mutated real lines from
sample_logs/ and ../shared/corpus when present, near-valid lines) in rounds of `--examples` per
target with a fresh seed each round, until the budget is spent. Prints, per target, the examples
run and the failures found (each with its shrunk input), then the totals. Exit 1 on any failure.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from hypothesis import HealthCheck, given, seed, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from imsdiag.parsers.received import parse_received  # noqa: E402
from tests.conftest import CORPUS  # noqa: E402
from tests.hostile.fuzzkit import (  # noqa: E402
    SAMPLES,
    check_parser,
    mutated,
    near_valid,
    parser_named,
    parser_names,
    seed_lines,
)


@dataclass
class Target:
    """One property over one strategy, with its running figures."""

    name: str
    strategy: st.SearchStrategy[bytes]
    check: Callable[[bytes], object]
    examples: int = 0
    failures: list[str] = field(default_factory=list)


def _received(data: bytes) -> object:
    hop = parse_received(data.decode("utf-8", "replace"))
    assert hop.date is None or hop.date.utcoffset() is not None
    assert all(d == d.lower() and " " not in d for d in hop.defects)
    return hop


def targets() -> list[Target]:
    samples = seed_lines(SAMPLES)
    corpus = seed_lines(CORPUS / "maillogs", CORPUS / "exchange_msgtrk", CORPUS / "exim_testsuite" / "log")
    strategies: dict[str, st.SearchStrategy[bytes]] = {
        "bytes": st.binary(max_size=4000),
        "mutated-samples": mutated(samples),
        "near-valid": near_valid(),
    }
    if corpus:
        strategies["mutated-corpus"] = mutated(corpus)
    out: list[Target] = []
    for pname in parser_names():
        parser = parser_named(pname)
        for sname, strategy in strategies.items():
            out.append(Target(f"{pname}/{sname}", strategy, lambda d, p=parser: check_parser(p, d)))  # type: ignore[misc]
    for sname, strategy in strategies.items():
        out.append(Target(f"parse_received/{sname}", strategy, _received))
    return out


def run_round(target: Target, examples: int, round_seed: int) -> None:
    @seed(round_seed)
    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
        print_blob=True,
    )
    @given(data=target.strategy)
    def prop(data: bytes) -> None:
        target.examples += 1
        target.check(data)

    try:
        prop()
    except Exception:  # a falsified property: keep the shrunk report, go on with the others
        target.failures.append(traceback.format_exc(limit=3))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=5.0)
    ap.add_argument("--examples", type=int, default=500, help="examples per target per round")
    ap.add_argument("--seed", type=int, default=None)
    args = ap.parse_args(argv)
    rng = random.Random(args.seed)
    all_targets = targets()
    deadline = time.monotonic() + args.minutes * 60
    started = time.monotonic()
    rounds = 0
    while time.monotonic() < deadline:
        rounds += 1
        for target in all_targets:
            if time.monotonic() >= deadline:
                break
            run_round(target, args.examples, rng.randrange(1 << 32))
    elapsed = time.monotonic() - started
    width = max(len(t.name) for t in all_targets)
    print(f"{'target':<{width}}  examples  failures")
    for t in all_targets:
        print(f"{t.name:<{width}}  {t.examples:>8}  {len(t.failures):>8}")
    total = sum(t.examples for t in all_targets)
    failures = [(t.name, f) for t in all_targets for f in t.failures]
    print(
        f"\n{total} examples over {len(all_targets)} targets in {elapsed:.0f} s ({rounds} round(s)); "
        f"{len(failures)} failure(s)"
    )
    for name, text in failures:
        print(f"\n--- {name}\n{text}")
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
