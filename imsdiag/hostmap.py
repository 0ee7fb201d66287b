"""The frozen host map (every name of a machine -> its one display name) and what counts as a machine's name."""

from __future__ import annotations

import functools
import ipaddress
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from .names import normalize_host

NOT_HOSTS = frozenset({"unknown", "localhost", "localhost.localdomain", "none", "local", "loopback"})


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
    """The normalised form of a name that can denote a machine, or None.

    `unknown`, `localhost`, loopback addresses and junk are never hosts, so they never become ring nodes.
    """
    n = normalize_host(name)
    if not n or n in NOT_HOSTS or is_loopback(n) or len(n) > 255:
        return None
    if any(c.isspace() or c in "<>@,;()\"'/\\" for c in n):
        return None
    return n


def first_label(name: str) -> str:
    return name.split(".", 1)[0]


def same_first_label(a: str, b: str) -> bool:
    """Two host names (not addresses) that look alike: `IMC2` and `imc2.company.com`."""
    return first_label(a) == first_label(b) and not is_ip(a) and not is_ip(b)


def display_rank(name: str) -> tuple[int, int, str]:
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


@dataclass(frozen=True)
class HostMap:
    """The frozen answer: every name of a machine -> its one display name, and why names were joined.

    Bare mail domains (`company.com` as a tracking-log partner) are `not_hosts`: `canonical` returns None
    for them, as for `unknown`, `localhost` and loopback addresses.
    """

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
        return tuple(sorted((n for n, v in self.canon.items() if v == c), key=display_rank)) or (c,)

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
        return [tuple(sorted(v, key=display_rank)) for v in out.values() if len(v) > 1]
