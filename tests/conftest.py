"""Shared test fixtures: paths to the shipped samples and to the third-party corpus beside the checkout."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from imsdiag.index import EventIndex

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "sample_logs"
NOT_LOGS = frozenset({"directory"})
"""Folders of sample_logs that hold no logs (directory exports for `imsdiag audit`): no scan scenario."""
LOG_SAMPLES = tuple(sorted(p.name for p in SAMPLES.iterdir() if p.is_dir() and p.name not in NOT_LOGS))
"""The shipped samples that hold logs (every folder of sample_logs/ but the directory exports)."""
CORPUS = Path(os.environ.get("IMSDIAG_CORPUS", ROOT.parent / "shared" / "corpus"))
SCHEMAS = CORPUS.parent / "schemas"


@pytest.fixture
def corpus() -> Path:
    """The real third-party corpus in ../shared/corpus; the test is skipped when it is absent."""
    if not CORPUS.is_dir():
        pytest.skip(f"corpus not found at {CORPUS} (set IMSDIAG_CORPUS)")
    return CORPUS


@pytest.fixture
def samples() -> Path:
    return SAMPLES


@pytest.fixture(autouse=True)
def _private_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test gets its own cache folder, so the event index never touches the user's real one."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("cache")))
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.delenv("FORCE_COLOR", raising=False)
    monkeypatch.delenv("IMSDIAG_DOCS_URL", raising=False)


_OPENED: list[EventIndex] = []


def opened_index(path: Path | None) -> EventIndex:
    """`open_index`, closed again after the test: Python 3.13 warns about an unclosed SQLite connection when it
    is collected, and `filterwarnings = error` fails whichever later test that happens in."""
    from imsdiag.index import open_index

    ix = open_index(path)
    _OPENED.append(ix)
    return ix


@pytest.fixture(autouse=True)
def _close_opened_indexes() -> Iterator[None]:
    yield
    while _OPENED:
        _OPENED.pop().close()
