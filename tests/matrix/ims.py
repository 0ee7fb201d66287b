"""Exchange 5.x IMS files: SMTP protocol log (§1.3), tracking log (§3), In/Out archives (§2)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from .fmt import banner, ims_stamp, tracking_stamp
from .model import Leg, Machine, Msg, OutFile, secs

if TYPE_CHECKING:
    from .world import World

Line = tuple[datetime | None, str]
"""A protocol-log line: its time, or None for a continuation line written without a stamp."""

EHLO_EXTENSIONS = ("250-XEXCH50", "250-HELP", "250-ETRN", "250-DSN", "250-SIZE 0", "250-AUTH LOGIN", "250 AUTH=LOGIN")


def _peer_replies(peer: Machine, msg: Msg, leg: Leg) -> dict[str, str]:
    """What a peer answers an IMS that sends to it, worded as that MTA words it."""
    qid = leg.dst_id
    if peer.kind == "ims":
        return {
            "ehlo": f"250-{peer.banner_host} Hello [{{ip}}]",
            "mail": f"250 OK - mail from <{msg.sender}>",
            "rcpt": "250 OK - Recipient <{r}>",
            "data": "354 Send data.  End with CRLF.CRLF",
            "done": "250 OK",
            "quit": "221 closing connection",
        }
    if peer.kind == "sendmail":
        return {
            "ehlo": f"250-{peer.banner_host} Hello {{helo}} [{{ip}}], pleased to meet you",
            "mail": f"250 <{msg.sender}>... Sender ok",
            "rcpt": "250 <{r}>... Recipient ok",
            "data": '354 Enter mail, end with "." on a line by itself',
            "done": f"250 {qid} Message accepted for delivery",
            "quit": f"221 {peer.banner_host} closing connection",
        }
    if peer.kind == "exim":
        return {
            "ehlo": f"250-{peer.banner_host} Hello {{helo}} [{{ip}}]",
            "mail": "250 OK",
            "rcpt": "250 Accepted",
            "data": '354 Enter message, ending with "." on a line by itself',
            "done": f"250 OK id={qid}",
            "quit": f"221 {peer.banner_host} closing connection",
        }
    return {
        "ehlo": f"250-{peer.banner_host}",
        "mail": "250 Ok",
        "rcpt": "250 Ok",
        "data": "354 End data with <CR><LF>.<CR><LF>",
        "done": f"250 Ok: queued as {qid}",
        "quit": "221 Bye",
    }


def _mail_cmd(peer: Machine, msg: Msg) -> str:
    """The MAIL command as the sending MTA writes it (case and spacing differ, Q262945/Q250507)."""
    size = msg.size()
    if peer.kind == "ims":
        return f"MAIL FROM: <{msg.sender}>"
    if peer.kind == "sendmail":
        return f"MAIL From:<{msg.sender}> SIZE={size}"
    return f"MAIL FROM:<{msg.sender}> SIZE={size}"


def inbound_session(world: World, m: Machine, peer: Machine, msg: Msg, leg: Leg) -> list[Line]:
    """An SMTP session the IMS accepted, in the Q295725 / Q262945 shape."""
    t = leg.t
    out: list[Line] = [(t, f"A connection was accepted from {world.ims_accepted_name(peer)}")]
    out.append((t, f"<<< EHLO {peer.helo}"))
    shown = peer.ip if world.combo.names == "ip-only" else peer.helo
    out.append((t, f">>> 250-{m.banner_host} Hello [{shown}]"))
    out += [(None, x) for x in EHLO_EXTENSIONS[:-1]] + [(None, EHLO_EXTENSIONS[-1])]
    t1 = t + secs(1)
    out.append((t1, f"<<< {_mail_cmd(peer, msg)}"))
    out.append((t1, f">>> 250 OK - mail from <{msg.sender}>"))
    for r in (*msg.rcpts, *msg.bcc):
        rc = "RCPT To" if peer.kind == "sendmail" else "RCPT TO"
        out.append((t1, f"<<< {rc}:<{r}>"))
        out.append((t1, f">>> 250 OK - Recipient <{r}>"))
    out.append((t1, "<<< DATA"))
    out.append((t1, ">>> 354 Send data.  End with CRLF.CRLF"))
    t2 = t + secs(2)
    out.append((t2, ">>> 250 OK"))
    out.append((t2, "<<< QUIT"))
    out.append((t2, ">>> 221 closing connection"))
    return out


def outbound_session(world: World, m: Machine, peer: Machine, msg: Msg, leg: Leg) -> list[Line]:
    """An SMTP session the IMS opened: with `>>>`/`<<<` markers (Q245787) or without them (Q228725)."""
    t = leg.t
    rep = _peer_replies(peer, msg, leg)
    ehlo_reply = rep["ehlo"].format(helo=m.helo, ip=m.ip)
    greet = banner(peer, t)
    target = world.ims_connect_target(peer)
    out: list[Line] = [(t, f"A connection to {target} was established.")]
    t1, t2 = t + secs(1), t + secs(2)
    if world.combo.proto_style == "markers":

        def got(when: datetime, text: str) -> None:
            out.append((when, f"<<< IO: |{text}"))
            out.append((when, f"<<< {text}"))

        got(t, greet)
        out.append((t, f">>> EHLO {m.helo}"))
        out.append((t, f"<<< IO: |{ehlo_reply}"))
        out.append((None, "250-SIZE"))
        out.append((None, "250 HELP"))
        out.append((t1, f">>> MAIL FROM: <{msg.sender}>"))
        got(t1, rep["mail"])
        for r in msg.rcpts:
            out.append((t1, f">>> RCPT TO:<{r}>"))
            got(t1, rep["rcpt"].format(r=r))
        out.append((t1, ">>> DATA"))
        got(t1, rep["data"])
        got(t2, rep["done"])
        out.append((t2, ">>> QUIT"))
        out.append((t2, f"<<< IO: |{rep['quit']}"))
        return out
    out.append((t, f"IO: |{greet}"))
    out.append((t, f"EHLO {m.helo}"))
    out.append((t, f"IO: |{ehlo_reply}"))
    out.append((None, "250-SIZE"))
    out.append((None, "250 HELP"))
    out.append((t1, f"MAIL FROM:{msg.sender}" if msg.sender else "MAIL FROM:<>"))
    out.append((t1, f"IO: |{rep['mail']}"))
    for r in msg.rcpts:
        out.append((t1, f"RCPT TO:{r}"))
        out.append((t1, f"IO: |{rep['rcpt'].format(r=r)}"))
    out.append((t1, "DATA"))
    out.append((t1, f"IO: |{rep['data']}"))
    out.append((t1, rep["data"]))
    out.append((t2, f"IO: |{rep['done']}"))
    out.append((t2, "QUIT"))
    out.append((t2, f"IO: |{rep['quit']}"))
    return out


def protocol_log(world: World, m: Machine) -> list[OutFile]:
    """`Exchsrvr\\Imcdata\\Log\\L0000000.LOG`: every session of the IMS, oldest first."""
    sessions: list[tuple[datetime, list[Line], frozenset[tuple[str, str]]]] = []
    for msg in world.msgs:
        for leg in msg.legs:
            if leg.dst == m.key:
                peer = world.machines[leg.src]
                sessions.append((leg.t, inbound_session(world, m, peer, msg, leg), frozenset()))
            elif leg.src == m.key:
                peer = world.machines[leg.dst]
                seen = frozenset({(peer.key, peer.build)}) if peer.kind == "ims" and peer.build else frozenset()
                sessions.append((leg.t, outbound_session(world, m, peer, msg, leg), seen))
    sessions.sort(key=lambda s: s[0])
    lines: list[str] = []
    builds: set[tuple[str, str]] = set()
    for _, sess, seen in sessions:
        builds |= seen
        for when, text in sess:
            lines.append(text if when is None else f"{ims_stamp(when, m.tz)} : {text}")
    data = world.ims_bytes("\n".join(lines) + "\n")
    rel = f"{m.folder}/Exchsrvr/Imcdata/Log/L0000000.LOG"
    return [OutFile(rel, data, m.key, "protocol", frozenset(builds), world.end)]


def _dn(world: World, m: Machine, *tail: str) -> str:
    return f"/o={world.org}/ou={world.site_of(m)}/cn=Configuration/" + "/".join(tail)


def tracking_log(world: World, m: Machine) -> list[OutFile]:
    """`Exchsrvr\\Tracking.log\\yyyymmdd.log` (GMT date): tab-separated records, events 1010-1017 (Q173280)."""
    gateway = _dn(world, m, "cn=Connections", f"cn=Internet Mail Service ({m.netbios})")
    mdb = _dn(world, m, "cn=Servers", f"cn={m.netbios}", "cn=Microsoft Private MDB")
    recs: list[tuple[datetime, int, list[str], tuple[str, ...], bool]] = []

    def rec(t: datetime, event: int, ident: str, partner: str, remote: str, msg: Msg, about: str, gw: str) -> None:
        is_report = msg.kind in ("dr", "ndr")
        originator = world.originator_dn(msg)
        fields = [
            ident,
            str(event),
            tracking_stamp(t),
            gw,
            partner,
            remote,
            originator,
            "0",
            str(msg.size()),
            "0",
            "1",
            about,
            str(len(msg.rcpts)),
        ]
        recs.append((t, event, fields, msg.rcpts, is_report))

    for msg in world.msgs:
        if msg.creator == m.key and msg.kind in ("dr", "ndr"):
            rec(msg.created, 1017, msg.mts_id, "", "", msg, msg.about_mts, gateway)
        for leg in msg.legs:
            if leg.dst == m.key:
                peer = world.machines[leg.src]
                ident = world.mts_id(m, leg.t)
                remote = f"<{msg.msgid}>[{leg.dst_id}]"
                # inbound Partner is undocumented (open question 8): reconstructed as the sending host, as resolved
                partner = world.ims_accepted_name(peer).rstrip(".")
                if msg.kind in ("dr", "ndr"):
                    rec(leg.t + secs(2), 1015, ident, partner, remote, msg, "", gateway)
                else:
                    rec(leg.t + secs(2), 1012, ident, partner, remote, msg, "", gateway)
                    rec(leg.t + secs(4), 1013, ident, mdb, remote, msg, "", gateway)
            elif leg.src == m.key:
                ident = msg.mts_id if msg.creator == m.key else world.mts_id(m, leg.t)
                remote = f"<{msg.msgid}>[{leg.src_id}]"
                # Q153188 (1003 transfer out): Partner = the destination domain, not the next host
                partner = msg.rcpts[0].split("@")[1]
                rec(leg.t - secs(1), 1010, ident, partner, remote, msg, "", gateway)
                rec(leg.t + secs(2), 1011, ident, partner, remote, msg, "", gateway)
    recs.sort(key=lambda r: (r[0], r[1]))
    by_day: dict[str, list[str]] = {}
    for t, _, fields, rcpts, is_report in recs:
        text = "\t".join(fields)
        for r in rcpts:  # Q173280: the recipient name is "separated from the previous field by a linefeed"
            text += "\n" + r + ("\t0" if is_report else "")
        day = t.astimezone(world.utc).strftime("%Y%m%d")
        by_day.setdefault(day, []).append(text)
    out: list[OutFile] = []
    for day, texts in sorted(by_day.items()):
        eol = world.eol
        data = (eol.join(texts) + eol).encode("latin-1")
        out.append(
            OutFile(f"{m.folder}/Exchsrvr/Tracking.log/{day}.log", data, m.key, "tracking", frozenset(), world.end)
        )
    return out


def _envelope(world: World, m: Machine, msg: Msg, host: str) -> bytes:
    """The binary `ImCr` ... `EwLs` envelope of a spool or archive file, laid out like the Q190709 sample."""
    kind = world.combo.envelope
    if kind == "plain":
        return b""
    rcpts = [*msg.rcpts, *msg.bcc] if kind == "binary-bcc" else list(msg.rcpts)
    mts = msg.mts_id or world.mts_id(m, msg.created)
    parts = [
        b"\xf7\x00\x00\x00ImCr\x00\x00\x00\x00\x00\x00\x00\x00\xa0\xd8MK\xfa\xe9\xbc\x00\x00\x00\x00\x00\x00\x00\x00",
        f"{host} {host}".encode("latin-1"),
        b"\x00\x00",
        f"<{msg.sender}>".encode("latin-1"),
        b"\x00\x00\x00",
        mts.encode("latin-1"),
        b"\x00X\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x009B\x00\x00\x00\x00\x00\x00\x00\x00h\xd8 h\xd8",
    ]
    for r in rcpts:
        parts.append(f"<{r}>\x00\x00".encode("latin-1"))
    parts.append(b"DEN> roEwLs")
    return b"".join(parts)


def archives(world: World, m: Machine) -> list[OutFile]:
    """`Imcdata\\In\\Archive` (copy taken from /IN, own Received on top) and `Imcdata\\Out\\Archive` copies."""
    out: list[OutFile] = []
    for msg in world.msgs:
        for i, leg in enumerate(msg.legs):
            if leg.dst == m.key:
                text, builds = world.message_text(msg, i + 1)
                peer = world.machines[leg.src]
                env = _envelope(world, m, msg, peer.helo)
                rel = f"{m.folder}/Exchsrvr/Imcdata/In/Archive/{leg.dst_id}"
            elif leg.src == m.key:
                text, builds = world.message_text(msg, i)
                env = _envelope(world, m, msg, m.helo)
                rel = f"{m.folder}/Exchsrvr/Imcdata/Out/Archive/{leg.src_id}"
            else:
                continue
            out.append(OutFile(rel, env + world.ims_bytes(text), m.key, "archive", builds, leg.t + secs(3)))
    return out
