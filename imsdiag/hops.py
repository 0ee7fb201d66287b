"""Received-chain analysis: oldest-first rows, per-hop delay and clock skew, the repeating part, hop headroom."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

from .graph import ChainCycle, chain_cycle, repeated_edges
from .models import Hop

# Hop limits per MTA class (prior-art.md §1A): the number of Received: headers at which each
# one rejects a message as looping. Ordered by who rejects first.
HOP_LIMITS: tuple[tuple[str, int, str], ...] = (
    ("Sendmail", 25, "MaxHopCount (confMAX_HOP); counts Received:, Via:, X400-Received:, Mail-From:"),
    ("Exim", 30, "received_headers_max"),
    ("Exchange 2007+", 30, "receive connector MaxHopCount; MaxLocalHopCount 8 for this server's own hops"),
    ("Postfix", 50, "hopcount_limit; Delivered-To: catches forwarding loops separately"),
    ("RFC 5321", 100, "§6.3: 'at least 100 Received entries'"),
)

Q178436_NOTE = (
    "These are the hops left for this one message. A Q178436 loop never reaches any of these limits: "
    "each pass is a new delivery receipt created by the IMS, so every hop counter starts again at zero."
)

# Software names in a Received header that tell which MTA class stamped it. Bounded, literal
# alternatives only: Received text is hostile input.
_SOFTWARE_CLASS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"\bpostfix\b", re.IGNORECASE), "Postfix"),
    (re.compile(r"\bexim\b", re.IGNORECASE), "Exim"),
    (re.compile(r"\bsendmail\b|\b\d{1,2}\.\d{1,2}\.\d{1,2}/\d{1,2}\.\d{1,2}\.\d{1,2}\b", re.IGNORECASE), "Sendmail"),
    (re.compile(r"microsoft smtp server|microsoft exchange server", re.IGNORECASE), "Exchange 2007+"),
)


@dataclass(frozen=True)
class HopRow:
    """One hop of the chain, oldest first, with what explain shows about it."""

    number: int
    """1 for the oldest hop (the first server that received the message)."""
    hop: Hop
    delay_seconds: float | None
    """This hop's time minus the previous dated hop's time; None when either date is missing."""
    share: float | None
    """Fraction of the sum of positive delays spent on this hop; None for missing or negative delays."""
    skew: bool
    """True when the delay is negative: the clocks disagree (shown, never hidden)."""
    software: str | None
    in_cycle: bool = False
    """True when the hop lies in the repeating part of the chain."""


@dataclass(frozen=True)
class ChainAnalysis:
    """Everything explain shows about one Received chain."""

    rows: tuple[HopRow, ...]
    total_seconds: float | None
    """Last dated hop minus first dated hop."""
    edges: tuple[tuple[str, str, int], ...]
    """(from host, by host, count) for every edge seen more than once, most frequent first."""
    cycle: ChainCycle | None
    """The ring the chain repeats, found by the detectors' own algorithm (graph.chain_cycle)."""
    skewed: int
    """Rows flagged as clock skew."""
    defects: int
    """Rows whose header could not be fully parsed."""

    @property
    def hops_per_pass(self) -> int:
        # A one-way ring (the IMS adds no line) grows by one Received line per pass.
        return len(self.cycle.hosts) if self.cycle and self.cycle.closed else 1


class HeadroomRow(NamedTuple):
    """How many more hops (and passes around the ring) one MTA class allows before it rejects."""

    mta: str
    limit: int
    remaining: int
    remaining_passes: int | None = None
    on_path: bool = False
    note: str = ""


def analyse_chain(hops: Sequence[Hop]) -> ChainAnalysis:
    """Analyse a `Received:` chain given newest first (as it stands in the message)."""
    oldest_first = list(reversed(hops))
    # One return (A B A) is worth marking in the story; the detectors ask for --min-passes.
    cycle = chain_cycle(oldest_first, 1)
    rows = _hop_rows(oldest_first, set(cycle.rows) if cycle else set())
    return ChainAnalysis(
        rows=rows,
        total_seconds=_span_seconds(oldest_first),
        edges=repeated_edges(oldest_first),
        cycle=cycle,
        skewed=sum(1 for r in rows if r.skew),
        defects=sum(1 for r in rows if r.hop.defects),
    )


def _hop_rows(oldest_first: Sequence[Hop], in_cycle: set[int]) -> tuple[HopRow, ...]:
    """One row per hop, numbered from the oldest, with its delay and its share of the whole transit time."""
    delays = _delays(oldest_first)
    positive = sum(d for d in delays if d is not None and d > 0)
    return tuple(
        HopRow(
            number=i + 1,
            hop=hop,
            delay_seconds=delay,
            share=(delay / positive) if delay is not None and delay >= 0 and positive > 0 else None,
            skew=delay is not None and delay < 0,
            software=_software(hop),
            in_cycle=i in in_cycle,
        )
        for i, (hop, delay) in enumerate(zip(oldest_first, delays, strict=True))
    )


def _span_seconds(oldest_first: Sequence[Hop]) -> float | None:
    """Last dated hop minus first dated hop; None with fewer than two dates."""
    dated = [h.date for h in oldest_first if h.date is not None]
    return (dated[-1] - dated[0]).total_seconds() if len(dated) >= 2 else None


def _software(hop: Hop) -> str | None:
    """Software and build as one label; the build is left out when the software text already names it."""
    if hop.build and (not hop.software or hop.build not in hop.software):
        return f"{hop.software or 'build'} {hop.build}"
    return hop.software


def _delays(oldest_first: Sequence[Hop]) -> list[float | None]:
    """Delay of each hop since the previous hop, as MHA's computeDeltas does (prior-art §1B)."""
    out: list[float | None] = []
    prev = None
    for hop in oldest_first:
        if hop.date is None:
            out.append(None)
            continue
        out.append((hop.date - prev).total_seconds() if prev is not None else None)
        prev = hop.date
    return out


def mta_class(software: str | None) -> str | None:
    """The MTA class of HOP_LIMITS that a software string names, if any."""
    if not software:
        return None
    for pattern, name in _SOFTWARE_CLASS:
        if pattern.search(software[:500]):
            return name
    return None


def headroom(chain_len: int, hops_per_pass: int = 1, software: Sequence[str | None] = ()) -> list[HeadroomRow]:
    """How many more hops, and passes of `hops_per_pass` hops, each MTA class allows before it rejects.

    `software` lists the software strings seen on the path; the classes they name are marked on_path.
    """
    on_path = {c for c in map(mta_class, software) if c is not None}
    rows = []
    for mta, limit, note in HOP_LIMITS:
        remaining = max(0, limit - chain_len)
        passes = remaining // hops_per_pass if hops_per_pass > 0 else None
        rows.append(HeadroomRow(mta, limit, remaining, passes, mta in on_path, note))
    return rows


def chain_headroom(analysis: ChainAnalysis) -> list[HeadroomRow]:
    """Headroom for an analysed chain, using its ring length as hops per pass and its software."""
    software = [r.software or r.hop.with_proto or r.hop.raw for r in analysis.rows]
    return headroom(len(analysis.rows), analysis.hops_per_pass, software)
