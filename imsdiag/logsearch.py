"""Explain's search of the logs without the index: a net cast during the scan's one read, then the exact search."""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from .correlate import years_later
from .explanation import event_key
from .index.ids import Origin, event_ids, link_allowed, norm_id
from .models import Event
from .parsers.base import ScanRecord
from .spanfilter import PlacedSpan

LINK_DEPTH = 2
"""Steps of `forwarded as` / `queued as` / bounce->cause links followed from the matched events."""
RECENT_EVENTS = 4096
"""Events the net remembers after passing them: a link learned from a later line (Postfix names the
Message-ID after the connection line of the same queue id) reaches back into them without a second read."""
BLOOM_BITS = 1 << 24
"""Bits (2 MiB) of the filter of ids that left the recent events: an id learned late that it may hold
sends the files read so far to a second read (a false positive only costs that read)."""

EventKey = tuple[str, int, str]


def qualified_id(ident: str) -> tuple[str, str] | None:
    """(server, normalised local id) for a `SERVER:ID` query, else None."""
    server, sep, local = ident.partition(":")
    n = norm_id(local)
    if not sep or not server.strip() or n is None:
        return None
    return server.strip().lower(), n


@dataclass
class Wanted:
    """Ids being followed: how many links from the query, and where each was learned."""

    depth: dict[str, int] = field(default_factory=dict)
    origins: dict[str, set[Origin]] = field(default_factory=dict)
    nearest: bool = False
    """Keep the fewest links an id was reached by (the net), rather than the first (the exact search)."""

    def learn(self, n: str, depth: int, origin: Origin) -> bool:
        """Remember `n`; True when that widened what is wanted (a new id, a shorter way, a new origin)."""
        old = self.depth.get(n)
        if old is None or (self.nearest and depth < old):
            self.depth[n] = depth
        origins = self.origins.setdefault(n, set())
        grew = old is None or self.depth[n] != old or origin not in origins
        origins.add(origin)
        return grew

    def closest(self, ids: Iterable[tuple[str, str]], server: str | None) -> tuple[int, str] | None:
        """(links from the query, id kind) of the nearest wanted id among `ids` that may link on `server`."""
        hits = [(self.depth[n], k) for n, k in ids if n in self.depth and link_allowed(k, server, self.origins[n])]
        return min(hits) if hits else None

    def learn_links(self, ids: Iterable[tuple[str, str]], depth: int, server: str | None) -> list[str]:
        """Learn the ids of an event reached `depth` links from the query; those that widened the search."""
        if depth >= LINK_DEPTH:
            return []
        return [n for n, k in ids if k != "file" and self.learn(n, depth + 1, (k, server))]


class _Bloom:
    """A fixed-size Bloom filter of ids: 'maybe seen' or 'surely not'."""

    def __init__(self, bits: int = BLOOM_BITS) -> None:
        self._mask = bits - 1
        self._bits = bytearray(bits >> 3)

    def _slots(self, n: str) -> tuple[int, int, int]:
        h = hash(n) & 0xFFFFFFFFFFFFFFFF  # str hashes are stable within the process, which is all this needs
        return h & self._mask, (h >> 21) & self._mask, (h >> 42 | h << 22) & self._mask

    def add(self, n: str) -> None:
        for i in self._slots(n):
            self._bits[i >> 3] |= 1 << (i & 7)

    def __contains__(self, n: str) -> bool:
        return all(self._bits[i >> 3] >> (i & 7) & 1 for i in self._slots(n))


class Capture:
    """The scan's records as they stream past: every event that may belong to the story.

    A net wider than the exact search: a `SERVER:ID` query's local id is taken on every server (the scan
    has not named the machines yet) and an id keeps the fewest links it was reached by, so whatever the
    exact search keeps on a full read it finds here too. A link learned late reaches back into the recent
    events; one that may reach further marks the files read so far for a second read (`to_reread`).
    A record read again (a log re-dated by the scan, or that second read) replaces the first reading.

    Scanning with `keep_spans`, it is given only the places of the blocks of the logs the fast extractors read
    (`add_span`) and, for the other logs, filters of the ids their events carry (`add_carried`); the search
    after the scan (`logrounds`) then feeds it the events it finds (`take_found`).
    """

    def __init__(self, ident: str) -> None:
        self.wanted = Wanted(nearest=True)
        for n in {norm_id(ident), (qualified_id(ident) or ("", None))[1]}:
            if n:
                self.wanted.learn(n, 0, ("query", None))
        self._kept: dict[EventKey, Event] = {}
        self._recent: deque[tuple[Event, list[tuple[str, str]]]] = deque()
        self._gone = _Bloom()
        self._gone_from: set[str] = set()
        self.to_reread: set[str] = set()
        self.spans: dict[str, list[PlacedSpan]] = {}
        """Display path -> the blocks of a log the fast extractor read, in file order, with filters of their ids."""
        self.carried: dict[str, bytes] = {}
        """Display path -> a filter of the ids carried by the events of a log read without spans."""

    def add(self, record: ScanRecord) -> None:
        """Take an event that carries a wanted id, and follow its links (the RecordSink the scan feeds)."""
        if not isinstance(record, Event):
            return
        ids = event_ids(record)
        fresh = self._take(record, ids)
        self._remember(record, ids)
        self._reach_back(fresh)

    def add_span(self, placed: PlacedSpan) -> None:
        """Keep where a block of a log the fast extractor read lies (the scan gives them in file order)."""
        self.spans.setdefault(placed.span.location.path, []).append(placed)

    def add_carried(self, display: str, table: bytes) -> None:
        """Keep the filter of the ids the events of a log read without spans carry."""
        self.carried[display] = table

    def take_found(self, events: Sequence[Event]) -> None:
        """Take the events a search of the spans found, until no link widens what is wanted.

        An id learned by a shorter way lets an event found earlier reach one link further, so the events
        are taken again until nothing grows; the recent events are reached back into as for the scan's own.
        """
        pending = [(event, event_ids(event)) for event in events]
        grew = True
        while grew:
            fresh: list[str] = []
            for event, ids in pending:
                fresh += self._take(event, ids)
            self._reach_back(fresh)
            grew = bool(fresh)

    def _take(self, event: Event, ids: list[tuple[str, str]]) -> list[str]:
        hit = self.wanted.closest(ids, event.server)
        if hit is None:
            return []
        self._kept[event_key(event)] = event
        return self.wanted.learn_links(ids, hit[0], event.server)

    def _remember(self, event: Event, ids: list[tuple[str, str]]) -> None:
        self._recent.append((event, ids))
        if len(self._recent) > RECENT_EVENTS:
            old, old_ids = self._recent.popleft()
            for n, _ in old_ids:
                self._gone.add(n)
            self._gone_from.add(old.location.path)

    def _reach_back(self, fresh: list[str]) -> None:
        """Newly wanted ids: take the recent events that carry them; send older files to a second read."""
        while fresh:
            new = set(fresh)
            if any(n in self._gone for n in new):
                self.to_reread |= self._gone_from
            fresh = []
            for event, ids in self._recent:
                if any(n in new for n, _ in ids):  # kept ones too: a shorter way to them reaches further
                    fresh += self._take(event, ids)

    def move_years(self, shifts: dict[str, int]) -> None:
        """Move the events of the logs the scan moved to another year after reading them (`years.redate`)."""
        for key, ev in self._kept.items():
            years = shifts.get(ev.location.path) or shifts.get(os.path.abspath(ev.location.path))
            if years:
                self._kept[key] = years_later(ev, years)

    def events(self, order: dict[str, int]) -> list[Event]:
        """What the net kept, in reading order (`order`: position of each file in the input)."""
        return sorted(self._kept.values(), key=lambda e: (order.get(e.location.path, len(order)), e.location.line))


class LogSearch:
    """The exact search: the events that carry the id, and those linked to them, read in order."""

    def __init__(self, ident: str, same_machine: Callable[[str | None, str | None], bool]) -> None:
        self.same_machine = same_machine
        self.wanted = Wanted()
        self.qualified = qualified_id(ident)
        self.matched: list[tuple[str, Event]] = []
        self.related: dict[EventKey, Event] = {}
        target = norm_id(ident)
        if target:
            self.wanted.learn(target, 0, ("query", None))
        if self.qualified is not None:
            self.wanted.learn(self.qualified[1], 0, ("query", None))

    def replay(self, events: Sequence[Event]) -> None:
        """Search `events` in reading order; once more when links were learned, as a second read would."""
        known = len(self.wanted.depth)
        for event in events:
            self.take(event)
        if len(self.wanted.depth) != known and self.matched:
            for event in events:
                self.take(event)

    def take(self, event: Event) -> None:
        """Keep `event` when it shares an id with what is wanted; learn its ids up to LINK_DEPTH steps away."""
        ids = self._ids(event)
        hit = self.wanted.closest(ids, event.server)
        if hit is None:
            return
        depth, kind = hit
        key = event_key(event)
        if depth == 0 and all(event_key(e) != key for _, e in self.matched):
            self.matched.append((kind, event))
        self.related.setdefault(key, event)
        self.wanted.learn_links(ids, depth, event.server)

    def _ids(self, event: Event) -> list[tuple[str, str]]:
        """The event's ids, less the queried local id when a `SERVER:ID` query names another server."""
        ids = event_ids(event)
        if self.qualified is not None and not self.same_machine(event.server, self.qualified[0]):
            # A SERVER:ID query: the bare id names a message only on that server.
            ids = [(n, k) for n, k in ids if n != self.qualified[1] or self.wanted.depth.get(n) != 0]
        return ids
