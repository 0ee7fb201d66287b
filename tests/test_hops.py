"""Received-chain analysis: oldest-first order, delays, clock skew, the repeating part, hop headroom."""

from __future__ import annotations

from imsdiag.graph import chain_cycle
from imsdiag.hops import Q178436_NOTE, analyse_chain, headroom, mta_class
from imsdiag.models import Hop
from imsdiag.parsers.received import parse_received

# A ping-pong between an IMS and a Sendmail relay, written newest first as in a message.
PING_PONG = [
    "from imc1.company.com ([10.0.0.1]) by relay.company.com (8.9.3/8.9.3) with ESMTP id KAA01236 "
    "for <user2@company.com>; Wed, 7 Feb 2001 17:03:20 -0500",
    "from relay.company.com ([10.0.0.9]) by imc1.company.com with SMTP (Microsoft Exchange Internet Mail "
    "Service Version 5.5.1960.3) id D2VQ1AB3; Wed, 7 Feb 2001 17:02:50 -0500",
    "from imc1.company.com ([10.0.0.1]) by relay.company.com (8.9.3/8.9.3) with ESMTP id KAA01234 "
    "for <user2@company.com>; Wed, 7 Feb 2001 17:01:20 -0500",
    "from relay.company.com ([10.0.0.9]) by imc1.company.com with SMTP (Microsoft Exchange Internet Mail "
    "Service Version 5.5.1960.3) id D2VQ1AB2; Wed, 7 Feb 2001 17:01:18 -0500",
    "from client.company.com ([10.0.0.50]) by relay.company.com (8.9.3/8.9.3) with ESMTP id KAA01200; "
    "Wed, 7 Feb 2001 17:01:00 -0500",
]


def chain(lines: list[str]) -> list[Hop]:
    return [parse_received(v) for v in lines]


def test_rows_are_oldest_first_with_delays_and_shares() -> None:
    a = analyse_chain(chain(PING_PONG))
    assert [r.number for r in a.rows] == [1, 2, 3, 4, 5]
    assert [r.hop.id for r in a.rows] == ["KAA01200", "D2VQ1AB2", "KAA01234", "D2VQ1AB3", "KAA01236"]
    assert [r.delay_seconds for r in a.rows] == [None, 18.0, 2.0, 90.0, 30.0]
    assert a.total_seconds == 140.0
    assert a.rows[3].share == 90.0 / 140.0
    assert a.rows[0].share is None
    assert a.rows[1].software == "Microsoft Exchange Internet Mail Service 5.5.1960.3"
    assert a.rows[0].software == "8.9.3/8.9.3"
    assert a.skewed == 0


def test_negative_delay_is_flagged_as_clock_skew_not_hidden() -> None:
    hops = chain(
        [
            "from a.example by b.example with SMTP id 2; Tue, 3 Mar 2020 10:00:00 +0000",
            "from client by a.example with SMTP id 1; Tue, 3 Mar 2020 10:05:00 +0000",
        ]
    )
    a = analyse_chain(hops)
    assert a.rows[1].delay_seconds == -300.0
    assert a.rows[1].skew is True
    assert a.rows[1].share is None
    assert a.skewed == 1
    assert a.total_seconds == -300.0


def test_repeating_part_found_with_rows_and_edges() -> None:
    a = analyse_chain(chain(PING_PONG))
    assert a.cycle is not None
    assert a.cycle.hosts == ("relay.company.com", "imc1.company.com")
    assert a.cycle.passes == 2  # relay -> imc1 -> relay twice: the round trips, as the detector counts them
    assert a.cycle.closed
    assert a.cycle.rows == (1, 2, 3, 4)  # hop 1 (client -> relay) is how the message entered, not the ring
    assert a.cycle.repeat_rows == (2, 3, 4)  # from hop 3, which brings it back to relay
    assert ("imc1.company.com", "relay.company.com", 2) in a.edges
    assert ("relay.company.com", "imc1.company.com", 2) in a.edges
    assert [r.in_cycle for r in a.rows] == [False, True, True, True, True]
    assert a.hops_per_pass == 2


def test_local_rehop_on_one_host_is_not_a_cycle() -> None:
    # A content filter re-injects on the same host: two consecutive hops by mx are one visit.
    hops = chain(
        [
            "from localhost (localhost [127.0.0.1]) by mx.example.net (Postfix) with ESMTP id B2; "
            "Tue, 3 Mar 2020 10:00:09 +0000",
            "from mail.example.com (mail.example.com [192.0.2.1]) by mx.example.net (Postfix) with ESMTP id A1; "
            "Tue, 3 Mar 2020 10:00:05 +0000",
        ]
    )
    assert chain_cycle(list(reversed(hops))) is None
    assert analyse_chain(hops).cycle is None


def test_defective_hop_is_kept_with_raw_text() -> None:
    hops = [Hop(raw="by mx.example.net (garbled", by_host="mx.example.net", defects=("no-date",))]
    a = analyse_chain(hops)
    assert a.defects == 1
    assert a.rows[0].hop.raw == "by mx.example.net (garbled"
    assert a.rows[0].delay_seconds is None


def test_headroom_numbers_per_mta() -> None:
    rows = headroom(5)
    assert [(r.mta, r.limit, r.remaining) for r in rows] == [
        ("Sendmail", 25, 20),
        ("Exim", 30, 25),
        ("Exchange 2007+", 30, 25),
        ("Postfix", 50, 45),
        ("RFC 5321", 100, 95),
    ]
    assert "8" in rows[2].note  # MaxLocalHopCount
    passes = headroom(5, hops_per_pass=2)
    assert [r.remaining_passes for r in passes] == [10, 12, 12, 22, 47]
    assert headroom(40)[0].remaining == 0


def test_headroom_marks_the_mtas_on_the_path() -> None:
    a = analyse_chain(chain(PING_PONG))
    from imsdiag.hops import chain_headroom

    rows = {r.mta: r for r in chain_headroom(a)}
    assert rows["Sendmail"].on_path is True
    assert rows["Sendmail"].remaining == 20
    assert rows["Sendmail"].remaining_passes == 10
    assert rows["Postfix"].on_path is False
    assert "new delivery receipt" in Q178436_NOTE


def test_mta_class_from_software() -> None:
    assert mta_class("Postfix") == "Postfix"
    assert mta_class("Exim 4.92") == "Exim"
    assert mta_class("8.14.4/8.14.4") == "Sendmail"
    assert mta_class("Microsoft SMTP Server (version=TLS1_2) id 15.1.2507.6") == "Exchange 2007+"
    assert mta_class("Microsoft Exchange Internet Mail Service 5.5.1960.3") is None
    assert mta_class(None) is None
