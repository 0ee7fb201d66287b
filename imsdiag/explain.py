"""The library side of `imsdiag explain`: every sighting of one message, its Received chain, its loops and fixes."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

from . import engine
from .errors import AmbiguousId, InputError, MessageNotFound
from .evidence import machine_zones, place_event
from .hops import ChainAnalysis, HeadroomRow, analyse_chain, chain_headroom
from .hosts import HostMap
from .index import SERVER_LOCAL_KINDS, EventIndex, Origin, event_ids, link_allowed, norm_id, open_index
from .models import Event, Finding, Location, ParseIssue
from .result import ScanContext, ScanResult
from .settings import ScanSettings
from .sources import InputFile

MAX_FILE_EVENTS = 10000
"""Events kept when ID names a file: a message file has a handful; a whole log given by mistake is cut."""
MAX_ID_LENGTH = 4096
"""Longest id or path `explain` takes: a Message-ID line is at most 998 characters, a Linux path 4096."""
LINK_DEPTH = 2
"""Steps of `forwarded as` / `queued as` / bounce->cause links followed from the matched events."""

_FAR_FUTURE = datetime.max.replace(tzinfo=timezone.utc)


@dataclass(frozen=True)
class Match:
    """One event that carries the queried id, and in which field."""

    kind: str
    """`message_id`, `queue_id`, `mts_id`, `about_id`, `next_id`, `received_id`, `file`."""
    server: str | None
    location: Location


@dataclass(frozen=True)
class Sighting:
    """One event of the story, with how it is tied to the queried message."""

    event: Event
    relation: str
    """`match` (carries the id itself) or `linked` (shares an id with a match, up to two steps away)."""
    via: str | None = None
    """The id field that tied it in, e.g. `about_id` for a bounce about the message."""
    pass_number: int | None = None
    """For a loop: the pass this sighting is (1 = where the loop started)."""


@dataclass(frozen=True)
class LoopView:
    """A finding that involves the message, seen as a loop: ring, passes, period, start."""

    finding: Finding
    ring: tuple[str, ...]
    passes: int | None
    period_seconds: float | None
    first_seen: datetime | None
    first_pass: Location | None
    pass_sightings: tuple[int, ...]
    """Indexes into Explanation.sightings of the passes seen, in pass order."""


@dataclass(frozen=True)
class Explanation:
    """Everything `imsdiag explain` shows; reporters only render it."""

    query: str
    matches: tuple[Match, ...]
    sightings: tuple[Sighting, ...]
    """In time order across all servers (events without a time last, by file and line)."""
    chain: ChainAnalysis | None
    """The longest top-level Received chain among the sightings, analysed."""
    chain_location: Location | None
    headroom: tuple[HeadroomRow, ...]
    findings: tuple[Finding, ...]
    """Findings that involve the message, exactly as scan states them."""
    loops: tuple[LoopView, ...]
    notes: tuple[str, ...] = ()
    used_index: bool = False
    embedded: tuple[ChainAnalysis, ...] = ()
    """Chains of messages returned inside the chain's message (a bounce's original), each on its own."""


# -- the pure part: matched events in, Explanation out --------------------------------------------


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


def build_explanation(
    query: str,
    matched: Sequence[tuple[str, Event]],
    related: Sequence[Event],
    findings: Sequence[Finding],
    notes: Sequence[str] = (),
    used_index: bool = False,
) -> Explanation:
    """Assemble the story from the events that carry the id, the events linked to them and the findings."""
    match_keys = {_key(e) for _, e in matched}
    events: dict[tuple[str, int, str], tuple[Event, str, str | None]] = {}
    for kind, event in matched:
        events.setdefault(_key(event), (event, "match", kind))
    matched_ids = {n for _, e in matched for n, _ in event_ids(e)}
    for event in related:
        if _key(event) in match_keys:
            continue
        via = next((kind for n, kind in event_ids(event) if n in matched_ids), None)
        events.setdefault(_key(event), (event, "linked", via))
    ordered = sorted(events.values(), key=lambda t: _time_key(t[0]))
    all_ids = {n for e, _, _ in ordered for n, _ in event_ids(e)}
    locations = {e.location for e, _, _ in ordered}
    involved = [f for f in findings if _involves(f, all_ids, locations)]
    loops, pass_of = _loops(involved, [e for e, _, _ in ordered])
    sightings = tuple(
        Sighting(event=e, relation=rel, via=via, pass_number=pass_of.get(i)) for i, (e, rel, via) in enumerate(ordered)
    )
    chain_event = _chain_event([e for _, e in matched]) or _chain_event([e for e, _, _ in ordered])
    chain = analyse_chain(chain_event.received) if chain_event else None
    bounce = _embedding_event([e for _, e in matched]) or _embedding_event([e for e, _, _ in ordered])
    embedded = tuple(analyse_chain(c) for c in bounce.embedded_received if c) if bounce else ()
    return Explanation(
        query=query,
        matches=tuple(Match(kind, e.server, e.location) for kind, e in matched),
        sightings=sightings,
        chain=chain,
        chain_location=chain_event.location if chain_event else None,
        headroom=_headroom(chain, involved),
        findings=tuple(involved),
        loops=tuple(loops),
        notes=tuple(dict.fromkeys(notes)),
        used_index=used_index,
        embedded=embedded,
    )


def _headroom(chain: ChainAnalysis | None, findings: Sequence[Finding]) -> tuple[HeadroomRow, ...]:
    """Hops this message has left under each MTA's limit; no passes left where every pass is a new message.

    In a Q178436 loop the IMS re-creates the receipt on every pass, so a hop count never carries over:
    a "passes left" figure would promise a stop that never comes.
    """
    if chain is None:
        return ()
    rows = chain_headroom(chain)
    if any(f.rule_id == "Q178436" for f in findings):
        return tuple(r._replace(remaining_passes=None) for r in rows)
    return tuple(rows)


def _key(event: Event) -> tuple[str, int, str]:
    return event.location.path, event.location.line, event.source


def _time_key(event: Event) -> tuple[datetime, str, int]:
    return event.time or _FAR_FUTURE, event.location.path, event.location.line


def _embedding_event(events: Iterable[Event]) -> Event | None:
    """The sighting that carries a returned original (a bounce), if any."""
    return next((e for e in events if any(e.embedded_received)), None)


def _chain_event(events: Iterable[Event]) -> Event | None:
    best = max(events, key=lambda e: len(e.received), default=None)
    return best if best is not None and best.received else None


def _involves(finding: Finding, ids: set[str], locations: set[Location]) -> bool:
    if any(norm_id(m) in ids for m in finding.message_ids):
        return True
    return any(ev.location in locations for ev in finding.evidence)


def _pass_rows(finding: Finding, ordered: Sequence[Event]) -> list[int]:
    """The sightings that each start one pass of the loop.

    One pass is logged many times (both ends, protocol log, tracking log, archive copy): the
    passes are counted on the single observer (server, source, direction) that saw the most
    null-sender transits, the same way the detector counts them; failing that, the evidence.
    """
    addresses = set(finding.addresses)
    observers: dict[tuple[str | None, str, str], dict[object, int]] = {}
    for i, e in enumerate(ordered):
        if e.sender == "" and (not addresses or addresses & set(e.recipients)):
            # Within one observer a message counts once: a tracking log writes 1010 and 1011 for one receipt.
            key = e.message_id or e.mts_id or e.queue_id or i
            observers.setdefault((e.server, e.source, e.direction.value), {}).setdefault(key, i)
    if observers:
        return list(max(observers.values(), key=len).values())
    evidence = {ev.location for ev in finding.evidence}
    return [i for i, e in enumerate(ordered) if e.location in evidence]


def _loops(findings: Sequence[Finding], ordered: Sequence[Event]) -> tuple[list[LoopView], dict[int, int]]:
    """A LoopView per finding, with the sightings that start each pass numbered."""
    views: list[LoopView] = []
    pass_of: dict[int, int] = {}
    for finding in findings:
        rows = _pass_rows(finding, ordered)
        for n, i in enumerate(rows, 1):
            pass_of.setdefault(i, n)
        first = ordered[rows[0]].location if rows else (finding.evidence[0].location if finding.evidence else None)
        views.append(
            LoopView(
                finding=finding,
                ring=finding.hosts,
                passes=finding.passes,
                period_seconds=finding.period_seconds,
                first_seen=finding.first_seen,
                first_pass=first,
                pass_sightings=tuple(rows),
            )
        )
    return views, pass_of


# -- the orchestration: where the events come from ------------------------------------------------


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


def _discover(settings: ScanSettings) -> list[InputFile] | None:
    """The input files of settings.paths; None when no paths were given (search the whole index)."""
    if not settings.paths:
        return None
    from .sources import discover

    files = [f for f in discover(settings.paths, follow_links=settings.follow_links) if isinstance(f, InputFile)]
    if not files:
        raise InputError(f"no readable files under {', '.join(settings.paths)}")
    return files


def _explain_indexed(ident: str, settings: ScanSettings, files: list[InputFile] | None) -> Explanation:
    index = open_index(Path(settings.index_path) if settings.index_path else None)
    notes = list(index.warnings)
    try:
        if index.conn is None:
            if files is None:
                raise InputError("the index cannot be opened; give the logs with --logs")
            return _explain_scanning(ident, settings, files, notes=notes)
        findings: list[Finding] | None = None
        context: ScanContext | None = None
        paths = [str(f.path) for f in files if f.path is not None] if files is not None else None
        if files is not None and paths is not None:
            stale = index.stale_files(files)
            if stale or not index.has_findings_for(paths):
                refreshed = _refresh(index, settings, files, notes, len(stale))
                if refreshed is None:  # the engine did not fill the index: read the logs directly
                    return _explain_scanning(ident, settings, files, notes=notes)
                findings, context = list(refreshed.findings), refreshed.context
        if context is None:
            context = index.context_for(paths)
        place = _Placement(context or ScanContext(), settings)
        index.set_scope(files)
        matched = _lookup(index, ident, place)
        if not matched:
            raise MessageNotFound(f"no log mentions {ident!r}", tuple(index.suggest(ident)))
        check_ambiguous(ident, matched)
        related = index.related([e for _, e in matched], depth=LINK_DEPTH)
        if findings is None:
            ids = {n for _, e in matched for n, _ in event_ids(e)} | {n for e in related for n, _ in event_ids(e)}
            findings = index.findings_for(ids, files=paths)
        notes.extend(w for w in index.warnings if w not in notes)  # the open-time warnings are in already
        return build_explanation(ident, place.matched(matched), place.events(related), findings, notes, used_index=True)
    finally:
        index.close()


def _refresh(
    index: EventIndex,
    settings: ScanSettings,
    files: list[InputFile],
    notes: list[str],
    stale: int,
) -> ScanResult | None:
    """Run a scan (which fills the index and stores its findings); None when the index is still not current."""
    result = engine.scan(settings)
    if index.stale_files(files):
        notes.append("the index could not be brought up to date; the logs were read directly")
        return None
    if stale:
        notes.append(f"index updated: {stale} new or changed file(s) read")
    return result


def _lookup(index: EventIndex, ident: str, place: _Placement) -> list[tuple[str, Event]]:
    """Events carrying the id; `SERVER:ID` (any of the server's names) picks one server's id when ambiguous."""
    matched = index.lookup_kinds(ident)
    if matched or ":" not in ident:
        return matched
    server, _, local = ident.partition(":")
    return [(k, e) for k, e in index.lookup_kinds(local) if place.same_machine(e.server, server)]


def _explain_scanning(
    ident: str, settings: ScanSettings, files: list[InputFile], notes: Sequence[str] = ()
) -> Explanation:
    """Without the index: scan for findings (and the scan's names, clock and year), then keep the id's events."""
    result = engine.scan(settings)
    place = _Placement(result.context, settings)
    wanted = _Wanted()
    target = norm_id(ident)
    if target:
        wanted.learn(target, 0, ("query", None))
    qualified = _qualified(ident)
    if qualified is not None:
        wanted.learn(qualified[1], 0, ("query", None))
    matched: list[tuple[str, Event]] = []
    related: dict[tuple[str, int, str], Event] = {}
    rereadable = all(f.path is not None for f in files)
    for _ in range(2 if rereadable else 1):
        size_before = len(wanted.depth)
        for f in files:
            year = result.context.year_of(f.display) if settings.year_hint is None else None
            # Year-less lines are dated as the scan dated them, from the other logs of the same days.
            read = replace(settings, year_hint=year) if year is not None else settings
            for record in engine.parse_input(f, read).records:
                if isinstance(record, Event):
                    _take(record, wanted, matched, related, qualified, place)
        if len(wanted.depth) == size_before or not matched:
            break  # no new links found: a second read would find nothing more
    if not matched:
        raise MessageNotFound(f"no log mentions {ident!r}", ())
    check_ambiguous(ident, matched)
    return build_explanation(ident, place.matched(matched), place.events(related.values()), result.findings, notes)


def _qualified(ident: str) -> tuple[str, str] | None:
    """(server, normalised local id) for a `SERVER:ID` query, else None."""
    server, sep, local = ident.partition(":")
    n = norm_id(local)
    if not sep or not server.strip() or n is None:
        return None
    return server.strip().lower(), n


class _Placement:
    """The scan's decisions applied to explain's events: one name per machine, one clock."""

    def __init__(self, context: ScanContext, settings: ScanSettings) -> None:
        self.hosts = HostMap.from_aliases(context.names, context.not_hosts)
        self.zones = machine_zones(self.hosts, settings.server_tz)
        self.offsets = {m: timedelta(seconds=s) for m, s in context.offsets}

    def same_machine(self, a: str | None, b: str | None) -> bool:
        return self.hosts.same(a, b) or (a or "").lower() == (b or "").strip().lower()

    def event(self, ev: Event) -> Event:
        return place_event(ev, self.hosts, self.zones, self.offsets)

    def events(self, events: Iterable[Event]) -> list[Event]:
        return [self.event(e) for e in events]

    def matched(self, matched: Iterable[tuple[str, Event]]) -> list[tuple[str, Event]]:
        return [(k, self.event(e)) for k, e in matched]


@dataclass
class _Wanted:
    """Ids being followed without the index: how many links from the query, and where each was learned."""

    depth: dict[str, int] = field(default_factory=dict)
    origins: dict[str, set[Origin]] = field(default_factory=dict)

    def learn(self, n: str, depth: int, origin: Origin) -> None:
        self.depth.setdefault(n, depth)
        self.origins.setdefault(n, set()).add(origin)


def _take(
    event: Event,
    wanted: _Wanted,
    matched: list[tuple[str, Event]],
    related: dict[tuple[str, int, str], Event],
    qualified: tuple[str, str] | None,
    place: _Placement,
) -> None:
    """Keep `event` when it shares an id with what is wanted; learn its ids up to LINK_DEPTH steps away."""
    ids = event_ids(event)
    if qualified is not None and not place.same_machine(event.server, qualified[0]):
        # A SERVER:ID query: the bare id names a message only on that server.
        ids = [(n, k) for n, k in ids if n != qualified[1] or wanted.depth.get(n) != 0]
    hits = [
        (wanted.depth[n], k) for n, k in ids if n in wanted.depth and link_allowed(k, event.server, wanted.origins[n])
    ]
    if not hits:
        return
    depth, kind = min(hits)
    key = _key(event)
    if depth == 0 and all(_key(e) != key for _, e in matched):
        matched.append((kind, event))
    related.setdefault(key, event)
    if depth < LINK_DEPTH:
        for n, k in ids:
            if k != "file":
                wanted.learn(n, depth + 1, (k, event.server))


def explain_file(path: Path, settings: ScanSettings) -> Explanation:
    """Explain one message file (or any log) given by path: its events, its chains and its findings.

    The file is read through the engine like any scanned file, and scanned on its own for the
    findings it shows by itself (a bounce reporting a hop limit, a chain that repeats).
    """
    display = os.path.relpath(path) if not path.is_absolute() else str(path)
    st = path.stat()
    f = InputFile(display=display, path=path, size=st.st_size, mtime=st.st_mtime)
    parsed = engine.parse_input(f, replace(settings, use_index=False))
    if parsed.format is None:
        raise InputError(f"{display}: not a message or a log format imsdiag reads ({parsed.skipped_reason})")
    notes: list[str] = []
    events: list[Event] = []
    issues: list[ParseIssue] = []
    for record in parsed.records:
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
