"""The scan pipeline, end to end: sources -> parsers -> correlate -> loops -> rules -> ScanResult."""

from __future__ import annotations

import os
import time
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from . import loops as loop_detector
from . import summary, workers, years
from .correlate import Correlator
from .errors import InputError
from .evidence import Evidence, freeze
from .models import Finding, ParseIssue
from .notes import scan_notes, year_note
from .outcome import FileOutcome, RecordSink, SpanSink, Totals
from .parsers.run import ParsedFile, ProgressSink, full_records, parse_input
from .policy import Policy, Shown
from .result import FileStat, ScanContext, ScanResult
from .rules import RuleContext, rule_infos, run_rules
from .settings import ScanSettings
from .sources import InputFile, discover

if TYPE_CHECKING:
    from .audit.directory import Directory
    from .index import EventIndex

# `parse_input` and `ParsedFile` stay importable from here: explain and tools read single files the scan's way.
__all__ = [
    "ParsedFile",
    "ProgressSink",
    "build_evidence",
    "collect_inputs",
    "full_records",
    "parse_input",
    "scan",
    "with_paths",
]


def scan(
    settings: ScanSettings,
    progress: ProgressSink | None = None,
    watch: RecordSink | None = None,
    spans: SpanSink | None = None,
) -> ScanResult:
    """Run a whole scan and return the finished result (reporters only render it).

    `watch` sees every record read, as read (explain's search of the logs riding on the scan's one read);
    the files are then read in this process, without the index. `spans` is given the places of the blocks
    of the logs the fast extractors read, with `settings.keep_spans` (explain searches them after the scan).
    """
    started = time.monotonic()
    rules = rule_infos()
    policy = Policy.from_settings(settings, rules)  # a bad rule name fails before any file is read
    if settings.engine == "dask":
        from .dask_engine import require

        require()  # a missing extra fails before any file is read too
    files, walk_issues = collect_inputs(settings)
    directory = _directory(settings)  # a bad export fails before the logs are read
    index = _open_index(settings) if watch is None else None
    totals, dating, dated_note = _read(files, walk_issues, settings, index, progress, watch, spans)
    _require_evidence(totals.stats, files, settings)
    evidence = build_evidence(totals.corr, settings)
    stats = [replace(s, server=evidence.canonical(s.server) or s.server) if s.server else s for s in totals.stats]
    zone_notes = [o.note() for o in evidence.offsets]
    shown = _diagnose(evidence, settings, policy, directory)
    context = ScanContext(
        names=evidence.hosts.aliases(),
        not_hosts=tuple(sorted(evidence.hosts.not_hosts)),
        offsets=tuple((o.server, o.offset.total_seconds()) for o in evidence.offsets),
        year=dating.year,
        file_years=tuple(sorted(dating.file_years.items())),
        # Under the path as shown (what the index's records say) and the absolute one (explain may run from
        # another folder, where the logs it is given show other paths).
        year_shifts=tuple(sorted({(q, n) for p, n in dating.shifts.items() for q in (p, os.path.abspath(p))})),
    )
    # The index and the host map keep every finding, the baseline's too: explain and a new baseline need them.
    index_notes = _close_index(index, list(shown.found), stats, context)
    corr = totals.corr
    return ScanResult(
        findings=shown.findings,
        known=shown.known,
        rules=rules,
        issues=tuple(totals.examples),
        issue_counts=tuple(sorted(totals.counts.items(), key=lambda kv: (-kv[1], kv[0]))),
        files=tuple(stats),
        servers=summary.servers(evidence, stats),
        formats=summary.formats(stats),
        bytes_read=sum(s.bytes for s in stats if s.format),
        lines_read=sum(s.lines for s in stats),
        events=corr.events_seen,
        seconds=time.monotonic() - started,
        suppressed=shown.suppressed,
        filtered=shown.filtered,
        notes=scan_notes(corr, stats, settings, dated_note, zone_notes) + index_notes + _directory_note(directory),
        first_time=evidence.first_time,
        last_time=evidence.last_time,
        host_joins=summary.host_joins(evidence, shown.found),
        context=context,
    )


def collect_inputs(settings: ScanSettings) -> tuple[list[InputFile], list[ParseIssue]]:
    """Every file to read, and issues for paths that could not be walked; a missing path is an InputError."""
    files: list[InputFile] = []
    issues: list[ParseIssue] = []
    for item in discover(settings.paths, follow_links=settings.follow_links):
        if isinstance(item, InputFile):
            files.append(item)
        elif item.code == "missing-path":
            raise InputError(item.message)
        else:
            issues.append(item)
    return files, issues


def _open_index(settings: ScanSettings) -> EventIndex | None:
    if not settings.use_index or settings.engine != "local":  # workers elsewhere cannot write a local SQLite file
        return None
    from .index import open_index  # sqlite stays out of plain scans

    return open_index(Path(settings.index_path) if settings.index_path else None)


def _read(
    files: list[InputFile],
    walk_issues: list[ParseIssue],
    settings: ScanSettings,
    index: EventIndex | None,
    progress: ProgressSink | None,
    watch: RecordSink | None,
    spans: SpanSink | None = None,
) -> tuple[Totals, years.Dating, str]:
    """Every file folded into the scan totals, in input order; how year-less stamps were dated, in words too."""
    totals = Totals.start(settings, walk_issues)
    if progress:
        progress.start(len(files), sum(f.size for f in files))
    try:
        if settings.engine == "dask" and watch is None and spans is None:
            from . import dask_engine  # dask is imported only when asked for

            dating, note = dask_engine.read_all(files, settings, progress, totals)
        else:
            dating, note = _read_all(files, settings, index, progress, watch, spans, totals)
    finally:
        if progress:
            progress.stop()
    order = {f.display: i for i, f in enumerate(files)}
    totals.stats.sort(key=lambda s: order[s.path])
    return totals, dating, note


def _read_all(
    files: list[InputFile],
    settings: ScanSettings,
    index: EventIndex | None,
    progress: ProgressSink | None,
    watch: RecordSink | None,
    spans: SpanSink | None,
    totals: Totals,
) -> tuple[years.Dating, str]:
    """Read every log once; year-less ones wait for the year of the dated evidence of their days (`years.redate`).

    `spans` is given the block places of each file's final reading (`settings.keep_spans`), as it is absorbed.
    """
    held: list[FileOutcome] = []

    def absorb(outcome: FileOutcome) -> None:
        totals.absorb(outcome)
        if spans is not None:
            for placed in outcome.spans:
                spans.add_span(placed)
            if outcome.carried is not None:
                spans.add_carried(outcome.stat.path, outcome.carried)

    for outcome in workers.outcomes(files, settings, index, progress, watch):
        if settings.year_hint is None and outcome.stat.format in years.YEARLESS_FORMATS:
            held.append(outcome)
        else:
            absorb(outcome)
    dating, note = years.Dating(settings.year_hint, {}), ""
    if held and totals.corr.years:
        by_path = {f.display: f for f in files}

        def reread(again: list[InputFile], s: ScanSettings) -> list[FileOutcome]:
            # The watcher sees the records again, dated this time: they replace what it saw first.
            return list(workers.outcomes(again, s, index, None, watch))

        held, dating = years.redate(held, totals.corr, settings, reread, by_path)
        note = year_note(len(held), dating)
    for outcome in held:
        absorb(outcome)
    return dating, note


def _require_evidence(stats: list[FileStat], files: list[InputFile], settings: ScanSettings) -> None:
    """Raise InputError when nothing read was a mail log and nothing went wrong reading it."""
    if any(s.format for s in stats) or any(s.issues for s in stats):
        return
    what = ", ".join(settings.paths)
    if not files:
        raise InputError(f"no files found in {what}")
    raise InputError(f"no mail evidence found in {what}: {len(files)} file(s) read, none in a known format")


def build_evidence(corr: Correlator, settings: ScanSettings) -> Evidence:
    """One host map and one clock over everything read (the user's --tz wins over inferred zones)."""
    return freeze(corr, settings.host_aliases, settings.server_tz, infer_zones=settings.tz is None)


def _diagnose(ev: Evidence, settings: ScanSettings, policy: Policy, directory: Directory | None = None) -> Shown:
    """Loops from the evidence, findings from the loops, and the user's choice of them (the policy, applied once)."""
    loops = loop_detector.detect(ev, settings.min_passes, settings.window_seconds)
    return policy.apply(run_rules(loops, RuleContext.from_evidence(ev, directory)))


def _directory(settings: ScanSettings) -> Directory | None:
    if not settings.directory:
        return None
    from .audit.directory import load_directory  # only with --directory

    return load_directory(settings.directory)


def _directory_note(directory: Directory | None) -> tuple[str, ...]:
    if directory is None:
        return ()
    issues = f", {len(directory.issues)} parse issue(s) (imsdiag audit lists them)" if directory.issues else ""
    return (f"directory: {len(directory.mailboxes)} mailbox(es) from {', '.join(directory.paths)}{issues}",)


def _close_index(
    index: EventIndex | None, findings: list[Finding], stats: list[FileStat], context: ScanContext
) -> tuple[str, ...]:
    """Store the findings for explain, close the index, and return its warnings as notes."""
    if index is None:
        return ()
    index.store_findings(findings, [s.path for s in stats], context)
    index.close()
    # A damaged, busy or unusable index is never fatal, but the user must hear why it was rebuilt or skipped.
    return tuple(index.warnings)


def with_paths(settings: ScanSettings, paths: tuple[str, ...]) -> ScanSettings:
    """A copy of `settings` reading other paths (explain's `--logs`)."""
    return replace(settings, paths=paths)
