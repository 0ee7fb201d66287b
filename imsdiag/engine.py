"""The scan pipeline, end to end: sources -> parsers -> correlate -> loops -> rules -> ScanResult."""

from __future__ import annotations

import lzma
import os
import signal
import sys
import threading
import time
import zlib
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, BinaryIO, Protocol

from . import loops as loop_detector
from .correlate import Correlator
from .errors import ConfigError, InputError
from .evidence import Evidence, freeze
from .models import Event, Finding, Location, ParseIssue, Severity
from .parsers import ParseContext, Parser, Record, by_name, detect
from .parsers.base import NUL_FIRST, NUL_LINES, looks_binary
from .result import ISSUE_EXAMPLES, FileStat, FormatStat, ScanContext, ScanResult, ServerInfo
from .rules import Rule, RuleContext, all_rules, apply_rules, get_rule
from .settings import ScanSettings, max_jobs
from .sources import InputFile, discover, open_input, read_error_code, read_head, size_change

_READ_ERRORS = (OSError, EOFError, lzma.LZMAError, zlib.error)


class ProgressSink(Protocol):
    """What the engine tells a progress display (see `imsdiag.progress`)."""

    def start(self, total_files: int, total_bytes: int) -> None: ...
    def file_started(self, display: str) -> None: ...
    def advance(self, nbytes: int) -> None: ...
    def file_done(self) -> None: ...
    def stop(self) -> None: ...


@dataclass
class ParsedFile:
    """A file opened and recognised; `records` streams its Events and ParseIssues."""

    file: InputFile
    format: str | None = None
    compression: str | None = None
    skipped_reason: str | None = None
    records: Iterator[Record] = field(default_factory=lambda: iter(()))
    counters: dict[str, int] = field(default_factory=dict)
    """Filled while `records` is consumed (`lines`, `ignored`, ...)."""
    position: Callable[[], int] = field(default=lambda: 0)
    """Bytes of the file on disk read so far (drives progress inside one large file)."""


YEARLESS_FORMATS = frozenset({"postfix", "sendmail"})
"""Formats whose BSD syslog stamps carry no year."""


def make_context(f: InputFile, settings: ScanSettings) -> ParseContext:
    """The ParseContext for one file: display path, server hint, zones, year for year-less stamps."""
    year = settings.year_hint or (
        datetime.fromtimestamp(f.mtime, timezone.utc).year if f.mtime else datetime.now(timezone.utc).year
    )
    return ParseContext(
        path=f.display,
        server_hint=f.server_hint,
        server_hint_source="path" if f.server_hint else None,
        default_tz=settings.tz or timezone.utc,
        tz_assumed=settings.tz is None,
        server_tz=dict(settings.server_tz),
        year_hint=year,
        file_mtime=datetime.fromtimestamp(f.mtime, timezone.utc) if f.mtime else None,
    )


def parse_input(f: InputFile, settings: ScanSettings) -> ParsedFile:
    """Open, decompress and sniff one input; never raises for bad input (issues come out of `records`)."""
    pf = ParsedFile(file=f)
    loc = Location(f.display)
    try:
        raw, pf.compression, pf.position = open_input(f)
    except OSError as exc:
        pf.skipped_reason = f"cannot open: {exc.strerror or exc}"
        pf.records = iter([ParseIssue(loc, "unreadable-file", pf.skipped_reason)])
        return pf
    try:
        head, stream = read_head(raw)
    except _READ_ERRORS as exc:
        raw.close()
        code = read_error_code(exc, pf.compression)
        pf.skipped_reason = f"{code}: {exc}"
        pf.records = iter([ParseIssue(loc, code, f"cannot read the start of the file: {exc}")])
        return pf
    if not head:
        stream.close()
        pf.skipped_reason = "empty file"
        return pf
    parser: Parser | None
    if settings.log_format:
        parser = by_name(settings.log_format)
    else:
        parser, _score = detect(head, f.display)
    if parser is None:
        stream.close()
        pf.skipped_reason = "binary content, not a mail log" if looks_binary(head) else "not a recognised mail log"
        return pf
    pf.format = parser.name
    ctx = make_context(f, settings)
    pf.counters = ctx.counters
    pf.records = _guarded(parser, stream, ctx, pf.compression, f)
    return pf


def _guarded(
    parser: Parser, stream: BinaryIO, ctx: ParseContext, compression: str | None, f: InputFile | None = None
) -> Iterator[Record]:
    """Run a parser, passing its issues through, turning read errors and parser bugs into ParseIssues."""
    try:
        for rec in parser.parse(stream, ctx):
            if ctx.issues:
                yield from ctx.issues
                ctx.issues.clear()
            yield rec
        yield from ctx.issues
        ctx.issues.clear()
        nul_lines = ctx.counters.get(NUL_LINES, 0)
        if nul_lines:
            first = ctx.counters.get(NUL_FIRST, 0)
            yield ParseIssue(ctx.loc(first), "nul-bytes", f"{nul_lines} line(s) held NUL bytes, shown as U+FFFD")
        changed = size_change(f) if f is not None else None
        if changed is not None:
            yield ParseIssue(Location(f.display if f else ctx.path), "file-changed", changed)
    except _READ_ERRORS as exc:
        yield from ctx.issues
        ctx.issues.clear()
        code = read_error_code(exc, compression)
        line = ctx.counters.get("lines", 0)
        yield ParseIssue(ctx.loc(line), code, f"reading stopped after line {line}: {exc}")
    except RecursionError as exc:  # pathological nesting in a message: report, keep scanning
        yield ParseIssue(ctx.loc(ctx.counters.get("lines", 0)), "too-deep", f"input nested too deeply: {exc}")
    except Exception as exc:  # a parser bug must cost one file, not the whole scan
        yield ParseIssue(
            ctx.loc(ctx.counters.get("lines", 0)),
            "internal-error",
            f"{parser.name} parser failed: {type(exc).__name__}: {exc} (please report this with the file)",
        )
    finally:
        stream.close()


@dataclass
class FileOutcome:
    """Everything one file contributed (picklable, so `--jobs` workers can return it)."""

    stat: FileStat
    correlator: Correlator
    issue_counts: Counter[str]
    issue_examples: list[ParseIssue]
    events: list[Event] | None = None
    index_warnings: tuple[str, ...] = ()
    """What a `--jobs` worker's own index connection had to say: the parent shows it with its own."""


def _new_correlator(settings: ScanSettings) -> Correlator:
    return Correlator(
        min_repeat=settings.min_passes,
        since=settings.since,
        until=settings.until,
        window_seconds=settings.window_seconds,
    )


def _consume(pf: ParsedFile, settings: ScanSettings, keep_events: bool, sink: Any = None) -> FileOutcome:
    corr = _new_correlator(settings)
    counts: Counter[str] = Counter()
    examples: list[ParseIssue] = []
    kept: list[Event] | None = [] if keep_events else None
    servers: Counter[str] = Counter()
    n_events = 0
    for rec in pf.records:
        if sink is not None:
            sink.add(rec)
        if isinstance(rec, Event):
            n_events += 1
            corr.add(rec)
            if rec.server:
                servers[rec.server] += 1
            if kept is not None:
                kept.append(rec)
        else:
            counts[rec.code] += 1
            if counts[rec.code] <= ISSUE_EXAMPLES:
                examples.append(rec)
    f = pf.file
    corr.hosts.learn_file(f.server_hint, servers)
    stat = FileStat(
        path=f.display,
        format=pf.format,
        server=servers.most_common(1)[0][0] if servers else f.server_hint,
        compression=pf.compression,
        bytes=f.size,
        lines=pf.counters.get("lines", 0),
        events=n_events,
        issues=sum(counts.values()),
        skipped_reason=pf.skipped_reason if pf.format is None else None,
    )
    return FileOutcome(stat, corr, counts, examples, kept)


class _Ticker:
    """Moves the progress bar while one file is read, from the file's position on disk."""

    EVERY = 512
    """Records between two position checks: cheap, and a few hundred KB of log at most."""

    def __init__(self, progress: ProgressSink) -> None:
        self.progress = progress
        self.advanced = 0

    def wrap(self, pf: ParsedFile) -> None:
        pf.records = self._ticking(pf.records, pf.position)

    def _ticking(self, records: Iterator[Record], position: Callable[[], int]) -> Iterator[Record]:
        for n, rec in enumerate(records, 1):
            if n % self.EVERY == 0:
                pos = position()
                if pos > self.advanced:
                    self.progress.advance(pos - self.advanced)
                    self.advanced = pos
            yield rec


_WORKER_INDEX: dict[str | None, Any] = {}


def process_file(
    f: InputFile, settings: ScanSettings, keep_events: bool = False, ticker: _Ticker | None = None
) -> FileOutcome:
    """Parse one file completely and keep what correlation needs (the unit of work for `--jobs`).

    With the index on, a worker process opens its own connection once and reuses it; SQLite's
    WAL mode serialises the writers, one transaction per file.
    """
    if settings.use_index and f.path is not None and not keep_events:
        index = _WORKER_INDEX.get(settings.index_path)
        if index is None:
            from .index import open_index

            index = open_index(Path(settings.index_path) if settings.index_path else None)
            _WORKER_INDEX[settings.index_path] = index
        out = _indexed(f, settings, index, ticker)
        if index.warnings:  # a worker's warnings would die with it: they travel with the outcome
            out.index_warnings = tuple(index.warnings)
            index.warnings.clear()
        return out
    pf = parse_input(f, settings)
    if ticker is not None:
        ticker.wrap(pf)
    return _consume(pf, settings, keep_events)


def parse_key(f: InputFile, settings: ScanSettings) -> str:
    """The settings that change what a parser makes of a file's bytes, for the index to compare."""
    ctx = make_context(f, settings)
    zones = ",".join(f"{k}={v}" for k, v in sorted((k, str(v)) for k, v in ctx.server_tz.items()))
    return (
        f"tz={ctx.default_tz};assumed={ctx.tz_assumed};server_tz={zones};year={ctx.year_hint};fmt={settings.log_format}"
    )


def _indexed(f: InputFile, settings: ScanSettings, index: Any, ticker: _Ticker | None = None) -> FileOutcome:
    """Process a file through the index: replay cached records, or parse and store them."""
    key = parse_key(f, settings)
    # `reparse`: should the database fail half way through the replay, the parser gives the rest of the file.
    cached = index.cached_file(f, key, lambda: parse_input(f, settings).records) if f.path is not None else None
    if cached is not None:
        pf = ParsedFile(file=f, format=cached.format, compression=cached.compression, records=cached.records())
        pf.counters = dict(cached.counters)
        return _consume(pf, settings, keep_events=False)
    pf = parse_input(f, settings)
    if ticker is not None:
        ticker.wrap(pf)
    if f.path is None:
        return _consume(pf, settings, keep_events=False)
    writer = index.begin_file(f, pf.format, pf.compression, key)
    try:
        out = _consume(pf, settings, keep_events=False, sink=writer)
    except BaseException:
        writer.abort()
        raise
    writer.commit(pf.counters)
    return out


def enabled_rules(settings: ScanSettings) -> list[type[Rule]]:
    """Rules after `--select` and `--ignore` (ids or slugs); unknown names are a ConfigError."""
    try:
        chosen = [get_rule(k) for k in settings.select] if settings.select else all_rules()
        ignored = {get_rule(k) for k in settings.ignore}
    except KeyError as exc:
        raise ConfigError(str(exc.args[0])) from None
    return [r for r in chosen if r not in ignored]


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


def scan(settings: ScanSettings, progress: ProgressSink | None = None) -> ScanResult:
    """Run a whole scan and return the finished result (reporters only render it)."""
    started = time.monotonic()
    rules = enabled_rules(settings)
    files, walk_issues = collect_inputs(settings)
    corr = _new_correlator(settings)
    counts: Counter[str] = Counter(i.code for i in walk_issues)
    examples: list[ParseIssue] = list(walk_issues[:ISSUE_EXAMPLES])
    stats: list[FileStat] = []
    index = None
    if settings.use_index:
        from .index import open_index  # sqlite stays out of plain scans

        index = open_index(Path(settings.index_path) if settings.index_path else None)
    order = {f.display: i for i, f in enumerate(files)}
    year_note = ""
    year_used: int | None = settings.year_hint
    file_years: dict[str, int] = {}
    guess: int | None = settings.year_hint
    if guess is None:
        # Year-less syslog stamps take their year from the other logs of the bundle (a fresh copy of
        # a 1999 relay log has this year's mtime and would miss every loop). Guess it from the first
        # stamps of the dated files so every file can be parsed at once; re-read only on a wrong guess.
        guess = _first_year(files, settings)
    parse_settings = replace(settings, year_hint=guess) if guess is not None else settings
    by_path = {f.display: f for f in files}
    held: list[FileOutcome] = []
    if progress:
        progress.start(len(files), sum(f.size for f in files))
    try:
        for outcome in _outcomes(files, parse_settings, index, progress):
            if settings.year_hint is None and outcome.stat.format in YEARLESS_FORMATS:
                held.append(outcome)
            else:
                _absorb(outcome, corr, stats, counts, examples)
        if held and corr.years:
            held, file_years = _redate(held, corr, guess, settings, index, by_path)
            per_year = Counter(file_years.values())
            year_used = max(per_year, key=lambda y: (per_year[y], -y))  # a tie goes to the earlier year, as before
            year_note = f"year-less syslog stamps in {len(held)} file(s) were dated " + (
                f"{year_used}, the year of the other logs"
                if len(per_year) == 1
                else "by the year the other logs of the same days have: "
                + ", ".join(f"{y} ({n} file(s))" for y, n in sorted(per_year.items()))
            )
        for outcome in held:
            _absorb(outcome, corr, stats, counts, examples)
    finally:
        if progress:
            progress.stop()
    stats.sort(key=lambda s: order[s.path])
    if not any(s.format for s in stats) and not any(s.issues for s in stats):
        what = ", ".join(settings.paths)
        if not files:
            raise InputError(f"no files found in {what}")
        raise InputError(f"no mail evidence found in {what}: {len(files)} file(s) read, none in a known format")
    evidence = build_evidence(corr, settings)
    stats = [replace(s, server=evidence.canonical(s.server) or s.server) if s.server else s for s in stats]
    zone_notes = [o.note() for o in evidence.offsets]
    findings, suppressed, filtered = _diagnose(evidence, settings, rules)
    context = ScanContext(
        names=evidence.hosts.aliases(),
        not_hosts=tuple(sorted(evidence.hosts.not_hosts)),
        offsets=tuple((o.server, o.offset.total_seconds()) for o in evidence.offsets),
        year=year_used,
        file_years=tuple(sorted(file_years.items())),
    )
    if index is not None:
        index.store_findings(findings, [s.path for s in stats], context)
        index.close()
        # A damaged, busy or unusable index is never fatal, but the user must hear why it was rebuilt or skipped.
        index_notes = tuple(index.warnings)
    else:
        index_notes = ()
    return ScanResult(
        findings=tuple(findings),
        issues=tuple(examples),
        issue_counts=tuple(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))),
        files=tuple(stats),
        servers=_servers(evidence, stats),
        formats=_formats(stats),
        bytes_read=sum(s.bytes for s in stats if s.format),
        lines_read=sum(s.lines for s in stats),
        events=corr.events_seen,
        seconds=time.monotonic() - started,
        suppressed=suppressed,
        filtered=filtered,
        notes=_notes(corr, stats, settings, year_note, zone_notes) + index_notes,
        first_time=evidence.first_time,
        last_time=evidence.last_time,
        host_joins=_host_joins(evidence, findings),
        context=context,
    )


def _absorb(
    outcome: FileOutcome,
    corr: Correlator,
    stats: list[FileStat],
    counts: Counter[str],
    examples: list[ParseIssue],
) -> None:
    """Fold one file's outcome into the scan totals."""
    stats.append(outcome.stat)
    corr.merge(outcome.correlator)
    for code, n in outcome.issue_counts.items():
        counts[code] += n
    for ex in outcome.issue_examples:
        if sum(1 for e in examples if e.code == ex.code) < ISSUE_EXAMPLES:
            examples.append(ex)


def _redate(
    held: list[FileOutcome],
    corr: Correlator,
    guess: int | None,
    settings: ScanSettings,
    index: Any,
    by_path: dict[str, InputFile],
) -> tuple[list[FileOutcome], dict[str, int]]:
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
        out += _outcomes(files, replace(settings, year_hint=year), index, None)
    order = {o.stat.path: i for i, o in enumerate(held)}
    out.sort(key=lambda o: order[o.stat.path])
    return out, file_years


def _first_year(files: list[InputFile], settings: ScanSettings, tries: int = 20) -> int | None:
    """The latest year among the first time stamps of up to `tries` dated files (a cheap look ahead)."""
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
            for rec in records:
                if isinstance(rec, Event) and rec.time is not None:
                    years.append(rec.time.year)
                    break
        finally:
            close = getattr(records, "close", None)
            if close is not None:
                close()
    return max(years) if years else None


def _outcomes(
    files: list[InputFile], settings: ScanSettings, index: Any, progress: ProgressSink | None
) -> Iterator[FileOutcome]:
    """Per-file outcomes in input order: in this process, or in `settings.jobs` worker processes."""
    parallel = settings.jobs > 1 and sum(1 for f in files if f.path is not None) > 1
    if not parallel:
        for f in files:
            ticker = _Ticker(progress) if progress else None
            if progress:
                progress.file_started(f.display)
            yield (
                _indexed(f, settings, index, ticker) if index is not None else process_file(f, settings, ticker=ticker)
            )
            if progress and ticker is not None:
                progress.advance(max(0, f.size - ticker.advanced))
                progress.file_done()
        return
    # Small files travel in chunks (an archive folder holds thousands of 2 KB messages, and one task
    # per file cost more in pickling than in parsing); largest chunks first keeps both workers busy
    # to the end; results are merged in input order, so the report does not depend on scheduling.
    chunks = _chunks(files)
    order = sorted(range(len(chunks)), key=lambda c: -sum(files[i].size for i in chunks[c]))
    # Never more processes than there is work for, nor than the machine can take (a config may ask for 100000).
    n_workers = max(1, min(settings.jobs, max_jobs(), len(chunks)))
    pool = ProcessPoolExecutor(max_workers=n_workers, initializer=_worker_init, initargs=(os.getpid(),))
    try:
        futures = {c: pool.submit(process_chunk, [files[i] for i in chunks[c]], settings) for c in order}
        for c, members in enumerate(chunks):
            for i, outcome in zip(members, futures[c].result(), strict=True):
                for warning in outcome.index_warnings if index is not None else ():
                    index.warn(warning)
                if progress:
                    progress.file_started(files[i].display)
                yield outcome
                if progress:
                    progress.advance(files[i].size)
                    progress.file_done()
    except BaseException:
        # Ctrl-C (or a consumer that stops early): drop the queued work and stop the workers now,
        # rather than letting `shutdown(wait=True)` run every queued chunk to the end first.
        workers = list((getattr(pool, "_processes", None) or {}).values())
        pool.shutdown(wait=False, cancel_futures=True)
        for proc in workers:
            proc.terminate()
        _forget_manager(pool)
        raise
    pool.shutdown()


def _forget_manager(pool: ProcessPoolExecutor) -> None:
    """After Ctrl-C: let the pool's manager thread end, and keep the interpreter's exit hook off it.

    On Python 3.11 that hook may write to the manager's wake-up pipe after the manager closed it and print an
    `OSError: Bad file descriptor` traceback under the one-line "interrupted" (seen under load).
    """
    manager = getattr(pool, "_executor_manager_thread", None)
    if manager is None:
        return
    manager.join(timeout=0.5)
    from concurrent.futures import process

    wakeups = getattr(process, "_threads_wakeups", None)
    if isinstance(wakeups, dict) and not manager.is_alive():
        wakeups.pop(manager, None)


def _worker_init(parent: int | None = None) -> None:
    """Workers ignore Ctrl-C (the parent stops them, so the terminal shows no worker tracebacks) and die
    with their parent: a parent killed with SIGKILL or SIGTERM must not leave workers parsing on."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if parent is None:
        return
    if not _die_with_parent():
        threading.Thread(target=_watch_parent, args=(parent,), daemon=True, name="imsdiag-parent-watch").start()
    if os.getppid() != parent:  # the parent died before this worker got here
        os._exit(1)


def _die_with_parent() -> bool:
    """Ask Linux to send SIGKILL to this process when its parent dies (prctl PR_SET_PDEATHSIG)."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        return int(libc.prctl(1, int(signal.SIGKILL), 0, 0, 0)) == 0  # 1 = PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return False


def _watch_parent(parent: int) -> None:
    """Elsewhere: notice the parent is gone (we were re-parented) and leave at once."""
    while os.getppid() == parent:
        time.sleep(1.0)
    os._exit(1)


CHUNK_BYTES = 8 << 20
CHUNK_FILES = 512


def _chunks(files: list[InputFile]) -> list[list[int]]:
    """Contiguous runs of input indices (input order) of at most CHUNK_BYTES or CHUNK_FILES each."""
    chunks: list[list[int]] = []
    size = 0
    for i, f in enumerate(files):
        if not chunks or size + f.size > CHUNK_BYTES or len(chunks[-1]) >= CHUNK_FILES:
            chunks.append([])
            size = 0
        chunks[-1].append(i)
        size += f.size
    return chunks


def process_chunk(files: list[InputFile], settings: ScanSettings) -> list[FileOutcome]:
    """`process_file` for consecutive files; their correlators are merged into the first one's.

    Merging in input order here and then in the parent gives the same result as merging every
    file in the parent, and the small files' outcomes cross the process boundary nearly empty.
    Year-less logs keep their own correlator: the scan may re-read them with another year, and
    what their first reading gave must then be dropped, not found merged into a neighbour.
    """
    outcomes = [process_file(f, settings) for f in files]
    dated = [o for o in outcomes if o.stat.format not in YEARLESS_FORMATS]
    for o in dated[1:]:
        dated[0].correlator.merge(o.correlator)
        o.correlator = _new_correlator(settings)
    return outcomes


def build_evidence(corr: Correlator, settings: ScanSettings) -> Evidence:
    """One host map and one clock over everything read (the user's --tz wins over inferred zones)."""
    return freeze(corr, settings.host_aliases, settings.server_tz, infer_zones=settings.tz is None)


def _diagnose(ev: Evidence, settings: ScanSettings, rules: list[type[Rule]]) -> tuple[list[Finding], int, int]:
    loops = loop_detector.detect(ev, settings.min_passes, settings.window_seconds)
    ctx = RuleContext.from_evidence(ev)
    overrides: dict[str, Severity] = {}
    for key, sev in settings.severity_overrides:
        try:
            overrides[get_rule(key).id] = sev
        except KeyError as exc:
            raise ConfigError(str(exc.args[0])) from None
    findings, filtered = apply_rules(loops, ctx, rules, overrides)
    kept = [f for f in findings if f.fingerprint not in settings.baseline]
    return kept, len(findings) - len(kept), filtered


def _servers(ev: Evidence, stats: list[FileStat]) -> tuple[ServerInfo, ...]:
    """One row per machine whose logs were read, under its canonical name."""
    formats: dict[str, set[str]] = {}
    for s in stats:
        if s.server and s.format:
            formats.setdefault(ev.canonical(s.server) or s.server, set()).add(s.format)
    out = []
    for name, source in sorted(ev.servers.items()):
        out.append(
            ServerInfo(
                name=name,
                name_source=source,
                builds=tuple(sorted(ev.builds.get(name, ()))),
                software=tuple(sorted(ev.software.get(name, ()))),
                formats=tuple(sorted(formats.get(name, ()))),
            )
        )
    return tuple(out)


def _host_joins(ev: Evidence, findings: list[Finding]) -> tuple[tuple[str, str, str], ...]:
    """The joins that made the machines the report names (servers read, ring hosts): name, machine, why."""
    shown = set(ev.servers) | {h for f in findings for h in f.hosts}
    out = []
    for j in ev.hosts.joins:
        machine = ev.canonical(j.a) or j.a
        if machine in shown:
            out.append((j.a if j.a != machine else j.b, machine, j.reason))
    return tuple(out)


def _formats(stats: list[FileStat]) -> tuple[FormatStat, ...]:
    agg: dict[str, list[int]] = {}
    for s in stats:
        if s.format:
            a = agg.setdefault(s.format, [0, 0, 0, 0])
            a[0] += 1
            a[1] += s.lines
            a[2] += s.events
            a[3] += s.issues
    return tuple(FormatStat(k, *v) for k, v in sorted(agg.items()))


def _notes(
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
    if settings.tz is None and any(s.format in ("ims-protocol", "postfix", "sendmail", "exim") for s in stats):
        if zone_notes:
            notes.append("local time stamps were read as UTC (no --tz given), except where a zone was inferred:")
        else:
            notes.append("local time stamps were read as UTC (no --tz given); cross-server times may be shifted")
    notes.extend(zone_notes)
    return tuple(notes)


def with_paths(settings: ScanSettings, paths: tuple[str, ...]) -> ScanSettings:
    """A copy of `settings` reading other paths (explain's `--logs`)."""
    return replace(settings, paths=paths)
