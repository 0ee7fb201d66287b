"""Scan results for reporter tests from the real rules: a Q178436 loop, a LOOP003 bounce, an info finding, issues."""

from __future__ import annotations

import os
from datetime import datetime, timezone
from pathlib import Path

import pytest

from imsdiag.models import Evidence, Finding, Location, ParseIssue, Severity
from imsdiag.reporters.base import ReportOptions
from imsdiag.result import FileStat, FormatStat, ScanResult, ServerInfo
from tests.factories import finding, scan_result

GOLDEN = Path(__file__).parent / "golden"
IMC1_LOG = "q178436-site-connector/imc1/Imcdata/Log/L0000001.LOG"
RELAY_LOG = "q178436-site-connector/relay/maillog"
POSTFIX_LOG = "postfix-cycle/mx1/maillog"
HOSTILE = "Subject: \x1b]0;owned\x07 [bold red]boom[/] %0A::error::x ]]> nul\x00here \ud800 end\nnext\r"
OPTIONS = ReportOptions(tool_version="9.9.9", fail_on="error")


def _utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


RULE_IDS = ("Q178436", "LOOP001", "LOOP003")
"""The rules these results describe (SARIF, JUnit): LOOP006 is left out, so its finding describes its own rule."""

Q178436_FINDING = finding(
    "Q178436",
    title="Delivery receipt loops between imc1.company.com and relay.company.com for user2@company.com",
    summary="A null-sender delivery receipt passed 42 times between imc1.company.com and relay.company.com.",
    hosts=("imc1.company.com", "relay.company.com"),
    addresses=("user2@company.com",),
    first_seen=_utc(2001, 2, 7, 22, 1, 20),
    last_seen=_utc(2001, 2, 8, 1, 26, 20),
    passes=42,
    rate_per_hour=12.3,
    period_seconds=300.0,
    evidence=(
        Evidence(Location(IMC1_LOG, 12), "2/7/01 5:01:20 PM 10.0.0.2 RCPT TO:<user2@company.com>", "pass 1"),
        Evidence(Location(RELAY_LOG, 40), "Feb  7 17:01:21 relay sendmail[311]: from=<>, size=1873", "relay"),
    ),
    confidence_reasons=("42 passes", "null sender"),
    cause="The IMS sends the receipt to the primary SMTP proxy.",
    fix=("Install Exchange 5.5 SP2 (IMS build 2186.0 or later).",),
    references=("KB Q178436",),
    message_ids=("<IMC1.0001@imc1.company.com>",),
    builds=(("imc1.company.com", "5.5.1960.3"),),
    fingerprint="q178436-7d1e0c5a9b3f",
    details=(("subject stem", "Project plan"),),
)

# A bounce from another network: the rule's bounce severity, and no references stated.
LOOP003_FINDING = finding(
    "LOOP003",
    severity=Severity.WARNING,
    confidence="medium",
    title="Message rejected after too many hops at mx1.example.net",
    summary="Postfix bounced a message with 5.4.6 after 51 Received headers.",
    hosts=("mx1.example.net",),
    addresses=("list@example.net",),
    first_seen=_utc(2024, 3, 1, 8, 0, 0),
    last_seen=_utc(2024, 3, 1, 8, 0, 0),
    passes=1,
    evidence=(
        Evidence(
            Location(POSTFIX_LOG, 7),
            "Mar  1 08:00:00 mx1 postfix/smtp[42]: 4F2A1: to=<list@example.net>, dsn=5.4.6, "
            "status=bounced (mail forwarding loop for list@example.net)",
        ),
    ),
    references=(),
    fingerprint="loop003-51c2aa09e4d7",
)

# Lowered to info (as by --severity LOOP006=info).
INFO_FINDING = finding(
    "LOOP006",
    severity=Severity.INFO,
    confidence="low",
    title="Auto-replies exchanged between two mailboxes",
    evidence=(Evidence(Location("archive/msg-0001.eml", 0), "whole message"),),
    references=(),
    fingerprint="loop006-0b9d",
)

ISSUES = (
    ParseIssue(Location(IMC1_LOG, 57), "bad-timestamp", "unparseable time '2/30/01 25:61:00 PM'", "2/30/01"),
    ParseIssue(Location("junk/random.bin", 0), "unknown-format", "no parser recognised this file"),
)


def make_result(*findings: Finding) -> ScanResult:
    return scan_result(
        *findings,
        rule_ids=RULE_IDS,
        issues=ISSUES,
        issue_counts=(("bad-timestamp", 3), ("unknown-format", 1)),
        files=(
            FileStat(POSTFIX_LOG, "postfix", "mx1.example.net", None, 2048, 20, 18, 0),
            FileStat(IMC1_LOG, "ims-protocol", "imc1.company.com", None, 90210, 800, 400, 3),
            FileStat("junk/random.bin", None, skipped_reason="unknown format"),
        ),
        servers=(
            ServerInfo("mx1.example.net", "content", (), ("Postfix",), ("postfix",)),
            ServerInfo("imc1.company.com", "banner", ("5.5.1960.3",), ("IMS",), ("ims-protocol",)),
        ),
        formats=(FormatStat("postfix", 1, 20, 18, 0), FormatStat("ims-protocol", 1, 800, 400, 3)),
        bytes_read=92258,
        lines_read=820,
        events=418,
        seconds=1.25,
        suppressed=1,
        filtered=0,
        first_time=_utc(2001, 2, 7, 21, 0, 0),
        last_time=_utc(2024, 3, 1, 8, 0, 0),
    )


@pytest.fixture
def result() -> ScanResult:
    """Three findings (error, warning, info) and two parse-issue examples."""
    return make_result(LOOP003_FINDING, INFO_FINDING, Q178436_FINDING)


@pytest.fixture
def clean_result() -> ScanResult:
    return make_result()


@pytest.fixture
def hostile_result() -> ScanResult:
    """A finding whose title, evidence text and note carry terminal, markup, command and XML attacks."""
    hostile = finding(
        "Q178436",
        title=f"Loop on {HOSTILE}",
        summary=HOSTILE,
        hosts=("imc1.company.com",),
        evidence=(Evidence(Location("logs/odd,name:1.log", 3), HOSTILE, HOSTILE),),
        fingerprint="q178436-hostile",
    )
    return make_result(hostile)


def check_golden(name: str, text: str) -> None:
    """Compare with tests/reporters/golden/NAME; IMSDIAG_REGEN_GOLDEN=1 rewrites the file instead."""
    path = GOLDEN / name
    if os.environ.get("IMSDIAG_REGEN_GOLDEN"):
        path.write_text(text, encoding="utf-8", newline="")
    assert text == path.read_text(encoding="utf-8")
