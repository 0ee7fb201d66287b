"""The benchmark helpers' pure parts: run order, min/median, ratios, verdicts, tables; nothing is timed."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

BENCHKIT = Path(__file__).resolve().parents[2] / "benchmarks" / "benchkit.py"


@pytest.fixture(scope="module")
def bk() -> ModuleType:
    # benchmarks/ is a folder of scripts, not a package: load the helper module from its file.
    spec = importlib.util.spec_from_file_location("benchkit", BENCHKIT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("benchkit", module)  # dataclasses look their module up while being built
    spec.loader.exec_module(module)
    return module


def test_interleave_runs_every_command_once_per_round_in_order(bk: ModuleType) -> None:
    order = bk.interleave(["A", "B", "C"], 3)
    assert [n for _, n in order] == ["A", "B", "C"] * 3
    assert [r for r, _ in order] == [1, 1, 1, 2, 2, 2, 3, 3, 3]
    assert bk.interleave(["A"], 0) == []


def test_summarize_takes_min_and_median_per_command(bk: ModuleType) -> None:
    runs = [
        bk.Run("scan", 3.0, 40.0, 0),
        bk.Run("loop", 0.2, 10.0, 0),
        bk.Run("scan", 1.0, 42.0, 1),
        bk.Run("scan", 2.0, 41.0, 0),
        bk.Run("loop", 0.4, 12.0, 0),
    ]
    stats = bk.summarize(runs)
    assert list(stats) == ["scan", "loop"]  # first-seen order
    scan = stats["scan"]
    assert (scan.runs, scan.min_s, scan.median_s, scan.median_rss_mib) == (3, 1.0, 2.0, 41.0)
    assert scan.exit_codes == (0, 1)
    assert stats["loop"].median_s == pytest.approx(0.3)  # an even count: the mean of the middle two
    assert scan.mb_s(10_000_000) == pytest.approx(10.0)  # throughput at the fastest run


def test_ratios_from_mins_and_from_medians(bk: ModuleType) -> None:
    stats = bk.summarize([bk.Run("a", s, 1.0, 0) for s in (4.0, 6.0)] + [bk.Run("b", s, 1.0, 0) for s in (1.0, 3.0)])
    assert bk.ratios(stats["a"], stats["b"]) == (4.0, 2.5)
    assert bk.ratios(stats["a"], None) is None
    assert bk.fmt_pair((4.0, 2.5)) == ("4.00", "2.50")
    assert bk.fmt_pair(None) == ("n/a", "n/a")


def test_verdict_needs_both_figures(bk: ModuleType) -> None:
    def at_least_3(x: float) -> bool:
        return x >= 3

    assert bk.verdict((3.2, 3.0), at_least_3) == "reached"
    assert bk.verdict((3.2, 2.9), at_least_3) == "borderline"
    assert bk.verdict((1.0, 0.9), at_least_3) == "not reached"
    assert bk.verdict(None, at_least_3) == "not measured"


def test_md_table_aligns_numeric_columns(bk: ModuleType) -> None:
    text = bk.md_table(["name", "s"], [["scan", "1.50"], ["loop", 0.2]], [False, True])
    assert text.splitlines() == ["| name | s |", "|---|---:|", "| scan | 1.50 |", "| loop | 0.2 |"]


def test_sizes_and_megabytes(bk: ModuleType) -> None:
    assert bk.parse_size("100M") == 100 << 20
    assert bk.parse_size("1g") == 1 << 30
    assert bk.parse_size("512KB") == 512 << 10
    assert bk.parse_size("1234") == 1234
    assert bk.mb(354_116) == "0.4 MB"
    assert bk.mb(104_995_394) == "105 MB"
