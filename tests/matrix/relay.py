"""Unix relay logs (Sendmail and Postfix syslog, Exim mainlog) in the exact syntax of the real corpus logs."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from .fmt import exim_stamp, syslog_stamp
from .model import Leg, Machine, Msg, OutFile, secs

if TYPE_CHECKING:
    from .world import World


def _transits(world: World, r: Machine) -> list[tuple[Msg, Leg, Leg]]:
    """(message, leg into the relay, leg out of it) for every message the relay passed on."""
    out: list[tuple[Msg, Leg, Leg]] = []
    for msg in world.msgs:
        for i, leg in enumerate(msg.legs[:-1]):
            if leg.dst == r.key and msg.legs[i + 1].src == r.key:
                out.append((msg, leg, msg.legs[i + 1]))
    return out


def _done_reply(dst: Machine, qid: str) -> str:
    if dst.kind == "ims":
        return "250 OK"
    return f"250 2.0.0 Ok: queued as {qid}"


def _client(world: World, r: Machine, src: Machine) -> tuple[str, str]:
    """(name or None-marker, ip) of a connecting client as the relay resolved it."""
    if world.combo.names == "no-rdns":
        return "", src.ip
    return src.fqdn, src.ip


def sendmail_log(world: World, r: Machine) -> list[OutFile]:
    """`/var/log/maillog` of Sendmail 8.x: a `from=` line on receipt and a `to=` line per delivery."""
    rows: list[tuple[datetime, str]] = []
    pid = 4100
    for msg, inleg, outleg in _transits(world, r):
        pid += 7
        src, dst = world.machines[inleg.src], world.machines[outleg.dst]
        name, ip = _client(world, r, src)
        client = f"{name} [{ip}]" if name else f"[{ip}]"
        qid = inleg.dst_id
        rows.append(
            (
                inleg.t + secs(1),
                f"sendmail[{pid}]: {qid}: from=<{msg.sender}>, size={msg.size()}, class=0, "
                f"nrcpts={len(msg.rcpts)}, msgid=<{msg.msgid}>, proto=ESMTP, daemon=MTA, relay={client}",
            )
        )
        delay = int((outleg.t - inleg.t).total_seconds()) + 1
        to = ",".join(f"<{x}>" for x in msg.rcpts)
        rows.append(
            (
                outleg.t + secs(1),
                f"sendmail[{pid + 2}]: {qid}: to={to}, delay=00:00:{delay:02d}, "
                f"xdelay=00:00:01, mailer=esmtp, pri={30000 + msg.size()}, relay={dst.fqdn}. [{dst.ip}], "
                f"dsn=2.0.0, stat=Sent ({_done_reply(dst, outleg.dst_id)})",
            )
        )
    rows.sort(key=lambda x: x[0])
    text = "".join(f"{syslog_stamp(t, r.tz)} {r.syslog_host} {line}\n" for t, line in rows)
    return [OutFile(f"{r.folder}/var/log/maillog", text.encode(), r.key, "relaylog", frozenset(), world.end)]


def postfix_log(world: World, r: Machine) -> list[OutFile]:
    """`/var/log/mail.log` of Postfix: smtpd connect/client, cleanup, qmgr, smtp to=..., removed."""
    rows: list[tuple[datetime, int, str]] = []
    pid = 21000
    seq = 0
    for msg, inleg, outleg in _transits(world, r):
        pid += 13
        src, dst = world.machines[inleg.src], world.machines[outleg.dst]
        name, ip = _client(world, r, src)
        client = f"{name or 'unknown'}[{ip}]"
        qid = inleg.dst_id
        t = inleg.t

        def add(when: datetime, line: str) -> None:
            nonlocal seq
            seq += 1
            rows.append((when, seq, line))

        add(t, f"postfix/smtpd[{pid}]: connect from {client}")
        add(t + secs(1), f"postfix/smtpd[{pid}]: {qid}: client={client}")
        add(t + secs(1), f"postfix/cleanup[{pid + 3}]: {qid}: message-id=<{msg.msgid}>")
        add(
            t + secs(1),
            f"postfix/qmgr[1187]: {qid}: from=<{msg.sender}>, size={msg.size()}, nrcpt={len(msg.rcpts)} (queue active)",
        )
        add(t + secs(2), f"postfix/smtpd[{pid}]: disconnect from {client}")
        delay = (outleg.t - inleg.t).total_seconds() + 0.4
        for x in msg.rcpts:
            add(
                outleg.t + secs(1),
                f"postfix/smtp[{pid + 5}]: {qid}: to=<{x}>, relay={dst.fqdn}[{dst.ip}]:25, "
                f"delay={delay:.1f}, delays=0.1/0.01/0.2/0.1, dsn=2.0.0, "
                f"status=sent ({_done_reply(dst, outleg.dst_id)})",
            )
        add(outleg.t + secs(1), f"postfix/qmgr[1187]: {qid}: removed")
    rows.sort(key=lambda x: (x[0], x[1]))
    text = "".join(f"{syslog_stamp(t, r.tz)} {r.syslog_host} {line}\n" for t, _, line in rows)
    return [OutFile(f"{r.folder}/var/log/mail.log", text.encode(), r.key, "relaylog", frozenset(), world.end)]


def exim_log(world: World, r: Machine) -> list[OutFile]:
    """`/var/log/exim/mainlog`: `<=` arrival, `=>` delivery, `Completed`, local time, no host prefix."""
    rows: list[tuple[datetime, int, str]] = []
    seq = 0
    for msg, inleg, outleg in _transits(world, r):
        src, dst = world.machines[inleg.src], world.machines[outleg.dst]
        name, ip = _client(world, r, src)
        if name and src.helo.lower() == name.lower():
            host = f"{name} [{ip}]"
        elif name:
            host = f"{name} ({src.helo}) [{ip}]"
        else:
            host = f"({src.helo}) [{ip}]"
        qid = inleg.dst_id
        sender = msg.sender or "<>"
        seq += 1
        rows.append((inleg.t + secs(1), seq, f"{qid} <= {sender} H={host} P=esmtp S={msg.size()} id={msg.msgid}"))
        for n, x in enumerate(msg.rcpts):
            flag = "=>" if n == 0 else "->"
            seq += 1
            rows.append(
                (outleg.t + secs(1), seq, f"{qid} {flag} {x} R=dnslookup T=remote_smtp H={dst.fqdn} [{dst.ip}]")
            )
        seq += 1
        rows.append((outleg.t + secs(1), seq, f"{qid} Completed"))
    rows.sort(key=lambda x: (x[0], x[1]))
    text = "".join(f"{exim_stamp(t, r.tz)} {line}\n" for t, _, line in rows)
    return [OutFile(f"{r.folder}/var/log/exim/mainlog", text.encode(), r.key, "relaylog", frozenset(), world.end)]


def relay_log(world: World, r: Machine) -> list[OutFile]:
    if r.kind == "sendmail":
        return sendmail_log(world, r)
    if r.kind == "postfix":
        return postfix_log(world, r)
    return exim_log(world, r)
