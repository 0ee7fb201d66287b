"""What the HTML templates show of a finding: its facts in words and its drawings laid out (html_layout).

Plain data for Jinja2: strings from logs are passed as they are, because the environment (html_env) makes
every value that reaches the page safe; only the choice of words lives here, never a decision about the loop.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from ..humanize import finding_ring, format_period, format_rate, format_span, passes_text, plural, stamp, utc
from ..models import Evidence, Finding, RingShape
from .html_layout import RingLayout, TimelineLayout, implied_edges, ring_layout, timeline_layout


@dataclass(frozen=True)
class FindingView:
    """One finding as the page shows it."""

    anchor: str
    """The section's id, from its place in the report (never from log text)."""
    finding: Finding
    facts: tuple[tuple[str, str], ...]
    ring: RingLayout | None
    address: str
    timeline: TimelineLayout | None
    timeline_caption: str
    evidence: tuple[Evidence, ...]
    roles_told: bool
    """Whether the rule told the hosts apart (an IMS and a relay); a ring of plain MTAs needs no legend."""


def finding_view(finding: Finding, anchor: str) -> FindingView:
    """The facts, the ring and the pass timeline of one finding."""
    hub = finding.shape is RingShape.HUB
    counted = [(e.source, e.target, e.count) for e in finding.edges]
    edges: list[tuple[str, str, int | None]] = list(counted) or implied_edges(finding.hosts, hub)
    ring = ring_layout(finding.hosts, edges, finding.roles, hub) if finding.shape is not RingShape.UNKNOWN else None
    return FindingView(
        anchor=anchor,
        finding=finding,
        facts=tuple(_facts(finding)),
        ring=ring,
        address=", ".join(finding.addresses),
        timeline=timeline_layout([_edge_row(e.source, e.target, e.count, e.times) for e in finding.edges]),
        timeline_caption=_timeline_caption(finding),
        evidence=finding.evidence,
        roles_told=any(role != "MTA" for _, role in finding.roles),
    )


def _facts(f: Finding) -> list[tuple[str, str]]:
    """The terminal panel's key facts, in its words and order, and the ones it keeps for `-v`."""
    facts = [("Ring", finding_ring(f))]
    if any(role != "MTA" for _, role in f.roles):
        facts.append(("Roles", ", ".join(f"{host}: {role}" for host, role in f.roles)))
    if f.addresses:
        facts.append(("Address" if len(f.addresses) == 1 else "Addresses", ", ".join(f.addresses)))
    facts.append(("Passes", passes_text(f)))
    when = format_span(f.first_seen, f.last_seen)
    if f.period_seconds is not None:
        facts.append(("Period", f"{format_period(f.period_seconds)}, {when}"))
    else:
        facts.append(("When", when))
    if f.rate_per_hour is not None:
        facts.append(("Rate", format_rate(f.rate_per_hour)))
    if f.build_verdict:
        facts.append(("Build", f.build_verdict))
    facts.append(("Confidence", str(f.confidence)))
    facts.extend((label, value) for label, value in f.details)
    if f.message_ids:
        more = f" ({plural(len(f.message_ids), 'message')} involved)" if len(f.message_ids) > 1 else ""
        facts.append(("Explain", f"imsdiag explain {f.message_ids[0]}{more}"))
    return facts


def _edge_row(
    source: str, target: str, count: int, times: Sequence[datetime]
) -> tuple[str, list[tuple[datetime, str]]]:
    label = f"{source} → {target} ×{count}"
    return label, [(t, f"pass {i} of {source} → {target}: {stamp(utc(t))} UTC") for i, t in enumerate(times, 1)]


def _timeline_caption(f: Finding) -> str:
    """Period and span under the timeline, and how many passes had no time."""
    parts = []
    if f.period_seconds is not None:
        parts.append(f"period {format_period(f.period_seconds)}")
    parts.append(f"span {format_span(f.first_seen, f.last_seen)}")
    undated = sum(max(0, e.count - len(e.times)) for e in f.edges)
    if undated:
        parts.append(f"{plural(undated, 'pass', 'passes')} without a time not drawn")
    return "; ".join(parts)


def sightings_rows(rows: Sequence[tuple[str, datetime | None, str]]) -> TimelineLayout | None:
    """Explain's story on a time axis: one row per server, one mark per timed sighting (label, time, tooltip)."""
    by_server: dict[str, list[tuple[datetime, str]]] = {}
    for server, time, title in rows:
        marks = by_server.setdefault(server, [])
        if time is not None:
            marks.append((time, title))
    return timeline_layout([(server, marks) for server, marks in by_server.items() if marks])
