"""Writer for Exim 4 mainlog lines (<=, =>, **, Completed)."""

from __future__ import annotations

from datetime import datetime

from .common import fmt_exim


def arrival(t: datetime, mid: str, sender: str, host: str, ip: str, size: int, msgid: str, proto: str = "esmtp") -> str:
    """`<=` for a message received over SMTP."""
    shown = sender or "<>"
    return f"{fmt_exim(t)} {mid} <= {shown} H={host} [{ip}] P={proto} S={size} id={msgid[1:-1]}"


def bounce_arrival(t: datetime, mid: str, parent: str, user: str, size: int, subject: str) -> str:
    """`<= <> R=parent` for a bounce Exim generated itself."""
    return f'{fmt_exim(t)} {mid} <= <> R={parent} U={user} P=local S={size} T="{subject}"'


def delivery(t: datetime, mid: str, rcpt: str, router: str, transport: str, host: str, ip: str, reply: str) -> str:
    """`=>` for a remote SMTP delivery."""
    return f'{fmt_exim(t)} {mid} => {rcpt} R={router} T={transport} H={host} [{ip}] C="{reply}"'


def local_delivery(t: datetime, mid: str, rcpt: str, router: str, transport: str) -> str:
    """`=>` for a local mailbox delivery."""
    return f"{fmt_exim(t)} {mid} => {rcpt.split('@')[0]} <{rcpt}> R={router} T={transport}"


def failure(t: datetime, mid: str, rcpt: str, reason: str) -> str:
    """`**` for a permanent failure."""
    return f"{fmt_exim(t)} {mid} ** {rcpt}: {reason}"


def completed(t: datetime, mid: str) -> str:
    return f"{fmt_exim(t)} {mid} Completed"
