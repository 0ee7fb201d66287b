"""Host identity as one stage: learn which names and addresses are one machine, freeze the map, apply it once."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from .hostjoins import HostJoiner
from .hostmap import HostMap, Join, host_key, is_ip, is_loopback, same_first_label
from .models import Direction, Event, Hop, Source

PAIRLESS_SOURCES = frozenset({Source.IMS_ARCHIVE, Source.MESSAGE, Source.MBOX})
"""Sources whose peer name and IP may come from different places (an archive envelope names the next
hop, its IP field may be the previous one): pairing them would merge two hosts into one."""

MAX_JOINS = 50_000
"""Distinct joins remembered: a few per machine in practice; bounded on logs with ever-new peers."""
MAX_TALKS = 20_000


def _alike(a: str, b: str) -> bool:
    """Two names with the same first label (`IMC2` and `imc2.company.com`), neither an address."""
    ka, kb = host_key(a), host_key(b)
    return bool(ka and kb and ka != kb and same_first_label(ka, kb))


def _remember(table: dict[tuple[str, str], str], key: tuple[str, str], reason: str) -> None:
    """Keep the first reason seen for a pair, up to MAX_JOINS pairs."""
    if key not in table and len(table) < MAX_JOINS:
        table[key] = reason


@dataclass
class HostEvidence:
    """What the records said about machine names, gathered per file and merged in any order.

    A relay log says `imc1.company.com [120.120.120.120]`, the IMS's own log says `A connection to
    120.120.120.5 was established` and is greeted by `220 relay.company.com`, a folder says `IMC1`, a
    syslog prefix says `relay`. Every later stage (clocks, detectors, rules, the servers table, evidence
    labels, fingerprints, `--server-tz`, `explain`) must see one machine under one name. Joins come from
    evidence that names a machine, each with the reason a reader can check in `scan -v`:

    - strong joins, proven by one record: `name[ip]` in an MTA log, an outbound session's connected
      address and the peer's 220 banner / EHLO reply, `Received: from x (rdns [ip])`, a relay's
      `client=` and `relay=` pairs, the IMS's own Received line in its inbound archive copy;
    - corroborated joins, where two names only *look* alike: `accepted from IMC2.` + `EHLO imc2.company.com`,
      a folder name and the name the logs inside it give, a syslog host `relay` and the one FQDN
      `relay.company.com` in the site's domain. They need the same first label (or one machine in the
      folder) and are never made between two hosts that exchanged mail with each other;
    - the user's `--host-alias A=B`.
    """

    joins: dict[tuple[str, str], str] = field(default_factory=dict)
    """Proven pairs (sorted) -> the first reason seen."""
    likely: dict[tuple[str, str], str] = field(default_factory=dict)
    """Pairs that need corroboration (same first label) before they are joined."""
    names: set[str] = field(default_factory=set)
    servers: set[str] = field(default_factory=set)
    """Names that wrote logs we read (the syslog host, the IMS banner, the folder hint)."""
    hosts: set[str] = field(default_factory=set)
    """Names seen in a host role (a server, a peer with an address, a banner): never a bare domain."""
    talks: set[tuple[str, str]] = field(default_factory=set)
    """(server, peer) pairs that exchanged mail: two ends of a transit are two machines."""
    hints: dict[str, set[str]] = field(default_factory=dict)
    """Folder hint -> the server names the logs inside it gave."""

    def _join(self, table: dict[tuple[str, str], str], a: str | None, b: str | None, reason: str) -> None:
        ka, kb = host_key(a), host_key(b)
        if not ka or not kb or ka == kb:
            return
        _remember(table, (ka, kb) if ka < kb else (kb, ka), reason)
        self.names.add(ka)
        self.names.add(kb)

    def _name(self, name: str | None, role: bool = True) -> str | None:
        k = host_key(name)
        if k:
            self.names.add(k)
            if role:
                self.hosts.add(k)
        return k

    def learn(self, ev: Event) -> None:
        """Every name pairing one record proves or suggests."""
        server = self._name(ev.server)
        if server:
            self.servers.add(server)
        pairable = ev.source not in PAIRLESS_SOURCES
        self._learn_peer(ev, pairable)
        self._learn_greeting_names(ev)
        if ev.origin_host and ev.origin_ip:
            self._join_logged_address(ev.source, ev.origin_host, ev.origin_ip)
        if pairable:
            self._learn_helo(ev)
        self._learn_received(ev.received)
        if server:
            self._learn_own_received(ev, server)
            if pairable:
                self._learn_talks(ev, server)

    def _join_logged_address(self, source: str, name: str, ip: str) -> None:
        self._join(self.joins, name, ip, f"{source} log: {name}[{ip}]")
        self._name(name)

    def _learn_peer(self, ev: Event, pairable: bool) -> None:
        peer = ev.peer_host
        if peer and ev.peer_ip and pairable:
            self._join_logged_address(ev.source, peer, ev.peer_ip)
        elif peer:
            # A bare IMS tracking partner or deferral domain is a name, not yet a host.
            self._name(peer, role=bool(ev.peer_ip) or is_ip(peer))

    def _learn_greeting_names(self, ev: Event) -> None:
        """An outbound session's connected address and the names the peer greeted with (220 banner, EHLO reply)."""
        for other in ev.peer_names:
            connected = ev.peer_ip or ev.peer_host
            self._join(self.joins, connected, other, f"outbound session to {connected} greeted as {other}")
            self._name(other)

    def _learn_helo(self, ev: Event) -> None:
        peer, helo = ev.peer_host, ev.helo
        if helo and peer and ev.direction is Direction.IN and _alike(peer, helo):
            # `accepted from IMC2.` + `EHLO imc2.company.com`; HELO names can lie, so only a first-label match joins.
            self._join(self.likely, peer, helo, f"{ev.source}: connection from {peer} said EHLO {helo}")

    def _learn_received(self, hops: Iterable[Hop]) -> None:
        for hop in hops:
            if hop.from_host and hop.from_ip and not is_loopback(hop.from_ip):
                self._join(self.joins, hop.from_host, hop.from_ip, f"Received: from {hop.from_host} [{hop.from_ip}]")
            if hop.from_helo and hop.from_host and _alike(hop.from_helo, hop.from_host):
                self._join(
                    self.likely, hop.from_helo, hop.from_host, f"Received: from {hop.from_helo} ({hop.from_host})"
                )

    def _learn_own_received(self, ev: Event, server: str) -> None:
        if not ev.received or ev.source != Source.IMS_ARCHIVE or ev.direction is not Direction.IN:
            return
        top = ev.received[0]
        soft = f"{top.software or ''} {top.with_proto or ''}".lower()
        if not top.by_host or "mail service" not in soft:
            return
        # The IMS writes the newest Received line of its own inbound copy: `by VHAISHEXC1 with SMTP (...)`.
        self._join(self.joins, server, top.by_host, f"its In\\Archive copy says Received: by {top.by_host}")
        own = {k for k in (server, host_key(top.by_host)) if k}  # never None: a hop with no HELO must not match
        for hop in ev.received[1:]:
            if _greeted_as_own_unnamed(hop, own):
                # The receipt came back to this IMS through a relay that got it from [ip] greeting with this
                # IMS's own name, and no reverse DNS named [ip]: the IMS's own copy says [ip] is the IMS.
                self._join(
                    self.joins,
                    server,
                    hop.from_ip,
                    f"its In\\Archive copy came back through {hop.by_host} from [{hop.from_ip}], "
                    f"which greeted as {hop.from_helo}",
                )

    def _learn_talks(self, ev: Event, server: str) -> None:
        """The names `server` exchanged mail with in this record: they are never joined to it."""
        if len(self.talks) >= MAX_TALKS:
            return
        for named in (ev.peer_host, ev.peer_ip, ev.origin_host, ev.origin_ip):
            talked = host_key(named)
            if talked and talked != server:
                self.talks.add((server, talked))

    def learn_file(self, hint: str | None, servers: Iterable[str]) -> None:
        """A folder hint and the server names its files gave (joined at freeze time when they agree)."""
        h = host_key(hint)
        if not h:
            return
        bucket = self.hints.setdefault(h, set())
        for s in servers:
            k = host_key(s)
            if k and len(bucket) < 64:
                bucket.add(k)

    def merge(self, other: HostEvidence) -> None:
        for table, theirs in ((self.joins, other.joins), (self.likely, other.likely)):
            for key, reason in theirs.items():
                _remember(table, key, reason)
        self.names |= other.names
        self.servers |= other.servers
        self.hosts |= other.hosts
        if len(self.talks) < MAX_TALKS:
            self.talks |= other.talks
        for h, names in other.hints.items():
            self.hints.setdefault(h, set()).update(names)

    def freeze(
        self,
        user_aliases: Iterable[tuple[str, str]] = (),
        domains: Iterable[str] = (),
        transit_joins: Iterable[Join] = (),
    ) -> HostMap:
        """The one host map of this scan; `domains` are mail domains seen in addresses (not hosts by themselves).

        `transit_joins` are names proven one machine by the two ends of one transit (see `evidence`).
        The most trusted joins are made first: the user's aliases, proven joins, transit joins, then the
        corroborated look-alike names, folder names and short names.
        """
        joiner = HostJoiner(self.hosts, self.servers, self.names, self.talks)
        joiner.join_user_aliases(user_aliases)
        # In name order, so that the map does not depend on the order the files were read in.
        joiner.join_proven(Join(a, b, reason) for (a, b), reason in sorted(self.joins.items()))
        joiner.join_proven(transit_joins)
        joiner.join_look_alikes(sorted(self.likely.items()))
        joiner.join_folders(sorted(self.hints.items()))
        joiner.join_short_names()
        return joiner.host_map(domains)


# With the names other stages import from here and `hostmap` defines.
__all__ = ["MAX_JOINS", "MAX_TALKS", "PAIRLESS_SOURCES", "HostEvidence"]


def _greeted_as_own_unnamed(hop: Hop, own: set[str]) -> bool:
    """A hop from an [ip] no reverse DNS named, whose HELO was one of `own` names (not loopback)."""
    unnamed = not hop.from_host or is_ip(hop.from_host)
    return bool(
        hop.from_ip and hop.from_helo and unnamed and host_key(hop.from_helo) in own and not is_loopback(hop.from_ip)
    )
