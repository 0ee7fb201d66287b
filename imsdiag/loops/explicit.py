"""Explicit evidence: loop texts an MTA wrote (hop limit, loops back to myself, ...) and auto-reply volleys."""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Sequence
from typing import NamedTuple

from ..evidence import Evidence
from ..graph import chain_cycle
from ..models import Event, Loop, LoopKind, LoopSignal, RingShape
from ..names import subject_stem
from .addresses import BOUNCE_SOURCES, looped_address
from .clusters import split_by_gap, time_span

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
        groups[(ev.loop_signal, _signal_key(ev, corr))].append(ev)
    loops: list[Loop] = []
    for (signal, key), events in sorted(groups.items(), key=lambda kv: (kv[0][0].value, kv[0][1])):
        loops += (_explicit_loop(signal, key, cluster, corr) for cluster in split_by_gap(events, window_seconds))
    return loops


def _signal_key(ev: Event, corr: Evidence) -> str:
    """What a loop text is about: `host:NAME` or `domain:NAME` for a loop back to oneself, else an address or host."""
    if ev.loop_signal is LoopSignal.LOOPS_BACK:
        # "loops back to myself" is about a host and its MX, not one address: one finding per host
        # (or, for a pasted bounce text with no host, per domain named).
        host = corr.canonical(ev.server) or corr.canonical(ev.peer_host)
        return "host:" + host if host else "domain:" + (_loops_back_domain(ev.text) or "")
    return looped_address(ev) or corr.canonical(ev.peer_host) or corr.canonical(ev.server) or ""


def _explicit_loop(signal: LoopSignal, key: str, cluster: list[Event], corr: Evidence) -> Loop:
    """One burst of one signal about one key, with where the loop ran as far as the evidence shows it."""
    first_seen, last_seen = time_span(cluster)
    where = _where(cluster, signal, corr)
    return Loop(
        kind=LoopKind.EXPLICIT,
        hosts=where.hosts,
        addresses=(key,) if "@" in key else _addresses_or_domain(cluster, key),
        events=tuple(cluster),
        passes=where.passes,
        first_seen=first_seen,
        last_seen=last_seen,
        signal=signal,
        # One report is often seen twice (the MTA's log line and the bounce it sent):
        # count the messages in the source that saw most of them, not every sighting.
        messages=max(Counter(e.source for e in cluster).values()),
        hops=_stated_hops(cluster) or _returned_hops(cluster),
        shape=where.shape,
        reporter=where.reporter,
    )


class _Where(NamedTuple):
    """Where a reported loop ran, as far as the evidence shows it."""

    hosts: tuple[str, ...]
    shape: RingShape
    passes: int | None
    """Round trips, when a returned chain shows them."""
    reporter: str | None


def _where(cluster: list[Event], signal: LoopSignal, corr: Evidence) -> _Where:
    """The ring a returned chain or the reporting hosts show; one host looping to itself; else only the reporter."""
    reporter = _reporter(cluster, corr)
    found = _ring_from_chains(cluster, corr)
    hosts = _hosts_named(cluster, corr, found[0] if found else ())
    if found or len(hosts) > 1:
        return _Where(tuple(hosts), RingShape.RING, found[1] if found else None, reporter)
    if _loops_inside_one_host(signal, cluster):
        # The MTA sends the mail back to itself (its MX, its own alias table): the loop is that one host.
        one = hosts[0] if hosts else reporter
        if one:
            return _Where((one,), RingShape.ONE_HOST, None, one)
    # One host alone is who reported it, not a ring: say the ring is unknown and name the reporter.
    return _Where((), RingShape.UNKNOWN, None, reporter or (hosts[0] if hosts else None))


def _hosts_named(cluster: list[Event], corr: Evidence, first: Sequence[str]) -> list[str]:
    """`first`, then the servers and peers the loop reports name, each once."""
    hosts = list(first)
    for e in cluster:
        if e.source in BOUNCE_SOURCES:
            # A bounce's own transport hops (who delivered the bounce to us) are not the ring: only its
            # returned original's chain is.
            continue
        for h in (corr.canonical(e.server), corr.canonical(e.peer_host) or corr.canonical(e.peer_ip)):
            if h and h not in hosts:
                hosts.append(h)
    return hosts


def _loops_inside_one_host(signal: LoopSignal, cluster: list[Event]) -> bool:
    """The MTA loops back to itself, or reports a forwarding loop no other host took part in."""
    return signal is LoopSignal.LOOPS_BACK or (signal is LoopSignal.FORWARDING_LOOP and _inside_one_mta(cluster))


_ALIAS_LOOP = re.compile(r"(?i)alias(?:ing)?(?:/forwarding)? loop|aliases deep")
_STATED_HOPS = re.compile(
    r"(?i)too many hops \(?(\d{1,4})|received (\d{1,4}) times|hop count(?: of| was| is)? (\d{1,4})\b"
)
_REPORTER_IN_TEXT = re.compile(
    r"(?i)\b(?:mailer|server|host)\s+<?\[?([a-z0-9][\w.-]{0,252}\.[a-z0-9-]{1,63}|\d{1,3}(?:\.\d{1,3}){3})\]?>?\s+"
    r"(?:said|refused|replied|rejected)"
)


def _inside_one_mta(cluster: list[Event]) -> bool:
    """An alias expansion loop (`aliasing/forwarding loop broken`), or a forward reported with no other host."""
    return any(_ALIAS_LOOP.search(_loop_text(e)) for e in cluster) or all(
        e.peer_host is None and e.peer_ip is None for e in cluster if e.source not in BOUNCE_SOURCES
    )


def _loop_text(e: Event) -> str:
    return dict(e.headers).get("loop-evidence") or e.text[:2000]


def _stated_hops(cluster: list[Event]) -> int | None:
    """The hop count an MTA wrote in its loop text (`Too many hops 26 (25 max)`, `received 6 times`)."""
    for e in cluster:
        m = _STATED_HOPS.search(_loop_text(e))
        if m:
            return int(next(g for g in m.groups() if g))
    return None


def _returned_hops(cluster: list[Event]) -> int | None:
    """Received lines of the looping copy: a bounce's returned original, or the message's own chain."""
    counts = [len(c) for e in cluster for c in e.embedded_received if c]
    counts += [len(e.received) for e in cluster if e.source not in BOUNCE_SOURCES and e.received]
    return max(counts) if counts else None


def _reporter(cluster: list[Event], corr: Evidence) -> str | None:
    """The MTA that reported the loop: a log's own server, a DSN's Reporting-MTA, the host its text quotes."""
    for e in cluster:
        if e.source not in BOUNCE_SOURCES and e.server:
            return corr.canonical(e.server) or e.server
    for e in cluster:
        named = dict(e.headers).get("reporting-mta")
        if named:
            return named
    for e in cluster:
        m = _REPORTER_IN_TEXT.search(_loop_text(e))
        if m:
            return m.group(1).lower().rstrip(".")
    for e in cluster:
        sender_domain = dict(e.headers).get("report-from-domain")
        if sender_domain:
            return sender_domain
    return None


def _ring_from_chains(events: list[Event], corr: Evidence) -> tuple[tuple[str, ...], int] | None:
    """Hosts of a round trip shown by a bounce's returned original (or the message's own chain), and its round trips."""
    for e in events:
        # A bounce's own chain is how the bounce reached us; only a returned original shows the loop.
        own = () if e.source in BOUNCE_SOURCES and e.report_kind.is_report else (e.received,)
        for chain in (*e.embedded_received, *own):
            # One round trip is enough here: an MTA that reports the loop often stopped it at the first return.
            found = chain_cycle(list(reversed(chain)), 1, corr.canonical)
            if found and len(found.hosts) > 1:
                return found.hosts, found.passes
    return None


def detect_auto_reply_volleys(corr: Evidence, min_passes: int, window_seconds: float) -> list[Loop]:
    """Auto-replies answering each other: both addresses of a pair keep sending auto-replies to the other."""
    loops: list[Loop] = []
    for pair, events in sorted(_reply_pairs(corr).items(), key=lambda kv: sorted(kv[0])):
        if len(pair) != 2:
            continue  # an address answering itself
        for cluster in split_by_gap(events, window_seconds):
            loop = _volley(pair, cluster, corr, min_passes)
            if loop is not None:
                loops.append(loop)
    return loops


def _reply_pairs(corr: Evidence) -> dict[frozenset[str], list[Event]]:
    """Auto-replies grouped by the two addresses they pass between, whichever way."""
    pairs: dict[frozenset[str], list[Event]] = defaultdict(list)
    for ev in corr.auto_replies:
        if ev.sender and ev.recipients:
            pairs[frozenset((ev.sender, ev.recipients[0]))].append(ev)
    return pairs


def _volley(pair: frozenset[str], cluster: list[Event], corr: Evidence, min_passes: int) -> Loop | None:
    """The burst as a volley when both sides replied at least twice and there were `min_passes` replies; else None."""
    directions = Counter(e.sender for e in cluster)
    if len(directions) < 2 or min(directions.values()) < 2 or len(cluster) < min_passes:
        return None
    first_seen, last_seen = time_span(cluster)
    stems = Counter(s for s in (subject_stem(e.subject) for e in cluster) if s)
    return Loop(
        kind=LoopKind.AUTO_REPLY_VOLLEY,
        hosts=tuple(sorted({h for e in cluster if (h := corr.canonical(e.server))})),
        addresses=tuple(sorted(pair)),
        events=tuple(cluster),
        # A round trip is one reply each way; every reply is a message of its own.
        passes=min(directions.values()),
        messages=len(cluster),
        first_seen=first_seen,
        last_seen=last_seen,
        subject_stem=stems.most_common(1)[0][0] if stems else None,
    )
