"""`--engine dask` measured: bytes to the client per GB, the reduce, dask -j2 against local -j2, a projection.

    python -m benchmarks.bench_dask --size 64M --rounds 3 [--data DIR]

Part 1 runs the engine's own task functions in this one process (no cluster), so each figure is the work
itself: parse seconds per task (a worker's throughput), the pickled bytes of what the client fetches (the
heads and the merged root) and of what moves between workers (the tasks' dated parts), and the tree
merge's seconds. Part 2 runs the command line, interleaved (A B A B ...), as `benchmarks/bench_real.py`
does. Part 3 projects N machines from part 1. Needs `pip install -e '.[dask]'` and GNU time.
"""

from __future__ import annotations

import argparse
import pickle
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.benchkit import MB, interleave, load_average, machine, md_table, measure, parse_size, summarize
from imsdiag import dask_engine, dask_tasks, engine, loops
from imsdiag.correlate import Correlator
from imsdiag.outcome import new_correlator
from imsdiag.rules import RuleContext, run_rules
from imsdiag.settings import ScanSettings

ROOT = Path(__file__).resolve().parent.parent
GB = 1 << 30


def _size(obj: object) -> int:
    """Bytes of `obj` as Dask ships a Python object (pickle protocol 5)."""
    return len(pickle.dumps(obj, protocol=5))


def work(data: Path) -> dict[str, float]:
    """Part 1: the tasks' figures, in this process."""
    settings = ScanSettings(paths=(str(data),))
    files, _ = engine.collect_inputs(settings)
    total = sum(f.size for f in files)
    groups = dask_engine.chunks(files)
    parse_s = head_bytes = part_bytes = 0.0
    parts = []
    for idx in groups:
        began = time.perf_counter()
        outs = dask_tasks.parse_chunk([files[i] for i in idx], settings)
        parse_s += time.perf_counter() - began
        head_bytes += _size(dask_tasks.heads(outs, settings))
        # What moves between workers: each task's dated part, and each year-less file's own correlator.
        for part in [
            dask_tasks.dated_part(outs, settings),
            *(o.correlator for o in outs if dask_tasks.is_yearless(o, settings)),
        ]:
            part_bytes += _size(part)
            parts.append(part)
    began = time.perf_counter()
    merges = 0
    level = parts
    while len(level) > 1:
        level = [
            dask_tasks.merge_many(settings, *level[i : i + dask_engine.FAN_IN])
            for i in range(0, len(level), dask_engine.FAN_IN)
        ]
        merges += len(level)
    reduce_s = time.perf_counter() - began
    root_bytes = _size(level[0])
    client_s = _client_work(level[0], settings)
    return {
        "bytes": total,
        "files": len(files),
        "tasks": len(groups),
        "parse_s": parse_s,
        "head_bytes": head_bytes,
        "part_bytes": part_bytes,
        "root_bytes": root_bytes,
        "reduce_s": reduce_s,
        "merges": merges,
        "client_s": client_s,
    }


def _client_work(root: Correlator, settings: ScanSettings) -> float:
    """What stays on the client once the root has come: the fold, the host map and clocks, detection, rules."""
    began = time.perf_counter()
    corr = new_correlator(settings)
    corr.merge(root)
    ev = engine.build_evidence(corr, settings)
    run_rules(loops.detect(ev, settings.min_passes, settings.window_seconds), RuleContext.from_evidence(ev))
    return time.perf_counter() - began


def runs(data: Path, rounds: int) -> str:
    """Part 2: `--engine dask -j2` (its own local cluster, start-up included) against `-j2`, interleaved."""
    base = [sys.executable, "-m", "imsdiag", "scan", "--no-index", "--isolated", "-q", "-f", "json"]
    cmds = {
        "local -j2": [*base, "-o", "/dev/null", "-j2", str(data)],
        "dask -j2 (2 workers)": [*base, "-o", "/dev/null", "--engine", "dask", "-j2", str(data)],
    }
    done = []
    for r, name in interleave(list(cmds), rounds):
        run = measure(name, cmds[name], ROOT)
        print(f"  round {r} {name}: {run.seconds:.1f} s (exit {run.exit_code})", file=sys.stderr)
        done.append(run)
    rows = [
        (s.name, s.runs, f"{s.min_s:.1f}", f"{s.median_s:.1f}", f"{s.median_rss_mib:.0f}", s.exit_codes)
        for s in summarize(done).values()
    ]
    return md_table(["command", "runs", "min s", "median s", "client peak RSS MiB", "exit"], rows)


def report(w: dict[str, float], table: str) -> str:
    per_gb = GB / w["bytes"]
    worker_mb_s = w["bytes"] / MB / w["parse_s"]
    client_s = w["client_s"]
    lines = [
        f"data: {w['bytes'] / MB:.0f} MB in {w['files']:.0f} files, {w['tasks']:.0f} tasks; {machine()}; "
        f"load average {load_average()}",
        "",
        md_table(
            ["figure", "measured", "per GB of logs"],
            [
                (
                    "heads fetched by the client",
                    f"{w['head_bytes'] / 1e3:.0f} kB",
                    f"{w['head_bytes'] * per_gb / MB:.1f} MB",
                ),
                (
                    "merged root fetched by the client",
                    f"{w['root_bytes'] / 1e3:.0f} kB",
                    "grows with candidates, not size",
                ),
                (
                    "parts moved between workers (into the tree)",
                    f"{w['part_bytes'] / 1e3:.0f} kB",
                    f"{w['part_bytes'] * per_gb / MB:.1f} MB",
                ),
                (
                    "tree merge",
                    f"{w['reduce_s'] * 1e3:.0f} ms in {w['merges']:.0f} tasks of {dask_engine.FAN_IN}",
                    f"{w['reduce_s'] * per_gb:.1f} s",
                ),
                (
                    "parsing, one worker",
                    f"{w['parse_s']:.1f} s ({worker_mb_s:.1f} MB/s)",
                    f"{GB / MB / worker_mb_s:.0f} s",
                ),
                (
                    "client: fold the root, host map, clocks, detection, rules",
                    f"{client_s:.2f} s",
                    "grows with candidates",
                ),
            ],
        ),
        "",
        table,
    ]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", default="64M")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--data", type=Path, help="an existing log folder (default: generate one)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-dask-") as tmp:
        data = args.data
        if data is None:
            from tools.loggen import bench

            data = Path(tmp) / "logs"
            bench.run(data, parse_size(args.size), seed=1)
        w = work(data)
        print(report(w, runs(data, args.rounds) if args.rounds else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
