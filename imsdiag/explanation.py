"""The story `imsdiag explain` tells of one message, and the pure builder that assembles it from events and findings."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timezone

from .hops import ChainAnalysis, HeadroomRow, analyse_chain, chain_headroom
from .index import event_ids, norm_id
from .models import Event, Finding, Location

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


def build_explanation(
    query: str,
    matched: Sequence[tuple[str, Event]],
    related: Sequence[Event],
    findings: Sequence[Finding],
    notes: Sequence[str] = (),
    used_index: bool = False,
) -> Explanation:
    """Assemble the story from the events that carry the id, the events linked to them and the findings."""
    unnumbered = _sightings_in_time_order(matched, related)
    ordered = [s.event for s in unnumbered]
    involved = _involved(findings, ordered)
    loops, pass_of = _loops(involved, ordered)
    sightings = tuple(replace(s, pass_number=pass_of.get(i)) for i, s in enumerate(unnumbered))
    matched_events = [e for _, e in matched]
    chain_event = _chain_event(matched_events) or _chain_event(ordered)
    chain = analyse_chain(chain_event.received) if chain_event else None
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
        embedded=_returned_chains(matched_events, ordered),
    )


def event_key(event: Event) -> tuple[str, int, str]:
    """One record of one file (path, line, source), the same whichever lookup found it."""
    return event.location.path, event.location.line, event.source


def _sightings_in_time_order(matched: Sequence[tuple[str, Event]], related: Sequence[Event]) -> list[Sighting]:
    """Every event once, a match before the same record found as linked, in time order; pass numbers not yet set."""
    sightings: dict[tuple[str, int, str], Sighting] = {}
    for kind, event in matched:
        sightings.setdefault(event_key(event), Sighting(event, "match", kind))
    matched_ids = {n for _, e in matched for n, _ in event_ids(e)}
    for event in related:
        key = event_key(event)
        if key not in sightings:
            via = next((kind for n, kind in event_ids(event) if n in matched_ids), None)
            sightings[key] = Sighting(event, "linked", via)
    return sorted(sightings.values(), key=lambda s: _time_key(s.event))


def _time_key(event: Event) -> tuple[datetime, str, int]:
    return event.time or _FAR_FUTURE, event.location.path, event.location.line


def _involved(findings: Sequence[Finding], events: Sequence[Event]) -> list[Finding]:
    """The findings that name one of the events' ids or cite one of them as evidence."""
    ids = {n for e in events for n, _ in event_ids(e)}
    locations = {e.location for e in events}
    return [f for f in findings if _involves(f, ids, locations)]


def _involves(finding: Finding, ids: set[str], locations: set[Location]) -> bool:
    if any(norm_id(m) in ids for m in finding.message_ids):
        return True
    return any(ev.location in locations for ev in finding.evidence)


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


def _chain_event(events: Iterable[Event]) -> Event | None:
    """The sighting with the longest Received chain, if any has one."""
    best = max(events, key=lambda e: len(e.received), default=None)
    return best if best is not None and best.received else None


def _returned_chains(matched: Sequence[Event], ordered: Sequence[Event]) -> tuple[ChainAnalysis, ...]:
    """The chains of the originals a bounce returns, from a matched bounce first, else from any sighting."""
    bounce = _embedding_event(matched) or _embedding_event(ordered)
    return tuple(analyse_chain(c) for c in bounce.embedded_received if c) if bounce else ()


def _embedding_event(events: Iterable[Event]) -> Event | None:
    """The sighting that carries a returned original (a bounce), if any."""
    return next((e for e in events if any(e.embedded_received)), None)


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
