"""The IMS servers: host, Exchange server name, site and build, from `--ims`/`--site`, the logs and the export."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace

from ..rules.common import parse_build
from .records import Ims, Mailbox
from .routing import Routes


def server_of(host: str) -> str:
    """The Exchange server name an IMS host carries: its first label in upper case (`imc1.company.com` -> `IMC1`)."""
    return host.split(".", 1)[0].upper()


def newest(builds: Iterable[str]) -> str | None:
    """The highest build (a server upgraded while its logs were written runs the last one)."""
    known = [(parse_build(b), b) for b in builds]
    ranked = sorted((p, b) for p, b in known if p is not None)
    return ranked[-1][1] if ranked else None


@dataclass
class ImsTable:
    """Every IMS known to this audit, and every Exchange server's site."""

    by_host: dict[str, Ims] = field(default_factory=dict)
    sites: dict[str, tuple[str, str]] = field(default_factory=dict)
    """SERVER -> (site, how it was learned)."""

    @classmethod
    def build(
        cls,
        mailboxes: Sequence[Mailbox],
        ims_options: Sequence[tuple[str, str]] = (),
        site_options: Sequence[tuple[str, str]] = (),
        log_servers: Sequence[tuple[str, Sequence[str]]] = (),
    ) -> ImsTable:
        table = cls()
        votes: dict[str, Counter[str]] = defaultdict(Counter)
        spelling: dict[tuple[str, str], str] = {}
        for mb in mailboxes:
            if mb.home_server and mb.site:
                votes[mb.home_server][mb.site.casefold()] += 1
                spelling.setdefault((mb.home_server, mb.site.casefold()), mb.site)
        for server, counter in votes.items():
            site_key, n = counter.most_common(1)[0]
            table.sites[server] = (spelling[(server, site_key)], f"export ({n} mailbox(es) homed there)")
        for server, site in site_options:
            table.sites[server.upper()] = (site, "--site")
        for name, builds in log_servers:
            build = newest(builds)
            if build is not None:
                table._add(name, build, "logs (" + ", ".join(builds) + ")")
        for host, build in ims_options:
            table._add(host, build, "--ims")  # the command line wins over the logs
        return table

    def _add(self, host: str, build: str, source: str) -> None:
        host = host.lower().rstrip(".")
        server = server_of(host)
        self.by_host[host] = Ims(host, server, None, "", build, source)

    def site_of(self, server: str | None) -> tuple[str | None, str]:
        if server is None or server.upper() not in self.sites:
            return None, ""
        return self.sites[server.upper()]

    def find(self, host: str, routes: Routes) -> Ims | None:
        """The IMS on `host` (by name, by server name, or by a name sharing its address), or None."""
        for name in (host, *routes.same_machine(host)):
            found = self._lookup(name)
            if found is not None:
                return found
        server = server_of(host)
        if server in self.sites:
            # A mail exchanger named like a server of the export: the IMS of that server, build not known.
            site, source = self.sites[server]
            return Ims(host, server, site, source, None, "")
        return None

    def _lookup(self, host: str) -> Ims | None:
        ims = self.by_host.get(host)
        if ims is None:
            server = server_of(host)
            ims = next((i for i in self.by_host.values() if i.server == server), None)
        if ims is None:
            return None
        site, source = self.site_of(ims.server)
        return replace(ims, host=host if "." in host else ims.host, site=site, site_source=source)
