"""Received-chain detector: messages whose own `Received:` chain repeats the same hop (A -> B -> A -> B ...)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import NamedTuple

from ..evidence import Evidence
from ..graph import ChainCycle, chain_cycle, chain_edges
from ..humanize import utc
from ..models import EdgePasses, Event, Hop, Loop, LoopKind, RingShape
from .addresses import looped_address
from .clusters import time_span


class _CycleSighting(NamedTuple):
    """One message whose chain repeats a ring."""

    event: Event
    passes: int
    closed: bool
    """Both directions of the ring are recorded (see `graph.ChainCycle.closed`)."""
    hops: int
    """Received lines of the chain."""
    edges: tuple[EdgePasses, ...] = ()
    """The ring's hops in this chain, with the dates of their Received lines."""


_RingKey = tuple[tuple[str, ...], str, bool]
"""(ring, looping address, the chain is a bounce's returned original)."""


def detect_chain_loops(corr: Evidence, min_repeat: int) -> list[Loop]:
    """One Loop per (ring, recipient), gathering every message whose chain shows that ring.

    Each MIME part is judged on its own: a bounce that embeds the original's headers carries a second
    chain, and two chains side by side are not a loop.
    """
    groups: dict[_RingKey, list[_CycleSighting]] = defaultdict(list)
    shapes: dict[tuple[str, ...], RingShape] = {}
    for ev in corr.cyclic:
        chains = [(ev.received, False)] + [(c, True) for c in ev.embedded_received]
        for chain, embedded in chains:
            found = chain_cycle(list(reversed(chain)), min_repeat, corr.canonical)
            if found is None:
                continue
            shapes[found.hosts] = found.shape
            key = (found.hosts, _looped_for(ev, chain, embedded), embedded)
            edges = _ring_edges(chain, found, corr)
            groups[key].append(_CycleSighting(ev, found.passes, found.closed, len(chain), edges))
    return [_chain_loop(key, sightings, shapes[key[0]]) for key, sightings in sorted(groups.items())]


def _ring_edges(chain: Sequence[Hop], found: ChainCycle, corr: Evidence) -> tuple[EdgePasses, ...]:
    """Each hop of the ring the chain repeats, with the dates of its Received lines, in ring order."""
    oldest_first = list(reversed(chain))
    edges = chain_edges(oldest_first, corr.canonical)
    seen: dict[tuple[str, str], list[Hop]] = {}
    for i in found.rows:
        edge = edges[i]
        if edge is not None:
            seen.setdefault(edge, []).append(oldest_first[i])
    return tuple(
        EdgePasses(a, b, len(hops), tuple(sorted(utc(h.date) for h in hops if h.date))) for (a, b), hops in seen.items()
    )


def _looped_for(ev: Event, chain: Sequence[Hop], embedded: bool) -> str:
    """The address the chain looped for, or "" when nothing names one."""
    # A bounce's returned original looped for the address the DSN names, not for the bounce's
    # own recipient (the original sender).
    named = looped_address(ev) if embedded else (ev.recipients[0] if ev.recipients else "")
    return named or next((h.for_addr for h in chain if h.for_addr), "")


def _chain_loop(key: _RingKey, sightings: list[_CycleSighting], shape: RingShape) -> Loop:
    """The Loop of every message whose chain repeats one ring for one address."""
    ring, rcpt, embedded = key
    events = sorted((s.event for s in sightings), key=lambda e: (e.time is None, e.time, e.location))
    first_seen, last_seen = time_span(events)
    closed = any(s.closed for s in sightings)
    return Loop(
        kind=LoopKind.RECEIVED_CYCLE,
        hosts=ring,
        addresses=(rcpt,) if rcpt else (),
        events=tuple(events),
        passes=max(s.passes for s in sightings),
        first_seen=first_seen,
        last_seen=last_seen,
        notes=_chain_notes(ring, closed, embedded),
        messages=len(events),
        hops=max(s.hops for s in sightings),
        shape=shape,
        # One message's chain: the copy that made the most passes shows when each pass crossed each hop.
        edges=max(sightings, key=lambda s: s.passes).edges,
    )


def _chain_notes(ring: tuple[str, ...], closed: bool, embedded: bool) -> tuple[str, ...]:
    """What the reader needs told about the chain: only one direction recorded, or found inside a bounce."""
    notes = []
    if not closed:
        notes.append(
            f"only {ring[0]} → {ring[1]} is recorded, repeated with no hop back between: "
            "the host that sends it back adds no Received line"
        )
    if embedded:
        notes.append("the repeating chain is in a returned original inside a bounce")
    return tuple(notes)
