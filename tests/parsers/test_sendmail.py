"""Tests for the Sendmail parser on the real lines quoted in prior-art.md §4.3 and edge cases."""

from __future__ import annotations

import io

from imsdiag.models import Direction, Event, LoopSignal, ReportKind, TimeQuality
from imsdiag.parsers import ParseContext, by_name

HOPS = (
    "Aug 5 10:45:13 artemis sendmail[10817]: p75Ej6eu010817: from=<Bobbi@biomech-regensburg.de>, size=7229, class=0,"
    " nrcpts=4, msgid=<FWGWCHLAUE$578506.authoritative@babyfach.de>, bodytype=8BITMIME, proto=ESMTP, daemon=MTA,"
    " relay=vm-emlprdomr-01.its.yale.edu [130.132.50.112]\n"
    "Aug 5 10:45:13 artemis sendmail[10817]: p75Ej6eu010817: SYSERR(root): Too many hops 26 (25 max): from"
    " <Bobbi@biomech-regensburg.de> via vm-emlprdomr-01.its.yale.edu, to <aa1aaa1azzzz1zaaaaa@zebra.zoo.cs.yale.edu>\n"
    "Aug 5 11:22:05 artemis sendmail[12577]: p75Ej6eu010817: p75FM4sq012577: DSN: Too many hops 26 (25 max): from"
    " <Bobbi@biomech-regensburg.de> via localhost, to <aa1aaa1azzzz1zaaaaa@zebra.zoo.cs.yale.edu>\n"
)


def _parse(text: str) -> tuple[list[Event], ParseContext]:
    ctx = ParseContext(path="maillog", year_hint=2011)
    records = list(by_name("sendmail").parse(io.BytesIO(text.encode()), ctx))
    events = [r for r in records if isinstance(r, Event)]
    assert len(events) == len(records)
    return events, ctx


def test_too_many_hops_arrival_syserr_and_dsn_link() -> None:
    (arrival, syserr, dsn), ctx = _parse(HOPS)
    assert arrival.direction is Direction.IN and arrival.queue_id == "p75Ej6eu010817"
    assert arrival.sender == "bobbi@biomech-regensburg.de" and arrival.size == 7229
    assert arrival.message_id == "FWGWCHLAUE$578506.authoritative@babyfach.de"
    assert (arrival.peer_host, arrival.peer_ip) == ("vm-emlprdomr-01.its.yale.edu", "130.132.50.112")
    assert arrival.server == "artemis" and arrival.time_quality is TimeQuality.ZONE_ASSUMED
    assert syserr.loop_signal is LoopSignal.HOP_LIMIT
    assert syserr.recipients == ("aa1aaa1azzzz1zaaaaa@zebra.zoo.cs.yale.edu",)
    assert syserr.peer_host == "vm-emlprdomr-01.its.yale.edu" and syserr.message_id == arrival.message_id
    assert dsn.direction is Direction.GENERATED and dsn.report_kind is ReportKind.NDR
    assert (dsn.queue_id, dsn.about_id, dsn.sender) == ("p75FM4sq012577", "p75Ej6eu010817", "")
    assert dsn.recipients == ("bobbi@biomech-regensburg.de",) and dsn.loop_signal is LoopSignal.HOP_LIMIT
    assert ctx.issues == []


def test_relay_into_postfix_links_queue_ids() -> None:
    log = (
        "Jun 29 03:10:03 RHL058 sendmail[3569]: s5T68YTv003569: from=<no-reply@grooveshark.com>, size=25274, class=0,"
        " nrcpts=1, msgid=<1404025803.53afbbcb667b9@swift.generated>, proto=SMTP, relay=root@localhost\n"
        "Jun 29 03:10:03 RHL058 postfix/smtpd[25080]: C05A07C2CA0: client=localhost[127.0.0.1]\n"
        "Jun 29 03:10:03 RHL058 sendmail[3569]: s5T68YTv003569: to=<t.k.custom3@gmail.com>, delay=00:00:00,"
        " xdelay=00:00:00, mailer=relay, pri=55274, relay=[127.0.0.1] [127.0.0.1], dsn=2.0.0,"
        " stat=Sent (Ok: queued as C05A07C2CA0)\n"
        "Jun 29 03:10:03 RHL058 postfix/qmgr[14505]: C05A07C2CA0: from=<no-reply@grooveshark.com>, size=26493,"
        " nrcpt=1 (queue active)\n"
    )
    (arrival, delivery, pf_arrival), _ = _parse(log)
    assert arrival.peer_host == "localhost" and arrival.sender == "no-reply@grooveshark.com"
    assert delivery.source == "sendmail" and delivery.direction is Direction.OUT
    assert (delivery.status, delivery.dsn, delivery.next_id) == ("sent", "2.0.0", "C05A07C2CA0")
    assert (delivery.peer_host, delivery.peer_ip) == ("127.0.0.1", "127.0.0.1")
    assert delivery.recipients == ("t.k.custom3@gmail.com",)
    assert delivery.message_id == "1404025803.53afbbcb667b9@swift.generated"
    assert pf_arrival.source == "postfix" and pf_arrival.queue_id == delivery.next_id


def test_loghub_deferred_local_and_null_sender() -> None:
    log = (
        "- 1131566491 2005.11.09 eadmin1 Nov 9 12:01:31 src@eadmin1 sendmail[4306]: jA9J1UvC004306: to=root,"
        " ctladdr=root (0/0), delay=00:00:01, xdelay=00:00:00, mailer=relay, pri=659060, relay=[127.0.0.1]"
        " [127.0.0.1], dsn=4.0.0, stat=Deferred: Connection refused by [127.0.0.1]\n"
        "Mar 3 10:00:00 mx sm-mta[5]: r23A00aa000005: from=<>, size=900, class=0, nrcpts=1,"
        " msgid=<r23A00ab000005@mx>, proto=ESMTP, daemon=MTA, relay=mx2.a.org. [10.1.1.1]\n"
        "Mar 3 10:00:01 mx sm-mta[6]: r23A00aa000005: to=<u@mx>, delay=00:00:01, mailer=local, pri=30000,"
        " dsn=2.0.0, stat=Sent\n"
        "Mar 3 10:00:02 mx sm-msp-queue[7]: r23A00ac000007: to=<a@b>,<c@d>, delay=00:00:01, mailer=relay,"
        " pri=30000, relay=[127.0.0.1] [127.0.0.1], dsn=5.1.1, stat=User unknown\n"
    )
    (deferred, arrival, local, bounced), _ = _parse(log)
    assert deferred.status == "deferred" and deferred.recipients == ("root",) and deferred.dsn == "4.0.0"
    assert deferred.server == "eadmin1" and deferred.time_quality is TimeQuality.EXACT
    assert arrival.sender == "" and (arrival.peer_host, arrival.peer_ip) == ("mx2.a.org", "10.1.1.1")
    assert local.direction is Direction.LOCAL and local.status == "sent" and local.sender == ""
    assert bounced.status == "bounced" and bounced.recipients == ("a@b", "c@d") and bounced.sender is None


def test_other_lines_are_counted_not_issues() -> None:
    log = (
        "Feb 16 23:33:20 smtp1 sm-mta[5133]: s1GNXHYB005133: [190.5.230.178]: possible SMTP attack: command=AUTH\n"
        "Nov 9 12:01:30 eadmin1 sendmail[4306]: unable to qualify my own domain name (eadmin1) -- using short name\n"
    )
    events, ctx = _parse(log)
    assert events == [] and ctx.issues == []
    assert ctx.counters["other"] == 1 and ctx.counters["ignored"] == 1


def test_sniff() -> None:
    assert by_name("sendmail").sniff(HOPS.encode(), "maillog") >= 90
    assert by_name("sendmail").sniff(b"Aug 5 10:45:13 a postfix/smtp[1]: x\n", "maillog") == 0
