"""Summing up ordinary events as an extractor meets them, into EventTally records."""

from __future__ import annotations

from datetime import datetime

from ...models import Direction, Event, EventTally, Source, TimeQuality
from ..base import ParseContext
from ..common import evolve
from .blocks import Memo

HostFacts = (
    tuple[str, str | None, Direction, str | None, str | None, str | None, str | None]
    | tuple[str, str | None, Direction, str | None, str | None, str | None, str | None, str | None]
)
"""(source, server, direction, peer host, peer ip, origin host, origin ip[, helo]): what host evidence learns
from an event; the HELO name only where the log gives one with the peer (Exim's `H=host (helo) [ip]`)."""


_ZONE_ASSUMED = TimeQuality.ZONE_ASSUMED

SENT_CAP = 65536
"""Host facts (and address groups) remembered as sent per file, so memory stays flat on logs of ever-new peers."""


def _address_group(addresses: tuple[str | None, ...]) -> tuple[str, ...]:
    return tuple([a for a in addresses if a and "@" in a])  # a list is quicker to build than a generator


class TallyBuilder:
    """The ordinary events of one stretch of a file, summed up the way the Correlator would learn them."""

    def __init__(self, ctx: ParseContext, server_source: str = "content") -> None:
        self.ctx = ctx
        self._server_source = server_source
        """How the events' server was named (the Correlator ranks the sources): the syslog host is content."""
        self._since = ctx.since
        self._until = ctx.until
        self._windowed = bool(ctx.since or ctx.until)
        self._groups: Memo[tuple[str | None, ...], tuple[str, ...]] = Memo(_address_group)
        """The addresses of an event that name a mailbox: a log names the same few pairs again and again."""
        self._templates: dict[str, Event] = {}
        # Host facts and address groups already sent in an earlier tally of this file: the Correlator
        # learning them again changes nothing (joins, names, talks and addresses are sets that keep the
        # first), so each goes out once, not once per tally (a log with many kept events flushes often).
        self._sent_peers: set[HostFacts] = set()
        self._sent_addresses: set[tuple[str, ...]] = set()
        self._clear()

    def _clear(self) -> None:
        self.events = 0
        self.outside = 0
        self.servers: dict[str, int] = {}
        self.times: dict[tuple[datetime, str, bool], int] = {}
        self.peers: dict[HostFacts, None] = {}
        self.addresses: dict[tuple[str, ...], None] = {}

    def add(
        self,
        when: datetime | None,
        quality: TimeQuality,
        facts: HostFacts,
        addresses: tuple[str | None, ...],
    ) -> None:
        """One ordinary event: its time (and `quality`), its host facts and the addresses it named.

        Called once per ordinary line of a log: what is looked up here is held in locals or memos.
        """
        self.events += 1
        server = facts[1]
        if server:
            servers = self.servers
            servers[server] = servers.get(server, 0) + 1
        else:
            server = ""  # the times key's spelling of no server
        if when is not None:
            if self._windowed and ((self._since and when < self._since) or (self._until and when > self._until)):
                self.outside += 1
                return
            key = (when, server, quality is _ZONE_ASSUMED)
            times = self.times
            times[key] = times.get(key, 0) + 1
        if facts not in self.peers and facts not in self._sent_peers:
            self.peers[facts] = None
        group = self._groups[addresses]
        if group and group not in self.addresses and group not in self._sent_addresses:
            self.addresses[group] = None

    def flush(self, lineno: int) -> EventTally | None:
        """The tally of the events added since the last flush (None when there were none)."""
        if not self.events:
            return None
        tally = EventTally(
            location=self.ctx.loc(lineno),
            events=self.events,
            outside=self.outside,
            servers=tuple(self.servers.items()),
            times=tuple((t, s, a, n) for (t, s, a), n in self.times.items()),
            peers=tuple(self._event(f) for f in self.peers),
            addresses=tuple(self.addresses),
        )
        if len(self._sent_peers) + len(self.peers) > SENT_CAP:
            self._sent_peers.clear()  # forgetting only costs sending one again
        self._sent_peers.update(self.peers)
        if len(self._sent_addresses) + len(self.addresses) > SENT_CAP:
            self._sent_addresses.clear()
        self._sent_addresses.update(self.addresses)
        self._clear()
        return tally

    def _event(self, facts: HostFacts) -> Event:
        source, server, direction, peer_host, peer_ip, origin_host, origin_ip = facts[:7]
        helo = facts[7] if len(facts) > 7 else None
        template = self._templates.get(source)
        if template is None:
            template = self._templates[source] = Event(location=self.ctx.loc(0), source=Source(source))
        return evolve(
            template,
            server=server,
            server_source=self._server_source if server else None,
            direction=direction,
            peer_host=peer_host,
            peer_ip=peer_ip,
            origin_host=origin_host,
            origin_ip=origin_ip,
            helo=helo,
        )
