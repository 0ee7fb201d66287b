"""The one hop edge and the one Received-cycle algorithm, shared by correlation, detectors and explain."""

# At the top level, not in `loops/`, because correlation (an earlier stage) filters on it too and importing
# `imsdiag.loops` would pull in the detectors. It depends only on the records and name helpers.

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple

from .hostmap import NOT_HOSTS, is_loopback
from .models import Hop, RingShape
from .names import normalize_host

Edge = tuple[str, str]
Canonical = Callable[[str | None], str | None]


def hop_edge(hop: Hop) -> tuple[str | None, str | None]:
    """(from, by) of a Received hop, from-side preferring the looked-up name (not `unknown`), then HELO, then IP.

    A hop from a loopback address is a re-injection on the same machine (amavis, a DKIM signer, a
    list manager), not a network hop: its from-side is None so it never forms a loop edge.
    """
    # qmail writes `from unknown (HELO mta.example.com)` when the client has no reverse DNS: the HELO names it.
    named = hop.from_host if hop.from_host and hop.from_host.lower() not in NOT_HOSTS else None
    src = named or hop.from_helo or hop.from_ip
    if is_loopback(src) or is_loopback(hop.from_ip):
        return None, normalize_host(hop.by_host)
    return normalize_host(src), normalize_host(hop.by_host)


def chain_edges(oldest_first: Sequence[Hop], canonical: Canonical = normalize_host) -> list[Edge | None]:
    """Each hop's edge in `canonical` names, oldest first; None for a hop that is no network edge."""
    out: list[Edge | None] = []
    for hop in oldest_first:
        a, b = hop_edge(hop)
        a, b = canonical(a), canonical(b)
        out.append((a, b) if a and b and a != b else None)
    return out


def chain_edge_counts(chain: Iterable[Hop], canonical: Canonical = normalize_host) -> Counter[Edge]:
    """How often each network edge occurs in a chain (any order)."""
    return Counter(e for e in chain_edges(list(chain), canonical) if e is not None)


def repeated_edges(oldest_first: Sequence[Hop]) -> tuple[tuple[str, str, int], ...]:
    """(from, by, count) for every edge that occurs more than once, most frequent first."""
    return tuple((a, b, n) for (a, b), n in chain_edge_counts(oldest_first).most_common() if n > 1)


def strongly_connected(edges: Iterable[Edge]) -> list[list[str]]:
    """Tarjan's algorithm over a small edge set: components of two or more hosts."""
    graph: dict[str, list[str]] = defaultdict(list)
    for a, b in edges:
        graph[a].append(b)
        graph.setdefault(b, [])
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []
    counter = 0

    def visit(v: str) -> None:
        nonlocal counter
        # Iterative DFS: a ring of many relays must not hit Python's recursion limit.
        work = [(v, iter(sorted(graph[v])))]
        index[v] = low[v] = counter
        counter += 1
        stack.append(v)
        on_stack.add(v)
        while work:
            node, it = work[-1]
            advanced = False
            for w in it:
                if w not in index:
                    index[w] = low[w] = counter
                    counter += 1
                    stack.append(w)
                    on_stack.add(w)
                    work.append((w, iter(sorted(graph[w]))))
                    advanced = True
                    break
                if w in on_stack:
                    low[node] = min(low[node], index[w])
            if advanced:
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                comp: list[str] = []
                while True:
                    w = stack.pop()
                    on_stack.discard(w)
                    comp.append(w)
                    if w == node:
                        break
                if len(comp) > 1:
                    out.append(comp)

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def ring_order(component: Sequence[str], edge_count: Counter[Edge], start: str | None) -> tuple[str, ...]:
    """Walk the component along its busiest edges from `start`, giving the ring in traversal order."""
    members = set(component)
    node = start if start in members else min(component)
    ring = [node]
    while True:
        nxt = [(n, b) for (a, b), n in edge_count.items() if a == node and b in members and b not in ring]
        if not nxt:
            break
        node = max(nxt)[1]
        ring.append(node)
    for m in sorted(members - set(ring)):
        ring.append(m)
    return tuple(ring)


def ring_shape(
    component: Sequence[str], edge_count: Mapping[Edge, int], start: str | None
) -> tuple[tuple[str, ...], RingShape]:
    """The component's hosts and how they connect: a ring in travel order, or a hub and its spokes.

    A walk along the busiest edges gives the ring. When it only closes through a hop nobody saw
    (two rings sharing one relay: a <-> hub <-> b), the honest statement is a hub with spokes,
    never `a -> hub -> b -> a` with an invented `b -> a`.
    """
    counts = Counter(dict(edge_count))
    ring = ring_order(component, counts, start)
    if len(ring) < 2 or all((a, b) in counts for a, b in zip(ring, (*ring[1:], ring[0]), strict=True)):
        return ring, RingShape.RING
    members = set(component)
    hubs = [h for h in sorted(members) if all((h, o) in counts and (o, h) in counts for o in members - {h})]
    if not hubs:
        return ring, RingShape.RING
    hub = max(hubs, key=lambda h: (sum(n for (a, b), n in counts.items() if h in (a, b)), h))
    spokes = sorted(members - {hub}, key=lambda o: (-(counts[(hub, o)] + counts[(o, hub)]), o))
    return (hub, *spokes), RingShape.HUB


@dataclass(frozen=True)
class ChainCycle:
    """The loop a Received chain shows, the same for the detector and for explain."""

    hosts: tuple[str, ...]
    """The ring in travel order (a hub first, for a hub with spokes)."""
    shape: RingShape
    passes: int
    """Round trips: the busiest edge's count."""
    closed: bool
    """False when only one direction is recorded (the Q178436 shape: the IMS re-creating the receipt adds
    no Received line, so only the relay's `from imc1 by relay` repeats)."""
    rows: tuple[int, ...]
    """Indexes (oldest first) of the hops inside the ring."""
    repeat_rows: tuple[int, ...]
    """From the hop that brings the message back where it entered the ring: the repeats themselves."""


def chain_cycle(
    oldest_first: Sequence[Hop], min_repeat: int = 2, canonical: Canonical = normalize_host
) -> ChainCycle | None:
    """The ring a chain repeats when its busiest edge repeats at least `min_repeat` times, else None.

    The hosts whose edges repeat and reach each other form the ring (Tarjan over the repeated edges);
    with `min_repeat` 1, one round trip (A B A) is enough, as an MTA that stops a loop at its first
    return shows it. One edge repeated with no way back is the one-way ring of a host that adds no line.
    """
    edges = chain_edges(oldest_first, canonical)
    counts = Counter(e for e in edges if e is not None)
    if not counts:
        return None
    ring = _busiest_ring(counts, min_repeat)
    top_edge, top = max(counts.items(), key=lambda kv: (kv[1], kv[0]))
    if ring is not None and ring.passes >= top:
        # The ring starts where the message entered it: the oldest hop inside the component.
        start = next(e[0] for e in edges if e is not None and e in ring.edge_counts)
        hosts, shape = ring_shape(ring.component, ring.edge_counts, start)
        return _located(edges, hosts, shape, ring.passes, closed=True)
    if top < max(2, min_repeat):
        return None  # one hop seen once is no loop
    return _located(edges, top_edge, RingShape.RING, top, closed=False)


class _Ring(NamedTuple):
    """Hosts that reach each other over repeated edges."""

    component: list[str]
    edge_counts: dict[Edge, int]
    """The repeated edges between two members, with their counts."""
    passes: int
    """The busiest of those edges' count."""


def _busiest_ring(counts: Mapping[Edge, int], min_repeat: int) -> _Ring | None:
    """The hosts whose repeated edges reach each other with the busiest edge; None unless it repeats `min_repeat` times.

    An edge counts as repeated from two occurrences, or from one with `min_repeat` 1.
    """
    repeated = {e: n for e, n in counts.items() if n >= min(2, min_repeat)}
    best: _Ring | None = None
    for component in strongly_connected(repeated):
        inner = {e: n for e, n in repeated.items() if e[0] in component and e[1] in component}
        top = max(inner.values())
        # Strictly busier: on a tie the component found first stays, the same one every run (the walk is sorted).
        if top >= min_repeat and (best is None or top > best.passes):
            best = _Ring(component, inner, top)
    return best


def _located(
    edges: Sequence[Edge | None], hosts: tuple[str, ...], shape: RingShape, passes: int, closed: bool
) -> ChainCycle:
    members = set(hosts)
    rows = tuple(i for i, e in enumerate(edges) if e is not None and e[0] in members and e[1] in members)
    # The message is back where it entered with the hop that closes the first turn: from there on the hops
    # repeat. A one-way ring has one recorded hop per pass, so its second occurrence is the first repeat.
    turn = len(hosts) - 1 if closed else 1
    return ChainCycle(hosts, shape, passes, closed, rows, rows[turn:])
