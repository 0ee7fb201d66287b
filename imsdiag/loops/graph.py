"""The host graph of a loop: strongly connected hosts, and the one statement of how they connect (ring or hub)."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence

from ..models import RingShape
from ..transits import Edge


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
