"""Shared benchmark helpers: one measured process, interleaved rounds, min/median, the machine, markdown tables."""

from __future__ import annotations

import os
import platform
import re
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

TIME = "/usr/bin/time"
MB = 1_000_000
UNITS = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}

_RSS = re.compile(r"Maximum resident set size \(kbytes\): (\d+)")

LOOP_SCRIPT = "import sys\nn = 0\nfor f in sys.argv[1:]:\n    for line in open(f, 'rb'):\n        n += 1\nprint(n)\n"
"""The bare Python line loop: the floor for any Python tool that looks at every line."""


@dataclass(frozen=True)
class Run:
    """One measured command: wall seconds, peak RSS of its largest process, exit code, stdout if kept."""

    name: str
    seconds: float
    rss_mib: float
    exit_code: int
    stdout: str = ""
    stderr_tail: str = ""


@dataclass(frozen=True)
class Stats:
    """Min and median over the repeated runs of one command."""

    name: str
    runs: int
    min_s: float
    median_s: float
    median_rss_mib: float
    exit_codes: tuple[int, ...]

    def mb_s(self, nbytes: int) -> float:
        """Throughput at the fastest run."""
        return nbytes / MB / self.min_s if self.min_s else 0.0


def parse_size(text: str) -> int:
    """`100M`, `1G`, `512K` (binary units) or a byte count."""
    t = text.strip().upper().rstrip("B")
    if t and t[-1] in UNITS:
        return int(float(t[:-1]) * UNITS[t[-1]])
    return int(t)


def mb(nbytes: int) -> str:
    """Decimal megabytes, with a decimal below 10 MB so a small quick-mode file does not read "0 MB"."""
    v = nbytes / MB
    return f"{v:.1f} MB" if v < 10 else f"{v:.0f} MB"


def have_time() -> bool:
    return Path(TIME).exists()


def measure(
    name: str, cmd: Sequence[str], cwd: Path, *, capture: bool = False, env: dict[str, str] | None = None
) -> Run:
    """Run `cmd` in a fresh process under `/usr/bin/time -v`: wall time and peak RSS.

    The wall time is taken here with perf_counter around the whole `time` process (GNU time prints
    only 10 ms steps; its own fork+exec adds about a millisecond). The peak RSS is GNU time's: the
    ru_maxrss of the command's process tree, i.e. the largest single process, not the sum of workers.
    Its report goes to a file, so the command's own stderr cannot be mistaken for it.
    """
    with tempfile.NamedTemporaryFile(prefix="bench-time-", suffix=".txt") as rep:
        out = subprocess.PIPE if capture else subprocess.DEVNULL
        began = time.perf_counter()
        proc = subprocess.run(
            [TIME, "-v", "-o", rep.name, *cmd], cwd=cwd, env=env, stdout=out, stderr=subprocess.PIPE, check=False
        )
        seconds = time.perf_counter() - began
        report = Path(rep.name).read_text(errors="replace")
    rss = _RSS.search(report)
    if rss is None:
        err = proc.stderr.decode(errors="replace")[-2000:]
        raise RuntimeError(f"{name}: no /usr/bin/time report (exit {proc.returncode}):\n{report[-500:]}{err}")
    stdout = proc.stdout.decode(errors="replace") if capture else ""
    return Run(name, seconds, int(rss[1]) / 1024, proc.returncode, stdout, proc.stderr.decode(errors="replace")[-2000:])


def interleave(names: Sequence[str], rounds: int) -> list[tuple[int, str]]:
    """The run order: round 1 runs every command once in order, then round 2, … (A B C A B C …).

    Load that drifts over the minutes of a benchmark then hits every command alike instead of
    whichever happened to run last.
    """
    return [(r, n) for r in range(1, rounds + 1) for n in names]


def summarize(runs: Iterable[Run]) -> dict[str, Stats]:
    """Per command name, in first-seen order: min and median wall time, median peak RSS."""
    by_name: dict[str, list[Run]] = {}
    for r in runs:
        by_name.setdefault(r.name, []).append(r)
    return {
        name: Stats(
            name,
            len(rs),
            min(r.seconds for r in rs),
            statistics.median(r.seconds for r in rs),
            statistics.median(r.rss_mib for r in rs),
            tuple(sorted({r.exit_code for r in rs})),
        )
        for name, rs in by_name.items()
    }


def ratios(num: Stats | None, den: Stats | None) -> tuple[float, float] | None:
    """num / den wall time, from the mins and from the medians; None when either is missing."""
    if num is None or den is None or not den.min_s or not den.median_s:
        return None
    return num.min_s / den.min_s, num.median_s / den.median_s


def verdict(pair: tuple[float, float] | None, ok: Callable[[float], bool]) -> str:
    """A target judged from the min-based and the median-based figure: both must pass to call it reached."""
    if pair is None:
        return "not measured"
    passed = sum(1 for x in pair if ok(x))
    return "reached" if passed == 2 else "borderline" if passed == 1 else "not reached"


def fmt_pair(pair: tuple[float, float] | None, digits: int = 2) -> tuple[str, str]:
    if pair is None:
        return "n/a", "n/a"
    return f"{pair[0]:.{digits}f}", f"{pair[1]:.{digits}f}"


def md_table(headers: Sequence[str], rows: Iterable[Sequence[object]], right: Sequence[bool] | None = None) -> str:
    """A GitHub markdown table; `right` marks the right-aligned (numeric) columns."""
    align = right if right is not None else [False] * len(headers)
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---:" if a else "---" for a in align) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def machine() -> str:
    """uname, CPU model, cores and the Python that runs imsdiag."""
    uname = " ".join(filter(None, platform.uname()))
    return f"`{uname}`; {cpu_model()}; {os.cpu_count()} cores; Python {platform.python_version()}"


def load_average() -> str:
    try:
        return " / ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "n/a"


def utc_now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def append_results(path: Path, block: str) -> None:
    """Append a dated block to RESULTS.md (created when missing)."""
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmark results\n"
    path.write_text(text.rstrip("\n") + "\n\n" + block.strip("\n") + "\n", encoding="utf-8")


def say(text: str) -> None:
    """Progress on stdout, flushed: a long run is usually watched through a log file."""
    print(text, flush=True)
