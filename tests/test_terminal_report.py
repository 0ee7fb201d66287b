"""Terminal reporter: exact plain-text substrings at width 100, colour policy, and hostile log text."""

from __future__ import annotations

import io
from dataclasses import replace
from datetime import datetime, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rich.cells import cell_len

from imsdiag.humanize import format_period, format_rate, format_span, format_time
from imsdiag.models import Evidence, Finding, Location, ParseIssue, Severity
from imsdiag.reporters import get_reporter
from imsdiag.reporters.base import ReportOptions
from imsdiag.reporters.terminal import TerminalReporter, render_plain
from imsdiag.result import FileStat, ScanResult, ServerInfo
from tests.factories import finding, scan_result

IMC1_LOG = "q178436-site-connector/imc1/Imcdata/Log/L0000001.LOG"
RELAY_LOG = "q178436-site-connector/relay/maillog"
HOSTILE = "Delivered: \x1b]0;owned\x07 [bold red]x[/] nul\x00 cr\r sur\ud800 bidi\u202e end"


def _utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


def q178436_finding(subject: str = "Delivered: Budget 2001") -> Finding:
    """The founding case: a delivery receipt looping 42 times between IMC1 and the relay."""
    return finding(
        "Q178436",
        title="Delivery receipt loops between IMS and relay (KB Q178436)",
        summary=(
            "A delivery receipt with a null sender (MAIL FROM:<>) for user2@company.com passed 42 times "
            "between imc1.company.com and relay.company.com; each pass is a new message, so hop counts "
            f"never stop it. Subject: {subject}"
        ),
        hosts=("imc1.company.com", "relay.company.com"),
        addresses=("user2@company.com",),
        first_seen=_utc(2001, 2, 7, 17, 1, 20),
        last_seen=_utc(2001, 2, 7, 18, 27, 5),
        passes=42,
        rate_per_hour=29.3,
        period_seconds=125,
        evidence=(
            Evidence(Location(IMC1_LOG, 12), "2/7/01 5:01:20 PM : >>> MAIL FROM: <>", "null sender"),
            Evidence(Location(IMC1_LOG, 13), "2/7/01 5:01:20 PM : >>> RCPT TO: <user2@company.com>"),
            Evidence(
                Location(RELAY_LOG, 7),
                f"Feb  7 17:03:25 relay postfix/smtp[311]: 4A1B2: to=<user2@company.com> {subject}",
                "relay hands it back to imc1",
            ),
        ),
        confidence_reasons=(
            "42 passes of the same null-sender report",
            "IMS build 5.5.1960.3 is below the fixed build 5.5.2186.0",
        ),
        cause=(
            "The IMS cannot encapsulate the RFC 821 recipient in the delivery receipt and addresses it "
            "to the primary SMTP proxy, whose MX points back at the relay."
        ),
        fix=(
            "Install Exchange 5.5 Service Pack 1 (Q242221) or later on imc1.company.com.",
            "Until then, make the site-specific proxy user2@imc2.company.com the reply address.\n"
            "Then restart the Internet Mail Service.",
            "Delete the looping receipts from Imcdata\\Out and the archive folders.",
        ),
        references=("KB Q178436", "KB Q189270 (Exchange 4.0 caveat, event 4082)", "KB Q242221"),
        message_ids=("4A1B2@relay.company.com", "4A1B3@relay.company.com"),
        builds=(("imc1.company.com", "5.5.1960.3"),),
        details=(("Fixed build", "IMS 5.5 build 2186.0 (5.5 SP1)"), ("Growth", "+310 bytes per pass")),
    )


def chain_cycle_finding() -> Finding:
    """A generic Received-chain cycle at warning severity (seen in a bounce), with no period or builds."""
    return finding(
        "LOOP002",
        severity=Severity.WARNING,
        confidence="medium",
        title="Received chain visits the same hosts twice",
        summary="One message passed mx1.example.org and mx2.example.org twice.",
        hosts=("mx1.example.org", "mx2.example.org"),
        addresses=("list@example.org", "owner@example.org"),
        first_seen=_utc(2001, 2, 8, 9, 0),
        last_seen=_utc(2001, 2, 8, 9, 12),
        passes=3,
        evidence=(Evidence(Location("mx1/maillog", 881), "Received: from mx2.example.org by mx1"),),
        cause="Two aliases forward to each other.",
        fix=("Remove one of the two forwarding aliases.",),
    )


def make_result(findings: tuple[Finding, ...] = (), **kw: object) -> ScanResult:
    files = tuple(FileStat(f"imc1/Imcdata/Log/L{i:07d}.LOG", "ims-protocol", "imc1.company.com") for i in range(13))
    files += (
        FileStat(RELAY_LOG, "postfix", "relay.company.com", lines=500, events=40, issues=2),
        FileStat("notes.txt", None, skipped_reason="unknown format"),
    )
    base: dict[str, object] = dict(
        issues=(
            ParseIssue(Location(RELAY_LOG, 99), "bad-timestamp", "timestamp not understood", "Feb 31 xx"),
            ParseIssue(Location(RELAY_LOG, 120), "bad-timestamp", "second example"),
            ParseIssue(Location("imc1/Imcdata/Log/L0000003.LOG", 4), "truncated-line", "line cut at 1 MB"),
        ),
        issue_counts=(("bad-timestamp", 57), ("truncated-line", 1)),
        files=files,
        servers=(
            ServerInfo("imc1.company.com", "banner", ("5.5.1960.3",), formats=("ims-protocol",)),
            ServerInfo("relay.company.com", "path", formats=("postfix",)),
            ServerInfo("imc2.company.com", "content"),
        ),
        formats=(),
        lines_read=2130,
    )
    base.update(kw)
    return scan_result(*findings, **base)


@pytest.fixture
def loop_result() -> ScanResult:
    return make_result((chain_cycle_finding(), q178436_finding()))


def test_headline_counts_findings_by_severity(loop_result: ScanResult) -> None:
    out = render_plain(loop_result)
    assert out.splitlines()[0] == "LOOPS FOUND: 2 loops (1 error, 1 warning) in 14 files, 3 servers, 2,130 lines"
    assert "Loop activity: 2001-02-07 17:01 → 2001-02-08 09:12 UTC" in out


def test_single_loop_headline() -> None:
    out = render_plain(make_result((q178436_finding(),)))
    assert out.startswith("LOOP FOUND: 1 loop (1 error) in 14 files, 3 servers, 2,130 lines\n")


def test_error_panel_comes_first_with_title_and_facts(loop_result: ScanResult) -> None:
    out = render_plain(loop_result)
    assert out.index("ERROR Q178436 ims-receipt-loop, confidence high") < out.index(
        "WARNING LOOP002 received-chain-cycle"
    )
    # The title is inside the panel, where it wraps instead of being cut at the border.
    assert "│ Delivery receipt loops between IMS and relay" in out
    assert "Ring         imc1.company.com → relay.company.com → imc1.company.com" in out
    assert "Address      user2@company.com" in out
    assert "Addresses    list@example.org, owner@example.org" in out
    assert "Passes       42 round trips of the ring" in out
    assert "Period       every 2m 05s, 2001-02-07 17:01 → 18:27 UTC" in out
    explain = next(line for line in out.splitlines() if "Explain " in line)
    assert "imsdiag explain 4A1B2@relay.company.com" in explain and "involved" not in explain
    # The default view leaves the rest to -v, and says so in one line.
    assert "Confidence   high" not in out and "Rate" not in out and "Fixed build" not in out
    assert "-v adds" in out


def test_verbose_panel_has_every_fact(loop_result: ScanResult) -> None:
    out = render_plain(loop_result, verbose=1)
    assert "Severity     error" in out
    assert "Rate         29 passes/h" in out
    assert "Confidence   high" in out
    assert "• IMS build 5.5.1960.3 is below the fixed build 5.5.2186.0" in out
    assert "Builds seen  imc1.company.com 5.5.1960.3" in out
    assert "Fixed build  IMS 5.5 build 2186.0 (5.5 SP1)" in out
    assert "Explain      imsdiag explain 4A1B2@relay.company.com  (2 messages involved)" in out
    assert "-v adds" not in out


def test_evidence_location_stays_whole_and_greppable(loop_result: ScanResult) -> None:
    lines = render_plain(loop_result, verbose=1).splitlines()
    row = next(line for line in lines if f"{IMC1_LOG}:12" in line)
    assert "2/7/01 5:01:20 PM : >>> MAIL FROM: <>" in row
    assert any(f"{IMC1_LOG}:13" in line for line in lines)
    assert any(f"{RELAY_LOG}:7" in line for line in lines)
    assert any("↳ relay hands it back to imc1" in line for line in lines)
    assert all(len(line) <= 100 for line in lines)


def test_long_evidence_line_is_cut_to_the_width() -> None:
    finding = q178436_finding(subject="S" * 400)
    lines = render_plain(make_result((finding,))).splitlines()
    row = next(line for line in lines if f"{RELAY_LOG}:7" in line)
    assert len(row) == 100
    assert "…" in row


def test_deep_path_evidence_is_stacked_not_cropped() -> None:
    path = "logs/" + "deep/" * 20 + "L0000001.LOG"
    finding = replace(chain_cycle_finding(), evidence=(Evidence(Location(path, 5), "MAIL FROM: <>", "again"),))
    lines = render_plain(make_result((finding,)), verbose=1).splitlines()
    at = next(i for i, line in enumerate(lines) if "logs/deep/" in line)
    joined = lines[at][2:-1].rstrip() + lines[at + 1][2:-1].rstrip()
    assert joined == f"{path}:5"
    assert lines[at + 2].startswith("│   MAIL FROM: <>")
    assert lines[at + 3].startswith("│   ↳ again")


def test_cause_fix_and_references(loop_result: ScanResult) -> None:
    assert "│ Cause" not in render_plain(loop_result)
    out = render_plain(loop_result, verbose=1)
    assert "│ Cause" in out
    assert "│ 1. Install Exchange 5.5 Service Pack 1 (Q242221) or later on imc1.company.com." in out
    # A multi-line step keeps its lines under the number (hanging indent).
    assert "│ 2. Until then, make the site-specific proxy user2@imc2.company.com the reply address." in out
    assert "│    Then restart the Internet Mail Service." in out
    assert "│ 3. Delete the looping receipts from Imcdata\\Out and the archive folders." in out
    assert "• KB Q189270 (Exchange 4.0 caveat, event 4082)" in out


def test_parse_issues_table(loop_result: ScanResult) -> None:
    out = render_plain(loop_result)
    assert "Parse issues: 58 (2 kinds)" in out
    row = next(line for line in out.splitlines() if line.startswith("bad-timestamp"))
    assert "57" in row
    assert f"{RELAY_LOG}:99" in row
    assert "timestamp not understood" in out
    assert "second example" not in out
    assert "--format json" in out


def test_parse_issues_omitted_when_none() -> None:
    out = render_plain(make_result(issues=(), issue_counts=()))
    assert "Parse issues" not in out


def test_clean_result_message() -> None:
    result = make_result(issues=(), issue_counts=())
    out = render_plain(result)
    assert out.splitlines()[0] == "No mail loops found in 14 files, 3 servers, 2,130 lines"
    assert "Skipped files: 1 of 15 (1 unknown format); -v lists them" in out
    assert "╭" not in out


def test_skipped_note_when_nothing_skipped() -> None:
    result = make_result(files=(FileStat("a.log", "postfix"),), issues=(), issue_counts=())
    out = render_plain(result)
    assert out.splitlines()[0] == "No mail loops found in 1 file, 3 servers, 2,130 lines"
    assert out.rstrip().endswith("Skipped files: none (1 file read)")


def test_hidden_findings_and_notes_are_mentioned() -> None:
    out = render_plain(make_result(suppressed=2, filtered=1, notes=("zone assumed: UTC\x1b[2J",)))
    assert "2 findings hidden by the baseline; 1 finding hidden by --select/--ignore" in out
    assert "zone assumed: UTC\\x1b[2J" in out


def test_verbose_tables(loop_result: ScanResult) -> None:
    assert "Servers" not in render_plain(loop_result)
    out = render_plain(loop_result, verbose=1)
    row = next(line for line in out.splitlines() if "imc1.company.com" in line and "banner" in line)
    assert "5.5.1960.3" in row and "ims-protocol" in row
    assert "Files (15)" in out
    file_row = next(line for line in out.splitlines() if line.startswith("notes.txt"))
    assert file_row.split()[1:] == ["-", "0", "0", "0", "skipped"]
    assert "  notes.txt: unknown format" in out
    relay_row = next(line for line in out.splitlines() if line.startswith(RELAY_LOG))
    assert relay_row.split()[1:] == ["relay.company.com", "500", "40", "2", "postfix"]


@pytest.mark.parametrize("mode", ["never", "auto"])
def test_no_escape_codes_without_colour(loop_result: ScanResult, mode: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    buf = io.StringIO()
    TerminalReporter(ReportOptions(color=mode)).report(loop_result, buf)
    out = buf.getvalue()
    assert "\x1b" not in out
    assert max(len(line) for line in out.splitlines()) == 100


def test_colour_always_emits_ansi(loop_result: ScanResult, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")  # `always` wins over NO_COLOR, like --color always
    buf = io.StringIO()
    get_reporter("terminal", ReportOptions(color="always", width=100)).report(loop_result, buf)
    out = buf.getvalue()
    assert "\x1b[1;31m" in out  # bold red for the error
    assert "LOOPS FOUND" in out


def _assert_hostile_escaped(out: str) -> None:
    for raw in ("\x1b", "\x07", "\x00", "\r", "\ud800", "\u202e"):
        assert raw not in out
    assert "\\x1b]0;owned\\x07" in out
    assert "[bold red]x[/]" in out
    assert "nul\\x00" in out
    assert "cr\\r" in out
    assert "sur\\ud800" in out
    assert "bidi\\u202e" in out


def test_hostile_text_is_shown_escaped_never_executed() -> None:
    finding = q178436_finding(subject=HOSTILE)
    hostile_ev = Evidence(Location(f"evil\x1b[31m/{HOSTILE[:20]}.log", 3), HOSTILE, HOSTILE)
    finding = replace(
        finding,
        title=HOSTILE,
        hosts=("imc1.company.com", "relay\x1b[2J.company.com"),
        addresses=("[bold]user2@company.com",),
        evidence=(hostile_ev,),
        fix=(HOSTILE,),
        details=(("Subject", HOSTILE),),
        confidence_reasons=(HOSTILE,),
        references=(HOSTILE,),
    )
    issue = ParseIssue(Location("x\x00.log", 1), "bad-line[/]", HOSTILE, HOSTILE)
    result = make_result((finding,), issues=(issue,), issue_counts=(("bad-line[/]", 1),))
    for verbose in (0, 1):
        _assert_hostile_escaped(render_plain(result, verbose=verbose))
    buf = io.StringIO()
    TerminalReporter(ReportOptions(color="always", width=100)).report(result, buf)
    coloured = buf.getvalue()
    assert "\x1b]" not in coloured  # no OSC sequence from the log, only rich's own SGR colours
    assert "\x07" not in coloured and "\x00" not in coloured and "\u202e" not in coloured
    assert "relay\\x1b[2J.company.com" in coloured


@pytest.mark.parametrize("encoding", ["ascii", "cp1252"])
def test_narrow_encodings_never_crash(encoding: str) -> None:
    raw = io.BytesIO()
    stream = io.TextIOWrapper(raw, encoding=encoding)
    finding = q178436_finding(subject="Délivré: 预算 " + "S" * 400)
    TerminalReporter(ReportOptions(color="never")).report(make_result((finding,)), stream)
    stream.flush()
    out = raw.getvalue().decode(encoding)
    assert "Ring         imc1.company.com -> relay.company.com -> imc1.company.com" in out
    assert "\\u9884\\u7b97" in out  # 预算 shown as escapes, not a UnicodeEncodeError
    assert f"{IMC1_LOG}:12" in out


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=200), st.text(max_size=60), st.integers(min_value=0, max_value=10**7))
def test_any_text_renders_without_raw_controls(text: str, path: str, line: int) -> None:
    finding = replace(
        q178436_finding(subject=text),
        title=text,
        hosts=(path or "h",),
        evidence=(Evidence(Location(path, line), text, text),),
        fix=(text,),
    )
    out = render_plain(make_result((finding,), issues=(), issue_counts=((text or "x", 1),)))
    assert not any(ch in out for ch in "\x00\x07\x1b\r\x9b\u202e")
    assert all(cell_len(line) <= 100 for line in out.splitlines())


def test_formatters() -> None:
    assert format_period(45) == "every 45s"
    assert format_period(125) == "every 2m 05s"
    assert format_period(3720) == "every 1h 02m"
    assert format_period(2 * 86400 + 3 * 3600) == "every 2d 03h"
    assert format_period(None) == "unknown"
    assert format_rate(29.3) == "29 passes/h"
    assert format_rate(0.5) == "0.5 passes/h"
    assert format_rate(12345.0) == "12,345 passes/h"
    assert format_time(datetime(2001, 2, 7, 17, 1, 59)) == "2001-02-07 17:01 UTC"
    assert format_span(_utc(2001, 2, 7, 17, 1), _utc(2001, 2, 7, 18, 27)) == "2001-02-07 17:01 → 18:27 UTC"


def test_registry_keeps_terminal_entry() -> None:
    assert isinstance(get_reporter("terminal"), TerminalReporter)
