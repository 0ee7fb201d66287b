"""Fast extractor for syslog mail logs: Postfix's common lines read in blocks, every other line by the full parser."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import BinaryIO

from ...models import Direction, EventTally, LogSpan, ReportKind, TimeQuality
from ...names import normalize_host, normalize_message_id
from ..base import ParseContext, Record, iter_lines
from ..common import _LOOP_TEXTS
from ..postfix import (
    _FIELD,
    _RELAY_DAEMONS,
    PostfixHandler,
    address,
    daemon_of,
    next_id_of,
    note_queue_info,
    parse_fields,
    status_match,
    to_int,
)
from ..postfix import _Msg as _State
from ..postfix import _relay_of as relay_of
from ..syslog import ProgramHandler, YearTracker, bsd_time, handle_line
from .blocks import BLOCK_SIZE, MEMO_SIZE, BlockWalker, Memo, hint_hits
from .tally import TallyBuilder

_NOT_SPACE = rb"[^\t-\r\x1c- "  # what `\S` of a str pattern leaves out, among ASCII bytes
# One match per line of "\n" + block: the BSD prefix exactly as `syslog._BSD` reads it (same shape, so the
# same lines match with the same fields) and, when the message starts with one, the queue id; any other
# line matches the last branch with an empty stamp and goes to the full parser.
_LINE = re.compile(
    rb"\n(?:([A-Z][a-z]{2} {1,2}\d{1,2} \d\d:\d\d:\d\d)(?:\.\d{1,9})? (?:<[\w.]{1,32}> )?("
    + _NOT_SPACE
    + rb"]{0,255}) ("
    + _NOT_SPACE
    + rb"\[\]:]{1,128})(?:\[\d{1,10}\])?:(?:(?: (NOQUEUE|[0-9A-F]{6,20}|[0-9A-Za-z]{12,20}): | )([^\n]*)"
    + rb"|(?=\n)|\Z)|[^\n]*)"
)
"""The queue id is `postfix._QID`'s: a line whose first word is another word is a line without one to Postfix,
and its word stays in the message (the last group), as the full parser reads it."""
_WARNING_QID_B = re.compile(rb"warning: (?:[0-9A-F]{6,20}|[0-9A-Za-z]{12,20}): ")
"""`postfix._WARNING_QID` on bytes: its message part matches anything, so its prefix decides."""
_HINTS = (b"loop", b"received", b"5.4.14", b"greeted", *(p.encode() for p, _ in _LOOP_TEXTS if "hop" in p))
"""`common._LOOP_HINT` in lower case, its `hop` spelt out as the loop texts that hold it ("too many hops", "hop
count exceeded"): a line holding one may carry loop evidence, and goes to the full parser. A bare `hop` sent
every line naming a host like shop.example there (a sixth of a generated log), and with it whole blocks."""
MAX_ODD = 256
"""Lines per block for the full parser beyond which the whole block goes to it (cheaper than finding them)."""

_IN, _UNKNOWN = Direction.IN, Direction.UNKNOWN
_NO_REPORT = ReportKind.NONE
_OTHER, _POSTFIX, _FULL = 0, 1, 2
"""What the walk does with a program's lines: nothing (no handler takes them), Postfix's, the full parser's."""

TIME_CACHE = 8192
"""Distinct (stamp, host) times remembered before the cache starts again: a few per second of a busy log."""


def extract_syslog(
    stream: BinaryIO, ctx: ParseContext, handlers: Sequence[ProgramHandler], block_size: int | None = None
) -> Iterator[Record | EventTally | LogSpan]:
    """`syslog.parse_syslog_stream`'s records, with ordinary Postfix events summed up in EventTally records.

    With `ctx.spans`, each block the walk read is followed by its LogSpan (the index keeps those).
    """
    return _SyslogBlocks(ctx, handlers).run(stream, block_size or BLOCK_SIZE)


def _to_and_relay(rest: str, end: int) -> tuple[str | None, str]:
    """The `to=` and `relay=` fields of a delivery's text up to `end`, as `postfix.parse_fields` reads them.

    The first `to=` and the first `relay=` win there too, so reading stops at the relay (the second or third
    field) instead of going through the delays and dsn after it.
    """
    to: str | None = None
    for m in _FIELD.finditer(rest, 0, end):
        key = m[1]
        if key == "relay":
            return to, m[2]
        if to is None and key == "to":
            to = m[2]
    return to, ""


_QUEUE_ACTIVE = re.compile(
    r"from=(<[^>]{0,1000}>|[^,\s]{0,1000}), size=([^,\s]{0,1000}), nrcpt=([^,\s]{0,1000})"
    r" \(queue active\)\Z"
)
"""qmgr's `from=<a>, size=N, nrcpt=N (queue active)`, read as `postfix.parse_fields` reads it: the same three
fields, each value as its `_FIELD` takes it, and nothing after them with a `key=` or a `, status=`."""


class _SyslogBlocks(BlockWalker):
    """Per-file state: the handlers (shared with the full parser for the lines it reads), year and tally."""

    def __init__(self, ctx: ParseContext, handlers: Sequence[ProgramHandler]) -> None:
        self.ctx = ctx
        self.handlers = handlers
        self.years = YearTracker(ctx)
        self.tally = TallyBuilder(ctx)
        self.postfix = next((h for h in handlers if isinstance(h, PostfixHandler)), None)
        self.lineno = 0
        self._programs: dict[bytes, tuple[int, str]] = {}
        self._hosts: dict[bytes, str | None] = {}
        self._stamp: tuple[bytes, bytes] | None = None
        self._when: tuple[datetime | None, TimeQuality] = (None, TimeQuality.NONE)
        self._last: tuple[datetime | None, TimeQuality, str | None] = (None, TimeQuality.NONE, None)
        self._times: dict[tuple[bytes, bytes], tuple[datetime | None, TimeQuality, int, int | None]] = {}
        self._relays: dict[tuple[str, bool], tuple[str | None, str | None]] = {}
        """(relay field, by smtp/lmtp) -> the delivery's relay host and address, when the field decides them."""
        self._addresses: Memo[str | None, str | None] = Memo(address)
        """`postfix.address` of a field's text: a log names the same few senders and recipients again and again."""
        self._span_ids: dict[tuple[str, str], None] | None = {} if ctx.spans else None
        """The ids named on the block's lines the walk read, when the index is filled from this read."""

    def _finish(self) -> Iterator[Record]:
        for h in self.handlers:
            yield from h.finish()

    # -- the full parser, for blocks and lines the walk does not read ---------------------------------

    def _full(self, stream: BinaryIO) -> Iterator[Record | EventTally]:
        self._stamp = None  # the full parser moves the year tracker on
        for lineno, text in iter_lines(stream, self.ctx, self.lineno):
            self.lineno = lineno
            self.ctx.count("lines")
            yield from handle_line(text, lineno, self.ctx, self.years, self.handlers)

    def _full_line(self, raw: bytes, lineno: int, qid: bytes = b"", rest: bytes = b"") -> Iterator[Record | EventTally]:
        if self._span_ids is not None and qid and qid != b"NOQUEUE":
            # The full parser may change a message's state (a Message-ID line with a loop hint in it)
            # without making an event that would carry its ids.
            self._note_ids(qid.decode("ascii"), rest.decode("ascii"))
        tally = self.tally.flush(lineno - 1)  # what came before keeps its place
        if tally is not None:
            yield tally
        self.years.last_stamp = None  # the lines the walk read moved the year on without it
        self._stamp = None
        yield from handle_line(raw.decode("ascii"), lineno, self.ctx, self.years, self.handlers)

    # -- blocks ----------------------------------------------------------------------------------------

    def _year_state(self) -> tuple[int | None, int]:
        return self.years._year, self.years._month

    def _block(self, block: bytes, offset: int) -> Iterator[Record | EventTally | LogSpan]:
        body = block[:-1] if block.endswith(b"\n") else block
        if b"\r" in body:
            if body.endswith(b"\r"):  # the last line's CRLF (or a last CR): the line reader drops it too
                body = body[:-1]
            if body.count(b"\r") != body.count(b"\r\n"):  # a bare CR splits a line: the full parser's
                yield from self._full_block(block, offset)
                return
            body = body.replace(b"\r\n", b"\n")
        if not body.isascii() or b"\x00" in body:  # decoding and NULs are the full parser's
            yield from self._full_block(block, offset)
            return
        odd = self._odd_lines(body)
        if odd is None:
            yield from self._full_block(block, offset)
            return
        first = self.lineno
        start = self._year_state()
        self.lineno += body.count(b"\n") + 1
        self.ctx.count("lines", self.lineno - first)
        yield from self._walk(body, first, odd)
        tally = self.tally.flush(self.lineno)
        if tally is not None:
            yield tally
        if self._span_ids is not None:
            # Lines the full parser read are stored as events; the span lets explain read the others again.
            ids, self._span_ids = tuple(self._span_ids), {}
            yield LogSpan(self.ctx.loc(first + 1), offset, len(block), start[0], start[1], self.ctx.year_hint, ids)

    @staticmethod
    def _odd_lines(body: bytes) -> set[int] | None:
        """Indexes of the lines that may carry loop evidence; None when there are too many to pick out."""
        found: list[int] = []
        for at in hint_hits(body.lower(), _HINTS):
            found.append(at)
            if len(found) > MAX_ODD:
                return None
        odd: set[int] = set()
        line, pos = 0, 0
        for at in sorted(found):
            line += body.count(b"\n", pos, at)
            pos = at
            odd.add(line)
        return odd

    def _walk(self, body: bytes, first: int, odd: set[int]) -> Iterator[Record | EventTally]:
        """Each line of the block read here or, when it is not Postfix's ordinary traffic, by the full parser.

        The hot loop of the extractor: what a line needs is looked up in place (programs, the last stamp)
        rather than through calls, since every call costs once per line.
        """
        lines: list[bytes] | None = None
        programs = self._programs
        for i, (stamp, host_raw, prog, qid, rest) in enumerate(_LINE.findall(b"\n" + body)):
            if stamp and i not in odd:
                # Every prefixed line moves the year tracker on, as `parse_prefix` does.
                when, quality, host = self._time(stamp, host_raw) if (stamp, host_raw) != self._stamp else self._last
                kind, daemon = programs.get(prog) or self._program(prog)
                if kind == _OTHER:
                    continue
                if kind == _POSTFIX:
                    if not qid:
                        # No queue id: only `warning: QID: ...` touches state; the rest is counted and ignored.
                        if not rest.startswith(b"warning: ") or _WARNING_QID_B.match(rest) is None:
                            continue
                    elif qid == b"NOQUEUE" or self._postfix(daemon, qid.decode("ascii"), rest, when, quality, host):
                        continue  # NOQUEUE: a reject without loop text
            if lines is None:
                lines = body.split(b"\n")
            yield from self._full_line(lines[i], first + i + 1, qid, rest)

    def _note_ids(self, qid: str, rest: str) -> None:
        """The ids a queue-id line names, for its block's span: the queue id, a cleanup line's Message-ID (as
        `postfix.note_queue_info` reads it) and a delivery's `queued as` id."""
        ids = self._span_ids
        assert ids is not None
        ids[(qid.lower(), "queue_id")] = None
        if rest.startswith("message-id="):
            value = normalize_message_id(rest[len("message-id=") :].split(" ", 1)[0])
            if value:
                ids[(value.lower(), "message_id")] = None
        elif rest.startswith("to=") and ("d as " in rest or "OK id=" in rest):  # what `next_id_of` looks for
            forwarded = next_id_of(rest)
            if forwarded:
                ids[(forwarded.lower(), "next_id")] = None

    def _program(self, prog: bytes) -> tuple[int, str]:
        known = self._programs.get(prog)
        if known is None:
            name = prog.decode("ascii")
            owner = next((h for h in self.handlers if h.accepts(name)), None)
            kind = _OTHER if owner is None else _POSTFIX if owner is self.postfix else _FULL
            known = self._programs[prog] = (kind, daemon_of(name))
        return known

    def _time(self, stamp: bytes, host_raw: bytes) -> tuple[datetime | None, TimeQuality, str | None]:
        """The line's time as `syslog.parse_prefix` gives it, with the year tracker moved the same way."""
        host = self._hosts.get(host_raw)
        if host is None and host_raw not in self._hosts:
            if len(self._hosts) >= 4096:
                self._hosts.clear()
            host = self._hosts[host_raw] = normalize_host(host_raw.decode("ascii"))
        key = (stamp, host_raw)
        if key != self._stamp:
            self._stamp = key
            years = self.years
            known = self._times.get(key)
            # A stamp of the tracker's month and year needs no year_for call (it would change nothing).
            if known is None or known[2] != years._month or known[3] != years._year:
                if len(self._times) >= TIME_CACHE:
                    self._times.clear()
                mon, day, hms = stamp.split()
                h, m, s = hms.split(b":")
                got = bsd_time(mon.decode(), int(day), (int(h), int(m), int(s)), self.ctx, years, host)
                known = self._times[key] = (*got, years._month, years._year)
            self._when = (known[0], known[1])
        when, quality = self._when
        self._last = (when, quality if when else TimeQuality.NONE, host)
        return self._last

    # -- Postfix -----------------------------------------------------------------------------------------

    def _postfix(
        self,
        daemon: str,
        qid: str,
        rest_raw: bytes,
        when: datetime | None,
        quality: TimeQuality,
        host: str | None,
    ) -> bool:
        """A queue-id line as `PostfixHandler.handle` reads it when it carries no loop text; False: not read here.

        Only what a line changes is done: the queue-id state, and an ordinary event's facts in the tally.
        """
        handler = self.postfix
        assert handler is not None
        rest = rest_raw.decode("ascii")
        if self._span_ids is not None:
            self._note_ids(qid, rest)
        if daemon == "bounce":
            return False  # bounce links make the candidates: the full parser's
        if rest == "removed":
            handler.open.pop(qid, None)
            return True
        delivery = rest.startswith("to=")
        state = handler.open.get(qid)
        if state is None:
            state = handler.open.state(qid, when)
        else:
            # `is not NONE` is `is_report` without a property call: asked for every delivery.
            if delivery and (state.sender == "" or state.report_kind is not _NO_REPORT):
                return False  # a null-sender or report delivery is a candidate: built by the full parser
            if when is not None:
                state.last_seen = when  # as `OpenIds.state` stamps a known id
        if delivery:
            self._delivery(daemon, state, rest, when, quality, host)
        elif rest.startswith("from="):
            self._qmgr_from(state, rest, when, quality, host)
        else:
            note_queue_info(daemon, state, rest)
        return True

    def _delivery(
        self, daemon: str, state: _State, rest: str, when: datetime | None, quality: TimeQuality, host: str | None
    ) -> None:
        """`PostfixHandler._delivery` for a delivery that is no candidate: its facts only."""
        status = status_match(rest)
        to_raw, relay_raw = _to_and_relay(rest, status.start() if status else len(rest))
        to_relay = daemon in _RELAY_DAEMONS
        relay = self._relays.get((relay_raw, to_relay))
        if relay is None:
            relay = self._relay(daemon, to_relay, relay_raw, status["text"] if status else None)
        relayed = to_relay and state.origin == "smtpd"
        facts = (
            "postfix",
            host,
            PostfixHandler._direction(daemon),
            relay[0],
            relay[1],
            state.client_host if relayed else None,
            state.client_ip if relayed else None,
        )
        self.tally.add(when, quality, facts, (state.sender, self._addresses[to_raw]))

    def _relay(self, daemon: str, to_relay: bool, raw: str, note: str | None) -> tuple[str | None, str | None]:
        """`postfix._relay_of`'s host (normalised) and address; remembered by the field's text when that decides.

        `to_relay`: the daemon hands mail to another host (smtp, lmtp), whose status text may name it instead.
        """
        relay = relay_of(daemon, {"relay": raw}, note)
        got = (normalize_host(relay["host"]), relay["ip"]) if relay else (None, None)
        if relay.string is raw if relay else not to_relay:  # decided by the field alone, not by the status text
            if len(self._relays) >= MEMO_SIZE:
                self._relays.clear()
            self._relays[(raw, to_relay)] = got
        return got

    def _qmgr_from(
        self, state: _State, rest: str, when: datetime | None, quality: TimeQuality, host: str | None
    ) -> None:
        """`PostfixHandler._qmgr_from`: an arrival (or an expiry) is an ordinary event."""
        # `, status=` inside the address (`from=<a, status=sent (x)>`) is a status to `status_match`.
        common = _QUEUE_ACTIVE.match(rest) if ", status=" not in rest else None
        if common is not None:  # the usual line: its three fields, and no status
            state.sender = self._addresses[common[1]]
            state.size = to_int(common[2]) or state.size
            state.nrcpt = to_int(common[3]) or state.nrcpt
        else:
            fields = parse_fields(rest)
            state.sender = self._addresses[fields.get("from")]
            state.size = to_int(fields.get("size")) or state.size
            state.nrcpt = to_int(fields.get("nrcpt")) or state.nrcpt
            if status_match(rest) is not None:
                expired = ("postfix", host, _UNKNOWN, None, None, None, None)
                self.tally.add(when, quality, expired, (state.sender,))
                return
            if "size" not in fields:
                return
        if state.arrival_sent:
            return
        state.arrival_sent = True
        if state.origin == "bounce":
            self.ctx.count("bounce-arrivals")
            return
        facts = ("postfix", host, _IN, state.client_host, state.client_ip, None, None)
        self.tally.add(when, quality, facts, (state.sender,))
