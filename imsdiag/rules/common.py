"""Helpers every rule shares: evidence selection, rates, fingerprints, build comparisons, wording."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from datetime import datetime

from ..correlate import IMS_SOURCES
from ..humanize import ring_kind, ring_text
from ..loops.addresses import BOUNCE_SOURCES
from ..models import Confidence, EdgePasses, Event, Evidence, Finding, Loop, RingShape, Severity
from .base import Rule

MAX_EVIDENCE = 10


def fingerprint(rule_id: str, hosts: Iterable[str], addresses: Iterable[str], extra: str = "") -> str:
    """A stable id for a finding: independent of line numbers, file names and ring start, so rotation keeps it."""
    key = "|".join([rule_id, ",".join(sorted(set(hosts))), ",".join(sorted(set(addresses))), extra])
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()[:20]


def rate_per_hour(passes: int | None, first: datetime | None, last: datetime | None) -> float | None:
    if first is None or last is None or passes is None or passes < 2:
        return None
    hours = (last - first).total_seconds() / 3600
    return round((passes - 1) / hours, 1) if hours > 0 else None


def pick_evidence(events: Sequence[Event], notes: dict[int, str] | None = None) -> tuple[Evidence, ...]:
    """The lines a reader needs: the first sighting in each source and server, then the latest one.

    One line per source shows the loop is seen everywhere (protocol log, tracking log, archive,
    relay log) without printing every pass.
    """
    chosen: list[Event] = []
    seen: set[tuple[str, str | None]] = set()
    for ev in events:
        key = (ev.source, ev.server)
        if key not in seen:
            seen.add(key)
            chosen.append(ev)
        if len(chosen) >= MAX_EVIDENCE - 1:
            break
    if events and events[-1] not in chosen:
        chosen.append(events[-1])
    out = []
    for ev in chosen:
        note = (notes or {}).get(id(ev), "") or describe(ev)
        out.append(Evidence(ev.location, ev.text or ev.subject or "", note))
    return tuple(out)


def describe(ev: Event) -> str:
    """A short label for an evidence line: source, direction, envelope."""
    parts: list[str] = [ev.source]
    if ev.direction.value not in ("unknown",):
        parts.append(ev.direction.value)
    if ev.server:
        parts.append(f"at {ev.server}")
    if ev.peer_host or ev.peer_ip:
        parts.append(f"peer {ev.peer_host or ev.peer_ip}")
    if ev.sender == "":
        parts.append("MAIL FROM:<>")
    if ev.report_kind.is_report:
        parts.append(ev.report_kind.value)
    if ev.loop_signal:
        parts.append(ev.loop_signal.value)
    return ", ".join(parts)


def message_ids(events: Iterable[Event], limit: int = 200) -> tuple[str, ...]:
    """Every id of the involved messages (Message-ID, spool/queue id, MTS-ID), for `explain`."""
    ids: list[str] = []
    seen: set[str] = set()
    for ev in events:
        for i in (ev.message_id, ev.queue_id, ev.mts_id):
            if i and i not in seen:
                seen.add(i)
                ids.append(i)
                if len(ids) >= limit:
                    return tuple(ids)
    return tuple(ids)


def in_own_logs(events: Iterable[Event]) -> bool:
    """Whether any evidence comes from a scanned server's own records (a log, a tracking log, an IMS archive).

    The severity policy (docs/rules.md): the same loop is an `error` when your own servers show it and a
    `warning` when all you have is a bounce another network sent, whichever detector found it.
    """
    return any(e.source not in BOUNCE_SOURCES for e in events)


def ims_involved(loops: Sequence[Loop]) -> bool:
    """Whether an Exchange 5.x IMS is part of the evidence: its own logs, or its software named in a record."""
    return any(
        e.source in IMS_SOURCES or "internet mail service" in (e.software or "").lower() or "00120270" in e.text
        for lp in loops
        for e in lp.events
    )


def base_finding(
    rule: type[Rule],
    loops: Sequence[Loop],
    *,
    title: str,
    summary: str,
    confidence: Confidence,
    reasons: Sequence[str] = (),
    cause: str = "",
    fix: Sequence[str] = (),
    severity: Severity | None = None,
    details: Sequence[tuple[str, str]] = (),
    builds: Sequence[tuple[str, str]] = (),
    fingerprint_extra: str = "",
    references: Sequence[str] | None = None,
    build_verdict: str = "",
    ims_hosts: Sequence[str] = (),
) -> Finding:
    """A Finding covering `loops` (the first is the main one), with the shared fields filled.

    Where the main loop does not know its hosts or round trips (an MTA's loop text), a related
    Received-chain cycle (the returned original's) supplies them: one ring statement per finding.
    """
    main = loops[0]
    events = sorted({id(e): e for lp in loops for e in lp.events}.values(), key=_event_order)
    hosts = tuple(dict.fromkeys(h for lp in loops for h in lp.hosts))
    addresses = tuple(dict.fromkeys(a for lp in loops for a in lp.addresses if a))
    first, last = _time_range(loops)
    shown = shown_loop(loops)
    passes = round_trips(loops)
    return Finding(
        rule_id=rule.id,
        slug=rule.slug,
        severity=severity or _severity(rule, events),
        confidence=confidence,
        title=title,
        summary=summary,
        hosts=shown.hosts,
        addresses=addresses,
        first_seen=first,
        last_seen=last,
        passes=passes,
        # The main loop's own counts: a supporting chain cycle's copies are sightings of the same passes,
        # and in a Q178436 loop no message makes more than one pass, so there is no hop count to carry.
        messages=main.messages or max(lp.messages for lp in loops),
        hops=main.hops,
        shape=shown.shape,
        reporter=main.reporter,
        build_verdict=build_verdict,
        rate_per_hour=rate_per_hour(passes, first, last),
        period_seconds=main.period_seconds,
        evidence=pick_evidence(events),
        confidence_reasons=tuple(reasons),
        cause=cause,
        fix=tuple(fix),
        references=rule.references if references is None else tuple(references),
        message_ids=message_ids(events),
        builds=tuple(builds),
        fingerprint=fingerprint(rule.id, main.hosts or hosts, addresses, fingerprint_extra),
        details=tuple(details),
        edges=ring_edges(loops, shown),
        roles=host_roles(shown.hosts, ims_hosts),
    )


def ring_edges(loops: Sequence[Loop], shown: Loop) -> tuple[EdgePasses, ...]:
    """The shown ring's hops with their pass times: its own, else a related loop's over the same hosts."""
    if shown.edges:
        return shown.edges
    hosts = set(shown.hosts)
    return next((lp.edges for lp in loops if lp.edges and set(lp.hosts) == hosts), ())


def host_roles(hosts: Sequence[str], ims_hosts: Sequence[str]) -> tuple[tuple[str, str], ...]:
    """Each ring host's part: `IMS` for the rule's IMS hosts, `relay` for the others beside one, else `MTA`."""
    ims = set(ims_hosts)
    other = "relay" if ims else "MTA"
    return tuple((h, "IMS" if h in ims else other) for h in hosts)


def _severity(rule: type[Rule], events: Sequence[Event]) -> Severity:
    """The severity policy (docs/rules.md): `error` when a scanned server's own records show the loop."""
    return rule.default_severity if in_own_logs(events) else rule.bounce_severity


def _time_range(loops: Sequence[Loop]) -> tuple[datetime | None, datetime | None]:
    firsts = [lp.first_seen for lp in loops if lp.first_seen]
    lasts = [lp.last_seen for lp in loops if lp.last_seen]
    return (min(firsts) if firsts else None), (max(lasts) if lasts else None)


def round_trips(loops: Sequence[Loop]) -> int | None:
    """The main loop's round trips, else a related chain cycle's (an MTA's loop text counts messages only)."""
    if loops[0].passes is not None:
        return loops[0].passes
    return next((lp.passes for lp in loops if lp.passes), None)


def shown_loop(loops: Sequence[Loop]) -> Loop:
    """The loop whose hosts a finding states: the main one, or a related chain cycle when the main one has none."""
    main = loops[0]
    if main.hosts or main.shape is not RingShape.UNKNOWN:
        return main
    return next((lp for lp in loops if lp.hosts), main)


def ring_statement(loops: Sequence[Loop]) -> str:
    """The finding's one ring statement (`a → b → a`, `hub ⇄ a, b`, `inside a`, `unknown (reported by x)`)."""
    shown = shown_loop(loops)
    return ring_text(shown.hosts, shown.shape, loops[0].reporter)


def ring_shown(loops: Sequence[Loop]) -> RingShape:
    """What the finding's hosts show (`humanize.ring_kind`): a ring or hub, one MTA, or unknown."""
    shown = shown_loop(loops)
    return ring_kind(shown.hosts, shown.shape)


def _event_order(e: Event) -> tuple[bool, datetime | None, str, int]:
    return (e.time is None, e.time, e.location.path, e.location.line)


def parse_build(build: str) -> tuple[int, ...] | None:
    """`5.5.1960.3` -> (5, 5, 1960, 3); None when it is not a dotted build."""
    try:
        parts = tuple(int(p) for p in build.strip().split("."))
    except ValueError:
        return None
    return parts if len(parts) >= 3 else None
