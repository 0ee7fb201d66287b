"""Writer for Sendmail 8.9 syslog lines (the relay host's /var/log/maillog)."""

from __future__ import annotations

from datetime import datetime

from .common import fmt_syslog


def _hms(seconds: int) -> str:
    return f"{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


def from_line(
    t: datetime, host: str, pid: int, qid: str, sender: str, size: int, msgid: str, relay: str, nrcpts: int = 1
) -> str:
    """The `from=` line sendmail writes when it has queued a message."""
    return (
        f"{fmt_syslog(t)} {host} sendmail[{pid}]: {qid}: from=<{sender}>, size={size}, class=0, "
        f"pri={30000 + size}, nrcpts={nrcpts}, msgid={msgid}, proto=ESMTP, relay={relay}"
    )


def to_line(
    t: datetime, host: str, pid: int, qid: str, rcpt: str, delay: int, relay: str, stat: str, mailer: str = "esmtp"
) -> str:
    """The `to=` line sendmail writes after a delivery attempt."""
    return (
        f"{fmt_syslog(t)} {host} sendmail[{pid}]: {qid}: to=<{rcpt}>, delay={_hms(delay)}, "
        f"xdelay={_hms(min(delay, 1))}, mailer={mailer}, relay={relay}, stat={stat}"
    )
