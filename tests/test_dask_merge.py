"""The merge `--engine dask` runs on its workers (no cluster needed): an ordered tree equals the local fold."""

from __future__ import annotations

import copy
import random
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from imsdiag import dask_tasks, loops
from imsdiag.correlate import Correlator
from imsdiag.engine import build_evidence, collect_inputs
from imsdiag.outcome import FileOutcome, new_correlator, process_file
from imsdiag.rules import RuleContext, run_rules
from imsdiag.settings import ScanSettings
from imsdiag.sources import InputFile
from tests.clirunner import cli_runner
from tests.conftest import LOG_SAMPLES, SAMPLES

SETTINGS = ScanSettings(paths=(), year_hint=1999)
"""A year given, so every file takes part in the first merge (year-less ones wait otherwise)."""


def _read(folder: Path) -> list[FileOutcome]:
    files, _ = collect_inputs(ScanSettings(paths=(str(folder),)))
    return [process_file(f, SETTINGS) for f in files]


def _fold(parts: list[Correlator]) -> Correlator:
    """What the local engine does: one correlator, every file merged into it in input order."""
    out = new_correlator(SETTINGS)
    for p in parts:
        out.merge(p)
    return out


def _tree(parts: list[Correlator], fan_in: int) -> Correlator:
    level = list(parts)
    while len(level) > 1:
        level = [dask_tasks.merge_many(SETTINGS, *level[i : i + fan_in]) for i in range(0, len(level), fan_in)]
    return level[0]


@pytest.fixture(scope="module")
def outcomes() -> list[FileOutcome]:
    """Every file of the shipped samples: IMS logs, tracking logs, archives, Postfix, Sendmail, Exim, messages."""
    return [o for name in LOG_SAMPLES for o in _read(SAMPLES / name)]


@pytest.mark.parametrize("fan_in", [2, 3, 8])
def test_an_ordered_tree_of_any_fan_in_equals_the_fold_in_input_order(outcomes: list[FileOutcome], fan_in: int) -> None:
    parts = [o.correlator for o in outcomes]
    before = copy.deepcopy(parts)
    assert _tree(parts, fan_in) == _fold(parts)
    assert parts == before  # a merge task never changes its inputs (Dask may hand them to another task)


def test_chunked_tasks_then_a_tree_equal_the_fold(outcomes: list[FileOutcome]) -> None:
    rng = random.Random(7)
    for _ in range(5):
        cuts = sorted(rng.sample(range(1, len(outcomes)), 6))
        groups = [outcomes[a:b] for a, b in zip([0, *cuts], [*cuts, len(outcomes)], strict=True)]
        parts = [dask_tasks.dated_part(g, SETTINGS) for g in groups]
        assert _tree(parts, 3) == _fold([o.correlator for o in outcomes])


def _facts(corr: Correlator) -> tuple[object, ...]:
    """What a correlator knows, without the order it learnt it in."""
    return (
        Counter(corr.candidates),
        Counter(corr.signals),
        Counter(corr.cyclic),
        Counter(corr.auto_replies),
        corr.hosts.names,
        corr.hosts.servers,
        corr.hosts.hosts,
        set(corr.hosts.joins),
        dict(corr.builds),
        corr.ims_servers,
        corr.servers,
        corr.years,
        corr.days,
        corr.spans,
        (corr.first_time, corr.last_time, corr.events_seen, corr.candidates_dropped),
    )


def _findings(corr: Correlator) -> list[tuple[object, ...]]:
    ev = build_evidence(corr, SETTINGS)
    found = run_rules(loops.detect(ev, SETTINGS.min_passes, SETTINGS.window_seconds), RuleContext.from_evidence(ev))
    return sorted((f.rule_id, f.fingerprint, f.addresses, f.hosts, f.passes) for f in found)


def test_merge_order_changes_no_fact_and_no_finding(outcomes: list[FileOutcome]) -> None:
    """Order independence, where it holds: what is known and what is found. Arrival numbers, the order of
    the kept lists and the first reason seen for a join do follow the order, hence the ordered tree."""
    parts = [o.correlator for o in outcomes]
    first = _fold(parts)
    rng = random.Random(3)
    for _ in range(3):
        shuffled = parts[:]
        rng.shuffle(shuffled)
        other = _tree(shuffled, 4)
        assert _facts(other) == _facts(first)
        assert _findings(other) == _findings(first)


def test_a_head_carries_no_candidates_and_a_yearless_head_its_days() -> None:
    outs = _read(SAMPLES / "q178436-site-connector")
    undated = ScanSettings(paths=())
    heads = dask_tasks.heads(outs, undated)
    assert [h.stat for h in heads] == [o.stat for o in outs]
    assert all(not h.correlator.candidates and not h.correlator.hosts.names for h in heads)
    yearless = [h for h in heads if dask_tasks.is_yearless(h, undated)]
    assert yearless and all(h.correlator.days for h in yearless)  # the Sendmail relay log


def test_a_file_failing_on_a_worker_is_one_counted_issue(tmp_path: Path) -> None:
    f = InputFile(display="gone.log", path=tmp_path / "gone.log", size=10)
    out = dask_tasks.failed(f, SETTINGS, "worker-lost", "every worker reading this file died")
    assert out.stat.issues == 1 and out.issue_counts == Counter({"worker-lost": 1})
    assert out.correlator == new_correlator(SETTINGS)


def test_engine_dask_without_dask_installed_exits_3_naming_the_extra() -> None:
    code = (
        "import sys; sys.modules['distributed'] = None; from imsdiag.cli import main; "
        f"main(['scan', '--no-index', '--engine', 'dask', {str(SAMPLES / 'healthy')!r}])"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 3, proc.stderr
    assert "--engine dask needs Dask" in proc.stderr and "pip install 'imsdiag[dask]'" in proc.stderr


def test_a_scheduler_is_for_the_dask_engine() -> None:
    from imsdiag.cli import cli

    result = cli_runner().invoke(
        cli, ["scan", "--no-index", "--engine", "local", "--scheduler", "tcp://127.0.0.1:1", str(SAMPLES)]
    )
    assert result.exit_code == 2 and "--scheduler" in result.output


def test_the_cli_starts_without_dask_or_fsspec() -> None:
    code = "import sys, imsdiag.cli; print(sorted(m for m in ('dask', 'distributed', 'fsspec') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
