"""The tables under the terminal report's findings: parse issues, what was read, servers, host map and files."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from rich import box
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from ..humanize import plural
from ..models import ParseIssue
from ..result import ScanResult
from ..textsafe import safe_text
from .base import common_folder

# Log values are escaped everywhere; the limits only stop a hostile 1 MB line from flooding the screen.
LINE_LIMIT = 2000
FIELD_LIMIT = 300


def safe_cell(text: str | None, limit: int | None = FIELD_LIMIT) -> Text:
    """Log-derived text as a rich Text: escaped and never parsed as markup."""
    return Text(safe_text(text, limit))


def location_text(path: str, line: int) -> Text:
    return Text(safe_text(path, LINE_LIMIT) + (f":{line}" if line else ""))


def heading(title: str, shown: int | None = None, total: int | None = None) -> Text:
    """`Fix`, or `Fix (3 of 6)` when only some are shown."""
    if shown is not None and total is not None and shown < total:
        title = f"{title} ({shown} of {total})"
    return Text(title, style="bold")


def first_examples(issues: Iterable[ParseIssue]) -> dict[str, ParseIssue]:
    examples: dict[str, ParseIssue] = {}
    for issue in issues:
        examples.setdefault(issue.code, issue)
    return examples


def issues_section(result: ScanResult) -> Group:
    """Counts per parse-issue code with one example each, and where the other examples are."""
    examples = first_examples(result.issues)
    table = plain_table()
    table.add_column("Code", no_wrap=True)
    table.add_column("Count", justify="right", no_wrap=True)
    table.add_column("Example", overflow="fold")
    for code, count in result.issue_counts:
        example = examples.get(code)
        cell = Text()
        if example is not None:
            cell.append(location_text(example.location.path, example.location.line))
            cell.append("\n")
            cell.append(safe_text(example.message, LINE_LIMIT), style="muted")
        table.add_row(safe_cell(code, 60), f"{count:,}", cell)
    head = Text(f"Parse issues: {result.issue_total:,} ({plural(len(result.issue_counts), 'kind')})")
    head.stylize("bold")
    more = Text("More examples per code: imsdiag scan --format json (parse_issues.examples)", style="muted")
    return Group(head, table, more)


def plain_table() -> Table:
    return Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)


def servers_table(result: ScanResult) -> Group:
    """Every server, how its name was found (banner beats path), the builds and formats it showed."""
    table = plain_table()
    table.add_column("Server", style="host", no_wrap=True, overflow="fold")
    table.add_column("Name from", no_wrap=True)
    table.add_column("Builds")
    table.add_column("Formats")
    for s in result.servers:
        table.add_row(
            safe_cell(s.name),
            safe_cell(s.name_source, 40),
            safe_cell(", ".join(s.builds) or "-"),
            safe_cell(", ".join(s.formats) or "-"),
        )
    return Group(heading(f"Servers ({len(result.servers):,})"), table)


def host_map_table(result: ScanResult) -> Group:
    """Which names were taken for one machine, and the evidence for each join (`scan -v`)."""
    table = plain_table()
    table.add_column("Name", style="host", no_wrap=True, overflow="fold")
    table.add_column("Same machine as", style="host", no_wrap=True, overflow="fold")
    table.add_column("Because")
    for a, b, reason in result.host_joins:
        table.add_row(safe_cell(a), safe_cell(b), safe_cell(reason, 200))
    return Group(heading(f"Host map ({len(result.host_joins):,} joins)"), table)


def formats_table(result: ScanResult) -> Group:
    """What was read, per format: files, lines, events and issues (always shown, one row per format)."""
    table = plain_table()
    table.add_column("Format", no_wrap=True)
    for name in ("Files", "Lines", "Events", "Issues"):
        table.add_column(name, justify="right", no_wrap=True)
    for f in result.formats:
        table.add_row(safe_cell(f.format), f"{f.files:,}", f"{f.lines:,}", f"{f.events:,}", f"{f.issues:,}")
    return Group(heading("Read"), table)


def files_table(result: ScanResult) -> Group:
    """Every input file, paths shown below their common folder so the numbers keep their room."""
    table = plain_table()
    prefix = common_folder([f.path for f in result.files])
    table.add_column("Path", no_wrap=True, overflow="fold")
    table.add_column("Server", no_wrap=True, overflow="ellipsis", max_width=30)
    for name in ("Lines", "Events", "Issues"):
        table.add_column(name, justify="right", no_wrap=True, min_width=6)
    # A skipped file says "skipped" here and its reason in a list under the table: a reason column
    # would squeeze the path and server off a 100-column screen.
    table.add_column("Format", no_wrap=True)
    for f in result.files:
        table.add_row(
            safe_cell(f.path[len(prefix) :] if prefix else f.path, LINE_LIMIT),
            safe_cell(f.server or "-"),
            f"{f.lines:,}",
            f"{f.events:,}",
            f"{f.issues:,}",
            safe_cell(f.format) if f.format else Text("skipped", style="warning"),
        )
    skipped = [
        Text(f"  {safe_text(f.path[len(prefix) :] if prefix else f.path, 200)}: {safe_text(f.skipped_reason, 120)}")
        for f in result.files
        if f.format is None
    ]
    under = f" under {safe_text(prefix, 200)}" if prefix else ""
    parts: list[RenderableType] = [heading(f"Files ({len(result.files):,}){under}"), table]
    if skipped:
        parts += [Text("Skipped:", style="warning"), *skipped]
    return Group(*parts)


def skipped_line(result: ScanResult) -> Text:
    """Always one line on skipped files, with the commonest reasons, so nothing is silently ignored."""
    skipped = [f for f in result.files if f.format is None]
    if not skipped:
        return Text(f"Skipped files: none ({plural(result.files_read, 'file')} read)", style="muted")
    reasons = Counter(safe_text(f.skipped_reason or "no reason given", 80) for f in skipped)
    shown = ", ".join(f"{n} {reason}" for reason, n in reasons.most_common(3))
    extra = "" if len(reasons) <= 3 else f", {len(reasons) - 3} other reasons"
    return Text(
        f"Skipped files: {len(skipped):,} of {len(result.files):,} ({shown}{extra}); -v lists them",
        style="warning",
    )
