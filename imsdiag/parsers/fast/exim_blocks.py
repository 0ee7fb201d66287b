"""Fast extractor for Exim mainlogs: message-id lines walked in blocks, every unusual line read by the full parser."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, BinaryIO

from ...models import Direction, EventTally, LogSpan, TimeQuality
from ...names import normalize_address, normalize_host, normalize_message_id
from ..base import ParseContext, Record, iter_lines
from ..common import OpenIds
from ..exim import _HOST, _EximReader, _Msg, fields_of, recipients_of, size_of
from ..postfix import next_id_of
from .blocks import MEMO_SIZE, BlockWalker, Memo, hint_hits
from .tally import TallyBuilder

# `exim._LINE`'s stamp, spelt with [0-9]: the walk reads only ASCII lines, where `\d` means the same.
_STAMP = (
    r"[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]{1,6})?(?: [+-][0-9]{4})?(?: \[[0-9]{1,10}\])? "
)
_STAMP_PARTS = (
    r"([0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2})(\.[0-9]{1,6})?(?: ([+-][0-9]{4}))?(?: \[[0-9]{1,10}\])? "
)
_ID = r"[0-9A-Za-z]{6}-[0-9A-Za-z]{6,11}-[0-9A-Za-z]{2,4}"
# One match per line of "\n" + block that `exim._LINE` and then `exim._MSG` read: date, ms, zone, id, flag,
# body. Only the greedy reading of the optional stamp parts can be followed by an id (any other leaves
# `+`, `[` or `.` first), so one pattern takes the lines the two take one after the other.
_EVENT = re.compile(
    r"\n" + _STAMP_PARTS + r"(" + _ID + r") (<=|=>|->|\*>|\*\*|==|Completed|Frozen)(?: ([^\n]*))?(?=\n|\Z)"
)
_UNSTAMPED = re.compile(r"\n(?!" + _STAMP + r")")
"""A line `exim._LINE` does not read (blank, comment, syslog prefix, junk): the full parser's."""
_ODD_CHAR = re.compile(r"[^\x01-\x7f]")
"""Not ASCII, or NUL: the full parser decodes such a line (UTF-8, else Windows-1252) and counts its NULs."""
_HINTS = (b"op", b"received", b"5.4.14", b"greeted")
"""`common._LOOP_HINT` in lower case (`op` checked for `hop` or `loop`): a line without one carries no loop text."""
_CLASSIFIED = ("**", "==")
"""Flags whose body the full parser reads for loop text (`_EximReader._delivery`); other lines' flags never."""
MAX_ODD = 256
"""Lines per block for the full parser beyond which the whole block goes to it (cheaper than finding them)."""
TIME_CACHE = 8192
"""Distinct stamps remembered before the cache starts again."""
BLOCK_SIZE = 1 << 20
"""Bytes read at a time (`blocks.BLOCK_SIZE`); the differential tests make it small to cut lines at every place."""

_IN, _OUT, _LOCAL = Direction.IN, Direction.OUT, Direction.LOCAL
_NO_PEER: tuple[None, None, None] = (None, None, None)
_59S = timedelta(seconds=59)
_SECONDS = [timedelta(seconds=s) for s in range(60)]
_UNKNOWN: Any = object()


@dataclass(slots=True)
class _LazyMsg(_Msg):
    """A message's state whose arrival the walk read: its size, Message-ID and subject are parsed when asked for."""

    arrival: str | None = None
    """The body of the `<=` line not parsed yet (most messages' events are only summed up, never built)."""


class _LazyReader(_EximReader):
    """The full parser's reader, completing a state the walk left unparsed before it reads the state."""

    def __init__(self, ctx: ParseContext) -> None:
        super().__init__(ctx)
        self.open: OpenIds[_LazyMsg] = OpenIds(_LazyMsg, ctx)  # type: ignore[assignment]

    def _state(self, mid: str, when: datetime | None) -> _LazyMsg:
        state = self.open.state(mid, when)
        body = state.arrival
        if body is not None:
            # What `_EximReader._arrival` takes from the line besides the sender and client (kept already).
            state.arrival = None
            fields = fields_of(body)
            state.size = size_of(fields.get("S"))
            state.message_id = normalize_message_id(fields.get("id"))
            state.subject = fields.get("T")
        return state


def extract_exim(
    stream: BinaryIO, ctx: ParseContext, block_size: int | None = None
) -> Iterator[Record | EventTally | LogSpan]:
    """`EximParser.parse`'s records, with ordinary arrivals and deliveries summed up in EventTally records.

    With `ctx.spans`, each block the walk read is followed by its LogSpan (the index keeps those).
    """
    # BLOCK_SIZE is read at each call, not bound as a default, so the tests can shrink it.
    return _EximBlocks(ctx).run(stream, block_size or BLOCK_SIZE)


class _EximBlocks(BlockWalker):
    """Per-file state: the full parser's reader (its open message ids are the walk's too), the tally."""

    def __init__(self, ctx: ParseContext) -> None:
        self.ctx = ctx
        self.reader = _LazyReader(ctx)
        self.tally = TallyBuilder(ctx, self.reader.server_source or "content")
        self.lineno = 0
        self._times: dict[tuple[str, str | None, str | None], tuple[datetime | None, TimeQuality]] = {}
        self._addresses: Memo[str, str | None] = Memo(normalize_address)
        self._minutes: dict[tuple[str, str | None], tuple[datetime, TimeQuality] | None] = {}
        self._peers: dict[str, tuple[str | None, str | None, str | None]] = {}
        self._span_ids: dict[tuple[str, str], None] | None = {} if ctx.spans else None
        """The ids named on the lines of the block being walked, when the index is filled from this read."""

    # -- the full parser, for blocks and lines the walk does not read ---------------------------------

    def _full(self, stream: BinaryIO) -> Iterator[Record | EventTally]:
        tally = self.tally.flush(self.lineno)
        if tally is not None:
            yield tally
        for lineno, text in iter_lines(stream, self.ctx, self.lineno):
            self.lineno = lineno
            self.ctx.count("lines")
            yield from self.reader.handle(lineno, text)

    def _full_line(self, raw: bytes, lineno: int) -> Iterator[Record | EventTally]:
        """One line of a block, decoded (and its NULs counted) as the line reader does."""
        for _, text in iter_lines(io.BytesIO(raw + b"\n"), self.ctx, lineno - 1):
            for rec in self.reader.handle(lineno, text):
                tally = self.tally.flush(lineno - 1)  # what came before keeps its place
                if tally is not None:
                    yield tally
                yield rec

    # -- blocks ----------------------------------------------------------------------------------------

    def _block(self, block: bytes, offset: int) -> Iterator[Record | EventTally | LogSpan]:
        body = block[:-1] if block.endswith(b"\n") else block
        if b"\r" in body:
            if body.endswith(b"\r"):  # the last line's CRLF (or a last CR): the line reader drops it too
                body = body[:-1]
            if body.count(b"\r") != body.count(b"\r\n"):
                yield from self._full_block(block, offset)  # bare CRs: the line reader splits them
                return
            body = body.replace(b"\r\n", b"\n")
        # Latin-1 keeps one character per byte, so offsets in the text are offsets in the block; lines
        # that are not ASCII (decoding, NULs) go to the full parser, which decodes them as it always does.
        text = "\n" + body.decode("latin-1")
        odd = self._odd_lines(body, text)
        if odd is None:
            yield from self._full_block(block, offset)
            return
        first = self.lineno
        lines = body.count(b"\n") + 1
        self.lineno += lines
        self.ctx.count("lines", lines)
        yield from self._walk(text, first, lines, odd)
        tally = self.tally.flush(self.lineno)
        if tally is not None:
            yield tally
        if self._span_ids is not None:
            # Lines the full parser read are stored as events; the span lets explain read the others again.
            ids, self._span_ids = tuple(self._span_ids), {}
            yield LogSpan(self.ctx.loc(first + 1), offset, len(block), None, 0, self.ctx.year_hint, ids)

    def _odd_lines(self, body: bytes, text: str) -> list[int] | None:
        """Offsets (of the newline before each) of the lines the full parser reads; None when too many.

        Called once per block, so its three searches can be functions at no cost; each returns False past MAX_ODD.
        """
        odd: set[int] = set()
        if not _add_unstamped(text, odd):
            return None
        if (not body.isascii() or b"\x00" in body) and not _add_not_ascii(text, odd):
            return None
        if not _add_hinted(body, text, odd):
            return None
        return sorted(odd)

    def _walk(self, text: str, first: int, lines: int, odd: list[int]) -> Iterator[Record | EventTally]:
        """The block's lines in order: message-id lines here, `odd` ones by the full parser, the rest counted."""
        pos, lineno = 0, first  # the newline at offset `pos` starts line `lineno + 1`
        walked = 0
        k, n_odd = 0, len(odd)
        next_odd = odd[0] if odd else len(text)
        times = self._times
        span_ids = self._span_ids
        for m in _EVENT.finditer(text):
            if span_ids is not None:
                _note_ids(m, span_ids)
            start = m.start()
            while next_odd <= start:
                lineno += text.count("\n", pos, next_odd)
                pos = next_odd
                yield from self._full_line(_line_bytes(text, pos), lineno + 1)
                k += 1
                next_odd = odd[k] if k < n_odd else len(text)
            if k and odd[k - 1] == start:
                continue  # an odd line: read above
            walked += 1
            date, ms, zone, mid, flag, body = m.groups()
            if flag == "Completed":
                self.reader.open.pop(mid, None)
                continue
            if flag == "Frozen":
                self.ctx.count("frozen")
                continue
            when = times.get((date, ms, zone))
            if when is None:
                when = self._time(date, ms, zone)
            if self._arrival(mid, body or "", when) if flag == "<=" else self._delivery(mid, body or "", when):
                continue
            lineno += text.count("\n", pos, start)
            pos = start
            yield from self._full_line(_line_bytes(text, pos), lineno + 1)
        yield from self._odd_after(text, pos, lineno, odd[k:])
        # The lines neither walked nor read by the full parser are `other` lines without loop text.
        self.ctx.count("other", lines - walked - n_odd)

    def _odd_after(self, text: str, pos: int, lineno: int, odd: list[int]) -> Iterator[Record | EventTally]:
        """The `odd` lines after the block's last message-id line, by the full parser (`_walk`'s end, once a block)."""
        for start in odd:
            lineno += text.count("\n", pos, start)
            pos = start
            yield from self._full_line(_line_bytes(text, pos), lineno + 1)

    def _time(self, date: str, ms: str | None, zone: str | None) -> tuple[datetime | None, TimeQuality]:
        """`_EximReader.convert`, remembered; from the stamp's minute when the whole minute has one UTC offset."""
        if len(self._times) >= TIME_CACHE:
            self._times.clear()
            self._minutes.clear()
        minute = (date[:16], zone)
        base = self._minutes.get(minute, _UNKNOWN)
        if base is _UNKNOWN:
            base = self._minutes[minute] = self._minute(date[:16], zone)
        second = int(date[17:19])
        if base is None or second > 59:  # a stamp fromisoformat refuses, or a clock change: convert it
            got = self.reader.convert(date, ms, zone)
        else:
            when = base[0] + _SECONDS[second]
            if ms:
                when += timedelta(microseconds=int((ms[1:] + "000000")[:6]))  # `common.frac6`
            got = (when, base[1])
        self._times[(date, ms, zone)] = got
        return got

    def _minute(self, minute: str, zone: str | None) -> tuple[datetime, TimeQuality] | None:
        """The UTC time of second 0 of `minute`, when second 59 is 59 s later (one offset all minute long)."""
        start, quality = self.reader.convert(minute + ":00", None, zone)
        end, _ = self.reader.convert(minute + ":59", None, zone)
        if start is None or end is None or end - start != _59S:
            return None
        return start, quality

    def _peer(self, body: str) -> tuple[str | None, str | None, str | None]:
        """`exim.peer_of`, remembered by the `H=` text it reads."""
        m = _HOST.search(body)
        if m is None:
            return _NO_PEER
        got = self._peers.get(m[0])
        if got is None:
            if len(self._peers) >= MEMO_SIZE:
                self._peers.clear()
            got = self._peers[m[0]] = (normalize_host(m["host"]), m["helo"] or None, m["ip"])
        return got

    def _arrival(self, mid: str, body: str, when: tuple[datetime | None, TimeQuality]) -> bool:
        """`_EximReader._arrival` for an ordinary message: its state and facts; False: the full parser's line.

        The sender and the client go into the state now; size, Message-ID and subject only when the full
        parser reads a line of the message (`_LazyReader._state`), for a bounce or a loop text.
        """
        token = body.split(" ", 1)[0]
        sender = "" if token == "<>" else self._addresses[token]
        if sender == "":
            return False  # a bounce: its arrival and deliveries are candidates
        known = self.reader.open.get(mid)
        if known is not None and known.report_kind.is_report:
            return False  # the id's earlier arrival was a bounce: the full parser keeps that
        state = self.reader.open.state(mid, when[0])
        state.sender = sender
        state.arrival = body
        host, helo, ip = self._peer(body)
        state.client_host, state.client_ip = host, ip
        facts = ("exim", self.reader.server, _IN, host, ip, None, None, helo)
        self.tally.add(when[0], when[1], facts, (sender, *recipients_of(body)))
        return True

    def _delivery(self, mid: str, body: str, when: tuple[datetime | None, TimeQuality]) -> bool:
        """`_EximReader._delivery` of an ordinary message: its facts; False: the full parser's line."""
        state = self.reader.open.state(mid, when[0])
        if state.sender == "" or state.report_kind.is_report:
            return False
        host, helo, ip = self._peer(body)
        remote = host is not None or ip is not None
        facts = (
            "exim",
            self.reader.server,
            _OUT if remote else _LOCAL,
            host,
            ip,
            state.client_host if remote else None,
            state.client_ip if remote else None,
            helo,
        )
        first = body.split(" ", 2)[0].rstrip(":")
        self.tally.add(when[0], when[1], facts, (state.sender, self._addresses[first]))
        return True


def _add_unstamped(text: str, odd: set[int]) -> bool:
    """`odd` plus the lines `exim._LINE` does not read; False past MAX_ODD."""
    for m in _UNSTAMPED.finditer(text):
        odd.add(m.start())
        if len(odd) > MAX_ODD:
            return False
    return True


def _add_not_ascii(text: str, odd: set[int]) -> bool:
    """`odd` plus the lines with a character that is not ASCII, or a NUL; False past MAX_ODD."""
    char = _ODD_CHAR.search(text)
    while char is not None:
        odd.add(text.rfind("\n", 0, char.start()))
        if len(odd) > MAX_ODD:
            return False
        end = text.find("\n", char.start())
        char = _ODD_CHAR.search(text, end) if end >= 0 else None
    return True


def _add_hinted(body: bytes, text: str, odd: set[int]) -> bool:
    """`odd` plus the lines with loop text (`_HINTS`) the walk cannot sum up; False past MAX_ODD."""
    for at in hint_hits(body.lower(), _HINTS, _hop_or_loop):
        start = text.rfind("\n", 0, at + 1)  # `at` is an offset in body, one less than in text
        if start not in odd:
            line = _EVENT.match(text, start)
            if line is None or line[5] in _CLASSIFIED:  # other lines and failures: the full parser classifies
                odd.add(start)
                if len(odd) > MAX_ODD:
                    return False
    return True


def _hop_or_loop(low: bytes, at: int, hint: bytes) -> bool:
    """`op` stands for `hop` and `loop` (one pass over the block instead of two); other hints stand as found."""
    return hint != b"op" or low[at - 1 : at] == b"h" or low[at - 2 : at] == b"lo"


def _note_ids(m: re.Match[str], ids: dict[tuple[str, str], None]) -> None:
    """The ids an `_EVENT` line names, for its block's span: its message id, an arrival's Message-ID (`id=`), a
    delivery's next-leg id (`OK id=`)."""
    ids[(m[4].lower(), "queue_id")] = None
    body = m[6]
    if not body:
        return
    if m[5] == "<=":
        value = normalize_message_id(fields_of(body).get("id"))  # as the full parser reads it
        if value:
            ids[(value.lower(), "message_id")] = None
    else:
        forwarded = next_id_of(body)
        if forwarded:
            ids[(forwarded.lower(), "next_id")] = None


def _line_bytes(text: str, start: int) -> bytes:
    """The line after the newline at `start`, as it was in the block."""
    end = text.find("\n", start + 1)
    return text[start + 1 : end if end >= 0 else len(text)].encode("latin-1")
