"""IMS protocol-log sessions: SMTP connections and their transactions, assembled line by line into Events."""

from __future__ import annotations

import ipaddress
import re

from ..models import Direction, Event
from ..names import normalize_address, normalize_host
from .base import ParseContext, Record
from .ims_protocol_lines import MAX_TEXT, REPLY, REPLY_MORE, Line, loop_signal_of, parse_reschedule
from .ims_protocol_txn import Session, Txn, status_for

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
_NOT_HOSTS = frozenset({"ok", "hello", "requested", "welcome", "ready"})
_AWAITED = frozenset({"HELO", "EHLO", "RSET", "DATA", "QUIT", "NOOP", "AUTH", "VRFY", "TURN"})
"""Commands whose reply the session waits for (`Session.pending`)."""

MAX_WAITING = 256
"""Events held back while the server name or build is still unknown; beyond this they go out as they are."""


def _same_payload(a: str, b: str) -> bool:
    """Whether a raw `IO: |` echo and the parsed line after it say the same (spacing and case aside)."""
    return " ".join(a[:MAX_TEXT].split()).lower() == " ".join(b[:MAX_TEXT].split()).lower()


_IPV4_SHAPE = re.compile(r"[0-9]{1,3}(?:\.[0-9]{1,3}){3}\Z")
"""The only shape `IPv4Address` takes (four ASCII-decimal octets): other text fails without raising and catching."""


def is_ipv4(text: str) -> bool:
    if _IPV4_SHAPE.match(text) is None:
        return False
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


def _add_peer_name(s: Session, host: str | None) -> None:
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


class Reader:
    """Per-file state machine: sessions, transactions and server identity."""

    def __init__(self, ctx: ParseContext) -> None:
        self.ctx = ctx
        self.session: Session | None = None
        self.io_held: Line | None = None
        self.server: str | None = None
        self.server_source: str | None = None
        self.software: str | None = None
        self.build: str | None = None
        self.waiting: list[Txn] = []
        self.out: list[Record] = []

    # --- output -------------------------------------------------------------------------

    def drain(self) -> list[Record]:
        out, self.out = self.out, []
        return out

    def _ready(self, txn: Txn) -> None:
        """Queue a finished transaction; it waits until the file has named its server and build."""
        self.waiting.append(txn)
        if (self.server is not None and self.build is not None) or len(self.waiting) > MAX_WAITING:
            self._flush()

    def _flush(self) -> None:
        for txn in self.waiting:
            self.out.append(self._event(txn))
        self.waiting = []

    def _event(self, t: Txn) -> Event:
        server, source = self.server, self.server_source
        if server is None:
            server, source = self.ctx.server_hint, self.ctx.server_hint_source if self.ctx.server_hint else None
        return t.event(self.ctx, server, source, self.software, self.build)

    # --- identity -----------------------------------------------------------------------

    def _learn_server(self, host: str | None, source: str) -> None:
        if self.server is None and host and _HOST_TOKEN.match(host):
            self.server = normalize_host(host)
            self.server_source = source if self.server else None

    def _banner(self, s: Session, text: str) -> None:
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

    def _open_session(self, direction: Direction, peer: str | None) -> Session:
        self._close_session()
        s = Session(direction)
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

    def _close_txn(self, s: Session) -> None:
        t = s.txn
        if t is None:
            return
        s.txn = None
        t.close()
        t.direction, t.peer_host, t.peer_ip, t.helo = s.direction, s.peer_host, s.peer_ip, s.helo
        t.peer_names = tuple(s.peer_names)
        t.extra_headers.extend(s.peer_headers)
        self.ctx.count("transactions")
        self._ready(t)

    def _standalone(self, line: Line, text: str, **values: object) -> None:
        """An event that belongs to no transaction: a deferral line or a loop line."""
        t = Txn(line.lineno, line.raw[:MAX_TEXT], line.naive)
        s = self.session
        if s is not None:
            t.direction, t.peer_host, t.peer_ip, t.helo = s.direction, s.peer_host, s.peer_ip, s.helo
        for key, value in values.items():
            setattr(t, key, value)
        if t.loop_signal is None:
            t.loop_signal = loop_signal_of(text)
        self._ready(t)

    # --- line dispatch --------------------------------------------------------------------

    def feed(self, line: Line) -> None:
        """Take one logical line; a raw `IO: |` echo waits one line to see whether it is a duplicate."""
        io = line.io
        held, self.io_held = self.io_held, None
        if held is not None:
            held_payload = " ".join([held.payload, *held.parts[1:]])
            full = " ".join([line.payload, *line.parts[1:]])
            # Equal texts are the same payload: the normalising compare only for those that differ.
            if io or (held_payload != full and not _same_payload(held_payload, full)):
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

    def _handle(self, line: Line) -> None:
        marker, payload = line.marker, line.payload
        text = " ".join([payload, *line.parts[1:]]) if len(line.parts) > 1 else payload
        if self._session_start(payload, text):
            return
        low = text.lower()  # for both searches of the line's text
        resched = parse_reschedule(text, low)
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
        self._signal(line, text, low)
        m = REPLY.match(payload)
        if m:
            self._reply(s, m.group(1), text, line)
        else:
            self._command(s, payload, text, line)
        t = s.txn
        if t is not None and t.in_data:
            # DATA (or its 354) opened the message: stamp-less lines joined to it are header lines.
            for part in line.parts[1:]:
                self._signal(line, part)
                t.header_line(part)

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

    def _implicit_session(self, marker: str | None, payload: str) -> Session | None:
        """A log cut mid-connection (or a KB excerpt) starts with HELO or MAIL: open a session for it.

        Only the outbound variant logs bare commands (Q228725), so no marker means outbound.
        """
        m = _COMMAND.match(payload)
        if m is None or m.group(1).upper() not in {"HELO", "EHLO", "MAIL"}:
            return None
        return self._open_session(Direction.IN if marker == "<<<" else Direction.OUT, None)

    def _outside(self, line: Line, text: str) -> None:
        """Text before any session: counted and skipped, unless it is loop evidence."""
        if loop_signal_of(text) is not None:
            code = m.group(1) if (m := REPLY.match(text)) else None
            self._standalone(line, text, code=code, status=status_for(code) if code else None)
            return
        self.ctx.count("ignored")

    def _signal(self, line: Line, text: str, low: str | None = None) -> None:
        """Loop evidence belongs to the open transaction; with none open it is an event of its own."""
        signal = loop_signal_of(text, low)
        if signal is None:
            return
        t = self.session.txn if self.session is not None else None
        if t is not None:
            t.loop_signal = t.loop_signal or signal
            return
        code = m.group(1) if (m := REPLY.match(text)) else None
        self._standalone(line, text, loop_signal=signal, code=code, status=status_for(code) if code else None)

    def _reschedule(self, line: Line, text: str, parsed: tuple[str, str | None, str | None, str | None]) -> None:
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

    def _data(self, s: Session, t: Txn, line: Line, payload: str) -> bool:
        """Inside DATA: header lines are harvested; `.`, a reply or a new command end it."""
        if payload.strip() == ".":
            t.in_data, s.pending = False, "DOT"
            return True
        if REPLY.match(payload):
            if t.saw_header or t.in_body or s.pending != "DATA":
                s.pending = "DOT"  # the final reply to the message, not to the DATA command
            return False
        m = _COMMAND.match(payload)
        if (m and m.group(1).upper() in {"RSET", "QUIT", "HELO", "EHLO"}) or _MAIL_FROM.match(payload):
            t.in_data = False
            return False
        for part in [payload, *line.parts[1:]]:
            self._signal(line, part)
            t.header_line(part)
        return True

    def _reply(self, s: Session, code: str, text: str, line: Line) -> None:
        final = not REPLY_MORE.match(line.last_part)
        pending, t = s.pending, s.txn
        if final:
            s.pending = None
        if code == "220" and pending is None:
            self._banner(s, text)
        elif pending in {"HELO", "EHLO"}:
            self._helo_reply(s, code, text)
        elif t is not None:
            t.reply(pending, code)

    def _helo_reply(self, s: Session, code: str, text: str) -> None:
        """The reply to HELO/EHLO names the replying host: the IMS itself inbound, the peer outbound."""
        if code.startswith("2"):
            host = _host_token(text[4:])
            if s.direction is not Direction.OUT:
                if host and ("." in host or "hello" in text.lower()):
                    self._learn_server(host, "content")
            elif host and "." in host:
                # `250-imc2.company.com Hello [imc1]`; Sendmail's `250-Hello x, pleased` names us, not itself.
                _add_peer_name(s, host)
        m = _BRACKET_IP.search(text[:MAX_TEXT])
        if m and s.direction is Direction.IN and s.peer_ip is None:
            s.peer_ip = m.group(1)

    def _command(self, s: Session, payload: str, text: str, line: Line) -> None:
        t = s.txn
        if t is not None and t.pending_rcpt is not None:
            t.recipients.append(t.pending_rcpt)  # its reply was not logged: count it as accepted
            t.pending_rcpt = None
        mail = _MAIL_FROM.match(payload)
        if mail is not None:
            self._mail_from(s, payload[mail.end() :], line)
            return
        rcpt = _RCPT_TO.match(payload)
        if rcpt:
            if t is None:  # the log began after MAIL FROM: keep the recipients, sender unknown
                t = s.txn = Txn(line.lineno, line.raw[:MAX_TEXT], line.naive)
            recipient = normalize_address(_mail_args(payload[rcpt.end() :])[0])
            t.pending_rcpt = recipient or None
            s.pending = "RCPT"
            return
        m = _COMMAND.match(payload)
        if m is not None:
            self._verb(s, m.group(1).upper(), payload)

    def _mail_from(self, s: Session, args: str, line: Line) -> None:
        """MAIL FROM opens a new transaction (closing the one before)."""
        self._close_txn(s)
        addr, params = _mail_args(args)
        t = Txn(line.lineno, line.raw[:MAX_TEXT], line.naive, sender=normalize_address(addr) or "")
        m = _SIZE_PARAM.search(params[:MAX_TEXT])
        t.size = int(m.group(1)) if m else None
        s.txn, s.pending = t, "MAIL"

    def _verb(self, s: Session, verb: str, payload: str) -> None:
        """Any other command: HELO/EHLO name the client, RSET ends the transaction, DATA starts its message."""
        t = s.txn
        if verb in {"HELO", "EHLO"}:
            words = payload.split()
            s.helo = normalize_host(words[1]) if len(words) > 1 else None
            if s.direction is Direction.OUT:
                self._learn_server(s.helo, "content")
        elif verb == "RSET":
            self._close_txn(s)
        elif verb == "DATA" and t is not None:
            t.in_data = True
        if verb in _AWAITED:
            s.pending = verb
