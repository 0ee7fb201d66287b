"""Time stamps and RFC 822 text as each kind of server writes them, from the KB samples and real logs."""

from __future__ import annotations

from datetime import datetime, timezone, tzinfo

from .model import Machine, Msg

MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def local(t: datetime, tz: tzinfo) -> datetime:
    return t.astimezone(tz)


def ims_stamp(t: datetime, tz: tzinfo) -> str:
    """`M/D/YY H:MM:SS AM|PM`, local time, no zone (Q295725, Q262945, Q228725)."""
    lt = local(t, tz)
    h12 = lt.hour % 12 or 12
    ampm = "AM" if lt.hour < 12 else "PM"
    return f"{lt.month}/{lt.day}/{lt.year % 100:02d} {h12}:{lt.minute:02d}:{lt.second:02d} {ampm}"


def tracking_stamp(t: datetime) -> str:
    """`yyyy.m.d h:mm:s` in GMT, no zero padding on month, day, hour or seconds (Q153188 shows `18:32:9`)."""
    g = t.astimezone(timezone.utc)
    return f"{g.year}.{g.month}.{g.day} {g.hour}:{g.minute:02d}:{g.second}"


def syslog_stamp(t: datetime, tz: tzinfo) -> str:
    """`Mar  5 10:00:01`: BSD syslog, local time, no year, no zone."""
    lt = local(t, tz)
    return f"{MONTHS[lt.month - 1]} {lt.day:2d} {lt.hour:02d}:{lt.minute:02d}:{lt.second:02d}"


def exim_stamp(t: datetime, tz: tzinfo) -> str:
    """`1999-03-15 10:00:01`: Exim mainlog, local time, no zone."""
    return local(t, tz).strftime("%Y-%m-%d %H:%M:%S")


def rfc822_date(t: datetime, tz: tzinfo) -> str:
    """`Mon, 15 Mar 1999 10:00:01 -0500` in the writer's own zone."""
    lt = local(t, tz)
    off = lt.utcoffset()
    minutes = int(off.total_seconds() // 60) if off is not None else 0
    sign = "-" if minutes < 0 else "+"
    minutes = abs(minutes)
    return (
        f"{DAYS[lt.weekday()]}, {lt.day} {MONTHS[lt.month - 1]} {lt.year} "
        f"{lt.hour:02d}:{lt.minute:02d}:{lt.second:02d} {sign}{minutes // 60:02d}{minutes % 60:02d}"
    )


def ims_version_text(build: str) -> str:
    """Software text in the IMS's own inbound `Received:` line (Q190084, Q190709)."""
    return f"Microsoft Exchange Internet Mail Service Version {build}"


def ims_banner(m: Machine) -> str:
    """The IMS 220 banner: 5.5 form from Q194131, 5.0 form from Q182821."""
    assert m.build is not None
    if m.build.startswith("5.0"):
        return f"220 {m.banner_host} Microsoft Exchange Internet Mail Service {m.build} ready"
    return f"220 {m.banner_host} ESMTP Server (Microsoft Exchange Internet Mail Service {m.build}) Ready."


def banner(m: Machine, t: datetime) -> str:
    """The 220 greeting a peer sends, as real MTAs word it."""
    if m.kind == "ims":
        return ims_banner(m)
    date = rfc822_date(t, m.tz)
    if m.kind == "sendmail":
        return f"220 {m.banner_host} ESMTP Sendmail 8.9.3/8.9.3; {date}"
    if m.kind == "exim":
        return f"220 {m.banner_host} ESMTP Exim 3.12 #1 {date}"
    return f"220 {m.banner_host} ESMTP Postfix"


def rfc822_text(msg: Msg, received: list[str]) -> str:
    """Header block (newest Received first) and body, LF line ends, folded with a tab."""
    lines = [f"Received: {r}" for r in received]
    lines += [f"{k}: {v}" for k, v in msg.headers]
    return "\n".join(lines) + "\n\n" + msg.body
