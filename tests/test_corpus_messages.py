"""Every message in the third-party corpus parses; known bounces, MDNs and auto-replies are recognised."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from imsdiag.models import Event, LoopSignal, ReportKind
from imsdiag.parsers import detect
from imsdiag.parsers.base import ParseContext
from imsdiag.parsers.message_file import MessageFileParser

FOLDERS = (
    "sisimai",
    "flufl_bounce",
    "cpython_email",
    "bounceparser_corpus",
    "ruby_mail",
    "flanker",
    "spamscope_mail_parser",
    "exim_testsuite/mail",
)
MINE = ("message", "mbox", "ims-archive")


def parse_file(path: Path) -> list[Event]:
    """Events of one corpus file through the parser its content selects (message when none of ours)."""
    data = path.read_bytes()
    parser, _ = detect(data[:16384], str(path))
    if parser is None or parser.name not in MINE:
        parser = MessageFileParser()
    ctx = ParseContext(path=str(path))
    return [r for r in parser.parse(io.BytesIO(data), ctx) if isinstance(r, Event)]


def one(corpus: Path, rel: str) -> Event:
    events = parse_file(corpus / rel)
    assert len(events) == 1, rel
    return events[0]


def test_every_file_parses(corpus: Path) -> None:
    files = [f for d in FOLDERS for f in sorted((corpus / d).rglob("*")) if f.is_file()]
    assert len(files) > 1000
    with_events = sum(1 for f in files if parse_file(f))
    assert with_events >= len(files) - 5  # a few cpython samples are bodies without any header


@pytest.mark.parametrize(
    ("rel", "signal"),
    [
        ("flufl_bounce/dsn_11.txt", LoopSignal.FORWARDING_LOOP),
        ("sisimai/maildir_bsd/lhost-x6-01.eml", LoopSignal.HOP_LIMIT),
        ("sisimai/maildir_bsd/lhost-x2-07.eml", LoopSignal.HOP_LIMIT),
        ("sisimai/maildir_bsd/lhost-domino-03.eml", LoopSignal.ROUTING_LOOP),
    ],
)
def test_loop_signals(corpus: Path, rel: str, signal: LoopSignal) -> None:
    ev = one(corpus, rel)
    assert ev.loop_signal is signal
    assert ev.report_kind is ReportKind.NDR


def test_read_receipts(corpus: Path) -> None:
    assert one(corpus, "flufl_bounce/simple_38.txt").report_kind is ReportKind.READ_RECEIPT
    assert one(corpus, "flanker/disposition-notification.eml").report_kind is ReportKind.READ_RECEIPT


def test_auto_replies(corpus: Path) -> None:
    files = sorted((corpus / "sisimai" / "maildir_bsd").glob("rfc3834-*"))
    assert len(files) == 6
    assert [one(corpus, str(f.relative_to(corpus))).report_kind for f in files] == [ReportKind.AUTO_REPLY] * 6


def test_not_bounces(corpus: Path) -> None:
    files = sorted((corpus / "sisimai" / "maildir_not").iterdir())
    assert len(files) == 3
    for f in files:
        events = parse_file(f)  # one of them holds two messages behind mbox `From ` lines
        assert events and all(e.loop_signal is None for e in events)
        if f.name != "rb-issue-368-bug.eml":  # a real bounce (sisimai issue 368): NDR is right
            assert all(e.report_kind is ReportKind.NONE for e in events), f.name


def test_ndr_agreement_with_index(corpus: Path) -> None:
    with (corpus / "EMAIL_INDEX.tsv").open(encoding="utf-8") as fh:
        rows = [r for r in csv.DictReader(fh, delimiter="\t") if not r["path"].startswith("exim_testsuite")]
    reports = (ReportKind.NDR, ReportKind.DELAY, ReportKind.DELIVERY_RECEIPT)
    dsn_rows = [r for r in rows if r["has_delivery_status"] == "Y"]
    agree = sum(1 for r in dsn_rows if any(e.report_kind in reports for e in parse_file(corpus / r["path"])))
    assert len(dsn_rows) > 400
    assert agree / len(dsn_rows) >= 0.99


def test_repeating_chain_if_present(corpus: Path) -> None:
    hits = [
        f
        for d in FOLDERS
        for f in sorted((corpus / d).rglob("*"))
        if f.is_file() and f.read_bytes().count(b"mx3.example.co.jp") >= 7
    ]
    if not hits:
        pytest.skip("no corpus message repeats mx3.example.co.jp (PROVENANCE mentions one)")
    for f in hits:
        for ev in parse_file(f):
            chains = [ev.received, *ev.embedded_received]
            hosts = [h.by_host for chain in chains for h in chain]
            if hosts.count("mx3.example.co.jp") >= 7:
                assert all(h.raw for chain in chains for h in chain)
                return
    pytest.fail("the mx3.example.co.jp chain was not parsed fully")


def test_top_level_received_counts_match_index(corpus: Path) -> None:
    with (corpus / "EMAIL_INDEX.tsv").open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh, delimiter="\t"))
    checked = 0
    for r in rows:
        events = parse_file(corpus / r["path"])
        if len(events) == 1:
            assert len(events[0].received) == int(r["top_level_Received"]), r["path"]
            checked += 1
    assert checked > 950


def test_long_chains_parse_fully(corpus: Path) -> None:
    # 25 Received lines each: exim's 8 bounces of a looping test, and a real 10-hop bounce embedding 15 more.
    exim = parse_file(corpus / "exim_testsuite" / "mail" / "4560.a")
    assert [len(e.received) for e in exim] == [1, 2, 3, 4, 5, 3, 5, 2]
    assert all(h.by_host == "test.ex" for h in exim[4].received)
    x5 = one(corpus, "sisimai/maildir_bsd/lhost-x5-01.eml")
    assert len(x5.received) == 10 and [len(c) for c in x5.embedded_received] == [2, 13]
    assert all(h.date is not None for h in x5.received)
