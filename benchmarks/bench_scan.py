"""Benchmark: `imsdiag scan` against a bare Python line loop, grep -c and pflogsumm, at growing input sizes.

Usage: python benchmarks/bench_scan.py [--sizes 100M,500M,1G,2G] [--data /tmp/bench-data/generated] [--no-record]

For every size it generates (or reuses) a log set with `python -m tools.loggen bench --size SIZE`
under `/tmp/bench-data/generated/<SIZE>/`, then runs, one at a time and each in a fresh process measured by
`/usr/bin/time -v` (wall time and peak RSS of that process alone):

  python-loop   `for line in open(f, 'rb'): n += 1` over every file (the floor for any Python tool)
  grep-c        `grep -c ''` over every file
  scan-j1       `imsdiag scan --no-index -j 1`
  scan-j2       `imsdiag scan --no-index -j 2`
  scan-index    `imsdiag scan -j 2` with a fresh (cold) index database
  pf-loop / pf-scan / pflogsumm   the same three on the Postfix share alone (`pf1/mail.log`)

It checks that scan-j1 and scan-j2 report every loop planted in `expected.json` with the right rule,
hosts and address and nothing else (a PASS/FAIL line per size), prints MB/s, lines/s, wall time, peak
RSS and the ratios, and appends the dated results with the machine description to benchmarks/RESULTS.md.
Each command runs once, in sequence: for interleaved min/median figures on real logs against pflogsumm and
eximstats, see bench_real.py (the timing itself is shared, benchkit.py).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import benchkit

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "RESULTS.md"
PFLOGSUMM = "/usr/sbin/pflogsumm"
MB = benchkit.MB

# The rule each planted loop kind must be reported under.
KIND_RULES = {"q178436": {"Q178436"}, "postfix-forwarding-loop": {"LOOP005"}, "exim-hop-limit": {"LOOP003"}}

LOOP_SCRIPT = benchkit.LOOP_SCRIPT


@dataclass(frozen=True)
class Run:
    """One measured command."""

    name: str
    seconds: float
    rss_mib: float
    nbytes: int
    lines: int
    exit_code: int
    stdout: str

    @property
    def mb_s(self) -> float:
        return self.nbytes / MB / self.seconds if self.seconds else 0.0

    @property
    def lines_s(self) -> float:
        return self.lines / self.seconds if self.seconds else 0.0


def generate(out: Path, size: int) -> dict[str, object]:
    """The log set of `size` bytes in `out`, generated once and reused while expected.json matches."""
    expected = out / "expected.json"
    if expected.exists():
        data: dict[str, object] = json.loads(expected.read_text())
        if data.get("requested_bytes") == size:
            return data
        shutil.rmtree(out)
    cmd = [sys.executable, "-m", "tools.loggen", "bench", "--size", str(size), "--out", str(out), "--seed", "1"]
    subprocess.run(cmd, cwd=ROOT, check=True)
    result: dict[str, object] = json.loads(expected.read_text())
    return result


def measure(name: str, cmd: list[str], nbytes: int, lines: int, cwd: Path = ROOT) -> Run:
    """One run of `cmd` in a fresh process (benchkit.measure: wall time, peak RSS), printed as it ends."""
    m = benchkit.measure(name, cmd, cwd, capture=True)
    run = Run(name, m.seconds, m.rss_mib, nbytes, lines, m.exit_code, m.stdout)
    print(
        f"  {name:<11} {run.seconds:8.2f} s {run.mb_s:8.1f} MB/s {run.lines_s / 1e3:9.0f} klines/s "
        f"{run.rss_mib:7.1f} MiB  (exit {run.exit_code})",
        flush=True,
    )
    return run


def data_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file() and p.name != "expected.json")


def scan_cmd(paths: list[str], jobs: int, report: Path, index: Path | None) -> list[str]:
    cmd = [sys.executable, "-m", "imsdiag", "scan", *paths, "-j", str(jobs), "--format", "json", "-o", str(report)]
    cmd += ["--index", str(index)] if index else ["--no-index"]
    return [*cmd, "--color", "never", "-q"]


def check(expected: dict[str, object], report: Path, data: Path) -> tuple[bool, list[str]]:
    """Every planted loop found under its rule, with the right hosts and address, and no other finding.

    A loop planted as several messages hours apart may be reported once per message (each is its own
    incident beyond --window). A log whose content never names its host (an Exim mainlog) is named
    after its folder, so the loop's log folder counts as a right host name too.
    """
    findings = json.loads(report.read_text())["findings"]
    used: set[int] = set()
    notes: list[str] = []
    ok = True
    for loop in expected["loops"]:  # type: ignore[attr-defined]
        kind, addr = loop["kind"], loop["address"]
        hosts = set(loop["hosts"]) | {str(p).split("/", 1)[0] for p in loop["logs"]}
        mine = [i for i, f in enumerate(findings) if addr in f["addresses"]]
        used.update(mine)
        wrong = [
            findings[i]["rule_id"]
            for i in mine
            if findings[i]["rule_id"] not in KIND_RULES[kind] or not set(findings[i]["hosts"]) <= hosts
        ]
        limit = int(loop.get("messages", 1))
        passes = [findings[i]["passes"] for i in mine]
        bad_passes = kind == "q178436" and passes != [loop["passes"]]
        good = bool(mine) and not wrong and len(mine) <= limit and not bad_passes
        ok &= good
        notes.append(
            f"{'ok ' if good else 'BAD'} {kind}: {len(mine)} finding(s) for {addr} (planted {limit} message(s)), "
            f"rules {sorted({findings[i]['rule_id'] for i in mine})}, passes {passes}"
            + (f", wrong rule/hosts in {wrong}" if wrong else "")
        )
    extra = [f"{f['rule_id']} {f['hosts']} {f['addresses']}" for i, f in enumerate(findings) if i not in used]
    if extra:
        ok = False
        notes.append(f"BAD {len(extra)} extra finding(s): " + "; ".join(extra[:5]))
    return ok, notes


def bench_size(label: str, size: int, data_root: Path, work: Path) -> dict[str, object]:
    out = data_root / label
    expected = generate(out, size)
    files = data_files(out)
    nbytes = sum(p.stat().st_size for p in files)
    pf = out / "pf1" / "mail.log"
    pf_bytes = pf.stat().st_size
    names = [str(p) for p in files]
    print(
        f"\n== {label}: {nbytes / MB:.0f} MB in {len(files)} files (Postfix share {pf_bytes / MB:.0f} MB)", flush=True
    )
    # The line count comes from the loop run itself; a list of 30k paths fits an argv easily.
    loop = measure("python-loop", [sys.executable, "-c", LOOP_SCRIPT, *names], nbytes, 0)
    lines = int(loop.stdout.strip() or 0)
    loop = Run(loop.name, loop.seconds, loop.rss_mib, nbytes, lines, loop.exit_code, "")
    runs = [loop, measure("grep-c", ["grep", "-c", "-r", "", str(out)], nbytes, lines)]
    reports = {j: work / f"{label}-j{j}.json" for j in (1, 2)}
    runs.append(measure("scan-j1", scan_cmd([str(out)], 1, reports[1], None), nbytes, lines))
    runs.append(measure("scan-j2", scan_cmd([str(out)], 2, reports[2], None), nbytes, lines))
    index = work / f"{label}-index.sqlite"
    runs.append(measure("scan-index", scan_cmd([str(out)], 2, work / f"{label}-ix.json", index), nbytes, lines))
    pf_loop = measure("pf-loop", [sys.executable, "-c", LOOP_SCRIPT, str(pf)], pf_bytes, 0)
    pf_lines = int(pf_loop.stdout.strip() or 0)
    runs.append(Run(pf_loop.name, pf_loop.seconds, pf_loop.rss_mib, pf_bytes, pf_lines, pf_loop.exit_code, ""))
    runs.append(measure("pf-scan", scan_cmd([str(pf)], 1, work / f"{label}-pf.json", None), pf_bytes, pf_lines))
    if Path(PFLOGSUMM).exists():
        runs.append(measure("pflogsumm", [PFLOGSUMM, str(pf)], pf_bytes, pf_lines))
    else:
        print("  pflogsumm   skipped: /usr/sbin/pflogsumm is not installed (apt-get install -y pflogsumm)")
    load = os.getloadavg()[0]
    print(f"  load average after the runs: {load:.2f} (other processes on the machine skew the -j2 figures)")
    verdicts = []
    for j, rep in reports.items():
        ok, notes = check(expected, rep, out)
        verdicts.append(ok)
        for n in notes:
            print(f"    j{j} {n}")
    same = json.loads(reports[1].read_text())["findings"] == json.loads(reports[2].read_text())["findings"]
    passed = all(verdicts) and same
    print(f"  {'PASS' if passed else 'FAIL'} {label}: planted loops found" + ("" if same else "; -j1 and -j2 differ"))
    return {
        "label": label,
        "bytes": nbytes,
        "lines": lines,
        "files": len(files),
        "runs": runs,
        "pass": passed,
        "load": load,
    }


def ratio(runs: list[Run], a: str, b: str) -> str:
    ra = next((r for r in runs if r.name == a), None)
    rb = next((r for r in runs if r.name == b), None)
    if ra is None or rb is None or not rb.seconds:
        return "n/a"
    return f"{ra.seconds / rb.seconds:.2f}"


def render(results: list[dict[str, object]]) -> str:
    now = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    out = [f"\n## scan ({now})\n", f"Machine: {benchkit.machine()}\n"]
    out.append("| size | run | wall s | MB/s | klines/s | peak RSS MiB |")
    out.append("|---|---|---:|---:|---:|---:|")
    for res in results:
        for r in res["runs"]:  # type: ignore[attr-defined]
            out.append(
                f"| {res['label']} | {r.name} | {r.seconds:.2f} | {r.mb_s:.1f} "
                f"| {r.lines_s / 1e3:.0f} | {r.rss_mib:.1f} |"
            )
    out.append(
        "\n| size | scan-j1 / python-loop | scan-j1 / grep-c | scan-j1 / scan-j2 | scan-index / scan-j2 "
        "| pf-scan / pflogsumm | pf-scan / pf-loop | planted loops | input | load avg |"
    )
    out.append("|---|---:|---:|---:|---:|---:|---:|---|---|---:|")
    for res in results:
        runs: list[Run] = res["runs"]  # type: ignore[assignment]
        out.append(
            f"| {res['label']} | {ratio(runs, 'scan-j1', 'python-loop')} | {ratio(runs, 'scan-j1', 'grep-c')} "
            f"| {ratio(runs, 'scan-j1', 'scan-j2')} | {ratio(runs, 'scan-index', 'scan-j2')} "
            f"| {ratio(runs, 'pf-scan', 'pflogsumm')} | {ratio(runs, 'pf-scan', 'pf-loop')} "
            f"| {'PASS' if res['pass'] else 'FAIL'} | {int(res['bytes']) / MB:.0f} MB, {res['files']} files "  # type: ignore[call-overload]
            f"| {res['load']:.2f} |"
        )
    out.append("\nRatios are wall-time ratios (how many times longer the first run took).")
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--sizes", default="100M,500M,1G,2G", help="comma-separated sizes [100M,500M,1G,2G]")
    ap.add_argument("--data", type=Path, default=Path("/tmp/bench-data/generated"), help="generated data cache")
    ap.add_argument("--no-record", action="store_true", help="do not append to benchmarks/RESULTS.md")
    args = ap.parse_args(argv)
    if not benchkit.have_time():
        sys.exit("bench_scan: /usr/bin/time is needed (apt-get install -y time)")
    work = Path(tempfile.mkdtemp(prefix="imsdiag-bench-scan-"))
    results = []
    try:
        for label in [s.strip() for s in args.sizes.split(",") if s.strip()]:
            results.append(bench_size(label.upper(), benchkit.parse_size(label), args.data, work))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    table = render(results)
    print(table)
    if not args.no_record:
        with RESULTS.open("a", encoding="utf-8") as fh:
            fh.write(table)
        print(f"appended to {RESULTS}")
    return 0 if all(r["pass"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
