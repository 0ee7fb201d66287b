"""The Exchange 5.0/5.5 IMS as rule Q178436 knows it: which builds have the fix, how other hosts' logs show an IMS.

Apart from the rule's module because `imsdiag audit` judges builds by the same facts.
"""

from __future__ import annotations

import re

from ..models import Event, Loop
from .common import parse_build

FIXED_BUILDS: dict[tuple[int, ...], tuple[int, int]] = {(5, 0): (1461, 6), (5, 5): (2186, 0)}
"""First IMS builds that encapsulate the RFC 821 recipient in delivery receipts (Q189270)."""

RELEASES: dict[tuple[int, ...], str] = {
    (5, 0, 1457): "Exchange 5.0 (no service pack)",
    (5, 0, 1458): "Exchange 5.0 SP1",
    (5, 0, 1460): "Exchange 5.0 SP2",
    (5, 5, 1960): "Exchange 5.5 (no service pack)",
    (5, 5, 2232): "Exchange 5.5 SP1",
    (5, 5, 2448): "Exchange 5.5 SP2",
    (5, 5, 2650): "Exchange 5.5 SP3",
    (5, 5, 2653): "Exchange 5.5 SP4",
}
"""IMS builds by release (Q257618, Q158530)."""


def build_status(build: str) -> tuple[str, bool | None]:
    """Words for a build (`5.5.1960.3 = Exchange 5.5 (no service pack), needs 5.5.2186.0`: the first fixed build) and
    whether it still has the bug (None when the build is not a 5.0/5.5 IMS build)."""
    parts = parse_build(build)
    if parts is None:
        return build, None
    release = RELEASES.get(parts[:3], "")
    fixed = FIXED_BUILDS.get(parts[:2])
    label = f"{build} = {release}" if release else build
    if fixed is None:
        if parts[:2] == (4, 0):
            return f"{label} (Exchange 4.0 IMC: see the Q189270 caveat)", None
        return label, None
    has_bug = (parts[2], parts[3] if len(parts) > 3 else 0) < fixed
    fixed_text = f"{parts[0]}.{parts[1]}.{fixed[0]}.{fixed[1]}"
    return (f"{label}, needs {fixed_text}" if has_bug else f"{label}, has the fix"), has_bug


EXCHANGE_MESSAGE_ID = re.compile(r"^[0-9A-Fa-f]{32,40}@", re.ASCII)
"""Exchange 5.x Message-IDs: a long hex string (a GUID and a counter), e.g.
`6180A23D98B7D011BD4800A0C90D616D051C@server.company1.com` (Q166577)."""


def ims_lookalikes(loop: Loop) -> list[str]:
    """Ring hosts that look like an Exchange IMS from what other hosts logged about them.

    With only a relay's log there is no IMS log to say so: the Message-IDs the peer creates (the
    Exchange hex form, domain on the peer), its X-Mailer or Received software, or its banner do.
    """
    hosts = set(loop.hosts)
    found: dict[str, str] = {}
    for ev in loop.events:
        for host in (ev.peer_host, ev.origin_host):
            if host in hosts and host not in found and _ims_sign(ev, host):
                found[host] = host
    return sorted(found)


def _ims_sign(ev: Event, host: str) -> bool:
    mid = ev.message_id or ""
    if EXCHANGE_MESSAGE_ID.match(mid) and _same_domain(mid.rsplit("@", 1)[1], host):
        return True
    for name, value in ev.headers:
        if name in ("x-mailer", "x-peer-software") and "internet mail service" in value.lower():
            return True
    return False


def _same_domain(a: str, host: str) -> bool:
    """`imc1.company.com` made a Message-ID `...@imc1.company.com` (or `...@IMC1`)."""
    a, host = a.lower().rstrip("."), host.lower()
    return a == host or a.split(".", 1)[0] == host.split(".", 1)[0]
