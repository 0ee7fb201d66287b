"""Where mail for a domain goes: `--mx` options first, then zone-file MX records, wildcard MX, then A (no MX)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from .records import Route, ZoneRecord


@dataclass
class Routes:
    """The routing facts of one audit."""

    mx: dict[str, list[ZoneRecord]] = field(default_factory=lambda: defaultdict(list))
    addresses: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    cname: dict[str, str] = field(default_factory=dict)
    given: dict[str, str] = field(default_factory=dict)
    """DOMAIN -> HOST from `--mx`: wins over the zone files."""

    @classmethod
    def build(cls, records: Iterable[ZoneRecord], given: Sequence[tuple[str, str]] = ()) -> Routes:
        routes = cls()
        for r in records:
            if r.rtype == "MX":
                routes.mx[r.owner].append(r)
            elif r.rtype in ("A", "AAAA"):
                routes.addresses[r.owner].add(r.value)
            elif r.rtype == "CNAME":
                routes.cname[r.owner] = r.value
        for domain, host in given:
            routes.given[domain.lower().rstrip(".")] = host.lower().rstrip(".")
        return routes

    def route(self, domain: str) -> Route | None:
        """The hosts that receive mail for `domain`, or None when nothing routes it."""
        domain = domain.lower().rstrip(".")
        if domain in self.given:
            return Route(domain, (self.given[domain],), "--mx")
        name = self._canonical(domain)
        records = self.mx.get(name)
        how = "MX"
        if not records:
            wildcard = self._wildcard(name)
            if wildcard is not None:
                records, how = self.mx[wildcard], f"wildcard MX {wildcard}"
        if records:
            best = min(r.preference for r in records)
            hosts = tuple(dict.fromkeys(self._canonical(r.value) for r in records if r.preference == best))
            first = next(r for r in records if r.preference == best)
            return Route(domain, hosts, f"{how} {best} ({first.location})")
        if name in self.addresses:
            # RFC 5321 5.1: no MX, so the domain's own address record is the mail host (KB Q260247).
            return Route(domain, (name,), "A record, no MX")
        return None

    def _canonical(self, name: str) -> str:
        seen: set[str] = set()
        while name in self.cname and name not in seen:
            seen.add(name)
            name = self.cname[name]
        return name

    def _wildcard(self, name: str) -> str | None:
        labels = name.split(".")
        for i in range(1, len(labels)):
            candidate = "*." + ".".join(labels[i:])
            if candidate in self.mx:
                return candidate
        return None

    def same_machine(self, host: str) -> list[str]:
        """Other names whose address records share an address with `host` (one machine, several names)."""
        mine = self.addresses.get(host, set())
        if not mine:
            return []
        return sorted(h for h, ips in self.addresses.items() if h != host and ips & mine)
