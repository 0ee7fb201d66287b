"""headers.read_message / message_event: report kinds, DSN fields, loop evidence, embedded chains."""

from __future__ import annotations

from datetime import datetime, timezone

from imsdiag.models import Location, LoopSignal, ReportKind
from imsdiag.parsers.headers import MessageInfo, message_event, null_path, read_message

DSN = b"""Return-Path: <MAILER-DAEMON>
Received: from mail.st12.os3.su (mail.st12.os3.su [10.0.0.12])
\tby mail.st9.os3.su (8.14.4/8.14.4) with ESMTP id u8RAD9W1; Tue, 27 Sep 2016 13:13:21 +0300
From: Mail Delivery Subsystem <MAILER-DAEMON@mail.st9.os3.su>
To: <root@mail.st9.os3.su>
Message-Id: <201609271013.u8RAD9W2@mail.st9.os3.su>
Subject: Returned mail: see transcript for details
Auto-Submitted: auto-generated (failure)
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status;
\tboundary="B"

--B
Content-Type: text/plain

   ----- The following addresses had permanent fatal errors -----
<loop@mail.st9.os3.su>
    (reason: 554 5.4.6 Too many hops)

--B
Content-Type: message/delivery-status

Reporting-MTA: dns; mail.st9.os3.su
Received-From-MTA: DNS; mail.st12.os3.su
Arrival-Date: Tue, 27 Sep 2016 13:13:21 +0300

Final-Recipient: RFC822; loop@mail.st9.os3.su
Action: failed
Status: 5.4.6
Diagnostic-Code: SMTP; 554 5.4.6 Too many hops 26 (25 max)

--B
Content-Type: message/rfc822

Received: from a.example (a.example [192.0.2.1]) by b.example (Postfix) with ESMTP id 1; Tue, 27 Sep 2016 13:10:00 +0300
Received: from b.example by a.example (Postfix) with ESMTP id 2; Tue, 27 Sep 2016 13:09:00 +0300
Message-ID: <orig@a.example>
Subject: hello

we discuss a routing loop here, which is not the reporter's text
--B--
"""


def test_dsn_ndr_with_hop_limit() -> None:
    info = read_message(DSN)
    assert info.report_kind is ReportKind.NDR
    assert info.return_path == ""
    assert info.message_id == "201609271013.u8RAD9W2@mail.st9.os3.su"
    assert info.loop_signal is LoopSignal.HOP_LIMIT
    assert info.dsn_status == "5.4.6" and info.dsn_action == "failed"
    assert info.dsn == (
        ("reporting-mta", "dns; mail.st9.os3.su"),
        ("arrival-date", "Tue, 27 Sep 2016 13:13:21 +0300"),
        ("final-recipient", "RFC822; loop@mail.st9.os3.su"),
        ("action", "failed"),
        ("status", "5.4.6"),
        ("diagnostic-code", "SMTP; 554 5.4.6 Too many hops 26 (25 max)"),
    )
    assert info.embedded_message_id == "orig@a.example"
    assert len(info.received) == 1 and info.received[0].by_host == "mail.st9.os3.su"
    assert [[h.by_host for h in chain] for chain in info.embedded_received] == [["b.example", "a.example"]]
    assert info.auto_submitted == "auto-generated (failure)"
    assert ("auto-submitted", "auto-generated (failure)") in info.headers


def test_message_event_fields() -> None:
    info = read_message(DSN)
    ev = message_event(info, Location("x.eml", 1), "message", server="imc1")
    assert ev.sender == "" and ev.recipients == ("root@mail.st9.os3.su",)
    assert ev.about_id == "orig@a.example" and ev.dsn == "5.4.6" and ev.status == "failed"
    assert ev.time == datetime(2016, 9, 27, 10, 13, 21, tzinfo=timezone.utc)
    assert ev.peer_host == "mail.st12.os3.su" and ev.peer_ip == "10.0.0.12"
    assert ev.server == "imc1" and ev.loop_signal is LoopSignal.HOP_LIMIT
    assert ev.embedded_received == info.embedded_received


def _msg(headers: str, body: str = "hi\n") -> bytes:
    return (headers.strip("\n") + "\n\n" + body).encode("utf-8")


def test_delay_and_delivered_actions() -> None:
    base = "From: postmaster@x\nSubject: s\nContent-Type: multipart/report; report-type=delivery-status; boundary=Q\n"
    body = "--Q\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; x\n\nAction: {}\nStatus: 4.4.7\n--Q--\n"
    assert read_message(_msg(base, body.format("delayed"))).report_kind is ReportKind.DELAY
    assert read_message(_msg(base, body.format("relayed"))).report_kind is ReportKind.DELIVERY_RECEIPT


def test_subject_based_kinds() -> None:
    assert read_message(_msg("Subject: Delivered: Budget\nFrom: a@b")).report_kind is ReportKind.DELIVERY_RECEIPT
    assert read_message(_msg("Subject: Read: Budget\nFrom: a@b")).report_kind is ReportKind.READ_RECEIPT
    assert read_message(_msg("Subject: Not read: Budget\nFrom: a@b")).report_kind is ReportKind.READ_RECEIPT
    ndr = read_message(_msg("Return-Path: <>\nFrom: MAILER-DAEMON@x\nSubject: failure notice"))
    assert ndr.report_kind is ReportKind.NDR
    # an ordinary message with a bounce-like subject from a person is not an NDR
    plain = read_message(_msg("Return-Path: <bob@x>\nFrom: bob@x\nSubject: Undeliverable: my poem"))
    assert plain.report_kind is ReportKind.NONE


def test_auto_replies() -> None:
    assert (
        read_message(_msg("From: a@b\nAuto-Submitted: auto-replied\nSubject: x")).report_kind is ReportKind.AUTO_REPLY
    )
    assert read_message(_msg("From: a@b\nX-Autoreply: yes\nSubject: x")).report_kind is ReportKind.AUTO_REPLY
    assert read_message(_msg("From: a@b\nPrecedence: auto_reply\nSubject: x")).report_kind is ReportKind.AUTO_REPLY
    assert read_message(_msg("From: a@b\nSubject: Out of Office: x")).report_kind is ReportKind.AUTO_REPLY
    assert read_message(_msg("From: a@b\nSubject: lunch?")).report_kind is ReportKind.NONE


def test_mdn_is_read_receipt() -> None:
    data = _msg(
        "From: a@b\nSubject: Disposition\nContent-Type: multipart/report; report-type=disposition-notification; "
        "boundary=Z",
        "--Z\nContent-Type: message/disposition-notification\n\nDisposition: manual-action/MDN-sent-manually; "
        "displayed\n--Z--\n",
    )
    assert read_message(data).report_kind is ReportKind.READ_RECEIPT


def test_delivered_to_repeat_is_forwarding_loop() -> None:
    headers = "Delivered-To: a@x\nDelivered-To: b@x\nDelivered-To: A@x\nDelivered-To: a@x\nFrom: c@d\nSubject: s"
    info = read_message(_msg(headers))
    assert info.delivered_to == ("a@x", "b@x", "a@x", "a@x")
    assert info.loop_signal is LoopSignal.FORWARDING_LOOP
    ev = message_event(info, Location("m", 1), "message")
    assert ev.recipients == ("a@x", "b@x", "a@x", "a@x")


def test_one_repeated_delivered_to_is_not_yet_a_loop() -> None:
    # Real delivered bounces (sisimai lhost-postfix-64, rhost-franceptt-05) carry one address twice.
    info = read_message(_msg("Delivered-To: a@x\nDelivered-To: a@x\nFrom: c@d\nSubject: s"))
    assert info.loop_signal is None


def test_loop_phrases_in_text_bounce() -> None:
    cases = {
        "mail for example.com loops back to myself": LoopSignal.LOOPS_BACK,
        "554 5.4.6 mail forwarding loop for tom@example.com": LoopSignal.FORWARDING_LOOP,
        "(00120270) Too Many Hops": LoopSignal.HOP_LIMIT,
        'Too many "Received" headers': LoopSignal.HOP_LIMIT,
        "550 Loop detected": LoopSignal.ROUTING_LOOP,
        "Status 5.4.14 hop count": LoopSignal.HOP_LIMIT,
    }
    for text, signal in cases.items():
        info = read_message(_msg("Return-Path: <>\nFrom: MAILER-DAEMON@x\nSubject: Undeliverable: x", text + "\n"))
        assert info.report_kind is ReportKind.NDR
        assert info.loop_signal is signal, text
        assert info.loop_evidence == text


def test_null_paths() -> None:
    assert null_path("<>") == "" and null_path("<MAILER-DAEMON>") == "" and null_path("") == ""
    assert null_path("MAILER-DAEMON") == "" and null_path(None) is None
    assert null_path("<Bob@Example.COM>") == "bob@example.com"


def test_encoded_and_8bit_headers() -> None:
    data = b"From: =?iso-8859-1?q?J=F6rg?= <j@x>\nSubject: =?utf-8?B?SMOkbGxv?= =?bogus?Q?x?=\nTo: \xe4@x\n\nbody\n"
    info = read_message(data)
    assert info.subject is not None and info.subject.startswith("H\u00e4llo")
    assert info.from_addr == "j@x"
    assert info.to_addrs == ("\u00e4@x",)


def test_requested_receipts_and_ims_software() -> None:
    info = read_message(
        _msg(
            "Received: by servertc2.example.com with Internet Mail Service (5.5.2653.19)\n"
            "\tid <GXM396ZL>; Thu, 14 Mar 2002 16:35:44 +0100\n"
            "Message-ID: <6180A23D@server.company1.com>\nFrom:  <user1@company1.com>\n"
            "Return-Receipt-To: <user@DOMAIN.com>\nDisposition-Notification-To: a@b\n"
            "X-Mailer: Internet Mail Service (5.5.2653.19)\nSubject: x"
        )
    )
    assert info.return_receipt_to == "<user@DOMAIN.com>" and info.disposition_notification_to == "a@b"
    assert (info.software, info.build) == ("Microsoft Exchange Internet Mail Service", "5.5.2653.19")
    assert info.x_mailer == "Internet Mail Service (5.5.2653.19)"


def test_garbage_never_raises() -> None:
    for data in (
        b"",
        b"\x00\xff" * 5000,
        b"(((((\n\n",
        b"Content-Type: multipart/mixed; boundary=x\n\n" + b"--x\n" * 3000,
    ):
        info = read_message(data)
        assert isinstance(info, MessageInfo)
    assert "no-headers" in read_message(b"").defects
    assert "message-truncated" in read_message(b"Subject: x\n\n" + b"a" * 100, max_body=50).defects


def test_text_bounce_returned_headers_are_an_embedded_chain() -> None:
    body = (
        "Hi. This is the qmail-send program.\n\n--- Below this line is a copy of the message.\n\n"
        "Return-Path: <a@x.example>\n"
        "Received: from x.example (x.example [192.0.2.1])\n  by y.example with SMTP id 7; "
        "Tue, 2 Mar 1999 09:44:33 +0000\n"
        "Received: (qmail 1 invoked by uid 99); 2 Mar 1999 09:44:30 -0000\n"
        "Message-ID: <orig@x.example>\n\nthe body\n"
    )
    info = read_message(_msg("Return-Path: <>\nFrom: MAILER-DAEMON@y.example\nSubject: failure notice", body))
    assert info.report_kind is ReportKind.NDR and info.embedded_message_id == "orig@x.example"
    ((first, second),) = info.embedded_received
    assert (first.from_ip, first.by_host, first.id) == ("192.0.2.1", "y.example", "7")
    assert second.defects == ("no-by",)
