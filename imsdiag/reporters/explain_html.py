"""`explain --format html`: one message's story as a page: the loop drawn, the hops as a table and a timeline."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, TextIO

from ..hops import Q178436_NOTE, ChainAnalysis, HopRow
from ..humanize import duration, plural, ring_text, stamp
from ..models import Event
from .base import Reporter, common_folder
from .html_env import render
from .html_view import finding_view, sightings_rows

if TYPE_CHECKING:  # the explain module brings the index (sqlite) in: only explain's command needs it
    from ..explain import Explanation, LoopView, Sighting

_DIRECTION = {"in": "← in", "out": "→ out", "generated": "✚ generated", "local": "↓ local", "unknown": "?"}


@dataclass(frozen=True)
class SightingRow:
    """One line of the story table."""

    number: int
    pass_number: str
    time: str
    server: str
    direction: str
    peer: str
    envelope: str
    status: str
    where: str
    via: str


@dataclass(frozen=True)
class HopLine:
    """One Received hop, oldest first."""

    number: int
    date: str
    delay: str
    origin: str
    by: str
    details: str
    in_cycle: bool
    skew: bool
    defects: str


def _envelope(e: Event) -> str:
    sender = "<>" if e.sender == "" else (e.sender or "?")
    rcpts = ", ".join(e.recipients[:3]) + (f" (+{len(e.recipients) - 3})" if len(e.recipients) > 3 else "")
    return f"{sender} → {rcpts or '?'}"


def _status(e: Event) -> str:
    bits = [e.report_kind.value if e.report_kind.is_report else "", e.status or "", e.dsn or ""]
    return " ".join(b for b in bits if b)


def _sighting_row(n: int, s: Sighting, prefix: str) -> SightingRow:
    e = s.event
    when = stamp(e.time) if e.time else "—"
    if e.time is not None and e.time_quality.value == "zone-assumed":
        when += "*"
    path = e.location.path[len(prefix) :] if prefix else e.location.path
    return SightingRow(
        number=n,
        pass_number=str(s.pass_number) if s.pass_number else "",
        time=when,
        server=e.server or "?",
        direction=_DIRECTION.get(e.direction.value, "?"),
        peer=e.peer_host or e.peer_ip or "",
        envelope=_envelope(e),
        status=_status(e),
        where=f"{path}:{e.location.line}" if e.location.line else path,
        via=s.via if s.relation == "linked" and s.via else "",
    )


def _hop_line(row: HopRow) -> HopLine:
    h = row.hop
    origin = " ".join(
        p
        for p in (h.from_host, f"({h.from_helo})" if h.from_helo else None, f"[{h.from_ip}]" if h.from_ip else None)
        if p
    )
    details = " ".join(
        f"{label} {value}"
        for label, value in (("with", h.with_proto), ("id", h.id), ("for", h.for_addr), ("via", h.via))
        if value
    )
    if row.software:
        details += f" ({row.software})"
    delay = duration(row.delay_seconds, "")
    if delay and row.share is not None and not row.skew:
        delay += f" {row.share:.0%}"
    return HopLine(
        number=row.number,
        date=stamp(h.date) if h.date else (h.date_text or "no date"),
        delay=delay,
        origin=origin or "?",
        by=h.by_host or "?",
        details=details,
        in_cycle=row.in_cycle,
        skew=row.skew,
        defects=", ".join(h.defects),
    )


def chain_view(title: str, chain: ChainAnalysis) -> dict[str, Any]:
    """A Received chain's rows and what the terminal view says under them."""
    lines = []
    if chain.total_seconds is not None:
        lines.append(f"total {duration(chain.total_seconds)} over {plural(len(chain.rows), 'hop')}")
    if chain.skewed:
        lines.append(f"{chain.skewed} negative delay(s): the servers' clocks disagree (clock skew)")
    if chain.cycle is not None:
        c = chain.cycle
        first, last = chain.rows[c.rows[0]].number, chain.rows[c.rows[-1]].number
        way = "" if c.closed else " (only this direction is recorded)"
        ring = ring_text(c.hosts, c.shape)
        lines.append(f"repeating part (hops {first}–{last}): {ring}{way}, {plural(c.passes, 'round trip')}")
    lines += [f"edge {a} → {b} ×{n}" for a, b, n in chain.edges]
    return {"title": title, "hops": [_hop_line(r) for r in chain.rows], "lines": lines}


def _loop_facts(lv: LoopView) -> list[tuple[str, str]]:
    trips = "unknown" if lv.passes is None else f"{lv.passes:,}"
    facts = [("Round trips", trips), ("Passes seen here", str(len(lv.pass_sightings)))]
    if lv.period_seconds:
        facts.append(("Period", duration(lv.period_seconds)))
    if lv.first_pass is not None or lv.first_seen is not None:
        when = f"{stamp(lv.first_seen)} UTC" if lv.first_seen else ""
        at = f" at {lv.first_pass}" if lv.first_pass else ""
        facts.append(("Started", f"pass 1 {when}{at}".strip()))
    return facts


def _chains(expl: Explanation) -> list[dict[str, Any]]:
    """The message's own Received chain, then each returned original's."""
    chains = []
    if expl.chain is not None:
        src = f" ({expl.chain_location})" if expl.chain_location else ""
        chains.append(chain_view(f"Received chain, oldest hop first{src}", expl.chain))
    for n, chain in enumerate(expl.embedded, 1):
        which = f" {n}" if len(expl.embedded) > 1 else ""
        chains.append(chain_view(f"Returned original{which}: its own Received chain, oldest hop first", chain))
    return chains


def explain_context(expl: Explanation, tool_version: str) -> dict[str, Any]:
    """Everything explain.html.j2 shows, worded."""
    prefix = common_folder([s.event.location.path for s in expl.sightings])
    rows = [_sighting_row(i, s, prefix) for i, s in enumerate(expl.sightings, 1)]
    marks = [
        (s.event.server or "?", s.event.time, f"#{i} {r.time} {r.direction} {r.envelope}")
        for i, (s, r) in enumerate(zip(expl.sightings, rows, strict=True), 1)
    ]
    servers = sorted({m.server for m in expl.matches if m.server})
    return {
        "expl": expl,
        "found_as": ", ".join(sorted({m.kind for m in expl.matches})),
        "servers": ", ".join(servers),
        "prefix": prefix,
        "rows": rows,
        "zone_assumed": any(s.event.time_quality.value == "zone-assumed" for s in expl.sightings),
        "timeline": sightings_rows(marks),
        "loops": [
            {"view": finding_view(lv.finding, f"loop-{i}"), "facts": _loop_facts(lv)}
            for i, lv in enumerate(expl.loops, 1)
        ],
        "chains": _chains(expl),
        "headroom_passes": any(h.remaining_passes is not None for h in expl.headroom),
        "headroom_note": Q178436_NOTE if any(f.rule_id == "Q178436" for f in expl.findings) else "",
        "findings": [finding_view(f, f"finding-{i}") for i, f in enumerate(expl.findings, 1)],
        "tool_version": tool_version,
    }


class ExplainHtmlReporter(Reporter["Explanation"]):
    """The story of one message as a self-contained page."""

    name: ClassVar[str] = "html"
    description: ClassVar[str] = "one self-contained HTML page: the loop drawn, the story as a table and a timeline"

    def report(self, expl: Explanation, out: TextIO) -> None:
        out.write(render("explain.html.j2", **explain_context(expl, self.options.tool_version)))
