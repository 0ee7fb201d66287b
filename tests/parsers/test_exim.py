"""Tests for the Exim mainlog parser on the real lines quoted in prior-art.md §4.4 and edge cases."""

from __future__ import annotations

import io
from datetime import datetime, timezone

from imsdiag.models import Direction, Event, LoopSignal, ReportKind, TimeQuality
from imsdiag.parsers.base import ParseContext
from imsdiag.parsers.exim import EximParser


def _parse(text: str, server: str | None = "mx1") -> tuple[list[Event], ParseContext]:
    ctx = ParseContext(path="mainlog", server_hint=server, server_hint_source="path" if server else None)
    records = list(EximParser().parse(io.BytesIO(text.encode()), ctx))
    events = [r for r in records if isinstance(r, Event)]
    assert len(events) == len(records)
    return events, ctx


def test_too_many_received_headers_failure() -> None:
    line = (
        "2017-03-11 20:43:00 1cmsXD-003mi8-Iw ** wordpress@deadways.com:"
        ' Too many "Received" headers - suspected mail loop\n'
    )
    (ev,), ctx = _parse(line)
    assert ev.queue_id == "1cmsXD-003mi8-Iw" and ev.event_code == "**"
    assert ev.status == "bounced" and ev.loop_signal is LoopSignal.HOP_LIMIT
    assert ev.recipients == ("wordpress@deadways.com",)
    assert ev.server == "mx1" and ev.server_source == "path"
    assert ev.time == datetime(2017, 3, 11, 20, 43, tzinfo=timezone.utc)
    assert ev.time_quality is TimeQuality.ZONE_ASSUMED and ctx.issues == []


def test_null_sender_arrival_over_smtp() -> None:
    line = (
        "2016-11-06 13:10:00 1c3KOi-0000BR-CX <= <> H=mout-bounce.perfora.net [74.208.4.205] P=esmtps"
        " X=TLS1.0:DHE_RSA_AES_256_CBC_SHA1:32 S=4452 from <> for vansavicius@anothersite.ru\n"
    )
    (ev,), _ = _parse(line)
    assert ev.direction is Direction.IN and ev.sender == "" and ev.about_id is None
    assert (ev.peer_host, ev.peer_ip, ev.size) == ("mout-bounce.perfora.net", "74.208.4.205", 4452)
    assert ev.recipients == ("vansavicius@anothersite.ru",) and ev.report_kind is ReportKind.NONE


def test_497_bounce_of_parent_with_subject() -> None:
    line = (
        "2025-02-17 17:53:20 1tk2Uq-00000000FrB-3Jl1 <= <> R=1tk2Uq-00000000FJN-39Mg U=mailnull P=local S=2025"
        ' T="Mail delivery failed : returning message to sender"\n'
        "2025-02-17 17:53:21 1tk2Uq-00000000FrB-3Jl1 => a@b.org R=dnslookup T=remote_smtp H=mx.b.org [192.0.2.1]"
        ' C="250 2.0.0 Ok: queued as 4XyZ1234"\n'
        "2025-02-17 17:53:21 1tk2Uq-00000000FrB-3Jl1 Completed\n"
    )
    (bounce, delivery), _ = _parse(line)
    assert bounce.queue_id == "1tk2Uq-00000000FrB-3Jl1" and bounce.about_id == "1tk2Uq-00000000FJN-39Mg"
    assert bounce.direction is Direction.GENERATED and bounce.report_kind is ReportKind.NDR and bounce.sender == ""
    assert bounce.subject == "Mail delivery failed : returning message to sender" and bounce.size == 2025
    assert delivery.direction is Direction.OUT and delivery.next_id == "4XyZ1234"
    assert delivery.sender == "" and delivery.about_id == bounce.about_id and delivery.subject == bounce.subject
    assert (delivery.peer_host, delivery.peer_ip, delivery.status) == ("mx.b.org", "192.0.2.1", "sent")


def test_millisecond_pid_and_zone_variants() -> None:
    log = (
        "2020-10-29 20:22:59.803 [30056] 1kYERi-0007oc-5P => user@example.com R=local T=local_delivery\n"
        "2020-10-29 20:23:00.5 +0100 [30057] 1kYERi-0007oc-5P == user@example.com R=r T=t defer (-44): 451 4.3.0 x\n"
    )
    (sent, deferred), _ = _parse(log, server=None)
    assert sent.time == datetime(2020, 10, 29, 20, 22, 59, 803000, tzinfo=timezone.utc)
    assert sent.direction is Direction.LOCAL and sent.server is None and sent.server_source is None
    assert deferred.time == datetime(2020, 10, 29, 19, 23, 0, 500000, tzinfo=timezone.utc)
    assert deferred.time_quality is TimeQuality.EXACT and deferred.status == "deferred" and deferred.dsn == "4.3.0"


def test_stitched_arrival_facts_and_redirect_original() -> None:
    log = (
        "2020-02-22 01:31:25 1j5IhX-0006pK-Rt <= plusgirot@nordea.com H=mail1.bemta26.messagelabs.com [85.158.142.5]"
        " P=esmtp S=4502 id=xPvw9194h6.plusgirot@nordea.com\n"
        "2020-02-22 01:31:26 1j5IhX-0006pK-Rt => anders.warnqvist@gmail.com <kassor@ucf.se> R=dnslookup T=remote_smtp"
        ' H=gmail-smtp-in.l.google.com [108.177.15.26] X=TLS1.2:RSA_AES_128_CBC_SHA1:128 DN="C=US,CN=mx.google.com"\n'
    )
    (arrival, delivery), _ = _parse(log)
    assert arrival.message_id == "xPvw9194h6.plusgirot@nordea.com" and arrival.sender == "plusgirot@nordea.com"
    assert delivery.message_id == arrival.message_id and delivery.size == 4502
    assert delivery.recipients == ("anders.warnqvist@gmail.com",) and delivery.headers == (
        ("orig-to", "kassor@ucf.se"),
    )


def test_testsuite_normalised_lines_and_syslog_wrapped_lines() -> None:
    log = (
        "1999-03-02 09:44:33 10HmbD-000000005vi-0000 <= <> R=10HmaY-000000005vi-0000 U=EXIMUSER P=local S=sss\n"
        "******** SERVER ********\n"
        "1999-03-02 09:44:33 Start queue run: pid=p1234\n"
        "mail.example.com exim[3751842]: 2021-07-17 23:20:49 plain_server authenticator failed for"
        " ([192.0.2.17]) [192.0.2.27]: 535 Incorrect authentication data\n"
    )
    (bounce,), ctx = _parse(log)
    assert bounce.size is None and bounce.about_id == "10HmaY-000000005vi-0000"
    assert ctx.issues == [] and ctx.counters["other"] == 2 and ctx.counters["separators"] == 1


def test_garbage_becomes_issue_and_sniff() -> None:
    events, ctx = _parse("not an exim line\n\x00\x00\n")
    assert events == [] and [i.code for i in ctx.issues] == ["not-exim", "not-exim"]
    assert EximParser().sniff(b"2017-03-11 20:43:00 1cmsXD-003mi8-Iw Completed\n", "mainlog") >= 90
    assert EximParser().sniff(b"2016-11-07 22:21:20   smtp: postmaster [1.2.3.4] failure\n", "x") == 0
