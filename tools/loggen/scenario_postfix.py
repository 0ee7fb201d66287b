"""Scenario 3: a Postfix alias forwarding loop between mx1.example.org and mx2.example.net."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from . import eml
from .common import CRLF, LF, Ids, Sink, at, fmt_rfc822, write_text
from .postfix import PostfixHost

NAME = "postfix-forwarding-loop"
SEED = 5406
DAY = datetime(2024, 5, 6)
ZONE = "+0200"
MX1 = ("mx1.example.org", "192.0.2.10")
MX2 = ("mx2.example.net", "198.51.100.20")
SENDER_HOST = ("smtp.remote.test", "203.0.113.5")
PEERS = (("mail.isp.test", "203.0.113.77"), ("out.shop.test", "203.0.113.91"), ("mx.partner.test", "203.0.113.120"))
USERS = ("bob", "carol", "dave", "erin", "frank", "grace")


@dataclass
class PfSite:
    """One Postfix host writing one syslog file."""

    host: PostfixHost
    ip: str
    domain: str
    sink: Sink
    ids: Ids
    rng: random.Random


def make_host(name: str, ip: str, path: Path, ids: Ids, rng: random.Random) -> PfSite:
    pids = {d: ids.pid() for d in ("smtpd", "cleanup", "qmgr", "smtp", "local", "bounce", "pickup")}
    return PfSite(PostfixHost(name, pids), ip, name.split(".", 1)[1], Sink(path), ids, rng)


def inbound(pf: PfSite, t: datetime) -> None:
    """An ordinary message from the Internet delivered to a local mailbox."""
    rng, h = pf.rng, pf.host
    peer, ip = rng.choice(PEERS)
    client = f"{peer}[{ip}]"
    qid = pf.ids.postfix_qid()
    size = rng.randrange(1500, 40000)
    rcpt = f"{rng.choice(USERS)}@{pf.domain}"
    sender = f"{rng.choice(USERS)}@{peer.split('.', 1)[1]}"
    d = rng.randrange(1, 30) / 100
    pf.sink.add(
        t,
        [
            h.connect(t, client),
            h.client(t, qid, client),
            h.cleanup(t, qid, pf.ids.plain_msgid(peer)),
            h.qmgr_from(t, qid, sender, size),
            h.delivery(at(t, 1), "local", qid, rcpt, "local", d + 0.4, "2.0.0", "sent (delivered to mailbox)"),
            h.removed(at(t, 1), qid),
            h.disconnect(at(t, 1), client),
        ],
    )


def outbound(pf: PfSite, t: datetime) -> None:
    """A local user's message relayed to the Internet."""
    rng, h = pf.rng, pf.host
    peer, ip = rng.choice(PEERS)
    qid = pf.ids.postfix_qid()
    size = rng.randrange(800, 20000)
    sender = f"{rng.choice(USERS)}@{pf.domain}"
    rcpt = f"{rng.choice(USERS)}@{peer.split('.', 1)[1]}"
    reply = f"sent (250 2.0.0 Ok: queued as {pf.ids.postfix_qid()})"
    pf.sink.add(
        t,
        [
            h.pickup(t, qid, 1000 + rng.randrange(20), sender.split("@")[0]),
            h.cleanup(t, qid, pf.ids.plain_msgid(pf.host.host)),
            h.qmgr_from(t, qid, sender, size),
            h.delivery(at(t, 1), "smtp", qid, rcpt, f"{peer}[{ip}]:25", 0.8, "2.0.0", reply),
            h.removed(at(t, 1), qid),
        ],
    )


def forward_leg(
    src: PfSite, dst: tuple[str, str], t: datetime, qid: str, rcpt: str, target: str, sender: str, size: int, msgid: str
) -> str:
    """`src` delivers `rcpt` locally through an alias: `forwarded as NEWQID`, then smtp to `dst`."""
    h = src.host
    new = src.ids.postfix_qid()
    remote_q = src.ids.postfix_qid()
    dst_relay = f"{dst[0]}[{dst[1]}]:25"
    src.sink.add(
        t,
        [
            h.delivery(t, "local", qid, rcpt, "local", 0.05, "2.0.0", f"sent (forwarded as {new})"),
            h.cleanup(t, new, msgid),
            h.qmgr_from(t, new, sender, size),
            h.removed(t, qid),
            h.delivery(
                at(t, 1),
                "smtp",
                new,
                target,
                dst_relay,
                0.9,
                "2.0.0",
                f"sent (250 2.0.0 Ok: queued as {remote_q})",
                rcpt,
            ),
            h.removed(at(t, 1), new),
        ],
    )
    return remote_q


def receive(
    pf: PfSite, t: datetime, qid: str, client_host: str, client_ip: str, sender: str, size: int, msgid: str
) -> None:
    h = pf.host
    client = f"{client_host}[{client_ip}]"
    pf.sink.add(
        t,
        [
            h.connect(t, client),
            h.client(t, qid, client),
            h.cleanup(t, qid, msgid),
            h.qmgr_from(t, qid, sender, size),
            h.disconnect(t, client),
        ],
    )


def loop(mx1: PfSite, mx2: PfSite | None, t0: datetime, sender: str = "bob@remote.test") -> tuple[list[str], datetime]:
    """alice@example.org -> alice@example.net -> alice@example.org: mx1 bounces at the first repeat.

    `mx2` None writes only mx1's side (bench mode has one Postfix log). Returns the bounce queue id
    queue ids (first, at mx2, looped back, bounce) and the time of the bounce.
    """
    size = 2843
    msgid = mx1.ids.plain_msgid("remote.test")
    q1 = mx1.ids.postfix_qid()
    receive(mx1, t0, q1, *SENDER_HOST, sender, size, msgid)
    r1 = forward_leg(mx1, MX2, at(t0, 1), q1, "alice@example.org", "alice@example.net", sender, size + 40, msgid)
    t2 = at(t0, 3)
    q3 = mx1.ids.postfix_qid()
    if mx2 is not None:
        receive(mx2, t2, r1, MX1[0], MX1[1], sender, size + 420, msgid)
        q3 = forward_leg(mx2, MX1, at(t2, 1), r1, "alice@example.net", "alice@example.org", sender, size + 460, msgid)
    t3 = at(t0, 6)
    receive(mx1, t3, q3, MX2[0], MX2[1], sender, size + 860, msgid)
    h = mx1.host
    q4 = mx1.ids.postfix_qid()
    t4 = at(t3, 1)
    mx1.sink.add(
        t4,
        [
            h.delivery(
                t4,
                "local",
                q3,
                "alice@example.org",
                "local",
                0.07,
                "5.4.6",
                "bounced (mail forwarding loop for alice@example.org)",
            ),
            h.cleanup(t4, q4, mx1.ids.plain_msgid(MX1[0])),
            h.bounce_notice(t4, q3, q4),
            h.qmgr_from(t4, q4, "", 5210),
            h.removed(t4, q3),
            h.delivery(
                at(t4, 1),
                "smtp",
                q4,
                sender,
                f"{SENDER_HOST[0]}[{SENDER_HOST[1]}]:25",
                1.1,
                "2.0.0",
                "sent (250 2.0.0 Ok: queued as 4VtQ1k2Zz3z)",
            ),
            h.removed(at(t4, 1), q4),
        ],
    )
    return [q1, r1, q3, q4], t4


def generate(out: Path) -> None:
    """Write both hosts' logs, the bounce .eml and README under `out/NAME`."""
    root = out / NAME
    rng = random.Random(SEED)
    ids = Ids(rng)
    mx1 = make_host(*MX1, root / MX1[0] / "mail.log", ids, rng)
    mx2 = make_host(*MX2, root / MX2[0] / "mail.log", ids, rng)
    for pf in (mx1, mx2):
        for _ in range(70):
            t = at(DAY.replace(hour=6), rng.randrange(14 * 3600))
            (inbound if rng.random() < 0.6 else outbound)(pf, t)
    t0 = DAY.replace(hour=10, minute=14, second=7)
    qids, t4 = loop(mx1, mx2, t0)
    mx1.sink.flush()
    mx2.sink.flush()
    write_text(root / "bounce-alice.eml", bounce_eml(t0, t4, qids), CRLF)
    write_text(root / "README.md", README.format(t0=t0, t4=t4, q4=qids[3]))


def bounce_eml(t0: datetime, t4: datetime, qids: list[str]) -> str:
    """The non-delivery notification mx1 sent to bob, with the returned original."""
    d = lambda s: fmt_rfc822(at(t0, s), ZONE)  # noqa: E731 - a tiny local formatter reads best here
    original = LF.join(
        [
            "Return-Path: <bob@remote.test>",
            "Received: from mx2.example.net (mx2.example.net [198.51.100.20])",
            f"\tby mx1.example.org (Postfix) with ESMTP id {qids[2]}\n\tfor <alice@example.org>; {d(6)}",
            "Delivered-To: alice@example.net",
            "Received: from mx1.example.org (mx1.example.org [192.0.2.10])",
            f"\tby mx2.example.net (Postfix) with ESMTP id {qids[1]}\n\tfor <alice@example.net>; {d(3)}",
            "Delivered-To: alice@example.org",
            "Received: from smtp.remote.test (smtp.remote.test [203.0.113.5])",
            f"\tby mx1.example.org (Postfix) with ESMTP id {qids[0]}\n\tfor <alice@example.org>; {d(0)}",
            "Received: by smtp.remote.test (Postfix, from userid 1001)",
            f"\tid 0A1B2C3D4E; {d(-2)}",
            "From: Bob <bob@remote.test>",
            "To: Alice <alice@example.org>",
            "Subject: Minutes of the board meeting",
            f"Date: {d(-3)}",
            "Message-ID: <20240506081404.0A1B2C3D4E@smtp.remote.test>",
            "",
            "Hi Alice, the minutes are attached.",
        ]
    )
    bounce = eml.Bounce(
        reporting_mta="mx1.example.org",
        from_addr="MAILER-DAEMON@mx1.example.org (Mail Delivery System)",
        to_addr="bob@remote.test",
        subject="Undelivered Mail Returned to Sender",
        date=fmt_rfc822(t4, ZONE),
        message_id=f"<20240506{t4:%H%M%S}.{qids[3]}@mx1.example.org>",
        boundary=f"{qids[3]}.1714983254/mx1.example.org",
        human_text="This is the mail system at host mx1.example.org."
        + LF
        + LF
        + "I'm sorry to have to inform you that your message could not"
        + LF
        + "be delivered to one or more recipients."
        + LF
        + LF
        + "<alice@example.org>: mail forwarding loop for alice@example.org",
        final_recipient="alice@example.org",
        original_recipient="alice@example.org",
        status="5.4.6",
        diagnostic="X-Postfix; mail forwarding loop for alice@example.org",
        arrival_date=fmt_rfc822(t0, ZONE),
        returned=original,
    )
    return eml.render(bounce)


README = """# postfix-forwarding-loop: an alias loop between two Postfix servers

Generated by `python -m tools.loggen samples`; do not edit by hand.

## Servers and files
| Server | Role | File |
|---|---|---|
| `mx1.example.org` 192.0.2.10 | Postfix; `/etc/aliases`: `alice: alice@example.net` | `mx1.example.org/mail.log` |
| `mx2.example.net` 198.51.100.20 | Postfix; `/etc/aliases`: `alice: alice@example.org` | `mx2.example.net/mail.log` |
| | the bounce mx1 sent to the sender | `bounce-alice.eml` |

Times are local (+0200), 6 May 2024, BSD syslog stamps.

## What happens
At {t0:%H:%M:%S} bob@remote.test writes to alice@example.org. mx1 expands the alias (`status=sent
(forwarded as NEWQID)`, adds `Delivered-To: alice@example.org`) and relays to mx2
(`relay=mx2.example.net[198.51.100.20]:25`); mx2 expands its alias the same way (`forwarded as`, adds
`Delivered-To: alice@example.net`) and relays back to mx1. mx1's local delivery agent finds
alice@example.org already in a `Delivered-To:` header and bounces at {t4:%H:%M:%S}: `dsn=5.4.6,
status=bounced (mail forwarding loop for alice@example.org)`, then `sender non-delivery notification: {q4}`.
Postfix stops such a loop at the first repeat, so there is one round trip (mx1 -> mx2 -> mx1: two
forwards). The returned original in `bounce-alice.eml` carries a Received chain that alternates
mx1, mx2, mx1 and two `Delivered-To:` lines.

Background: about 140 ordinary messages in and out on both hosts.

## What `imsdiag scan` must find
One forwarding-loop finding:
- hosts: `mx1.example.org` <-> `mx2.example.net`
- address: `alice@example.org` (alias of `alice@example.net`, which points back)
- passes: 1 round trip (2 forwards), stopped by Postfix's Delivered-To check (explicit evidence: dsn 5.4.6,
  `mail forwarding loop for alice@example.org`)
- first seen: 2024-05-06 {t0:%H:%M:%S} +0200; last seen: 2024-05-06 {t4:%H:%M:%S} +0200
- cause: alias/forwarding loop (each server forwards the address to the other).
"""
