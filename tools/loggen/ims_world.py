"""A small simulated Exchange 5.5 site: IMS servers and a Sendmail relay that write every log as mail moves."""

from __future__ import annotations

import random
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path

from . import ims_archive, ims_protocol, sendmail
from .common import CRLF, LF, Ids, Message, Sink, at, fmt_rfc822, write_bytes
from .ims_protocol import Envelope, Peer
from .ims_tracking import TrackingRecord, gateway_dn, mdb_dn

ZONE = "-0500"
ZONE_HOURS = -5
SENDMAIL_BANNER = "ESMTP Sendmail 8.9.3/8.9.3"


@dataclass(frozen=True)
class Host:
    """A mail host of the scenario; `build` is set for IMS servers."""

    name: str
    ip: str
    short: str = ""
    build: str = ""
    site: str = ""

    @property
    def peer(self) -> Peer:
        if self.build:
            return Peer(self.name, self.ip, ims_build=self.build)
        return Peer(self.name, self.ip, banner=SENDMAIL_BANNER)


def gmt(t: datetime) -> datetime:
    """A local (-0500) time as GMT."""
    return t - timedelta(hours=ZONE_HOURS)


@dataclass
class Sighting:
    """What a server wrote for one transit: ids a test or README can point at."""

    spool: str
    mts_id: str
    size: int
    message: Message


class ImsServer:
    """One IMS: three protocol-log files, a daily tracking log and the two archive folders."""

    def __init__(
        self,
        host: Host,
        root: Path,
        ids: Ids,
        rng: random.Random,
        org: str = "Company",
        log_files: int = 3,
        archive_cap: int | None = None,
    ) -> None:
        self.host = host
        self.root = root
        self.ids = ids
        self.rng = rng
        self.org = org
        self.proto = [Sink(root / "Imcdata" / "Log" / f"L{i:07d}.LOG", CRLF) for i in range(log_files)]
        self.tracking: dict[str, Sink] = {}
        self.archive_cap = archive_cap
        self.archived = 0
        self._mts = 1000 + rng.randrange(8000)
        self.gateway = gateway_dn(org, host.site, host.short)

    # -- plumbing ---------------------------------------------------------------------------------
    def sinks(self) -> list[Sink]:
        return [*self.proto, *self.tracking.values()]

    def _track(self, rec: TrackingRecord) -> None:
        day = f"{rec.time_gmt:%Y%m%d}"
        sink = self.tracking.get(day)
        if sink is None:
            sink = self.tracking[day] = Sink(self.root / "Tracking.log" / f"{day}.log", CRLF)
        sink.add(rec.time_gmt, rec.lines())

    def _session(self, t: datetime, lines: list[str]) -> None:
        # The IMS writes one file per concurrent connection; which one a session lands in is luck.
        self.rng.choice(self.proto).add(t, lines)

    def _archive(self, folder: str, spool: str, data: bytes, force: bool) -> None:
        if not force and self.archive_cap is not None and self.archived >= self.archive_cap:
            return
        self.archived += 1
        write_bytes(self.root / "Imcdata" / folder / "Archive" / spool, data)

    def mts_id(self, t: datetime) -> str:
        self._mts += 1
        return f"c=US;a= ;p={self.org};l={self.host.short}-{gmt(t):%y%m%d%H%M}Z-{self._mts}"

    # -- transits ---------------------------------------------------------------------------------
    def receive(
        self,
        t: datetime,
        peer: Host,
        msg: Message,
        sender: str,
        rcpts: tuple[str, ...],
        *,
        report_of: str = "",
        local_delivery: bool = True,
        is_report: bool = False,
        mts_id: str = "",
        force_archive: bool = False,
        spool: str = "",
    ) -> Sighting:
        """An inbound SMTP session from `peer`: protocol log, In\\Archive copy, tracking 1012 and more."""
        spool = spool or self.ids.spool()
        size = msg.size
        lines, end = ims_protocol.inbound_session(
            t, self.host.name, self.host.build, peer.name, Envelope(sender, rcpts, size)
        )
        self._session(t, lines)
        stamped = msg.with_received(
            f"from {peer.name} ([{peer.ip}]) by {self.host.name} with SMTP (Microsoft Exchange Internet Mail "
            f"Service Version {self.host.build}){CRLF}\tid {spool}; {fmt_rfc822(end, ZONE)}"
        )
        mts = mts_id or self.mts_id(end)
        self._archive(
            "In",
            spool,
            ims_archive.archive_file(self.rng, peer.name, sender, mts, rcpts, stamped.render()),
            force_archive,
        )
        remote = f"{msg.message_id}[{spool}]"
        base = TrackingRecord(
            mts, 1012, gmt(end), self.gateway, peer.name, remote, sender, stamped.size, report_of, rcpts
        )
        self._track(base)
        self._track(replace(base, event=1015 if is_report else 1013, time_gmt=gmt(at(end, 1))))
        if local_delivery:
            mdb = mdb_dn(self.org, self.host.site, self.host.short)
            self._track(
                TrackingRecord(
                    mts,
                    1000,
                    gmt(at(end, 2)),
                    "",
                    mdb,
                    "",
                    sender,
                    stamped.size,
                    report_of,
                    rcpts,
                    0 if is_report else None,
                )
            )
        return Sighting(spool, mts, stamped.size, stamped)

    def send(
        self,
        t: datetime,
        peer: Host,
        msg: Message,
        sender: str,
        rcpts: tuple[str, ...],
        accept_text: str,
        *,
        report_of: str = "",
        generated: bool = False,
        add_received: bool = True,
        force_archive: bool = False,
    ) -> Sighting:
        """An outbound SMTP session to `peer`; a generated report first logs 1017 and 1016."""
        spool = self.ids.spool()
        mts = self.mts_id(t)
        if add_received:
            msg = msg.with_received(
                f"by {self.host.name} with Internet Mail Service ({self.host.build}){LF}"
                f"\tid <{spool}>; {fmt_rfc822(t, ZONE)}"
            )
        size = msg.size
        domain = rcpts[0].rsplit("@", 1)[-1]
        status = 0 if report_of else None
        base = TrackingRecord(
            mts,
            1010,
            gmt(at(t, -1)),
            self.gateway,
            domain,
            f"{msg.message_id}[{spool}]",
            sender,
            size,
            report_of,
            rcpts,
            status,
        )
        if generated:
            self._track(replace(base, event=1017, time_gmt=gmt(at(t, -2))))
            self._track(replace(base, event=1016))
        self._track(base)
        lines, end = ims_protocol.outbound_session(
            t, self.host.name, self.host.ip, peer.peer, Envelope(sender, rcpts, size), accept_text, ZONE
        )
        self._session(t, lines)
        self._track(replace(base, event=1011, time_gmt=gmt(end), partner=peer.name))
        self._archive(
            "Out", spool, ims_archive.archive_file(self.rng, peer.name, sender, mts, rcpts, msg.render()), force_archive
        )
        return Sighting(spool, mts, size, msg)


class SendmailRelay:
    """The Unix relay: one syslog file, one queue id per message, one `from=` and one `to=` line per copy."""

    def __init__(self, host: Host, sink: Sink, ids: Ids) -> None:
        self.host = host
        self.sink = sink
        self.ids = ids
        self.short = host.name.split(".")[0]

    def next_qid(self, t: datetime) -> str:
        """A queue id reserved ahead (the sender's protocol log shows it before the relay logs it)."""
        return self.ids.sendmail_qid(t, self.ids.pid())

    def relay(
        self,
        t: datetime,
        sender: str,
        msg: Message,
        from_host: Host,
        rcpt: str,
        to_host: Host,
        stat: str,
        delay: int = 1,
        qid: str = "",
    ) -> tuple[str, Message]:
        """Queue a message from `from_host` and pass it on; returns the queue id and the stamped copy."""
        pid = self.ids.pid()
        qid = qid or self.ids.sendmail_qid(t, pid)
        stamped = msg.with_received(
            f"from {from_host.name} ([{from_host.ip}]){LF}\tby {self.host.name} (8.9.3/8.9.3) with ESMTP id {qid}{LF}"
            f"\tfor <{rcpt}>; {fmt_rfc822(t, ZONE)}"
        )
        relay_from = f"{from_host.name} [{from_host.ip}]"
        self.sink.add(t, [sendmail.from_line(t, self.short, pid, qid, sender, msg.size, msg.message_id, relay_from)])
        done = at(t, delay)
        self.sink.add(
            done,
            [
                sendmail.to_line(
                    done, self.short, self.ids.pid(), qid, rcpt, delay, f"{to_host.name}. [{to_host.ip}]", stat
                )
            ],
        )
        return qid, stamped
