"""Tests for the Postfix parser on real lines quoted in prior-art.md and hand-written edge cases."""

from __future__ import annotations

import io

from imsdiag.models import Direction, Event, LoopSignal, ReportKind, TimeQuality
from imsdiag.parsers import ParseContext, by_name


def _parse(text: str, year: int = 2019) -> tuple[list[Event], ParseContext]:
    ctx = ParseContext(path="mail.log", year_hint=year)
    records = list(by_name("postfix").parse(io.BytesIO(text.encode()), ctx))
    events = [r for r in records if isinstance(r, Event)]
    assert len(events) == len(records)  # issues go to ctx.issues
    return events, ctx


ALIAS_LAB = (
    "Sep 29 16:10:25 artem-209-HP-EliteDesk-800-G1-SFF postfix/local[13951]: 4C675B614B4: to=<postmaster@std9.os3.su>,"
    " relay=local, delay=0.09, delays=0.05/0.01/0/0.03, dsn=2.0.0, status=sent (forwarded as 596DCB614B5)\n"
    "Sep 29 16:10:26 artem-209-HP-EliteDesk-800-G1-SFF postfix/smtp[13888]: 596DCB614B5: to=<rodry@std13.os3.su>,"
    " orig_to=<postmaster@std9.os3.su>, relay=mail.std13.os3.su[188.130.155.46]:25, delay=1.4,"
    " delays=0.03/0/0.69/0.69, dsn=2.0.0, status=sent (250 OK id=1iEYy2-0003Gf-BH)\n"
)


def test_forwarded_as_chains_queue_ids() -> None:
    events, ctx = _parse(ALIAS_LAB)
    local, smtp = events
    assert local.queue_id == "4C675B614B4" and local.next_id == "596DCB614B5"
    assert local.direction is Direction.LOCAL and local.status == "sent" and local.dsn == "2.0.0"
    assert local.recipients == ("postmaster@std9.os3.su",) and local.sender is None  # qmgr line not seen
    assert local.server == "artem-209-hp-elitedesk-800-g1-sff" and local.server_source == "content"
    assert smtp.direction is Direction.OUT
    assert (smtp.peer_host, smtp.peer_ip) == ("mail.std13.os3.su", "188.130.155.46")
    assert smtp.headers == (("orig-to", "postmaster@std9.os3.su"),)
    assert smtp.next_id == "1iEYy2-0003Gf-BH"  # the Exim receiver's id
    assert smtp.location.line == 2 and smtp.time_quality is TimeQuality.ZONE_ASSUMED
    assert ctx.issues == []


def test_loops_back_to_myself_with_rsyslog_stamp_and_long_id() -> None:
    line = (
        "2019-01-11T06:54:52.628611+07:00 dnet-004181 postfix/smtp[8988]: 43bNCH3MZXz17dn:"
        " to=<root@mail.jasuindo.co.id>,"
        " relay=mail.jasuindo.co.id[45.64.4.181]:25, delay=1.1, delays=0.02/1.1/0.02/0, dsn=5.4.6,"
        " status=bounced (mail for mail.jasuindo.co.id loops back to myself)\n"
    )
    (ev,), _ = _parse(line)
    assert ev.queue_id == "43bNCH3MZXz17dn"
    assert ev.status == "bounced" and ev.dsn == "5.4.6"
    assert ev.loop_signal is LoopSignal.LOOPS_BACK
    assert ev.time_quality is TimeQuality.EXACT and ev.time is not None and ev.time.hour == 23


def test_full_message_is_stitched_arrival_then_delivery() -> None:
    log = (
        "Sep 23 15:57:40 mail postfix/submission/smtpd[3646210]: 838FC8A5F: client=unknown[fe80::1:2:3:4],"
        " sasl_method=PLAIN, sasl_username=out@example.org\n"
        "Sep 23 15:57:40 mail postfix/cleanup[3646045]: 838FC8A5F:"
        " message-id=<341d97ec-c42a-6b0d-a49d-00d44a4f9753@example.org>\n"
        "Sep 23 15:57:41 mail postfix/qmgr[2450825]: 838FC8A5F: from=<out@example.org>, size=939,"
        " nrcpt=1 (queue active)\n"
        "Sep 23 15:57:42 mail postfix/smtp[3646046]: 838FC8A5F: to=<someone@example.com>,"
        " relay=gmail-smtp-in.l.google.com[173.194.76.27]:25, delay=1.6, delays=0.78/0/0.3/0.52, dsn=2.0.0,"
        " status=sent (250 2.0.0 OK  1632412662 aaaaaaaaaaaaaaa.511 - gsmtp)\n"
        "Sep 23 15:57:42 mail postfix/qmgr[2450825]: 838FC8A5F: removed\n"
    )
    parser_events, ctx = _parse(log, 2021)
    arrival, delivery = parser_events
    assert arrival.direction is Direction.IN and arrival.event_code == "smtpd"
    assert (arrival.peer_host, arrival.peer_ip) == ("unknown", "fe80::1:2:3:4")
    assert arrival.sender == "out@example.org" and arrival.size == 939
    assert arrival.message_id == "341d97ec-c42a-6b0d-a49d-00d44a4f9753@example.org"
    assert arrival.location.line == 3
    assert delivery.sender == "out@example.org" and delivery.message_id == arrival.message_id
    assert delivery.recipients == ("someone@example.com",) and delivery.next_id is None
    assert ctx.counters.get("postfix-open-at-end") == 0


def test_null_sender_is_empty_string_and_bounce_link_is_generated() -> None:
    log = (
        "Jun 29 03:10:50 h postfix/qmgr[1]: DC45E7C3131: from=<a@x.org>, size=100, nrcpt=1 (queue active)\n"
        "Jun 29 03:10:53 h postfix/cleanup[2]: 272597C3693: message-id=<20140629.272597C3693@h>\n"
        "Jun 29 03:10:53 h postfix/bounce[21248]: DC45E7C3131: sender non-delivery notification: 272597C3693\n"
        "Jun 29 03:10:53 h postfix/qmgr[1]: 272597C3693: from=<>, size=2000, nrcpt=1 (queue active)\n"
        "Jun 29 03:10:54 h postfix/smtp[3]: 272597C3693: to=<a@x.org>, relay=mx.x.org[1.2.3.4]:25, delay=1,"
        " delays=0/0/0/1, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as 9F00ABC)\n"
    )
    events, ctx = _parse(log)
    arrival, bounce, delivery = events
    assert arrival.sender == "a@x.org"
    assert bounce.direction is Direction.GENERATED and bounce.report_kind is ReportKind.NDR
    assert (bounce.queue_id, bounce.about_id, bounce.sender) == ("272597C3693", "DC45E7C3131", "")
    assert bounce.recipients == ("a@x.org",) and bounce.message_id == "20140629.272597C3693@h"
    assert delivery.sender == "" and delivery.about_id == "DC45E7C3131" and delivery.report_kind is ReportKind.NDR
    assert delivery.next_id == "9F00ABC"
    assert ctx.counters["bounce-arrivals"] == 1


def test_bounce_kinds_delay_and_delivery_status() -> None:
    log = (
        "Jun 1 00:00:00 h postfix/bounce[1]: 264FE1A18: sender delay notification: 0A87A1A08\n"
        "Jun 1 00:00:00 h postfix/bounce[1]: 65AFB8B5: sender delivery status notification: 1DF35917\n"
        "Jun 1 00:00:00 h postfix/bounce[1]: 482E4404AC8: postmaster non-delivery notification: 47335405A44\n"
    )
    events, _ = _parse(log)
    assert [(e.queue_id, e.about_id, e.report_kind) for e in events] == [
        ("0A87A1A08", "264FE1A18", ReportKind.DELAY),
        ("1DF35917", "65AFB8B5", ReportKind.DELIVERY_RECEIPT),
        ("47335405A44", "482E4404AC8", ReportKind.NDR),
    ]
    # The causes' qmgr lines were not seen, so the bounces' recipients are unknown.
    assert all(e.recipients == () and e.sender == "" for e in events)


def test_hop_limit_rejects() -> None:
    log = (
        "Jan 5 10:00:00 relay postfix/cleanup[77]: warning: 5E1F3D2A: message rejected: hopcount exceeded\n"
        "Jan 5 10:00:01 relay postfix/smtpd[78]: NOQUEUE: reject: RCPT from mx.a.org[10.0.0.1]: 554 5.4.0"
        " Error: too many hops; from=<> to=<u@b.org> proto=ESMTP helo=<mx.a.org>\n"
        "Jan 5 10:00:02 relay postfix/smtpd[78]: NOQUEUE: reject: RCPT from mx.a.org[10.0.0.1]: 554 5.7.1"
        " Relay access denied; from=<s@a.org> to=<u@c.org> proto=ESMTP helo=<mx.a.org>\n"
    )
    events, ctx = _parse(log)
    cleanup, smtpd = events
    assert cleanup.queue_id == "5E1F3D2A" and cleanup.loop_signal is LoopSignal.HOP_LIMIT
    assert smtpd.loop_signal is LoopSignal.HOP_LIMIT and smtpd.sender == "" and smtpd.recipients == ("u@b.org",)
    assert (smtpd.peer_host, smtpd.peer_ip, smtpd.status) == ("mx.a.org", "10.0.0.1", "rejected")
    assert ctx.counters["rejects"] == 1


def test_greeted_me_with_my_own_hostname_and_forwarding_loop() -> None:
    log = (
        "Apr  9 21:37:42 mail postfix/smtp[124]: warning: host mail.kwrzesinska.com[85.xxx.x.xxx]:25 greeted me"
        " with my own hostname mail.kwrzesinska.com\n"
        "Oct 26 18:13:50 h postfix/pipe[9]: 95ECE24E0: to=<tom@example.com>, relay=dovecot, delay=0.12,"
        " delays=0.03/0/0/0.08, dsn=5.4.6, status=bounced (mail forwarding loop for tom@example.com)\n"
    )
    greet, pipe = _parse(log)[0]
    assert greet.loop_signal is LoopSignal.LOOPS_BACK and greet.peer_host == "mail.kwrzesinska.com"
    assert greet.direction is Direction.OUT
    assert pipe.loop_signal is LoopSignal.FORWARDING_LOOP and pipe.direction is Direction.LOCAL
    assert pipe.peer_host is None and pipe.dsn == "5.4.6"


def test_expired_and_multi_instance_and_other_daemons() -> None:
    log = (
        "Feb 11 16:49:25 letterman postfix-secondary/qmgr[8204]: AAB4D259B3: from=<s@x.org>, status=expired,"
        " returned to sender\n"
        "Aug 30 06:40:56 h dovecot: imap-login: Login: user=<a>\n"
        "Aug 30 06:41:01 h CRON[1]: (root) CMD (x)\n"
        "Aug 30 06:41:02 h postfix/anvil[2]: statistics: max cache size 1 at Oct 26 18:13:50\n"
    )
    events, ctx = _parse(log)
    (expired,) = events
    assert expired.status == "expired" and expired.sender == "s@x.org" and expired.event_code == "qmgr"
    assert ctx.counters["ignored"] == 3 and ctx.issues == []


def test_sniff_prefers_postfix_and_garbage_does_not_raise() -> None:
    p = by_name("postfix")
    assert p.sniff(ALIAS_LAB.encode(), "mail.log") >= 90
    assert p.sniff(b"hello world\n", "x") == 0
    events, ctx = _parse("\x00\x01 junk\nMar 1 12:00:00 h postfix/smtp[1]: ABCDEF: to=<\n")
    assert ctx.counters["unparsed"] == 1
    assert [e.recipients for e in events] == [()]


def test_deferred_with_relay_none_takes_peer_from_the_reason() -> None:
    line = (
        "Jun 29 03:10:22 RHL058 postfix/smtp[7598]: C87817C5A90: to=<hunterconine@unioncityschools.com>, relay=none,"
        " delay=38237, delays=38207/0/30/0, dsn=4.4.1, status=deferred (connect to"
        " unioncityschools.com[208.87.149.250]:25: Connection timed out)\n"
    )
    (ev,), _ = _parse(line, 2014)
    assert ev.direction is Direction.OUT and ev.status == "deferred" and ev.dsn == "4.4.1"
    assert (ev.peer_host, ev.peer_ip) == ("unioncityschools.com", "208.87.149.250")
    assert ev.loop_signal is None and ev.next_id is None
