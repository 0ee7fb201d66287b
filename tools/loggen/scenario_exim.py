"""Scenario 4: two Exim hosts route bob@example.com to each other until the Received limit (30) stops it."""

from __future__ import annotations

import random
from datetime import datetime
from pathlib import Path

from . import eml, exim
from .common import CRLF, LF, Ids, Sink, at, fmt_rfc822, write_text

NAME = "exim-hop-limit"
SEED = 30
DAY = datetime(2024, 6, 3)
ZONE = "+0000"
A = ("a.example.com", "192.0.2.31")
B = ("b.example.com", "192.0.2.32")
ORIGIN = ("mail.c.example.net", "203.0.113.40")
SENDER = "carol@c.example.net"
RCPT = "bob@example.com"
LIMIT = 30
PEERS = (("mx.isp.test", "203.0.113.7"), ("mail.vendor.test", "203.0.113.8"), ("smtp.club.test", "203.0.113.9"))
USERS = ("ann", "ben", "cat", "dan", "eve")


def background(sink: Sink, host: str, ids: Ids, rng: random.Random, t: datetime) -> None:
    """One ordinary message: in from the Internet to a local user, or out from a local user."""
    peer, ip = rng.choice(PEERS)
    mid = ids.exim_id(t)
    size = rng.randrange(1200, 30000)
    domain = host.split(".", 1)[1]
    if rng.random() < 0.5:
        sender = f"{rng.choice(USERS)}@{peer.split('.', 1)[1]}"
        rcpt = f"{rng.choice(USERS)}@{domain}"
        lines = [
            exim.arrival(t, mid, sender, peer, ip, size, ids.plain_msgid(peer)),
            exim.local_delivery(at(t, 1), mid, rcpt, "local_user", "mail_spool"),
        ]
    else:
        sender = f"{rng.choice(USERS)}@{domain}"
        rcpt = f"{rng.choice(USERS)}@{peer.split('.', 1)[1]}"
        lines = [
            exim.arrival(t, mid, sender, "localhost", "127.0.0.1", size, ids.plain_msgid(host)),
            exim.delivery(at(t, 1), mid, rcpt, "dnslookup", "remote_smtp", peer, ip, f"250 OK id={ids.exim_id(t)}"),
        ]
    lines.append(exim.completed(at(t, 1), mid))
    sink.add(t, lines)


def loop(sinks: dict[str, Sink], ids: Ids, t0: datetime) -> tuple[list[str], datetime]:
    """Write the ping-pong: arrival k (1..31) is at A when k is odd; A fails the 31st and bounces.

    `sinks` maps host name to its mainlog; a host missing from it is simply not logged (bench mode).
    Returns the Received lines (newest first) of the last copy and the time of the bounce.
    """
    hosts = (A, B)
    received: list[str] = []
    prev = ORIGIN
    t = t0
    size = 3120
    msgid = ids.plain_msgid(ORIGIN[0])
    mid = ids.exim_id(t)
    for k in range(1, LIMIT + 2):
        me, other = hosts[(k - 1) % 2], hosts[k % 2]
        received.insert(
            0,
            f"from {prev[0]} ([{prev[1]}] helo={prev[0]}){LF}\tby {me[0]} with esmtp (Exim 4.96){LF}"
            f"\t(envelope-from <{SENDER}>){LF}\tid {mid}{LF}\tfor {RCPT}; {fmt_rfc822(t, ZONE)}",
        )
        size += 190
        lines = [exim.arrival(t, mid, SENDER, prev[0], prev[1], size, msgid)]
        nxt = ids.exim_id(at(t, 1))
        if k <= LIMIT:
            lines.append(
                exim.delivery(
                    at(t, 1), mid, RCPT, "smarthost_example", "remote_smtp", other[0], other[1], f"250 OK id={nxt}"
                )
            )
            lines.append(exim.completed(at(t, 1), mid))
        else:
            bounce = ids.exim_id(at(t, 1))
            lines += [
                exim.failure(at(t, 1), mid, RCPT, 'Too many "Received" headers - suspected mail loop'),
                exim.bounce_arrival(
                    at(t, 1), bounce, mid, "Debian-exim", 4512, "Mail delivery failed: returning message to sender"
                ),
                exim.delivery(at(t, 1), bounce, SENDER, "dnslookup", "remote_smtp", ORIGIN[0], ORIGIN[1], "250 OK"),
                exim.completed(at(t, 1), bounce),
                exim.completed(at(t, 1), mid),
            ]
        if me[0] in sinks:
            sinks[me[0]].add(t, lines)
        prev, mid = me, nxt
        t = at(t, 1)
    return received, t


def generate(out: Path) -> None:
    """Write both mainlogs, the bounce .eml and README under `out/NAME`."""
    root = out / NAME
    rng = random.Random(SEED)
    ids = Ids(rng)
    sinks = {h[0]: Sink(root / h[0] / "exim4" / "mainlog") for h in (A, B)}
    for name, sink in sinks.items():
        for _ in range(80):
            background(sink, name, ids, rng, at(DAY.replace(hour=7), rng.randrange(12 * 3600)))
    t0 = DAY.replace(hour=14, minute=2, second=11)
    received, t_end = loop(sinks, ids, t0)
    for sink in sinks.values():
        sink.flush()
    write_text(root / "bounce-bob.eml", bounce_eml(received, t0, t_end), CRLF)
    write_text(root / "README.md", README.format(t0=t0, t_end=t_end, n=len(received)))


def bounce_eml(received: list[str], t0: datetime, t_end: datetime) -> str:
    """The bounce a.example.com returned to carol, with the original's headers (31 Received lines)."""
    headers = [f"Received: {r}" for r in received]
    headers += [
        f"From: Carol <{SENDER}>",
        f"To: Bob <{RCPT}>",
        "Subject: Lunch on Friday?",
        f"Date: {fmt_rfc822(at(t0, -5), ZONE)}",
        "Message-ID: <lunch-0603@c.example.net>",
    ]
    bounce = eml.Bounce(
        reporting_mta=A[0],
        from_addr=f"Mail Delivery System <Mailer-Daemon@{A[0]}>",
        to_addr=SENDER,
        subject="Mail delivery failed: returning message to sender",
        date=fmt_rfc822(t_end, ZONE),
        message_id=f"<E1bounce-0603@{A[0]}>",
        boundary="1717423362-eximdsn-1804289383",
        human_text="This message was created automatically by mail delivery software."
        + LF
        + LF
        + "A message that you sent could not be delivered to one or more of its"
        + LF
        + "recipients. This is a permanent error. The following address(es) failed:"
        + LF
        + LF
        + f"  {RCPT}"
        + LF
        + '    Too many "Received" headers - suspected mail loop',
        final_recipient=RCPT,
        original_recipient=RCPT,
        status="5.4.6",
        diagnostic='X-Exim; Too many "Received" headers - suspected mail loop',
        arrival_date=fmt_rfc822(t_end, ZONE),
        returned=LF.join(headers) + LF,
        headers_only=True,
        extra_headers=(("X-Failed-Recipients", RCPT),),
    )
    return eml.render(bounce)


README = """# exim-hop-limit: two Exim hosts bounce a message between them until the Received limit

Generated by `python -m tools.loggen samples`; do not edit by hand.

## Servers and files
| Server | Role | File |
|---|---|---|
| `a.example.com` 192.0.2.31 | Exim 4.96; a manualroute router sends example.com to b | `a.example.com/exim4/mainlog` |
| `b.example.com` 192.0.2.32 | Exim 4.96; a manualroute router sends example.com to a | `b.example.com/exim4/mainlog` |
| | the bounce a sent to the sender (headers of the original) | `bounce-bob.eml` |

Times are UTC, 3 June 2024.

## What happens
At {t0:%H:%M:%S} carol@c.example.net (via mail.c.example.net) writes to bob@example.com. Each host's router
sends the message to the other: `=> bob@example.com R=smarthost_example T=remote_smtp H=b.example.com` on a,
`H=a.example.com` on b, a new message id at every hop. When a receives it the 16th time it carries 31
`Received:` headers (received_headers_max is 30): `** bob@example.com: Too many "Received" headers -
suspected mail loop`, then the bounce `<= <> R=<failed id> U=Debian-exim P=local` is sent back to carol
(finished {t_end:%H:%M:%S}). The returned headers in `bounce-bob.eml` hold {n} Received lines alternating
a.example.com and b.example.com.

Background: about 160 ordinary messages in and out on both hosts.

## What `imsdiag scan` must find
One hop-limit loop finding:
- hosts: `a.example.com` <-> `b.example.com`
- address: `bob@example.com`
- passes: 30 transfers (15 round trips), {n} Received headers
- first seen: 2024-06-03 {t0:%H:%M:%S} UTC; last seen: 2024-06-03 {t_end:%H:%M:%S} UTC
- cause: routing loop (each host routes example.com to the other); explicit evidence: Exim's
  `Too many "Received" headers - suspected mail loop`.
"""
