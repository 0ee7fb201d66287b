"""`audit --format terminal`: the totals, the IMS to patch first, users at risk and unknown, IMS and site tables."""

from __future__ import annotations

import os
from typing import ClassVar, TextIO

from rich.console import Console
from rich.text import Text

from ..audit.records import UserVerdict, Verdict
from ..audit.summary import AuditResult
from ..humanize import plural
from ..textsafe import safe_text
from .base import Reporter
from .terminal import _encoding_safe
from .terminal_tables import heading, location_text, plain_table, safe_cell

_STYLE = {Verdict.AT_RISK: "error", Verdict.UNKNOWN: "warning", Verdict.SAFE: "good"}
_REASON_LIMIT = 400
_ORDER = {Verdict.AT_RISK: 0, Verdict.UNKNOWN: 1, Verdict.SAFE: 2}
MAX_ROWS = 200
"""Mailboxes listed in the terminal (-vv: all); a rich table of 75,000 rows takes minutes to lay out."""


def _headline(result: AuditResult) -> Text:
    n = len(result.verdicts)
    text = Text(f"imsdiag audit: {plural(n, 'mailbox', 'mailboxes')}: ")
    text.append(f"{result.count(Verdict.AT_RISK)} at risk", style="error" if result.count(Verdict.AT_RISK) else "good")
    text.append(f", {result.count(Verdict.SAFE)} safe, ")
    text.append(f"{result.count(Verdict.UNKNOWN)} unknown", style="warning" if result.count(Verdict.UNKNOWN) else "")
    skipped = [(cls, k) for f in result.files for cls, k in f.skipped]
    if skipped:
        total = sum(k for _, k in skipped)
        kinds = ", ".join(f"{k} {safe_text(cls, 40)}" for cls, k in skipped)
        text.append(f" ({total} other entr{'y' if total == 1 else 'ies'} skipped: {kinds})")
    if result.issue_total:
        text.append(f"; {plural(result.issue_total, 'parse issue')}")
    return text


def _patch_line(result: AuditResult) -> Text:
    first = result.patch_first
    if first is None:
        return Text("No IMS needs patching for Q178436 on these facts.", style="good")
    text = Text("Patch first: ", style="bold")
    text.append(safe_text(first.server, 80), style="host")
    text.append(f" ({safe_text(first.host, 200)}, site {safe_text(first.site or '?', 80)}): ")
    text.append(f"{plural(first.at_risk, 'user')} at risk; {safe_text(first.status, 200)}")
    return text


def _users_table(verdicts: list[UserVerdict]) -> object:
    table = plain_table()
    table.add_column("Mailbox", style="addr", overflow="fold")
    table.add_column("Site", overflow="fold")
    table.add_column("Verdict", no_wrap=True)
    table.add_column("Reason", overflow="fold", ratio=1)
    table.add_column("Line", style="loc", overflow="fold")
    for v in verdicts:
        mb = v.mailbox
        table.add_row(
            safe_cell(mb.mailbox, 80),
            safe_cell(mb.site or "?", 60),
            Text(v.verdict.value, style=_STYLE[v.verdict]),
            safe_cell(v.reason, _REASON_LIMIT),
            location_text(os.path.basename(mb.location.path), mb.location.line),
        )
    return table


def _ims_table(result: AuditResult) -> object:
    table = plain_table()
    table.add_column("IMS", style="host", no_wrap=True)
    table.add_column("Host", overflow="fold")
    table.add_column("Site", overflow="fold")
    table.add_column("Build", overflow="fold", ratio=1)
    table.add_column("From", overflow="fold")
    table.add_column("Routed", justify="right")
    table.add_column("At risk", justify="right")
    for s in result.ims:
        table.add_row(
            safe_cell(s.server, 40),
            safe_cell(s.host, 200),
            safe_cell(s.site or "?", 60),
            safe_cell(s.status, 200),
            safe_cell(s.build_source or "-", 120),
            str(s.routed),
            Text(str(s.at_risk), style="error" if s.at_risk else ""),
        )
    return table


def _sites_table(result: AuditResult) -> object:
    table = plain_table()
    table.add_column("Site", overflow="fold")
    for name in ("Mailboxes", "At risk", "Safe", "Unknown"):
        table.add_column(name, justify="right")
    for s in result.sites:
        table.add_row(safe_cell(s.site, 80), str(s.users), str(s.at_risk), str(s.safe), str(s.unknown))
    return table


def _issues(result: AuditResult, console: Console) -> None:
    console.print(heading(f"Parse issues: {result.issue_total}"))
    table = plain_table()
    table.add_column("Code", no_wrap=True)
    table.add_column("Where", style="loc", overflow="fold")
    table.add_column("What", overflow="fold", ratio=1)
    for issue in result.issues:
        what = issue.message + (f": {issue.excerpt}" if issue.excerpt else "")
        table.add_row(
            safe_cell(issue.code, 40), location_text(issue.location.path, issue.location.line), safe_cell(what, 300)
        )
    console.print(table)


def _summaries(result: AuditResult, console: Console) -> None:
    """The IMS and site tables, the fix and workaround when a mailbox is at risk, and the audit's notes."""
    if result.ims:
        console.print()
        console.print(heading("IMS that primary domains route to (most users at risk first)"))
        console.print(_ims_table(result))
    if result.sites:
        console.print()
        console.print(heading("Home sites"))
        console.print(_sites_table(result))
    if result.count(Verdict.AT_RISK):
        console.print()
        console.print(Text("Fix: ", style="bold") + Text(result.fix))
        console.print(Text("Workaround: ", style="bold") + Text(result.workaround))
    for note in result.notes:
        console.print(Text(safe_text(note, 500), style="muted"))


class AuditTerminalReporter(Reporter[AuditResult]):
    """People's report: at-risk and unknown users (every user with -v), the IMS and site summaries, fix, workaround."""

    name: ClassVar[str] = "terminal"
    description: ClassVar[str] = "rich report for people (plain text when piped)"

    def report(self, result: AuditResult, out: TextIO) -> None:
        from ..console import make_console

        console = make_console(_encoding_safe(out), self.options.color, self.options.width)
        console.print(_headline(result))
        console.print(_patch_line(result))
        read = ", ".join(f"{safe_text(f.path, 300)} ({f.format or 'not an export'})" for f in result.files)
        console.print(Text(f"Read: {read}", style="muted"))
        self._mailboxes(result, console)
        _summaries(result, console)
        if result.issue_total:
            console.print()
            _issues(result, console)

    def _mailboxes(self, result: AuditResult, console: Console) -> None:
        """The mailboxes at risk or unknown (every one with -v), at most MAX_ROWS of them unless -vv."""
        verbose = self.options.verbose
        listed = [v for v in result.verdicts if verbose or v.verdict is not Verdict.SAFE]
        # At risk first: with thousands of mailboxes the screen shows those, and the CSV or JSON has them all.
        listed.sort(key=lambda v: _ORDER[v.verdict])
        shown = listed if verbose >= 2 else listed[:MAX_ROWS]
        if not shown:
            return
        console.print()
        title = "Mailboxes" if verbose else "Mailboxes at risk or unknown (-v shows the safe ones too)"
        console.print(heading(title, len(shown), len(listed)))
        console.print(_users_table(shown))
        if len(shown) < len(listed):
            more = f"{len(listed) - len(shown):,} more: -vv lists them all, --format csv or json gives every mailbox"
            console.print(Text(more, style="muted"))
