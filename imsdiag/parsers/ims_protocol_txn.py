"""IMS protocol-log transactions: what one SMTP transaction collects from its commands, replies and headers."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

from ..models import Direction, Event, LoopSignal, ReportKind, Source, TimeQuality
from ..names import normalize_message_id, report_kind_from_subject
from .base import ParseContext

NAME = Source.IMS_PROTOCOL
"""The format's name: the source of every Event read here."""

_HEADER = re.compile(r"^([A-Za-z0-9][A-Za-z0-9-]{0,75}):[ \t]?")
_HARVESTED = frozenset({"subject", "message-id", "from", "x-mailer", "received"})

MAX_HEADERS = 64
"""Harvested header lines kept per transaction."""
MAX_HEADER_VALUE = 4096


@dataclass
class Txn:
    """One SMTP transaction (or a stand-alone deferral or loop line) being assembled."""

    lineno: int
    text: str
    naive: datetime | None
    sender: str | None = None
    size: int | None = None
    recipients: list[str] = field(default_factory=list)
    pending_rcpt: str | None = None
    rcpt_reject: str | None = None
    status: str | None = None
    code: str | None = None
    subject: str | None = None
    loop_signal: LoopSignal | None = None
    in_data: bool = False
    in_body: bool = False
    saw_header: bool = False
    harvested: list[list[str]] = field(default_factory=list)
    last_harvested: bool = False
    direction: Direction = Direction.UNKNOWN
    peer_host: str | None = None
    peer_ip: str | None = None
    helo: str | None = None
    peer_names: tuple[str, ...] = ()
    extra_headers: list[tuple[str, str]] = field(default_factory=list)

    def close(self) -> None:
        """The transaction ends: a recipient whose reply was not logged counts, and a status is settled."""
        if self.pending_rcpt is not None:
            self.recipients.append(self.pending_rcpt)
            self.pending_rcpt = None
        if self.status is None:
            if self.rcpt_reject is not None and not self.recipients:
                self.status, self.code = status_for(self.rcpt_reject), self.rcpt_reject
            else:
                self.status = "incomplete"

    def reply(self, pending: str | None, code: str) -> None:
        """A reply inside the transaction: to MAIL, to each RCPT, to DATA (354) and to the message (after `.`)."""
        if pending == "MAIL" and not code.startswith("2"):
            self.status, self.code = status_for(code), code
        elif pending == "RCPT":
            if code.startswith("2") and self.pending_rcpt is not None:
                self.recipients.append(self.pending_rcpt)
            elif not code.startswith("2"):
                self.rcpt_reject = code
            self.pending_rcpt = None
        elif pending == "DATA" and code.startswith("3"):
            self.in_data = True
        elif pending in {"DATA", "DOT"}:
            self.status, self.code, self.in_data = status_for(code), code, False

    def header_line(self, text: str) -> None:
        """One line of the message inside DATA: the harvested headers are kept, folded lines joined."""
        if self.in_body:
            return
        if not text.strip():
            self.in_body = self.saw_header  # the blank line after the headers; body text is not harvested
            return
        if text[0] in " \t":
            if self.last_harvested and self.harvested:
                entry = self.harvested[-1]
                entry[1] = (entry[1] + " " + text.strip())[:MAX_HEADER_VALUE]
            return
        m = _HEADER.match(text)
        if m is None:
            return
        self.saw_header = True
        name = m.group(1).lower()
        self.last_harvested = name in _HARVESTED and len(self.harvested) < MAX_HEADERS
        if self.last_harvested:
            self.harvested.append([name, text[m.end() :].strip()[:MAX_HEADER_VALUE]])

    def event(
        self, ctx: ParseContext, server: str | None, source: str | None, software: str | None, build: str | None
    ) -> Event:
        """The finished transaction as an Event, on `server` and written by the IMS `software`/`build`."""
        when: datetime | None = None
        quality = TimeQuality.NONE
        if self.naive is not None:
            when, quality = ctx.localize(self.naive, server)
        subject, message_id, headers = self.subject, None, list(self.extra_headers)
        for name, value in self.harvested:
            if name == "subject" and subject is None:
                subject = value
            elif name == "message-id" and message_id is None:
                message_id = normalize_message_id(value)
            elif name != "subject" and name != "message-id":
                headers.append((name, value))
        kind = report_kind_from_subject(subject)
        return Event(
            location=ctx.loc(self.lineno),
            source=NAME,
            text=self.text,
            time=when,
            time_quality=quality,
            server=server,
            server_source=source,
            direction=self.direction,
            peer_host=self.peer_host,
            peer_ip=self.peer_ip,
            helo=self.helo,
            peer_names=self.peer_names,
            sender=self.sender,
            recipients=tuple(self.recipients),
            message_id=message_id,
            subject=subject,
            size=self.size,
            report_kind=ReportKind(kind) if kind in {k.value for k in ReportKind} else ReportKind.NONE,
            status=self.status,
            loop_signal=self.loop_signal,
            software=software,
            build=build,
            event_code=self.code,
            headers=tuple(headers),
        )


@dataclass
class Session:
    """One SMTP connection between `A connection ...` lines."""

    direction: Direction
    peer_host: str | None = None
    peer_ip: str | None = None
    helo: str | None = None
    peer_names: list[str] = field(default_factory=list)
    """Names the peer gave itself: its 220 banner host and EHLO-reply host (outbound sessions)."""
    pending: str | None = None
    """The command whose reply is awaited (`HELO`, `MAIL`, `RCPT`, `DATA`, `DOT`, ...)."""
    peer_headers: list[tuple[str, str]] = field(default_factory=list)
    txn: Txn | None = None


def status_for(code: str) -> str | None:
    """Transaction status a final reply code gives: 2xx accepted, 4xx deferred, 5xx rejected."""
    return {"2": "accepted", "4": "deferred", "5": "rejected"}.get(code[:1])
