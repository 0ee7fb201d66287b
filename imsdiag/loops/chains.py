"""Received-chain detector: messages whose own `Received:` chain repeats the same hop (A -> B -> A -> B ...).

Each MIME part is judged on its own: a bounce that embeds the original's headers carries a second
chain, and two chains side by side are not a loop.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence

from ..correlate import hop_edge
from ..evidence import Evidence
from ..models import Event, Hop, Loop, RingShape
from ..transits import Edge
from .addresses import looped_address
from .graph import ring_shape, strongly_connected


def chain_cycle(
    chain: Sequence[Hop], corr: Evidence, min_repeat: int
) -> tuple[tuple[str, ...], RingShape, int, bool] | None:
    """(hosts, shape, repetitions, closed) for a chain whose busiest edge repeats >= min_repeat times.

    `closed` is False when only one direction of the ring is recorded: the Q178436 shape, where
    the relay adds a Received line on every pass and the IMS, re-creating the receipt, adds none.
    """
    counts: Counter[Edge] = Counter()
    for hop in reversed(chain):  # oldest first, as the message travelled
        a, b = hop_edge(hop)
        a, b = corr.canonical(a), corr.canonical(b)
        if a and b and a != b:
            counts[(a, b)] += 1
    if not counts:
        return None
    top_edge, top = max(counts.items(), key=lambda kv: (kv[1], kv[0]))
    if top < min_repeat:
        return None
    repeated = {e: n for e, n in counts.items() if n >= 2}
    for comp in strongly_connected(repeated):
        if top_edge[0] in comp and top_edge[1] in comp:
            hosts, shape = ring_shape(comp, repeated, top_edge[0])
            return hosts, shape, top, True
    return (top_edge[0], top_edge[1]), RingShape.RING, top, False


def detect_chain_loops(corr: Evidence, min_repeat: int) -> list[Loop]:
    """One Loop per (ring, recipient), gathering every message whose chain shows that ring."""
    groups: dict[tuple[tuple[str, ...], str, bool], list[tuple[Event, int, bool, int]]] = defaultdict(list)
    shapes: dict[tuple[str, ...], RingShape] = {}
    for ev in corr.cyclic:
        chains = [(ev.received, False)] + [(c, True) for c in ev.embedded_received]
        for chain, embedded in chains:
            found = chain_cycle(chain, corr, min_repeat)
            if found is None:
                continue
            ring, shape, reps, closed = found
            shapes[ring] = shape
            # A bounce's returned original looped for the address the DSN names, not for the bounce's
            # own recipient (the original sender).
            rcpt = (looped_address(ev) if embedded else (ev.recipients[0] if ev.recipients else "")) or next(
                (h.for_addr for h in chain if h.for_addr), ""
            )
            groups[(ring, rcpt, embedded)].append((ev, reps, closed, len(chain)))
    loops: list[Loop] = []
    for (ring, rcpt, embedded), items in sorted(groups.items()):
        events = sorted((e for e, _, _, _ in items), key=lambda e: (e.time is None, e.time, e.location))
        times = [e.time for e in events if e.time is not None]
        closed = any(c for _, _, c, _ in items)
        notes = []
        if not closed:
            notes.append(
                f"only {ring[0]} → {ring[1]} is recorded, repeated with no hop back between: "
                "the host that sends it back adds no Received line"
            )
        if embedded:
            notes.append("the repeating chain is in a returned original inside a bounce")
        loops.append(
            Loop(
                kind="received-cycle",
                hosts=ring,
                addresses=(rcpt,) if rcpt else (),
                events=tuple(events),
                passes=max(r for _, r, _, _ in items),
                first_seen=min(times) if times else None,
                last_seen=max(times) if times else None,
                notes=tuple(notes),
                messages=len(events),
                hops=max(n for _, _, _, n in items),
                shape=shapes[ring],
                one_way=not closed,
            )
        )
    return loops


def recurring_segment(chain: Sequence[Hop], corr: Evidence) -> tuple[tuple[str, ...], int] | None:
    """The hosts between the first `by` host that recurs and its return, oldest first (A, B for A B A),
    with the round trips the chain shows (how often that host came back).

    Weaker than a cycle: one round trip is enough. Explicit loop reports use it to name the hosts
    when an MTA stopped the loop at its first repeat (Postfix's Delivered-To check).
    """
    seq: list[str] = []
    for hop in reversed(chain):
        b = corr.canonical(hop_edge(hop)[1])
        if b and (not seq or seq[-1] != b):
            seq.append(b)
    first_seen: dict[str, int] = {}
    for i, host in enumerate(seq):
        if host in first_seen:
            return tuple(dict.fromkeys(seq[first_seen[host] : i])), seq.count(host) - 1
        first_seen[host] = i
    return None
