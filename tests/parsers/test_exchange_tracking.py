"""Tests for the Exchange 2007+ MSGTRK parser: header-driven columns, BOM, quoted commas, DSN links."""

from __future__ import annotations

import io
from datetime import datetime, timezone

from imsdiag.models import Direction, Event, LoopSignal, ReportKind, TimeQuality
from imsdiag.parsers.base import ParseContext
from imsdiag.parsers.exchange_tracking import ExchangeTrackingParser

HEADER_2013 = (
    "#Software: Microsoft Exchange Server\n"
    "#Version: 15.00.1104.000\n"
    "#Log-type: Message Tracking Log\n"
    "#Date: 2017-05-22T17:33:35.632Z\n"
    "#Fields: date-time,client-ip,client-hostname,server-ip,server-hostname,source-context,connector-id,source,"
    "event-id,internal-message-id,message-id,network-message-id,recipient-address,recipient-status,total-bytes,"
    "recipient-count,related-recipient-address,reference,message-subject,sender-address,return-path,message-info,"
    "directionality,tenant-id,original-client-ip,original-server-ip,custom-data\n"
)


def _parse(data: bytes) -> tuple[list[Event], ParseContext]:
    ctx = ParseContext(path="MSGTRK2017052217-1.LOG")
    records = list(ExchangeTrackingParser().parse(io.BytesIO(data), ctx))
    events = [r for r in records if isinstance(r, Event)]
    assert len(events) == len(records)
    return events, ctx


def test_header_bom_quoted_commas_and_recipients() -> None:
    row = (
        '2017-05-22T17:33:35.632Z,10.0.0.9,edge1.contoso.com,10.0.0.5,EX13D13UWA001,"08D4;250 2.0.0, ok",'
        "EX13D13UWA001\\Default,SMTP,RECEIVE,64712272257893,<1028007174.1@contoso.com>,13fad5b7-aaaa,"
        'a@amazon.com;b@amazon.com,,7631,2,,,"Budget, Q3 (final)",apollo@contoso.com,apollo@contoso.com,,'
        "Incoming,,10.25.10.214,10.43.162.232,S:AMA=SUM\n"
    )
    (ev,), ctx = _parse(b"\xef\xbb\xbf" + (HEADER_2013 + row).encode())
    assert ev.time == datetime(2017, 5, 22, 17, 33, 35, 632000, tzinfo=timezone.utc)
    assert ev.time_quality is TimeQuality.EXACT and ev.direction is Direction.IN
    assert ev.server == "ex13d13uwa001" and ev.server_source == "content"
    assert (ev.peer_host, ev.peer_ip) == ("edge1.contoso.com", "10.0.0.9")
    assert ev.recipients == ("a@amazon.com", "b@amazon.com") and ev.size == 7631
    assert ev.subject == "Budget, Q3 (final)" and ev.sender == "apollo@contoso.com"
    assert ev.message_id == "1028007174.1@contoso.com" and ev.queue_id == "64712272257893"
    assert ev.status == "RECEIVE" and ev.location.line == 6 and ctx.issues == []


def test_dsn_reference_links_cause_and_null_return_path() -> None:
    row = (
        "2017-05-22T18:00:00.000Z,,,,EX1,,,DSN,DSN,999,<dsn1@ex1>,n-1,u@contoso.com,,2000,1,,64712272257893,"
        "Undeliverable: Budget,postmaster@contoso.com,<>,,Originating,,,,\n"
        "2017-05-22T18:00:01.000Z,,,,EX1,#554 5.4.14 Hop count exceeded - possible mail loop,,SMTP,FAIL,998,"
        "<m2@x>,n-2,v@contoso.com,554 5.4.14 Hop count exceeded - possible mail loop ATTR34,10,1,,,,s@x,s@x,,,,,,\n"
    )
    (dsn, fail), _ = _parse(HEADER_2013.encode() + row.encode())
    assert dsn.direction is Direction.GENERATED and dsn.report_kind is ReportKind.NDR
    assert (dsn.queue_id, dsn.about_id, dsn.sender) == ("999", "64712272257893", "")
    assert fail.status == "FAIL" and fail.loop_signal is LoopSignal.HOP_LIMIT and fail.about_id is None


def test_2010_header_without_network_message_id_column() -> None:
    header = (
        "#Version: 14.0.0.0\n#Fields: date-time,client-ip,client-hostname,server-ip,server-hostname,source-context,"
        "connector-id,source,event-id,internal-message-id,message-id,recipient-address,recipient-status,total-bytes,"
        "recipient-count,related-recipient-address,reference,message-subject,sender-address,return-path,"
        "message-info,directionality,tenant-id,original-client-ip,original-server-ip,custom-data\n"
    )
    row = "2016-04-05T00:00:02.052Z,,,,HUB1,,,STOREDRIVER,DELIVER,42,<x@y>,r@contoso.com,,123,1,,,Hi,s@y,s@y,,,,,,\n"
    (ev,), _ = _parse((header + row).encode())
    assert ev.direction is Direction.LOCAL and ev.recipients == ("r@contoso.com",) and ev.size == 123
    assert ev.server == "hub1" and ev.message_id == "x@y"


def test_no_header_uses_default_columns_and_send_server_is_the_client() -> None:
    row = (
        "2024-01-07T00:00:07.463Z,192.168.0.1,exchange,192.168.0.2,smarthost.example.com,;250 2.0.0OK,"
        "Intra-Organization SMTP Send Connector,SMTP,SEND,29519319995411,20240107001234.567E6224C8@monitor.example.com,"
        "0b7099ea,uwe@example.com,250 2.1.5Recipient OK,38663,1,,,ein Titel,support@example.com,support@example.com,"
        "x,Originating,,,,S:E2ELatency=1.928,Email,a7ae9ef9,15.01.2507.035\n"
    )
    (ev,), ctx = _parse(b"\n" + row.encode())
    assert ev.direction is Direction.OUT and ev.server == "exchange"
    assert (ev.peer_host, ev.peer_ip) == ("smarthost.example.com", "192.168.0.2")
    assert ev.message_id == "20240107001234.567E6224C8@monitor.example.com" and ev.subject == "ein Titel"
    assert ctx.issues == []


def test_bad_rows_are_issues() -> None:
    data = HEADER_2013 + "not,a,row\n" + "garbage" + ",x" * 26 + "\n"
    events, ctx = _parse(data.encode())
    assert events == []
    assert [i.code for i in ctx.issues] == ["bad-row-width", "bad-time"]
    _, ctx2 = _parse(b"2017-05-22T17:33:35.632Z,a,b\n")
    assert [i.code for i in ctx2.issues] == ["bad-row-width"]


def test_sniff() -> None:
    p = ExchangeTrackingParser()
    assert p.sniff(b"\xef\xbb\xbf" + HEADER_2013.encode(), "MSGTRK1.LOG") == 95
    assert p.sniff(b"2017-05-22T17:33:35.632Z" + b",x" * 29 + b"\n", "x.log") == 75
    assert p.sniff(b"2017-05-22 17:33:35 1cmsXD-003mi8-Iw Completed\n", "mainlog") == 0
