"""Zone inference: find the UTC offset of a server's zone-less local time stamps from the events that do carry one.

An IMS protocol log and a BSD syslog say `9:12:44 AM` with no zone; the tracking log (GMT) and the
archived copy's `Received:` date (`-0500`) say when the same transit happened in UTC. When the same
recipient's null-sender transits line up, to within a few seconds, at one whole quarter-hour shift, that
shift is the server's zone offset. Without it a loop's first and last pass, and the order of sightings
across servers, would be off by hours.
"""

from __future__ import annotations

import bisect
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from .models import Event, TimeQuality

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

    def label(self) -> str:
        """`UTC-05:00` style."""
        total = int(self.offset.total_seconds())
        sign = "+" if total >= 0 else "-"
        h, m = divmod(abs(total) // 60, 60)
        return f"UTC{sign}{h:02d}:{m:02d}"


def infer_offsets(
    events: Iterable[Event], canonical: Callable[[str | None], str | None], skip: Iterable[str] = ()
) -> list[Offset]:
    """Offsets for servers whose zone-assumed events line up with exact ones at one quarter-hour shift.

    A server is only given an offset when at least MIN_MATCHES of its events match at that shift and
    the shift wins by two to one over the next best; otherwise its times are left as they were.
    """
    skipped = {canonical(s) or s for s in skip}
    exact: dict[str, list[datetime]] = defaultdict(list)
    assumed: dict[str, list[Event]] = defaultdict(list)
    for e in events:
        if e.time is None:
            continue
        if e.time_quality is TimeQuality.EXACT:
            for r in e.recipients:
                exact[r].append(e.time)
        elif e.time_quality is TimeQuality.ZONE_ASSUMED:
            server = canonical(e.server)
            if server and server not in skipped:
                assumed[server].append(e)
    for times in exact.values():
        times.sort()
    out: list[Offset] = []
    for server in sorted(assumed):
        found = _offset_for(server, assumed[server], exact)
        if found is not None:
            out.append(found)
    return out


def _offset_for(server: str, events: list[Event], exact: dict[str, list[datetime]]) -> Offset | None:
    sample = events if len(events) <= SAMPLE else events[:: max(1, len(events) // SAMPLE)][:SAMPLE]
    votes: Counter[int] = Counter()
    tried = 0
    window = timedelta(seconds=MAX_OFFSET + TOLERANCE)
    for e in sample:
        assert e.time is not None
        steps: set[int] = set()
        for r in e.recipients:
            times = exact.get(r)
            if not times:
                continue
            lo = bisect.bisect_left(times, e.time - window)
            hi = min(bisect.bisect_right(times, e.time + window), lo + NEIGHBOURS)
            for t in times[lo:hi]:
                diff = (e.time - t).total_seconds()
                step = round(diff / STEP)
                if abs(diff - step * STEP) <= TOLERANCE:
                    steps.add(step)
        if steps:
            tried += 1
            votes.update(steps)  # one vote per event and shift, however many exact twins it has
    if not votes:
        return None
    (best, n), *rest = [*votes.most_common(2), (0, 0)]
    second = rest[0][1]
    if best == 0 or n < MIN_MATCHES or n < 2 * second or n * 2 < tried:
        return None
    # diff = local - utc, so utc = local - diff.
    return Offset(server=server, offset=timedelta(seconds=best * STEP), matches=n, tried=tried)


def shifted(event: Event, offset: timedelta) -> Event:
    """The event with its zone-assumed time corrected by an inferred offset."""
    from dataclasses import replace

    if event.time is None or event.time_quality is not TimeQuality.ZONE_ASSUMED:
        return event
    return replace(event, time=event.time - offset, time_quality=TimeQuality.ZONE_INFERRED)
