"""Print the variation-matrix failure summary per knob value: `python -m tests.matrix.report [--random N]`."""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
from collections import Counter, defaultdict
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from .allpairs import all_pairs, random_rows
from .knobs import KNOBS, Combo, combo_excluded, pair_excluded

SEED = 178436


def allpairs_combos() -> list[Combo]:
    return [Combo(**row) for row in all_pairs(KNOBS, pair_excluded)]


def random_combos(count: int, seed: int = SEED) -> list[Combo]:
    return [Combo(**row) for row in random_rows(KNOBS, count, seed, combo_excluded)]


def _run(combo: Combo) -> tuple[Combo, list[str], list[str]]:
    from .check import run_combo

    with tempfile.TemporaryDirectory(prefix="imsdiag-matrix-") as tmp:
        try:
            loop_f, clean_f, _ = run_combo(combo, SEED, Path(tmp))
        except Exception as exc:  # a crash of the generator or the scan is a failure of that combo
            loop_f, clean_f = [f"crash: {type(exc).__name__}: {exc}"], []
    return combo, loop_f, clean_f


def _kind(message: str) -> str:
    """A failure message with its specifics removed, to count failures of the same kind."""
    text = re.sub(r"\b(imc1|imc2|relay|partner|exorg)\b", "<m>", message)
    text = re.sub(r"\[.*?\]|\(.*?\)|'[^']*'", "_", text)
    return re.sub(r"(?<![Q\d.])\d+(\.\d+)*", "_", text)[:110]


def summarize(results: list[tuple[Combo, list[str], list[str]]], out: object = sys.stdout) -> None:
    """Print pass/fail per knob value, the commonest failure kinds, and a few concrete examples."""
    write = out.write  # type: ignore[attr-defined]
    total = len(results)
    loop_bad = sum(1 for _, a, _ in results if a)
    clean_bad = sum(1 for _, _, b in results if b)
    write(f"combinations: {total}   loop world failing: {loop_bad}   clean world failing: {clean_bad}\n\n")
    write(f"{'knob':<12} {'value':<18} {'n':>4} {'loop ok':>8} {'loop fail':>9} {'clean fail':>10}\n")
    for knob, values in KNOBS.items():
        for value in values:
            rows = [(a, b) for c, a, b in results if getattr(c, knob) == value]
            if not rows:
                continue
            lf = sum(1 for a, _ in rows if a)
            cf = sum(1 for _, b in rows if b)
            write(f"{knob:<12} {value:<18} {len(rows):>4} {len(rows) - lf:>8} {lf:>9} {cf:>10}\n")
        write("\n")
    kinds: Counter[str] = Counter()
    example: dict[str, tuple[str, str]] = {}
    for c, a, b in results:
        for msg in a + b:
            k = _kind(msg)
            kinds[k] += 1
            example.setdefault(k, (c.id, msg))
    write("failure kinds (count, example combo, example message):\n")
    for k, n in kinds.most_common():
        cid, msg = example[k]
        write(f"{n:>5}  {cid}\n       {msg}\n")
    by_value: dict[str, Counter[str]] = defaultdict(Counter)
    for c, a, b in results:
        for knob, value in c.items():
            for msg in a + b:
                by_value[f"{knob}={value}"][_kind(msg)] += 1
    write("\ncommonest failure kind per knob value:\n")
    for key in (f"{k}={v}" for k, values in KNOBS.items() for v in values):
        if key not in by_value:
            continue
        kind, n = by_value[key].most_common(1)[0]
        write(f"  {key:<30} {n:>4}  {kind}\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--random", type=int, default=0, help="also run N seeded random full combinations")
    parser.add_argument("--only-random", action="store_true", help="skip the all-pairs set")
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--jobs", type=int, default=4)
    args = parser.parse_args(argv)
    combos: list[Combo] = [] if args.only_random else allpairs_combos()
    if args.random:
        combos += random_combos(args.random, args.seed)
    with ProcessPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        results = list(pool.map(_run, combos))
    summarize(results)
    return 1 if any(a or b for _, a, b in results) else 0


if __name__ == "__main__":
    raise SystemExit(main())
