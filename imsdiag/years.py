"""The year of year-less syslog stamps: settled per file by the dated evidence of the days it covers."""

from __future__ import annotations

import calendar
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import timezone, tzinfo

from .correlate import Correlator
from .outcome import FileOutcome
from .parsers import yearless_formats
from .settings import ScanSettings
from .sources import InputFile

YEARLESS_FORMATS = yearless_formats()
"""Formats whose BSD syslog stamps carry no year, as the parsers declare (`Parser.yearless_stamps`)."""

Reread = Callable[[list[InputFile], ScanSettings], Iterable[FileOutcome]]
"""Reads files again under other settings (the scan's own way of reading, index and workers included)."""


@dataclass(frozen=True)
class Dating:
    """How year-less stamps were dated: the year most such files got, each file's, and those moved in memory."""

    year: int | None
    file_years: dict[str, int]
    shifts: dict[str, int] = field(default_factory=dict)
    """Path -> years its events were moved after reading (explain moves the index's copy the same way)."""

    @property
    def per_year(self) -> Counter[int]:
        """How many year-less files got each year."""
        return Counter(self.file_years.values())


def redate(
    held: list[FileOutcome],
    corr: Correlator,
    settings: ScanSettings,
    reread: Reread,
    by_path: dict[str, InputFile],
) -> tuple[list[FileOutcome], Dating]:
    """Give each year-less log the year of the dated evidence of its days.

    A log parsed with another year is moved there in memory (`Correlator.shifted_years`): no second
    read. It is read again only where moving could differ from reading: `--since`/`--until` (they filter
    while reading), a zone with summer time, stamps from 28 February to 1 March moved between a leap year and
    another (29 February exists in one only, and a local stamp near midnight there falls on another UTC
    day), or stamps that carried a year.
    """
    file_years: dict[str, int] = {}
    shifts: dict[str, int] = {}
    out: list[FileOutcome] = []
    redo: dict[int, list[InputFile]] = {}
    movable = settings.since is None and settings.until is None and _fixed_zones(settings)
    for o in held:
        base = min(o.correlator.years) if o.correlator.years else None
        year = corr.year_for(o.correlator.days) or base
        if year is not None:
            file_years[o.stat.path] = year
        if year is None or base is None or year == base:
            out.append(o)
        elif movable and _moves_as_read(o, year - base):
            out.append(replace(o, correlator=o.correlator.shifted_years(year - base)))
            shifts[o.stat.path] = year - base
        else:
            redo.setdefault(year, []).append(by_path[o.stat.path])
    for year, files in sorted(redo.items()):
        out += reread(files, replace(settings, year_hint=year))
    order = {o.stat.path: i for i, o in enumerate(held)}
    out.sort(key=lambda o: order[o.stat.path])
    return out, Dating(_most_used(file_years), file_years, shifts)


def _moves_as_read(o: FileOutcome, delta: int) -> bool:
    """Whether moving the log by `delta` years gives what reading it in that year would: no stamp carried a
    year, and no 28 February to 1 March stamp crosses between a leap year and another."""
    return not o.dated_stamps and (not o.leap_window_stamps or _same_leap_days(o.correlator.years, delta))


def _most_used(file_years: dict[str, int]) -> int | None:
    """The year most year-less logs got; a tie goes to the earlier year."""
    per_year = Counter(file_years.values())
    return max(per_year, key=lambda y: (per_year[y], -y)) if per_year else None


def _fixed_zones(settings: ScanSettings) -> bool:
    """Whether every zone a local stamp may be read in keeps one offset all year (UTC, `+02:00`)."""
    zones = [settings.tz or timezone.utc, *(z for _, z in settings.server_tz)]
    return all(_fixed(z) for z in zones)


def _fixed(zone: tzinfo) -> bool:
    # Only a plain offset is sure to be the same in every year; a named zone may have moved its offset.
    return isinstance(zone, timezone)


def _same_leap_days(years: Iterable[int], delta: int) -> bool:
    """Moving by `delta` years keeps every date: no 29 February appears or disappears."""
    return all(calendar.isleap(y) == calendar.isleap(y + delta) for y in years)
