"""Writer for the Exchange 5.5 IMS SMTP protocol log (Imcdata\\Log\\L0000000.LOG), Maximum level, CRLF."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from .common import at, fmt_ims, fmt_rfc822

# The EHLO reply the IMS 5.5 sends; continuation lines carry no time stamp (Q262945).
_IMS_EHLO_TAIL = ("250-XEXCH50", "250-HELP", "250-ETRN", "250-DSN", "250-SIZE 0", "250-AUTH LOGIN", "250 AUTH=LOGIN")
_SENDMAIL_EHLO_TAIL = ("250-EXPN", "250-VERB", "250-8BITMIME", "250-SIZE", "250-DSN", "250-ONEX", "250 HELP")


@dataclass(frozen=True)
class Peer:
    """The far end of an outbound session: an IMS (build set) or another MTA (banner set)."""

    host: str
    ip: str
    banner: str = ""
    ims_build: str = ""


@dataclass(frozen=True)
class Envelope:
    """What one SMTP transaction carries: the reverse path ('' for the null sender), recipients, size."""

    sender: str
    recipients: tuple[str, ...]
    size: int


def inbound_session(
    t: datetime, own_host: str, build: str, peer_host: str, env: Envelope, *, ehlo: bool = True
) -> tuple[list[str], datetime]:
    """Lines of one session the IMS accepted from `peer_host`, and the time it ended."""
    lines: list[str] = []

    def put(offset: int, body: str) -> None:
        lines.append(f"{fmt_ims(at(t, offset))} : {body}")

    put(0, f"A connection was accepted from {peer_host}.")
    put(0, f">>> 220 {own_host} ESMTP Server (Microsoft Exchange Internet Mail Service {build}) Ready.")
    if ehlo:
        put(0, f"<<< EHLO {peer_host}")
        put(0, f">>> 250-{own_host} Hello [{peer_host}]")
        lines.extend(_IMS_EHLO_TAIL)
        put(1, f"<<< MAIL FROM:<{env.sender}> SIZE={env.size}")
    else:
        put(0, f"<<< HELO {peer_host}")
        put(0, ">>> 250 OK")
        put(1, f"<<< MAIL FROM:<{env.sender}>")
    put(1, f">>> 250 OK - mail from <{env.sender}>")
    for rcpt in env.recipients:
        put(1, f"<<< RCPT TO:<{rcpt}>")
        put(1, f">>> 250 OK - Recipient <{rcpt}>")
    put(1, "<<< DATA")
    put(1, ">>> 354 Send data.  End with CRLF.CRLF")
    put(2, ">>> 250 OK")
    put(2, "<<< QUIT")
    put(2, ">>> 221 closing connection")
    return lines, at(t, 2)


def outbound_session(
    t: datetime, own_host: str, own_ip: str, peer: Peer, env: Envelope, accept_text: str, zone: str
) -> tuple[list[str], datetime]:
    """Lines of one session the IMS opened to `peer` (Q245787 markers form, with time stamps)."""
    lines: list[str] = []

    def put(offset: int, body: str) -> None:
        lines.append(f"{fmt_ims(at(t, offset))} : {body}")

    def reply(offset: int, text: str, tail: tuple[str, ...] = ()) -> None:
        # The raw packet (`IO: |`) then the parsed reply, as Q245787 shows at Maximum level.
        put(offset, f"<<< IO: |{text}")
        lines.extend(tail)
        put(offset, f"<<< {text}")
        lines.extend(tail)

    put(0, f"A connection to {peer.ip} was established.")
    if peer.ims_build:
        reply(0, f"220 {peer.host} ESMTP Server (Microsoft Exchange Internet Mail Service {peer.ims_build}) Ready.")
        put(0, f">>> EHLO {own_host}")
        reply(0, f"250-{peer.host} Hello [{own_host}]", _IMS_EHLO_TAIL)
    else:
        reply(0, f"220 {peer.host} {peer.banner}; {fmt_rfc822(at(t, 0), zone)}")
        put(0, f">>> EHLO {own_host}")
        reply(0, f"250-{peer.host} Hello {own_host} [{own_ip}], pleased to meet you", _SENDMAIL_EHLO_TAIL)
    put(1, f">>> MAIL FROM: <{env.sender}>")
    if peer.ims_build:
        reply(1, f"250 OK - mail from <{env.sender}>")
    else:
        reply(1, f"250 <{env.sender}>... Sender ok")
    for rcpt in env.recipients:
        put(1, f">>> RCPT TO:<{rcpt}>")
        reply(1, f"250 OK - Recipient <{rcpt}>" if peer.ims_build else f"250 <{rcpt}>... Recipient ok")
    put(1, ">>> DATA")
    reply(
        1,
        "354 Send data.  End with CRLF.CRLF" if peer.ims_build else '354 Enter mail, end with "." on a line by itself',
    )
    reply(2, f"250 {accept_text}")
    put(2, ">>> QUIT")
    reply(2, "221 closing connection" if peer.ims_build else f"221 {peer.host} closing connection")
    return lines, at(t, 2)
