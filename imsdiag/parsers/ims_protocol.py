"""Exchange 5.x IMS SMTP protocol-log parser (`Imcdata\\Log\\L*.LOG`): one Event per SMTP transaction."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import BinaryIO

from ..models import Direction, Event, LoopSignal, ParseIssue, ReportKind, TimeQuality
from ..names import normalize_address, normalize_host, normalize_message_id, report_kind_from_subject
from .base import ParseContext, Parser, Record, decode, iter_lines, looks_binary
from .ims_time import parse_ims_stamp

NAME = "ims-protocol"

# `2/7/01 5:01:20 PM : body`. The stamp follows the server locale, so accept `.`/`-` separators,
# four-digit years and the 24-hour clock; parse_ims_stamp decides whether the values are real.
_TS_LINE = re.compile(
    r"^(\d{1,2}[/.-]\d{1,2}[/.-](?:\d{4}|\d{2})\s{1,4}\d{1,2}:\d{2}:\d{2}(?:\s{0,4}[AaPp]\.?[Mm]\.?)?)\s{0,4}:\s?"
)
# A date followed by the start of a time: the line meant to carry a stamp, so a failure is worth an issue.
_STAMP_LIKE = re.compile(r"^\d{1,4}[/.-]\d{1,2}[/.-]\d{1,4}\s{1,4}\d{1,2}:\d")
# Every shape that begins a new log line even without a stamp (Q245787 and Q250507 carry none).
_LINE_START = re.compile(
    r"^(?:<<<|>>>|IO:\s{0,4}\||A connection (?:was accepted from|to) |\d{3}(?:[ -]|$)"
    r"|(?:HELO|EHLO|AUTH|VRFY|EXPN|ETRN|HELP|XEXCH50)\b|MAIL\s{1,8}FROM\b|RCPT\s{1,8}TO\b"
    r"|(?:DATA|QUIT|RSET|NOOP|TURN|STARTTLS)\s{0,8}$)",
    re.IGNORECASE,
)
_QUOTED_LINE = re.compile(r"\d|IO:|<<<|>>>|A connection ")
_REPLY = re.compile(r"^(\d{3})(?:[ -]|$)")
_REPLY_MORE = re.compile(r"^\d{3}-")
_COMMAND = re.compile(r"^([A-Za-z][A-Za-z0-9]{1,15})\b")
_MAIL_FROM = re.compile(r"^MAIL\s{1,8}FROM\s{0,8}:?\s{0,8}", re.IGNORECASE)
_RCPT_TO = re.compile(r"^RCPT\s{1,8}TO\s{0,8}:?\s{0,8}", re.IGNORECASE)
_SIZE_PARAM = re.compile(r"\bSIZE=(\d{1,15})\b", re.IGNORECASE)
_BRACKET_IP = re.compile(r"\[(\d{1,3}(?:\.\d{1,3}){3})\]")
_HOST_TOKEN = re.compile(r"^[A-Za-z0-9_](?:[A-Za-z0-9_.-]{0,252}[A-Za-z0-9_])?\.?$")
_IMS_SOFTWARE = re.compile(
    r"((?:Microsoft Exchange )?Internet Mail (?:Service|Connector)(?: Version)? \(?"
    r"(\d{1,2}\.\d{1,2}\.\d{1,5}(?:\.\d{1,5})?))",
    re.IGNORECASE,
)
_NO_ROUTE = re.compile(r"No routing hosts are reachable for\s{1,4}(\S{1,255})", re.IGNORECASE)
_HEADER = re.compile(r"^([A-Za-z0-9][A-Za-z0-9-]{0,75}):[ \t]?")
_HOP_LIMIT = re.compile(r"too many hops|\(00120270\)|hop count exceeded", re.IGNORECASE)

_SUBJECT_MARK = "message subject:"
_RESCHEDULE_MARK = "rescheduling delivery for later"
_HARVESTED = frozenset({"subject", "message-id", "from", "x-mailer", "received"})
_NOT_HOSTS = frozenset({"ok", "hello", "requested", "welcome", "ready"})

MAX_PARTS = 200
"""Continuation lines joined to one logical line at most; more start a new line (bounded memory)."""
MAX_JOINED = 1 << 16
"""Characters of continuation text joined to one logical line at most."""
MAX_HEADERS = 64
"""Harvested header lines kept per transaction."""
MAX_HEADER_VALUE = 4096
MAX_TEXT = 4096
"""Evidence text kept per event."""
MAX_WAITING = 256
"""Events held back while the server name or build is still unknown; beyond this they go out as they are."""


@dataclass
class _Line:
    """One logical log line: a stamped (or stamp-less start) line plus its continuation lines."""

    lineno: int
    raw: str
    naive: datetime | None
    parts: list[str]
    """The body of the first physical line (stamp removed), then each continuation line."""
    size: int = 0

    @property
    def last_part(self) -> str:
        return self.parts[-1] if len(self.parts) > 1 else split_marker(self.parts[0])[2]


@dataclass
class _Txn:
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


@dataclass
class _Session:
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
    txn: _Txn | None = None


def split_marker(body: str) -> tuple[str | None, bool, str]:
    """Split `<<< IO: |payload` into (marker, is-raw-echo, payload)."""
    marker: str | None = None
    s = body
    if s.startswith(("<<<", ">>>")):
        marker, s = s[:3], s[3:].lstrip(" ")
    if s.startswith("IO:"):
        rest = s[3:].lstrip(" ")
        if rest.startswith("|"):
            return marker, True, rest[1:]
    return marker, False, s


def _same_payload(a: str, b: str) -> bool:
    """Whether a raw `IO: |` echo and the parsed line after it say the same (spacing and case aside)."""
    return " ".join(a[:MAX_TEXT].split()).lower() == " ".join(b[:MAX_TEXT].split()).lower()


def _unquote(subject: str) -> str:
    """`""Case 27375""` (Q228725) or `"x"` -> the subject inside the quotes."""
    s = subject.strip()
    if len(s) >= 4 and s.startswith('""') and s.endswith('""'):
        return s[2:-2]
    if len(s) >= 2 and s.startswith('"') and s.endswith('"'):
        return s[1:-1]
    return s


def parse_reschedule(text: str) -> tuple[str, str | None, str | None, str | None] | None:
    """Read `<error> Message subject: <subj>. Rescheduling delivery for later.` (Q146669, Q239816).

    Returns (error text, reply code, destination domain, subject) or None when the line is not one.
    String search, not a regex, because the line may be a hostile megabyte.
    """
    low = text.lower()
    i = low.find(_SUBJECT_MARK)
    j = low.rfind(_RESCHEDULE_MARK)
    if i < 0 or j < i:
        return None
    error = text[:i].strip()
    subject = text[i + len(_SUBJECT_MARK) : j].strip()
    if subject.endswith("."):
        subject = subject[:-1].rstrip()
    subject = _unquote(subject)
    code = error[:3] if error[:3].isdigit() else None
    m = _NO_ROUTE.search(error[:2000])
    domain = normalize_host(m.group(1).rstrip(".")) if m else None
    return error, code, domain, subject or None


def loop_signal_of(text: str) -> LoopSignal | None:
    """Explicit loop evidence in a log line: a hop limit, or a detected loop."""
    if _HOP_LIMIT.search(text):
        return LoopSignal.HOP_LIMIT
    low = text.lower()
    if "loop" in low and "detected" in low:
        return LoopSignal.ROUTING_LOOP
    return None


def is_ipv4(text: str) -> bool:
    try:
        ipaddress.IPv4Address(text)
    except ValueError:
        return False
    return True


def _host_token(text: str) -> str | None:
    """The first word of `text` when it reads as a host name (not `OK`, not a number)."""
    words = text.split(None, 1)
    if not words:
        return None
    word = words[0].rstrip(",")
    if not _HOST_TOKEN.match(word) or word.lower() in _NOT_HOSTS or word.replace(".", "").isdigit():
        return None
    return word


def _add_peer_name(s: _Session, host: str | None) -> None:
    name = normalize_host(host)
    if name and name not in s.peer_names and len(s.peer_names) < 4:
        s.peer_names.append(name)


def _mail_args(rest: str) -> tuple[str, str]:
    """Split the argument of MAIL FROM / RCPT TO into (address, ESMTP parameters)."""
    s = rest.strip()
    if s.startswith("<"):
        end = s.find(">")
        if end >= 0:
            return s[: end + 1], s[end + 1 :]
        return s, ""
    words = s.split(None, 1)
    if not words:
        return "", ""
    return words[0], words[1] if len(words) > 1 else ""


def _status_for(code: str) -> str | None:
    """Transaction status a final reply code gives: 2xx accepted, 4xx deferred, 5xx rejected."""
    return {"2": "accepted", "4": "deferred", "5": "rejected"}.get(code[:1])


class _Reader:
    """Per-file state machine: sessions, transactions and server identity."""

    def __init__(self, ctx: ParseContext) -> None:
        self.ctx = ctx
        self.session: _Session | None = None
        self.io_held: _Line | None = None
        self.server: str | None = None
        self.server_source: str | None = None
        self.software: str | None = None
        self.build: str | None = None
        self.waiting: list[_Txn] = []
        self.out: list[Record] = []

    # --- output -------------------------------------------------------------------------

    def drain(self) -> list[Record]:
        out, self.out = self.out, []
        return out

    def _ready(self, txn: _Txn) -> None:
        """Queue a finished transaction; it waits until the file has named its server and build."""
        self.waiting.append(txn)
        if (self.server is not None and self.build is not None) or len(self.waiting) > MAX_WAITING:
            self._flush()

    def _flush(self) -> None:
        for txn in self.waiting:
            self.out.append(self._event(txn))
        self.waiting = []

    def _event(self, t: _Txn) -> Event:
        server, source = self.server, self.server_source
        if server is None:
            server, source = self.ctx.server_hint, self.ctx.server_hint_source if self.ctx.server_hint else None
        when: datetime | None = None
        quality = TimeQuality.NONE
        if t.naive is not None:
            when, quality = self.ctx.localize(t.naive, server)
        subject, message_id, headers = t.subject, None, list(t.extra_headers)
        for name, value in t.harvested:
            if name == "subject" and subject is None:
                subject = value
            elif name == "message-id" and message_id is None:
                message_id = normalize_message_id(value)
            elif name != "subject" and name != "message-id":
                headers.append((name, value))
        kind = report_kind_from_subject(subject)
        return Event(
            location=self.ctx.loc(t.lineno),
            source=NAME,
            text=t.text,
            time=when,
            time_quality=quality,
            server=server,
            server_source=source,
            direction=t.direction,
            peer_host=t.peer_host,
            peer_ip=t.peer_ip,
            helo=t.helo,
            peer_names=t.peer_names,
            sender=t.sender,
            recipients=tuple(t.recipients),
            message_id=message_id,
            subject=subject,
            size=t.size,
            report_kind=ReportKind(kind) if kind in {k.value for k in ReportKind} else ReportKind.NONE,
            status=t.status,
            loop_signal=t.loop_signal,
            software=self.software,
            build=self.build,
            event_code=t.code,
            headers=tuple(headers),
        )

    # --- identity -----------------------------------------------------------------------

    def _learn_server(self, host: str | None, source: str) -> None:
        if self.server is None and host and _HOST_TOKEN.match(host):
            self.server = normalize_host(host)
            self.server_source = source if self.server else None

    def _banner(self, s: _Session, text: str) -> None:
        """A 220 greeting: the IMS's own on an inbound session, the peer's on an outbound one."""
        m = _IMS_SOFTWARE.search(text[:MAX_TEXT])
        if s.direction is Direction.OUT:
            # The peer names itself: the host map ties this name to the address connected to.
            _add_peer_name(s, _host_token(text[3:].lstrip(" -")))
            if m:
                s.peer_headers.append(("x-peer-software", m.group(1)))
            return
        self._learn_server(_host_token(text[3:].lstrip(" -")), "banner")
        if m and self.build is None:
            self.software, self.build = m.group(1), m.group(2)

    # --- sessions and transactions --------------------------------------------------------

    def _open_session(self, direction: Direction, peer: str | None) -> _Session:
        self._close_session()
        s = _Session(direction)
        if peer:
            s.peer_host = peer if direction is Direction.OUT else normalize_host(peer)
            if is_ipv4(peer):
                s.peer_ip = peer
        self.session = s
        self.ctx.count("sessions")
        return s

    def _close_session(self) -> None:
        if self.session is not None:
            self._close_txn(self.session)
            self.session = None

    def _close_txn(self, s: _Session) -> None:
        t = s.txn
        if t is None:
            return
        s.txn = None
        if t.pending_rcpt is not None:
            t.recipients.append(t.pending_rcpt)
            t.pending_rcpt = None
        if t.status is None:
            if t.rcpt_reject is not None and not t.recipients:
                t.status, t.code = _status_for(t.rcpt_reject), t.rcpt_reject
            else:
                t.status = "incomplete"
        t.direction, t.peer_host, t.peer_ip, t.helo = s.direction, s.peer_host, s.peer_ip, s.helo
        t.peer_names = tuple(s.peer_names)
        t.extra_headers.extend(s.peer_headers)
        self.ctx.count("transactions")
        self._ready(t)

    def _standalone(self, line: _Line, text: str, **values: object) -> None:
        """An event that belongs to no transaction: a deferral line or a loop line."""
        t = _Txn(line.lineno, line.raw[:MAX_TEXT], line.naive)
        s = self.session
        if s is not None:
            t.direction, t.peer_host, t.peer_ip, t.helo = s.direction, s.peer_host, s.peer_ip, s.helo
        for key, value in values.items():
            setattr(t, key, value)
        if t.loop_signal is None:
            t.loop_signal = loop_signal_of(text)
        self._ready(t)

    # --- line dispatch --------------------------------------------------------------------

    def feed(self, line: _Line) -> None:
        """Take one logical line; a raw `IO: |` echo waits one line to see whether it is a duplicate."""
        _, io, payload = split_marker(line.parts[0])
        held, self.io_held = self.io_held, None
        if held is not None:
            held_payload = " ".join([split_marker(held.parts[0])[2], *held.parts[1:]])
            full = " ".join([payload, *line.parts[1:]])
            if io or not _same_payload(held_payload, full):
                self._handle(held)
        if io:
            self.io_held = line
        else:
            self._handle(line)

    def finish(self) -> None:
        if self.io_held is not None:
            self._handle(self.io_held)
            self.io_held = None
        self._close_session()
        self._flush()

    def _handle(self, line: _Line) -> None:
        marker, _, payload = split_marker(line.parts[0])
        text = " ".join([payload, *line.parts[1:]])
        if self._session_start(payload, text):
            return
        resched = parse_reschedule(text)
        if resched is not None:
            self._reschedule(line, text, resched)
            return
        s = self.session
        if s is None:
            s = self._implicit_session(marker, payload)
            if s is None:
                self._outside(line, text)
                return
        t = s.txn
        if t is not None and t.in_data and self._data(s, t, line, payload):
            return
        self._signal(line, text)
        m = _REPLY.match(payload)
        if m:
            self._reply(s, m.group(1), text, line)
        else:
            self._command(s, payload, text, line)
        t = s.txn
        if t is not None and t.in_data:
            # DATA (or its 354) opened the message: stamp-less lines joined to it are header lines.
            for part in line.parts[1:]:
                self._signal(line, part)
                self._data_line(t, part)

    def _session_start(self, payload: str, text: str) -> bool:
        if payload.startswith("A connection was accepted from"):
            words = payload[len("A connection was accepted from") :].split()
            peer = words[0].rstrip(".") if words else None
            s = self._open_session(Direction.IN, peer)
            m = _BRACKET_IP.search(text[:MAX_TEXT])
            if m and s.peer_ip is None:
                s.peer_ip = m.group(1)
            return True
        if payload.startswith("A connection to ") and " was established" in payload:
            peer = payload[len("A connection to ") : payload.rfind(" was established")].strip()
            self._open_session(Direction.OUT, peer or None)
            return True
        return False

    def _implicit_session(self, marker: str | None, payload: str) -> _Session | None:
        """A log cut mid-connection (or a KB excerpt) starts with HELO or MAIL: open a session for it.

        Only the outbound variant logs bare commands (Q228725), so no marker means outbound.
        """
        m = _COMMAND.match(payload)
        if m is None or m.group(1).upper() not in {"HELO", "EHLO", "MAIL"}:
            return None
        return self._open_session(Direction.IN if marker == "<<<" else Direction.OUT, None)

    def _outside(self, line: _Line, text: str) -> None:
        """Text before any session: counted and skipped, unless it is loop evidence."""
        if loop_signal_of(text) is not None:
            code = m.group(1) if (m := _REPLY.match(text)) else None
            self._standalone(line, text, code=code, status=_status_for(code) if code else None)
            return
        self.ctx.count("ignored")

    def _signal(self, line: _Line, text: str) -> None:
        """Loop evidence belongs to the open transaction; with none open it is an event of its own."""
        signal = loop_signal_of(text)
        if signal is None:
            return
        t = self.session.txn if self.session is not None else None
        if t is not None:
            t.loop_signal = t.loop_signal or signal
            return
        code = m.group(1) if (m := _REPLY.match(text)) else None
        self._standalone(line, text, loop_signal=signal, code=code, status=_status_for(code) if code else None)

    def _reschedule(self, line: _Line, text: str, parsed: tuple[str, str | None, str | None, str | None]) -> None:
        """`499 No routing hosts ... Rescheduling delivery for later.`: defers the open transaction."""
        _, code, domain, subject = parsed
        s = self.session
        t = s.txn if s is not None else None
        if t is not None and t.status is None:
            t.status, t.code, t.in_data = "deferred", code, False
            t.subject = t.subject or subject
            t.loop_signal = t.loop_signal or loop_signal_of(text)
            if s is not None:
                s.pending = None
            return
        self._standalone(
            line, text, status="deferred", code=code, subject=subject, peer_host=domain, direction=Direction.OUT
        )

    def _data(self, s: _Session, t: _Txn, line: _Line, payload: str) -> bool:
        """Inside DATA: header lines are harvested; `.`, a reply or a new command end it."""
        if payload.strip() == ".":
            t.in_data, s.pending = False, "DOT"
            return True
        if _REPLY.match(payload):
            if t.saw_header or t.in_body or s.pending != "DATA":
                s.pending = "DOT"  # the final reply to the message, not to the DATA command
            return False
        m = _COMMAND.match(payload)
        if (m and m.group(1).upper() in {"RSET", "QUIT", "HELO", "EHLO"}) or _MAIL_FROM.match(payload):
            t.in_data = False
            return False
        for part in [payload, *line.parts[1:]]:
            self._signal(line, part)
            self._data_line(t, part)
        return True

    def _data_line(self, t: _Txn, text: str) -> None:
        if t.in_body:
            return
        if not text.strip():
            t.in_body = t.saw_header  # the blank line after the headers; body text is not harvested
            return
        if text[0] in " \t":
            if t.last_harvested and t.harvested:
                entry = t.harvested[-1]
                entry[1] = (entry[1] + " " + text.strip())[:MAX_HEADER_VALUE]
            return
        m = _HEADER.match(text)
        if m is None:
            return
        t.saw_header = True
        name = m.group(1).lower()
        t.last_harvested = name in _HARVESTED and len(t.harvested) < MAX_HEADERS
        if t.last_harvested:
            t.harvested.append([name, text[m.end() :].strip()[:MAX_HEADER_VALUE]])

    def _reply(self, s: _Session, code: str, text: str, line: _Line) -> None:
        final = not _REPLY_MORE.match(line.last_part)
        pending, t = s.pending, s.txn
        if final:
            s.pending = None
        if code == "220" and pending is None:
            self._banner(s, text)
        elif pending in {"HELO", "EHLO"}:
            if s.direction is not Direction.OUT and code.startswith("2"):
                host = _host_token(text[4:])
                if host and ("." in host or "hello" in text.lower()):
                    self._learn_server(host, "content")
            elif s.direction is Direction.OUT and code.startswith("2"):
                # `250-imc2.company.com Hello [imc1]`; Sendmail's `250-Hello x, pleased` names us, not itself.
                host = _host_token(text[4:])
                if host and "." in host:
                    _add_peer_name(s, host)
            m = _BRACKET_IP.search(text[:MAX_TEXT])
            if m and s.direction is Direction.IN and s.peer_ip is None:
                s.peer_ip = m.group(1)
        elif t is None:
            return
        elif pending == "MAIL" and not code.startswith("2"):
            t.status, t.code = _status_for(code), code
        elif pending == "RCPT":
            if code.startswith("2") and t.pending_rcpt is not None:
                t.recipients.append(t.pending_rcpt)
            elif not code.startswith("2"):
                t.rcpt_reject = code
            t.pending_rcpt = None
        elif pending == "DATA" and code.startswith("3"):
            t.in_data = True
        elif pending in {"DATA", "DOT"}:
            t.status, t.code, t.in_data = _status_for(code), code, False

    def _command(self, s: _Session, payload: str, text: str, line: _Line) -> None:
        t = s.txn
        if t is not None and t.pending_rcpt is not None:
            t.recipients.append(t.pending_rcpt)  # its reply was not logged: count it as accepted
            t.pending_rcpt = None
        mail = _MAIL_FROM.match(payload)
        if mail is not None:
            self._close_txn(s)
            addr, params = _mail_args(payload[mail.end() :])
            t = _Txn(line.lineno, line.raw[:MAX_TEXT], line.naive, sender=normalize_address(addr) or "")
            m = _SIZE_PARAM.search(params[:MAX_TEXT])
            t.size = int(m.group(1)) if m else None
            s.txn, s.pending = t, "MAIL"
            return
        rcpt = _RCPT_TO.match(payload)
        if rcpt:
            if t is None:  # the log began after MAIL FROM: keep the recipients, sender unknown
                t = s.txn = _Txn(line.lineno, line.raw[:MAX_TEXT], line.naive)
            recipient = normalize_address(_mail_args(payload[rcpt.end() :])[0])
            t.pending_rcpt = recipient or None
            s.pending = "RCPT"
            return
        m = _COMMAND.match(payload)
        verb = m.group(1).upper() if m else None
        if verb in {"HELO", "EHLO"}:
            words = payload.split()
            s.helo = normalize_host(words[1]) if len(words) > 1 else None
            if s.direction is Direction.OUT:
                self._learn_server(s.helo, "content")
        elif verb == "RSET":
            self._close_txn(s)
        elif verb == "DATA" and t is not None:
            t.in_data = True
        if verb is not None and verb in {"HELO", "EHLO", "RSET", "DATA", "QUIT", "NOOP", "AUTH", "VRFY", "TURN"}:
            s.pending = verb


@lru_cache(maxsize=256)
def _stamp(text: str) -> datetime | None:
    """parse_ims_stamp, memoised: consecutive lines mostly share their second."""
    return parse_ims_stamp(text)


def _strip_quotes(text: str) -> str:
    """KB articles quote whole log lines (Q239816, Q198981): drop the outer pair."""
    if len(text) >= 2 and text[0] == '"' and text[-1] == '"' and _QUOTED_LINE.match(text, 1):
        return text[1:-1]
    return text


def _new_line(lineno: int, text: str, ctx: ParseContext) -> _Line | None:
    """Read one physical line into a logical line, or None when it has no stamp (a candidate continuation)."""
    s = _strip_quotes(text)
    m = _TS_LINE.match(s)
    if m is not None:
        naive = _stamp(m.group(1))
        if naive is None:
            ctx.issue(lineno, "bad-timestamp", f"time stamp {m.group(1)!r} is not a valid date", text)
        return _Line(lineno, text[:MAX_TEXT], naive, [s[m.end() :]])
    if _STAMP_LIKE.match(s):
        ctx.issue(lineno, "bad-timestamp", "line starts like a time stamp but it does not parse", text)
        return _Line(lineno, text[:MAX_TEXT], None, [""])
    return None


def _continues(held: _Line, text: str) -> bool:
    """Whether a stamp-less line continues `held` (a wrapped line or a multi-line reply)."""
    if len(held.parts) >= MAX_PARTS or held.size + len(text) > MAX_JOINED:
        return False
    if _LINE_START.match(text) is None:
        low = text.lower()
        return not (_SUBJECT_MARK in low and _RESCHEDULE_MARK in low)
    return bool(_REPLY.match(text)) and bool(_REPLY_MORE.match(held.last_part))


class ImsProtocolParser(Parser):
    """Exchange 5.x IMS SMTP protocol log (`Imcdata\\Log\\L*.LOG`)."""

    name = NAME
    description = "Exchange 5.x IMS SMTP protocol log (Imcdata\\Log\\L*.LOG)"
    local_time = True

    def sniff(self, head: bytes, filename: str) -> int:
        if looks_binary(head):
            return 0
        starts = stamped = bare = 0
        for raw in decode(head[:65536]).splitlines()[:400]:
            line = raw.strip('"')
            m = _TS_LINE.match(line)
            body = line[m.end() :] if m else line
            if body.startswith(("A connection was accepted from", "A connection to ")):
                starts += 1
            elif body.startswith(("<<<", ">>>", "IO: |")):
                if m:
                    stamped += 1
                else:
                    bare += 1
        score = (40 if starts else 0) + 5 * min(stamped, 10) + 3 * min(bare, 5)
        score = min(score, 90)
        base = re.split(r"[\\/]", filename)[-1]
        if score and re.fullmatch(r"L\w{0,12}\.log", base, re.IGNORECASE):
            score += 10
        return score

    def parse(self, stream: BinaryIO, ctx: ParseContext) -> Iterator[Record]:
        reader = _Reader(ctx)
        held: _Line | None = None
        for lineno, text in iter_lines(stream, ctx):
            ctx.count("lines")
            try:
                line = _new_line(lineno, text, ctx)
                if line is None:
                    body = _strip_quotes(text)
                    if held is not None and _continues(held, body):
                        held.parts.append(body)
                        held.size += len(body)
                        continue
                    line = _Line(lineno, text[:MAX_TEXT], None, [body])
                if held is not None:
                    reader.feed(held)
                held = line
            except Exception as exc:  # a parser bug must cost one line, never the file
                held = None
                yield ParseIssue(ctx.loc(lineno), "parser-error", f"{type(exc).__name__}: {exc}", text[:200])
            yield from reader.drain()
        try:
            if held is not None:
                reader.feed(held)
            reader.finish()
        except Exception as exc:
            yield ParseIssue(ctx.loc(0), "parser-error", f"{type(exc).__name__}: {exc}")
        yield from reader.drain()
