"""Single-message files (.eml, LF/CRLF/CR endings, optional mbox From line) and mbox folders."""

from __future__ import annotations

import io
from pathlib import Path

from imsdiag.models import Direction, Event, ReportKind
from imsdiag.parsers.base import ParseContext, Parser
from imsdiag.parsers.mbox import MboxParser
from imsdiag.parsers.message_file import MessageFileParser

ONE = (
    "From MAILER-DAEMON Thu Sep 18 17:54:04 2008\n"
    "Return-Path: <>\n"
    "Received: from localhost (localhost)\n"
    "\tby mta.example.jp (8.14.1/8.14.1) id m8I8s45D007047;\n"
    "\tThu, 18 Sep 2008 17:54:04 +0900 (JST)\n"
    "Received: from a.example ([192.0.2.9]) by localhost; Thu, 18 Sep 2008 17:54:03 +0900\n"
    "From: Mail Delivery Subsystem <MAILER-DAEMON@mta.example.jp>\n"
    "Message-Id: <200809180854.m8I8s45E007047@mta.example.jp>\n"
    "Subject: Returned mail: see transcript for details\n"
    "To: kijitora@example.jp\n"
    "\n"
    "body text\n"
)


def _events(parser: Parser, data: bytes, path: str = "m.eml", hint: str | None = None) -> list[Event]:
    ctx = ParseContext(path=path, server_hint=hint, server_hint_source="path" if hint else None)
    return [r for r in parser.parse(io.BytesIO(data), ctx) if isinstance(r, Event)]


def test_single_message_all_line_endings() -> None:
    for ending in ("\n", "\r\n", "\r"):
        data = ONE.replace("\n", ending).encode()
        assert MessageFileParser().sniff(data, "x.eml") >= 50
        (ev,) = _events(MessageFileParser(), data, hint="mx1")
        assert ev.source == "message" and ev.location.line == 2, ending
        assert ev.direction is Direction.UNKNOWN and ev.server == "mx1" and ev.server_source == "path"
        assert ev.sender == "" and ev.report_kind is ReportKind.NDR
        assert ev.message_id == "200809180854.m8I8s45E007047@mta.example.jp"
        assert [h.by_host for h in ev.received] == ["mta.example.jp", "localhost"]
        assert [h.location.line if h.location else None for h in ev.received] == [3, 6]
        assert ev.received[0].software == "8.14.1/8.14.1" and ev.received[1].from_ip == "192.0.2.9"


def test_sniff_rejects_logs() -> None:
    assert MessageFileParser().sniff(b"Sep 29 16:10:25 host postfix/smtp[1]: x\n", "maillog") == 0
    assert MessageFileParser().sniff(b"Send Ppp mailing list submissions to\n", "x.txt") == 0


def test_mbox_streams_messages_with_locations() -> None:
    second = ONE.replace("m8I8s45E007047", "SECOND").replace("Return-Path: <>\n", "")
    data = (ONE + "\nFrom someone is body text\n\n" + second).encode()
    assert MboxParser().sniff(data, "inbox") == 80
    assert MboxParser().sniff(ONE.encode(), "inbox") == 0
    assert MboxParser().sniff(ONE.encode(), "mbox-archive") == 70
    events = _events(MboxParser(), data, path="mbox")
    assert [e.location.line for e in events] == [2, 17]
    assert [e.source for e in events] == ["mbox", "mbox"]
    assert events[1].message_id == "200809180854.SECOND@mta.example.jp" and events[1].sender is None
    # "From someone" without a time is body text, not a separator
    assert events[0].size is not None and events[0].size > events[1].size - 100


def test_corpus_line_ending_samples(corpus: Path) -> None:
    for folder in ("maildir_dos_sample", "maildir_mac_sample"):
        for f in sorted((corpus / "sisimai" / folder).iterdir()):
            twin = corpus / "sisimai" / "maildir_bsd" / f.name
            (ev,) = _events(MessageFileParser(), f.read_bytes(), path=str(f))
            (ref,) = _events(MessageFileParser(), twin.read_bytes(), path=str(twin))
            assert ev.message_id == ref.message_id and ev.report_kind is ref.report_kind
            assert [h.by_host for h in ev.received] == [h.by_host for h in ref.received]
            assert len(ev.received) > 0


def test_corpus_mbox(corpus: Path) -> None:
    events = _events(MboxParser(), (corpus / "sisimai" / "mailbox" / "mbox-0").read_bytes(), path="mbox-0")
    assert len(events) == 37
    top = sum(len(e.received) for e in events)
    embedded = sum(len(c) for e in events for c in e.embedded_received)
    # The file holds 79 Received lines; 5 belong to a Gmail bounce pasted after message 9 with no
    # `From ` separator, so they are that message's body, not headers. One chain comes from text.
    assert (top, embedded) == (38, 36)
    assert events[0].location.line == 2
    assert events[0].received[0].by_host == "mta-smtp-out-24.example.jp"
