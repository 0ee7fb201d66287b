"""Received-chain detector: messages whose own `Received:` chain repeats the same hop (A -> B -> A -> B ...).

Each MIME part is judged on its own: a bounce that embeds the original's headers carries a second
chain, and two chains side by side are not a loop.
"""

from __future__ import annotations

from collections import defaultdict

from ..evidence import Evidence
from ..graph import chain_cycle
from ..models import Event, Loop, LoopKind, RingShape
from .addresses import looped_address


def detect_chain_loops(corr: Evidence, min_repeat: int) -> list[Loop]:
    """One Loop per (ring, recipient), gathering every message whose chain shows that ring."""
    groups: dict[tuple[tuple[str, ...], str, bool], list[tuple[Event, int, bool, int]]] = defaultdict(list)
    shapes: dict[tuple[str, ...], RingShape] = {}
    for ev in corr.cyclic:
        chains = [(ev.received, False)] + [(c, True) for c in ev.embedded_received]
        for chain, embedded in chains:
            found = chain_cycle(list(reversed(chain)), min_repeat, corr.canonical)
            if found is None:
                continue
            ring, reps, closed = found.hosts, found.passes, found.closed
            shapes[ring] = found.shape
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
                kind=LoopKind.RECEIVED_CYCLE,
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
