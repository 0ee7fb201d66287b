"""Benchmark: scan with a cold and a warm index, and explain with and without it, over a generated log set.

Usage: python benchmarks/bench_explain.py [--size 1G] [--out DIR] [--keep] [--no-record]

Generates the log set with `python -m tools.loggen bench --size SIZE --out DIR` (reused when DIR
already holds one of that size), runs each command in a fresh process, prints wall time and peak
memory, and appends the dated figures to benchmarks/RESULTS.md (section "explain").
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from datetime import datetime, timezone
from pathlib import Path

import benchkit
from benchkit import Run

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "RESULTS.md"
SECTION = "## explain"


def need_loggen() -> None:
    """Fail clearly when the generator (tools/loggen, written by another helper) is not there."""
    sys.path.insert(0, str(ROOT))
    if importlib.util.find_spec("tools.loggen") is None:
        sys.exit("bench_explain: tools/loggen is missing: cannot generate the log set (python -m tools.loggen bench)")


def generate(out: Path, size: int) -> None:
    expected = out / "expected.json"
    if expected.exists() and json.loads(expected.read_text()).get("requested_bytes") == size:
        print(f"reusing the log set in {out}")
        return
    if out.exists():
        shutil.rmtree(out)
    cmd = [sys.executable, "-m", "tools.loggen", "bench", "--size", str(size), "--out", str(out)]
    subprocess.run(cmd, cwd=ROOT, check=True)


def timed(name: str, args: list[str]) -> Run:
    """Run `python -m imsdiag ARGS` in a fresh process (benchkit.measure: wall time, peak RSS)."""
    run = benchkit.measure(name, [sys.executable, "-m", "imsdiag", *args], ROOT)
    if run.exit_code not in (0, 1):
        print(f"{name}: exit {run.exit_code}\n{run.stderr_tail}", file=sys.stderr)
    return run


def pick_ids(index: Path) -> tuple[str, str]:
    """A Message-ID in a finding (looping) and one that is not (ordinary), from the index the scan wrote."""
    conn = sqlite3.connect(index)
    try:
        loop = conn.execute("SELECT id_norm FROM finding_ids ORDER BY rowid LIMIT 1").fetchone()
        looping = {r[0] for r in conn.execute("SELECT id_norm FROM finding_ids")}
        ordinary = None
        # kind 0: message_id (index.ids.KINDS)
        for (n,) in conn.execute("SELECT id_norm FROM ids WHERE kind=0 ORDER BY block_id LIMIT 5000"):
            if n not in looping:
                ordinary = n
                break
    finally:
        conn.close()
    if loop is None or ordinary is None:
        sys.exit("bench_explain: the scan found no looping message or no ordinary one; cannot time explain")
    return loop[0], ordinary


def table(runs: list[Run]) -> str:
    lines = ["| step | seconds | peak RSS MiB | exit |", "|---|---:|---:|---:|"]
    lines += [f"| {r.name} | {r.seconds:.2f} | {r.rss_mib:.0f} | {r.exit_code} |" for r in runs]
    return "\n".join(lines)


def record(size: int, written: int, runs: list[Run], ids: tuple[str, str]) -> None:
    """Append the dated figures under the "explain" section of RESULTS.md (created when missing)."""
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    host = f"{platform.machine()}, {os.cpu_count()} CPU, Python {platform.python_version()}"
    block = (
        f"\n### {stamp}: {written / (1 << 20):.0f} MiB of logs (requested {size / (1 << 20):.0f} MiB)\n\n"
        f"{host}; looping id `{ids[0]}`, ordinary id `{ids[1]}`\n\n{table(runs)}\n"
    )
    text = RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n"
    if SECTION not in text:
        text = text.rstrip("\n") + f"\n\n{SECTION}\n"
    start = text.index(SECTION) + len(SECTION)
    nxt = text.find("\n## ", start)
    end = len(text) if nxt < 0 else nxt
    text = text[:end].rstrip("\n") + "\n" + block + text[end:]
    RESULTS.write_text(text)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", default="1G", help="log set size (default 1G)")
    ap.add_argument("--out", type=Path, help="where the log set goes (default: a temporary folder)")
    ap.add_argument("--keep", action="store_true", help="keep the generated log set")
    ap.add_argument("--no-record", action="store_true", help="do not append to benchmarks/RESULTS.md")
    opts = ap.parse_args()
    need_loggen()
    size = benchkit.parse_size(opts.size)
    work = Path(tempfile.mkdtemp(prefix="imsdiag-bench-"))
    out = opts.out or work / "logs"
    index = work / "index.sqlite"
    try:
        generate(out, size)
        logs = str(out)
        runs = [
            timed("scan, index cold", ["scan", logs, "--index", str(index), "-f", "json", "-q"]),
            timed("scan, index warm", ["scan", logs, "--index", str(index), "-f", "json", "-q"]),
        ]
        looping, ordinary = pick_ids(index)
        for label, ident in (("looping", looping), ("ordinary", ordinary)):
            runs.append(timed(f"explain {label}, index", ["explain", ident, "--logs", logs, "--index", str(index)]))
            runs.append(timed(f"explain {label}, --no-index", ["explain", ident, "--logs", logs, "--no-index"]))
        written = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
        print(table(runs))
        print(f"index size: {index.stat().st_size / (1 << 20):.0f} MiB for {written / (1 << 20):.0f} MiB of logs")
        if not opts.no_record:
            record(size, written, runs, (looping, ordinary))
    finally:
        if not opts.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
