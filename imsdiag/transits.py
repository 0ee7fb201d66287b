"""The hops one record proves, as (from machine, to machine): the shared edge of detectors and clocks."""

from __future__ import annotations

from collections.abc import Callable

from .graph import Edge, hop_edge
from .models import Direction, Event, Source

MAX_HOPS = 4
"""Received lines of an archived copy read as this pass's transits: one pass has two or three."""


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


def received_edges(ev: Event, canonical: Callable[[str | None], str | None]) -> tuple[Edge, ...]:
    """The hops an IMS archive copy's newest Received lines prove, oldest first.

    A receipt the IMS re-creates on every pass carries this pass's Received lines: the relay's
    `from imc1 by relay` proves the hop the IMS's own archive envelope may not name. Counted as an
    observer of its own, so a pass seen in an In and an Out copy is not counted twice.
    """
    if ev.source != Source.IMS_ARCHIVE or not ev.received:
        return ()
    edges: list[Edge] = []
    for hop in reversed(ev.received[:MAX_HOPS]):
        edge = hop_edge(hop)
        a, b = canonical(edge[0]), canonical(edge[1])
        if a and b and a != b and (a, b) not in edges:
            edges.append((a, b))
    return tuple(edges)
