"""The scan's notes in words: skipped files, ignored events, how year-less and zone-less stamps were read."""

from __future__ import annotations

from collections import Counter

from .correlate import Correlator
from .parsers import local_time_formats
from .result import FileStat
from .settings import ScanSettings
from .years import Dating

LOCAL_TIME_FORMATS = local_time_formats()
"""Formats that may hold zone-less local times, as the parsers declare (`Parser.local_time`)."""
"""Formats whose stamps are local time without a zone."""


def year_note(n_files: int, dating: Dating) -> str:
    """How the year-less stamps of `n_files` files were dated."""
    per_year = dating.per_year
    return f"year-less syslog stamps in {n_files} file(s) were dated " + (
        f"{dating.year}, the year of the other logs"
        if len(per_year) == 1
        else "by the year the other logs of the same days have: "
        + ", ".join(f"{y} ({n} file(s))" for y, n in sorted(per_year.items()))
    )


def scan_notes(
    corr: Correlator, stats: list[FileStat], settings: ScanSettings, year_note: str, zone_notes: list[str]
) -> tuple[str, ...]:
    """What the reader should know about how the input was read, skipped files first, times last."""
    notes = []
    skipped = [s for s in stats if s.format is None]
    if skipped:
        reasons = Counter(s.skipped_reason or "skipped" for s in skipped)
        notes.append(f"{len(skipped)} file(s) skipped: " + ", ".join(f"{n} {r}" for r, n in sorted(reasons.items())))
    if corr.events_outside_window:
        notes.append(f"{corr.events_outside_window} event(s) outside --since/--until were ignored")
    if year_note:
        notes.append(year_note)
    if settings.tz is None and any(s.format in LOCAL_TIME_FORMATS for s in stats):
        notes.append(_zone_lead(zone_notes))
    notes.extend(zone_notes)
    return tuple(notes)


def _zone_lead(zone_notes: list[str]) -> str:
    if zone_notes:
        return "local time stamps were read as UTC (no --tz given), except where a zone was inferred:"
    return "local time stamps were read as UTC (no --tz given); cross-server times may be shifted"
