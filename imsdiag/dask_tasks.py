"""What runs on a Dask worker: one file's outcome, its small head for the client, and the ordered merge."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from typing import TypeVar

from . import __version__
from .correlate import Correlator
from .models import Location, ParseIssue
from .outcome import FileOutcome, new_correlator, process_file
from .result import FileStat
from .settings import ScanSettings
from .sources import InputFile
from .years import YEARLESS_FORMATS

T = TypeVar("T")

# Nothing here imports dask: the client's engine (`dask_engine`) submits these plain functions, so they are
# pickled by reference and each worker imports this module from its own installed imsdiag.


def worker_version() -> str:
    """The imsdiag version a worker runs (the client refuses a cluster that runs another one)."""
    return __version__


def given(value: T) -> T:
    """`value` as a task's result: the scheduler keeps the task, so a worker that dies holding it costs nothing."""
    return value


def parse_task(f: InputFile, settings: ScanSettings) -> FileOutcome:
    """`process_file` on a worker; whatever escapes it costs this file only, as a counted parse issue.

    The parsers already turn bad input and their own bugs into issues (`parsers.run._guarded`): this
    catches the rest (a MemoryError in the correlator, a broken fsspec driver), which locally would stop
    the scan, because one of a million files must not throw away an hour of a cluster's work.
    """
    try:
        return process_file(f, settings)
    except Exception as exc:
        return failed(f, settings, "internal-error", f"reading failed on a worker: {type(exc).__name__}: {exc}")


def failed(f: InputFile, settings: ScanSettings, code: str, message: str) -> FileOutcome:
    """The outcome of a file that could not be read at all: one counted issue, nothing correlated."""
    stat = FileStat(path=f.display, format=None, server=f.server_hint, bytes=f.size, issues=1, skipped_reason=message)
    issue = ParseIssue(Location(f.display), code, message)
    return FileOutcome(stat, new_correlator(settings), Counter({code: 1}), [issue])


def is_yearless(outcome: FileOutcome, settings: ScanSettings) -> bool:
    """Whether the scan dates this file after reading (`years.redate`): it waits outside the first merge."""
    return settings.year_hint is None and outcome.stat.format in YEARLESS_FORMATS


def parse_chunk(files: list[InputFile], settings: ScanSettings) -> list[FileOutcome]:
    """One task's files (a large file alone, small ones together), each read by `parse_task`, in input order."""
    return [parse_task(f, settings) for f in files]


def heads(outcomes: list[FileOutcome], settings: ScanSettings) -> list[FileOutcome]:
    """What the client needs of each file: its row, issue counts and examples, never its candidates.

    A year-less file's head also carries the years and days it covers (a few hundred bytes): the client
    dates it from them (`years.redate`) while its correlator stays on the worker.
    """
    out = []
    for o in outcomes:
        light = new_correlator(settings)
        if is_yearless(o, settings):
            light.years = dict(o.correlator.years)
            light.days = {md: dict(per_year) for md, per_year in o.correlator.days.items()}
        out.append(replace(o, correlator=light))
    return out


def dated_part(outcomes: list[FileOutcome], settings: ScanSettings) -> Correlator:
    """The task's dated files folded in input order; a year-less file waits for its year (`correlator_of`)."""
    return merge_many(settings, *(o.correlator for o in outcomes if not is_yearless(o, settings)))


def correlator_of(outcomes: list[FileOutcome], j: int) -> Correlator:
    """The task's `j`th file's correlator as read (a year-less file kept in the year it was read with)."""
    return outcomes[j].correlator


def shifted(outcomes: list[FileOutcome], j: int, delta: int) -> Correlator:
    """A year-less file's correlator moved `delta` years (`Correlator.shifted_years`, as `years.redate` decided)."""
    return outcomes[j].correlator.shifted_years(delta)


def merge_many(settings: ScanSettings, *parts: Correlator) -> Correlator:
    """Neighbouring parts folded in input order into a fresh correlator (the inputs may be reused: never mutated).

    `Correlator.merge` is associative but not order-independent (arrival numbers, the order of kept
    lists, the first reason seen for a host join), so a tree that only ever merges neighbours, left
    to right, gives exactly what the local engine's one fold in input order gives.
    """
    out = new_correlator(settings)
    for part in parts:
        out.merge(part)
    return out
