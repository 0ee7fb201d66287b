"""Cross-message detector: the same null-sender report re-sent between the same hosts (the Q178436 kind)."""

from __future__ import annotations

import itertools
import statistics
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from ..evidence import Evidence
from ..graph import Edge, ring_shape, strongly_connected
from ..models import Direction, EdgePasses, Event, Loop, LoopKind, ReportKind
from ..names import subject_stem
from ..runs import Run, kind_of
from ..transits import received_edges, transit_edges
from .clusters import split_with_runs

T = TypeVar("T")

Routes = Mapping[tuple[str, str], str]
"""(server, destination domain) -> the host that domain's mail reaches from that server."""


def event_edges(ev: Event, corr: Evidence, via: Routes | None = None) -> tuple[Edge, ...]:
    """The hops an event proves, in the evidence's canonical names (see `transits.transit_edges`).

    An outbound record that names only the destination *domain* (an IMS tracking log's partner field:
    `company.com`) proves a hop to whichever host that domain's mail reaches from that server; `via`
    maps such a domain to that host when the same messages are seen coming back from exactly one host.
    """
    edges = received_edges(ev, corr.canonical) + transit_edges(ev, corr.canonical)
    if via is not None and ev.direction is Direction.OUT and ev.peer_host is None and ev.raw_peer:
        server = corr.canonical(ev.server)
        host = via.get((server, domain_node(ev.raw_peer))) if server else None
        if server and host and host != server:
            edges = (*edges, (server, host))
    return edges


def domain_node(name: str) -> str:
    return "@" + name.lower().rstrip(".")


def domain_routes(events: Sequence[Event], corr: Evidence) -> dict[tuple[str, str], str]:
    """Destination domains of outbound records -> the one host the same recipient's mail comes back from.

    A tracking log says the receipt went to `company.com` and came in again from `relay.company.com`:
    read with nothing else, the domain's mail reaches the relay. With two or more hosts sending it
    back the route is unknown and no hop is assumed.
    """
    domains: dict[str, set[str]] = defaultdict(set)
    back: dict[str, set[str]] = defaultdict(set)
    for ev in events:
        server = corr.canonical(ev.server)
        if not server:
            continue
        if ev.direction is Direction.OUT and ev.peer_host is None and ev.raw_peer:
            domains[server].add(domain_node(ev.raw_peer))
        for a, b in transit_edges(ev, corr.canonical):
            if b == server and ev.direction is Direction.IN:
                back[server].add(a)
    # Keyed by server too: two IMS sending to one domain may each get it back from a different relay.
    out: dict[tuple[str, str], str] = {}
    for server, names in domains.items():
        if len(back[server]) == 1:
            host = next(iter(back[server]))
            for name in names:
                out[(server, name)] = host
    return out


def _transit_counts(
    events: Sequence[Event], corr: Evidence, via: Routes | None = None
) -> tuple[Counter[Edge], dict[Edge, list[Event]]]:
    """Passes per edge, counted per observer (server + source) and maximised over observers.

    The same transit is usually logged at both ends and by several sources on one server
    (protocol log, tracking log, archive); summing them would count one pass three to six times.
    Within one observer a message counts once: a tracking log writes 1010 (queued) and 1011
    (transferred) for the same receipt.
    """
    per_observer: dict[tuple[Edge, str, str], dict[object, Event]] = defaultdict(dict)
    for ev in events:
        key = ev.message_id or ev.mts_id or ev.queue_id or ev.location
        copied = received_edges(ev, corr.canonical)
        server = corr.canonical(ev.server) or ""
        for edge in event_edges(ev, corr, via):
            # What a copy's Received lines prove is a second observer on the same server (see received_edges).
            source = ev.source + "/received" if edge in copied else ev.source
            per_observer[(edge, server, source)].setdefault(key, ev)
    best: dict[Edge, list[Event]] = {}
    for (edge, _srv, _src), seen in per_observer.items():
        if len(seen) > len(best.get(edge, [])):
            best[edge] = list(seen.values())
    return Counter({e: len(v) for e, v in best.items()}), best


def _per_pass(events: Sequence[Event], corr: Evidence) -> list[tuple[datetime, float]]:
    """Received-line counts of one pass each: the copies of the single observer that saw most of them.

    Each pass leaves an inbound and an outbound archive copy; mixing them would halve the growth.
    """
    groups: dict[tuple[str, str, str], list[Event]] = defaultdict(list)
    for e in events:
        groups[(corr.canonical(e.server) or "", e.source, e.direction.value)].append(e)
    if not groups:
        return []
    best = max(groups.values(), key=len)
    return [(e.time, float(len(e.received))) for e in best if e.time is not None]


def _period(events: Sequence[Event]) -> float | None:
    """The median time between two passes."""
    times = sorted(e.time for e in events if e.time is not None)
    if len(times) < 2:
        return None
    return float(statistics.median((b - a).total_seconds() for a, b in itertools.pairwise(times)))


def _growth(values: Sequence[tuple[datetime, float]]) -> float | None:
    """How much a value grows per pass, from the first pass to the last."""
    if len(values) < 2:
        return None
    values = sorted(values)
    return (values[-1][1] - values[0][1]) / (len(values) - 1)


def detect_null_sender_loops(corr: Evidence, min_passes: int, window_seconds: float) -> list[Loop]:
    """Group null-sender/report events per recipient, split on long gaps, and find host rings.

    Every pass of such a loop is a new message, so no hop counter sees it. What repeats is the
    envelope: null sender, the same recipient, the same report subject, travelling A -> B and B -> A.
    """
    by_rcpt: dict[str, list[Event]] = defaultdict(list)
    for ev in corr.candidates:
        for rcpt in ev.recipients:
            by_rcpt[rcpt].append(ev)
    loops: list[Loop] = []
    for rcpt in sorted(by_rcpt):
        for cluster, runs in split_with_runs(by_rcpt[rcpt], corr.runs.get(rcpt, ()), window_seconds):
            loop = _ring_loop(rcpt, cluster, corr, min_passes, runs)
            if loop is not None:
                loops.append(loop)
    return loops


def _ring_loop(
    rcpt: str, events: list[Event], corr: Evidence, min_passes: int, runs: Sequence[Run] = ()
) -> Loop | None:
    """The busiest ring one recipient's reports went round, as a Loop; None when no ring shows enough passes.

    `runs` are the cluster's hopless events that were only counted: they prove no hop, so they change
    no count and no ring, only the cluster's first and last time and its commonest subject and kind.
    """
    via = domain_routes(events, corr)
    counts, _ = _transit_counts(events, corr, via)
    if not counts:
        return None
    best: Loop | None = None
    for component in strongly_connected(counts):
        traffic = _ring_traffic(component, events, corr, via, min_passes)
        if traffic is None:
            continue
        loop = _ring_as_loop(rcpt, events, traffic, corr, via, runs)
        if best is None or traffic.passes > (best.passes or 0):
            best = loop
    return best


@dataclass(frozen=True)
class _RingTraffic:
    """What travelled inside one strongly connected set of hosts."""

    component: list[str]
    inside: list[Event]
    """The events whose every hop stays inside the component."""
    edge_counts: dict[Edge, int]
    """Passes per hop between two members (see `_transit_counts`)."""
    edge_events: dict[Edge, list[Event]]
    """The events behind each count: the one observer's, one per message."""
    passes: int
    """The busiest hop's count."""


def _ring_traffic(
    component: list[str], events: list[Event], corr: Evidence, via: Routes, min_passes: int
) -> _RingTraffic | None:
    """The component's own traffic, when every hop of it was travelled often enough to be a loop; else None."""
    members = set(component)
    # Count only what travelled inside the ring: a relay's delivery of a one-off bounce that came
    # from outside (an Internet NDR to the same user) crosses a ring edge but is no pass.
    inside = [e for e in events if all(a in members and b in members for a, b in event_edges(e, corr, via))]
    counts, edge_events = _transit_counts(inside, corr, via)
    edge_counts = {e: n for e, n in counts.items() if e[0] in members and e[1] in members}
    if not edge_counts:
        return None
    passes = max(edge_counts.values())
    # Every edge of the ring must have been travelled at least twice: one receipt going out and
    # coming back once is a misroute, not yet a loop.
    if passes < min_passes or min(edge_counts.values()) < 2:
        return None
    return _RingTraffic(component, inside, edge_counts, edge_events, passes)


def _ring_as_loop(
    rcpt: str, events: list[Event], traffic: _RingTraffic, corr: Evidence, via: Routes, runs: Sequence[Run]
) -> Loop:
    """The Loop a ring's traffic shows: its hosts in travel order, passes, pace and growth per pass."""
    timed = sorted((e for e in events if e.time is not None), key=lambda e: e.time)  # type: ignore[arg-type,return-value]
    first, last = _span(timed, runs)
    ring, shape = ring_shape(traffic.component, traffic.edge_counts, _origin(timed, corr))
    busiest = max(traffic.edge_counts, key=lambda e: (traffic.edge_counts[e], e))
    busiest_events = traffic.edge_events[busiest]
    ring_events = _on_ring(traffic, corr, via)
    # Each pass of a null-sender loop is a new message: count them by Message-ID where the logs give one.
    message_ids = {e.message_id for e in ring_events if e.message_id}
    return Loop(
        kind=LoopKind.NULL_SENDER_REPEAT,
        hosts=ring,
        addresses=(rcpt,),
        events=tuple(sorted(ring_events, key=_time_key)),
        passes=traffic.passes,
        first_seen=first,
        last_seen=last,
        period_seconds=_period(busiest_events),
        subject_stem=_commonest_stem(events, runs, corr),
        report_kind=_commonest_kind(events, runs, corr),
        growth_bytes_per_pass=_size_growth(busiest_events),
        growth_received_per_pass=_received_growth(ring_events, corr),
        notes=(f"{busiest[0]} → {busiest[1]} carried it {traffic.passes} times, the most of any hop",),
        messages=len(message_ids) or traffic.passes,
        shape=shape,
        edges=_edge_passes(ring, traffic),
    )


def _edge_passes(ring: Sequence[str], traffic: _RingTraffic) -> tuple[EdgePasses, ...]:
    """Each ring hop with its count and the times of the events behind that count, in ring order."""
    place = {host: i for i, host in enumerate(ring)}
    edges = sorted(traffic.edge_counts, key=lambda e: (place.get(e[0], len(place)), place.get(e[1], len(place)), e))
    return tuple(
        EdgePasses(
            a, b, traffic.edge_counts[(a, b)], tuple(sorted(e.time for e in traffic.edge_events[(a, b)] if e.time))
        )
        for a, b in edges
    )


def _on_ring(traffic: _RingTraffic, corr: Evidence, via: Routes) -> list[Event]:
    """The inside events that travelled a ring hop, and those that prove no hop (a report created on a server).

    A mailbox delivery or a record of no known direction is no pass and no evidence of the ring
    (`runs.is_hopless`): a steady stream of one-off bounces delivered to the same user is not part of it.
    """
    on_ring = []
    for e in traffic.inside:
        edges = event_edges(e, corr, via)
        travelled = any(edge in traffic.edge_counts for edge in edges)
        if travelled or (not edges and e.direction not in (Direction.LOCAL, Direction.UNKNOWN)):
            on_ring.append(e)
    return on_ring


def _span(timed: Sequence[Event], runs: Sequence[Run]) -> tuple[datetime | None, datetime | None]:
    """First and last time of the cluster: its timed events and its runs' earliest and latest events."""
    times = [t for t in (timed[0].time, timed[-1].time) if t is not None] if timed else []
    times += [t for r in runs for t in (r.lo.time, r.hi.time) if t is not None]
    return (min(times), max(times)) if times else (None, None)


def _commonest(values: Iterable[tuple[tuple[object, ...], T, int]]) -> T | None:
    """The value seen most often (the first seen among equals); None when there is none.

    `values` are (order key, value, how many): a run's tally stands for many events at the place of its first.
    """
    counts: dict[T, int] = {}
    first: dict[T, tuple[object, ...]] = {}
    for key, value, n in values:
        counts[value] = counts.get(value, 0) + n
        if value not in first or key < first[value]:
            first[value] = key
    if not counts:
        return None
    return min(counts, key=lambda v: (-counts[v], first[v]))


def _ordered(
    events: Sequence[Event], runs: Sequence[Run], corr: Evidence, pick: Callable[[Event], T | None], table: str
) -> Iterable[tuple[tuple[object, ...], T, int]]:
    """(order key, value, count) of the cluster's events and its runs' tallies.

    Without runs the key is the place in the cluster (untimed events first, then by time and arrival);
    with runs a timed event's key is (time, place among all candidates), which orders the same way and
    also places each tally at its first event (`Correlator.runs` gives it its place among the candidates).
    """
    position = {id(e): i for i, e in enumerate(corr.candidates)} if runs else {}
    for i, e in enumerate(events):
        value = pick(e)
        if value is not None:
            timed = runs and e.time is not None
            yield ((1, e.time, position.get(id(e), float(i))) if timed else (0, i)), value, 1
    for r in runs:
        for value, t in getattr(r, table).items():
            yield (1, t.first.time, t.seq), value, t.count


def _commonest_stem(events: Sequence[Event], runs: Sequence[Run], corr: Evidence) -> str | None:
    return _commonest(_ordered(events, runs, corr, lambda e: subject_stem(e.subject) or None, "stems"))


def _report_kind(e: Event) -> ReportKind | None:
    kind = kind_of(e)
    return kind if kind is not ReportKind.NONE else None


def _commonest_kind(events: Sequence[Event], runs: Sequence[Run], corr: Evidence) -> ReportKind:
    kind = _commonest(_ordered(events, runs, corr, _report_kind, "kinds"))
    return kind if kind is not None else ReportKind.NONE


def _size_growth(events: Sequence[Event]) -> float | None:
    """Bytes added per pass, from the sizes logged of the busiest hop's messages."""
    return _growth([(e.time, float(e.size)) for e in events if e.time is not None and e.size])


def _received_growth(events: Sequence[Event], corr: Evidence) -> float | None:
    """Received lines added per pass, from the copies that carry their headers."""
    return _growth(_per_pass([e for e in events if e.time is not None and e.received], corr))


def _origin(timed: Sequence[Event], corr: Evidence) -> str | None:
    """Where the loop started: the server of the first generated report, else the first sender host."""
    for e in timed:
        if e.direction is Direction.GENERATED and e.server:
            return corr.canonical(e.server)
    for e in timed:
        edges = event_edges(e, corr)
        if edges:
            return edges[0][0]
    return None


def _time_key(e: Event) -> tuple[int, datetime | None, str, int]:
    return (0 if e.time else 1, e.time, e.location.path, e.location.line)
