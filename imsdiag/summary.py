"""The result's tables: the machines whose logs were read, the formats read, and the joins behind the names."""

from __future__ import annotations

from collections.abc import Sequence

from .evidence import Evidence
from .models import Finding
from .result import FileStat, FormatStat, ServerInfo


def servers(ev: Evidence, stats: list[FileStat]) -> tuple[ServerInfo, ...]:
    """One row per machine whose logs were read, under its canonical name."""
    read_formats: dict[str, set[str]] = {}
    for s in stats:
        if s.server and s.format:
            read_formats.setdefault(ev.canonical(s.server) or s.server, set()).add(s.format)
    out = []
    for name, source in sorted(ev.servers.items()):
        out.append(
            ServerInfo(
                name=name,
                name_source=source,
                builds=tuple(sorted(ev.builds.get(name, ()))),
                software=tuple(sorted(ev.software.get(name, ()))),
                formats=tuple(sorted(read_formats.get(name, ()))),
            )
        )
    return tuple(out)


def host_joins(ev: Evidence, findings: Sequence[Finding]) -> tuple[tuple[str, str, str], ...]:
    """The joins that made the machines the report names (servers read, ring hosts): name, machine, why."""
    shown = set(ev.servers) | {h for f in findings for h in f.hosts}
    out = []
    for j in ev.hosts.joins:
        machine = ev.canonical(j.a) or j.a
        if machine in shown:
            out.append((j.a if j.a != machine else j.b, machine, j.reason))
    return tuple(out)


def formats(stats: list[FileStat]) -> tuple[FormatStat, ...]:
    """Files, lines, events and issues per format read."""
    agg: dict[str, list[int]] = {}
    for s in stats:
        if s.format:
            a = agg.setdefault(s.format, [0, 0, 0, 0])
            a[0] += 1
            a[1] += s.lines
            a[2] += s.events
            a[3] += s.issues
    return tuple(FormatStat(k, *v) for k, v in sorted(agg.items()))
