"""The year of year-less syslog stamps: guessed from the dated logs, then settled per file by the days it covers."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace

from .correlate import Correlator
from .models import Event
from .outcome import FileOutcome
from .parsers import yearless_formats
from .parsers.run import parse_input
from .settings import ScanSettings
from .sources import InputFile

YEARLESS_FORMATS = yearless_formats()
"""Formats whose BSD syslog stamps carry no year, as the parsers declare (`Parser.yearless_stamps`)."""

Reread = Callable[[list[InputFile], ScanSettings], Iterable[FileOutcome]]
"""Reads files again under other settings (the scan's own way of reading, index and workers included)."""


@dataclass(frozen=True)
class Dating:
    """How year-less stamps were dated: the year most such files got, and each file's."""

    year: int | None
    file_years: dict[str, int]

    @property
    def per_year(self) -> Counter[int]:
        """How many year-less files got each year."""
        return Counter(self.file_years.values())


def first_year(files: list[InputFile], settings: ScanSettings, tries: int = 20) -> int | None:
    """The latest year among the first time stamps of up to `tries` dated files (a cheap look ahead).

    Year-less syslog stamps take their year from the other logs of the bundle (a fresh copy of a 1999
    relay log has this year's mtime and would miss every loop). Guessing it from the first stamps of the
    dated files lets every file be parsed at once; only a wrong guess is read again (`redate`).
    """
    years: list[int] = []
    for f in files:
        if tries <= 0:
            break
        if f.path is None:
            continue  # standard input can be read only once: the real parse needs it
        parsed = parse_input(f, settings)
        records = parsed.records
        try:
            if parsed.format is None or parsed.format in YEARLESS_FORMATS:
                continue
            tries -= 1
            year = next((rec.time.year for rec in records if isinstance(rec, Event) and rec.time is not None), None)
            if year is not None:
                years.append(year)
        finally:
            close = getattr(records, "close", None)
            if close is not None:
                close()
    return max(years) if years else None


def redate(
    held: list[FileOutcome],
    corr: Correlator,
    guess: int | None,
    settings: ScanSettings,
    reread: Reread,
    by_path: dict[str, InputFile],
) -> tuple[list[FileOutcome], Dating]:
    """Give each year-less log the year of the dated evidence of its days; re-read those parsed with another."""
    file_years: dict[str, int] = {}
    for o in held:
        year = corr.year_for(o.correlator.days) or guess
        if year is not None:
            file_years[o.stat.path] = year
    out: list[FileOutcome] = []
    redo: dict[int, list[InputFile]] = {}
    for o in held:
        year = file_years.get(o.stat.path)
        if year is None or year == guess:
            out.append(o)
        else:
            redo.setdefault(year, []).append(by_path[o.stat.path])
    for year, files in sorted(redo.items()):
        out += reread(files, replace(settings, year_hint=year))
    order = {o.stat.path: i for i, o in enumerate(held)}
    out.sort(key=lambda o: order[o.stat.path])
    per_year = Counter(file_years.values())
    used = max(per_year, key=lambda y: (per_year[y], -y))  # a tie goes to the earlier year, as before
    return out, Dating(used, file_years)
