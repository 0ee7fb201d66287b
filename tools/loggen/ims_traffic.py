"""Traffic of the Q178436 organisation (IMC1, IMC2, relay): ordinary mail, one-off reports and the DR ring."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from .common import LF, Ids, Message, Sink, at, fmt_rfc822, text_body
from .ims_world import ZONE, Host, ImsServer, SendmailRelay, Sighting

BUILD = "5.5.1960.3"
IMC1 = Host("imc1.company.com", "120.120.120.120", "IMC1", BUILD, "Site1")
IMC2 = Host("imc2.company.com", "121.121.121.121", "IMC2", BUILD, "Site2")
RELAY = Host("relay.company.com", "120.120.120.5")
WWW = Host("www.company.com", "120.120.120.30")
EXTERNAL = (
    Host("mail.partner-a.com", "204.71.200.33"),
    Host("smtp.widgets.net", "207.46.130.14"),
    Host("mx.bigisp.net", "152.163.210.7"),
    Host("mail.lawfirm.org", "198.6.1.65"),
)
IMC1_USERS = ("user1", "user3", "jsmith", "mlopez", "admin")
IMC2_USERS = ("user2", "user4", "kchan")
EXTERNAL_USERS = ("pat", "chris", "sales", "j.doe", "support")
SUBJECTS = (
    "Quarterly figures",
    "Meeting on Thursday",
    "Shipment 4471",
    "Revised schedule",
    "Contract draft",
    "Lunch?",
    "Price list 1999",
    "Server maintenance",
    "Invoice 2231",
    "Project plan",
)


@dataclass
class Site:
    """The three servers and the sinks they write."""

    rng: random.Random
    ids: Ids
    imc1: ImsServer
    imc2: ImsServer
    relay: SendmailRelay
    sinks: list[Sink] = field(default_factory=list)

    def all_sinks(self) -> list[Sink]:
        return [*self.imc1.sinks(), *self.imc2.sinks(), self.relay.sink]

    def flush(self, before: datetime | None = None) -> None:
        for sink in self.all_sinks():
            sink.flush(before)


def make_site(
    root: Path, rng: random.Random, ids: Ids, imc_root: str = "Exchsrvr", archive_cap: int | None = None
) -> Site:
    """IMC1 and IMC2 under `root/imc1/<imc_root>`, the relay's syslog under `root/relay/maillog`."""
    imc1 = ImsServer(IMC1, root / "imc1" / imc_root, ids, rng, archive_cap=archive_cap)
    imc2 = ImsServer(IMC2, root / "imc2" / imc_root, ids, rng, log_files=2, archive_cap=archive_cap)
    relay = SendmailRelay(RELAY, Sink(root / "relay" / "maillog"), ids)
    return Site(rng, ids, imc1, imc2, relay)


def _mail(
    site: Site, t: datetime, sender: str, to: str, subject: str, msgid: str, extra: tuple[tuple[str, str], ...] = ()
) -> Message:
    headers = [
        ("Message-ID", msgid),
        ("From", sender),
        ("To", to),
        ("Subject", subject),
        ("Date", fmt_rfc822(t, ZONE)),
        ("MIME-Version", "1.0"),
        *extra,
        ("Content-Type", 'text/plain; charset="iso-8859-1"'),
    ]
    return Message(headers, text_body(site.rng, site.rng.randrange(1, 4)))


def _ims_mail(
    site: Site, t: datetime, host: Host, sender: str, to: str, subject: str, extra: tuple[tuple[str, str], ...] = ()
) -> Message:
    msg = _mail(site, t, sender, to, subject, site.ids.exchange_msgid(host.name), extra)
    return msg.with_header("X-Mailer", f"Internet Mail Service ({host.build})")


def _pick(rng: random.Random, names: tuple[str, ...], domain: str) -> str:
    return f"{rng.choice(names)}@{domain}"


def via_relay(
    site: Site, t: datetime, msg: Message, sender: str, rcpt: str, to_host: Host, stat: str, **send: object
) -> tuple[Sighting, Message]:
    """IMC1 hands a message to the relay (one session, both logs agree on the queue id)."""
    qid = site.relay.next_qid(at(t, 1))
    out = site.imc1.send(t, RELAY, msg, sender, (rcpt,), f"{qid} Message accepted for delivery", **send)  # type: ignore[arg-type]
    _, stamped = site.relay.relay(at(t, 1), sender, out.message, IMC1, rcpt, to_host, stat, 2, qid=qid)
    return out, stamped


# -- ordinary traffic ---------------------------------------------------------------------------------
def external_inbound(site: Site, t: datetime, long_chain: bool = False) -> Sighting:
    """Internet mail for an IMC1 user arrives straight from the sender's MTA (company.com MX is IMC1)."""
    rng = site.rng
    peer = rng.choice(EXTERNAL)
    domain = peer.name.split(".", 1)[1]
    sender = _pick(rng, EXTERNAL_USERS, domain)
    rcpt = _pick(rng, IMC1_USERS, "company.com")
    msg = _mail(site, at(t, -40), sender, rcpt, rng.choice(SUBJECTS), site.ids.plain_msgid(peer.name))
    if long_chain:
        msg = amavis_chain(msg, peer, t)
    else:
        msg = msg.with_received(
            f"from ws{rng.randrange(10, 99)}.{domain} ([10.1.{rng.randrange(1, 9)}.{rng.randrange(2, 250)}]){LF}"
            f"\tby {peer.name} (8.9.1/8.9.1) with SMTP id {site.ids.sendmail_qid(t, site.ids.pid())};"
            f" {fmt_rfc822(at(t, -30), ZONE)}"
        )
    return site.imc1.receive(t, peer, msg, sender, (rcpt,))


def amavis_chain(msg: Message, peer: Host, t: datetime) -> Message:
    """A long but healthy chain: the ISP passes the message through a content filter on localhost twice."""
    hops = [
        f"from pc7.lan.{peer.name.split('.', 1)[1]} (pc7 [192.168.1.7])"
        " by gw.home.example (8.9.3/8.9.3) with SMTP id AAA00811",
        "from gw.home.example ([10.20.0.1]) by smtp-in.bigisp.net (8.9.3/8.9.3) with ESMTP id AAB00812",
        "from smtp-in.bigisp.net ([127.0.0.1]) by localhost (amavis, port 10024) with ESMTP id 1234-01",
        "from localhost ([127.0.0.1]) by smtp-in.bigisp.net (8.9.3/8.9.3) with ESMTP id AAC00813",
        "from smtp-in.bigisp.net ([10.20.0.5]) by relay2.bigisp.net (8.9.3/8.9.3) with ESMTP id AAD00814",
        "from relay2.bigisp.net ([127.0.0.1]) by localhost (amavis, port 10024) with ESMTP id 5678-02",
        "from localhost ([127.0.0.1]) by relay2.bigisp.net (8.9.3/8.9.3) with ESMTP id AAE00815",
        f"from relay2.bigisp.net ([10.20.0.6]) by {peer.name} (8.9.3/8.9.3) with ESMTP id AAF00816",
    ]
    for i, hop in enumerate(hops):
        msg = msg.with_received(f"{hop};{LF}\t{fmt_rfc822(at(t, -60 + 6 * i), ZONE)}")
    return msg


def internet_outbound(site: Site, t: datetime) -> None:
    """An IMC1 user writes to the Internet: IMC1 forwards all Internet mail to the relay."""
    rng = site.rng
    peer = rng.choice(EXTERNAL)
    sender = _pick(rng, IMC1_USERS, "company.com")
    rcpt = _pick(rng, EXTERNAL_USERS, peer.name.split(".", 1)[1])
    msg = _ims_mail(site, t, IMC1, sender, rcpt, rng.choice(SUBJECTS))
    via_relay(site, t, msg, sender, rcpt, peer, f"Sent ({rng.randrange(10**6, 10**7)} Message accepted)")


def site_connector(
    site: Site,
    t: datetime,
    to_imc2: bool,
    subject: str = "",
    extra: tuple[tuple[str, str], ...] = (),
    sender: str | None = None,
) -> Sighting:
    """Mail between the two sites over the IMS site connector (one SMTP session, seen on both servers)."""
    rng = site.rng
    src, dst = (site.imc1, site.imc2) if to_imc2 else (site.imc2, site.imc1)
    if sender is None:
        sender = _pick(rng, IMC1_USERS, "company.com") if to_imc2 else _pick(rng, IMC2_USERS, "company.com")
    rcpt = _pick(rng, IMC2_USERS, "imc2.company.com") if to_imc2 else _pick(rng, IMC1_USERS, "company.com")
    msg = _ims_mail(site, t, src.host, sender, rcpt, subject or rng.choice(SUBJECTS), extra)
    out = src.send(t, dst.host, msg, sender, (rcpt,), "OK")
    return dst.receive(t, src.host, out.message, sender, (rcpt,), mts_id=out.mts_id)


def internal_cron(site: Site, t: datetime) -> None:
    """A Unix box on the LAN mails a report through the relay to an IMC1 user."""
    sender = "root@www.company.com"
    rcpt = "admin@company.com"
    msg = _mail(site, t, sender, rcpt, "Cron <root@www> /usr/local/bin/backup.sh", site.ids.plain_msgid(WWW.name))
    _, stamped = site.relay.relay(t, sender, msg, WWW, rcpt, IMC1, "Sent (OK)", 2)
    site.imc1.receive(at(t, 2), RELAY, stamped, sender, (rcpt,))


def ndr_unknown_user(site: Site, t: datetime) -> None:
    """A one-off NDR: an Internet sender writes to a user IMC1 does not know; IMC1 sends one NDR back."""
    rng = site.rng
    peer = rng.choice(EXTERNAL)
    sender = _pick(rng, EXTERNAL_USERS, peer.name.split(".", 1)[1])
    subject = rng.choice(SUBJECTS)
    orig = _mail(site, at(t, -20), sender, "jsmyth@company.com", subject, site.ids.plain_msgid(peer.name))
    seen = site.imc1.receive(t, peer, orig, sender, ("jsmyth@company.com",), local_delivery=False)
    ndr = _ims_mail(site, at(t, 3), IMC1, "postmaster@company.com", sender, f"Undeliverable: {subject}")
    ndr = Message(
        ndr.headers,
        "Your message" + LF + LF + f"  To:      jsmyth@company.com{LF}  Subject: {subject}{LF}{LF}"
        "did not reach the following recipient(s):" + LF + LF + f"jsmyth@company.com on {fmt_rfc822(t, ZONE)}{LF}"
        "    The recipient name is not recognized"
        + LF
        + "    MSEXCH:IMS:Company:Site1:IMC1 0 (000C05A6) Unknown Recipient"
        + LF,
    )
    via_relay(site, at(t, 4), ndr, "", sender, peer, "Sent (Message accepted)", report_of=seen.mts_id, generated=True)


def delivery_receipt(
    site: Site, t: datetime, original: Sighting, requester: str, recipient: str, subject: str, peer: Host
) -> Sighting:
    """IMC1 generates a DR for a delivered message and sends it out through the relay (healthy: once)."""
    dr = dr_message(site, t, requester, recipient, subject, original.message.header("Date"))
    out, _ = via_relay(
        site,
        t,
        dr,
        "",
        requester,
        peer,
        "Sent (Message accepted)",
        report_of=original.mts_id,
        generated=True,
        add_received=False,
    )
    return out


def dr_message(site: Site, t: datetime, requester: str, recipient: str, subject: str, sent: str) -> Message:
    """The delivery receipt IMC1 writes (From postmaster, `Delivered:` subject, IMS X-Mailer)."""
    user = recipient.split("@")[0]
    body = (
        f"Your message{LF}{LF}  To:      {recipient}{LF}  Subject: {subject}{LF}  Sent:    {sent}{LF}{LF}"
        f"was delivered to the following recipient(s):{LF}{LF}{user} on {fmt_rfc822(t, ZONE)}{LF}"
    )
    headers = [
        ("Message-ID", site.ids.exchange_msgid(IMC1.name)),
        ("From", "postmaster@company.com"),
        ("To", requester),
        ("Subject", f"Delivered: {subject}"),
        ("Date", fmt_rfc822(t, ZONE)),
        ("MIME-Version", "1.0"),
        ("X-Mailer", f"Internet Mail Service ({BUILD})"),
        ("Content-Type", 'text/plain; charset="iso-8859-1"'),
    ]
    return Message(headers, body)


# -- the Q178436 ring -----------------------------------------------------------------------------------
@dataclass
class RingResult:
    """What the ring planted, for READMEs and expected.json."""

    passes: int
    first_out: datetime
    last_in: datetime
    original_mts: str
    original_msgid: str
    first_dr_msgid: str


def q178436_ring(site: Site, t0: datetime, passes: int, gap: tuple[int, int] = (104, 146)) -> RingResult:
    """user2 (IMC2) mails user1 (IMC1) with a DR request; IMC1's DR to user2@company.com then loops via the relay."""
    rng = site.rng
    subject = "Quarterly figures"
    orig = _ims_mail(
        site,
        t0,
        IMC2,
        '"User Two" <user2@company.com>',
        '"User One" <user1@company.com>',
        subject,
        (("Return-Receipt-To", "<user2@company.com>"),),
    )
    out = site.imc2.send(t0, IMC1, orig, "user2@company.com", ("user1@company.com",), "OK", force_archive=True)
    site.imc1.receive(
        t0, IMC2, out.message, "user2@company.com", ("user1@company.com",), mts_id=out.mts_id, force_archive=True
    )
    t = at(t0, 27)
    dr = dr_message(site, t, "user2@company.com", "user1@company.com", subject, orig.header("Date"))
    first_id = dr.message_id
    first_out = t
    last_in = t
    for n in range(passes):
        # company.com's MX is IMC1, so the relay hands the DR straight back.
        in_spool = site.ids.spool()
        stat = f"Sent ({in_spool} Message accepted for delivery)"
        _, stamped = via_relay(
            site,
            t,
            dr,
            "",
            "user2@company.com",
            IMC1,
            stat,
            report_of=out.mts_id,
            generated=True,
            add_received=False,
            force_archive=True,
        )
        site.imc1.receive(
            at(t, 3),
            RELAY,
            stamped,
            "",
            ("user2@company.com",),
            report_of=out.mts_id,
            local_delivery=False,
            force_archive=True,
            spool=in_spool,
        )
        last_in = at(t, 4)
        # The IMS re-creates the DR as a new message: new Message-ID, its own inbound line dropped,
        # the relay's lines kept (Q178436: "it does not add additional Received: headers").
        dr = Message(list(stamped.headers), stamped.body, list(stamped.received)).with_header(
            "Message-ID", site.ids.exchange_msgid(IMC1.name)
        )
        if n + 1 < passes:
            t = at(t, rng.randrange(*gap))
    return RingResult(passes, first_out, last_in, out.mts_id, orig.message_id, first_id)
