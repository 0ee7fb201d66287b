"""Postfix syslog handler: deliveries, arrivals, bounce links and loop lines, stitched per queue id."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from ..models import Direction, Event, LoopSignal, ReportKind, Source
from ..names import normalize_address, normalize_host, normalize_message_id
from .base import ParseContext, Record
from .common import OpenIds, classify_loop_text, evolve
from .queue_state import QueueState
from .syslog import SyslogFormat, SyslogLine, line_event

NAME = Source.POSTFIX

# `postfix/smtp`, `postfix-secondary/qmgr`, `postfix/submission/smtpd`: the daemon is the last part.
_PROGRAM = re.compile(r"postfix(?:-[\w.-]{1,64})?(?:/|$)")
_QID = re.compile(r"(?P<qid>NOQUEUE|[0-9A-F]{6,20}|[0-9A-Za-z]{12,20}): (?P<rest>.*)", re.DOTALL)
_WARNING_QID = re.compile(r"warning: (?P<qid>[0-9A-F]{6,20}|[0-9A-Za-z]{12,20}): (?P<rest>.*)", re.DOTALL)
_CLIENT = re.compile(r"client=(?P<host>[^\[\s,]{1,255})\[(?P<ip>[^\]\s]{1,64})\]")
_RELAY = re.compile(r"(?P<host>[^\[\s,]{1,255})\[(?P<ip>[^\]\s]{1,64})\](?::\d{1,5})?")
_FIELD = re.compile(r"(?P<key>[a-z_]{1,20})=(?P<val><[^>]{0,1000}>|[^,\s]{0,1000})")
_STATUS = re.compile(r", status=(?P<status>[a-z]{1,20})(?: \((?P<text>.*)\)|, [^(]{0,200})?\s*$", re.DOTALL)
_NEXT_ID = re.compile(
    r"\b(?:queued|forwarded) as (?P<id>[0-9A-Za-z]{5,20})\b|\bOK id=(?P<exim>[\w]{6}-[\w]{6,11}-[\w]{2,4})"
)
_BOUNCE = re.compile(
    r"(?:sender|postmaster) (?P<kind>non-delivery|delivery status|delay) notification: (?P<new>[0-9A-Za-z]{5,20})"
)
_REJECT = re.compile(r"(?:reject|milter-reject): \w{1,10} from (?P<host>[^\[\s]{1,255})\[(?P<ip>[^\]\s]{1,64})\]")
_ENV_FROM = re.compile(r"\bfrom=(?P<addr><[^>]{0,1000}>|\S{1,1000})")
_ENV_TO = re.compile(r"\bto=(?P<addr><[^>]{0,1000}>|\S{1,1000})")
_TRIED_HOST = re.compile(r"(?:connect to|host) (?P<host>[^\[\s]{1,255})\[(?P<ip>[^\]\s]{1,64})\]")
_WARN_HOST = re.compile(r"host (?P<host>[^\[\s]{1,255})\[(?P<ip>[^\]\s]{1,64})\]")

_DELIVERY_DAEMONS = frozenset({"smtp", "lmtp", "local", "virtual", "pipe", "error", "discard", "retry"})
_LOCAL_DAEMONS = frozenset({"local", "virtual", "pipe"})
_RELAY_DAEMONS = frozenset({"smtp", "lmtp"})
_REPORT_KINDS = {
    "non-delivery": ReportKind.NDR,
    "delay": ReportKind.DELAY,
    "delivery status": ReportKind.DELIVERY_RECEIPT,
}
EVICT_EVERY = 2000


@dataclass(slots=True)
class _Msg(QueueState):
    """What the log has said so far about one open queue id."""

    nrcpt: int | None = None
    origin: str | None = None
    """The daemon that brought the message in (`smtpd`, `pickup`, `bounce`, ...)."""
    arrival_sent: bool = False


def daemon_of(program: str) -> str:
    """`postfix/submission/smtpd` -> `smtpd`."""
    return program.rsplit("/", 1)[-1]


def address(raw: str | None) -> str | None:
    """An envelope address from a log field; `<>` is the null sender `""`; a cut-off `<...` is None."""
    if raw is None or (raw.startswith("<") and ">" not in raw):
        return None
    return normalize_address(raw)


def note_queue_info(daemon: str, state: _Msg, rest: str) -> bool:
    """Take smtpd `client=`, cleanup `message-id=` or pickup `uid=` into the queue id's state; False for others.

    Shared with the fast extractor, so both read these lines the same way.
    """
    if rest.startswith("client="):
        c = _CLIENT.match(rest)
        if c is not None:
            state.client_host, state.client_ip = normalize_host(c["host"]), c["ip"]
        state.origin = state.origin or daemon
    elif rest.startswith("message-id="):
        value = rest[len("message-id=") :].split(" ", 1)[0]
        state.message_id = normalize_message_id(value) or state.message_id
    elif rest.startswith("uid=") and daemon == "pickup":
        state.origin = state.origin or "pickup"
    else:
        return False
    return True


def parse_fields(text: str) -> dict[str, str]:
    """`key=value` pairs of a delivery line up to the status, first occurrence wins."""
    fields: dict[str, str] = {}
    for m in _FIELD.finditer(text):
        fields.setdefault(m["key"], m["val"])
    return fields


def status_match(text: str) -> re.Match[str] | None:
    """The `, status=...` tail; matched only at the last occurrence so hostile lines stay linear."""
    at = text.rfind(", status=")
    return _STATUS.match(text, at) if at >= 0 else None


def to_int(text: str | None) -> int | None:
    if text is None or not text.isdigit() or len(text) > 18:
        return None
    return int(text)


def next_id_of(text: str | None) -> str | None:
    """The id the message carries on its next leg (`queued as X`, `forwarded as X`, Exim `OK id=X`)."""
    if not text:
        return None
    m = _NEXT_ID.search(text)
    if m is None:
        return None
    return m["id"] or m["exim"]


def _relay_of(daemon: str, fields: dict[str, str], note: str | None) -> re.Match[str] | None:
    """The host a delivery went to: `relay=h[ip]:port`, or for smtp/lmtp the host its status text tried."""
    relay = _RELAY.match(fields.get("relay", ""))
    if relay is None and note and daemon in _RELAY_DAEMONS:
        relay = _TRIED_HOST.search(note)  # `relay=none ... (connect to host[ip]:25: timed out)`
    return relay


class PostfixHandler:
    """Interprets Postfix daemons' lines; one instance per file."""

    def __init__(self, ctx: ParseContext) -> None:
        self.ctx = ctx
        self.open: OpenIds[_Msg] = OpenIds(_Msg, ctx, sweep_every=EVICT_EVERY)
        # Every line's base event is a copy of this one (cheaper than the dataclass constructor).
        self._template = Event(location=ctx.loc(0), source=NAME)

    def accepts(self, program: str) -> bool:
        return _PROGRAM.match(program) is not None

    def finish(self) -> Iterator[Record]:
        self.ctx.count("postfix-open-at-end", len(self.open))
        self.open.clear()
        return iter(())

    def handle(self, line: SyslogLine, lineno: int, text: str) -> Iterator[Record]:
        """One Postfix line: update the queue-id state and yield the events it completes."""
        daemon = daemon_of(line.program)
        m = _QID.match(line.message)
        if m is not None and self._state_only(daemon, m["qid"], m["rest"], line.time):
            return  # two lines in three only update the queue-id state: no Event is built for them
        base = line_event(self._template, self.ctx, line, lineno, text, daemon)
        yield from self.handle_message(daemon, line.message, base)

    def handle_message(self, daemon: str, msg: str, base: Event) -> Iterator[Record]:
        """Interpret a message body (without syslog prefix) from `daemon`; `base` carries line facts."""
        m = _QID.match(msg)
        if m is None:
            yield from self._unqueued(daemon, msg, base)
            return
        qid, rest = m["qid"], m["rest"]
        if qid == "NOQUEUE":
            yield from self._noqueue(rest, base)
            return
        state = self._state(qid, base.time)
        if rest.startswith("to="):
            yield from self._delivery(daemon, qid, state, rest, base)
        elif rest.startswith("from="):
            yield from self._qmgr_from(qid, state, rest, base)
        elif rest == "removed":
            self.open.pop(qid, None)
        elif daemon == "bounce":
            yield from self._bounce(qid, state, rest, base)
        else:
            yield from self._queue_info(daemon, qid, state, rest, base)

    # -- per-queue-id state ------------------------------------------------------------------

    def _state_only(self, daemon: str, qid: str, rest: str, when: datetime | None) -> bool:
        """Handle `client=`, `message-id=`, pickup `uid=` and `removed` lines; False for any other line."""
        if qid == "NOQUEUE" or daemon == "bounce":
            return False
        if rest == "removed":
            self.open.pop(qid, None)
            return True
        if rest.startswith("client="):
            state = self._state(qid, when)
            c = _CLIENT.match(rest)
            if c is not None:
                state.client_host, state.client_ip = normalize_host(c["host"]), c["ip"]
            state.origin = state.origin or daemon
            return True
        if rest.startswith("message-id="):
            state = self._state(qid, when)
            value = rest[len("message-id=") :].split(" ", 1)[0]
            state.message_id = normalize_message_id(value) or state.message_id
            return True
        if rest.startswith("uid=") and daemon == "pickup":
            state = self._state(qid, when)
            state.origin = state.origin or "pickup"
            return True
        return False

    def _state(self, qid: str, when: datetime | None) -> _Msg:
        return self.open.state(qid, when)

    # -- line kinds ---------------------------------------------------------------------------

    def _queue_info(self, daemon: str, qid: str, state: _Msg, rest: str, base: Event) -> Iterator[Record]:
        """smtpd `client=`, pickup `uid= from=`, cleanup `message-id=` and the rejects cleanup logs."""
        if not note_queue_info(daemon, state, rest):
            yield from self._loop_line(qid, state, rest, base)

    def _qmgr_from(self, qid: str, state: _Msg, rest: str, base: Event) -> Iterator[Record]:
        """qmgr `from=<s>, size=N, nrcpt=N (queue active)` completes an arrival; `status=expired` ends it."""
        fields = parse_fields(rest)
        state.sender = address(fields.get("from"))
        state.size = to_int(fields.get("size")) or state.size
        state.nrcpt = to_int(fields.get("nrcpt")) or state.nrcpt
        status = status_match(rest)
        if status is not None:
            yield state.stamp(base, queue_id=qid, status=status["status"], direction=Direction.UNKNOWN)
            return
        if state.arrival_sent or "size" not in fields:
            return
        state.arrival_sent = True
        if state.origin == "bounce":
            self.ctx.count("bounce-arrivals")  # already reported as a GENERATED event by its bounce line
            return
        yield state.stamp(
            base,
            queue_id=qid,
            direction=Direction.IN,
            peer_host=state.client_host,
            peer_ip=state.client_ip,
            event_code=state.origin or base.event_code,
        )

    def _delivery(self, daemon: str, qid: str, state: _Msg, rest: str, base: Event) -> Iterator[Record]:
        """`to=<r>, [orig_to=<o>,] relay=h[ip]:port, ..., dsn=X, status=S (text)`."""
        status = status_match(rest)
        head = rest[: status.start()] if status else rest
        fields = parse_fields(head + ",")
        note = status["text"] if status else None
        relay = _relay_of(daemon, fields, note)
        recipient = address(fields.get("to"))
        headers: tuple[tuple[str, str], ...] = ()
        if "orig_to" in fields:
            headers = (("orig-to", address(fields["orig_to"]) or ""),)
        # A relayed message proves two hops: its smtpd client -> this host -> the relay it went to.
        relayed = daemon in _RELAY_DAEMONS and state.origin == "smtpd"
        yield state.stamp(
            base,
            queue_id=qid,
            direction=self._direction(daemon),
            recipients=(recipient,) if recipient else (),
            peer_host=normalize_host(relay["host"]) if relay else None,
            peer_ip=relay["ip"] if relay else None,
            origin_host=state.client_host if relayed else None,
            origin_ip=state.client_ip if relayed else None,
            status=status["status"] if status else None,
            dsn=fields.get("dsn") or None,
            next_id=next_id_of(note),
            loop_signal=classify_loop_text(note),
            headers=headers,
        )

    @staticmethod
    def _direction(daemon: str) -> Direction:
        """smtp/lmtp hand mail to another host (even when the attempt failed); local/virtual/pipe deliver here."""
        if daemon in _LOCAL_DAEMONS:
            return Direction.LOCAL
        if daemon in _RELAY_DAEMONS:
            return Direction.OUT
        return Direction.UNKNOWN

    def _bounce(self, qid: str, state: _Msg, rest: str, base: Event) -> Iterator[Record]:
        """`QID: sender non-delivery notification: NEWID` links the bounce NEWID to its cause QID."""
        b = _BOUNCE.match(rest)
        if b is None:
            yield from self._loop_line(qid, state, rest, base)
            return
        new_id = b["new"]
        kind = _REPORT_KINDS[b["kind"]]
        new_state = self._state(new_id, base.time)
        new_state.origin, new_state.about_id, new_state.report_kind = "bounce", qid, kind
        new_state.sender = ""
        yield evolve(
            base,
            direction=Direction.GENERATED,
            queue_id=new_id,
            about_id=qid,
            sender="",
            report_kind=kind,
            message_id=new_state.message_id,
            recipients=(state.sender,) if state.sender else (),
        )

    def _noqueue(self, rest: str, base: Event) -> Iterator[Record]:
        """`NOQUEUE: reject: RCPT from h[ip]: 554 ... too many hops; from=<s> to=<r> ...`."""
        signal = classify_loop_text(rest)
        if signal is None:
            self.ctx.count("rejects")
            return
        r = _REJECT.match(rest)
        yield self._reject_event(rest, base, signal, r)

    def _reject_event(self, rest: str, base: Event, signal: LoopSignal, r: re.Match[str] | None) -> Event:
        sender = _ENV_FROM.search(rest)
        rcpt = _ENV_TO.search(rest)
        recipient = address(rcpt["addr"]) if rcpt else None
        return evolve(
            base,
            direction=Direction.IN,
            peer_host=normalize_host(r["host"]) if r else None,
            peer_ip=r["ip"] if r else None,
            sender=address(sender["addr"]) if sender else None,
            recipients=(recipient,) if recipient else (),
            status="rejected",
            loop_signal=signal,
        )

    def _loop_line(self, qid: str, state: _Msg, rest: str, base: Event) -> Iterator[Record]:
        """Any other queue-id line: an event only when it carries loop evidence (cleanup hop limit...)."""
        signal = classify_loop_text(rest)
        if signal is None:
            self.ctx.count("other")
            return
        r = _REJECT.match(rest)
        event = self._reject_event(rest, base, signal, r)
        yield evolve(
            event,
            queue_id=qid,
            sender=event.sender if event.sender is not None else state.sender,
            message_id=state.message_id,
            size=state.size,
        )

    def _unqueued(self, daemon: str, msg: str, base: Event) -> Iterator[Record]:
        """Lines without a queue id: warnings (some name one), connects, statistics."""
        w = _WARNING_QID.match(msg)
        if w is not None:
            qid = w["qid"]
            yield from self._loop_line(qid, self._state(qid, base.time), w["rest"], base)
            return
        signal = classify_loop_text(msg)
        if signal is None:
            self.ctx.count("ignored")
            return
        h = _WARN_HOST.search(msg)
        yield evolve(
            base,
            direction=Direction.OUT if daemon in _RELAY_DAEMONS else Direction.UNKNOWN,
            peer_host=normalize_host(h["host"]) if h else None,
            peer_ip=h["ip"] if h else None,
            loop_signal=signal,
        )

    # -- event assembly -------------------------------------------------------------------------


POSTFIX = SyslogFormat(
    name=NAME,
    description="Postfix syslog (mail.log / maillog)",
    sniff_program=re.compile(r"postfix(?:-[\w.-]{1,64})?/"),
    handler=PostfixHandler,
    walked=True,
)
