"""The library side of `imsdiag explain`: find every sighting of one message, through the index or the logs."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

from .correlate import years_later
from .errors import AmbiguousId, InputError, MessageNotFound
from .evidence import machine_zones, place_event
from .explanation import Explanation, LoopView, Match, Sighting, build_explanation
from .hosts import HostMap
from .index import SERVER_LOCAL_KINDS, EventIndex, event_ids, open_index
from .index.lookups import CHANGED_SINCE_INDEXED
from .logsearch import LINK_DEPTH, Capture, LogSearch
from .logspans import SpanReader
from .models import Event, ParseIssue
from .result import ScanContext, ScanResult
from .settings import ScanSettings
from .sources import InputFile

# The story's types and builder live in `explanation`; reporters and tests import them from here too.
__all__ = [
    "LINK_DEPTH",
    "MAX_FILE_EVENTS",
    "MAX_ID_LENGTH",
    "Explanation",
    "LoopView",
    "Match",
    "Sighting",
    "build_explanation",
    "check_ambiguous",
    "explain",
    "explain_file",
]

MAX_FILE_EVENTS = 10000
"""Events kept when ID names a file: a message file has a handful; a whole log given by mistake is cut."""
MAX_ID_LENGTH = 4096
"""Longest id or path `explain` takes: a Message-ID line is at most 998 characters, a Linux path 4096."""


def explain(ident: str, settings: ScanSettings) -> Explanation:
    """Explain the message `ident` (a Message-ID, spool id, MTS-ID, queue id, or a message file's path).

    Raises MessageNotFound (with suggestions), AmbiguousId (with candidates) or InputError.
    """
    ident = ident.strip()
    if not ident:
        raise MessageNotFound("empty id")
    if len(ident) > MAX_ID_LENGTH:
        raise MessageNotFound(f"an id of {len(ident):,} characters: ids and paths have at most {MAX_ID_LENGTH:,}")
    candidate = Path(ident)
    try:
        is_file = candidate.is_file()
    except OSError:  # a name longer than the file system allows (ENAMETOOLONG) is an id, not a path
        is_file = False
    if is_file:
        return explain_file(candidate, settings)
    files = _discover(settings)
    if settings.use_index and not any(f.path is None for f in files or ()):
        try:
            return _explain_indexed(ident, settings, files)
        except sqlite3.Error as exc:  # a database that broke mid-read: the logs are still there
            if files is None:
                raise InputError(f"the index cannot be read ({exc}); give the logs with --logs") from exc
            return _explain_scanning(ident, settings, files, notes=[f"index unreadable ({exc}); read the logs"])
    if files is None:
        raise InputError("no logs to search: give them with --logs PATH (or scan them first with the index on)")
    return _explain_scanning(ident, settings, files)


def check_ambiguous(ident: str, matched: Sequence[tuple[str, Event]]) -> None:
    """Raise AmbiguousId when the id is only a server-local id and names messages on several servers."""
    if any(kind not in SERVER_LOCAL_KINDS for kind, _ in matched):
        return  # a Message-ID or MTS-ID is global: every sighting is the same message
    by_server: dict[str, Event] = {}
    for _, event in matched:
        by_server.setdefault(event.server or "?", event)
    if len(by_server) < 2:
        return
    candidates = tuple(
        f"{server}:{ident}  ({event.location}, {_brief(event)})" for server, event in sorted(by_server.items())
    )
    raise AmbiguousId(
        f"{ident!r} is a queue id on {len(by_server)} servers; pick one as SERVER:ID",
        candidates,
    )


def _brief(event: Event) -> str:
    sender = "<>" if event.sender == "" else (event.sender or "?")
    rcpts = ", ".join(event.recipients[:2]) or "?"
    when = event.time.strftime("%Y-%m-%d %H:%M:%S") if event.time else "no time"
    return f"{when} {sender} -> {rcpts}"


def _discover(settings: ScanSettings) -> list[InputFile] | None:
    """The input files of settings.paths; None when no paths were given (search the whole index)."""
    if not settings.paths:
        return None
    from .sources import discover

    files = [f for f in discover(settings.paths, follow_links=settings.follow_links) if isinstance(f, InputFile)]
    if not files:
        raise InputError(f"no readable files under {', '.join(settings.paths)}")
    return files


class _Placement:
    """The scan's decisions applied to explain's events: one name per machine, one clock."""

    def __init__(self, context: ScanContext, settings: ScanSettings, stored: bool = False) -> None:
        self.hosts = HostMap.from_aliases(context.names, context.not_hosts)
        self.zones = machine_zones(self.hosts, settings.server_tz)
        self.offsets = {m: timedelta(seconds=s) for m, s in context.offsets}
        # The index keeps a year-less log as it was read; the scan moved its events to the year of the other
        # logs afterwards (years.redate), and explain moves them the same way. Logs read here are read with
        # that year already.
        self.year_shifts = dict(context.year_shifts) if stored else {}

    def same_machine(self, a: str | None, b: str | None) -> bool:
        return self.hosts.same(a, b) or (a or "").lower() == (b or "").strip().lower()

    def event(self, ev: Event) -> Event:
        path = ev.location.path
        years = self.year_shifts.get(path) or self.year_shifts.get(os.path.abspath(path)) if self.year_shifts else None
        if years:
            ev = years_later(ev, years)
        return place_event(ev, self.hosts, self.zones, self.offsets)

    def events(self, events: Iterable[Event]) -> list[Event]:
        return [self.event(e) for e in events]

    def matched(self, matched: Iterable[tuple[str, Event]]) -> list[tuple[str, Event]]:
        return [(k, self.event(e)) for k, e in matched]


# -- through the index ----------------------------------------------------------------------------


def _explain_indexed(ident: str, settings: ScanSettings, files: list[InputFile] | None) -> Explanation:
    """Explain from the index, brought up to date first when logs were given; from the logs when it cannot serve."""
    index = open_index(Path(settings.index_path) if settings.index_path else None)
    notes = list(index.warnings)
    try:
        if index.conn is None:
            if files is None:
                raise InputError("the index cannot be opened; give the logs with --logs")
            return _explain_scanning(ident, settings, files, notes=notes)
        refreshed: ScanResult | None = None
        if files is not None:
            stale = index.stale_files(files)
            if stale or not index.has_findings_for(_paths(files)):
                refreshed = _refresh(index, settings, files, notes, len(stale))
                if refreshed is None:  # the engine did not fill the index: read the logs directly
                    return _explain_scanning(ident, settings, files, notes=notes)
        return _explain_from_index(index, ident, settings, files, refreshed, notes)
    finally:
        index.close()


def _paths(files: list[InputFile]) -> list[str]:
    return [str(f.path) for f in files if f.path is not None]


def _refresh(
    index: EventIndex,
    settings: ScanSettings,
    files: list[InputFile],
    notes: list[str],
    stale: int,
) -> ScanResult | None:
    """Run a scan (which fills the index and stores its findings); None when the index is still not current."""
    from . import engine  # the scan machinery (worker processes) only when the index must be filled

    result = engine.scan(settings)
    if index.stale_files(files):
        notes.append("the index could not be brought up to date; the logs were read directly")
        return None
    if stale:
        notes.append(f"index updated: {stale} new or changed file(s) read")
    return result


def _explain_from_index(
    index: EventIndex,
    ident: str,
    settings: ScanSettings,
    files: list[InputFile] | None,
    refreshed: ScanResult | None,
    notes: list[str],
) -> Explanation:
    """Look the id up in a current index; the findings are the refreshing scan's, else those the index kept."""
    paths = _paths(files) if files is not None else None
    context = refreshed.context if refreshed is not None else index.context_for(paths)
    place = _Placement(context or ScanContext(), settings, stored=True)
    index.set_scope(files)
    index.span_reader = SpanReader(settings)  # the ordinary lines of logs the fast extractor read
    matched = _lookup(index, ident, place)
    if not matched:
        missing = MessageNotFound(f"no log mentions {ident!r}", tuple(index.suggest(ident)))
        if any(CHANGED_SINCE_INDEXED in w for w in index.warnings):
            missing.hint = "a log changed since it was indexed: give the logs with --logs to read them again"
        raise missing
    check_ambiguous(ident, matched)
    related = index.related([e for _, e in matched], depth=LINK_DEPTH)
    if refreshed is not None:
        findings = list(refreshed.findings)
    else:
        ids = {n for _, e in matched for n, _ in event_ids(e)} | {n for e in related for n, _ in event_ids(e)}
        findings = index.findings_for(ids, files=paths)
    notes.extend(w for w in index.warnings if w not in notes)  # the open-time warnings are in already
    return build_explanation(ident, place.matched(matched), place.events(related), findings, notes, used_index=True)


def _lookup(index: EventIndex, ident: str, place: _Placement) -> list[tuple[str, Event]]:
    """Events carrying the id; `SERVER:ID` (any of the server's names) picks one server's id when ambiguous."""
    matched = index.lookup_kinds(ident)
    if matched or ":" not in ident:
        return matched
    server, _, local = ident.partition(":")
    return [(k, e) for k, e in index.lookup_kinds(local) if place.same_machine(e.server, server)]


# -- by reading the logs --------------------------------------------------------------------------


def _explain_scanning(
    ident: str, settings: ScanSettings, files: list[InputFile], notes: Sequence[str] = ()
) -> Explanation:
    """Without the index: the scan, then the search of the logs for the id and its links, then the exact search.

    The scan reads the logs as any scan does (worker processes, the fast extractors) and keeps filters of the
    ids each block and log holds; the search after it (`logrounds`) reads again the blocks that may name a
    wanted id, for the lines naming one, and parses any other log again only when its events may carry one.
    Standard input (it cannot be read twice) and a run with the full parser (`IMSDIAG_FULL_PARSE=1`) search
    during the scan's one read instead.
    """
    # The scan machinery is imported here, not with the module: explain through the index needs none of it.
    from . import engine
    from .logrounds import LogRounds, changed_note
    from .outcome import full_parse

    if full_parse(settings) or any(f.path is None for f in files):
        return _explain_reading_once(ident, settings, files, notes)
    capture = Capture(ident)
    result = engine.scan(replace(settings, use_index=False, keep_spans=True), spans=capture)
    rounds = LogRounds(capture, files, result.files, settings, result.context)
    rounds.run()
    notes = [*notes, changed_note(rounds.changed)] if rounds.changed else list(notes)
    return _exact_search(ident, settings, files, capture, result, notes)


def _explain_reading_once(
    ident: str, settings: ScanSettings, files: list[InputFile], notes: Sequence[str] = ()
) -> Explanation:
    """The search riding on the scan's one read (`Capture` sees every record the full parser makes).

    The logs are read a second time only when a link learned late may reach back past what the net
    remembers, and then only the files read before it.
    """
    from . import engine

    capture = Capture(ident)
    result = engine.scan(replace(settings, use_index=False), watch=capture)
    capture.move_years(dict(result.context.year_shifts))  # the scan moved these logs' events after reading
    if capture.to_reread and all(f.path is not None for f in files):  # standard input reads once
        _read_logs([f for f in files if f.display in capture.to_reread], settings, result.context, capture)
    return _exact_search(ident, settings, files, capture, result, notes)


def _exact_search(
    ident: str,
    settings: ScanSettings,
    files: list[InputFile],
    capture: Capture,
    result: ScanResult,
    notes: Sequence[str],
) -> Explanation:
    """The exact search over what the net kept, with the scan's names for the machines and its clocks."""
    place = _Placement(result.context, settings)
    search = LogSearch(ident, place.same_machine)
    search.replay(capture.events({f.display: i for i, f in enumerate(files)}))
    if not search.matched:
        raise MessageNotFound(f"no log mentions {ident!r}", ())
    check_ambiguous(ident, search.matched)
    related = place.events(search.related.values())
    return build_explanation(ident, place.matched(search.matched), related, result.findings, list(notes))


def _read_logs(files: list[InputFile], settings: ScanSettings, context: ScanContext, capture: Capture) -> None:
    """Read files again the way the scan finally read them (in the year it gave them), for the net."""
    from . import engine

    for f in files:
        year = context.year_of(f.display) if settings.year_hint is None else None
        # Year-less lines are dated as the scan dated them, from the other logs of the same days.
        read = replace(settings, year_hint=year) if year is not None else settings
        for record in engine.full_records(engine.parse_input(f, read)):
            capture.add(record)


# -- a file given by path -------------------------------------------------------------------------


def explain_file(path: Path, settings: ScanSettings) -> Explanation:
    """Explain one message file (or any log) given by path: its events, its chains and its findings.

    The file is read through the engine like any scanned file, and scanned on its own for the
    findings it shows by itself (a bounce reporting a hop limit, a chain that repeats).
    """
    display = os.path.relpath(path) if not path.is_absolute() else str(path)
    st = path.stat()
    f = InputFile(display=display, path=path, size=st.st_size, mtime=st.st_mtime)
    from . import engine

    parsed = engine.parse_input(f, replace(settings, use_index=False))
    if parsed.format is None:
        raise InputError(f"{display}: not a message or a log format imsdiag reads ({parsed.skipped_reason})")
    notes: list[str] = []
    events: list[Event] = []
    issues: list[ParseIssue] = []
    for record in engine.full_records(parsed):
        if isinstance(record, ParseIssue):
            issues.append(record)
            continue
        if len(events) < MAX_FILE_EVENTS:
            events.append(record)
        elif len(notes) == 0:
            notes.append(f"only the first {MAX_FILE_EVENTS} events of {display} are shown")
    if not events:
        raise MessageNotFound(f"{display}: no message found in it ({parsed.format})")
    notes.extend(f"{i.location}: {i.message}" for i in issues[:5])
    findings = engine.scan(replace(settings, paths=(display,), use_index=False, jobs=1)).findings
    return build_explanation(str(path), [("file", e) for e in events], [], findings, notes)
