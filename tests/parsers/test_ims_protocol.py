"""Tests for the Exchange 5.x IMS SMTP protocol-log parser and the IMS time-stamp helper, on the KB samples."""

from __future__ import annotations

import io
from datetime import datetime, timezone
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from imsdiag.models import Direction, Event, Location, LoopSignal, ParseIssue, ReportKind, TimeQuality
from imsdiag.parsers import detect
from imsdiag.parsers.base import ParseContext
from imsdiag.parsers.ims_protocol import ImsProtocolParser, loop_signal_of, parse_reschedule
from imsdiag.parsers.ims_time import parse_ims_stamp

PARSER = ImsProtocolParser()
UTC = timezone.utc


def run(text: str | bytes, path: str = "L0000000.LOG", **ctx_args: object) -> tuple[list[Event], ParseContext]:
    """Parse `text`; return the events and the context (issues, counters). Fails on a parser-error."""
    data = text.encode("utf-8") if isinstance(text, str) else text
    ctx = ParseContext(path, **ctx_args)  # type: ignore[arg-type]
    records = list(PARSER.parse(io.BytesIO(data), ctx))
    assert not [r for r in records if isinstance(r, ParseIssue)], records
    assert not [i for i in ctx.issues if i.code == "parser-error"], ctx.issues
    return [r for r in records if isinstance(r, Event)], ctx


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


# --- verbatim KB samples (ims-reference.md §1.3; prior-art.md §4.5) ------------------------------

Q295725 = """\
2/7/01 5:01:20 PM : A connection was accepted from mail.domain1.com
2/7/01 5:01:21 PM : <<< HELO mail.domain1.com
2/7/01 5:01:21 PM : >>> 250 OK
2/7/01 5:01:21 PM : <<< MAIL From:<user@domain1.com>
2/7/01 5:01:21 PM : >>> 250 OK - mail from <user@domain1.com>
2/7/01 5:01:22 PM : <<< RCPT To:<user@domain2.com>
2/7/01 5:01:22 PM : >>> 250 OK - Recipient <user@domain2.com>
2/7/01 5:01:23 PM : <<< DATA
2/7/01 5:01:23 PM : >>> 354 Send data. End with CRLF.CRLF
2/7/01 5:05:44 PM : A connection was accepted from mail.domain3.com
"""

Q262945 = """\
5/13/00 2:36:27 PM : A connection was accepted from SERVER1.
5/13/00 2:36:27 PM : <<< EHLO server1.COMPANY1.COM
5/13/00 2:36:27 PM : >>> 250-server2.COMPANY2.COM Hello [server2]
250-XEXCH50
250-HELP
250-ETRN
250-DSN
250-SIZE 0
250-AUTH LOGIN
250 AUTH=LOGIN
[...AUTH NTLM exchange...]
5/13/00 2:36:28 PM : <<< MAIL FROM:<JohnD@COMPANY1.com> SIZE=1460 RET=FULL
5/13/00 2:36:28 PM : >>> 250 OK - mail from <JohnD@COMPANY1.com>; can accomodate 1460 bytes
5/13/00 2:36:28 PM : <<< RCPT TO:<janed@company2.com> NOTIFY=FAILURE,DELAY
5/13/00 2:36:28 PM : >>> 250 OK - Recipient <janed@company2.com>
5/13/00 2:36:28 PM : <<< DATA
5/13/00 2:36:28 PM : >>> 354 Send data.  End with CRLF.CRLF
5/13/00 2:36:28 PM : >>> 554 Mailbox is not local: JohnD@COMPANY1.com
5/13/00 2:36:28 PM : <<< QUIT
5/13/00 2:36:29 PM : >>> 221 closing connection
"""

Q250507 = """\
HELO <domain>
250 OK
MAIL FROM: <>
250 OK - mail from <>
"""

Q228725 = """\
4/5/99 10:22:41 AM : A connection to 10..1.1.1 was established.
4/5/99 10:22:41 AM : IO: |220 r40.domain.com InterLock SMTP Gateway 3.0 ready
at Mon, 5 Apr 1999 10:22:41 -0400
4/5/99 10:22:41 AM : EHLO xxmims2.srv.dom.com
4/5/99 10:22:41 AM : IO: |250-Hello xxmims2.srv.dom.com, pleased to meet you
4/5/99 10:22:41 AM : MAIL FROM:bob@dom.com
4/5/99 10:22:42 AM : IO: |250 bob@dom.com... Sender ok
4/5/99 10:22:42 AM : RCPT TO:sam@tool.com
4/5/99 10:22:42 AM : IO: |250 sam@tool.com... Recipient ok
4/5/99 10:22:42 AM : DATA
4/5/99 10:22:43 AM : IO: |354 Enter mail, end with "." on a line by itself
4/5/99 10:22:43 AM : 354 Enter mail, end with "." on a line by itself
4/5/99 10:22:44 AM : 499 No routing hosts are reachable for tool.com. Message
subject: ""Case 27375"". Rescheduling delivery for later.
"""

Q245787 = """\
A connection to 10.1.1.25 was established.
<<< IO: |220 firewall.expedia.com Generic SMTP handler
<<< 220 firewall.expedia.com Generic SMTP handler
>>> EHLO ExchangeSending.microsoft.com
<<< IO: |500 Command unrecognized
<<< 500 Command unrecognized
>>> HELO ExchangeSending.microsoft.com
[...]
>>> MAIL FROM: <bob@microsoft.com>
<<< IO: |250 <bob@microsoft.com>: Sender Ok
<<< 250 <bob@microsoft.com>: Sender Ok
>>> RCPT TO:<vincent@expedia.com>
<<< IO: |550 Domain invalid
<<< 550 Domain invalid
>>> QUIT
<<< IO: |221 firewall.microsoft.com closing connection. Goodbye!
"""

Q239816 = (
    "7/5/99 9:31:55 PM : 499 No routing hosts are reachable for test.com. "
    'Message subject: ""RE:33%s5%s99"". Rescheduling delivery for later.'
)
Q146669 = "<SMTP error message> Message subject: <subject of message>. Rescheduling delivery for later."
Q198981 = '"IO: |451 <name@domain.com>... Sender domain must resolve"'
Q186134 = ">>> 554 Originator address does not match authentication credentials."

TECHTARGET = """\
4/2/01 11:44:31 AM : A connection was accepted from pop3.test.com.
4/2/01 11:44:31 AM : <<< IO: |HELO pop3.test.com
4/2/01 11:44:31 AM : <<< HELO pop3.test.com
4/2/01 11:44:31 AM : >>> 250 OK
4/2/01 11:44:31 AM : <<< IO: |MAIL  From:<richie@test.com>
4/2/01 11:44:31 AM : <<< MAIL From:<richie@test.com>
4/2/01 11:44:31 AM : >>> 250 OK - mail from <richie@test.com>
4/2/01 11:44:31 AM : <<< IO: |RCPT To:<chris@play.com>
4/2/01 11:44:32 AM : >>> 250 OK - Recipient <chris@play.com>
4/2/01 11:44:32 AM : <<< IO: |DATA
"""


def test_q295725_inbound_missing_reply_after_data_is_incomplete() -> None:
    events, ctx = run(Q295725, server_hint="imc1", server_hint_source="path")
    assert len(events) == 1
    ev = events[0]
    assert ev.location == Location("L0000000.LOG", 4)
    assert ev.text == "2/7/01 5:01:21 PM : <<< MAIL From:<user@domain1.com>"
    assert ev.source == "ims-protocol"
    assert ev.time == utc(2001, 2, 7, 17, 1, 21)
    assert ev.time_quality is TimeQuality.ZONE_ASSUMED
    assert ev.direction is Direction.IN
    assert (ev.peer_host, ev.peer_ip, ev.helo) == ("mail.domain1.com", None, "mail.domain1.com")
    assert ev.sender == "user@domain1.com"
    assert ev.recipients == ("user@domain2.com",)
    assert ev.status == "incomplete"
    # `250 OK` names nobody, so the path hint is the server.
    assert (ev.server, ev.server_source) == ("imc1", "path")
    assert ev.report_kind is ReportKind.NONE
    assert ctx.counters["sessions"] == 2
    assert ctx.counters["lines"] == 10


def test_q262945_esmtp_multiline_reply_and_554_after_data() -> None:
    events, ctx = run(Q262945)
    assert len(events) == 1
    ev = events[0]
    assert ev.location.line == 12
    assert ev.text == "5/13/00 2:36:28 PM : <<< MAIL FROM:<JohnD@COMPANY1.com> SIZE=1460 RET=FULL"
    assert ev.time == utc(2000, 5, 13, 14, 36, 28)
    assert (ev.server, ev.server_source) == ("server2.company2.com", "content")
    assert ev.direction is Direction.IN
    assert (ev.peer_host, ev.helo) == ("server1", "server1.company1.com")
    assert ev.sender == "johnd@company1.com"
    assert ev.size == 1460
    assert ev.recipients == ("janed@company2.com",)
    assert (ev.status, ev.event_code) == ("rejected", "554")
    assert ctx.counters["lines"] == 20
    assert ctx.issues == []


def test_q250507_null_sender_without_session_header() -> None:
    # A fragment that starts mid-connection opens an implicit session; bare commands mean outbound.
    events, _ = run(Q250507)
    assert len(events) == 1
    ev = events[0]
    assert ev.location.line == 3
    assert ev.text == "MAIL FROM: <>"
    assert ev.sender == ""
    assert ev.helo == "<domain>"
    assert ev.direction is Direction.OUT
    assert ev.recipients == ()
    assert ev.status == "incomplete"
    assert (ev.time, ev.time_quality) == (None, TimeQuality.NONE)
    # A null sender alone is not a report kind: the correlator decides.
    assert ev.report_kind is ReportKind.NONE


def test_q250507_inside_an_outbound_session() -> None:
    text = "2/7/01 5:01:20 PM : A connection to relay.company.com was established.\n" + Q250507
    events, _ = run(text)
    assert [(e.location.line, e.sender, e.peer_host, e.server, e.direction) for e in events] == [
        (4, "", "relay.company.com", None, Direction.OUT)  # `<domain>` is no host name
    ]


def test_q228725_markerless_outbound_deferred_by_499() -> None:
    events, ctx = run(Q228725)
    assert len(events) == 1
    ev = events[0]
    assert ev.location.line == 6
    assert ev.text == "4/5/99 10:22:41 AM : MAIL FROM:bob@dom.com"
    assert ev.time == utc(1999, 4, 5, 10, 22, 41)
    assert ev.direction is Direction.OUT
    assert (ev.peer_host, ev.peer_ip) == ("10..1.1.1", None)  # kept as written
    assert (ev.server, ev.server_source, ev.helo) == ("xxmims2.srv.dom.com", "content", "xxmims2.srv.dom.com")
    assert ev.sender == "bob@dom.com"
    assert ev.recipients == ("sam@tool.com",)
    assert (ev.status, ev.event_code, ev.subject) == ("deferred", "499", "Case 27375")
    assert ev.headers == ()  # the peer's banner names no IMS build
    assert ctx.counters["transactions"] == 1


def test_q245787_outbound_with_markers_and_io_echoes() -> None:
    events, _ = run(Q245787)
    assert len(events) == 1
    ev = events[0]
    assert ev.location.line == 9
    assert ev.text == ">>> MAIL FROM: <bob@microsoft.com>"
    assert (ev.peer_host, ev.peer_ip) == ("10.1.1.25", "10.1.1.25")
    assert (ev.server, ev.server_source) == ("exchangesending.microsoft.com", "content")
    assert ev.helo == "exchangesending.microsoft.com"
    assert ev.sender == "bob@microsoft.com"
    assert ev.recipients == ()  # the only RCPT got 550
    assert (ev.status, ev.event_code) == ("rejected", "550")
    assert ev.time is None


@pytest.mark.parametrize("line", [Q239816, f'"{Q239816}"'])
def test_q239816_standalone_499_with_and_without_outer_quotes(line: str) -> None:
    events, _ = run(line + "\n", server_hint="imc1", server_hint_source="option")
    assert len(events) == 1
    ev = events[0]
    assert ev.location.line == 1
    assert ev.time == utc(1999, 7, 5, 21, 31, 55)
    assert (ev.status, ev.event_code, ev.subject) == ("deferred", "499", "RE:33%s5%s99")
    assert ev.peer_host == "test.com"
    assert ev.direction is Direction.OUT
    assert (ev.server, ev.server_source) == ("imc1", "option")
    assert ev.sender is None
    assert ev.report_kind is ReportKind.NONE


def test_q146669_generic_reschedule_line() -> None:
    events, _ = run(Q146669 + "\n")
    assert len(events) == 1
    ev = events[0]
    assert ev.text == Q146669
    assert (ev.status, ev.subject, ev.event_code) == ("deferred", "<subject of message>", None)
    assert ev.time is None


def test_q146669_shape_with_reply_code_and_report_subject() -> None:
    line = (
        "2/7/01 5:01:20 PM : 451 Requested action aborted. Message subject: Delivered: Budget. "
        "Rescheduling delivery for later."
    )
    events, _ = run(line)
    assert [(e.status, e.event_code, e.subject, e.report_kind) for e in events] == [
        ("deferred", "451", "Delivered: Budget", ReportKind.DELIVERY_RECEIPT)
    ]


def test_q198981_quoted_io_reply_defers_the_transaction() -> None:
    text = (
        "4/5/99 10:22:41 AM : A connection to mail.domain.com was established.\n"
        "4/5/99 10:22:41 AM : EHLO imc1.company.com\n"
        "4/5/99 10:22:41 AM : MAIL FROM:<name@domain.com>\n" + Q198981 + "\n"
    )
    events, _ = run(text)
    assert [(e.location.line, e.sender, e.status, e.event_code, e.recipients) for e in events] == [
        (3, "name@domain.com", "deferred", "451", ())
    ]


def test_q198981_alone_is_ignored() -> None:
    events, ctx = run(Q198981 + "\n")
    assert events == []
    assert ctx.counters == {"lines": 1, "ignored": 1}


def test_q186134_554_on_mail_from_rejects() -> None:
    text = (
        "2/7/01 5:01:20 PM : A connection was accepted from client.domain.com\n"
        "2/7/01 5:01:20 PM : <<< EHLO client.domain.com\n"
        "2/7/01 5:01:20 PM : <<< MAIL FROM:<spoof@company.com>\n" + Q186134 + "\n"
        "2/7/01 5:01:21 PM : <<< QUIT\n"
    )
    events, _ = run(text)
    assert [(e.location.line, e.sender, e.status, e.event_code, e.helo) for e in events] == [
        (3, "spoof@company.com", "rejected", "554", "client.domain.com")
    ]


def test_q190026_connection_without_anything_else_makes_no_event() -> None:
    text = (
        "2/7/01 5:01:20 PM : A connection was accepted from dropper.domain.com\n"
        "2/7/01 5:01:25 PM : A connection was accepted from mail.domain1.com\n"
        "2/7/01 5:01:25 PM : <<< HELO mail.domain1.com\n"
        "2/7/01 5:01:25 PM : <<< MAIL FROM:<>\n"
    )
    events, ctx = run(text)
    assert [(e.location.line, e.peer_host, e.sender) for e in events] == [(4, "mail.domain1.com", "")]
    assert ctx.counters["sessions"] == 2


def test_techtarget_io_echoes_are_not_counted_twice() -> None:
    events, ctx = run(TECHTARGET)
    assert len(events) == 1
    ev = events[0]
    # the echo on line 5 is dropped: the event points at the parsed MAIL line
    assert ev.location.line == 6
    assert ev.text == "4/2/01 11:44:31 AM : <<< MAIL From:<richie@test.com>"
    assert ev.time == utc(2001, 4, 2, 11, 44, 31)
    assert (ev.peer_host, ev.helo, ev.direction) == ("pop3.test.com", "pop3.test.com", Direction.IN)
    assert ev.sender == "richie@test.com"
    # the RCPT was only logged as an echo, so the echo counts
    assert ev.recipients == ("chris@play.com",)
    assert ev.status == "incomplete"
    assert ctx.counters["transactions"] == 1


# --- banners, builds and server identity --------------------------------------------------------

BANNER_55 = """\
6/1/99 8:00:00 AM : A connection was accepted from relay.company.com
6/1/99 8:00:00 AM : >>> 220 imc1.company.com ESMTP Server (Microsoft Exchange Internet Mail Service 5.5.2232.0) Ready.
6/1/99 8:00:01 AM : <<< HELO relay.company.com
6/1/99 8:00:01 AM : >>> 250 OK
6/1/99 8:00:01 AM : <<< MAIL FROM: <>
6/1/99 8:00:01 AM : >>> 250 OK - mail from <>
6/1/99 8:00:01 AM : <<< RCPT TO: <user2@company.com>
6/1/99 8:00:01 AM : >>> 250 OK - Recipient <user2@company.com>
6/1/99 8:00:02 AM : <<< DATA
6/1/99 8:00:02 AM : >>> 354 Send data.  End with CRLF.CRLF
6/1/99 8:00:02 AM : <<< Received: from imc2.company.com by relay.company.com; Tue, 1 Jun 1999 08:00:00 -0400
6/1/99 8:00:02 AM : <<< Message-ID: <DR-1@imc1.company.com>
6/1/99 8:00:02 AM : <<< From: System Administrator <postmaster@company.com>
6/1/99 8:00:02 AM : <<< Subject: Delivered: Budget
6/1/99 8:00:02 AM : <<< X-Mailer: Internet Mail Service (5.5.2232.0)
6/1/99 8:00:02 AM : <<<
6/1/99 8:00:02 AM : <<< Subject: not a header any more
6/1/99 8:00:02 AM : <<< .
6/1/99 8:00:03 AM : >>> 250 OK
"""


def test_ims_55_banner_gives_server_build_and_harvested_headers() -> None:
    events, _ = run(BANNER_55)
    assert len(events) == 1
    ev = events[0]
    assert (ev.server, ev.server_source) == ("imc1.company.com", "banner")
    assert (ev.software, ev.build) == ("Microsoft Exchange Internet Mail Service 5.5.2232.0", "5.5.2232.0")
    assert ev.sender == ""
    assert ev.recipients == ("user2@company.com",)
    assert ev.status == "accepted"
    assert ev.subject == "Delivered: Budget"
    assert ev.report_kind is ReportKind.DELIVERY_RECEIPT
    assert ev.message_id == "DR-1@imc1.company.com"
    assert ev.headers == (
        ("received", "from imc2.company.com by relay.company.com; Tue, 1 Jun 1999 08:00:00 -0400"),
        ("from", "System Administrator <postmaster@company.com>"),
        ("x-mailer", "Internet Mail Service (5.5.2232.0)"),
    )


def test_ims_50_banner_and_plain_header_lines_with_folding() -> None:
    text = """\
6/1/99 8:00:00 AM : A connection was accepted from relay.company.com
6/1/99 8:00:00 AM : >>> 220 Server1.SampleOrg.com Microsoft Exchange Internet Mail Service 5.0.1458.49 ready
6/1/99 8:00:01 AM : <<< MAIL FROM:<a@b.com>
6/1/99 8:00:01 AM : <<< RCPT TO:<c@sampleorg.com>
6/1/99 8:00:01 AM : <<< DATA
Subject: Undeliverable:
 Budget
Message-ID: <x1@b.com>
6/1/99 8:00:03 AM : >>> 250 OK
"""
    events, _ = run(text)
    assert [(e.server, e.build, e.subject, e.message_id, e.status, e.recipients) for e in events] == [
        ("server1.sampleorg.com", "5.0.1458.49", "Undeliverable: Budget", "x1@b.com", "accepted", ("c@sampleorg.com",))
    ]
    assert events[0].report_kind is ReportKind.NDR
    assert events[0].software == "Microsoft Exchange Internet Mail Service 5.0.1458.49"


def test_peer_build_on_outbound_session_goes_to_headers() -> None:
    text = """\
6/1/99 8:00:00 AM : A connection to imc2.company.com was established.
6/1/99 8:00:00 AM : <<< 220 imc2.company.com ESMTP Server (Microsoft Exchange Internet Mail Service 5.5.1960.3) Ready.
6/1/99 8:00:00 AM : >>> HELO imc1.company.com
6/1/99 8:00:00 AM : >>> MAIL FROM: <>
6/1/99 8:00:00 AM : >>> RCPT TO: <user2@company.com>
6/1/99 8:00:00 AM : >>> DATA
6/1/99 8:00:01 AM : <<< 250 OK
"""
    events, _ = run(text)
    ev = events[0]
    assert (ev.server, ev.server_source, ev.software, ev.build) == ("imc1.company.com", "content", None, None)
    assert ev.headers == (("x-peer-software", "Microsoft Exchange Internet Mail Service 5.5.1960.3"),)
    assert (ev.peer_host, ev.sender, ev.recipients, ev.status) == (
        "imc2.company.com",
        "",
        ("user2@company.com",),
        "accepted",
    )


def test_server_found_later_in_the_file_names_earlier_events() -> None:
    text = """\
6/1/99 8:00:00 AM : A connection was accepted from a.example.com
6/1/99 8:00:00 AM : <<< MAIL FROM:<x@a.example.com>
6/1/99 8:00:05 AM : A connection to b.example.com was established.
6/1/99 8:00:05 AM : >>> EHLO IMC1.Company.COM
6/1/99 8:00:05 AM : >>> MAIL FROM:<>
"""
    events, _ = run(text, server_hint="fromfolder", server_hint_source="path")
    assert [(e.location.line, e.server, e.server_source, e.direction) for e in events] == [
        (2, "imc1.company.com", "content", Direction.IN),
        (5, "imc1.company.com", "content", Direction.OUT),
    ]


def test_build_seen_later_in_the_file_applies_to_earlier_events() -> None:
    text = """\
6/1/99 8:00:00 AM : A connection to relay.company.com was established.
6/1/99 8:00:00 AM : >>> EHLO imc1.company.com
6/1/99 8:00:00 AM : >>> MAIL FROM:<>
6/1/99 8:00:09 AM : A connection was accepted from relay.company.com
6/1/99 8:00:09 AM : >>> 220 imc1.company.com ESMTP Server (Microsoft Exchange Internet Mail Service 5.5.1960.3) Ready.
6/1/99 8:00:09 AM : <<< MAIL FROM:<>
"""
    events, _ = run(text)
    assert [(e.location.line, e.direction, e.server, e.server_source, e.build) for e in events] == [
        (3, Direction.OUT, "imc1.company.com", "content", "5.5.1960.3"),
        (6, Direction.IN, "imc1.company.com", "content", "5.5.1960.3"),
    ]


def test_peer_ip_from_connection_line_and_from_the_ehlo_reply() -> None:
    text = """\
6/1/99 8:00:00 AM : A connection was accepted from 192.168.1.7
6/1/99 8:00:00 AM : <<< MAIL FROM:<a@x.com>
6/1/99 8:00:01 AM : A connection was accepted from relay.company.com
6/1/99 8:00:01 AM : <<< EHLO relay.company.com
6/1/99 8:00:01 AM : >>> 250-imc1.company.com Hello [10.0.0.9]
250 SIZE 0
6/1/99 8:00:01 AM : <<< MAIL FROM:<b@x.com>
"""
    events, _ = run(text)
    assert [(e.peer_host, e.peer_ip, e.server) for e in events] == [
        ("192.168.1.7", "192.168.1.7", "imc1.company.com"),
        ("relay.company.com", "10.0.0.9", "imc1.company.com"),
    ]


# --- transactions -------------------------------------------------------------------------------


def test_several_transactions_rset_and_unlogged_replies() -> None:
    text = """\
6/1/99 8:00:00 AM : A connection was accepted from relay.company.com
6/1/99 8:00:00 AM : <<< HELO relay.company.com
6/1/99 8:00:01 AM : <<< MAIL FROM:<a@x.com>
6/1/99 8:00:01 AM : <<< RCPT TO:<b@y.com>
6/1/99 8:00:01 AM : <<< RCPT TO:<c@y.com>
6/1/99 8:00:01 AM : >>> 550 Unknown
6/1/99 8:00:02 AM : <<< RSET
6/1/99 8:00:03 AM : <<< MAIL FROM:<d@x.com>
6/1/99 8:00:03 AM : <<< RCPT TO:<e@y.com>
6/1/99 8:00:03 AM : <<< DATA
6/1/99 8:00:04 AM : >>> 250 OK
6/1/99 8:00:05 AM : <<< MAIL FROM:<f@x.com>
"""
    events, ctx = run(text)
    assert [(e.location.line, e.sender, e.recipients, e.status) for e in events] == [
        (3, "a@x.com", ("b@y.com",), "incomplete"),
        (8, "d@x.com", ("e@y.com",), "accepted"),
        (12, "f@x.com", (), "incomplete"),
    ]
    assert ctx.counters["transactions"] == 3


@pytest.mark.parametrize(
    ("command", "sender", "size"),
    [
        ("MAIL FROM: <>", "", None),
        ("MAIL FROM:<>", "", None),
        ("mail from <>", "", None),
        ("MAIL From:<X@Dom.COM>", "x@dom.com", None),
        ("MAIL FROM:bob@dom.com", "bob@dom.com", None),
        ("MAIL FROM:<> SIZE=1460 RET=FULL", "", 1460),
        ("MAIL FROM: <JohnD@COMPANY1.com> SIZE=99", "johnd@company1.com", 99),
    ],
)
def test_mail_from_variants(command: str, sender: str, size: int | None) -> None:
    events, _ = run(f"A connection to h.example.com was established.\n>>> {command}\n")
    assert [(e.sender, e.size) for e in events] == [(sender, size)]


def test_standalone_499_inside_session_after_accepted_transaction() -> None:
    text = (
        "6/1/99 8:00:00 AM : A connection to relay.company.com was established.\n"
        "6/1/99 8:00:00 AM : MAIL FROM:<>\n"
        "6/1/99 8:00:00 AM : DATA\n"
        "6/1/99 8:00:00 AM : IO: |250 OK\n"
        '6/1/99 8:00:09 AM : 499 No routing hosts are reachable for company.com. Message subject: ""Delivered: x"". '
        "Rescheduling delivery for later.\n"
    )
    events, _ = run(text)
    assert [(e.location.line, e.status, e.subject, e.report_kind, e.peer_host) for e in events] == [
        (5, "deferred", "Delivered: x", ReportKind.DELIVERY_RECEIPT, "company.com"),
        (2, "accepted", None, ReportKind.NONE, "relay.company.com"),
    ]


# --- loop signals -------------------------------------------------------------------------------


def test_hop_limit_reply_marks_the_transaction() -> None:
    text = (
        "A connection to relay.company.com was established.\n"
        ">>> MAIL FROM:<>\n"
        ">>> RCPT TO:<user2@company.com>\n"
        "<<< 554 5.4.6 Too many hops 31 (25 max): from <> via imc1, to <user2@company.com>\n"
    )
    events, _ = run(text)
    assert [(e.status, e.event_code, e.loop_signal, e.recipients) for e in events] == [
        ("rejected", "554", LoopSignal.HOP_LIMIT, ())
    ]


def test_loop_line_outside_a_transaction_is_its_own_event() -> None:
    text = (
        "12/31/99 11:59:59 PM : A connection was accepted from x.com\n"
        "12/31/99 11:59:59 PM : >>> 554 Mail loop detected\n"
    )
    events, _ = run(text)
    assert [(e.location.line, e.loop_signal, e.status, e.event_code, e.time) for e in events] == [
        (2, LoopSignal.ROUTING_LOOP, "rejected", "554", utc(1999, 12, 31, 23, 59, 59))
    ]


@pytest.mark.parametrize(
    ("text", "signal"),
    [
        ("MSEXCH:IMS:Org:Site:IMC1 0 (00120270) Too Many Hops", LoopSignal.HOP_LIMIT),
        ("554 hop count exceeded - possible mail loop", LoopSignal.HOP_LIMIT),
        ("Routing loop detected", LoopSignal.ROUTING_LOOP),
        ("250 OK", None),
        ("554 TOO MANY HOPS", LoopSignal.HOP_LIMIT),
        ("554 5.4.6 Hop Count Exceeded – über", LoopSignal.HOP_LIMIT),  # not ASCII: the case-blind regex
        ("554 too many hopſ", LoopSignal.HOP_LIMIT),  # `re` folds the long s; lower() does not
        ("554 too many hop", None),
    ],
)
def test_loop_signal_of(text: str, signal: LoopSignal | None) -> None:
    assert loop_signal_of(text) is signal
    assert loop_signal_of(text, text.lower()) is signal  # the session passes the lower-cased text it has


def test_parse_reschedule_quotes_optional() -> None:
    assert parse_reschedule(
        "499 No routing hosts are reachable for tool.com. Message subject: Case 1. Rescheduling delivery for later."
    ) == ("499 No routing hosts are reachable for tool.com.", "499", "tool.com", "Case 1")
    assert parse_reschedule("250 OK") is None


# --- time stamps --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2/7/01 5:01:20 PM", datetime(2001, 2, 7, 17, 1, 20)),
        ("4/5/99 10:22:41 AM", datetime(1999, 4, 5, 10, 22, 41)),
        ("12/31/99 12:00:00 AM", datetime(1999, 12, 31, 0, 0, 0)),
        ("1/1/00 12:30:00 PM", datetime(2000, 1, 1, 12, 30, 0)),
        ("5/13/2000 14:36:27", datetime(2000, 5, 13, 14, 36, 27)),
        ("13/5/00 2:36:27 PM", datetime(2000, 5, 13, 14, 36, 27)),  # day first: 13 cannot be a month
        ("1/2/69 1:00:00 AM", datetime(2069, 1, 2, 1, 0, 0)),
        ("1/2/70 1:00:00 AM", datetime(1970, 1, 2, 1, 0, 0)),
    ],
)
def test_parse_ims_stamp(text: str, expected: datetime) -> None:
    assert parse_ims_stamp(text) == expected


@pytest.mark.parametrize("text", ["13/13/01 1:00:00 PM", "2/30/01 1:00:00 PM", "2/7/01 13:00:00 PM", "2/7/01", "", "x"])
def test_parse_ims_stamp_rejects(text: str) -> None:
    assert parse_ims_stamp(text) is None


def test_bad_timestamp_is_an_issue_and_the_line_still_counts() -> None:
    text = (
        "2/7/01 5:01:20 PM : A connection was accepted from a.com\n"
        "2/30/01 5:01:21 PM : <<< MAIL FROM:<x@a.com>\n"
        "2/7/01 5:01:21 XM <<< junk\n"
    )
    events, ctx = run(text)
    assert [(e.location.line, e.sender, e.time) for e in events] == [(2, "x@a.com", None)]
    assert [(i.location.line, i.code) for i in ctx.issues] == [(2, "bad-timestamp"), (3, "bad-timestamp")]


def test_server_zone_option_makes_time_exact() -> None:
    from zoneinfo import ZoneInfo

    events, _ = run(Q295725, server_hint="imc1", server_tz={"imc1": ZoneInfo("America/New_York")})
    assert events[0].time == utc(2001, 2, 7, 22, 1, 21)
    assert events[0].time_quality is TimeQuality.EXACT


# --- robustness ---------------------------------------------------------------------------------


def test_crlf_nul_binary_junk_and_long_lines_do_not_raise() -> None:
    data = (
        b"junk before any session\r\n"
        + bytes(range(256))
        + b"\r\n2/7/01 5:01:20 PM : A connection was accepted from a.com\r\n"
        + b"2/7/01 5:01:21 PM : <<< MAIL FROM:<x\x00y@a.com>\r\n"
        + b"2/7/01 5:01:21 PM : <<< RCPT TO:<"
        + b"z" * (1 << 20)
        + b"@a.com>\r\n"
        + b"\xff\xfe\x80 continuation junk\r\n"
        + b"2/7/01 5:01:22 PM : <<< DATA\r\n"
        + b"Subject: "
        + b"s" * 300_000
        + b"\r\n"
    )
    events, ctx = run(data)
    assert len(events) == 1
    assert events[0].sender == "x\ufffdy@a.com"
    assert events[0].location.line == 6  # bytes 10 and 13 of the junk end lines 2 and 3
    assert len(events[0].subject or "") == 4096
    assert ctx.counters["ignored"] >= 1
    assert "line-too-long" in {i.code for i in ctx.issues}


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            [
                "2/7/01 5:01:20 PM : A connection was accepted from a.com",
                "A connection to 1.2.3.4 was established.",
                "<<< MAIL FROM:<x@a.com>",
                ">>> MAIL FROM:",
                "RCPT TO:",
                "<<< IO: |DATA",
                "DATA",
                ">>> 354 go",
                "250-x",
                "250 ok",
                "Subject: Delivered: x",
                " folded",
                "",
                ".",
                "499 No routing hosts are reachable for x. Message",
                'subject: ""y"". Rescheduling delivery for later.',
                "2/31/01 5:01:20 PM : junk",
                "\x00\x01\x02",
            ]
        ),
        max_size=30,
    ),
    st.binary(max_size=200),
)
def test_fuzz_never_raises(lines: list[str], junk: bytes) -> None:
    data = "\n".join(lines).encode() + junk
    events, _ = run(data)
    for ev in events:
        assert ev.source == "ims-protocol"
        assert ev.location.line >= 1


# --- sniffing -----------------------------------------------------------------------------------


@pytest.mark.parametrize("sample", [Q295725, Q262945, Q228725, Q245787, TECHTARGET, BANNER_55])
def test_sniff_detects_the_kb_samples(sample: str) -> None:
    parser, score = detect(sample.encode(), "L0000000.LOG")
    assert parser is not None and parser.name == "ims-protocol"
    assert score >= 50


def test_sniff_name_adds_at_most_ten() -> None:
    data = Q295725.encode()
    assert PARSER.sniff(data, r"C:\exchsrvr\imcdata\log\L0000001.LOG") - PARSER.sniff(data, "capture.txt") == 10
    assert PARSER.sniff(b"hello world\n", "L0000000.LOG") == 0


def test_sniff_rejects_other_logs_in_the_corpus(corpus: Path) -> None:
    files = sorted(p for p in (corpus / "maillogs").rglob("*") if p.is_file())
    files += sorted(p for p in (corpus / "exchange_msgtrk").rglob("*") if p.is_file())
    assert files
    for path in files:
        head = path.read_bytes()[:65536]
        assert PARSER.sniff(head, path.name) < 30, path
