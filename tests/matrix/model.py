"""Plain data of a generated world: machines, messages and their legs, output files, the planted truth."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo


@dataclass
class Machine:
    """One machine with every name and address it can appear under."""

    key: str
    kind: str
    """`ims`, `sendmail`, `postfix`, `exim` or `foreign` (a host whose logs never exist)."""
    fqdn: str
    ip: str
    tz: tzinfo
    netbios: str = ""
    build: str | None = None
    banner_host: str = ""
    """Name in its SMTP banner and its own `Received: ... by` line."""
    helo: str = ""
    folder: str = ""
    """Top folder of its files in the world."""
    syslog_host: str = ""
    aliases: tuple[str, ...] = ()

    @property
    def short(self) -> str:
        return self.fqdn.split(".")[0]

    def names(self) -> frozenset[str]:
        """Every spelling that identifies this machine, lower-cased."""
        short = self.short if self.kind != "foreign" or self.fqdn.endswith(".company.com") else ""
        raw = {
            self.fqdn,
            short,
            self.ip,
            self.netbios,
            self.banner_host,
            self.helo,
            self.folder,
            self.syslog_host,
            *self.aliases,
        }
        return frozenset(n.lower() for n in raw if n)


@dataclass
class Leg:
    """One SMTP transfer of a message from one machine to another."""

    t: datetime
    """UTC time the session starts."""
    src: str
    dst: str
    dst_id: str = ""
    """The receiving machine's id for the message (IMS spool name, relay queue id)."""
    src_id: str = ""
    """The sending machine's id (IMS outbound spool name; relay queue id for a relayed leg)."""


@dataclass
class Msg:
    """One RFC 822 message and the legs it travels."""

    msgid: str
    sender: str
    """Envelope sender; "" is the null sender <>."""
    rcpts: tuple[str, ...]
    subject: str
    kind: str
    """`msg`, `dr` (delivery receipt) or `ndr`."""
    creator: str
    created: datetime
    headers: list[tuple[str, str]]
    body: str
    mts_id: str = ""
    about_mts: str = ""
    """For a report written by an IMS: the MTS-ID of the message it reports on."""
    bcc: tuple[str, ...] = ()
    legs: list[Leg] = field(default_factory=list)
    loop: bool = False

    def size(self) -> int:
        return 200 + len(self.body) + sum(len(k) + len(v) + 4 for k, v in self.headers)


@dataclass
class OutFile:
    """One file of the world before the evidence filter decides whether it is written."""

    rel: str
    data: bytes
    machine: str
    fmt: str
    """`protocol`, `tracking`, `archive` or `relaylog`."""
    builds: frozenset[tuple[str, str]] = frozenset()
    """(machine key, build) named in this file."""
    mtime: datetime | None = None


@dataclass(frozen=True)
class Truth:
    """What was planted: what a human expert should conclude from the written files."""

    loop: bool
    address: str
    ring: tuple[str, ...]
    """Machine keys of the ring, in traversal order."""
    passes: int
    """Round trips of the ring (0 when no loop is planted)."""
    machines: tuple[tuple[str, frozenset[str]], ...]
    """(machine key, every name and IP) for every machine named anywhere in the world."""
    scanned: frozenset[str]
    """Machines whose own files were written."""
    builds: tuple[tuple[str, str], ...]
    """(machine key, build) of the IMS machines whose build is named in the written files."""
    below_fix: tuple[tuple[str, bool], ...]
    """(build, is below the Q178436 fix) for every IMS build in the world."""
    files: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()

    def ring_machines(self) -> dict[str, frozenset[str]]:
        """Each ring machine with every name and IP it can be shown under."""
        names = dict(self.machines)
        return {key: names[key] for key in self.ring}

    def machine_of(self, shown: str) -> str | None:
        """The machine a name or address shown by the tool stands for, or None."""
        n = shown.strip().strip("[]").rstrip(".").lower()
        for key, names in self.machines:
            if n in names:
                return key
        return None


def below_fix(build: str) -> bool:
    """True for an IMS build below the Q178436 fix (5.0 < 5.0.1461.6, 5.5 < 5.5.2186.0; Q189270)."""
    parts = tuple(int(p) for p in build.split("."))
    if parts[:2] == (5, 0):
        return parts < (5, 0, 1461, 6)
    if parts[:2] == (5, 5):
        return parts < (5, 5, 2186, 0)
    return False


def secs(n: float) -> timedelta:
    return timedelta(seconds=n)
