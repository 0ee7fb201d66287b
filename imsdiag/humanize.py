"""Words for people, written once: durations, times, spans, periods, rates and the one statement of a loop's ring."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timezone

from .models import Finding, RingShape


def duration(seconds: float | None, unknown: str = "unknown") -> str:
    """`3s`, `4m 05s`, `2h 03m`, `1d 04h`; negative values keep their sign; `unknown` for None."""
    if seconds is None:
        return unknown
    sign = "-" if seconds < 0 else ""
    s = round(abs(seconds))
    if s < 60:
        return f"{sign}{s}s"
    if s < 3600:
        return f"{sign}{s // 60}m {s % 60:02d}s"
    if s < 86400:
        return f"{sign}{s // 3600}h {s % 3600 // 60:02d}m"
    return f"{sign}{s // 86400}d {s % 86400 // 3600:02d}h"


def utc(dt: datetime) -> datetime:
    """Aware UTC; a naive time slipping through is taken as UTC rather than local."""
    return dt.replace(tzinfo=timezone.utc) if dt.tzinfo is None else dt.astimezone(timezone.utc)


def format_time(dt: datetime | None) -> str:
    """UTC time to the minute, e.g. `2001-02-07 17:01 UTC`; `unknown` when None."""
    if dt is None:
        return "unknown"
    return utc(dt).strftime("%Y-%m-%d %H:%M UTC")


def stamp(dt: datetime) -> str:
    """`2001-02-07 17:01:20`: a time to the second, in the zone it carries (explain's timeline and hops)."""
    return dt.strftime("%Y-%m-%d %H:%M:%S")


def format_span(first: datetime | None, last: datetime | None, arrow: str = "→") -> str:
    """`first → last` in UTC minutes, dropping the repeated date when both fall on one day."""
    if first is None or last is None:
        return format_time(first or last)
    a, b = utc(first), utc(last)
    if a.replace(second=0, microsecond=0) == b.replace(second=0, microsecond=0):
        return format_time(a)
    if a.date() == b.date():
        return f"{a:%Y-%m-%d %H:%M} {arrow} {b:%H:%M} UTC"
    return f"{a:%Y-%m-%d %H:%M} {arrow} {b:%Y-%m-%d %H:%M} UTC"


def span(first: datetime | None, last: datetime | None) -> str:
    """In a sentence: `from 1999-03-15 09:12 to 15:36 UTC`, `at 2024-06-03 14:02 UTC`, `at an unknown time`."""
    if first is None or last is None or first.replace(second=0) == last.replace(second=0):
        return f"at {when(first or last)}"
    a, b = utc(first), utc(last)
    if a.date() == b.date():
        return f"from {a:%Y-%m-%d %H:%M} to {b:%H:%M} UTC"
    return f"from {when(a)} to {when(b)}"


def when(t: datetime | None) -> str:
    return format_time(t) if t else "an unknown time"


def format_period(seconds: float | None) -> str:
    """A loop period for people: `every 45s`, `every 2m 05s`, `every 1h 02m`, `every 2d 03h`."""
    if seconds is None or seconds < 0:
        return "unknown"
    return f"every {duration(seconds)}"


def format_rate(per_hour: float | None) -> str:
    """Passes per hour: whole numbers from 10 up, one decimal below (`0.5 passes/h`)."""
    if per_hour is None or per_hour < 0:
        return "unknown"
    if per_hour >= 10:
        return f"{round(per_hour):,} passes/h"
    return f"{per_hour:.1f} passes/h"


def plural(n: int, word: str, plural_form: str | None = None) -> str:
    """`1 pass`, `42 passes`, with thousands separators."""
    return f"{n:,} {word if n == 1 else (plural_form or word + 's')}"


def passes_text(finding: Finding) -> str:
    """`42 round trips of the ring (42 messages)`; what is known when the round trips are not."""
    counts = []
    if finding.messages:
        counts.append(plural(finding.messages, "message"))
    if finding.hops:
        counts.append(f"{finding.hops} hops")
    extra = f" ({', '.join(counts)})" if counts else ""
    if finding.passes is None:
        return f"unknown{extra}"
    return f"{plural(finding.passes, 'round trip')} of the ring{extra}"


def ring_kind(hosts: Sequence[str], shape: RingShape) -> RingShape:
    """What the hosts show: no host is an unknown ring, one host a loop inside that MTA, else `shape`."""
    if shape is RingShape.UNKNOWN or not hosts:
        return RingShape.UNKNOWN
    if shape is RingShape.ONE_HOST or len(hosts) == 1:
        return RingShape.ONE_HOST
    return shape


def finding_ring(finding: Finding, arrow: str = "→", both: str = "⇄") -> str:
    """A finding's one ring statement, as every output shows it."""
    return ring_text(finding.hosts, finding.shape, finding.reporter, arrow, both)


def ring_text(
    hosts: Sequence[str],
    shape: RingShape = RingShape.RING,
    reporter: str | None = None,
    arrow: str = "→",
    both: str = "⇄",
) -> str:
    """The one statement of where a loop runs, used by every rule and every output.

    `a → b → a` for a ring (in the order mail travelled), `hub ⇄ a, b` for a hub with spokes,
    `inside a` for one MTA, and `unknown` (with the reporting MTA when known) when the evidence
    does not show the hosts.
    """
    kind = ring_kind(hosts, shape)
    if kind is RingShape.UNKNOWN:
        return "unknown" + (f" (reported by {reporter})" if reporter else "")
    if kind is RingShape.ONE_HOST:
        return f"inside {hosts[0]}"
    if kind is RingShape.HUB:
        return f"{hosts[0]} {both} " + ", ".join(hosts[1:])
    return f" {arrow} ".join([*hosts, hosts[0]])
