"""Knobs of the Q178436 variation matrix, their values, and the combinations left out (with the reason)."""

from __future__ import annotations

from dataclasses import dataclass, fields

KNOBS: dict[str, tuple[str, ...]] = {
    # Which machine the looping IMS (IMC1) talks to: a forwarding SMTP relay (three MTAs) or a second IMS (IMC2).
    "topology": ("sendmail", "postfix", "exim", "ims-ims"),
    # The build of every IMS in the world (Q257618 / Q189270): unfixed builds loop, fixed builds do not.
    # 5.0 RTM 1457.10 and SP2 1460.8, 5.5 RTM 1960.3 are below the fix; 5.0 post-SP2 1461.6 and 5.5 SP1 2232.9 are not.
    "build": ("5.0.1457.10", "5.0.1460.8", "5.5.1960.3", "5.0.1461.6", "5.5.2232.9"),
    # How machines are named in the evidence.
    "names": (
        "netbios",  # IMS machines as IMC1/IMC2 (folder, Received by, HELO, `accepted from IMC2.`)
        "short-syslog",  # relay is `relay` in the syslog prefix, FQDN everywhere else
        "fqdn",  # FQDN everywhere, folders included
        "banner-alias",  # banner/service names differ from the machine (mail.company.com on imc1)
        "ip-only",  # the IMS logs its peers only by IP (DisableReverseResolve, outbound by IP)
        "server1-style",  # `A connection was accepted from RELAY.` and EHLO with the FQDN (Q262945)
        "no-rdns",  # relay clients without reverse DNS: unknown[ip] (Postfix), [ip] (Sendmail), H=(helo) [ip]
        "shared-label",  # relay is mx1.company.com; ordinary traffic comes from mx1.partner.example
    ),
    # Which files survive into the folder that is scanned.
    "evidence": (
        "all",
        "protocol",  # IMS SMTP protocol logs only (every IMS of the world)
        "tracking",  # IMS tracking logs only
        "archive",  # IMS In/Out archives only
        "peer-only",  # only the peer's logs: the relay's syslog/mainlog, or IMC2's files
        "a-only",  # only IMC1's files (one IMS of two, or the IMS without its relay)
        "protocol+tracking",
        "protocol+archive",
        "tracking+archive",
        "protocol+peer",  # IMC1 protocol log + all the peer's files
        "tracking+peer",
        "archive+peer",
    ),
    # Server clocks: utc everywhere, one shared zone, zones 12 hours apart, a DST change inside the loop.
    "clocks": ("utc", "same-zone", "apart-12h", "dst-inside"),
    # Line endings of the IMS files (Windows CRLF as written, or LF after a copy through Unix).
    "eol": ("crlf", "lf"),
    # Archive file layout: ImCr...EwLs binary envelope, the same with a Bcc recipient listed, plain RFC 822 only.
    "envelope": ("binary", "binary-bcc", "plain"),
    # How the IMS protocol log writes an outbound session: `>>>`/`<<<` markers (Q245787) or none (Q228725).
    "proto_style": ("markers", "plain"),
    # Planted round trips: few (5-8), some (15-30), many (40-60).
    "passes": ("few", "some", "many"),
    # Time between passes: fast (1-2 min) or slow (6-10 min), each pass jittered by +-20%.
    "period": ("fast", "slow"),
}

FIXED_BUILDS = frozenset({"5.0.1461.6", "5.5.2232.9"})
"""Builds at or above the Q178436 fix (5.0 >= 1461.6, 5.5 >= 2186.0): no loop is planted for them."""

RELAY_TOPOLOGIES = ("sendmail", "postfix", "exim")

EXCLUDED_PAIRS: dict[tuple[tuple[str, str], tuple[str, str]], str] = {
    (("topology", "ims-ims"), ("names", "no-rdns")): "no relay client: the knob is a Unix relay's log shape",
    (("topology", "ims-ims"), ("names", "short-syslog")): "no syslog host: two IMS write no syslog",
    (("topology", "exim"), ("names", "short-syslog")): "Exim's mainlog has no syslog host prefix",
}
"""Pairs that cannot exist in a real world. Each value says why."""


@dataclass(frozen=True)
class Combo:
    """One full combination of knob values."""

    topology: str
    build: str
    names: str
    evidence: str
    clocks: str
    eol: str
    envelope: str
    proto_style: str
    passes: str
    period: str

    @property
    def id(self) -> str:
        return "-".join(getattr(self, f.name) for f in fields(self))

    def items(self) -> list[tuple[str, str]]:
        return [(f.name, getattr(self, f.name)) for f in fields(self)]

    @property
    def loops(self) -> bool:
        """Whether the world can loop at all: a fixed IMS build encapsulates the DR recipient (Q189270)."""
        return self.build not in FIXED_BUILDS


def pair_excluded(a: tuple[str, str], b: tuple[str, str]) -> str | None:
    """The reason a pair of knob values cannot occur together, or None."""
    return EXCLUDED_PAIRS.get((a, b)) or EXCLUDED_PAIRS.get((b, a))


def combo_excluded(values: dict[str, str]) -> str | None:
    """The reason a (partial) combination cannot occur, or None."""
    items = sorted(values.items())
    for i, a in enumerate(items):
        for b in items[i + 1 :]:
            why = pair_excluded(a, b)
            if why:
                return why
    return None
