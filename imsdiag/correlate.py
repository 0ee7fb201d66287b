"""Correlation: keep only the events loop detection needs; gather host-name evidence, builds and address proxies."""

from __future__ import annotations

import bisect
import dataclasses
import itertools
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from .graph import chain_edge_counts
from .hosts import HostEvidence
from .models import Event, EventTally, Source, TimeQuality
from .names import normalize_host
from .runs import KEEP_WHOLE, Run, add_to_runs, is_hopless

MAX_ADDRESSES = 200_000
"""Cap on distinct addresses remembered for proxy lookups, so memory stays bounded on huge logs."""

_SOURCE_RANK = {"banner": 0, "content": 1, "option": 2, "path": 3}


def better_name_source(new: str, old: str | None) -> bool:
    """Whether a server name found by `new` beats one found by `old` (a banner beats content, then option, path)."""
    return old is None or _SOURCE_RANK.get(new, 9) < _SOURCE_RANK.get(old, 9)


_BUILD = re.compile(r"\d{1,2}\.\d{1,2}\.\d{1,5}(?:\.\d{1,5})?")

IMS_SOURCES = frozenset({Source.IMS_PROTOCOL, Source.IMS_TRACKING, Source.IMS_ARCHIVE})


def years_later(ev: Event, delta: int) -> Event:
    """`ev` with its time `delta` calendar years later (a year-less log dated from the other logs)."""
    return dataclasses.replace(ev, time=ev.time.replace(year=ev.time.year + delta)) if ev.time is not None else ev


@dataclass
class _Group:
    """The open cluster of candidate events for one recipient in one file, in arrival order."""

    events: list[tuple[int, Event]] = field(default_factory=list)
    last: datetime | None = None
    hopless: int = 0
    """Hopless events kept whole in `events`; past KEEP_WHOLE the rest are only counted in `runs`."""
    runs: list[Run] = field(default_factory=list)

    def shifted(self, delta: int) -> _Group:
        """The group with every time `delta` years later (see `Correlator.shifted_years`)."""
        return _Group(
            [(n, years_later(e, delta)) for n, e in self.events],
            self.last.replace(year=self.last.year + delta) if self.last else None,
            self.hopless,
            [r.mapped(lambda e: years_later(e, delta)) for r in self.runs],
        )


@dataclass
class Correlator:
    """What survives a file: candidate events for the detectors and facts for the rules.

    Ordinary traffic is counted and dropped here, so memory grows with the number of reports,
    loop signals and looping chains, not with the size of the logs.
    """

    min_repeat: int = 3
    since: datetime | None = None
    until: datetime | None = None
    window_seconds: float = 6 * 3600.0
    """The longest pause inside one loop (`--window`): a recipient's cluster closes after it."""
    _kept: list[tuple[int, Event]] = field(default_factory=list)
    """Candidates of closed clusters that reached `min_repeat`, and those merged from other files."""
    _open: dict[str, _Group] = field(default_factory=dict)
    _seq: int = 0
    _runs: dict[str, list[Run]] = field(default_factory=dict)
    """Recipient -> the hopless runs of its closed clusters (see `runs.Run`): counts, not events."""
    candidates_dropped: int = 0
    """Candidates of clusters that closed (a pause over the window) below `min_repeat` events."""
    signals: list[Event] = field(default_factory=list)
    """Events carrying explicit loop evidence (hop limit, loops back to myself, ...)."""
    cyclic: list[Event] = field(default_factory=list)
    """Messages whose own (or embedded) Received chain repeats an edge at least `min_repeat` times."""
    auto_replies: list[Event] = field(default_factory=list)
    hosts: HostEvidence = field(default_factory=HostEvidence)
    """Every name pairing the records proved or suggested; frozen into one HostMap after reading."""
    builds: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    software: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    ims_servers: set[str] = field(default_factory=set)
    addresses: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    """Local part -> addresses seen with it: finds a user's other SMTP proxies."""
    _address_count: int = 0
    servers: dict[str, str] = field(default_factory=dict)
    """Server name -> how the name was found (`banner`, `content`, `path`, `option`)."""
    events_seen: int = 0
    events_outside_window: int = 0
    first_time: datetime | None = None
    last_time: datetime | None = None
    years: dict[int, int] = field(default_factory=dict)
    """Events per year: year-less syslog stamps take the year most of the dated evidence has."""
    days: dict[tuple[int, int], dict[int, int]] = field(default_factory=dict)
    """(month, day) -> events per year: a year-less log takes the year the dated logs of its days have."""
    spans: dict[tuple[str, bool], tuple[datetime, datetime]] = field(default_factory=dict)
    """(server, zone assumed) -> first and last time: lets `evidence.freeze` put the input's time span on one clock."""

    def add(self, ev: Event) -> None:
        """Count the event, learn what it says about machines and keep it when detection needs it."""
        self.events_seen += 1
        if ev.time is not None:
            if (self.since and ev.time < self.since) or (self.until and ev.time > self.until):
                self.events_outside_window += 1
                return
            self._count_time(ev, ev.time)
        self._learn(ev)
        self._keep(ev)

    def add_tally(self, tally: EventTally) -> None:
        """Learn what `add` learns from each event a fast extractor summarised (none of them is kept)."""
        self.events_seen += tally.events
        self.events_outside_window += tally.outside
        for t, server, assumed, n in tally.times:
            _add_count(self.years, t.year, n)
            _add_count(self.days.setdefault((t.month, t.day), {}), t.year, n)
            self._widen_time_range(t)
            self._widen_span((server, assumed), t, t)
        for ev in tally.peers:
            self._learn(ev)
        for group in tally.addresses:
            if self._address_count < MAX_ADDRESSES:
                for addr in group:
                    self._add_address(addr)

    def _count_time(self, ev: Event, t: datetime) -> None:
        """The event's year and day (to date year-less logs), the input's span and its server's span."""
        _add_count(self.years, t.year, 1)
        _add_count(self.days.setdefault((t.month, t.day), {}), t.year, 1)
        self._widen_time_range(t)
        self._widen_span((ev.server or "", ev.time_quality is TimeQuality.ZONE_ASSUMED), t, t)

    def _widen_time_range(self, t: datetime) -> None:
        if self.first_time is None or t < self.first_time:
            self.first_time = t
        if self.last_time is None or t > self.last_time:
            self.last_time = t

    def _widen_span(self, key: tuple[str, bool], lo: datetime, hi: datetime) -> None:
        span = self.spans.get(key)
        self.spans[key] = (lo, hi) if span is None else (min(span[0], lo), max(span[1], hi))

    def _keep(self, ev: Event) -> None:
        """Keep the event in every list of what the detectors read that it belongs to."""
        if ev.loop_signal is not None:
            self.signals.append(ev)
        if ev.recipients and (ev.sender == "" or ev.report_kind.is_report):
            self._add_candidate(ev)
        if ev.report_kind.value == "auto-reply":
            self.auto_replies.append(ev)
        if self._has_cycle(ev):
            self.cyclic.append(ev)

    def shifted_years(self, delta: int) -> Correlator:
        """This file's correlator with every time `delta` years later (a year-less log dated from the others).

        Exact for the callers' cases (`years.redate`): fixed-offset zones, no leap day gained or lost, no
        --since/--until (they filter while reading). Host evidence and counts carry no time and are shared.
        """

        def move(t: datetime) -> datetime:
            return t.replace(year=t.year + delta)

        out = dataclasses.replace(self)
        out._kept = [(n, years_later(e, delta)) for n, e in self._kept]
        out._open = {k: g.shifted(delta) for k, g in self._open.items()}
        out._runs = {k: [r.mapped(lambda e: years_later(e, delta)) for r in v] for k, v in self._runs.items()}
        out.signals = [years_later(e, delta) for e in self.signals]
        out.cyclic = [years_later(e, delta) for e in self.cyclic]
        out.auto_replies = [years_later(e, delta) for e in self.auto_replies]
        out.first_time = move(self.first_time) if self.first_time else None
        out.last_time = move(self.last_time) if self.last_time else None
        out.years = {y + delta: n for y, n in self.years.items()}
        out.days = {md: {y + delta: n for y, n in per_year.items()} for md, per_year in self.days.items()}
        out.spans = {k: (move(lo), move(hi)) for k, (lo, hi) in self.spans.items()}
        return out

    def year_for(self, days: Iterable[tuple[int, int]]) -> int | None:
        """The year of these (month, day)s in the dated evidence read so far; else the year most of it has.

        A 1999 relay log in a bundle that also holds a 2024 Exim log belongs with the 1999 IMS logs of
        the same days, whichever year has more events overall.
        """
        score: dict[int, int] = {}
        for md in days:
            for year, n in self.days.get(md, {}).items():
                score[year] = score.get(year, 0) + n
        if score:
            return max(score, key=lambda y: (score[y], y))
        if self.years:
            return max(self.years, key=lambda y: (self.years[y], y))
        return None

    @property
    def candidates(self) -> list[Event]:
        """Null-sender and report events that name a recipient, in arrival order: the cross-message input.

        Kept per recipient in clusters like the detector's: a cluster that closes (the next event
        for that recipient comes more than `window_seconds` later in the same file) with fewer than
        `min_repeat` events can never show a loop on its own and is dropped, so memory follows the
        open window and the clusters that look like loops, not the length of the log. Past the first
        KEEP_WHOLE hopless candidates of a cluster (mailbox deliveries: no hop, never ring evidence) the
        rest are only counted, in `runs`: a steady stream to one address keeps bounded state.
        """
        return [ev for _, ev in self._kept_and_open()]

    @property
    def runs(self) -> dict[str, list[Run]]:
        """Recipient -> its hopless runs, closed and open: what `candidates` leaves out of long clusters.

        Each run's tallies carry, as their arrival number, where they would stand among `candidates`
        (a half-integer position), so the detector can order them with the kept events exactly.
        """
        seqs = [n for n, _ in self._kept_and_open()]
        out: dict[str, list[Run]] = {}
        for rcpt, runs in itertools.chain(self._runs.items(), ((k, g.runs) for k, g in self._open.items())):
            for r in runs:
                out.setdefault(rcpt, []).append(r.mapped(lambda e: e, lambda s: bisect.bisect_right(seqs, s) - 0.5))
        return out

    def _kept_and_open(self) -> list[tuple[int, Event]]:
        seen: set[int] = set()
        out: list[tuple[int, Event]] = []
        for seq, ev in itertools.chain(self._kept, *(g.events for g in self._open.values())):
            if id(ev) not in seen:
                seen.add(id(ev))
                out.append((seq, ev))
        out.sort(key=lambda item: item[0])
        return out

    def _add_candidate(self, ev: Event) -> None:
        self._seq += 1
        for rcpt in ev.recipients:
            group = self._open.get(rcpt)
            if group is None:
                group = self._open[rcpt] = _Group()
            elif (
                ev.time is not None
                and group.last is not None
                and (ev.time - group.last).total_seconds() > self.window_seconds
            ):
                self._close(rcpt, group)
            self._into_group(group, ev)
            if ev.time is not None and (group.last is None or ev.time > group.last):
                group.last = ev.time

    def _into_group(self, group: _Group, ev: Event) -> None:
        """Keep the event whole, or count it in the group's runs once KEEP_WHOLE hopless ones are kept."""
        if not is_hopless(ev):
            group.events.append((self._seq, ev))
        elif group.hopless < max(KEEP_WHOLE, self.min_repeat):
            group.hopless += 1
            group.events.append((self._seq, ev))
        else:
            add_to_runs(group.runs, ev, self._seq, self.window_seconds / 2)

    def _close(self, rcpt: str, group: _Group) -> None:
        if len(group.events) >= self.min_repeat:
            self._kept.extend(group.events)
            if group.runs:
                self._runs.setdefault(rcpt, []).extend(group.runs)
        else:
            self.candidates_dropped += len(group.events)
        group.events, group.hopless, group.runs = [], 0, []

    def _has_cycle(self, ev: Event) -> bool:
        chains = [ev.received, *ev.embedded_received]
        for chain in chains:
            if len(chain) >= self.min_repeat:
                counts = chain_edge_counts(chain)
                if counts and max(counts.values()) >= self.min_repeat:
                    return True
        return False

    def _learn(self, ev: Event) -> None:
        self.hosts.learn(ev)
        if ev.server:
            self._learn_server(ev, ev.server)
        self._learn_peer_build(ev)
        self._learn_ims_servers(ev)
        if self._address_count < MAX_ADDRESSES:
            for addr in (ev.sender, *ev.recipients):
                if addr and "@" in addr:
                    self._add_address(addr)

    def _learn_server(self, ev: Event, server: str) -> None:
        """How the server's name was found, and the build and software it showed."""
        self._note_server_name(server, ev.server_source or "content")
        if ev.build:
            self.builds[server].add(ev.build)
        if ev.software:
            self.software[server].add(ev.software)

    def _note_server_name(self, name: str, source: str) -> None:
        if better_name_source(source, self.servers.get(name)):
            self.servers[name] = source

    def _learn_peer_build(self, ev: Event) -> None:
        for name, value in ev.headers:
            if name == "x-peer-software":
                # An outbound session's peer greeted with its IMS banner: that build is the peer's.
                peer = ev.peer_names[0] if ev.peer_names else ev.peer_host or ev.peer_ip
                m = _BUILD.search(value)
                if peer and m:
                    self.builds[peer].add(m.group(0))
                    self.ims_servers.add(normalize_host(peer) or peer)

    def _learn_ims_servers(self, ev: Event) -> None:
        """Servers that run an IMS: by their own logs, by their software, or by the Received lines they wrote."""
        if ev.server and (ev.source in IMS_SOURCES or (ev.software and "mail service" in ev.software.lower())):
            self.ims_servers.add(normalize_host(ev.server) or ev.server)
        for hop in ev.received:
            sw = (hop.software or "") + " " + (hop.with_proto or "")
            if hop.by_host and "internet mail service" in sw.lower():
                self.ims_servers.add(normalize_host(hop.by_host) or hop.by_host)

    def _add_address(self, addr: str) -> None:
        """Remember `addr` under its local part: a user's other SMTP proxies share it."""
        bucket = self.addresses[addr.split("@", 1)[0]]
        if addr not in bucket:
            bucket.add(addr)
            self._address_count += 1

    def merge(self, other: Correlator) -> None:
        """Fold a correlator built in another process (one per file with `--jobs`) into this one."""
        base = self._seq
        theirs = other._kept_and_open()
        for _, ev in theirs:
            self._seq += 1
            self._kept.append((self._seq, ev))
        seqs = [n for n, _ in theirs]
        for rcpt, runs in itertools.chain(other._runs.items(), ((k, g.runs) for k, g in other._open.items())):
            mine = self._runs.setdefault(rcpt, [])
            mine.extend(r.mapped(lambda e: e, lambda s: base + bisect.bisect_right(seqs, s) + 0.5) for r in runs)
        self.candidates_dropped += other.candidates_dropped
        self.events_seen += other.events_seen
        self.events_outside_window += other.events_outside_window
        self.signals.extend(other.signals)
        self.cyclic.extend(other.cyclic)
        self.auto_replies.extend(other.auto_replies)
        self.hosts.merge(other.hosts)
        self._merge_names(other)
        self._merge_times(other)

    def _merge_names(self, other: Correlator) -> None:
        """The server names, builds, software and addresses the other correlator saw."""
        _merge_sets(self.builds, other.builds)
        _merge_sets(self.software, other.software)
        self.ims_servers |= other.ims_servers
        for name, source in other.servers.items():
            self._note_server_name(name, source)
        _merge_sets(self.addresses, other.addresses)

    def _merge_times(self, other: Correlator) -> None:
        """The other correlator's years, days and time spans."""
        for key, (lo, hi) in other.spans.items():
            self._widen_span(key, lo, hi)
        for year, n in other.years.items():
            _add_count(self.years, year, n)
        for md, per_year in other.days.items():
            mine = self.days.setdefault(md, {})
            for year, n in per_year.items():
                _add_count(mine, year, n)
        for t in (other.first_time, other.last_time):
            if t is not None:
                self._widen_time_range(t)


def _add_count(counts: dict[int, int], key: int, n: int) -> None:
    counts[key] = counts.get(key, 0) + n


def _merge_sets(mine: dict[str, set[str]], theirs: dict[str, set[str]]) -> None:
    """Union per key; `mine` is a defaultdict(set)."""
    for k, v in theirs.items():
        mine[k] |= v
