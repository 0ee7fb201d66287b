"""The frozen evidence detectors read: one host map and one clock applied, once, to every kept event."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone, tzinfo

from .clocks import Offset, infer_offsets, shifted
from .correlate import Correlator, better_name_source
from .hostmap import HostMap, Join
from .models import Direction, Event, TimeQuality
from .names import domain_of
from .runs import Run


@dataclass(frozen=True)
class Evidence:
    """What survived reading, on one host map and one clock."""

    candidates: tuple[Event, ...] = ()
    runs: Mapping[str, tuple[Run, ...]] = field(default_factory=dict)
    """Recipient -> the hopless events `candidates` only counts (see `runs.Run`), on the same names and clock."""
    signals: tuple[Event, ...] = ()
    cyclic: tuple[Event, ...] = ()
    auto_replies: tuple[Event, ...] = ()
    hosts: HostMap = field(default_factory=HostMap)
    builds: Mapping[str, frozenset[str]] = field(default_factory=dict)
    software: Mapping[str, frozenset[str]] = field(default_factory=dict)
    ims_servers: frozenset[str] = frozenset()
    addresses: Mapping[str, frozenset[str]] = field(default_factory=dict)
    servers: Mapping[str, str] = field(default_factory=dict)
    """Machine (canonical name) -> how its name was found (`banner`, `content`, `option`, `path`)."""
    offsets: tuple[Offset, ...] = ()
    first_time: datetime | None = None
    last_time: datetime | None = None

    def canonical(self, host: str | None) -> str | None:
        return self.hosts.canonical(host)


def freeze(
    corr: Correlator,
    user_aliases: Iterable[tuple[str, str]] = (),
    server_tz: Iterable[tuple[str, tzinfo]] = (),
    infer_zones: bool = True,
) -> Evidence:
    """The immutable snapshot of a finished read: after the merge of the per-file correlators nothing is mutated.

    Builds the host map, puts every kept event on its machine's canonical name (raw names kept beside
    it), corrects zone-less local stamps (the user's `--server-tz` under any of a host's names, then the
    offsets inferred from matching transits) and hands the detectors, rules and reporters one snapshot.
    """
    hm = _host_map(corr, user_aliases)
    zones = machine_zones(hm, server_tz)
    candidates, signals, cyclic, autos = (
        [place_event(e, hm, zones) for e in evs]
        for evs in (corr.candidates, corr.signals, corr.cyclic, corr.auto_replies)
    )
    offsets: list[Offset] = []
    if infer_zones:
        offsets = infer_offsets([*candidates, *signals], lambda s: s, skip=list(zones))
    shift = {o.server: o.offset for o in offsets}
    if shift:
        candidates, signals, cyclic, autos = (
            [_retime(e, shift) for e in evs] for evs in (candidates, signals, cyclic, autos)
        )
    first, last = _span(corr, hm, shift, zones)
    return Evidence(
        candidates=tuple(candidates),
        runs={
            rcpt: tuple(r.mapped(lambda e: _retime(place_event(e, hm, zones), shift)) for r in runs)
            for rcpt, runs in corr.runs.items()
        },
        signals=tuple(signals),
        cyclic=tuple(cyclic),
        auto_replies=tuple(autos),
        hosts=hm,
        builds=_by_machine(corr.builds, hm),
        software=_by_machine(corr.software, hm),
        ims_servers=frozenset(c for s in corr.ims_servers if (c := hm.canonical(s))),
        addresses={k: frozenset(v) for k, v in corr.addresses.items()},
        servers=_servers(corr.servers, hm),
        offsets=tuple(offsets),
        first_time=first,
        last_time=last,
    )


def _host_map(corr: Correlator, user_aliases: Iterable[tuple[str, str]]) -> HostMap:
    """The scan's host map, frozen again with the joins both ends of a transit prove when there are any."""
    domains = {d for addrs in corr.addresses.values() for a in addrs if (d := domain_of(a))}
    aliases = tuple(user_aliases)
    hm = corr.hosts.freeze(aliases, domains)
    pairs = transit_joins(corr.candidates, hm)
    if pairs:
        hm = corr.hosts.freeze(aliases, domains, pairs)
    return hm


_Senders = dict[tuple[str, str | None], set[str]]
"""(Message-ID, receiving machine, or None for any) -> the machines that sent it."""
_Receipt = tuple[str, str, str, str]
"""(Message-ID, receiving machine, sending machine, the sender as the receiving log named it)."""


def transit_joins(events: Iterable[Event], hm: HostMap) -> list[Join]:
    """Names proven one machine by both ends of one transit.

    The relay logged Message-ID M going out to imc1, and imc1 logged M coming in from `10.1.1.20`:
    `10.1.1.20` is the relay, whatever the relay calls itself. Only a Message-ID seen leaving exactly
    one server for the receiving machine (or, when no log names the destination host, exactly one server
    other than the receiver) counts.
    """
    sent, received = _transits_by_message_id(events, hm)
    out: dict[tuple[str, str], Join] = {}
    for mid, server, peer, raw in received:
        senders = sent.get((mid, server), set()) or (sent.get((mid, None), set()) - {server})
        if len(senders) != 1:
            continue
        sender = next(iter(senders))
        if sender != peer and (peer, sender) not in out:
            out[(peer, sender)] = Join(peer, sender, f"{server} logged {raw} sending <{mid}>, which {sender} sent")
    return list(out.values())


def _transits_by_message_id(events: Iterable[Event], hm: HostMap) -> tuple[_Senders, list[_Receipt]]:
    """Who sent each Message-ID (to which machine), and every receipt of one from another machine."""
    sent: _Senders = {}
    received: list[_Receipt] = []
    for ev in events:
        server = hm.canonical(ev.server)
        if not ev.message_id or not server:
            continue
        peer = hm.canonical(ev.peer_host) or hm.canonical(ev.peer_ip)
        if ev.direction is Direction.OUT and peer != server:
            # Also by Message-ID alone: a tracking log's outbound record names only the destination domain.
            sent.setdefault((ev.message_id, None), set()).add(server)
            if peer:
                sent.setdefault((ev.message_id, peer), set()).add(server)
        elif ev.direction is Direction.IN and peer and peer != server:
            received.append((ev.message_id, server, peer, ev.peer_host or ev.peer_ip or peer))
    return sent, received


def machine_zones(hm: HostMap, server_tz: Iterable[tuple[str, tzinfo]]) -> dict[str, tzinfo]:
    """`--server-tz` entries keyed by machine, whichever of its names the user gave."""
    zones: dict[str, tzinfo] = {}
    for name, tz in server_tz:
        c = hm.canonical(name)
        if c:
            zones[c] = tz
    return zones


def place_event(
    ev: Event, hm: HostMap, zones: Mapping[str, tzinfo], offsets: Mapping[str, timedelta] | None = None
) -> Event:
    """`ev` on its machines' canonical names and on the scan's one clock (user zones, then inferred offsets)."""
    ev = canonical_event(ev, hm)
    if ev.time is not None and ev.time_quality is TimeQuality.ZONE_ASSUMED:
        tz = zones.get(ev.server or "")
        if tz is not None:
            # Read as UTC for want of a zone; the user named this machine's zone under another name.
            local = ev.time.replace(tzinfo=None)
            ev = replace(ev, time=local.replace(tzinfo=tz).astimezone(timezone.utc), time_quality=TimeQuality.EXACT)
        elif offsets:
            ev = _retime(ev, offsets)
    return ev


def canonical_event(ev: Event, hm: HostMap) -> Event:
    """`ev` with server, peer and origin on their machines' canonical names; the log's own names kept."""
    server = hm.canonical(ev.server) or ev.server
    peer = hm.canonical(ev.peer_host) or hm.canonical(ev.peer_ip)
    origin = hm.canonical(ev.origin_host) or hm.canonical(ev.origin_ip)
    changes: dict[str, object] = {}
    if server != ev.server:
        changes["server"], changes["raw_server"] = server, ev.server
    if peer != ev.peer_host:
        changes["peer_host"], changes["raw_peer"] = peer, ev.peer_host or ev.peer_ip
    if origin != ev.origin_host:
        changes["origin_host"] = origin
    return replace(ev, **changes) if changes else ev  # type: ignore[arg-type]


def _retime(ev: Event, offsets: Mapping[str, timedelta]) -> Event:
    """The event on the one clock: its zone-assumed time corrected by its server's inferred offset."""
    off = offsets.get(ev.server or "")
    return shifted(ev, off) if off is not None else ev


def _by_machine(table: Mapping[str, set[str]], hm: HostMap) -> dict[str, frozenset[str]]:
    out: dict[str, set[str]] = {}
    for name, values in table.items():
        out.setdefault(hm.canonical(name) or name, set()).update(values)
    return {k: frozenset(v) for k, v in out.items()}


def _servers(servers: Mapping[str, str], hm: HostMap) -> dict[str, str]:
    out: dict[str, str] = {}
    for name, src in servers.items():
        c = hm.canonical(name) or name
        old = out.get(c)
        if better_name_source(src, old):
            out[c] = src
    return out


def _span(
    corr: Correlator, hm: HostMap, shift: Mapping[str, timedelta], zones: Mapping[str, tzinfo]
) -> tuple[datetime | None, datetime | None]:
    """First and last time of the input, with every server's stamps on the corrected clock."""
    bounds: list[datetime] = []
    for (server, assumed), (lo, hi) in corr.spans.items():
        c = hm.canonical(server) or server
        if assumed and c in zones:
            tz = zones[c]
            lo, hi = (t.replace(tzinfo=None).replace(tzinfo=tz).astimezone(timezone.utc) for t in (lo, hi))
        elif assumed and c in shift:
            lo, hi = lo - shift[c], hi - shift[c]
        bounds += [lo, hi]
    if not bounds:
        return corr.first_time, corr.last_time
    return min(bounds), max(bounds)


__all__ = ["Evidence", "canonical_event", "freeze", "machine_zones", "place_event"]
