"""Received-header parser: every edge case of prior-art §4.1 and the IMS forms of ims-reference §5."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from imsdiag.models import Location
from imsdiag.parsers.received import build_from_text, parse_received


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


CASES: list[tuple[str, dict[str, object]]] = [
    (
        "by filter0383p1iad2.sendgrid.net with SMTP id filter0383p1iad2-15318-5AB8F728-C\n"
        " 2018-03-26 13:35:36.270951634 +0000 UTC",
        {"by_host": "filter0383p1iad2.sendgrid.net", "with_proto": "SMTP", "id": "filter0383p1iad2-15318-5AB8F728-C",
         "date": utc(2018, 3, 26, 13, 35, 36, 270951), "from_host": None, "defects": ()},
    ),
    (
        "from smtp.github.com (out-8.smtp.github.com [192.30.252.199])\n"
        " by ismtpd0003p1iad2.sendgrid.net (SG) with ESMTP id gDQRSEGgSqCsi9tFtF1Vtg\n"
        " Mon, 26 Mar 2018 13:35:36.102 +0000 (UTC)",
        {"from_host": "smtp.github.com", "from_helo": "out-8.smtp.github.com", "from_ip": "192.30.252.199",
         "by_host": "ismtpd0003p1iad2.sendgrid.net", "software": "SG", "with_proto": "ESMTP",
         "id": "gDQRSEGgSqCsi9tFtF1Vtg", "date": utc(2018, 3, 26, 13, 35, 36, 102000)},
    ),
    (
        "by example.com (Postfix, from userid 1001)\n id 1234ABCD; Thu, 21 Aug 2014 12:12:48 +0200 (CEST)",
        {"by_host": "example.com", "software": "Postfix", "id": "1234ABCD", "from_host": None,
         "date": utc(2014, 8, 21, 10, 12, 48), "date_text": "Thu, 21 Aug 2014 12:12:48 +0200"},
    ),
    (
        "(qmail 10876 invoked from network); 24 Aug 2014 16:13:38 -0000",
        {"from_host": None, "by_host": None, "date": utc(2014, 8, 24, 16, 13, 38), "defects": ("no-by",)},
    ),
    (
        "from BN3NAM04FT003.eop-NAM04.prod.protection.outlook.com\n (10.152.92.53) by "
        "BN3NAM04HT205.eop-NAM04.prod.protection.outlook.com\n (10.152.93.134) with Microsoft SMTP Server "
        "(version=TLS1_2,\n cipher=TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384_P384) id 15.20.696.11; Sat, 21\n"
        " Apr 2018 03:01:32 +0000",
        {"from_host": "BN3NAM04FT003.eop-NAM04.prod.protection.outlook.com", "from_ip": "10.152.92.53",
         "by_host": "BN3NAM04HT205.eop-NAM04.prod.protection.outlook.com", "software": None,
         "with_proto": "Microsoft SMTP Server", "id": "15.20.696.11", "date": utc(2018, 4, 21, 3, 1, 32)},
    ),
    (
        "From BN3NAM04HT205.eop-NAM04.prod.protection.outlook.com\n (2a01:111:e400:c418::34) By "
        "SN1PR16MB0494.namprd16.prod.outlook.com With\n HTTPS Via SN1PR15CA0024.NAMPRD15.PROD.OUTLOOK.COM; "
        "Sat, 21 Apr 2018 03:01:33\n +0000",
        {"from_ip": "2a01:111:e400:c418::34", "by_host": "SN1PR16MB0494.namprd16.prod.outlook.com",
         "with_proto": "HTTPS", "via": "SN1PR15CA0024.NAMPRD15.PROD.OUTLOOK.COM", "date": utc(2018, 4, 21, 3, 1, 33)},
    ),
    (
        "from localhost (10.0.22.21) by vmta6.response.nfcu.org (PowerMTA(TM) v3.5r17) id hrakoo0lrlgv "
        "for <sgriffin@outlook.com>; Fri, 20 Apr 2018 17:51:19 -0400 "
        "(envelope-from <abuse_281D5450C2D61412E888B78BD84CCB3D2E80DB1641131EAF@response.nfcu.org>)",
        {"from_host": "localhost", "from_ip": "10.0.22.21", "software": "PowerMTA(TM) v3.5r17",
         "id": "hrakoo0lrlgv", "for_addr": "sgriffin@outlook.com", "date": utc(2018, 4, 20, 21, 51, 19),
         "date_text": "Fri, 20 Apr 2018 17:51:19 -0400", "defects": ()},
    ),
    ("Sun, 22 Apr 2018 02:54:19\n +0000", {"date": utc(2018, 4, 22, 2, 54, 19), "defects": ("no-by",)}),
    ("22 Apr 2018", {"date": None, "date_text": "22 Apr 2018", "defects": ("date-without-zone", "no-by")}),
    ("; 22 Apr 2018", {"date": None, "defects": ("date-without-zone", "no-by")}),
    (";", {"date": None, "date_text": None, "defects": ("no-date", "no-by")}),
    (
        "by me by you with this with that with whatever\n 2018-03-26 13:35:36.270951634 +0000 UTC",
        {"by_host": "me", "with_proto": "this", "date": utc(2018, 3, 26, 13, 35, 36, 270951),
         "defects": ("duplicate-clause",)},
    ),
    (
        "from localhost\n\tby smtp.notes.na.collabserv.com with smtp.notes.na.collabserv.com ESMTP\n"
        "\tfor <lina.vailati@dududu.it> from <nicoletta_bernasconi@it.ibm.com>;\n\tWed, 8 Mar 2017 16:46:15 -0000",
        {"from_host": "localhost", "by_host": "smtp.notes.na.collabserv.com", "for_addr": "lina.vailati@dududu.it",
         "date": utc(2017, 3, 8, 16, 46, 15), "defects": ("duplicate-clause",)},
    ),
    (
        "from tango.tkos.co.il (tango.tkos.co.il [62.219.50.35])by mx.google.com with ESMTP id "
        "8si5141689fxm.107.2009.03.01.10.19.34;Sun, 01 Mar 2009 10:19:35 -0800 (PST)",
        {"from_host": "tango.tkos.co.il", "from_ip": "62.219.50.35", "by_host": "mx.google.com",
         "id": "8si5141689fxm.107.2009.03.01.10.19.34", "date": utc(2009, 3, 1, 18, 19, 35)},
    ),
    (
        "from [192.168.1.186] ([206.248.139.39]) by mx.google.com with ESMTPSA id "
        "m10sm4741360qae.12.2013.08.06.07.40.15 for <multiple recipients> (version=TLSv1 cipher=RC4-SHA "
        "bits=128/128); Tue, 06 Aug 2013 07:40:18 -0700 (PDT)",
        {"from_host": "192.168.1.186", "from_ip": "206.248.139.39", "for_addr": None, "with_proto": "ESMTPSA",
         "date": utc(2013, 8, 6, 14, 40, 18), "defects": ()},
    ),
    (
        "from web.live.com ([124.236.173.16] helo=mail.live.com)",
        {"from_host": "web.live.com", "from_helo": "mail.live.com", "from_ip": "124.236.173.16",
         "defects": ("no-date", "no-by")},
    ),
    (
        "from web.live.com (helo=mail.live.com [124.236.173.16])",
        {"from_host": "web.live.com", "from_helo": "mail.live.com", "from_ip": "124.236.173.16"},
    ),
    (
        "from my.mail.host (my.mail.host [193.193.193.193])\n"
        "\t(using TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits)\n"
        "\t key-exchange X25519 server-signature RSA-PSS (2048 bits) server-digest SHA256)\n"
        "\t(No client certificate requested)\n\t(Authenticated sender: postmaster@my.mail.host)\n"
        "\tby my.mail.host (Postfix) with ESMTPSA id 1F2D84BE6E0E\n"
        "\tfor <postmaster@my.mail.host>; Tue, 14 Jan 2020 15:48:06 +0700 (+07)",
        {"from_ip": "193.193.193.193", "by_host": "my.mail.host", "software": "Postfix", "with_proto": "ESMTPSA",
         "id": "1F2D84BE6E0E", "for_addr": "postmaster@my.mail.host", "date": utc(2020, 1, 14, 8, 48, 6)},
    ),
    (
        "from x by y with ESMTP id de-mta-63-foo-1; Fri,\n 12 Dec 2025 16:29:29 +0000",
        {"id": "de-mta-63-foo-1", "date": utc(2025, 12, 12, 16, 29, 29)},
    ),
    ("from a by b with esmtp id 1nqqB6-000B8x-By for <x@y>; Fri, 12 Dec 2025 16:29:29 +0000",
     {"by_host": "b", "id": "1nqqB6-000B8x-By", "for_addr": "x@y"}),
    ("from a by b id X; for <r@x>; Fri, 12 Dec 2025 16:29:29 +0000",
     {"id": "X", "for_addr": "r@x", "date": utc(2025, 12, 12, 16, 29, 29)}),
    ("from a by b (version=TLSv1/SSLv3 cipher=AES128-GCM-SHA256 bits=128/128) Wed, 10 Dec 2025 16:29:29 +0000",
     {"software": None, "date": utc(2025, 12, 10, 16, 29, 29)}),
    ("from a by b; Wed, 10 Dec 2025 16:29:29 +0200 (Mitteleurop\ufffdische Sommerzeit)",
     {"date": utc(2025, 12, 10, 14, 29, 29), "defects": ()}),
    ("from a by b; Wed, 99 Foo 2025 99:99:99 +0200", {"date": None, "defects": ("bad-date",)}),
    ("from a (b by c; Wed, 10 Dec 2025 16:29:29 +0200",
     {"from_host": "a", "defects": ("unclosed-comment", "no-date", "no-by")}),
    # ims-reference §5, verbatim IMS/IMC forms
    (
        "from testserver.microsoft.com ([1.1.1.1]) by VHAISHEXC1 with SMTP (Microsoft Exchange Internet Mail "
        "Service Version 5.5.1960.3) id ND9X2LS1; Wed, 17 Jun 1998 16:41:18 -0500",
        {"from_host": "testserver.microsoft.com", "from_ip": "1.1.1.1", "by_host": "VHAISHEXC1", "with_proto": "SMTP",
         "software": "Microsoft Exchange Internet Mail Service 5.5.1960.3", "build": "5.5.1960.3", "id": "ND9X2LS1",
         "date": utc(1998, 6, 17, 21, 41, 18)},
    ),
    (
        "by servertc2.europe.corp.microsoft.com with Internet Mail Service (5.5.2653.19) id <GXM396ZL>; "
        "Thu, 14 Mar 2002 16:35:44 +0100",
        {"by_host": "servertc2.europe.corp.microsoft.com", "with_proto": "Internet Mail Service",
         "software": "Microsoft Exchange Internet Mail Service 5.5.2653.19", "build": "5.5.2653.19", "id": "GXM396ZL",
         "date": utc(2002, 3, 14, 15, 35, 44)},
    ),
    (
        "by router.domain.com with Microsoft Exchange (IMC 4.0.838.14) id <01BB6402.55C69350@ router.domain.com>; "
        "Thu, 27 Jun 1996 15:27:37 -0400",
        {"by_host": "router.domain.com", "build": "4.0.838.14", "id": "01BB6402.55C69350@router.domain.com",
         "software": "Microsoft Exchange Internet Mail Connector 4.0.838.14"},
    ),
    (
        "from test.dns.microsoft.com by Rayden.Microsoft.Com with SMTP (Microsoft\r\nExchange Internet Mail "
        "Service Version 5.0.1458.49)\r\nid WKA6D6YM; Wed, 5 Nov 1997 14:51:27 -0500",
        {"from_host": "test.dns.microsoft.com", "by_host": "Rayden.Microsoft.Com", "build": "5.0.1458.49",
         "id": "WKA6D6YM", "date": utc(1997, 11, 5, 19, 51, 27)},
    ),
]  # fmt: skip


@pytest.mark.parametrize(("value", "expected"), CASES)
def test_received_fields(value: str, expected: dict[str, object]) -> None:
    hop = parse_received(value)
    for name, want in expected.items():
        assert getattr(hop, name) == want, name
    assert "\n" not in hop.raw and hop.raw.replace(" ", "") == value.replace("\r", "").replace("\n", "").replace(
        " ", ""
    )


def test_location_is_kept() -> None:
    loc = Location("a.eml", 7)
    assert parse_received("from a by b; Wed, 10 Dec 2025 16:29:29 +0200", loc).location == loc


@pytest.mark.parametrize(
    ("text", "defect"),
    [("(" * 1_000_000, "unclosed-comment"), ("<" * 1_000_000, "unclosed-angle"), ("[" * 1_000_000, "unclosed-literal")],
)
def test_hostile_input_does_not_raise(text: str, defect: str) -> None:
    hop = parse_received(text)
    assert defect in hop.defects
    assert len(hop.raw) == 1_000_000


def test_repeated_keywords() -> None:
    hop = parse_received("by " * 300_000)
    assert hop.by_host is None and "duplicate-clause" in hop.defects and "no-date" in hop.defects


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("220 x ESMTP Server (Microsoft Exchange Internet Mail Service 5.5.2232.0) Ready.",
         ("Microsoft Exchange Internet Mail Service", "5.5.2232.0")),
        ("Internet Mail Service (5.5.2653.19)", ("Microsoft Exchange Internet Mail Service", "5.5.2653.19")),
        ("Internet Mail Service Version 5.5.1960.3", ("Microsoft Exchange Internet Mail Service", "5.5.1960.3")),
        ("Microsoft Exchange (IMC 4.0.838.14)", ("Microsoft Exchange Internet Mail Connector", "4.0.838.14")),
        ("Microsoft Exchange Server Internet Mail Connector Version 4.0.838.14",
         ("Microsoft Exchange Internet Mail Connector", "4.0.838.14")),
        ("Postfix", (None, None)),
        (None, (None, None)),
    ],
)  # fmt: skip
def test_build_from_text(text: str | None, expected: tuple[str | None, str | None]) -> None:
    assert build_from_text(text) == expected
