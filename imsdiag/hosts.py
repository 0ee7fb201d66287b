"""Host identity as one stage: learn which names and addresses are one machine, freeze the map, apply it once.

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

`unknown`, `localhost`, loopback addresses and bare mail domains (`company.com` as a tracking-log
partner) are never hosts: `HostMap.canonical` returns None for them, so they never become ring nodes.
"""

from __future__ import annotations

import functools
import ipaddress
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from .models import Direction, Event
from .names import normalize_host

PAIRLESS_SOURCES = frozenset({"ims-archive", "message", "mbox"})
"""Sources whose peer name and IP may come from different places (an archive envelope names the next
hop, its IP field may be the previous one): pairing them would merge two hosts into one."""

NOT_HOSTS = frozenset({"unknown", "localhost", "localhost.localdomain", "none", "local", "loopback"})

MAX_JOINS = 50_000
"""Distinct joins remembered: a few per machine in practice; bounded on logs with ever-new peers."""
MAX_TALKS = 20_000


@functools.lru_cache(maxsize=8192)
def is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


@functools.lru_cache(maxsize=8192)
def is_loopback(name: str | None) -> bool:
    """`localhost`, 127.0.0.0/8 and ::1: a host talking to itself (content filters re-inject this way)."""
    if not name:
        return False
    n = name.strip("[]").lower()
    if n == "localhost" or n.startswith("localhost.") or n.startswith("ipv6:::1"):
        return True
    try:
        return ipaddress.ip_address(n).is_loopback
    except ValueError:
        return False


@functools.lru_cache(maxsize=16384)
def host_key(name: str | None) -> str | None:
    """The normalised form of a name that can denote a machine, or None (`unknown`, loopback, junk)."""
    n = normalize_host(name)
    if not n or n in NOT_HOSTS or is_loopback(n) or len(n) > 255:
        return None
    if any(c.isspace() or c in "<>@,;()\"'/\\" for c in n):
        return None
    return n


def first_label(name: str) -> str:
    return name.split(".", 1)[0]


def _alike(a: str, b: str) -> bool:
    """Two names with the same first label (`IMC2` and `imc2.company.com`), neither an address."""
    ka, kb = host_key(a), host_key(b)
    return bool(ka and kb and ka != kb and not is_ip(ka) and not is_ip(kb) and first_label(ka) == first_label(kb))


def _rank(name: str) -> tuple[int, int, str]:
    """Display preference: a host name with a real top-level domain, other dotted names, short names, IPs."""
    if is_ip(name):
        return (3, 0, name)
    if "." in name:
        tld = name.rsplit(".", 1)[1]
        return (0 if tld.isalpha() else 1, -name.count("."), name)
    return (2, 0, name)


@dataclass(frozen=True)
class Join:
    """Two names of one machine and the evidence that says so."""

    a: str
    b: str
    reason: str


@dataclass
class HostEvidence:
    """What the records said about machine names, gathered per file and merged in any order."""

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
        key = (ka, kb) if ka < kb else (kb, ka)
        if key not in table and len(table) < MAX_JOINS:
            table[key] = reason
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
        peer = ev.peer_host
        pairable = ev.source not in PAIRLESS_SOURCES
        if peer and ev.peer_ip and pairable:
            self._join(self.joins, peer, ev.peer_ip, f"{ev.source} log: {peer}[{ev.peer_ip}]")
            self._name(peer)
        elif peer:
            # A bare IMS tracking partner or deferral domain is a name, not yet a host.
            self._name(peer, role=bool(ev.peer_ip) or is_ip(peer))
        for other in ev.peer_names:
            connected = ev.peer_ip or peer
            self._join(self.joins, connected, other, f"outbound session to {connected} greeted as {other}")
            self._name(other)
        if ev.origin_host and ev.origin_ip:
            self._join(self.joins, ev.origin_host, ev.origin_ip, f"{ev.source} log: {ev.origin_host}[{ev.origin_ip}]")
            self._name(ev.origin_host)
        if ev.helo and peer and ev.direction is Direction.IN and pairable and _alike(peer, ev.helo):
            # `accepted from IMC2.` + `EHLO imc2.company.com`; HELO names can lie, so only a first-label match joins.
            self._join(self.likely, peer, ev.helo, f"{ev.source}: connection from {peer} said EHLO {ev.helo}")
        for hop in ev.received:
            if hop.from_host and hop.from_ip and not is_loopback(hop.from_ip):
                self._join(self.joins, hop.from_host, hop.from_ip, f"Received: from {hop.from_host} [{hop.from_ip}]")
            if hop.from_helo and hop.from_host and _alike(hop.from_helo, hop.from_host):
                self._join(
                    self.likely, hop.from_helo, hop.from_host, f"Received: from {hop.from_helo} ({hop.from_host})"
                )
        if ev.received and server and ev.source == "ims-archive" and ev.direction is Direction.IN:
            top = ev.received[0]
            soft = f"{top.software or ''} {top.with_proto or ''}".lower()
            if top.by_host and "mail service" in soft:
                # The IMS writes the newest Received line of its own inbound copy: `by VHAISHEXC1 with SMTP (...)`.
                self._join(self.joins, server, top.by_host, f"its In\\Archive copy says Received: by {top.by_host}")
        if server and pairable and len(self.talks) < MAX_TALKS:
            for named in (peer, ev.peer_ip, ev.origin_host, ev.origin_ip):
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
                if key not in table and len(table) < MAX_JOINS:
                    table[key] = reason
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
        """
        uf = _UnionFind()
        joins: list[Join] = []
        # Freezing reads the evidence and changes none of it: it may run again with transit joins.
        hosts, servers, known = set(self.hosts), set(self.servers), set(self.names)
        for a, b in user_aliases:
            ka, kb = host_key(a), host_key(b)
            if ka and kb and ka != kb:
                uf.union(ka, kb)
                joins.append(Join(ka, kb, "--host-alias"))
                hosts.update((ka, kb))
        for (a, b), reason in sorted(self.joins.items()):
            if uf.union(a, b):
                joins.append(Join(a, b, reason))
            hosts.update((a, b))
        for j in transit_joins:
            if uf.union(j.a, j.b):
                joins.append(j)
            hosts.update((j.a, j.b))
        talks = self.talks

        def talked(x: str, y: str) -> bool:
            gx, gy = set(uf.members(x)), set(uf.members(y))
            return any((p, q) in talks or (q, p) in talks for p in gx for q in gy)

        for (a, b), reason in sorted(self.likely.items()):
            alike = first_label(a) == first_label(b) and not is_ip(a) and not is_ip(b)
            if alike and not talked(a, b) and uf.union(a, b):
                joins.append(Join(a, b, reason))
        for hint, names in sorted(self.hints.items()):
            # The logs in folder `imc1` name their server `mail.company.com` (its banner): when they name one
            # machine besides the folder's own name, that machine is the folder's.
            others = [n for n in sorted(names) if uf.find(n) != uf.find(hint)]
            target = None
            if len({uf.find(n) for n in others}) == 1:
                target = others[0]
            else:
                same = [n for n in others if first_label(n) == first_label(hint)]
                target = same[0] if same and len({uf.find(n) for n in same}) == 1 else None
            if target and not talked(hint, target) and uf.union(hint, target):
                joins.append(Join(hint, target, f"folder {hint} holds the logs of {target}"))
            servers.add(hint)
            hosts.add(hint)
            known.add(hint)
        joins += _short_names(uf, known, servers, talked)
        domain_set = {d for d in (host_key(x) for x in domains) if d}
        canon: dict[str, str] = {}
        not_hosts: set[str] = set()
        for members in uf.groups(known).values():
            best = min(members, key=_rank)
            for m in members:
                canon[m] = best
            # A mail domain that never showed up as a host (no address, no banner, no log of its own) is
            # a domain: a tracking-log partner or deferral line naming it does not make it a ring node.
            if not any(m in hosts or is_ip(m) for m in members) and any(m in domain_set for m in members):
                not_hosts.update(members)
        return HostMap(canon=canon, joins=tuple(joins), not_hosts=frozenset(not_hosts))


def _short_names(uf: _UnionFind, names: set[str], servers: set[str], talked: Callable[[str, str], bool]) -> list[Join]:
    """Join a short name (`relay`) to the one FQDN with that first label, preferring the site's own domains.

    The site's domains are those of the FQDNs of the servers whose logs were read; a short name is
    never joined to a host it exchanged mail with (a local `mx1` and a foreign `mx1.partner.example`).
    """
    site = {n.split(".", 1)[1] for s in servers for n in uf.members(s) if "." in n and not is_ip(n)}
    by_label: dict[str, set[str]] = defaultdict(set)
    for n in names:
        if "." in n and not is_ip(n):
            by_label[first_label(n)].add(uf.find(n))
    out: list[Join] = []
    for n in sorted(names):
        if "." in n or is_ip(n) or any(first_label(m) == n for m in uf.members(n) if "." in m and not is_ip(m)):
            continue
        roots = {r for r in by_label.get(n, set()) if r != uf.find(n) and not talked(n, r)}
        if len(roots) > 1 and site:
            roots = {r for r in roots if any(m.split(".", 1)[-1] in site for m in uf.members(r) if "." in m)}
        if len(roots) != 1:
            continue
        root = next(iter(roots))
        fqdn = min((m for m in uf.members(root) if first_label(m) == n), key=_rank, default=root)
        if uf.union(n, root):
            domain = fqdn.split(".", 1)[1] if "." in fqdn else fqdn
            out.append(Join(n, fqdn, f"short name {n} is the only {n}.* host in {domain}"))
    return out


class _UnionFind:
    """Union by size with member lists, so a machine's names are at hand without a scan of every name."""

    def __init__(self) -> None:
        self.parent: dict[str, str] = {}
        self._members: dict[str, list[str]] = {}

    def find(self, x: str) -> str:
        parent = self.parent
        if x not in parent:
            parent[x] = x
            self._members[x] = [x]
            return x
        root = x
        while parent[root] != root:
            root = parent[root]
        while parent[x] != root:
            parent[x], x = root, parent[x]
        return root

    def union(self, a: str, b: str) -> bool:
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return False
        if len(self._members[ra]) > len(self._members[rb]):
            ra, rb = rb, ra
        self.parent[ra] = rb
        self._members[rb].extend(self._members.pop(ra))
        return True

    def members(self, x: str) -> list[str]:
        return self._members[self.find(x)]

    def groups(self, names: Iterable[str]) -> dict[str, list[str]]:
        for n in names:
            self.find(n)
        return dict(self._members)


@dataclass(frozen=True)
class HostMap:
    """The frozen answer: every name of a machine -> its one display name, and why names were joined."""

    canon: Mapping[str, str] = field(default_factory=dict)
    joins: tuple[Join, ...] = ()
    not_hosts: frozenset[str] = frozenset()

    def canonical(self, name: str | None) -> str | None:
        """The machine's display name (an FQDN, else a short name, else an IP); None for what is no host."""
        k = host_key(name)
        if not k or k in self.not_hosts:
            return None
        return self.canon.get(k, k)

    def names_of(self, name: str | None) -> tuple[str, ...]:
        """Every name and address known for the machine `name` denotes, best first."""
        c = self.canonical(name)
        if c is None:
            return ()
        return tuple(sorted((n for n, v in self.canon.items() if v == c), key=_rank)) or (c,)

    def same(self, a: str | None, b: str | None) -> bool:
        ca = self.canonical(a)
        return ca is not None and ca == self.canonical(b)

    def aliases(self) -> tuple[tuple[str, str], ...]:
        """(name, machine) for every name shown under another name: enough to rebuild the map."""
        return tuple(sorted((n, c) for n, c in self.canon.items() if n != c))

    @classmethod
    def from_aliases(cls, names: Iterable[tuple[str, str]], not_hosts: Iterable[str] = ()) -> HostMap:
        return cls(canon=dict(names), not_hosts=frozenset(not_hosts))

    def groups(self) -> list[tuple[str, ...]]:
        """Machines known by more than one name, each as its names best first."""
        out: dict[str, list[str]] = defaultdict(list)
        for n, c in self.canon.items():
            out[c].append(n)
        return [tuple(sorted(v, key=_rank)) for v in out.values() if len(v) > 1]
