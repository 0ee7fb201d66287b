"""Rich terminal report for a scan: the headline and one panel per finding (the tables below them: terminal_tables)."""

from __future__ import annotations

import codecs
import io
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TextIO, cast

from rich import box
from rich.console import Console, Group, RenderableType
from rich.padding import Padding
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from ..console import make_console
from ..humanize import finding_ring, format_period, format_rate, format_span, passes_text, plural, utc
from ..models import Evidence, Finding, Severity
from ..result import ScanResult
from ..textsafe import safe_text
from .base import Reporter, ReportOptions
from .terminal_tables import (
    FIELD_LIMIT,
    LINE_LIMIT,
    files_table,
    formats_table,
    heading,
    host_map_table,
    issues_section,
    location_text,
    safe_cell,
    servers_table,
    skipped_line,
)

# Rule-authored paragraphs (summary, cause, fix) interpolate log values such as hosts and subjects,
# so they are escaped too; the limits only stop a hostile 1 MB subject from flooding the screen.
_PARAGRAPH_LIMIT = 4000
_MAX_MESSAGE_IDS = 3
_MIN_EVIDENCE_TEXT = 32

_SEVERITY_ORDER = (Severity.ERROR, Severity.WARNING, Severity.INFO)


@dataclass(frozen=True)
class _Glyphs:
    """Symbols that need Unicode, with ASCII stand-ins for consoles that cannot encode them."""

    arrow: str
    both: str
    bullet: str
    hook: str


_UNICODE = _Glyphs(arrow="→", both="⇄", bullet="•", hook="↳")
_ASCII = _Glyphs(arrow="->", both="<->", bullet="-", hook="->")


def _is_utf(encoding: str | None) -> bool:
    # A stream without an encoding (StringIO) takes any str.
    return encoding is None or encoding.lower().replace("_", "-").startswith("utf")


def _glyphs(console: Console) -> _Glyphs:
    return _UNICODE if _is_utf(console.encoding) else _ASCII


class _Reencoding:
    """A text stream that shows what its encoding cannot carry as `\\uXXXX` instead of raising.

    `imsdiag scan > report.txt` on Windows writes cp1252, and a log subject in another script (or
    rich's own ellipsis) would end the report in a UnicodeEncodeError.
    """

    def __init__(self, out: TextIO, encoding: str) -> None:
        self._out = out
        self.encoding = encoding

    def write(self, text: str) -> int:
        self._out.write(text.encode(self.encoding, "backslashreplace").decode(self.encoding))
        return len(text)

    def flush(self) -> None:
        self._out.flush()

    def isatty(self) -> bool:
        try:
            return self._out.isatty()
        except (AttributeError, ValueError):
            return False


def _encoding_safe(out: TextIO) -> TextIO:
    encoding = getattr(out, "encoding", None)
    if _is_utf(encoding):
        return out
    try:
        codecs.lookup(str(encoding))
    except LookupError:  # a codec Python does not know: nothing better to do than write as is
        return out
    return cast(TextIO, _Reencoding(out, str(encoding)))


class TerminalReporter(Reporter[ScanResult]):
    """Human report: summary, one panel per finding, parse-issue summary."""

    name = "terminal"
    description = "rich report for people (plain text when piped)"

    def report(self, result: ScanResult, out: TextIO) -> None:
        """Write the whole report for `result` to `out`, coloured only when the console allows it."""
        console = make_console(_encoding_safe(out), self.options.color, self.options.width)
        g = _glyphs(console)
        console.print(_headline(result))
        for line in _context_lines(result, g):
            console.print(line)
        for finding in result.findings:
            console.print()
            console.print(_finding_panel(finding, g, console.width, self.options.verbose))
        if result.issue_counts:
            console.print()
            console.print(issues_section(result))
        if result.formats:
            console.print()
            console.print(formats_table(result))
        if self.options.verbose >= 1:
            console.print()
            console.print(servers_table(result))
            if result.host_joins:
                console.print()
                console.print(host_map_table(result))
            console.print()
            console.print(files_table(result))
        console.print()
        console.print(skipped_line(result))


def render_plain(result: ScanResult, width: int = 100, verbose: int = 0) -> str:
    """The terminal report as plain text (no colour, fixed width): the form golden files pin."""
    buf = io.StringIO()
    TerminalReporter(ReportOptions(color="never", width=width, verbose=verbose)).report(result, buf)
    # rich pads table rows to the width; golden files are easier to diff and edit without that.
    return "".join(line.rstrip() + "\n" for line in buf.getvalue().splitlines())


# --- small formatters ---------------------------------------------------------------------------


def _safe_paragraph(text: str | None, limit: int = _PARAGRAPH_LIMIT) -> Text:
    """Multi-line rule text: each line escaped on its own so intended line breaks survive."""
    lines = (text or "").split("\n")
    return Text("\n".join(safe_text(line, limit) for line in lines))


def _severity_style(severity: Severity) -> str:
    return severity.value  # the console theme defines `error`, `warning` and `info`


# --- headline -----------------------------------------------------------------------------------


def _severity_counts(findings: Sequence[Finding]) -> str:
    counts = Counter(f.severity for f in findings)
    return ", ".join(plural(counts[s], s.value) for s in _SEVERITY_ORDER if counts[s])


def _input_scope(result: ScanResult) -> str:
    return (
        f"{plural(result.files_read, 'file')}, {plural(len(result.servers), 'server')}, "
        f"{plural(result.lines_read, 'line')}"
    )


def _headline(result: ScanResult) -> Text:
    """`LOOP FOUND: 1 loop (1 error) in 14 files, ...` or the green all-clear."""
    if not result.findings:
        return Text(f"No mail loops found in {_input_scope(result)}", style="bold good")
    n = len(result.findings)
    label = "LOOP FOUND" if n == 1 else "LOOPS FOUND"
    text = Text(f"{label}: ", style=_severity_style(result.max_severity() or Severity.ERROR))
    text.append(f"{plural(n, 'loop')} ({_severity_counts(result.findings)}) in {_input_scope(result)}")
    return text


def _input_span(result: ScanResult) -> tuple[str, datetime | None, datetime | None]:
    """The time span to show: the input's own when the result carries one, else the loops' activity."""
    first, last = result.first_time, result.last_time
    if first is not None or last is not None:
        return "Input covers", first, last
    firsts = [f.first_seen for f in result.findings if f.first_seen is not None]
    lasts = [f.last_seen for f in result.findings if f.last_seen is not None]
    if not firsts and not lasts:
        return "", None, None
    return "Loop activity", min(firsts, key=utc, default=None), max(lasts, key=utc, default=None)


def _context_lines(result: ScanResult, g: _Glyphs) -> list[Text]:
    """The lines under the headline: time span, hidden findings, engine notes."""
    lines: list[Text] = []
    label, first, last = _input_span(result)
    if label:
        lines.append(Text(f"{label}: {format_span(first, last).replace('→', g.arrow)}", style="muted"))
    hidden = []
    if result.suppressed:
        hidden.append(f"{plural(result.suppressed, 'finding')} hidden by the baseline")
    if result.filtered:
        hidden.append(f"{plural(result.filtered, 'finding')} hidden by --select/--ignore")
    if hidden:
        lines.append(Text("; ".join(hidden), style="muted"))
    lines.extend(Text(safe_text(note, LINE_LIMIT), style="muted") for note in result.notes)
    return lines


# --- one finding --------------------------------------------------------------------------------


def _bulleted(head: str, items: Sequence[str], g: _Glyphs) -> Text:
    """`head` then one bullet line per item; with no head the first bullet opens the text."""
    lines = [head] if head else []
    lines += [f"{g.bullet} {safe_text(item, LINE_LIMIT)}" for item in items]
    return Text("\n".join(lines))


def _builds(finding: Finding) -> Text:
    return Text("\n").join(safe_cell(f"{server} {build}") for server, build in finding.builds)


def _addresses(finding: Finding) -> Text:
    return Text(", ").join(Text(safe_text(a, FIELD_LIMIT), style="addr") for a in finding.addresses)


def _explain_hint(finding: Finding, verbose: int) -> Text:
    ids = finding.message_ids[:_MAX_MESSAGE_IDS]
    text = Text("imsdiag explain ")
    text.append(safe_text(ids[0], FIELD_LIMIT), style="bold")
    if verbose and len(finding.message_ids) > 1:
        text.append(f"  ({plural(len(finding.message_ids), 'message')} involved)", style="muted")
    return text


def _facts_grid(finding: Finding, g: _Glyphs, verbose: int) -> Table:
    """The key facts: ring, address, passes, period, build verdict, confidence; `-v` adds the rest."""
    rows: list[tuple[str | Text, RenderableType]] = []
    ring = finding_ring(finding, arrow=g.arrow, both=g.both)
    rows.append(("Ring", Text(safe_text(ring, LINE_LIMIT), style="host")))
    if finding.addresses:
        rows.append(("Address" if len(finding.addresses) == 1 else "Addresses", _addresses(finding)))
    rows.append(("Passes", Text(passes_text(finding))))
    rows.append(("Period" if finding.period_seconds is not None else "When", _period(finding, g)))
    if finding.build_verdict:
        rows.append(("Build", _safe_paragraph(finding.build_verdict, LINE_LIMIT)))
    if verbose:
        rows.append(("Severity", Text(finding.severity.value, style=_severity_style(finding.severity))))
        rows.append(("Confidence", _bulleted(safe_text(finding.confidence, 40), finding.confidence_reasons, g)))
        if finding.rate_per_hour is not None:
            rows.append(("Rate", format_rate(finding.rate_per_hour)))
        if finding.builds:
            rows.append(("Builds seen", _builds(finding)))
        for label, value in finding.details:
            rows.append((safe_cell(label, 40), _safe_paragraph(value, LINE_LIMIT)))
    if finding.message_ids:
        rows.append(("Explain", _explain_hint(finding, verbose)))
    # Every label padded to one width (never less than "Builds seen") and two spaces keeps the values of
    # every panel in one column, whatever labels it has. Padded by hand, not with the column's min_width
    # and padding: rich before 14.3 laid those out two cells wider than rich 14.3 and later.
    names = [Text(name) if isinstance(name, str) else name.copy() for name, _ in rows]
    width = max(len("Builds seen"), *(name.cell_len for name in names))
    grid = Table.grid()
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column()
    for name, (_, fact) in zip(names, rows, strict=True):
        name.pad_right(width + 2 - name.cell_len)
        grid.add_row(name, fact)
    return grid


def _period(finding: Finding, g: _Glyphs) -> Text:
    when = format_span(finding.first_seen, finding.last_seen, g.arrow)
    if finding.period_seconds is None:
        return Text(when)
    return Text(f"{format_period(finding.period_seconds)}, {when}")


def _evidence_table(evidence: Sequence[Evidence], g: _Glyphs, width: int, notes: bool = True) -> RenderableType:
    """`file:line` kept whole on one line (greppable), the escaped line text cut to the width."""
    locations = [location_text(ev.location.path, ev.location.line) for ev in evidence]
    # Side by side only while the line text keeps a readable share of the width.
    if max(len(loc) for loc in locations) > width - _MIN_EVIDENCE_TEXT:
        return _evidence_stacked(evidence, locations, g, notes)
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, expand=True)
    table.add_column("Where", style="loc", no_wrap=True)
    # Wrappable for the width calculation, so this column (not the location) gives way; the Text
    # itself refuses to wrap, so each evidence line stays one line cut with an ellipsis.
    table.add_column("Line", ratio=1)
    for ev, loc in zip(evidence, locations, strict=True):
        table.add_row(loc, _evidence_cell(ev, g, notes))
    return table


def _evidence_cell(ev: Evidence, g: _Glyphs, notes: bool = True) -> Text:
    cell = Text(safe_text(ev.text, LINE_LIMIT), style="evidence", no_wrap=True, overflow="ellipsis")
    if ev.note and notes:
        cell.append(f"\n{g.hook} ")
        cell.append(safe_text(ev.note, LINE_LIMIT), style="muted")
    return cell


def _evidence_stacked(evidence: Sequence[Evidence], locations: Sequence[Text], g: _Glyphs, notes: bool) -> Group:
    """Deep paths leave no room for a second column: each location on its own (folded) line instead."""
    parts: list[RenderableType] = []
    for ev, loc in zip(evidence, locations, strict=True):
        loc.stylize("loc")
        loc.overflow = "fold"
        parts += [loc, Padding(_evidence_cell(ev, g, notes), (0, 0, 0, 2))]
    return Group(*parts)


def _fix_steps(steps: Sequence[str]) -> Table:
    """Numbered steps with a hanging indent, so a multi-line step stays under its number."""
    grid = Table.grid(padding=(0, 1))
    grid.add_column(justify="right", no_wrap=True)
    grid.add_column()
    for i, step in enumerate(steps, 1):
        grid.add_row(f"{i}.", _safe_paragraph(step))
    return grid


_DEFAULT_STEPS = 3
_DEFAULT_EVIDENCE = 3


def _finding_panel(finding: Finding, g: _Glyphs, width: int, verbose: int = 0) -> Panel:
    """One finding as a panel readable in ten seconds; `-v` adds reasons, every step and line, cause, references.

    The title goes inside the panel, where it wraps: a border title is cut at the panel's width.
    """
    style = _severity_style(finding.severity)
    title = Text(safe_text(finding.title, FIELD_LIMIT), style="bold")
    parts: list[RenderableType] = [title, _safe_paragraph(finding.summary), Text(), _facts_grid(finding, g, verbose)]
    steps = finding.fix if verbose else finding.fix[:_DEFAULT_STEPS]
    evidence = finding.evidence if verbose else finding.evidence[:_DEFAULT_EVIDENCE]
    if steps:
        parts += [Text(), heading("Fix", len(steps), len(finding.fix)), _fix_steps(steps)]
    if evidence:
        evidence_head = heading("Evidence", len(evidence), len(finding.evidence))
        parts += [Text(), evidence_head, _evidence_table(evidence, g, width - 4, notes=bool(verbose))]
    if verbose and finding.cause:
        parts += [Text(), heading("Cause"), _safe_paragraph(finding.cause)]
    if verbose and finding.references:
        parts += [Text(), heading("References"), _bulleted("", finding.references, g)]
    if not verbose and (more := _more_line(finding)):
        parts.append(Text(more, style="muted"))
    # Theme names cannot be combined in one style string (`error bold`), so the bold is a span.
    label = Text(
        f"{finding.severity.value.upper()} {safe_text(finding.rule_id, 40)} {safe_text(finding.slug, 80)}, "
        f"confidence {safe_text(finding.confidence, 20)}"
    )
    label.stylize(style)
    label.stylize("bold")
    return Panel(Group(*parts), title=label, title_align="left", border_style=style, padding=(0, 1))


def _more_line(finding: Finding) -> str:
    """What `-v` adds to this finding, said in one line."""
    more = []
    if len(finding.fix) > _DEFAULT_STEPS:
        more.append(plural(len(finding.fix) - _DEFAULT_STEPS, "step"))
    if len(finding.evidence) > _DEFAULT_EVIDENCE:
        more.append(plural(len(finding.evidence) - _DEFAULT_EVIDENCE, "evidence line"))
    more += [
        what
        for what, present in (
            ("confidence reasons", finding.confidence_reasons),
            ("cause", finding.cause),
            ("references", finding.references),
            ("how it was found", finding.details),
        )
        if present
    ]
    return "-v adds " + ", ".join(more) if more else ""
