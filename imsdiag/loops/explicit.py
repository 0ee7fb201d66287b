"""Explicit evidence: loop texts an MTA wrote (hop limit, loops back to myself, ...) and auto-reply volleys."""

from __future__ import annotations

import re
from collections import Counter, defaultdict

from ..evidence import Evidence
from ..models import Event, Loop, LoopSignal
from ..names import subject_stem
from .addresses import BOUNCE_SOURCES, looped_address
from .chains import recurring_segment
from .crossmessage import split_by_gap

_LOOPS_BACK_DOMAIN = re.compile(r"mail for ([\w.-]{1,253}) loops back", re.IGNORECASE)


def _loops_back_domain(text: str) -> str | None:
    m = _LOOPS_BACK_DOMAIN.search(text[:2000])
    return m.group(1).lower().rstrip(".") if m else None


def _addresses_or_domain(cluster: list[Event], key: str) -> tuple[str, ...]:
    """Recipients of the events; for a domain-keyed group with none, the domain itself."""
    found = tuple(sorted({r for e in cluster for r in e.recipients if "@" in r}))
    if found:
        return found
    return (key.split(":", 1)[1],) if key.startswith("domain:") and key != "domain:" else ()


def detect_explicit(corr: Evidence, window_seconds: float) -> list[Loop]:
    """Group loop-signal events by signal and the address (or domain) they are about."""
    groups: dict[tuple[LoopSignal, str], list[Event]] = defaultdict(list)
    for ev in corr.signals:
        assert ev.loop_signal is not None
        if ev.loop_signal is LoopSignal.LOOPS_BACK:
            # "loops back to myself" is about a host and its MX, not one address: one finding per host
            # (or, for a pasted bounce text with no host, per domain named).
            host = corr.canonical(ev.server) or corr.canonical(ev.peer_host)
            key = "host:" + host if host else "domain:" + (_loops_back_domain(ev.text) or "")
        else:
            key = looped_address(ev) or corr.canonical(ev.peer_host) or corr.canonical(ev.server) or ""
        groups[(ev.loop_signal, key)].append(ev)
    loops: list[Loop] = []
    for (signal, key), events in sorted(groups.items(), key=lambda kv: (kv[0][0].value, kv[0][1])):
        for cluster in split_by_gap(events, window_seconds):
            hosts: list[str] = list(_ring_from_chains(cluster, corr))
            for e in cluster:
                if e.source in BOUNCE_SOURCES:
                    # A bounce's own transport hops (who delivered the bounce to us) are not the ring: only its
                    # returned original's chain is. Without one the ring is unknown and stays empty.
                    continue
                for h in (corr.canonical(e.server), corr.canonical(e.peer_host) or corr.canonical(e.peer_ip)):
                    if h and h not in hosts:
                        hosts.append(h)
            times = [e.time for e in cluster if e.time is not None]
            loops.append(
                Loop(
                    kind="explicit",
                    hosts=tuple(hosts),
                    addresses=(key,) if "@" in key else _addresses_or_domain(cluster, key),
                    events=tuple(cluster),
                    # One report is often seen twice (the MTA's log line and the bounce it sent):
                    # count the messages in the source that saw most of them, not every sighting.
                    passes=max(Counter(e.source for e in cluster).values()),
                    first_seen=min(times) if times else None,
                    last_seen=max(times) if times else None,
                    signal=signal,
                )
            )
    return loops


def _ring_from_chains(events: list[Event], corr: Evidence) -> tuple[str, ...]:
    """Hosts of a round trip shown by a bounce's returned original (or the message's own chain)."""
    for e in events:
        # A bounce's own chain is how the bounce reached us; only a returned original shows the loop.
        own = () if e.source in BOUNCE_SOURCES and e.report_kind.is_report else (e.received,)
        for chain in (*e.embedded_received, *own):
            seg = recurring_segment(chain, corr)
            if seg and len(seg) > 1:
                return seg
    return ()


def detect_auto_reply_volleys(corr: Evidence, min_passes: int, window_seconds: float) -> list[Loop]:
    """Auto-replies answering each other: both addresses of a pair keep sending auto-replies to the other."""
    pairs: dict[frozenset[str], list[Event]] = defaultdict(list)
    for ev in corr.auto_replies:
        if not ev.sender or not ev.recipients:
            continue
        pairs[frozenset((ev.sender, ev.recipients[0]))].append(ev)
    loops: list[Loop] = []
    for pair, events in sorted(pairs.items(), key=lambda kv: sorted(kv[0])):
        if len(pair) != 2:
            continue
        for cluster in split_by_gap(events, window_seconds):
            directions = Counter(e.sender for e in cluster)
            # A volley needs replies in both directions, each side at least twice.
            if len(directions) < 2 or min(directions.values()) < 2 or len(cluster) < min_passes:
                continue
            times = [e.time for e in cluster if e.time is not None]
            stems = Counter(s for s in (subject_stem(e.subject) for e in cluster) if s)
            hosts = sorted({h for e in cluster if (h := corr.canonical(e.server))})
            loops.append(
                Loop(
                    kind="auto-reply-volley",
                    hosts=tuple(hosts),
                    addresses=tuple(sorted(pair)),
                    events=tuple(cluster),
                    passes=len(cluster),
                    first_seen=min(times) if times else None,
                    last_seen=max(times) if times else None,
                    subject_stem=stems.most_common(1)[0][0] if stems else None,
                )
            )
    return loops
