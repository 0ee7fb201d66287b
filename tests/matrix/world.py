"""Write one Q178436 world (or the same world without the loop) into a folder and return the planted truth.

The world, read from the KB (ims-reference.md) and real MTA logs, never from imsdiag's parsers:

* IMC1 (`imc1.company.com`, 10.1.1.10) is the IMS that `company.com`'s MX points at. User2 lives on IMC2, another
  site, with proxies `user2@company.com` (primary/reply) and `user2@imc2.company.com` (Q178436).
* User2 sends user1 a message with a delivery receipt requested. IMC1 builds the DR with P1 `MAIL FROM:<>` and
  `RCPT TO:<user2@company.com>` (the primary proxy) and sends it to its peer:
  - relay topologies: the forwarding relay (Sendmail, Postfix or Exim) adds its Received line and, company.com's
    MX being IMC1, hands it straight back; IMC1 again cannot encapsulate and sends a NEW DR (new Message-ID,
    new spool id). One pass = IMC1 -> relay -> IMC1.
  - ims-ims: IMC1 sends the DR over the IMS site connector to IMC2, which (same bug) re-creates it to the primary
    proxy and sends it back to IMC1. One pass = IMC1 -> IMC2 -> IMC1.
* Reading chosen for "does not add additional Received: headers": each pass is a NEW message that carries no
  Received line of the previous passes, so the Received count does not grow and no hop counter fires
  (prior-art.md finding 1). The inbound archive copy carries the relay's Received line and IMC1's own.
* Fixed builds (5.0 >= 1461.6, 5.5 >= 2186.0) encapsulate the RFC 821 recipient (Q189270): for them NO loop is
  planted; the DR goes once to `user2@imc2.company.com` and the truth is "no finding".
* Ordinary traffic in both worlds: mail in from a partner, mail out, one NDR (null sender, once) for an unknown
  recipient, one delivery receipt (null sender, once) to a partner, and an inbound message with a Bcc recipient.
* The passes always end with the DR's return to IMC1 (the logs were collected then).
"""

from __future__ import annotations

import itertools
import os
import random
import string
from datetime import datetime, timezone, tzinfo
from pathlib import Path
from zoneinfo import ZoneInfo

from . import ims, relay
from .fmt import ims_version_text, rfc822_date, rfc822_text
from .knobs import RELAY_TOPOLOGIES, Combo
from .model import Leg, Machine, Msg, OutFile, Truth, below_fix, secs

ORG = "Company"
DOMAIN = "company.com"
SUBJECTS = ("quarterly figures", "Budget 1999", "RE: site visit", "Q1 plan", "minutes of Monday's meeting")


def _zones(clocks: str) -> tuple[tzinfo, tzinfo, tzinfo]:
    """(IMC1's zone, the peer's zone, the foreign hosts' zone)."""
    if clocks == "utc":
        z = ZoneInfo("UTC")
        return z, z, z
    if clocks == "same-zone":
        z = ZoneInfo("America/New_York")
        return z, z, ZoneInfo("Europe/Berlin")
    if clocks == "apart-12h":
        return ZoneInfo("America/Los_Angeles"), ZoneInfo("Asia/Dubai"), ZoneInfo("Europe/Berlin")
    return ZoneInfo("America/New_York"), ZoneInfo("America/Chicago"), ZoneInfo("Europe/Berlin")


class World:
    """Machines and messages of one world, and how its servers name each other."""

    def __init__(self, combo: Combo, seed: int, loop: bool) -> None:
        self.combo = combo
        self.rng = random.Random(f"{combo.id}/{seed}/{loop}")
        self.loop = loop and combo.loops
        self.org = ORG
        self.utc = timezone.utc
        self.eol = "\r\n" if combo.eol == "crlf" else "\n"
        self.machines: dict[str, Machine] = {}
        self.msgs: list[Msg] = []
        self._mts_seq = 0
        self.passes = 0
        self.end = datetime(1999, 3, 15, tzinfo=timezone.utc)
        self._make_machines()

    # -- machines ---------------------------------------------------------------------------------------------

    def _make_machines(self) -> None:
        c = self.combo
        z1, zp, zf = _zones(c.clocks)
        names = c.names

        def ims_machine(key: str, fqdn: str, ip: str, netbios: str, tz: tzinfo, alias: str) -> Machine:
            m = Machine(key, "ims", fqdn, ip, tz, netbios=netbios, build=c.build)
            m.banner_host = alias if names == "banner-alias" else fqdn
            m.helo = netbios if names == "netbios" else m.banner_host
            m.folder = netbios if names == "netbios" else fqdn if names == "fqdn" else m.short
            return m

        self.add(ims_machine("imc1", f"imc1.{DOMAIN}", "10.1.1.10", "IMC1", z1, f"mail.{DOMAIN}"))
        if c.topology == "ims-ims":
            self.add(ims_machine("imc2", f"imc2.{DOMAIN}", "10.1.2.10", "IMC2", zp, f"gw.imc2.{DOMAIN}"))
            self.peer = "imc2"
        else:
            rname = "mx1" if names == "shared-label" else "relay"
            r = Machine("relay", c.topology, f"{rname}.{DOMAIN}", "10.1.1.20", zp)
            r.banner_host = f"smtp.{DOMAIN}" if names == "banner-alias" else r.fqdn
            r.helo = r.banner_host
            r.syslog_host = r.fqdn if names == "fqdn" else r.short
            r.folder = r.fqdn if names == "fqdn" else r.short
            self.add(r)
            self.peer = "relay"
            # user2's home server, reached through the relay; its files are never part of the evidence
            self.add(
                Machine(
                    "imc2",
                    "foreign",
                    f"imc2.{DOMAIN}",
                    "10.1.2.10",
                    zp,
                    netbios="IMC2",
                    banner_host=f"imc2.{DOMAIN}",
                    helo=f"imc2.{DOMAIN}",
                )
            )
        pname = "mx1.partner.example" if names == "shared-label" else "mail.partner.example"
        self.add(Machine("partner", "foreign", pname, "192.0.2.25", zf, banner_host=pname, helo=pname))
        self.add(
            Machine(
                "exorg",
                "foreign",
                "smtp.example.org",
                "198.51.100.7",
                zf,
                banner_host="smtp.example.org",
                helo="smtp.example.org",
            )
        )

    def add(self, m: Machine) -> None:
        self.machines[m.key] = m

    def site_of(self, m: Machine) -> str:
        return "SITE2" if m.key == "imc2" else "SITE1"

    # -- how an IMS names its peers -----------------------------------------------------------------------------

    def ims_accepted_name(self, peer: Machine) -> str:
        """Text after `A connection was accepted from ` (reverse DNS, NetBIOS `SERVER1.`, or the IP)."""
        names = self.combo.names
        if names == "ip-only":
            return peer.ip
        local = peer.fqdn.endswith("." + DOMAIN)
        if names == "netbios" and peer.kind == "ims":
            return f"{peer.netbios}."
        if names == "server1-style" and local:
            return f"{peer.short.upper()}."
        return peer.fqdn

    def ims_connect_target(self, peer: Machine) -> str:
        """Text in `A connection to X was established.`: the IP (Q228725, Q245787) or the host name."""
        if self.combo.names in ("ip-only", "netbios", "no-rdns"):
            return peer.ip
        return peer.fqdn

    # -- ids ----------------------------------------------------------------------------------------------------

    def spool_id(self) -> str:
        return "".join(self.rng.choice(string.ascii_uppercase + string.digits) for _ in range(8))

    def queue_id(self, m: Machine, t: datetime) -> str:
        if m.kind == "ims":
            return self.spool_id()
        if m.kind == "sendmail":
            lt = t.astimezone(m.tz)
            letters = "".join(self.rng.choice(string.ascii_uppercase) for _ in range(2))
            return f"{chr(65 + lt.hour)}{letters}{self.rng.randint(1000, 32000):05d}"
        if m.kind == "exim":
            b62 = string.digits + string.ascii_uppercase + string.ascii_lowercase

            def pick(n: int) -> str:
                return "".join(self.rng.choice(b62) for _ in range(n))

            return f"1{pick(5)}-{pick(6)}-{pick(2)}"
        return "".join(self.rng.choice("0123456789ABCDEF") for _ in range(10))

    def mts_id(self, m: Machine, t: datetime) -> str:
        self._mts_seq += 1
        g = t.astimezone(timezone.utc)
        return f"c=US;a= ;p={ORG};l={m.netbios or m.short.upper()}-{g:%y%m%d%H%M%S}Z-{self._mts_seq}"

    def message_id(self, m: Machine) -> str:
        hexpart = "".join(self.rng.choice("0123456789ABCDEF") for _ in range(36))
        return f"{hexpart}@{m.fqdn}"

    def originator_dn(self, msg: Msg) -> str:
        if not msg.sender:
            return ""
        local, _, dom = msg.sender.partition("@")
        if dom == DOMAIN and self.machines[msg.creator].kind == "ims":
            site = self.site_of(self.machines[msg.creator])
            return f"/O={ORG.upper()}/OU={site}/CN=RECIPIENTS/CN={local.upper()}"
        return msg.sender

    # -- messages -----------------------------------------------------------------------------------------------

    def new_msg(
        self,
        creator: str,
        t: datetime,
        sender: str,
        rcpts: tuple[str, ...],
        subject: str,
        kind: str,
        *,
        about: str = "",
        bcc: tuple[str, ...] = (),
        receipt: bool = False,
        loop: bool = False,
    ) -> Msg:
        m = self.machines[creator]
        headers: list[tuple[str, str]] = [("Message-ID", f"<{self.message_id(m)}>")]
        if kind == "msg":
            user = sender.split("@")[0]
            headers.append(("From", f'"{user.title()}" <{sender}>'))
            headers.append(("To", ", ".join(f"'{r}'" + f" <{r}>" for r in rcpts)))
            body = f"Hello,\n\nplease find the {subject} below.\n\n-- \n{user}\n"
        elif kind == "dr":
            headers.append(("From", f"System Administrator <POSTMASTER@{DOMAIN}>"))
            headers.append(("To", f"<{rcpts[0]}>"))
            body = (
                f"Your message\n\n  To:      User One\n  Subject: {subject.removeprefix('Delivered: ')}\n"
                f"  Sent:    {rfc822_date(t, m.tz)}\n\nwas delivered to the following recipient(s):\n\n"
                f"User One on {rfc822_date(t, m.tz)}\n"
            )
        else:
            headers.append(("From", f"System Administrator <postmaster@{DOMAIN}>"))
            headers.append(("To", f"<{rcpts[0]}>"))
            body = (
                f"Your message\n\n  To:      nosuch@{DOMAIN}\n  Subject: {subject.removeprefix('Undeliverable: ')}\n\n"
                f"did not reach the following recipient(s):\n\nnosuch@{DOMAIN} on {rfc822_date(t, m.tz)}\n"
                f"    The recipient name is not recognized\n"
                f"\tMSEXCH:IMS:{ORG}:{self.site_of(m)}:{m.netbios} 0 (000C05A6) Unknown Recipient\n"
            )
        headers.append(("Subject", subject))
        headers.append(("Date", rfc822_date(t, m.tz)))
        if receipt:
            headers.append(("Return-Receipt-To", f"<{sender}>"))
        headers.append(("MIME-Version", "1.0"))
        if m.kind == "ims" and m.build:
            headers.append(("X-Mailer", f"Internet Mail Service ({m.build})"))
        headers.append(("Content-Type", 'text/plain; charset="iso-8859-1"'))
        msg = Msg(
            headers[0][1].strip("<>"),
            sender,
            rcpts,
            subject,
            kind,
            creator,
            t,
            headers,
            body,
            about_mts=about,
            bcc=bcc,
            loop=loop,
        )
        if m.kind == "ims":
            msg.mts_id = self.mts_id(m, t)
        self.msgs.append(msg)
        return msg

    def send(self, msg: Msg, t: datetime, path: list[str]) -> datetime:
        """Add the legs of `path` (machine keys) starting at `t`; returns the arrival time at the last one."""
        for src, dst in itertools.pairwise(path):
            leg = Leg(t, src, dst)
            leg.dst_id = self.queue_id(self.machines[dst], t)
            prev = msg.legs[-1] if msg.legs else None
            if prev is not None and prev.dst == src:
                leg.src_id = prev.dst_id if self.machines[src].kind != "ims" else self.spool_id()
            else:
                leg.src_id = self.spool_id()
            msg.legs.append(leg)
            t = t + secs(self.rng.randint(2, 5))
        return t

    def route(self, src: str, dst: str) -> list[str]:
        """Machines a message passes: through the relay in relay topologies, direct between two IMS."""
        if self.peer == "relay" and "relay" not in (src, dst):
            return [src, "relay", dst]
        return [src, dst]

    # -- Received lines and message text ------------------------------------------------------------------------

    def received_line(self, msg: Msg, leg: Leg) -> tuple[str, frozenset[tuple[str, str]]]:
        src, dst = self.machines[leg.src], self.machines[leg.dst]
        date = rfc822_date(leg.t + secs(1), dst.tz)
        rcpt = msg.rcpts[0]
        no_rdns = self.combo.names == "no-rdns"
        if dst.kind == "ims":
            assert dst.build is not None
            by = dst.netbios if self.combo.names == "netbios" else dst.banner_host
            frm = f"{src.helo} ([{src.ip}])" if dst.build.startswith("5.5") else src.helo
            line = f"from {frm} by {by} with SMTP ({ims_version_text(dst.build)})\n\tid {leg.dst_id}; {date}"
            return line, frozenset({(dst.key, dst.build)})
        if dst.kind == "sendmail":
            rdns = f"[{src.ip}]" if no_rdns else f"{src.fqdn} [{src.ip}]"
            return (
                f"from {src.helo} ({rdns})\n\tby {dst.banner_host} (8.9.3/8.9.3) with ESMTP id {leg.dst_id}\n"
                f"\tfor <{rcpt}>; {date}"
            ), frozenset()
        if dst.kind == "exim":
            frm = f"[{src.ip}] (helo={src.helo})" if no_rdns else f"{src.fqdn} ([{src.ip}] helo={src.helo})"
            return (
                f"from {frm}\n\tby {dst.banner_host} with esmtp (Exim 3.12 #1)\n\tid {leg.dst_id}\n\tfor {rcpt}; {date}"
            ), frozenset()
        rdns = f"unknown [{src.ip}]" if no_rdns and dst.kind == "postfix" else f"{src.fqdn} [{src.ip}]"
        return (
            f"from {src.helo} ({rdns})\n\tby {dst.banner_host} (Postfix) with ESMTP id {leg.dst_id}\n"
            f"\tfor <{rcpt}>; {date}"
        ), frozenset()

    def message_text(self, msg: Msg, upto: int) -> tuple[str, frozenset[tuple[str, str]]]:
        """The message after its first `upto` legs, newest Received first, and the builds it names."""
        creator = self.machines[msg.creator]
        received: list[str] = []
        builds: set[tuple[str, str]] = set()
        if creator.kind == "ims" and creator.build:
            builds.add((creator.key, creator.build))
            if msg.kind == "msg":  # Q320636 outbound form; a DR/NDR is a new message with no Received (Q178436)
                by = creator.netbios if self.combo.names == "netbios" else creator.banner_host
                received.append(
                    f"by {by} with Internet Mail Service ({creator.build})\n\tid <{self.spool_id()}>; "
                    f"{rfc822_date(msg.created, creator.tz)}"
                )
        for leg in msg.legs[:upto]:
            line, seen = self.received_line(msg, leg)
            received.insert(0, line)
            builds |= seen
        return rfc822_text(msg, received), frozenset(builds)

    def ims_bytes(self, text: str) -> bytes:
        return text.replace("\n", self.eol).encode("latin-1")

    # -- the story ----------------------------------------------------------------------------------------------

    def plan(self) -> None:
        c, rng = self.combo, self.rng
        n_passes = {"few": (5, 8), "some": (15, 30), "many": (40, 60)}[c.passes]
        period = {"fast": (60, 120), "slow": (360, 600)}[c.period]
        passes = rng.randint(*n_passes)
        base = rng.uniform(*period)
        gaps = [base * rng.uniform(0.8, 1.2) for _ in range(passes)]
        span = sum(gaps)
        if c.clocks == "dst-inside":  # America/New_York falls back at 1999-10-31 06:00 UTC
            t0 = datetime(1999, 10, 31, 6, 0, tzinfo=timezone.utc) - secs(span / 2)
        else:
            t0 = datetime(1999, 3, 15, 14, 0, tzinfo=timezone.utc) + secs(rng.randint(0, 3600))
        t0 = t0.replace(microsecond=0)
        subject = rng.choice(SUBJECTS)
        user2, user2_site = f"user2@{DOMAIN}", f"user2@imc2.{DOMAIN}"

        # ordinary traffic before the loop
        m = self.new_msg("partner", t0 - secs(1500), "bob@partner.example", (f"user1@{DOMAIN}",), "Invoice 4711", "msg")
        self.send(m, m.created + secs(3), self.route("partner", "imc1"))
        if c.envelope == "binary-bcc":
            m = self.new_msg(
                "partner",
                t0 - secs(1300),
                "bob@partner.example",
                (f"user1@{DOMAIN}",),
                "Re: Invoice 4711",
                "msg",
                bcc=(f"user3@{DOMAIN}",),
            )
            self.send(m, m.created + secs(3), self.route("partner", "imc1"))
        m = self.new_msg(
            "imc1", t0 - secs(1200), f"user1@{DOMAIN}", ("bob@partner.example",), "Re: Invoice 4711", "msg"
        )
        self.send(m, m.created + secs(20), self.route("imc1", "partner"))
        m = self.new_msg("exorg", t0 - secs(900), "alice@example.org", (f"nosuch@{DOMAIN}",), "hello", "msg")
        arrived = self.send(m, m.created + secs(4), self.route("exorg", "imc1"))
        ndr = self.new_msg(
            "imc1",
            arrived + secs(30),
            "",
            ("alice@example.org",),
            "Undeliverable: hello",
            "ndr",
            about=m.mts_id or self.mts_id(self.machines["imc1"], m.created),
        )
        self.send(ndr, ndr.created + secs(15), self.route("imc1", "exorg"))
        if self.peer == "imc2":
            m = self.new_msg("imc2", t0 - secs(700), f"user4@{DOMAIN}", ("bob@partner.example",), "lunch", "msg")
            self.send(m, m.created + secs(10), ["imc2", "partner"])

        # the message that asks for a delivery receipt
        orig = self.new_msg("imc2", t0 - secs(60), user2, (f"user1@{DOMAIN}",), subject, "msg", receipt=True)
        if self.peer == "imc2":
            self.send(orig, orig.created + secs(5), ["imc2", "imc1"])
        else:
            self.send(orig, orig.created + secs(5), ["imc2", "relay", "imc1"])
        about = orig.mts_id or self.mts_id(self.machines["imc1"], orig.created)
        dr_subject = f"Delivered: {subject}"
        t = t0
        if self.loop:
            for k in range(passes):
                dr = self.new_msg("imc1", t - secs(1), "", (user2,), dr_subject, "dr", about=about, loop=True)
                if self.peer == "imc2":
                    self.send(dr, t, ["imc1", "imc2"])
                    back_t = t + secs(gaps[k] * rng.uniform(0.3, 0.6))
                    back = self.new_msg(
                        "imc2", back_t - secs(1), "", (user2,), dr_subject, "dr", about=about, loop=True
                    )
                    self.send(back, back_t, ["imc2", "imc1"])
                else:
                    self.send(dr, t, ["imc1", "relay", "imc1"])
                t = t + secs(gaps[k])
            self.passes = passes
            last = t
        else:
            dr = self.new_msg("imc1", t - secs(1), "", (user2_site,), dr_subject, "dr", about=about)
            self.send(dr, t, ["imc1", "imc2"] if self.peer == "imc2" else ["imc1", "relay", "imc2"])
            last = t0 + secs(span)

        # ordinary traffic during and after: a one-off receipt to a partner that does not loop
        mid = t0 + secs(span / 2)
        m = self.new_msg("partner", mid, "carol@partner.example", (f"user1@{DOMAIN}",), "contract", "msg", receipt=True)
        arrived = self.send(m, m.created + secs(2), self.route("partner", "imc1"))
        dr = self.new_msg(
            "imc1",
            arrived + secs(20),
            "",
            ("carol@partner.example",),
            "Delivered: contract",
            "dr",
            about=self.mts_id(self.machines["imc1"], arrived),
        )
        self.send(dr, dr.created + secs(10), self.route("imc1", "partner"))
        # dave asks for a receipt on three different messages: three one-off receipts to the same address, each
        # answering its own inbound message (own subject, own Report MTS-ID), none ever comes back
        for n, topic in enumerate(("offer", "offer v2", "signed offer")):
            when = t0 - secs(1800) + secs(n * max(900.0, span / 3))
            m = self.new_msg("partner", when, "dave@partner.example", (f"user1@{DOMAIN}",), topic, "msg", receipt=True)
            arrived = self.send(m, m.created + secs(2), self.route("partner", "imc1"))
            dr = self.new_msg(
                "imc1",
                arrived + secs(25),
                "",
                ("dave@partner.example",),
                f"Delivered: {topic}",
                "dr",
                about=self.mts_id(self.machines["imc1"], arrived),
            )
            self.send(dr, dr.created + secs(8), self.route("imc1", "partner"))
        m = self.new_msg("imc1", last + secs(120), f"user1@{DOMAIN}", ("bob@partner.example",), "status", "msg")
        self.send(m, m.created + secs(5), self.route("imc1", "partner"))
        self.end = last + secs(300)

    # -- files --------------------------------------------------------------------------------------------------

    def files(self) -> list[OutFile]:
        out: list[OutFile] = []
        for m in self.machines.values():
            if m.kind == "ims":
                out += ims.protocol_log(self, m)
                out += ims.tracking_log(self, m)
                out += ims.archives(self, m)
            elif m.kind in RELAY_TOPOLOGIES:
                out += relay.relay_log(self, m)
        return out

    def keep(self, f: OutFile) -> bool:
        """Whether the evidence knob keeps this file."""
        ev = self.combo.evidence
        a, peer = "imc1", self.peer
        if ev == "all":
            return True
        if ev == "peer-only":
            return f.machine == peer
        if ev == "a-only":
            return f.machine == a
        if ev.endswith("+peer"):
            return f.machine == peer or (f.machine == a and f.fmt == ev.split("+")[0])
        return f.fmt in ev.split("+")


def build_world(combo: Combo, seed: int, folder: Path, *, loop: bool = True) -> Truth:
    """Write the world for `combo` into `folder` and return what was planted.

    `loop=False` writes the same world without the loop (ordinary traffic, one-off NDR and receipts only). A
    combo with a fixed IMS build never loops (see the module docstring).
    """
    w = World(combo, seed, loop)
    w.plan()
    written: list[OutFile] = [f for f in w.files() if w.keep(f)]
    folder.mkdir(parents=True, exist_ok=True)
    for f in written:
        path = folder / f.rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(f.data)
        when = (f.mtime or w.end).timestamp()
        os.utime(path, (when, when))
    builds: set[tuple[str, str]] = set()
    for f in written:
        builds |= f.builds
    ring = ("imc1", w.peer) if w.loop else ()
    ims_builds = sorted({m.build for m in w.machines.values() if m.kind == "ims" and m.build})
    notes = []
    if not combo.loops:
        notes.append(f"build {combo.build} is at or above the Q178436 fix: no loop planted")
    return Truth(
        loop=w.loop,
        address=f"user2@{DOMAIN}",
        ring=ring,
        passes=w.passes,
        machines=tuple((m.key, m.names()) for m in w.machines.values()),
        scanned=frozenset(f.machine for f in written),
        builds=tuple(sorted(b for b in builds if b[0] in ring)),
        below_fix=tuple((b, below_fix(b)) for b in ims_builds),
        files=tuple(sorted(f.rel for f in written)),
        notes=tuple(notes),
    )
