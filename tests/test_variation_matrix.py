"""Variation matrix for KB Q178436: independent worlds (tests/matrix) scanned by the library, checked against truth.

Every pair of knob values is in the normal suite; a seeded random sample of full combinations runs as `slow`.
Each combo builds two worlds: the loop world (no loop for a fixed IMS build) and the same world without the loop.
Failure summary per knob value: `python -m tests.matrix.report`.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.matrix.allpairs import all_pairs, missing_pairs
from tests.matrix.check import check_clean, check_loop, scan_folder
from tests.matrix.knobs import KNOBS, Combo, combo_excluded, pair_excluded
from tests.matrix.report import SEED, allpairs_combos, random_combos
from tests.matrix.world import build_world

ALLPAIRS = allpairs_combos()
RANDOM_SAMPLE = 300
RANDOM = random_combos(RANDOM_SAMPLE)


def _ids(combo: Combo) -> str:
    return combo.id


def _loop_world(combo: Combo, folder: Path) -> None:
    truth = build_world(combo, SEED, folder)
    result = scan_folder(folder)
    failures = check_loop(result, truth) if truth.loop else check_clean(result)
    planted = f"{truth.passes} passes over {', '.join(truth.ring)}" if truth.loop else "no loop (fixed build)"
    assert not failures, f"{combo.id} [{planted}; files kept: {len(truth.files)}]:\n  " + "\n  ".join(failures)


def _clean_world(combo: Combo, folder: Path) -> None:
    build_world(combo, SEED, folder, loop=False)
    failures = check_clean(scan_folder(folder))
    assert not failures, f"{combo.id} [no loop planted]:\n  " + "\n  ".join(failures)


def test_allpairs_covers_every_allowed_pair() -> None:
    rows = [dict(c.items()) for c in ALLPAIRS]
    assert missing_pairs(rows, KNOBS, pair_excluded) == []
    assert all(combo_excluded(r) is None for r in rows)
    assert all_pairs(KNOBS, pair_excluded) == rows  # deterministic


def test_random_sample_is_allowed_and_distinct() -> None:
    assert len({c.id for c in RANDOM}) == RANDOM_SAMPLE
    assert all(combo_excluded(dict(c.items())) is None for c in RANDOM)


@pytest.mark.parametrize("combo", ALLPAIRS, ids=_ids)
def test_allpairs_loop_world(combo: Combo, tmp_path: Path) -> None:
    _loop_world(combo, tmp_path)


@pytest.mark.parametrize("combo", ALLPAIRS, ids=_ids)
def test_allpairs_clean_world(combo: Combo, tmp_path: Path) -> None:
    _clean_world(combo, tmp_path)


@pytest.mark.slow
@pytest.mark.parametrize("combo", RANDOM, ids=_ids)
def test_random_loop_world(combo: Combo, tmp_path: Path) -> None:
    _loop_world(combo, tmp_path)


@pytest.mark.slow
@pytest.mark.parametrize("combo", RANDOM, ids=_ids)
def test_random_clean_world(combo: Combo, tmp_path: Path) -> None:
    _clean_world(combo, tmp_path)


# Combinations other seeds found wrong once, kept so the fix stays: (seed of the sample, combo id).
REGRESSIONS = [
    # The relay's Received line names imc1 only as `[10.1.1.10] (helo=imc1.company.com)` and only imc1's
    # archives were read: imc1's own In\Archive copy ties the address to imc1 (2026-11-30).
    (7, "exim-5.5.1960.3-no-rdns-archive-apart-12h-lf-plain-plain-some-fast"),
]


@pytest.mark.parametrize(("seed", "combo_id"), REGRESSIONS, ids=[c for _, c in REGRESSIONS])
def test_past_failures_stay_fixed(seed: int, combo_id: str, tmp_path: Path) -> None:
    (combo,) = [c for c in random_combos(RANDOM_SAMPLE, seed) if c.id == combo_id]
    _loop_world(combo, tmp_path / "loop")
    _clean_world(combo, tmp_path / "clean")
