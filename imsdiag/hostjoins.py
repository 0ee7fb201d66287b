"""Joining names into machines, most trusted evidence first, and freezing the result into one HostMap."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from .hostmap import HostMap, Join, display_rank, first_label, host_key, is_ip, same_first_label


class HostJoiner:
    """Unions the names of one machine step by step, keeping every join that merged two machines, in order.

    Each step may use what the steps before it joined: a look-alike name is refused when any name of
    its machine exchanged mail with any name of the other, and a short name goes to the one FQDN left.
    The order of the steps and of the names within them decides ties, so it is part of the result.
    """

    def __init__(
        self, hosts: Iterable[str], servers: Iterable[str], names: Iterable[str], talks: set[tuple[str, str]]
    ) -> None:
        self.uf = _UnionFind()
        self.joins: list[Join] = []
        # Copies: freezing reads the evidence and changes none of it, as it may run again with transit joins.
        self.hosts, self.servers, self.known = set(hosts), set(servers), set(names)
        self.talks = talks

    def join_user_aliases(self, user_aliases: Iterable[tuple[str, str]]) -> None:
        """`--host-alias A=B`: listed even when earlier aliases already joined the two, as the user gave it."""
        for a, b in user_aliases:
            ka, kb = host_key(a), host_key(b)
            if ka and kb and ka != kb:
                self.uf.union(ka, kb)
                self.joins.append(Join(ka, kb, "--host-alias"))
                self.hosts.update((ka, kb))

    def join_proven(self, joins: Iterable[Join]) -> None:
        """Joins one record (or both ends of one transit) proves; both names are hosts."""
        for j in joins:
            if self.uf.union(j.a, j.b):
                self.joins.append(j)
            self.hosts.update((j.a, j.b))

    def join_look_alikes(self, likely: Iterable[tuple[tuple[str, str], str]]) -> None:
        """Names that only look alike (same first label), unless their machines exchanged mail."""
        for (a, b), reason in likely:
            if same_first_label(a, b) and not self._talked(a, b) and self.uf.union(a, b):
                self.joins.append(Join(a, b, reason))

    def join_folders(self, hints: Iterable[tuple[str, set[str]]]) -> None:
        """A folder name to the machine whose logs it holds; every folder name is a server's name."""
        for hint, names in hints:
            target = self._folder_machine(hint, names)
            if target and not self._talked(hint, target) and self.uf.union(hint, target):
                self.joins.append(Join(hint, target, f"folder {hint} holds the logs of {target}"))
            self.servers.add(hint)
            self.hosts.add(hint)
            self.known.add(hint)

    def _folder_machine(self, hint: str, names: set[str]) -> str | None:
        """The logs in folder `imc1` name their server `mail.company.com` (its banner): when they name one
        machine besides the folder's own name, or one whose names share the folder's first label, it is the folder's.
        """
        find = self.uf.find
        others = [n for n in sorted(names) if find(n) != find(hint)]
        if len({find(n) for n in others}) == 1:
            return others[0]
        same = [n for n in others if first_label(n) == first_label(hint)]
        return same[0] if same and len({find(n) for n in same}) == 1 else None

    def join_short_names(self) -> None:
        """Join a short name (`relay`) to the one FQDN with that first label, preferring the site's own domains.

        The site's domains are those of the FQDNs of the servers whose logs were read; a short name is
        never joined to a host it exchanged mail with (a local `mx1` and a foreign `mx1.partner.example`).
        """
        uf = self.uf
        site = self._site_domains()
        by_label = self._fqdn_machines_by_label()
        for n in sorted(self.known):
            if "." in n or is_ip(n) or self._has_fqdn_of_its_own(n):
                continue
            root = self._only_fqdn_machine(n, by_label.get(n, set()), site)
            if root is None:
                continue
            fqdn = min((m for m in uf.members(root) if first_label(m) == n), key=display_rank, default=root)
            if uf.union(n, root):
                domain = fqdn.split(".", 1)[1] if "." in fqdn else fqdn
                self.joins.append(Join(n, fqdn, f"short name {n} is the only {n}.* host in {domain}"))

    def _site_domains(self) -> set[str]:
        return {n.split(".", 1)[1] for s in self.servers for n in self.uf.members(s) if _is_dotted_name(n)}

    def _fqdn_machines_by_label(self) -> dict[str, set[str]]:
        """First label -> the machines with a dotted name starting with it."""
        by_label: dict[str, set[str]] = defaultdict(set)
        for n in self.known:
            if _is_dotted_name(n):
                by_label[first_label(n)].add(self.uf.find(n))
        return by_label

    def _has_fqdn_of_its_own(self, short: str) -> bool:
        return any(first_label(m) == short for m in self.uf.members(short) if _is_dotted_name(m))

    def _only_fqdn_machine(self, short: str, fqdn_machines: set[str], site: set[str]) -> str | None:
        """The one machine with an FQDN `short.*` (in the site's domains, when there are several), if there is one."""
        uf = self.uf
        roots = {r for r in fqdn_machines if r != uf.find(short) and not self._talked(short, r)}
        if len(roots) > 1 and site:
            # Several machines fit: keep those with a name in one of the site's domains.
            roots = {r for r in roots if any(m.split(".", 1)[-1] in site for m in uf.members(r) if "." in m)}
        return next(iter(roots)) if len(roots) == 1 else None

    def _talked(self, x: str, y: str) -> bool:
        """Whether any name of x's machine exchanged mail with any of y's: two ends of a transit are two machines."""
        gx, gy = set(self.uf.members(x)), set(self.uf.members(y))
        talks = self.talks
        return any((p, q) in talks or (q, p) in talks for p in gx for q in gy)

    def host_map(self, domains: Iterable[str]) -> HostMap:
        """Each machine shown under its best name; a mail domain that never showed up as a host is none.

        A domain with no address, no banner and no log of its own is a tracking-log partner or a
        deferral line's destination: naming it does not make it a ring node.
        """
        domain_set = {d for d in (host_key(x) for x in domains) if d}
        canon: dict[str, str] = {}
        not_hosts: set[str] = set()
        for members in self.uf.groups(self.known).values():
            best = min(members, key=display_rank)
            for m in members:
                canon[m] = best
            if not any(m in self.hosts or is_ip(m) for m in members) and any(m in domain_set for m in members):
                not_hosts.update(members)
        return HostMap(canon=canon, joins=tuple(self.joins), not_hosts=frozenset(not_hosts))


def _is_dotted_name(name: str) -> bool:
    return "." in name and not is_ip(name)


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
