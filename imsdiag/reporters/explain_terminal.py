"""Rich terminal rendering of an Explanation: timeline, loop ring, Received table, headroom, findings."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, ClassVar, TextIO

from rich import box
from rich.console import Console
from rich.table import Table

from ..console import make_console
from ..hops import Q178436_NOTE, ChainAnalysis, HopRow
from ..humanize import duration, finding_ring, plural, ring_text, stamp
from ..models import Event, Finding
from ..textsafe import safe_markup
from .base import Reporter, common_folder

if TYPE_CHECKING:  # the explain module brings the index (sqlite) in: only explain's command needs it
    from ..explain import Explanation, LoopView, Sighting

_DIRECTION_ARROW = {"in": "← in", "out": "→ out", "generated": "✚ gen", "local": "↓ local", "unknown": "?"}


def _envelope(e: Event) -> str:
    sender = "<>" if e.sender == "" else (e.sender or "?")
    rcpts = ", ".join(e.recipients[:3]) + (f" (+{len(e.recipients) - 3})" if len(e.recipients) > 3 else "")
    return f"[addr]{safe_markup(sender, 80)}[/] → {safe_markup(rcpts or '?', 120)}"


def _peer(e: Event) -> str:
    # The host name says more than its address; the address alone when that is all the log gave.
    return safe_markup(e.peer_host or e.peer_ip or "", 80)


SHOW_FIRST, SHOW_LAST = 16, 8
"""A long loop's timeline shows its start and its end; -v (or --format json) shows every sighting."""


def _table() -> Table:
    return Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)


def _status(e: Event) -> str:
    bits = [e.report_kind.value if e.report_kind.is_report else "", e.status or "", e.dsn or ""]
    return safe_markup(" ".join(b for b in bits if b), 60)


def _gap_row(hidden: Sequence[Sighting]) -> tuple[str, str, str, str, str]:
    """The line standing for the sightings a long timeline leaves out, with the passes they cover."""
    passes = sorted({x.pass_number for x in hidden if x.pass_number})
    span = f", passes {passes[0]}–{passes[-1]}" if passes else ""
    return "", "…", f"[muted]{len(hidden)} more sightings{span}[/]", "", "[muted](-v shows them)[/]"


def _sighting_row(s: Sighting) -> tuple[str, str, str, str, str]:
    """Pass, time (`*` when its zone was assumed), server, direction, and peer, envelope and status."""
    e = s.event
    when = stamp(e.time) if e.time else "—"
    if e.time is not None and e.time_quality.value == "zone-assumed":
        when += "*"
    peer = _peer(e)
    what = " ".join(p for p in (f"[muted]peer[/] {peer}" if peer else "", _envelope(e), _status(e)) if p)
    return (
        f"[bold]{s.pass_number}[/]" if s.pass_number else "",
        when,
        f"[host]{safe_markup(e.server or '?', 60)}[/]",
        _DIRECTION_ARROW.get(e.direction.value, "?"),
        what,
    )


def _sighting_place(s: Sighting, prefix: str) -> str:
    """The sighting's file:line under the common folder, and the id that linked it in."""
    e = s.event
    via = f" (linked by {safe_markup(s.via)})" if s.relation == "linked" and s.via else ""
    path = e.location.path[len(prefix) :] if prefix else e.location.path
    where = f"{path}:{e.location.line}" if e.location.line else path
    return f"[loc]{safe_markup(where, 200)}[/][muted]{via}[/]"


def _origin(row: HopRow) -> str:
    h = row.hop
    parts = (h.from_host, f"({h.from_helo})" if h.from_helo else None, f"[{h.from_ip}]" if h.from_ip else None)
    return " ".join(p for p in parts if p)


def _delay(row: HopRow) -> str:
    """The hop's delay, red when the clocks disagree, else with its share of the whole."""
    if row.skew:
        return f"[error]{duration(row.delay_seconds, '')}[/]"
    delay = duration(row.delay_seconds, "")
    if delay and row.share is not None:
        delay += f" {row.share:.0%}"
    return delay


def _hop_details(row: HopRow) -> str:
    h = row.hop
    details = " ".join(
        f"[muted]{label}[/] {safe_markup(value, 80)}"
        for label, value in (("with", h.with_proto), ("id", h.id), ("for", h.for_addr), ("via", h.via))
        if value
    )
    if row.software:
        details += f" [muted]({safe_markup(row.software, 80)})[/]"
    if row.skew:
        details += " [error]clock skew: this hop is dated before the one it came from[/]"
    return details


class ExplainTerminalReporter(Reporter["Explanation"]):
    """The default explain view for people; plain text when piped."""

    name: ClassVar[str] = "terminal"
    description: ClassVar[str] = "rich report for people (plain text when piped)"

    def report(self, expl: Explanation, out: TextIO) -> None:
        console = make_console(out, self.options.color, self.options.width)
        self._header(console, expl)
        for lv in expl.loops:
            self._loop(console, lv, expl)
        self._timeline(console, expl.sightings)
        if expl.chain is not None or expl.embedded:
            self._received(console, expl)
        if expl.headroom:
            self._headroom(console, expl)
        for finding in expl.findings:
            self._finding(console, finding)
        for note in expl.notes:
            console.print(f"[muted]note: {safe_markup(note)}[/]")

    def _header(self, console: Console, expl: Explanation) -> None:
        kinds = sorted({m.kind for m in expl.matches})
        servers = sorted({m.server for m in expl.matches if m.server})
        console.print(f"[rule]Message[/] {safe_markup(expl.query, 200)}")
        where = f" on {', '.join(f'[host]{safe_markup(s, 80)}[/]' for s in servers)}" if servers else ""
        console.print(
            f"  found as {', '.join(kinds)} in {len(expl.matches)} event(s){where}; "
            f"{len(expl.sightings)} sighting(s) in all" + (" [muted](from the index)[/]" if expl.used_index else "")
        )
        console.print()

    def _loop(self, console: Console, lv: LoopView, expl: Explanation) -> None:
        f = lv.finding
        ring = safe_markup(finding_ring(f), 400)
        console.print(f"[error]Loop[/] [rule]{safe_markup(f.rule_id)}[/] {safe_markup(f.title)}")
        console.print(f"  ring: [host]{ring}[/]")
        period = f", period {duration(lv.period_seconds)}" if lv.period_seconds else ""
        trips = "unknown" if lv.passes is None else f"{lv.passes:,}"
        counts = f"; {plural(f.messages, 'message')}" if f.messages else ""
        counts += f"; {f.hops} hops" if f.hops else ""
        console.print(f"  round trips: {trips}{period}{counts}; passes seen here: {len(lv.pass_sightings)}")
        if lv.first_pass is not None or lv.first_seen is not None:
            when = f"{stamp(lv.first_seen)} UTC" if lv.first_seen else ""
            at = f" at [loc]{safe_markup(str(lv.first_pass))}[/]" if lv.first_pass else ""
            console.print(f"  started: pass 1 {when}{at}")
        console.print()

    def _timeline(self, console: Console, sightings: tuple[Sighting, ...]) -> None:
        """One sighting per line (pass, time, server, direction, peer, envelope, status), its
        file:line on the next: a table with a path column folds everything at 100 columns."""
        prefix = common_folder([s.event.location.path for s in sightings])
        under = f" [muted](paths under {safe_markup(prefix, 200)})[/]" if prefix else ""
        console.print(f"[rule]Sightings[/] in time order, all servers{under}")
        shown = list(sightings)
        hidden = 0
        if self.options.verbose < 1 and len(shown) > SHOW_FIRST + SHOW_LAST + 1:
            hidden = len(shown) - SHOW_FIRST - SHOW_LAST
            shown = shown[:SHOW_FIRST] + shown[-SHOW_LAST:]
        grid = Table.grid(padding=(0, 1))
        grid.add_column(justify="right", width=4, no_wrap=True)
        grid.add_column(width=20, no_wrap=True)
        grid.add_column(width=18, overflow="ellipsis", no_wrap=True)
        grid.add_column(width=7, no_wrap=True)
        grid.add_column(overflow="fold")
        for i, s in enumerate(shown):
            if hidden and i == SHOW_FIRST:
                grid.add_row(*_gap_row(sightings[SHOW_FIRST:-SHOW_LAST]))
            grid.add_row(*_sighting_row(s))
            grid.add_row("", "", "", "", _sighting_place(s, prefix))
        console.print(grid)
        if any(s.event.time_quality.value == "zone-assumed" for s in sightings):
            console.print("[muted]* local time converted with an assumed zone (give --tz)[/]")
        console.print()

    def _received(self, console: Console, expl: Explanation) -> None:
        if expl.chain is not None:
            src = f" [muted]({safe_markup(str(expl.chain_location))})[/]" if expl.chain_location else ""
            console.print(f"[rule]Received chain[/], oldest hop first{src}")
            self._chain(console, expl.chain)
        for n, chain in enumerate(expl.embedded, 1):
            which = f" {n}" if len(expl.embedded) > 1 else ""
            console.print(f"[rule]Returned original{which}[/]: its own Received chain, oldest hop first")
            self._chain(console, chain)

    def _chain(self, console: Console, chain: ChainAnalysis) -> None:
        """Two lines per hop: number, date, delay and `from → by`; then with, id, for and software."""
        grid = Table.grid(padding=(0, 1))
        grid.add_column(justify="right", width=4, no_wrap=True)
        grid.add_column(width=19, no_wrap=True)
        grid.add_column(width=9, no_wrap=True)
        grid.add_column(overflow="fold")
        for row in chain.rows:
            for cells in self._hop_lines(row):
                grid.add_row(*cells)
        console.print(grid)
        self._cycle(console, chain)
        console.print()

    def _hop_lines(self, row: HopRow) -> list[tuple[str, str, str, str]]:
        h = row.hop
        when = stamp(h.date) if h.date else safe_markup(h.date_text or "no date", 19)
        mark = " ↻" if row.in_cycle else ""
        style = "warning" if row.in_cycle else "default"
        route = f"[{style}]{safe_markup(_origin(row) or '?', 120)} → [host]{safe_markup(h.by_host or '?', 80)}[/][/]"
        lines = [(f"{row.number}{mark}", when, _delay(row), route)]
        details = _hop_details(row)
        if details:
            lines.append(("", "", "", details))
        if h.defects:
            lines.append(
                ("", "", "", f"[error]{safe_markup(', '.join(h.defects))}[/]: [muted]{safe_markup(h.raw, 400)}[/]")
            )
        return lines

    def _cycle(self, console: Console, chain: ChainAnalysis) -> None:
        total = duration(chain.total_seconds, "")
        if total:
            console.print(f"total {total} over {len(chain.rows)} hop(s)")
        if chain.skewed:
            console.print(f"[error]{chain.skewed} negative delay(s): the servers' clocks disagree (clock skew)[/]")
        if chain.cycle is not None:
            c = chain.cycle
            ring = safe_markup(ring_text(c.hosts, c.shape), 400)
            first, last = chain.rows[c.rows[0]].number, chain.rows[c.rows[-1]].number
            way = "" if c.closed else " (only this direction is recorded)"
            console.print(
                f"[warning]repeating part (↻, hops {first}–{last}):[/] [host]{ring}[/]{way}, "
                f"{plural(c.passes, 'round trip')}"
            )
        for a, b, n in chain.edges:
            console.print(f"  edge {safe_markup(a, 80)} → {safe_markup(b, 80)} ×{n}")

    def _headroom(self, console: Console, expl: Explanation) -> None:
        # Where every pass is a new message (Q178436) there are no passes left to count, only this message's hops.
        per_pass = any(h.remaining_passes is not None for h in expl.headroom)
        what = "hops and passes" if per_pass else "hops"
        console.print(f"[rule]Hop headroom[/]: {what} left before each kind of MTA rejects this message")
        table = _table()
        for col in ("MTA", "limit", "hops left", *(["passes left"] if per_pass else []), "on path", "counts"):
            table.add_column(col)
        for h in expl.headroom:
            passes = ["" if h.remaining_passes is None else str(h.remaining_passes)] if per_pass else []
            table.add_row(
                h.mta,
                str(h.limit),
                str(h.remaining),
                *passes,
                "yes" if h.on_path else "",
                f"[muted]{safe_markup(h.note)}[/]",
                style="bold" if h.on_path else None,
            )
        console.print(table)
        if any(f.rule_id == "Q178436" for f in expl.findings):
            console.print(f"[muted]{safe_markup(Q178436_NOTE)}[/]")
        console.print()

    def _finding(self, console: Console, f: Finding) -> None:
        sev = f.severity.value
        console.print(f"[{sev}]{sev.upper()}[/] [rule]{safe_markup(f.rule_id)}[/] {safe_markup(f.title)}")
        console.print(f"  {safe_markup(f.summary, 2000)}")
        if f.cause:
            console.print(f"  [rule]cause:[/] {safe_markup(f.cause, 2000)}")
        for i, step in enumerate(f.fix, 1):
            console.print(f"  [rule]fix {i}:[/] {safe_markup(step, 2000)}")
        if f.references:
            console.print(f"  [muted]references: {safe_markup(', '.join(f.references))}[/]")
        console.print()
