"""IMS archive/spool files: the ImCr...EwLs envelope, direction from the folder, server from the IMS hop."""

from __future__ import annotations

import io
from datetime import datetime, timezone

from imsdiag.models import Direction, Event, ParseIssue
from imsdiag.parsers.base import ParseContext
from imsdiag.parsers.ims_archive import ImsArchiveParser, direction_from_path, read_envelope

# Shaped after the Q190709 block in ims-reference §2 (binary bytes where the article shows [ASCII n]).
ENVELOPE = (
    b"\xf7\x00\x00\x00ImCr\x00\x00\x00\xa0\xd8MK\xfa\xe9\xbc\x00\x00test.dns.microsoft.com\x00test.dns.microsoft.com\x00"
    b"<user@ms.com>\x00\x00c=US;a= ;p=Microsoft;l=RAYDEN9711051951WKA6D6YM\x00X\x00\x009B\x00\x00h\xd8 h\xd8\x00"
    b"<administrator@charlotte.microsoft.com>\x00\x00DEN> roEwLs"
)
MESSAGE = (
    b"Received: from test.dns.microsoft.com by Rayden.Microsoft.Com with SMTP (Microsoft\r\n"
    b" Exchange Internet Mail Service Version 5.0.1458.49)\r\n id WKA6D6YM; Wed, 5 Nov 1997 14:51:27 -0500\r\n"
    b"Message-ID: <abc@ms.com>\r\nFrom: user@ms.com\r\nTo: administrator@charlotte.microsoft.com\r\n"
    b"Subject: Delivered: test\r\n\r\nYour message was delivered.\r\n"
)


def _parse(data: bytes, path: str, hint: str | None = None) -> tuple[list[Event], list[ParseIssue]]:
    ctx = ParseContext(path=path, server_hint=hint, server_hint_source="path" if hint else None)
    recs = list(ImsArchiveParser().parse(io.BytesIO(data), ctx))
    return [r for r in recs if isinstance(r, Event)], ctx.issues + [r for r in recs if isinstance(r, ParseIssue)]


def test_envelope_and_headers() -> None:
    events, issues = _parse(ENVELOPE + MESSAGE, "EXCH1/Imcdata/In/Archive/WKA6D6YM")
    assert issues == []
    (ev,) = events
    assert ev.source == "ims-archive" and ev.location.line == 1
    assert ev.queue_id == "WKA6D6YM" and ev.direction is Direction.IN
    assert ev.sender == "user@ms.com" and ev.recipients == ("administrator@charlotte.microsoft.com",)
    assert ev.mts_id == "c=US;a= ;p=Microsoft;l=RAYDEN9711051951WKA6D6YM"
    assert ev.peer_host == "test.dns.microsoft.com" and ev.helo == "test.dns.microsoft.com"
    assert ev.server == "rayden.microsoft.com" and ev.server_source == "content"
    assert ev.build == "5.0.1458.49" and ev.software == "Microsoft Exchange Internet Mail Service"
    assert ev.time == datetime(1997, 11, 5, 19, 51, 27, tzinfo=timezone.utc)
    assert ev.message_id == "abc@ms.com" and ev.subject == "Delivered: test"
    assert ev.report_kind.value == "delivery-receipt"


def test_null_sender_envelope() -> None:
    env = read_envelope(b"\x00host.example\x00<>\x00c=US;a= ;p=Org;l=SRV-1\x00<a@b.example>\x00<c@d.example>")
    assert env.sender == "" and env.recipients == ("a@b.example", "c@d.example") and env.peer_host == "host.example"


def test_truncated_envelope_still_reads_headers() -> None:
    data = b"\xf7ImCr\x00\x00junk <user@ms.com" + b"\n" + MESSAGE.replace(b"\r\n", b"\n")
    events, issues = _parse(data, "Imcdata\\Out\\Archive\\J9QXJV0J", hint="imc2")
    assert [i.code for i in issues] == ["bad-envelope"]
    (ev,) = events
    assert ev.direction is Direction.OUT and ev.location.line == 2 and ev.message_id == "abc@ms.com"
    assert ev.sender is None  # no Return-Path, no readable envelope: unknown, not null


def test_plain_archive_copy_without_envelope() -> None:
    data = (
        b"Received: by servertc2.europe.corp.microsoft.com with Internet Mail Service (5.5.2653.19)\n"
        b"\tid <GXM396ZL>; Thu, 14 Mar 2002 16:35:44 +0100\nMessage-ID: <x@y>\nFrom: a@b\nSubject: s\n\nbody\n"
    )
    parser = ImsArchiveParser()
    assert parser.sniff(data, "srv/Imcdata/Out/Archive/GXM396ZL") == 60
    assert parser.sniff(data, "srv/mail/GXM396ZL.eml") == 0
    assert parser.sniff(ENVELOPE + MESSAGE, "whatever") == 95
    events, issues = _parse(data, "srv/Imcdata/Pickup/Archive/GXM396ZL", hint="srv")
    (ev,) = events
    assert issues == [] and ev.direction is Direction.LOCAL
    assert ev.server == "servertc2.europe.corp.microsoft.com" and ev.build == "5.5.2653.19"


def test_garbage_never_raises() -> None:
    for data in (b"", b"ImCr", b"ImCr" + b"\x00\xff" * 40000, b"\x00" * 100):
        events, issues = _parse(data, "In/Archive/AAAAAAAA")
        assert events == [] and issues


def test_direction_from_path() -> None:
    assert direction_from_path("X\\IMCDATA\\IN\\ARCHIVE\\W707852B") is Direction.IN
    assert direction_from_path("x/imcdata/out/W707852B") is Direction.OUT
    assert direction_from_path("x/Pickup/Archive/W707852B") is Direction.LOCAL
    assert direction_from_path("x/other/W707852B") is Direction.UNKNOWN
