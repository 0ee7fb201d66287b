"""Zone inference: find the UTC offset of a server's zone-less local time stamps from the events that do carry one."""

from __future__ import annotations

import bisect
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from .models import Event, TimeQuality
from .transits import transit_edges

Key = tuple[str, tuple[str, str] | None]
"""A transit's matching key: the recipient and the hop (from, to); None as hop matches any hop."""

STEP = 900.0
"""Zone offsets are whole quarter hours (UTC+05:45 and +12:45 exist; nothing finer)."""
TOLERANCE = 10.0
"""Seconds between two logs' stamps of one transit: clock drift and the time a hop takes."""
MAX_OFFSET = 14 * 3600.0
MIN_MATCHES = 3
SAMPLE = 400
"""Events per server tried at most: enough to see the offset, bounded on huge inputs."""
NEIGHBOURS = 64


@dataclass(frozen=True)
class Offset:
    """The inferred offset of one server's local stamps: UTC = local - `offset`."""

    server: str
    offset: timedelta
    matches: int
    tried: int
    relative_to: str | None = None
    """Set when no log carried a zone: the offset puts this server on `relative_to`'s clock."""

    def label(self) -> str:
        """`UTC-05:00` style, or `imc1's clock -03:00` for an offset relative to another local-time log."""
        total = int(self.offset.total_seconds())
        sign = "+" if total >= 0 else "-"
        h, m = divmod(abs(total) // 60, 60)
        if self.relative_to:
            return f"{self.relative_to}'s clock {sign}{h:02d}:{m:02d}"
        return f"UTC{sign}{h:02d}:{m:02d}"

    def note(self) -> str:
        """One sentence for the report: which offset, from how many matching transits."""
        if self.relative_to:
            return (
                f"local times of {self.server} were put on the clock of {self.relative_to} "
                f"({self.label()}): {self.matches} of its transits match {self.relative_to}'s at that shift "
                "(no log carried a zone; give --tz or --server-tz to set them yourself)"
            )
        return (
            f"local times of {self.server} read as {self.label()}: {self.matches} of its transits match exact "
            "times in other logs at that offset (give --tz or --server-tz to set it yourself)"
        )


def infer_offsets(
    events: Iterable[Event], canonical: Callable[[str | None], str | None], skip: Iterable[str] = ()
) -> list[Offset]:
    """Offsets for servers whose zone-assumed events line up with exact ones at one quarter-hour shift.

    An IMS protocol log and a BSD syslog say `9:12:44 AM` with no zone; the tracking log (GMT) and the
    archived copy's `Received:` date (`-0500`) say when the same transit happened in UTC. When the same
    recipient's null-sender transits line up, to within a few seconds, at one whole quarter-hour shift, that
    shift is the server's zone offset. Without it a loop's first and last pass, and the order of sightings
    across servers, would be off by hours.

    A server is only given an offset when at least MIN_MATCHES of its events match at that shift and
    the shift wins by two to one over the next best; otherwise its times are left as they were.
    """
    skipped = {canonical(s) or s for s in skip}
    exact: dict[Key, list[datetime]] = defaultdict(list)
    assumed: dict[str, list[Event]] = defaultdict(list)
    for e in events:
        if e.time is None:
            continue
        if e.time_quality is TimeQuality.EXACT:
            for k in _pool_keys(e, canonical):
                exact[k].append(e.time)
        elif e.time_quality is TimeQuality.ZONE_ASSUMED:
            server = canonical(e.server)
            if server and server not in skipped:
                assumed[server].append(e)
    for times in exact.values():
        times.sort()
    out: list[Offset] = []
    for server in sorted(assumed):
        found = _offset_for(server, assumed[server], exact, canonical)
        if found is not None:
            out.append(found)
    out += _relative(assumed, {o.server: o.offset for o in out}, exact, canonical)
    return out


def _relative(
    assumed: dict[str, list[Event]],
    placed: dict[str, timedelta],
    exact: dict[Key, list[datetime]],
    canonical: Callable[[str | None], str | None],
) -> list[Offset]:
    """Place the local-time servers the exact stamps alone did not anchor, from each other's transits.

    Two IMS servers' protocol logs, hours apart in local time, log each transit at both ends: the
    shift at which most of them line up is the difference of their zones. The pool to match against
    is every exact stamp plus the corrected stamps of servers already placed; when no log carried a
    zone at all, the server with the most transits is the reference clock and the others are put on it.
    """
    pending = sorted((s for s in assumed if s not in placed), key=lambda s: (-len(assumed[s]), s))
    if not pending:
        return []
    pool: dict[Key, list[datetime]] = defaultdict(list)
    for k, times in exact.items():
        pool[k].extend(times)

    def add(server: str, off: timedelta) -> None:
        for e in assumed[server]:
            if e.time is not None:
                for k in _pool_keys(e, canonical):
                    pool[k].append(e.time - off)

    for server, off in placed.items():
        add(server, off)
    anchor: str | None = None
    if not any(pool.values()):
        anchor = pending.pop(0)
        add(anchor, timedelta(0))
    for times in pool.values():
        times.sort()
    out: list[Offset] = []
    for server in pending:
        found = _offset_for(server, assumed[server], pool, canonical)
        if found is not None:
            out.append(Offset(server, found.offset, found.matches, found.tried, relative_to=anchor))
            for e in assumed[server]:
                if e.time is not None:
                    for k in _pool_keys(e, canonical):
                        bisect.insort(pool[k], e.time - found.offset)
    return out


ID_KEY = "\x00id:"
"""Key prefix of a Message-ID match: the same message at both ends is proof, worth MIN_MATCHES votes."""


def _pool_keys(e: Event, canonical: Callable[[str | None], str | None]) -> list[Key]:
    """Where an event waits to be matched: under each hop it proves, under "any hop", and its Message-ID."""
    edges = transit_edges(e, canonical)
    keys: list[Key] = [(r, edge) for r in e.recipients for edge in edges] + [(r, None) for r in e.recipients]
    if e.message_id:
        keys.append((ID_KEY + e.message_id, None))
    return keys


def _lookup_keys(e: Event, canonical: Callable[[str | None], str | None]) -> list[Key]:
    """Where an event's twin at the other end would be: the same hop when the event shows one.

    Matching a transit only with the same hop seen from the other end keeps the passes of a regular
    loop from voting for shifts that are whole multiples of its period.
    """
    edges = transit_edges(e, canonical)
    keys: list[Key] = (
        [(r, edge) for r in e.recipients for edge in edges] if edges else [(r, None) for r in e.recipients]
    )
    if e.message_id:
        keys.append((ID_KEY + e.message_id, None))
    return keys


def _offset_for(
    server: str,
    events: list[Event],
    exact: dict[Key, list[datetime]],
    canonical: Callable[[str | None], str | None] = lambda s: s,
) -> Offset | None:
    """The one shift at which `server`'s sampled events match the `exact` stamps clearly best, if there is one."""
    votes: Counter[int] = Counter()
    hits: Counter[int] = Counter()
    """Events matching at each shift, unweighted: what the report counts."""
    tried = 0
    for e in _sample(events):
        steps = _matching_steps(e, exact, canonical)
        if steps:
            tried += 1
            votes.update(steps)  # one vote per event and shift (a Message-ID twin is worth MIN_MATCHES)
            hits.update(steps.keys())
    best = _clear_winner(votes, tried)
    if best is None:
        return None
    # diff = local - utc, so utc = local - diff.
    return Offset(server=server, offset=timedelta(seconds=best * STEP), matches=hits[best], tried=tried)


def _sample(events: list[Event]) -> list[Event]:
    return events if len(events) <= SAMPLE else events[:: max(1, len(events) // SAMPLE)][:SAMPLE]


def _matching_steps(
    e: Event, exact: dict[Key, list[datetime]], canonical: Callable[[str | None], str | None]
) -> dict[int, int]:
    """Shift (in STEPs) -> weight, for every stamp of the event's twin within TOLERANCE of a whole step."""
    assert e.time is not None
    window = timedelta(seconds=MAX_OFFSET + TOLERANCE)
    steps: dict[int, int] = {}
    for k in _lookup_keys(e, canonical):
        times = exact.get(k)
        if not times:
            continue
        weight = MIN_MATCHES if k[0].startswith(ID_KEY) else 1
        lo = bisect.bisect_left(times, e.time - window)
        hi = min(bisect.bisect_right(times, e.time + window), lo + NEIGHBOURS)
        for t in times[lo:hi]:
            diff = (e.time - t).total_seconds()
            step = round(diff / STEP)
            if abs(diff - step * STEP) <= TOLERANCE:
                steps[step] = max(steps.get(step, 0), weight)
    return steps


def _clear_winner(votes: Counter[int], tried: int) -> int | None:
    """The shift with the most votes when it wins clearly and is not zero; else None."""
    if not votes:
        return None
    (best, n), *rest = [*votes.most_common(2), (0, 0)]
    second = rest[0][1]
    # The shift must win clearly: two to one over the next, or nearly every matched transit with a wide
    # margin (a regular loop's passes line up by chance at shifts near a multiple of its period).
    clear = n >= 2 * second or (n * 10 >= tried * 9 and n - second >= max(MIN_MATCHES, n // 4))
    if best == 0 or n < MIN_MATCHES or not clear or n * 2 < tried:
        return None
    return best


def shifted(event: Event, offset: timedelta) -> Event:
    """The event with its zone-assumed time corrected by an inferred offset."""
    if event.time is None or event.time_quality is not TimeQuality.ZONE_ASSUMED:
        return event
    return replace(event, time=event.time - offset, time_quality=TimeQuality.ZONE_INFERRED)
