"""The hops one record proves, as (from machine, to machine): the shared edge of detectors and clocks."""

from __future__ import annotations

from collections.abc import Callable

from .models import Direction, Event

Edge = tuple[str, str]


def transit_edges(ev: Event, canonical: Callable[[str | None], str | None]) -> tuple[Edge, ...]:
    """The hops an event proves, in `canonical` names.

    An inbound session proves peer -> server, an outbound one server -> peer; a relay's delivery
    record that names where the message came from proves both hops of the transit
    (origin -> relay -> next hop), so a relay's log alone can show the whole ring.
    """
    server = canonical(ev.server)
    if not server:
        return ()
    peer = canonical(ev.peer_host) or canonical(ev.peer_ip)
    edges: list[Edge] = []
    if ev.direction is Direction.OUT:
        origin = canonical(ev.origin_host) or canonical(ev.origin_ip)
        if origin and origin != server:
            edges.append((origin, server))
        if peer and peer != server:
            edges.append((server, peer))
    elif ev.direction is Direction.IN and peer and peer != server:
        edges.append((peer, server))
    return tuple(edges)
