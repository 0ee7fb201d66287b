"""Bursts of one group's events: split where the log goes quiet for longer than the window, and the time each spans."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from ..models import Event
from ..runs import Run


def split_by_gap(events: Sequence[Event], gap_seconds: float) -> list[list[Event]]:
    """Split time-ordered events where the gap between two exceeds `gap_seconds`; untimed ones join the first."""
    timed = sorted((e for e in events if e.time is not None), key=lambda e: e.time)  # type: ignore[arg-type,return-value]
    untimed = [e for e in events if e.time is None]
    clusters: list[list[Event]] = []
    last: datetime | None = None
    for e in timed:
        assert e.time is not None
        if last is None or (e.time - last).total_seconds() > gap_seconds:
            clusters.append([])
        clusters[-1].append(e)
        last = e.time
    if not clusters:
        return [untimed] if untimed else []
    clusters[0][:0] = untimed
    return clusters


def split_with_runs(
    events: Sequence[Event], runs: Sequence[Run], gap_seconds: float
) -> list[tuple[list[Event], list[Run]]]:
    """`split_by_gap` over events and hopless runs together; a run has no pause inside, so it moves as one block."""
    if not runs:
        return [(c, []) for c in split_by_gap(events, gap_seconds)]
    blocks: list[tuple[datetime, datetime, Event | Run]] = [(e.time, e.time, e) for e in events if e.time is not None]
    blocks += [(*r.bounds(), r) for r in runs]
    blocks.sort(key=lambda item: item[0])  # stable: events of one time stay in arrival order, as in split_by_gap
    clusters: list[tuple[list[Event], list[Run]]] = []
    last: datetime | None = None
    for start, end, item in blocks:
        if last is None or (start - last).total_seconds() > gap_seconds:
            clusters.append(([], []))
        _place(clusters[-1], item)
        last = end if last is None else max(last, end)
    clusters[0][0][:0] = [e for e in events if e.time is None]
    return clusters


def _place(cluster: tuple[list[Event], list[Run]], item: Event | Run) -> None:
    if isinstance(item, Run):
        cluster[1].append(item)
    else:
        cluster[0].append(item)


def time_span(events: Sequence[Event]) -> tuple[datetime | None, datetime | None]:
    """(earliest, latest) time of the events; (None, None) when none has a time."""
    times = [e.time for e in events if e.time is not None]
    return (min(times), max(times)) if times else (None, None)
