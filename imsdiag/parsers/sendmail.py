"""Sendmail syslog handler: arrivals, deliveries, DSN links and hop-limit errors, stitched per queue id."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from ..models import Direction, Event, ReportKind, Source
from ..names import normalize_address, normalize_host, normalize_message_id
from .base import ParseContext, Record
from .common import OpenIds, classify_loop_text, evolve
from .queue_state import QueueState
from .syslog import SyslogFormat, SyslogLine, line_event

NAME = Source.SENDMAIL

# `sendmail`, `sm-mta`, `sm-msp-queue`, `sm-acceptingconnections` (the process title Debian shows).
_PROGRAM = re.compile(r"(?:sendmail|sm-[\w-]{1,64})$")
_QID = re.compile(r"(?P<qid>[0-9A-Za-z]{6,20}): (?P<rest>.*)", re.DOTALL)
_DSN = re.compile(
    r"(?P<new>[0-9A-Za-z]{6,20}): (?P<kind>DSN|postmaster notify|return to sender): (?P<text>.*)", re.DOTALL
)
_SYSERR_HOPS = re.compile(
    r"SYSERR\([^)]{0,64}\): (?P<text>Too many hops \d{1,6} \(\d{1,6} max\)): from (?P<from>\S{1,1000}) "
    r"via (?P<via>[^\s,]{1,255}), to (?P<to>\S{1,1000})"
)
_FROM_LINE = re.compile(r"from=(?P<from>.*?), size=")
_TO_LINE = re.compile(r"to=(?P<to>.*?), (?:ctladdr|delay|orcpt|xdelay)=")
_FIELD = re.compile(r"(?:^|, )(?P<key>[a-z]{1,20})=(?P<val><[^>]{0,1000}>|[^,]{0,1000})")
_RELAY = re.compile(r"(?:[^\s,@]{1,255}@)?(?P<host>[^\s,@]{1,255})(?: \[(?P<ip>[^\]\s]{1,64})\])?")
_STAT = re.compile(r", stat=(?P<stat>.*)$", re.DOTALL)
_NEXT_ID = re.compile(r"\bqueued as (?P<id>[0-9A-Za-z]{5,20})\b")
_LOCAL_MAILERS = frozenset({"local", "prog", "*file*", "*include*", "cyrus", "cyrusv2", "procmail", "mail.local"})


@dataclass(slots=True)
class _Msg(QueueState):
    """What the log has said so far about one Sendmail queue id."""

    pending: int | None = None


def split_addresses(raw: str) -> tuple[str, ...]:
    """`<a@x>,<b@y>` or `root` -> normalised addresses, empty entries dropped."""
    out = []
    for part in raw.split(","):
        a = normalize_address(part)
        if a:
            out.append(a)
    return tuple(out)


def fields_of(text: str) -> dict[str, str]:
    """`key=value` pairs separated by `, `; first occurrence wins."""
    found: dict[str, str] = {}
    for m in _FIELD.finditer(text):
        found.setdefault(m["key"], m["val"].strip())
    return found


def status_of(stat: str, dsn: str | None) -> str:
    """`sent`, `deferred` or `bounced` from the stat text and DSN code; else the stat's first word."""
    if stat.startswith("Sent"):
        return "sent"
    if (dsn and dsn.startswith("4")) or stat.startswith("Deferred"):
        return "deferred"
    if dsn and dsn.startswith("5"):
        return "bounced"
    return stat.split(":", 1)[0].split(" ", 1)[0].lower() or "unknown"


def relay_of(raw: str | None) -> tuple[str | None, str | None]:
    """`host. [ip]`, `[ip] [ip]`, `user@host` -> (normalised host, ip)."""
    if not raw:
        return None, None
    m = _RELAY.match(raw)
    if m is None:
        return None, None
    return normalize_host(m["host"]), m["ip"]


class SendmailHandler:
    """Interprets Sendmail's lines; one instance per file."""

    def __init__(self, ctx: ParseContext) -> None:
        self.ctx = ctx
        self.open: OpenIds[_Msg] = OpenIds(_Msg, ctx)
        # Every line's base event is a copy of this one (cheaper than the dataclass constructor).
        self._template = Event(location=ctx.loc(0), source=NAME)

    def accepts(self, program: str) -> bool:
        return _PROGRAM.match(program) is not None

    def finish(self) -> Iterator[Record]:
        self.open.clear()
        return iter(())

    def handle(self, line: SyslogLine, lineno: int, text: str) -> Iterator[Record]:
        base = line_event(self._template, self.ctx, line, lineno, text, line.program)
        yield from self.handle_message(line.message, base)

    def handle_message(self, msg: str, base: Event) -> Iterator[Record]:
        """Interpret one message body (without the syslog prefix)."""
        m = _QID.match(msg)
        if m is None or m["qid"] == "NOQUEUE":
            self.ctx.count("ignored")
            return
        qid, rest = m["qid"], m["rest"]
        state = self._state(qid, base.time)
        if rest.startswith("from="):
            yield from self._arrival(qid, state, rest, base)
        elif rest.startswith("to="):
            yield from self._delivery(qid, state, rest, base)
        elif rest.startswith("SYSERR"):
            yield from self._syserr(qid, state, rest, base)
        else:
            yield from self._other(qid, state, rest, base)

    def _state(self, qid: str, when: datetime | None) -> _Msg:
        return self.open.state(qid, when)

    def _arrival(self, qid: str, state: _Msg, rest: str, base: Event) -> Iterator[Record]:
        """`from=<s>, size=N, class=0, nrcpts=N, msgid=<m>, proto=ESMTP, relay=host [ip]`."""
        fm = _FROM_LINE.match(rest)
        fields = fields_of(rest)
        state.sender = normalize_address(fm["from"] if fm else fields.get("from"))
        state.size = int(fields["size"]) if fields.get("size", "").isdigit() else state.size
        state.message_id = normalize_message_id(fields.get("msgid")) or state.message_id
        nrcpts = fields.get("nrcpts", "")
        state.pending = int(nrcpts) if nrcpts.isdigit() and len(nrcpts) < 7 else None
        if state.report_kind.is_report:
            self.ctx.count("dsn-arrivals")  # reported already by its `DSN:` line
            return
        host, ip = relay_of(fields.get("relay"))
        state.client_host, state.client_ip = host, ip
        yield state.stamp(base, queue_id=qid, direction=Direction.IN, peer_host=host, peer_ip=ip)

    def _delivery(self, qid: str, state: _Msg, rest: str, base: Event) -> Iterator[Record]:
        """`to=<r>, delay=.., mailer=relay, relay=host. [ip], dsn=2.0.0, stat=Sent (... queued as X)`."""
        tm = _TO_LINE.match(rest)
        st = _STAT.search(rest)
        stat = st["stat"] if st else ""
        fields = fields_of(rest[: st.start()] if st else rest)
        host, ip = relay_of(fields.get("relay"))
        dsn = fields.get("dsn") or None
        mailer = fields.get("mailer", "")
        nxt = _NEXT_ID.search(stat)
        recipients = split_addresses(tm["to"] if tm else fields.get("to", ""))
        local = mailer in _LOCAL_MAILERS
        # A relayed message proves two hops: client -> this host (the `from=` line) -> next hop.
        origin_host, origin_ip = (None, None) if local else (state.client_host, state.client_ip)
        if state.pending is not None and stat.startswith("Sent"):
            state.pending -= len(recipients)
            if state.pending <= 0:
                # Every recipient delivered: nothing later needs this id's facts (a failure keeps
                # them for its DSN line). Without this a day of relay log kept every id.
                self.open.pop(qid, None)
        yield state.stamp(
            base,
            queue_id=qid,
            direction=Direction.LOCAL if local else Direction.OUT,
            recipients=recipients,
            peer_host=host,
            peer_ip=ip,
            origin_host=origin_host,
            origin_ip=origin_ip,
            status=status_of(stat, dsn),
            dsn=dsn,
            next_id=nxt["id"] if nxt else None,
            loop_signal=classify_loop_text(stat),
        )

    def _syserr(self, qid: str, state: _Msg, rest: str, base: Event) -> Iterator[Record]:
        """`SYSERR(root): Too many hops 26 (25 max): from <x> via HOST, to <y>`."""
        m = _SYSERR_HOPS.match(rest)
        signal = classify_loop_text(rest)
        if m is None and signal is None:
            self.ctx.count("syserr")
            return
        event = state.stamp(base, queue_id=qid, status="syserr", loop_signal=signal)
        if m is not None:
            event = evolve(
                event,
                sender=normalize_address(m["from"]),
                recipients=split_addresses(m["to"]),
                peer_host=normalize_host(m["via"]),
                dsn="5.4.6",
            )
        yield event

    def _other(self, qid: str, state: _Msg, rest: str, base: Event) -> Iterator[Record]:
        """`ORIG: NEW: DSN: text` bounce links; anything else only when it carries loop evidence."""
        d = _DSN.match(rest)
        if d is not None:
            new_id = d["new"]
            new = self._state(new_id, base.time)
            new.sender, new.about_id, new.report_kind = "", qid, ReportKind.NDR
            yield evolve(
                base,
                direction=Direction.GENERATED,
                queue_id=new_id,
                about_id=qid,
                sender="",
                report_kind=ReportKind.NDR,
                recipients=(state.sender,) if state.sender else (),
                status=d["kind"].lower(),
                loop_signal=classify_loop_text(d["text"]),
            )
            return
        signal = classify_loop_text(rest)
        if signal is None:
            self.ctx.count("other")
            return
        yield state.stamp(base, queue_id=qid, loop_signal=signal)


SENDMAIL = SyslogFormat(
    name=NAME,
    description="Sendmail syslog (maillog)",
    sniff_program=_PROGRAM,
    handler=SendmailHandler,
)
